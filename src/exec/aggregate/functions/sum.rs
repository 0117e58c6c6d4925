//! `SUM` and `AVG`: a plain value (and a count) per group.
//!
//! ksqlDB (`IntegerSumKudaf`, `LongSumKudaf`, `DoubleSumKudaf`, `DecimalSumKudaf`, `AverageUdaf`):
//! - SUM returns the argument's type (INT stays INT, DECIMAL(p, s) stays DECIMAL(p, s)); it starts at 0, so a
//!   group whose values are all null sums to 0, not null. INT and BIGINT wrap like Java `int`/`long`.
//!   A DECIMAL sum that no longer fits in `p` digits fails with ksqlDB's "Numeric field overflow" error.
//! - AVG returns DOUBLE: its running sum has the argument's type (so an INT sum wraps at 32 bits, as in
//!   ksqlDB), and an empty group averages to 0.0. DECIMAL arguments are averaged as DOUBLE (ksqlDB has no
//!   DECIMAL variant and resolves the call through its implicit DECIMAL → DOUBLE conversion).

use std::marker::PhantomData;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ArrowPrimitiveType, Float64Array, PrimitiveArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, Int64Type};
use datafusion::error::{DataFusionError, Result};

use super::common::{Reader, check_batch, check_merge, get, get_mut, primitive, put_i64, valid_rows};
use crate::exec::aggregate::accumulator::{GroupsAccumulator, UpdateContext};

/// Per-type arithmetic of a running sum. `None` is a DECIMAL overflow.
pub(super) trait Summable: ArrowPrimitiveType {
    fn add(a: Self::Native, b: Self::Native, bound: u128) -> Option<Self::Native>;
    fn sub(a: Self::Native, b: Self::Native, bound: u128) -> Option<Self::Native>;
    fn to_f64(v: Self::Native) -> f64;
    /// The value as an integer, for messages (0 for DOUBLE).
    fn to_i128(v: Self::Native) -> i128;
    fn save(v: Self::Native, out: &mut Vec<u8>);
    fn load(r: &mut Reader<'_>) -> Result<Self::Native>;
}

impl Summable for Int32Type {
    fn add(a: i32, b: i32, _: u128) -> Option<i32> {
        Some(a.wrapping_add(b))
    }
    fn sub(a: i32, b: i32, _: u128) -> Option<i32> {
        Some(a.wrapping_sub(b))
    }
    fn to_i128(v: i32) -> i128 {
        v as i128
    }
    fn to_f64(v: i32) -> f64 {
        v as f64
    }
    fn save(v: i32, out: &mut Vec<u8>) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn load(r: &mut Reader<'_>) -> Result<i32> {
        r.i32()
    }
}

impl Summable for Int64Type {
    fn add(a: i64, b: i64, _: u128) -> Option<i64> {
        Some(a.wrapping_add(b))
    }
    fn sub(a: i64, b: i64, _: u128) -> Option<i64> {
        Some(a.wrapping_sub(b))
    }
    fn to_i128(v: i64) -> i128 {
        v as i128
    }
    fn to_f64(v: i64) -> f64 {
        v as f64
    }
    fn save(v: i64, out: &mut Vec<u8>) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn load(r: &mut Reader<'_>) -> Result<i64> {
        r.i64()
    }
}

impl Summable for Float64Type {
    fn add(a: f64, b: f64, _: u128) -> Option<f64> {
        Some(a + b)
    }
    fn sub(a: f64, b: f64, _: u128) -> Option<f64> {
        Some(a - b)
    }
    fn to_i128(v: f64) -> i128 {
        let _ = v;
        0
    }
    fn to_f64(v: f64) -> f64 {
        v
    }
    fn save(v: f64, out: &mut Vec<u8>) {
        out.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    fn load(r: &mut Reader<'_>) -> Result<f64> {
        r.f64()
    }
}

impl Summable for Decimal128Type {
    fn add(a: i128, b: i128, bound: u128) -> Option<i128> {
        a.checked_add(b).filter(|v| v.unsigned_abs() < bound)
    }
    fn sub(a: i128, b: i128, bound: u128) -> Option<i128> {
        a.checked_sub(b).filter(|v| v.unsigned_abs() < bound)
    }
    fn to_i128(v: i128) -> i128 {
        v
    }
    fn to_f64(v: i128) -> f64 {
        v as f64
    }
    fn save(v: i128, out: &mut Vec<u8>) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn load(r: &mut Reader<'_>) -> Result<i128> {
        r.i128()
    }
}

/// ksqlDB's words for a DECIMAL sum that left its precision.
fn decimal_overflow(precision: u8, scale: i8, a: i128, b: i128, subtract: bool) -> DataFusionError {
    // The exact result, for the message (i128 arithmetic may itself overflow: widen through strings is overkill,
    // so saturate — only the message is affected).
    let v = if subtract {
        a.saturating_sub(b)
    } else {
        a.saturating_add(b)
    };
    DataFusionError::Execution(format!(
        "Numeric field overflow: A field with precision {precision} and scale {scale} must round to an absolute \
         value less than 10^{}. Got {}",
        precision as i32 - scale as i32,
        format_decimal(v, scale)
    ))
}

/// Plain decimal text of an unscaled value (`12345`, scale 2 → `123.45`).
pub(super) fn format_decimal(v: i128, scale: i8) -> String {
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    if scale <= 0 {
        return format!("{sign}{digits}");
    }
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// `SUM` over INT, BIGINT, DOUBLE or DECIMAL.
pub(super) struct Sum<T: Summable> {
    sums: Vec<T::Native>,
    data_type: DataType,
    /// Exclusive bound on a DECIMAL's unscaled absolute value (10^precision); unused for the other types.
    bound: u128,
    _t: PhantomData<fn() -> T>,
}

impl<T: Summable> Sum<T> {
    pub fn new(data_type: DataType) -> Self {
        let bound = match data_type {
            DataType::Decimal128(p, _) => 10u128.pow(p as u32),
            _ => u128::MAX,
        };
        Self {
            sums: Vec::new(),
            data_type,
            bound,
            _t: PhantomData,
        }
    }

    fn overflow(&self, a: T::Native, b: T::Native, subtract: bool) -> DataFusionError {
        match self.data_type {
            DataType::Decimal128(p, s) => decimal_overflow(p, s, T::to_i128(a), T::to_i128(b), subtract),
            _ => DataFusionError::Execution("Numeric field overflow".into()),
        }
    }

    fn apply(&mut self, args: &[ArrayRef], slots: &[u32], subtract: bool) -> Result<()> {
        check_batch(args, 1, slots)?;
        let array = primitive::<T>(&args[0], &self.data_type)?;
        let values = array.values();
        for (i, s) in valid_rows(slots, array.nulls()) {
            let bound = self.bound;
            let acc = get_mut(&mut self.sums, s)?;
            let v = values[i];
            let next = if subtract {
                T::sub(*acc, v, bound)
            } else {
                T::add(*acc, v, bound)
            };
            match next {
                Some(n) => *acc = n,
                None => {
                    let a = *acc;
                    return Err(self.overflow(a, v, subtract));
                }
            }
        }
        Ok(())
    }
}

impl<T: Summable> GroupsAccumulator for Sum<T> {
    fn resize(&mut self, n: usize) {
        self.sums.resize(n, T::Native::default());
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, false)
    }

    fn retract(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, true)
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.sums.len(), into, from)?;
        let (a, b) = (self.sums[into as usize], self.sums[from as usize]);
        let merged = T::add(a, b, self.bound).ok_or_else(|| self.overflow(a, b, false))?;
        self.sums[into as usize] = merged;
        self.sums[from as usize] = T::Native::default();
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        if let Some(v) = self.sums.get_mut(slot as usize) {
            *v = T::Native::default();
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        let values = slots
            .iter()
            .map(|&s| get(&self.sums, s).copied())
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(
            PrimitiveArray::<T>::from_iter_values(values).with_data_type(self.data_type.clone()),
        ))
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        T::save(self.sums.get(slot as usize).copied().unwrap_or_default(), out);
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, "SUM");
        let v = T::load(&mut r)?;
        r.finish()?;
        if T::add(T::Native::default(), v, self.bound).is_none() {
            return Err(super::common::corrupt("SUM", "value out of the DECIMAL's range"));
        }
        *get_mut(&mut self.sums, slot)? = v;
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<T::Native>()
    }
}

/// `AVG`: a running sum in the argument's type and a count.
pub(super) struct Avg<T: Summable> {
    sums: Vec<T::Native>,
    counts: Vec<i64>,
    data_type: DataType,
    /// DECIMAL arguments are converted to DOUBLE per batch (then `T` is `Float64Type`).
    from_decimal: bool,
    _t: PhantomData<fn() -> T>,
}

impl<T: Summable> Avg<T> {
    pub fn new(data_type: DataType, from_decimal: bool) -> Self {
        Self {
            sums: Vec::new(),
            counts: Vec::new(),
            data_type,
            from_decimal,
            _t: PhantomData,
        }
    }

    fn apply(&mut self, args: &[ArrayRef], slots: &[u32], subtract: bool) -> Result<()> {
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
            let sum = get_mut(&mut self.sums, s)?;
            let v = values[i];
            // Only DECIMAL can fail, and AVG never sums DECIMAL.
            *sum = if subtract {
                T::sub(*sum, v, u128::MAX)
            } else {
                T::add(*sum, v, u128::MAX)
            }
            .unwrap_or(*sum);
            let c = &mut self.counts[s as usize];
            *c = if subtract { c.wrapping_sub(1) } else { c.wrapping_add(1) };
        }
        Ok(())
    }
}

impl<T: Summable> GroupsAccumulator for Avg<T> {
    fn resize(&mut self, n: usize) {
        self.sums.resize(n, T::Native::default());
        self.counts.resize(n, 0);
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, false)
    }

    fn retract(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, true)
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.sums.len(), into, from)?;
        let (i, f) = (into as usize, from as usize);
        self.sums[i] = T::add(self.sums[i], self.sums[f], u128::MAX).unwrap_or(self.sums[i]);
        self.counts[i] = self.counts[i].wrapping_add(self.counts[f]);
        self.reset(from);
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        if let (Some(s), Some(c)) = (self.sums.get_mut(slot as usize), self.counts.get_mut(slot as usize)) {
            *s = T::Native::default();
            *c = 0;
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        let values = slots
            .iter()
            .map(|&s| {
                let count = *get(&self.counts, s)?;
                let sum = self.sums[s as usize];
                Ok(if count == 0 { 0.0 } else { T::to_f64(sum) / count as f64 })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(Float64Array::from(values)))
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        let s = slot as usize;
        T::save(self.sums.get(s).copied().unwrap_or_default(), out);
        put_i64(out, self.counts.get(s).copied().unwrap_or(0));
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, "AVG");
        let sum = T::load(&mut r)?;
        let count = r.i64()?;
        r.finish()?;
        *get_mut(&mut self.sums, slot)? = sum;
        self.counts[slot as usize] = count;
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.sums.capacity() * std::mem::size_of::<T::Native>() + self.counts.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text() {
        assert_eq!(format_decimal(12345, 2), "123.45");
        assert_eq!(format_decimal(-5, 3), "-0.005");
        assert_eq!(format_decimal(0, 1), "0.0");
        assert_eq!(format_decimal(42, 0), "42");
    }
}
