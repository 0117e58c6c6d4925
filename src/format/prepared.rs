//! [`Prepared`]: a column to encode, as typed Arrow arrays in the exact layout its SQL type declares.
//!
//! DataFusion expressions do not always produce the Arrow type `SqlType::to_arrow()` names: a literal may be
//! `Int64` where the column is `INT`, strings may be `Utf8View` or `LargeUtf8`, timestamps may carry another
//! unit or a time zone, and dictionary encoding can appear anywhere. Rather than handling every variant in
//! every encoder, leaf arrays are converted once per batch with `arrow::compute::cast` to the declared type
//! (cheap for the common case where nothing changes: the array is only downcast). Containers (lists, maps,
//! structs) are walked by position, so field names and nullability flags that differ from the declaration
//! do not matter.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
    Int64Array, StringArray, Time32MillisecondArray, TimestampMillisecondArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{CastOptions, cast_with_options};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimestampMillisecondType,
};

use crate::types::SqlType;

/// A column ready to be written, one variant per SQL type.
#[derive(Debug, Clone)]
pub(crate) enum Prepared {
    /// An array of Arrow type `Null`: every row is null.
    AllNull,
    Boolean(BooleanArray),
    Int(Int32Array),
    BigInt(Int64Array),
    Double(Float64Array),
    Decimal(Decimal128Array, i8),
    String(StringArray),
    Bytes(BinaryArray),
    Timestamp(TimestampMillisecondArray),
    Date(Date32Array),
    Time(Time32MillisecondArray),
    List {
        nulls: Option<NullBuffer>,
        offsets: OffsetBuffer<i32>,
        item: Box<Prepared>,
    },
    Map {
        nulls: Option<NullBuffer>,
        offsets: OffsetBuffer<i32>,
        keys: Box<Prepared>,
        values: Box<Prepared>,
    },
    Struct {
        nulls: Option<NullBuffer>,
        fields: Vec<Prepared>,
    },
}

/// Converts without losing data: a value that does not fit the declared type (an `Int64` too large for
/// `INT`) is an error rather than a silent null, because nothing may be dropped silently.
fn cast(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, datafusion::arrow::error::ArrowError> {
    let options = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    cast_with_options(array, to, &options)
}

fn mismatch(array: &dyn Array, ty: &SqlType) -> String {
    format!("an array of Arrow type {} cannot be written as {ty}", array.data_type())
}

impl Prepared {
    /// Converts `array` for writing as `ty`.
    pub(crate) fn new(array: &ArrayRef, ty: &SqlType) -> Result<Prepared, String> {
        match array.data_type() {
            DataType::Null => return Ok(Prepared::AllNull),
            DataType::Dictionary(_, value) => {
                let plain = cast(array, value).map_err(|e| format!("{}: {e}", mismatch(array.as_ref(), ty)))?;
                return Prepared::new(&plain, ty);
            }
            _ => {}
        }
        match ty {
            SqlType::Array(item) => Self::list(array, ty, item),
            SqlType::Map(k, v) => {
                let map = array.as_map_opt().ok_or_else(|| mismatch(array.as_ref(), ty))?;
                Ok(Prepared::Map {
                    nulls: map.nulls().cloned(),
                    offsets: map.offsets().clone(),
                    keys: Box::new(Prepared::new(map.keys(), k)?),
                    values: Box::new(Prepared::new(map.values(), v)?),
                })
            }
            SqlType::Struct(fields) => {
                let st = array.as_struct_opt().ok_or_else(|| mismatch(array.as_ref(), ty))?;
                if st.num_columns() != fields.len() {
                    return Err(format!(
                        "a struct array with {} fields cannot be written as {ty}",
                        st.num_columns()
                    ));
                }
                Ok(Prepared::Struct {
                    nulls: st.nulls().cloned(),
                    fields: st
                        .columns()
                        .iter()
                        .zip(fields)
                        .map(|(c, (_, t))| Prepared::new(c, t))
                        .collect::<Result<_, _>>()?,
                })
            }
            _ => Self::leaf(array, ty),
        }
    }

    fn list(array: &ArrayRef, ty: &SqlType, item: &SqlType) -> Result<Prepared, String> {
        // LargeList, FixedSizeList and list views are cast to a List of the same child type first.
        let converted;
        let a: &ArrayRef = match array.data_type() {
            DataType::List(_) => array,
            DataType::LargeList(f)
            | DataType::FixedSizeList(f, _)
            | DataType::ListView(f)
            | DataType::LargeListView(f) => {
                converted = cast(array, &DataType::List(f.clone()))
                    .map_err(|e| format!("{}: {e}", mismatch(array.as_ref(), ty)))?;
                &converted
            }
            _ => return Err(mismatch(array.as_ref(), ty)),
        };
        let list = a.as_list_opt::<i32>().ok_or_else(|| mismatch(array.as_ref(), ty))?;
        Ok(Prepared::List {
            nulls: list.nulls().cloned(),
            offsets: list.offsets().clone(),
            item: Box::new(Prepared::new(list.values(), item)?),
        })
    }

    fn leaf(array: &ArrayRef, ty: &SqlType) -> Result<Prepared, String> {
        let target = ty.to_arrow();
        let converted;
        let a: &ArrayRef = if array.data_type() == &target {
            array
        } else {
            converted = cast(array, &target).map_err(|e| format!("{}: {e}", mismatch(array.as_ref(), ty)))?;
            &converted
        };
        let wrong = || mismatch(array.as_ref(), ty);
        Ok(match ty {
            SqlType::Boolean => Prepared::Boolean(a.as_boolean_opt().ok_or_else(wrong)?.clone()),
            SqlType::Int => Prepared::Int(a.as_primitive_opt::<Int32Type>().ok_or_else(wrong)?.clone()),
            SqlType::BigInt => Prepared::BigInt(a.as_primitive_opt::<Int64Type>().ok_or_else(wrong)?.clone()),
            SqlType::Double => Prepared::Double(a.as_primitive_opt::<Float64Type>().ok_or_else(wrong)?.clone()),
            SqlType::Decimal { scale, .. } => Prepared::Decimal(
                a.as_primitive_opt::<Decimal128Type>().ok_or_else(wrong)?.clone(),
                *scale,
            ),
            SqlType::String => Prepared::String(a.as_string_opt::<i32>().ok_or_else(wrong)?.clone()),
            SqlType::Bytes => Prepared::Bytes(a.as_binary_opt::<i32>().ok_or_else(wrong)?.clone()),
            SqlType::Timestamp => Prepared::Timestamp(
                a.as_primitive_opt::<TimestampMillisecondType>()
                    .ok_or_else(wrong)?
                    .clone(),
            ),
            SqlType::Date => Prepared::Date(a.as_primitive_opt::<Date32Type>().ok_or_else(wrong)?.clone()),
            SqlType::Time => Prepared::Time(a.as_primitive_opt::<Time32MillisecondType>().ok_or_else(wrong)?.clone()),
            SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_) => return Err(wrong()),
        })
    }

    /// True when row `i` is null.
    pub(crate) fn is_null(&self, i: usize) -> bool {
        let nulls = match self {
            Prepared::AllNull => return true,
            Prepared::Boolean(a) => return a.is_null(i),
            Prepared::Int(a) => return a.is_null(i),
            Prepared::BigInt(a) => return a.is_null(i),
            Prepared::Double(a) => return a.is_null(i),
            Prepared::Decimal(a, _) => return a.is_null(i),
            Prepared::String(a) => return a.is_null(i),
            Prepared::Bytes(a) => return a.is_null(i),
            Prepared::Timestamp(a) => return a.is_null(i),
            Prepared::Date(a) => return a.is_null(i),
            Prepared::Time(a) => return a.is_null(i),
            Prepared::List { nulls, .. } | Prepared::Map { nulls, .. } | Prepared::Struct { nulls, .. } => nulls,
        };
        nulls.as_ref().is_some_and(|n| n.is_null(i))
    }
}

/// The element range of list or map row `i`.
pub(crate) fn range(offsets: &OffsetBuffer<i32>, i: usize) -> std::ops::Range<usize> {
    let start = offsets.get(i).and_then(|&o| usize::try_from(o).ok()).unwrap_or(0);
    let end = offsets
        .get(i + 1)
        .and_then(|&o| usize::try_from(o).ok())
        .unwrap_or(start);
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        DictionaryArray, Int16Array, LargeListArray, LargeStringArray, NullArray, StringViewArray,
        TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{Int8Type, Int64Type as I64};

    use super::*;

    #[test]
    fn casts_other_arrow_types_to_the_declared_one() {
        let p = Prepared::new(
            &(Arc::new(Int16Array::from(vec![Some(1), None])) as ArrayRef),
            &SqlType::Int,
        )
        .unwrap();
        let Prepared::Int(a) = &p else { panic!("{p:?}") };
        assert_eq!(a.value(0), 1);
        assert!(p.is_null(1));
        let p = Prepared::new(
            &(Arc::new(StringViewArray::from(vec!["a"])) as ArrayRef),
            &SqlType::String,
        )
        .unwrap();
        assert!(matches!(&p, Prepared::String(s) if s.value(0) == "a"));
        let p = Prepared::new(
            &(Arc::new(LargeStringArray::from(vec!["b"])) as ArrayRef),
            &SqlType::String,
        )
        .unwrap();
        assert!(matches!(&p, Prepared::String(s) if s.value(0) == "b"));
        let p = Prepared::new(
            &(Arc::new(TimestampMicrosecondArray::from(vec![1_500_000])) as ArrayRef),
            &SqlType::Timestamp,
        )
        .unwrap();
        assert!(matches!(&p, Prepared::Timestamp(t) if t.value(0) == 1500));
        let dict: DictionaryArray<Int8Type> = vec!["x", "y", "x"].into_iter().collect();
        let p = Prepared::new(&(Arc::new(dict) as ArrayRef), &SqlType::String).unwrap();
        assert!(matches!(&p, Prepared::String(s) if s.value(2) == "x"));
        let p = Prepared::new(&(Arc::new(NullArray::new(2)) as ArrayRef), &SqlType::Int).unwrap();
        assert!(p.is_null(1));
    }

    #[test]
    fn large_lists_are_walked_as_lists() {
        let ll = LargeListArray::from_iter_primitive::<I64, _, _>(vec![Some(vec![Some(1), Some(2)]), None]);
        let p = Prepared::new(&(Arc::new(ll) as ArrayRef), &SqlType::Array(Box::new(SqlType::BigInt))).unwrap();
        let Prepared::List { offsets, item, .. } = &p else {
            panic!()
        };
        assert_eq!(range(offsets, 0), 0..2);
        assert!(matches!(item.as_ref(), Prepared::BigInt(_)));
        assert!(p.is_null(1));
    }

    #[test]
    fn lossy_casts_are_errors() {
        let big: ArrayRef = Arc::new(datafusion::arrow::array::Int64Array::from(vec![i64::MAX]));
        let e = Prepared::new(&big, &SqlType::Int).unwrap_err();
        assert!(e.contains("cannot be written as INTEGER"), "{e}");
    }

    #[test]
    fn incompatible_arrays_are_errors() {
        let strings: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        let e = Prepared::new(&strings, &SqlType::Array(Box::new(SqlType::Int))).unwrap_err();
        assert!(e.contains("cannot be written as ARRAY<INTEGER>"), "{e}");
        let e = Prepared::new(&strings, &SqlType::Struct(vec![("A".into(), SqlType::Int)])).unwrap_err();
        assert!(e.contains("cannot be written as STRUCT"), "{e}");
    }
}
