//! Owned values of the scalar ksqlDB types for the collection-like aggregates (COLLECT_LIST, TOPK,
//! EARLIEST_BY_OFFSET, ...), as compact byte strings.
//!
//! A value is `[0]` for null or `[1]` followed by an **order-preserving** key: comparing two encodings as byte
//! strings compares the values as Java does (`Integer`/`Long` signed order, `Double.compareTo` with NaN last,
//! `BigDecimal` by value at one scale, strings and bytes lexicographically by byte). So TOPK and COLLECT_SET work
//! on bytes without knowing the type, and the encoding is ours — stable across Arrow versions, fine to checkpoint,
//! and decoded with full validation (corrupt bytes are an error, never a panic).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanArray, PrimitiveArray, StringBuilder, make_array,
};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimestampMillisecondType,
};
use datafusion::error::{DataFusionError, Result};

use super::common::{Reader, put_bytes, put_u32};
use crate::types::SqlType;

/// How a type's values are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Bool,
    /// INT, DATE, TIME
    I32,
    /// BIGINT, TIMESTAMP
    I64,
    F64,
    /// DECIMAL (the scale is the column's, so unscaled values compare by value)
    Dec,
    Str,
    Bin,
}

/// A scalar ksqlDB type and its Arrow type.
#[derive(Clone, Debug)]
pub(super) struct ValueType {
    pub kind: Kind,
    pub data_type: DataType,
}

impl ValueType {
    /// The scalar types; `None` for ARRAY, MAP and STRUCT.
    pub fn scalar(t: &SqlType) -> Option<Self> {
        let kind = match t {
            SqlType::Boolean => Kind::Bool,
            SqlType::Int | SqlType::Date | SqlType::Time => Kind::I32,
            SqlType::BigInt | SqlType::Timestamp => Kind::I64,
            SqlType::Double => Kind::F64,
            SqlType::Decimal { .. } => Kind::Dec,
            SqlType::String => Kind::Str,
            SqlType::Bytes => Kind::Bin,
            SqlType::Array(_) | SqlType::Map(_, _) | SqlType::Struct(_) => return None,
        };
        Some(Self {
            kind,
            data_type: t.to_arrow(),
        })
    }

    /// Views an argument column, checking its Arrow type.
    pub fn column<'a>(&self, array: &'a ArrayRef) -> Result<Column<'a>> {
        if array.data_type() != &self.data_type {
            return Err(DataFusionError::Execution(format!(
                "internal error: aggregate expected {} argument, got {}",
                self.data_type,
                array.data_type()
            )));
        }
        let data = match array.data_type() {
            DataType::Boolean => Data::Bool(array.as_boolean().values()),
            DataType::Int32 => Data::I32(array.as_primitive::<Int32Type>().values()),
            DataType::Date32 => Data::I32(array.as_primitive::<Date32Type>().values()),
            DataType::Time32(_) => Data::I32(array.as_primitive::<Time32MillisecondType>().values()),
            DataType::Int64 => Data::I64(array.as_primitive::<Int64Type>().values()),
            DataType::Timestamp(_, _) => Data::I64(array.as_primitive::<TimestampMillisecondType>().values()),
            DataType::Float64 => Data::F64(array.as_primitive::<Float64Type>().values()),
            DataType::Decimal128(_, _) => Data::Dec(array.as_primitive::<Decimal128Type>().values()),
            DataType::Utf8 => {
                let a = array.as_string::<i32>();
                Data::Var(a.value_offsets(), a.values().as_slice())
            }
            DataType::Binary => {
                let a = array.as_binary::<i32>();
                Data::Var(a.value_offsets(), a.values().as_slice())
            }
            other => {
                return Err(DataFusionError::Execution(format!(
                    "internal error: unsupported aggregate argument type {other}"
                )));
            }
        };
        Ok(Column {
            nulls: array.nulls(),
            data,
        })
    }

    /// Builds an array of this type from encoded values, validating each (so it also checks loaded state).
    pub fn decode<'a>(&self, values: impl Iterator<Item = &'a [u8]>) -> Result<ArrayRef> {
        let bad = |what: &str| DataFusionError::Execution(format!("corrupt aggregate value: {what}"));
        // Splits off the null marker; `None` for null.
        fn body(v: &[u8]) -> Result<Option<&[u8]>> {
            match v.split_first() {
                Some((0, [])) => Ok(None),
                Some((1, rest)) => Ok(Some(rest)),
                _ => Err(DataFusionError::Execution(
                    "corrupt aggregate value: bad null marker".into(),
                )),
            }
        }
        fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N]> {
            b.try_into()
                .map_err(|_| DataFusionError::Execution("corrupt aggregate value: wrong width".into()))
        }
        let array: ArrayRef = match self.kind {
            Kind::Bool => {
                let mut out = Vec::new();
                for v in values {
                    out.push(match body(v)? {
                        None => None,
                        Some([0]) => Some(false),
                        Some([1]) => Some(true),
                        Some(_) => return Err(bad("boolean")),
                    });
                }
                Arc::new(BooleanArray::from(out))
            }
            Kind::I32 => {
                let mut out = Vec::new();
                for v in values {
                    out.push(body(v)?.map(|b| fixed::<4>(b).map(key_to_i32)).transpose()?);
                }
                Arc::new(PrimitiveArray::<Int32Type>::from(out))
            }
            Kind::I64 => {
                let mut out = Vec::new();
                for v in values {
                    out.push(body(v)?.map(|b| fixed::<8>(b).map(key_to_i64)).transpose()?);
                }
                Arc::new(PrimitiveArray::<Int64Type>::from(out))
            }
            Kind::F64 => {
                let mut out = Vec::new();
                for v in values {
                    out.push(body(v)?.map(|b| fixed::<8>(b).map(key_to_f64)).transpose()?);
                }
                Arc::new(PrimitiveArray::<Float64Type>::from(out))
            }
            Kind::Dec => {
                let mut out = Vec::new();
                for v in values {
                    out.push(body(v)?.map(|b| fixed::<16>(b).map(key_to_i128)).transpose()?);
                }
                Arc::new(PrimitiveArray::<Decimal128Type>::from(out))
            }
            Kind::Str => {
                let mut b = StringBuilder::new();
                for v in values {
                    match body(v)? {
                        None => b.append_null(),
                        Some(s) => b.append_value(std::str::from_utf8(s).map_err(|_| bad("invalid UTF-8"))?),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::Bin => {
                let mut b = BinaryBuilder::new();
                for v in values {
                    match body(v)? {
                        None => b.append_null(),
                        Some(s) => b.append_value(s),
                    }
                }
                Arc::new(b.finish())
            }
        };
        retype(array, &self.data_type)
    }

    /// Checks that `bytes` is one well-formed value.
    pub fn validate(&self, bytes: &[u8]) -> Result<()> {
        self.decode(std::iter::once(bytes)).map(|_| ())
    }
}

/// Gives an array built in its physical type (Int32, Int64, Decimal128 at default precision) the column's type.
fn retype(array: ArrayRef, data_type: &DataType) -> Result<ArrayRef> {
    if array.data_type() == data_type {
        return Ok(array);
    }
    let data = array.to_data().into_builder().data_type(data_type.clone()).build()?;
    Ok(make_array(data))
}

enum Data<'a> {
    Bool(&'a BooleanBuffer),
    I32(&'a [i32]),
    I64(&'a [i64]),
    F64(&'a [f64]),
    Dec(&'a [i128]),
    /// Offsets and bytes of STRING or BYTES.
    Var(&'a [i32], &'a [u8]),
}

/// One argument column, downcast once per batch.
pub(super) struct Column<'a> {
    nulls: Option<&'a NullBuffer>,
    data: Data<'a>,
}

impl Column<'_> {
    pub fn nulls(&self) -> Option<&NullBuffer> {
        self.nulls
    }

    #[inline]
    pub fn is_null(&self, i: usize) -> bool {
        self.nulls.is_some_and(|n| n.is_null(i))
    }

    /// Appends the encoding of row `i` to `out`.
    #[inline]
    pub fn encode(&self, i: usize, out: &mut Vec<u8>) {
        if self.is_null(i) {
            out.push(0);
            return;
        }
        out.push(1);
        match &self.data {
            Data::Bool(b) => out.push(b.value(i) as u8),
            Data::I32(v) => out.extend_from_slice(&((v[i] as u32) ^ (1 << 31)).to_be_bytes()),
            Data::I64(v) => out.extend_from_slice(&((v[i] as u64) ^ (1 << 63)).to_be_bytes()),
            Data::F64(v) => out.extend_from_slice(&f64_key(v[i]).to_be_bytes()),
            Data::Dec(v) => out.extend_from_slice(&((v[i] as u128) ^ (1 << 127)).to_be_bytes()),
            Data::Var(offsets, bytes) => {
                let (s, e) = (offsets[i] as usize, offsets[i + 1] as usize);
                out.extend_from_slice(&bytes[s..e]);
            }
        }
    }

    /// The raw bytes of a STRING/BYTES row (for HISTOGRAM keys); `None` for other types.
    #[inline]
    pub fn var_bytes(&self, i: usize) -> Option<&[u8]> {
        match &self.data {
            Data::Var(offsets, bytes) => Some(&bytes[offsets[i] as usize..offsets[i + 1] as usize]),
            _ => None,
        }
    }
}

/// Java's `Double.compareTo` order as an unsigned key: every NaN is the largest.
fn f64_key(v: f64) -> u64 {
    if v.is_nan() {
        return u64::MAX;
    }
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn key_to_f64(k: [u8; 8]) -> f64 {
    let k = u64::from_be_bytes(k);
    if k == u64::MAX {
        return f64::NAN;
    }
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

fn key_to_i32(k: [u8; 4]) -> i32 {
    (u32::from_be_bytes(k) ^ (1 << 31)) as i32
}

fn key_to_i64(k: [u8; 8]) -> i64 {
    (u64::from_be_bytes(k) ^ (1 << 63)) as i64
}

fn key_to_i128(k: [u8; 16]) -> i128 {
    (u128::from_be_bytes(k) ^ (1 << 127)) as i128
}

/// A list of encoded values in one buffer (one group's COLLECT_LIST, TOPK, ...): two allocations per group
/// rather than one per value.
#[derive(Default, Clone, Debug)]
pub(super) struct ValueList {
    data: Vec<u8>,
    ends: Vec<u32>,
}

impl ValueList {
    #[inline]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    #[inline]
    fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] as usize }
    }

    #[inline]
    pub fn get(&self, i: usize) -> &[u8] {
        &self.data[self.start(i)..self.ends[i] as usize]
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    pub fn push(&mut self, v: &[u8]) {
        self.data.extend_from_slice(v);
        self.ends.push(self.data.len() as u32);
    }

    /// Appends row `i` of `col` without an intermediate buffer.
    #[inline]
    pub fn push_encoded(&mut self, col: &Column<'_>, i: usize) {
        col.encode(i, &mut self.data);
        self.ends.push(self.data.len() as u32);
    }

    pub fn insert(&mut self, i: usize, v: &[u8]) {
        let at = self.start(i);
        self.data.splice(at..at, v.iter().copied());
        let n = v.len() as u32;
        for e in &mut self.ends[i..] {
            *e += n;
        }
        self.ends.insert(i, at as u32 + n);
    }

    pub fn remove(&mut self, i: usize) {
        let (s, e) = (self.start(i), self.ends[i] as usize);
        self.data.drain(s..e);
        let n = (e - s) as u32;
        self.ends.remove(i);
        for end in &mut self.ends[i..] {
            *end -= n;
        }
    }

    /// Drops the first `n` values.
    pub fn drop_front(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let cut = self.ends[n - 1];
        self.data.drain(..cut as usize);
        self.ends.drain(..n);
        for e in &mut self.ends {
            *e -= cut;
        }
    }

    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.data.truncate(self.start(n));
            self.ends.truncate(n);
        }
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    /// Replaces the contents with the single value of row `i`, reusing the allocation.
    pub fn set_single(&mut self, col: &Column<'_>, i: usize) {
        self.clear();
        self.push_encoded(col, i);
    }

    /// Frees the buffers (for `reset`, so a recycled slot does not keep a large allocation).
    pub fn free(&mut self) {
        *self = Self::default();
    }

    pub fn heap_size(&self) -> usize {
        self.data.capacity() + self.ends.capacity() * 4
    }

    pub fn save(&self, out: &mut Vec<u8>) {
        put_u32(out, self.len() as u32);
        for v in self.iter() {
            put_bytes(out, v);
        }
    }

    /// Reads a list written by `save`, validating every value against `vt`.
    pub fn load(r: &mut Reader<'_>, vt: &ValueType) -> Result<Self> {
        let n = r.count(5)?;
        let mut list = Self::default();
        for _ in 0..n {
            let v = r.bytes()?;
            vt.validate(v).map_err(|e| r.err(&e.to_string()))?;
            list.push(v);
        }
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        BinaryArray, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, StringArray,
        TimestampMillisecondArray,
    };

    fn round_trip(t: SqlType, array: ArrayRef) {
        let vt = ValueType::scalar(&t).unwrap();
        let col = vt.column(&array).unwrap();
        let mut list = ValueList::default();
        for i in 0..array.len() {
            list.push_encoded(&col, i);
        }
        let back = vt.decode(list.iter()).unwrap();
        assert_eq!(&back, &array, "{t}");
    }

    #[test]
    fn every_scalar_type_round_trips() {
        round_trip(
            SqlType::Boolean,
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        );
        round_trip(
            SqlType::Int,
            Arc::new(Int32Array::from(vec![Some(i32::MIN), None, Some(-1), Some(0), Some(7)])),
        );
        round_trip(
            SqlType::BigInt,
            Arc::new(Int64Array::from(vec![Some(i64::MAX), None, Some(-5)])),
        );
        round_trip(
            SqlType::Double,
            Arc::new(Float64Array::from(vec![
                Some(-0.0),
                Some(1.5),
                None,
                Some(f64::NEG_INFINITY),
            ])),
        );
        round_trip(
            SqlType::decimal(10, 2).unwrap(),
            Arc::new(
                Decimal128Array::from(vec![Some(-12345), None, Some(99)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
        );
        round_trip(
            SqlType::String,
            Arc::new(StringArray::from(vec![Some("héllo"), None, Some("")])),
        );
        round_trip(
            SqlType::Bytes,
            Arc::new(BinaryArray::from(vec![Some(&b"\x00\xff"[..]), None])),
        );
        round_trip(SqlType::Date, Arc::new(Date32Array::from(vec![Some(19000), None])));
        round_trip(
            SqlType::Timestamp,
            Arc::new(TimestampMillisecondArray::from(vec![Some(-1), None])),
        );
    }

    #[test]
    fn encodings_sort_like_java() {
        let vt = ValueType::scalar(&SqlType::Double).unwrap();
        let values = [f64::NEG_INFINITY, -2.5, -0.0, 0.0, 1e-300, 3.0, f64::INFINITY, f64::NAN];
        let array: ArrayRef = Arc::new(Float64Array::from(values.to_vec()));
        let col = vt.column(&array).unwrap();
        let enc: Vec<Vec<u8>> = (0..values.len())
            .map(|i| {
                let mut v = Vec::new();
                col.encode(i, &mut v);
                v
            })
            .collect();
        assert!(enc.windows(2).all(|w| w[0] < w[1]));

        let vt = ValueType::scalar(&SqlType::BigInt).unwrap();
        let array: ArrayRef = Arc::new(Int64Array::from(vec![i64::MIN, -1, 0, 1, i64::MAX]));
        let col = vt.column(&array).unwrap();
        let enc: Vec<Vec<u8>> = (0..5)
            .map(|i| {
                let mut v = Vec::new();
                col.encode(i, &mut v);
                v
            })
            .collect();
        assert!(enc.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn corrupt_values_are_errors() {
        let vt = ValueType::scalar(&SqlType::Int).unwrap();
        assert!(vt.validate(&[1, 0, 0]).is_err());
        assert!(vt.validate(&[2, 0, 0, 0, 0]).is_err());
        assert!(vt.validate(&[]).is_err());
        assert!(vt.validate(&[0, 1]).is_err());
        vt.validate(&[1, 0, 0, 0, 0]).unwrap();
        let vt = ValueType::scalar(&SqlType::String).unwrap();
        assert!(vt.validate(&[1, 0xff, 0xfe]).is_err());
        let vt = ValueType::scalar(&SqlType::Boolean).unwrap();
        assert!(vt.validate(&[1, 2]).is_err());
    }

    #[test]
    fn list_edits() {
        let mut l = ValueList::default();
        for v in [b"a".as_slice(), b"bb", b"ccc"] {
            l.push(v);
        }
        l.insert(1, b"xy");
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"xy", b"bb", b"ccc"]);
        l.remove(2);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"a"[..], b"xy", b"ccc"]);
        l.drop_front(2);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b"ccc"[..]]);
        l.insert(0, b"");
        l.truncate(1);
        assert_eq!(l.iter().collect::<Vec<_>>(), vec![&b""[..]]);
    }
}
