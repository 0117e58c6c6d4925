//! Collection functions: `ARRAY_LENGTH`, `ARRAY_CONTAINS` and `MAP_KEYS`.
//!
//! DataFusion's `array_length` returns `UInt64` and NULL-propagating `array_has`; ksqlDB returns `INT` and a
//! never-NULL `BOOLEAN` (`false` for a NULL array), so these are Weir's own.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, GenericListArray, Int32Array, ListArray, OffsetSizeTrait, make_comparator,
};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::common::cast::{as_large_list_array, as_list_array, as_map_array};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};

use super::util::{bad_args, cast_to, invoke, udf_struct};

/// The `List` type an array argument is evaluated as (`LargeList` and `FixedSizeList` convert); `NULL` stays.
fn list_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::List(_) | DataType::Null => Some(dt.clone()),
        DataType::LargeList(f) | DataType::FixedSizeList(f, _) => Some(DataType::List(Arc::clone(f))),
        _ => None,
    }
}

fn element_field(dt: &DataType) -> Option<&FieldRef> {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => Some(f),
        _ => None,
    }
}

fn lengths<O: OffsetSizeTrait>(list: &GenericListArray<O>) -> Int32Array {
    let offsets = list.value_offsets();
    (0..list.len())
        .map(|i| {
            list.is_valid(i)
                .then(|| (offsets[i + 1] - offsets[i]).as_usize() as i32)
        })
        .collect()
}

udf_struct!(
    /// `ARRAY_LENGTH(array)` → `INT`, NULL for a NULL array.
    ArrayLength
);

impl ScalarUDFImpl for ArrayLength {
    fn name(&self) -> &str {
        "array_length"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t] => list_type(t)
                .map(|t| vec![t])
                .ok_or_else(|| bad_args("ARRAY_LENGTH", types, "ARRAY")),
            _ => Err(bad_args("ARRAY_LENGTH", types, "ARRAY")),
        }
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            let out = match a[0].data_type() {
                DataType::List(_) => lengths(as_list_array(&a[0])?),
                DataType::LargeList(_) => lengths(as_large_list_array(&a[0])?),
                t => match list_type(t) {
                    Some(l @ DataType::List(_)) => lengths(as_list_array(&cast_to(&a[0], &l)?)?),
                    _ => Int32Array::new_null(rows),
                },
            };
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

udf_struct!(
    /// `ARRAY_CONTAINS(array, value)` → `BOOLEAN`: false for a NULL array; a NULL value is found when the array
    /// holds a NULL (Java `List.contains`). Values compare like Java `equals` (NaN equals NaN).
    ArrayContains
);

impl ScalarUDFImpl for ArrayContains {
    fn name(&self) -> &str {
        "array_contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        let [list, value] = types else {
            return Err(bad_args("ARRAY_CONTAINS", types, "ARRAY<T>, T"));
        };
        let list = list_type(list).ok_or_else(|| bad_args("ARRAY_CONTAINS", types, "ARRAY<T>, T"))?;
        let value = match element_field(&list) {
            Some(f) if f.data_type() != &DataType::Null => f.data_type().clone(),
            _ => value.clone(),
        };
        Ok(vec![list, value])
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            let Some(ref list_t @ DataType::List(ref field)) = list_type(a[0].data_type()) else {
                return Ok(Arc::new(BooleanArray::from(vec![false; rows])) as ArrayRef);
            };
            let list = cast_to(&a[0], list_t)?;
            let list = as_list_array(&list)?;
            let values = list.values();
            let needle = cast_to(&a[1], field.data_type())?;
            let cmp = make_comparator(values.as_ref(), needle.as_ref(), SortOptions::default())?;
            let offsets = list.value_offsets();
            let out: BooleanArray = (0..rows)
                .map(|i| {
                    if list.is_null(i) {
                        return Some(false);
                    }
                    let mut range = offsets[i] as usize..offsets[i + 1] as usize;
                    Some(if needle.is_null(i) {
                        range.any(|j| values.is_null(j))
                    } else {
                        range.any(|j| values.is_valid(j) && cmp(j, i) == Ordering::Equal)
                    })
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

udf_struct!(
    /// `MAP_KEYS(map)` → `ARRAY<K>` of the keys in map order, NULL for a NULL map.
    MapKeys
);

impl ScalarUDFImpl for MapKeys {
    fn name(&self) -> &str {
        "map_keys"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t @ DataType::Map(..)] => Ok(vec![t.clone()]),
            _ => Err(bad_args("MAP_KEYS", types, "MAP")),
        }
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        let key = match &types[0] {
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if !kv.is_empty() => kv[0].data_type().clone(),
                _ => DataType::Utf8,
            },
            _ => DataType::Utf8,
        };
        Ok(DataType::List(Arc::new(Field::new("item", key, true))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, _| {
            let map = as_map_array(&a[0])?;
            let keys = Arc::clone(map.keys());
            let field = Arc::new(Field::new("item", keys.data_type().clone(), true));
            let offsets = map.offsets().clone();
            let out = ListArray::try_new(field, offsets, keys, map.nulls().cloned())?;
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{eval, eval_type, rows};

    #[test]
    fn array_length() {
        assert_eq!(eval("ARRAY_LENGTH(make_array(1, 2, 3))"), "3");
        assert_eq!(eval("ARRAY_LENGTH(make_array())"), "0");
        assert_eq!(eval("ARRAY_LENGTH(NULL)"), "NULL");
        assert_eq!(eval_type("ARRAY_LENGTH(make_array(1))"), DataType::Int32);
        let got = rows("SELECT ARRAY_LENGTH(SPLIT(s, ',')) FROM (VALUES ('a,b'), (NULL), ('')) AS t(s)");
        assert_eq!(got, ["2", "NULL", "1"]);
    }

    #[test]
    fn array_contains() {
        assert_eq!(eval("ARRAY_CONTAINS(make_array(1, 2, 3), 3)"), "true");
        assert_eq!(eval("ARRAY_CONTAINS(make_array(1, 2, 3), 4)"), "false");
        assert_eq!(eval("ARRAY_CONTAINS(make_array('a', NULL), NULL)"), "true");
        assert_eq!(eval("ARRAY_CONTAINS(make_array('a'), NULL)"), "false");
        assert_eq!(eval("ARRAY_CONTAINS(CAST(NULL AS INT[]), 1)"), "false");
        assert_eq!(
            eval("ARRAY_CONTAINS(make_array(CAST('NaN' AS DOUBLE)), CAST('NaN' AS DOUBLE))"),
            "true"
        );
        assert_eq!(eval_type("ARRAY_CONTAINS(make_array(1), 1)"), DataType::Boolean);
        let got = rows("SELECT ARRAY_CONTAINS(SPLIT(s, ','), 'b') FROM (VALUES ('a,b'), ('c'), (NULL)) AS t(s)");
        assert_eq!(got, ["true", "false", "false"]);
    }

    #[test]
    fn map_keys() {
        assert_eq!(eval("MAP_KEYS(MAP(['apple', 'banana'], [10, 20]))"), "[apple, banana]");
        assert!(
            matches!(eval_type("MAP_KEYS(MAP(['a'], [1]))"), DataType::List(f) if f.data_type() == &DataType::Utf8)
        );
        let got = rows("SELECT MAP_KEYS(m) FROM (SELECT MAP([k], [1]) AS m FROM (VALUES ('x'), ('y')) AS t(k))");
        assert_eq!(got, ["[x]", "[y]"]);
    }
}
