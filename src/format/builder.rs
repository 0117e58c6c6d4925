//! [`ColumnBuilder`]: append-only Arrow column builders that can roll back to an earlier length.
//!
//! Decoders write a record's fields straight into these builders as they parse. When a record turns out to
//! be bad halfway through, or a JSON object repeats a key, the builders are truncated back to where the
//! record (or the field) started, which Arrow's own builders cannot do. Buffers are plain `Vec`s handed to
//! Arrow without copying when a batch is finished.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, BooleanBufferBuilder, Date32Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, ListArray, MapArray, StringArray, StructArray, Time32MillisecondArray, TimestampMillisecondArray,
    new_null_array,
};
use datafusion::arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Fields};

use crate::types::SqlType;

/// Leaf types that share a physical representation are told apart here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum I32Kind {
    Int,
    Date,
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum I64Kind {
    BigInt,
    Timestamp,
}

/// The values of a column, by physical layout.
#[derive(Debug)]
pub(crate) enum Data {
    Boolean(BooleanBufferBuilder),
    I32(I32Kind, Vec<i32>),
    I64(I64Kind, Vec<i64>),
    F64(Vec<f64>),
    Decimal {
        precision: u8,
        scale: i8,
        values: Vec<i128>,
    },
    /// `STRING` (`utf8`) or `BYTES`; `offsets` starts with 0 and has one entry per row after it.
    Bytes {
        utf8: bool,
        offsets: Vec<i32>,
        values: Vec<u8>,
    },
    List {
        offsets: Vec<i32>,
        child: Box<ColumnBuilder>,
    },
    Map {
        offsets: Vec<i32>,
        keys: Box<ColumnBuilder>,
        values: Box<ColumnBuilder>,
    },
    Struct(StructData),
}

/// A STRUCT's fields: the names JSON keys are matched against and one builder per field.
#[derive(Debug)]
pub(crate) struct StructData {
    pub names: Vec<String>,
    /// True when two field names differ only in case (`a` and `A`), which makes one JSON key able to match
    /// two fields; decoders take a slower path only then.
    pub case_collision: bool,
    pub children: Vec<ColumnBuilder>,
}

impl StructData {
    pub(crate) fn new(fields: &[(String, SqlType)]) -> Self {
        let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
        let case_collision = names
            .iter()
            .enumerate()
            .any(|(i, a)| names.iter().enumerate().any(|(j, b)| i != j && a.to_uppercase() == *b));
        StructData {
            names,
            case_collision,
            children: fields.iter().map(|(_, t)| ColumnBuilder::new(t)).collect(),
        }
    }
}

/// A growable column of one SQL type.
#[derive(Debug)]
pub(crate) struct ColumnBuilder {
    pub ty: SqlType,
    /// One bit per row: valid (true) or null.
    validity: BooleanBufferBuilder,
    pub data: Data,
}

/// Returned when a batch would exceed Arrow's 2 GiB limit for 32-bit offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the batch holds more than 2 GiB of data in one column; use smaller batches")
    }
}

fn offset(len: usize) -> Result<i32, TooLarge> {
    i32::try_from(len).map_err(|_| TooLarge)
}

impl ColumnBuilder {
    pub(crate) fn new(ty: &SqlType) -> Self {
        let data = match ty {
            SqlType::Boolean => Data::Boolean(BooleanBufferBuilder::new(0)),
            SqlType::Int => Data::I32(I32Kind::Int, Vec::new()),
            SqlType::Date => Data::I32(I32Kind::Date, Vec::new()),
            SqlType::Time => Data::I32(I32Kind::Time, Vec::new()),
            SqlType::BigInt => Data::I64(I64Kind::BigInt, Vec::new()),
            SqlType::Timestamp => Data::I64(I64Kind::Timestamp, Vec::new()),
            SqlType::Double => Data::F64(Vec::new()),
            SqlType::Decimal { precision, scale } => Data::Decimal {
                precision: *precision,
                scale: *scale,
                values: Vec::new(),
            },
            SqlType::String | SqlType::Bytes => Data::Bytes {
                utf8: *ty == SqlType::String,
                offsets: vec![0],
                values: Vec::new(),
            },
            SqlType::Array(item) => Data::List {
                offsets: vec![0],
                child: Box::new(ColumnBuilder::new(item)),
            },
            SqlType::Map(k, v) => Data::Map {
                offsets: vec![0],
                keys: Box::new(ColumnBuilder::new(k)),
                values: Box::new(ColumnBuilder::new(v)),
            },
            SqlType::Struct(fields) => Data::Struct(StructData::new(fields)),
        };
        ColumnBuilder {
            ty: ty.clone(),
            validity: BooleanBufferBuilder::new(0),
            data,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.validity.len()
    }

    /// True when row `i` exists and is not null.
    pub(crate) fn is_valid(&self, i: usize) -> bool {
        i < self.len() && self.validity.get_bit(i)
    }

    /// Appends a null row (nested children get a placeholder so lengths stay aligned).
    pub(crate) fn append_null(&mut self) {
        self.validity.append(false);
        match &mut self.data {
            Data::Boolean(v) => v.append(false),
            Data::I32(_, v) => v.push(0),
            Data::I64(_, v) => v.push(0),
            Data::F64(v) => v.push(0.0),
            Data::Decimal { values, .. } => values.push(0),
            Data::Bytes { offsets, .. } | Data::List { offsets, .. } | Data::Map { offsets, .. } => {
                let last = offsets.last().copied().unwrap_or(0);
                offsets.push(last);
            }
            Data::Struct(s) => s.children.iter_mut().for_each(ColumnBuilder::append_null),
        }
    }

    /// Rolls back to `len` rows. With `len == self.len()` this still drops a half-built nested row (list
    /// elements or struct fields appended for a row that was never closed).
    pub(crate) fn truncate(&mut self, len: usize) {
        if len > self.len() {
            return;
        }
        self.validity.truncate(len);
        match &mut self.data {
            Data::Boolean(v) => v.truncate(len),
            Data::I32(_, v) => v.truncate(len),
            Data::I64(_, v) => v.truncate(len),
            Data::F64(v) => v.truncate(len),
            Data::Decimal { values, .. } => values.truncate(len),
            Data::Bytes { offsets, values, .. } => {
                offsets.truncate(len + 1);
                values.truncate(end_of(offsets));
            }
            Data::List { offsets, child } => {
                offsets.truncate(len + 1);
                child.truncate(end_of(offsets));
            }
            Data::Map { offsets, keys, values } => {
                offsets.truncate(len + 1);
                let end = end_of(offsets);
                keys.truncate(end);
                values.truncate(end);
            }
            Data::Struct(s) => s.children.iter_mut().for_each(|c| c.truncate(len)),
        }
    }

    pub(crate) fn push_bool(&mut self, v: bool) {
        if let Data::Boolean(b) = &mut self.data {
            b.append(v);
            self.validity.append(true);
        }
    }

    pub(crate) fn push_i32(&mut self, v: i32) {
        if let Data::I32(_, b) = &mut self.data {
            b.push(v);
            self.validity.append(true);
        }
    }

    pub(crate) fn push_i64(&mut self, v: i64) {
        if let Data::I64(_, b) = &mut self.data {
            b.push(v);
            self.validity.append(true);
        }
    }

    pub(crate) fn push_f64(&mut self, v: f64) {
        if let Data::F64(b) = &mut self.data {
            b.push(v);
            self.validity.append(true);
        }
    }

    pub(crate) fn push_decimal(&mut self, v: i128) {
        if let Data::Decimal { values, .. } = &mut self.data {
            values.push(v);
            self.validity.append(true);
        }
    }

    /// Appends a STRING or BYTES value.
    pub(crate) fn push_bytes(&mut self, v: &[u8]) -> Result<(), TooLarge> {
        self.push_bytes_with(|buf| {
            buf.extend_from_slice(v);
            Ok::<(), std::convert::Infallible>(())
        })
        .map(|_| ())
    }

    /// Appends a STRING or BYTES value that `write` produces directly into the column's buffer (no temporary
    /// copy); if `write` fails, whatever it wrote is discarded and nothing is appended.
    pub(crate) fn push_bytes_with<E>(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
    ) -> Result<Result<(), E>, TooLarge> {
        let Data::Bytes { offsets, values, .. } = &mut self.data else {
            return Ok(Ok(()));
        };
        let start = values.len();
        if let Err(e) = write(values) {
            values.truncate(start);
            return Ok(Err(e));
        }
        match offset(values.len()) {
            Ok(end) => {
                offsets.push(end);
                self.validity.append(true);
                Ok(Ok(()))
            }
            Err(e) => {
                values.truncate(start);
                Err(e)
            }
        }
    }

    /// Closes a list or map row whose elements were appended to the child builder(s).
    pub(crate) fn close_nested_row(&mut self) -> Result<(), TooLarge> {
        let (offsets, end) = match &mut self.data {
            Data::List { offsets, child } => (offsets, child.len()),
            Data::Map { offsets, keys, .. } => (offsets, keys.len()),
            _ => return Ok(()),
        };
        offsets.push(offset(end)?);
        self.validity.append(true);
        Ok(())
    }

    /// Marks a struct row valid; its children must already hold the row.
    pub(crate) fn close_struct_row(&mut self) {
        self.validity.append(true);
    }

    /// Builds the Arrow array of the rows so far and empties the builder, keeping its capacity hint.
    pub(crate) fn finish(&mut self) -> ArrayRef {
        let len = self.len();
        let data_type = self.ty.to_arrow();
        let nulls = take_nulls(&mut self.validity);
        let built: Result<ArrayRef, datafusion::arrow::error::ArrowError> = match &mut self.data {
            Data::Boolean(v) => Ok(Arc::new(BooleanArray::new(v.finish(), nulls))),
            Data::I32(kind, v) => {
                let values = ScalarBuffer::from(take_vec(v));
                Ok(match kind {
                    I32Kind::Int => Arc::new(Int32Array::new(values, nulls)) as ArrayRef,
                    I32Kind::Date => Arc::new(Date32Array::new(values, nulls)),
                    I32Kind::Time => Arc::new(Time32MillisecondArray::new(values, nulls)),
                })
            }
            Data::I64(kind, v) => {
                let values = ScalarBuffer::from(take_vec(v));
                Ok(match kind {
                    I64Kind::BigInt => Arc::new(Int64Array::new(values, nulls)) as ArrayRef,
                    I64Kind::Timestamp => Arc::new(TimestampMillisecondArray::new(values, nulls)),
                })
            }
            Data::F64(v) => Ok(Arc::new(Float64Array::new(ScalarBuffer::from(take_vec(v)), nulls))),
            Data::Decimal {
                precision,
                scale,
                values,
            } => Decimal128Array::try_new(ScalarBuffer::from(take_vec(values)), nulls)
                .and_then(|a| a.with_precision_and_scale(*precision, *scale))
                .map(|a| Arc::new(a) as ArrayRef),
            Data::Bytes { utf8, offsets, values } => {
                let offsets = take_offsets(offsets);
                let values = Buffer::from_vec(take_vec(values));
                if *utf8 {
                    StringArray::try_new(offsets, values, nulls).map(|a| Arc::new(a) as ArrayRef)
                } else {
                    BinaryArray::try_new(offsets, values, nulls).map(|a| Arc::new(a) as ArrayRef)
                }
            }
            Data::List { offsets, child } => {
                let offsets = take_offsets(offsets);
                let values = child.finish();
                let field = Arc::new(Field::new("item", child.ty.to_arrow(), true));
                ListArray::try_new(field, offsets, values, nulls).map(|a| Arc::new(a) as ArrayRef)
            }
            Data::Map { offsets, keys, values } => {
                let offsets = take_offsets(offsets);
                let key_field = Field::new("key", keys.ty.to_arrow(), false);
                let value_field = Field::new("value", values.ty.to_arrow(), true);
                let entries = StructArray::try_new(
                    Fields::from(vec![key_field, value_field]),
                    vec![keys.finish(), values.finish()],
                    None,
                );
                match (entries, &data_type) {
                    (Ok(entries), DataType::Map(field, _)) => {
                        MapArray::try_new(field.clone(), offsets, entries, nulls, false)
                            .map(|a| Arc::new(a) as ArrayRef)
                    }
                    (Err(e), _) => Err(e),
                    (Ok(_), other) => Err(datafusion::arrow::error::ArrowError::InvalidArgumentError(format!(
                        "MAP column has Arrow type {other}"
                    ))),
                }
            }
            Data::Struct(s) => {
                let children: Vec<ArrayRef> = s.children.iter_mut().map(ColumnBuilder::finish).collect();
                match &data_type {
                    DataType::Struct(fields) => StructArray::try_new_with_length(fields.clone(), children, nulls, len)
                        .map(|a| Arc::new(a) as ArrayRef),
                    other => Err(datafusion::arrow::error::ArrowError::InvalidArgumentError(format!(
                        "STRUCT column has Arrow type {other}"
                    ))),
                }
            }
        };
        match built {
            Ok(array) => array,
            Err(e) => {
                // Only reachable through a bug in this module; nulls are better than a crashed query.
                tracing::error!(error = %e, ty = %self.ty, "format: could not assemble a decoded column");
                new_null_array(&data_type, len)
            }
        }
    }
}

fn end_of(offsets: &[i32]) -> usize {
    offsets.last().map_or(0, |&o| usize::try_from(o).unwrap_or(0))
}

fn take_vec<T>(v: &mut Vec<T>) -> Vec<T> {
    let capacity = v.len();
    std::mem::replace(v, Vec::with_capacity(capacity))
}

fn take_offsets(offsets: &mut Vec<i32>) -> OffsetBuffer<i32> {
    let mut fresh = Vec::with_capacity(offsets.len());
    fresh.push(0);
    let taken = std::mem::replace(offsets, fresh);
    // Offsets start at 0 and only ever grow (appends push the current end), so they are valid.
    OffsetBuffer::new(ScalarBuffer::from(taken))
}

fn take_nulls(validity: &mut BooleanBufferBuilder) -> Option<NullBuffer> {
    let nulls = NullBuffer::new(validity.finish());
    (nulls.null_count() > 0).then_some(nulls)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Int32Type, Int64Type};

    use super::*;

    #[test]
    fn builds_every_type_with_the_declared_arrow_type() {
        let types = [
            SqlType::Boolean,
            SqlType::Int,
            SqlType::BigInt,
            SqlType::Double,
            SqlType::decimal(10, 2).unwrap(),
            SqlType::String,
            SqlType::Bytes,
            SqlType::Timestamp,
            SqlType::Date,
            SqlType::Time,
            SqlType::Array(Box::new(SqlType::Int)),
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Double)),
            SqlType::Struct(vec![("A".into(), SqlType::String)]),
            SqlType::Struct(vec![]),
        ];
        for t in types {
            let mut b = ColumnBuilder::new(&t);
            (0..3).for_each(|_| b.append_null());
            let a = b.finish();
            assert_eq!(a.data_type(), &t.to_arrow(), "{t}");
            assert_eq!(a.len(), 3);
            assert_eq!(a.null_count(), 3, "{t}");
            assert_eq!(b.len(), 0);
        }
    }

    #[test]
    fn truncate_rolls_back_nested_rows() {
        let t = SqlType::Array(Box::new(SqlType::Array(Box::new(SqlType::BigInt))));
        let mut b = ColumnBuilder::new(&t);
        // Row 0: [[1, 2]]
        let Data::List { child, .. } = &mut b.data else {
            panic!()
        };
        let Data::List { child: inner, .. } = &mut child.data else {
            panic!()
        };
        inner.push_i64(1);
        inner.push_i64(2);
        child.close_nested_row().unwrap();
        b.close_nested_row().unwrap();
        // Row 1 (abandoned halfway): [[3]
        let Data::List { child, .. } = &mut b.data else {
            panic!()
        };
        let Data::List { child: inner, .. } = &mut child.data else {
            panic!()
        };
        inner.push_i64(3);
        child.close_nested_row().unwrap();
        b.truncate(1);
        b.append_null();
        let a = b.finish();
        let list = a.as_list::<i32>();
        assert_eq!(list.len(), 2);
        assert!(list.is_null(1));
        let inner = list.value(0);
        let inner = inner.as_list::<i32>();
        assert_eq!(inner.value(0).as_primitive::<Int64Type>().values(), &[1, 2]);
        assert_eq!(inner.len(), 1, "the abandoned inner row is gone");
    }

    #[test]
    fn bytes_writer_failures_leave_no_trace() {
        let mut b = ColumnBuilder::new(&SqlType::String);
        b.push_bytes(b"ab").unwrap();
        let r = b
            .push_bytes_with(|buf| {
                buf.extend_from_slice(b"partial");
                Err("nope")
            })
            .unwrap();
        assert_eq!(r, Err("nope"));
        b.push_bytes(b"c").unwrap();
        let a = b.finish();
        let s = a.as_string::<i32>();
        assert_eq!((s.value(0), s.value(1), s.len()), ("ab", "c", 2));
    }

    #[test]
    fn struct_children_stay_aligned() {
        let t = SqlType::Struct(vec![("A".into(), SqlType::Int), ("a".into(), SqlType::Int)]);
        let mut b = ColumnBuilder::new(&t);
        let Data::Struct(s) = &mut b.data else { panic!() };
        assert!(s.case_collision);
        s.children[0].push_i32(1);
        s.children[1].push_i32(2);
        b.close_struct_row();
        b.append_null();
        let a = b.finish();
        let st = a.as_struct();
        assert_eq!(st.column(0).as_primitive::<Int32Type>().value(0), 1);
        assert!(st.is_null(1));
        assert!(!StructData::new(&[("A".into(), SqlType::Int), ("B".into(), SqlType::Int)]).case_collision);
    }
}
