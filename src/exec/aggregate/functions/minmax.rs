//! `MIN` and `MAX`: the best value per group and whether there is one.
//!
//! ksqlDB (`MinKudaf`/`MaxKudaf` over `BaseComparableKudaf`): INT, BIGINT, DOUBLE, DECIMAL, DATE, TIME,
//! TIMESTAMP, STRING and BYTES; nulls are ignored; a group with no non-null value is null; no undo (so not on
//! tables); merge keeps the better of the two. Comparison is Java's `compareTo` (for DOUBLE: NaN above
//! everything, -0.0 below 0.0).

use std::marker::PhantomData;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, ArrowPrimitiveType, BinaryArray, PrimitiveArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};

use super::common::{
    Reader, check_batch, check_merge, get, get_mut, java_double_cmp, primitive, put_bytes, valid_rows,
};
use super::value::ValueType;
use crate::exec::aggregate::accumulator::{GroupsAccumulator, UpdateContext};

/// A fixed-width native value: Java ordering and checkpoint bytes.
pub(super) trait Fixed: Copy + Default + Send + 'static {
    fn java_cmp(self, other: Self) -> std::cmp::Ordering;
    fn put(self, out: &mut Vec<u8>);
    fn get(r: &mut Reader<'_>) -> Result<Self>;
}

macro_rules! fixed_int {
    ($t:ty, $read:ident) => {
        impl Fixed for $t {
            fn java_cmp(self, other: Self) -> std::cmp::Ordering {
                self.cmp(&other)
            }
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(r: &mut Reader<'_>) -> Result<Self> {
                r.$read()
            }
        }
    };
}
fixed_int!(i32, i32);
fixed_int!(i64, i64);
fixed_int!(i128, i128);

impl Fixed for f64 {
    fn java_cmp(self, other: Self) -> std::cmp::Ordering {
        java_double_cmp(self, other)
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bits().to_le_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self> {
        r.f64()
    }
}

fn no_retract(name: &str) -> DataFusionError {
    DataFusionError::Execution(format!(
        "internal error: {name} cannot remove rows (it does not support tables)"
    ))
}

fn name(max: bool) -> &'static str {
    if max { "MAX" } else { "MIN" }
}

/// MIN/MAX over a fixed-width type.
pub(super) struct MinMaxPrimitive<T: ArrowPrimitiveType>
where
    T::Native: Fixed,
{
    values: Vec<T::Native>,
    present: Vec<bool>,
    data_type: DataType,
    max: bool,
    _t: PhantomData<fn() -> T>,
}

impl<T: ArrowPrimitiveType> MinMaxPrimitive<T>
where
    T::Native: Fixed,
{
    pub fn new(data_type: DataType, max: bool) -> Self {
        Self {
            values: Vec::new(),
            present: Vec::new(),
            data_type,
            max,
            _t: PhantomData,
        }
    }

    #[inline]
    fn better(&self, candidate: T::Native, current: T::Native) -> bool {
        let o = candidate.java_cmp(current);
        if self.max { o.is_gt() } else { o.is_lt() }
    }
}

impl<T: ArrowPrimitiveType> GroupsAccumulator for MinMaxPrimitive<T>
where
    T::Native: Fixed,
{
    fn resize(&mut self, n: usize) {
        self.values.resize(n, T::Native::default());
        self.present.resize(n, false);
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        check_batch(args, 1, slots)?;
        let array = primitive::<T>(&args[0], &self.data_type)?;
        let values = array.values();
        for (i, s) in valid_rows(slots, array.nulls()) {
            let v = values[i];
            let present = *get(&self.present, s)?;
            let s = s as usize;
            if !present || self.better(v, self.values[s]) {
                self.values[s] = v;
                self.present[s] = true;
            }
        }
        Ok(())
    }

    fn retract(&mut self, _: &[ArrayRef], _: &[u32], _: &UpdateContext<'_>) -> Result<()> {
        Err(no_retract(name(self.max)))
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.values.len(), into, from)?;
        let (i, f) = (into as usize, from as usize);
        if self.present[f] && (!self.present[i] || self.better(self.values[f], self.values[i])) {
            self.values[i] = self.values[f];
            self.present[i] = true;
        }
        self.reset(from);
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        if let Some(p) = self.present.get_mut(slot as usize) {
            *p = false;
            self.values[slot as usize] = T::Native::default();
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        let values = slots
            .iter()
            .map(|&s| Ok(get(&self.present, s)?.then(|| self.values[s as usize])))
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(
            values
                .into_iter()
                .collect::<PrimitiveArray<T>>()
                .with_data_type(self.data_type.clone()),
        ))
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        let s = slot as usize;
        if self.present.get(s).copied().unwrap_or(false) {
            out.push(1);
            self.values[s].put(out);
        } else {
            out.push(0);
        }
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, name(self.max));
        let value = match r.u8()? {
            0 => None,
            1 => Some(T::Native::get(&mut r)?),
            _ => return Err(r.err("bad marker")),
        };
        r.finish()?;
        *get_mut(&mut self.present, slot)? = value.is_some();
        self.values[slot as usize] = value.unwrap_or_default();
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<T::Native>() + self.present.capacity()
    }
}

/// MIN/MAX over STRING or BYTES: byte order (for STRING, code-point order).
pub(super) struct MinMaxBytes {
    /// The best value of each group; its allocation is reused when a better value arrives.
    values: Vec<Vec<u8>>,
    present: Vec<bool>,
    value_type: ValueType,
    max: bool,
    /// Bytes allocated by `values` (kept as we go so `memory_size` does not walk every group).
    heap: usize,
}

impl MinMaxBytes {
    pub fn new(value_type: ValueType, max: bool) -> Self {
        Self {
            values: Vec::new(),
            present: Vec::new(),
            value_type,
            max,
            heap: 0,
        }
    }

    #[inline]
    fn better(&self, candidate: &[u8], current: &[u8]) -> bool {
        let o = candidate.cmp(current);
        if self.max { o.is_gt() } else { o.is_lt() }
    }
}

impl GroupsAccumulator for MinMaxBytes {
    fn resize(&mut self, n: usize) {
        for v in self.values.iter().skip(n) {
            self.heap -= v.capacity();
        }
        self.values.resize_with(n, Vec::new);
        self.present.resize(n, false);
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        check_batch(args, 1, slots)?;
        let col = self.value_type.column(&args[0])?;
        for (i, s) in valid_rows(slots, col.nulls()) {
            let v = col.var_bytes(i).unwrap_or_default();
            let present = *get(&self.present, s)?;
            let s = s as usize;
            if !present || self.better(v, &self.values[s]) {
                let cur = &mut self.values[s];
                let before = cur.capacity();
                cur.clear();
                cur.extend_from_slice(v);
                self.heap = self.heap + cur.capacity() - before;
                self.present[s] = true;
            }
        }
        Ok(())
    }

    fn retract(&mut self, _: &[ArrayRef], _: &[u32], _: &UpdateContext<'_>) -> Result<()> {
        Err(no_retract(name(self.max)))
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.values.len(), into, from)?;
        let (i, f) = (into as usize, from as usize);
        if self.present[f] && (!self.present[i] || self.better(&self.values[f], &self.values[i])) {
            let v = std::mem::take(&mut self.values[f]);
            self.heap -= self.values[i].capacity();
            self.values[i] = v;
            self.present[i] = true;
        }
        self.reset(from);
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        if let Some(p) = self.present.get_mut(slot as usize) {
            *p = false;
            self.heap -= std::mem::take(&mut self.values[slot as usize]).capacity();
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        let picked = slots
            .iter()
            .map(|&s| Ok(get(&self.present, s)?.then(|| self.values[s as usize].as_slice())))
            .collect::<Result<Vec<_>>>()?;
        if self.value_type.data_type == DataType::Utf8 {
            let strings = picked
                .into_iter()
                .map(|v| v.map(std::str::from_utf8).transpose())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| DataFusionError::Execution("internal error: MIN/MAX holds invalid UTF-8".into()))?;
            Ok(Arc::new(StringArray::from(strings)))
        } else {
            Ok(Arc::new(BinaryArray::from(picked)))
        }
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        let s = slot as usize;
        if self.present.get(s).copied().unwrap_or(false) {
            out.push(1);
            put_bytes(out, &self.values[s]);
        } else {
            out.push(0);
        }
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, name(self.max));
        let value = match r.u8()? {
            0 => None,
            1 => Some(r.bytes()?.to_vec()),
            _ => return Err(r.err("bad marker")),
        };
        r.finish()?;
        if let Some(v) = &value
            && self.value_type.data_type == DataType::Utf8
            && std::str::from_utf8(v).is_err()
        {
            return Err(super::common::corrupt(name(self.max), "invalid UTF-8"));
        }
        *get_mut(&mut self.present, slot)? = value.is_some();
        let value = value.unwrap_or_default();
        self.heap = self.heap + value.capacity() - self.values[slot as usize].capacity();
        self.values[slot as usize] = value;
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<Vec<u8>>() + self.heap + self.present.capacity()
    }
}
