//! `STDDEV_SAMP` and `STDDEV_SAMPLE`: sum, count and sum of squared deviations (M2) per group.
//!
//! ksqlDB (`StandardDeviationSampUdaf`, `StandardDeviationSampleUdaf`, and the `standarddeviation.json`
//! query-validation tests) updates M2 with the Youngs-Cramer recurrence on a running sum kept in the argument's
//! type (so an INT sum wraps at 32 bits), supports undo (tables) and merge, and maps a group with fewer than two
//! values to 0.0 (not null). Its `STDDEV_SAMP` returns the sample **variance** — a known bug ksqlDB keeps for
//! compatibility, documented in those tests — while `STDDEV_SAMPLE` returns the standard deviation. We do the
//! same arithmetic in the same order, so results match ksqlDB's to the bit. DECIMAL arguments are converted to
//! DOUBLE (ksqlDB's implicit conversion; it has no DECIMAL variant).

use std::marker::PhantomData;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;

use super::common::{Reader, check_batch, check_merge, get, get_mut, primitive, put_f64, put_i64, valid_rows};
use super::sum::Summable;
use crate::exec::aggregate::accumulator::{GroupsAccumulator, UpdateContext};

/// The per-type pieces of the recurrence, as ksqlDB computes them.
pub(super) trait Deviation: Summable {
    /// `value * (count + 1) - (sum + value)` in the argument's arithmetic, then as a double.
    fn delta(sum: Self::Native, count: i64, value: Self::Native) -> f64;
}

impl Deviation for datafusion::arrow::datatypes::Int32Type {
    fn delta(sum: i32, count: i64, value: i32) -> f64 {
        // Java: int * long is long; int + int wraps as int.
        ((value as i64).wrapping_mul(count.wrapping_add(1))).wrapping_sub(sum.wrapping_add(value) as i64) as f64
    }
}

impl Deviation for datafusion::arrow::datatypes::Int64Type {
    fn delta(sum: i64, count: i64, value: i64) -> f64 {
        value
            .wrapping_mul(count.wrapping_add(1))
            .wrapping_sub(sum.wrapping_add(value)) as f64
    }
}

impl Deviation for datafusion::arrow::datatypes::Float64Type {
    fn delta(sum: f64, count: i64, value: f64) -> f64 {
        value * (count.wrapping_add(1)) as f64 - (sum + value)
    }
}

pub(super) struct StdDev<T: Deviation> {
    sums: Vec<T::Native>,
    counts: Vec<i64>,
    m2: Vec<f64>,
    data_type: DataType,
    from_decimal: bool,
    /// `STDDEV_SAMPLE` (square root) rather than `STDDEV_SAMP` (variance, as ksqlDB).
    sqrt: bool,
    _t: PhantomData<fn() -> T>,
}

impl<T: Deviation> StdDev<T> {
    pub fn new(data_type: DataType, from_decimal: bool, sqrt: bool) -> Self {
        Self {
            sums: Vec::new(),
            counts: Vec::new(),
            m2: Vec::new(),
            data_type,
            from_decimal,
            sqrt,
            _t: PhantomData,
        }
    }

    fn apply(&mut self, args: &[ArrayRef], slots: &[u32], undo: bool) -> Result<()> {
        check_batch(args, 1, slots)?;
        let converted;
        let arg = if self.from_decimal {
            converted = cast(&args[0], &DataType::Float64)?;
            &converted
        } else {
            &args[0]
        };
        let array = primitive::<T>(arg, &self.data_type)?;
        let values = array.values();
        for (i, s) in valid_rows(slots, array.nulls()) {
            let v = values[i];
            let count = *get(&self.counts, s)?;
            let s = s as usize;
            let sum = self.sums[s];
            if undo {
                let new_count = count.wrapping_sub(1);
                let removed = if new_count > 0 {
                    let d = T::delta(sum, count, v);
                    d * d / (new_count.wrapping_mul(new_count.wrapping_add(1))) as f64
                } else {
                    0.0
                };
                self.counts[s] = new_count;
                self.sums[s] = T::sub(sum, v, u128::MAX).unwrap_or(sum);
                self.m2[s] -= removed;
            } else {
                let new_count = count.wrapping_add(1);
                let added = if count > 0 {
                    let d = T::delta(sum, count, v);
                    d * d / (new_count.wrapping_mul(count)) as f64
                } else {
                    0.0
                };
                self.counts[s] = new_count;
                self.sums[s] = T::add(sum, v, u128::MAX).unwrap_or(sum);
                self.m2[s] += added;
            }
        }
        Ok(())
    }
}

impl<T: Deviation> GroupsAccumulator for StdDev<T> {
    fn resize(&mut self, n: usize) {
        self.sums.resize(n, T::Native::default());
        self.counts.resize(n, 0);
        self.m2.resize(n, 0.0);
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, false)
    }

    fn retract(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, true)
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.counts.len(), into, from)?;
        let (i, f) = (into as usize, from as usize);
        let (c1, c2) = (self.counts[i], self.counts[f]);
        let new_count = c1.wrapping_add(c2);
        let m2 = if c1 == 0 || c2 == 0 {
            self.m2[i] + self.m2[f]
        } else {
            let inner = T::to_f64(self.sums[i]) / c1 as f64 - T::to_f64(self.sums[f]) / c2 as f64;
            self.m2[i] + self.m2[f] + c1.wrapping_mul(c2) as f64 * inner * inner / new_count as f64
        };
        self.counts[i] = new_count;
        self.sums[i] = T::add(self.sums[i], self.sums[f], u128::MAX).unwrap_or(self.sums[i]);
        self.m2[i] = m2;
        self.reset(from);
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        let s = slot as usize;
        if s < self.counts.len() {
            self.sums[s] = T::Native::default();
            self.counts[s] = 0;
            self.m2[s] = 0.0;
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        let values = slots
            .iter()
            .map(|&s| {
                let count = *get(&self.counts, s)?;
                if count < 2 {
                    return Ok(0.0);
                }
                let variance = self.m2[s as usize] / (count - 1) as f64;
                Ok(if self.sqrt { variance.sqrt() } else { variance })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(Float64Array::from(values)))
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        let s = slot as usize;
        T::save(self.sums.get(s).copied().unwrap_or_default(), out);
        put_i64(out, self.counts.get(s).copied().unwrap_or(0));
        put_f64(out, self.m2.get(s).copied().unwrap_or(0.0));
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, "STDDEV_SAMP");
        let sum = T::load(&mut r)?;
        let count = r.i64()?;
        let m2 = r.f64()?;
        r.finish()?;
        *get_mut(&mut self.counts, slot)? = count;
        self.sums[slot as usize] = sum;
        self.m2[slot as usize] = m2;
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<T::Native>() + self.counts.capacity() * 8 + self.m2.capacity() * 8
    }
}
