//! `ksql_cast(value, 'TYPE')`: ksqlDB's `CAST(value AS TYPE)` with its exact semantics, and [`check_cast`], the
//! planning-time check of which casts ksqlDB supports.
//!
//! The planner rewrites `CAST(x AS T)` into `ksql_cast(x, 'T')` where `'T'` is the target type as
//! [`SqlType`]'s `Display` prints it; the result type comes from that literal. Semantics follow ksqlDB's
//! `CastEvaluator` (confluentinc/ksql `ksqldb-execution/.../codegen/helpers/CastEvaluator.java`) and the
//! helpers it generates calls to (`DecimalUtil.cast`, `SqlBooleans`, `SqlDoubles`, `SqlTimeTypes`,
//! `PartialStringToTimestampParser`, Java's `parseInt`/`toString`):
//!
//! | From \ To | To |
//! |---|---|
//! | `BOOLEAN` | `STRING` |
//! | `INT` | `BIGINT`, `DECIMAL`, `DOUBLE`, `STRING` |
//! | `BIGINT` | `INT` (wraps), `DECIMAL`, `DOUBLE`, `STRING` |
//! | `DECIMAL` | `INT`/`BIGINT` (truncate, then wrap), `DECIMAL` (HALF_UP), `DOUBLE`, `STRING` (plain, keeps scale) |
//! | `DOUBLE` | `INT`/`BIGINT` (truncate toward zero, saturate, NaN → 0), `DECIMAL` (HALF_UP), `STRING` |
//! | `STRING` | `BOOLEAN`, `INT`, `BIGINT`, `DECIMAL`, `DOUBLE`, `TIMESTAMP`, `DATE`, `TIME`, `BYTES` (base64) |
//! | `TIMESTAMP` | `STRING`, `DATE`, `TIME` |
//! | `DATE` | `TIMESTAMP`, `STRING` |
//! | `TIME` | `STRING` |
//! | `ARRAY` | `ARRAY` (element-wise), `STRING` |
//! | `MAP` | `MAP` (keys and values), `STRING` |
//! | `STRUCT` | `STRUCT` (fields by name), `STRING` |
//!
//! Any type casts to itself and `NULL` casts to anything; every other pair (`BYTES` to anything else, numbers
//! to `BOOLEAN`, `BIGINT` to `TIMESTAMP`, `TIME` to `TIMESTAMP`, ...) is rejected with ksqlDB's
//! `Cast of <FROM> to <TO> is not supported`, also when an element or field cast inside a collection is.
//!
//! Details:
//! - `STRING` sources are trimmed (Java's `trim`: characters up to U+0020) first. `BOOLEAN` is true for a
//!   case-insensitive prefix of `true` or `yes` (`t`, `Y`, `tru`), false otherwise. `INT`/`BIGINT` are Java's
//!   `parseInt`/`parseLong`; `DOUBLE` is `Double.parseDouble`, rejecting `NaN` and infinities; `DECIMAL` is
//!   `new BigDecimal(text)`.
//! - To `DECIMAL(p, s)`: the exact value (a double's binary value rounded to `p` significant digits first, as
//!   `new BigDecimal(d, new MathContext(p))` does) must be below 10^(p-s), then it is rounded HALF_UP to scale
//!   `s`. A value that only exceeds the precision after that rounding (`9.96` to `DECIMAL(2, 1)` is `10.0`) is
//!   an error too (ksqlDB lets it through unchecked).
//! - To `STRING`: `DOUBLE` as Java's `Double.toString` (`1.0`, `1.0E7`), `DECIMAL` as plain text with its
//!   scale, `TIMESTAMP` as `yyyy-MM-dd'T'HH:mm:ss.SSS` (UTC), `DATE` as `yyyy-MM-dd`, `TIME` as Java's
//!   `LocalTime` of the whole seconds (`10:00`, `10:00:01`), collections as Java's `toString` of ksqlDB's values
//!   (`[1, null]`, `{a=1, b=2}`, `Struct{F0=1,f1=x}` skipping NULL fields; elements print as Java objects:
//!   `java.sql.Timestamp` `1970-01-01 00:00:00.01`, decimals with `BigDecimal.toString`). Weir assumes a JVM
//!   in UTC for those element forms, and prints map entries in stored order where ksqlDB's `HashMap`s print
//!   in hash order.
//! - `STRING` to `TIMESTAMP`: `yyyy-MM-dd'T'HH:mm:ss.SSS` with partial forms (`2020`, `2020-05`, `2020-05-26`,
//!   `2020-05-26T10`, ...), an optional trailing `Z` and an optional offset (`+0200`, `-07:00`); no offset is
//!   UTC. `DATE`: `yyyy-MM-dd` or `yyyy`/`yyyy-MM`, strictly valid. `TIME`: `HH:mm[:ss[.fraction]]`.
//! - `TIMESTAMP` to `DATE`/`TIME` take the UTC day (floor) and time of day; `DATE` to `TIMESTAMP` is midnight.
//! - `STRUCT` to `STRUCT` matches fields by exact name: target fields missing from the source are NULL, source
//!   fields missing from the target are dropped. `MAP` keys that become equal keep the last value.
//!
//! NULL in, NULL out. A value that cannot be converted is an execution error naming the value and the types
//! (`CAST: cannot cast STRING 'abc' to INTEGER: ...`); the caller turns it into NULL and a processing-log
//! entry, as ksqlDB does. Unsupported pairs are planning errors.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Arc, LazyLock};

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use datafusion::arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BinaryBuilder, BooleanBuilder, ListArray, MapArray, PrimitiveArray,
    PrimitiveBuilder, StringBuilder, StructArray, UInt32Array, make_array, new_null_array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::compute::{cast, take};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Field, FieldRef, Float64Type, Int32Type, Int64Type, Time32MillisecondType,
    TimeUnit, TimestampMillisecondType,
};
use datafusion::common::{DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::{ColumnarValue, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDFImpl, Signature};

use super::java_num::{
    BigDec, decimal_plain, decimal_to_f64, decimal_to_java_string, java_double_to_string, java_trim, parse_java_double,
    parse_java_int,
};
use super::java_time_format::{JavaDateFormat, Zone};
use super::util::{bad_args, exec_err, invoke, string_type, udf_struct};
use crate::types::SqlType;

/// ksqlDB's planning error for a cast it does not support.
fn unsupported(from: &SqlType, to: &SqlType) -> String {
    format!("Cast of {from} to {to} is not supported")
}

/// Whether ksqlDB supports `CAST(<from> AS <to>)`; the error is ksqlDB's message,
/// `Cast of <FROM> to <TO> is not supported`, naming the outermost types.
pub fn check_cast(from: &SqlType, to: &SqlType) -> std::result::Result<(), String> {
    use SqlType::*;
    if from == to {
        return Ok(());
    }
    let nested = |inner: std::result::Result<(), std::string::String>| inner.map_err(|_| unsupported(from, to));
    match (from, to) {
        (Boolean, String)
        | (Int, BigInt | Decimal { .. } | Double | String)
        | (BigInt, Int | Decimal { .. } | Double | String)
        | (Decimal { .. }, Int | BigInt | Decimal { .. } | Double | String)
        | (Double, Int | BigInt | Decimal { .. } | String)
        | (String, Boolean | Int | BigInt | Decimal { .. } | Double | Timestamp | Time | Date | Bytes)
        | (Array(_) | Map(..) | Struct(_), String)
        | (Timestamp, String | Time | Date)
        | (Date, Timestamp | String)
        | (Time, String) => Ok(()),
        (Array(f), Array(t)) => nested(check_cast(f, t)),
        (Map(fk, fv), Map(tk, tv)) => nested(check_cast(fk, tk).and_then(|()| check_cast(fv, tv))),
        (Struct(ff), Struct(tf)) => nested(ff.iter().try_for_each(
            |(name, fty)| match tf.iter().find(|(n, _)| n == name) {
                Some((_, tty)) => check_cast(fty, tty),
                None => Ok(()),
            },
        )),
        _ => Err(unsupported(from, to)),
    }
}

udf_struct!(
    /// `ksql_cast(value, 'TYPE')` → `TYPE`: ksqlDB's `CAST` (see the module docs).
    KsqlCast
);

/// The function's name, as registered and as the planner calls it.
pub const NAME: &str = "ksql_cast";

/// The target type named by the second argument, which must be a string literal.
fn target_type(arg: Option<&ScalarValue>) -> Result<SqlType> {
    let text = match arg {
        Some(ScalarValue::Utf8(Some(t)) | ScalarValue::LargeUtf8(Some(t)) | ScalarValue::Utf8View(Some(t))) => t,
        _ => {
            return Err(DataFusionError::Plan(
                "CAST: the target type must be a string literal such as 'INTEGER'".into(),
            ));
        }
    };
    crate::sql::parse_type(text).map_err(|e| DataFusionError::Plan(format!("CAST: invalid target type '{text}': {e}")))
}

/// The ksqlDB type of an argument, or `None` for the untyped `NULL`.
fn source_type(dt: &DataType) -> Result<Option<SqlType>> {
    if dt == &DataType::Null {
        return Ok(None);
    }
    SqlType::from_arrow(dt)
        .map(Some)
        .map_err(|e| DataFusionError::Plan(format!("CAST: {e}")))
}

impl ScalarUDFImpl for KsqlCast {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const FORM: &str = "value, type STRING";
        match types {
            [value, ty] => Ok(vec![
                value.clone(),
                string_type(ty).ok_or_else(|| bad_args("CAST", types, FORM))?,
            ]),
            _ => Err(bad_args("CAST", types, FORM)),
        }
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Err(DataFusionError::Internal(
            "ksql_cast's type comes from return_field_from_args".into(),
        ))
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        let [value, _] = args.arg_fields else {
            return Err(bad_args(
                "CAST",
                &args
                    .arg_fields
                    .iter()
                    .map(|f| f.data_type().clone())
                    .collect::<Vec<_>>(),
                "value, type STRING",
            ));
        };
        let to = target_type(args.scalar_arguments.get(1).copied().flatten())?;
        if let Some(from) = source_type(value.data_type())? {
            check_cast(&from, &to).map_err(DataFusionError::Plan)?;
        }
        Ok(Arc::new(Field::new(NAME, to.to_arrow(), true)))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let to = SqlType::from_arrow(args.return_field.data_type())
            .map_err(|e| DataFusionError::Internal(format!("CAST: {e}")))?;
        invoke(args, |a, _rows| cast_column(&a[0], &to))
    }
}

/// Casts a whole column to `to` with ksqlDB's semantics.
pub fn cast_column(array: &ArrayRef, to: &SqlType) -> Result<ArrayRef> {
    let Some(from) = source_type(array.data_type())? else {
        return Ok(new_null_array(&to.to_arrow(), array.len()));
    };
    check_cast(&from, to).map_err(DataFusionError::Plan)?;
    let array = normalize(array, &from)?;
    cast_array(&array, &from, to)
}

/// The array in the canonical Arrow type of its ksqlDB type (`Int16` → `Int32`, `LargeUtf8` → `Utf8`, any
/// timestamp → milliseconds without a zone, keeping the instant).
fn normalize(array: &ArrayRef, from: &SqlType) -> Result<ArrayRef> {
    let canonical = from.to_arrow();
    if array.data_type() == &canonical {
        return Ok(Arc::clone(array));
    }
    if let DataType::Timestamp(_, tz) = array.data_type() {
        let ms = cast(array, &DataType::Timestamp(TimeUnit::Millisecond, tz.clone()))?;
        let ms = ms.as_primitive::<TimestampMillisecondType>().clone();
        return Ok(Arc::new(ms.with_timezone_opt(None::<String>)));
    }
    Ok(cast(array, &canonical)?)
}

/// At most 100 characters of a value, for messages.
fn shown(value: &str) -> String {
    let mut chars = value.chars();
    let head: String = chars.by_ref().take(100).collect();
    if chars.next().is_some() {
        format!("{head}...")
    } else {
        head
    }
}

/// The execution error for one value that cannot be cast.
fn value_err(value: impl Display, from: &SqlType, to: &SqlType, reason: impl Display) -> DataFusionError {
    exec_err(
        "CAST",
        format!("cannot cast {from} '{}' to {to}: {reason}", shown(&value.to_string())),
    )
}

fn internal(what: &str) -> DataFusionError {
    DataFusionError::Internal(format!("CAST: unexpected array for {what}"))
}

fn primitive<T: ArrowPrimitiveType>(a: &ArrayRef) -> Result<&PrimitiveArray<T>> {
    a.as_primitive_opt::<T>()
        .ok_or_else(|| internal(&a.data_type().to_string()))
}

/// Maps the non-null values of a primitive array.
fn map_primitive<I: ArrowPrimitiveType, O: ArrowPrimitiveType>(
    a: &ArrayRef,
    mut f: impl FnMut(I::Native) -> Result<O::Native>,
) -> Result<PrimitiveArray<O>> {
    let a = primitive::<I>(a)?;
    let mut out = PrimitiveBuilder::<O>::with_capacity(a.len());
    for i in 0..a.len() {
        if a.is_null(i) {
            out.append_null();
        } else {
            out.append_value(f(a.value(i))?);
        }
    }
    Ok(out.finish())
}

/// Maps the non-null (trimmed) values of a string array into a primitive array.
fn map_strings<O: ArrowPrimitiveType>(
    a: &ArrayRef,
    mut f: impl FnMut(&str) -> Result<O::Native>,
) -> Result<PrimitiveArray<O>> {
    let a = a.as_string_opt::<i32>().ok_or_else(|| internal("STRING"))?;
    let mut out = PrimitiveBuilder::<O>::with_capacity(a.len());
    for i in 0..a.len() {
        if a.is_null(i) {
            out.append_null();
        } else {
            out.append_value(f(a.value(i))?);
        }
    }
    Ok(out.finish())
}

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Casts an array of the canonical type of `from` to the canonical type of `to`.
fn cast_array(a: &ArrayRef, from: &SqlType, to: &SqlType) -> Result<ArrayRef> {
    use SqlType as T;
    if from == to {
        return Ok(Arc::clone(a));
    }
    let out: ArrayRef = match (from, to) {
        (_, T::String) => Arc::new(to_strings(a, from)?),
        (T::Int, T::BigInt) => Arc::new(map_primitive::<Int32Type, Int64Type>(a, |v| Ok(v as i64))?),
        (T::Int, T::Double) => Arc::new(map_primitive::<Int32Type, Float64Type>(a, |v| Ok(v as f64))?),
        (T::BigInt, T::Int) => Arc::new(map_primitive::<Int64Type, Int32Type>(a, |v| Ok(v as i32))?),
        (T::BigInt, T::Double) => Arc::new(map_primitive::<Int64Type, Float64Type>(a, |v| Ok(v as f64))?),
        // Rust's float-to-int `as` truncates toward zero, saturates and maps NaN to 0, like Java's.
        (T::Double, T::Int) => Arc::new(map_primitive::<Float64Type, Int32Type>(a, |v| Ok(v as i32))?),
        (T::Double, T::BigInt) => Arc::new(map_primitive::<Float64Type, Int64Type>(a, |v| Ok(v as i64))?),
        // BigDecimal.intValue()/longValue(): drop the fraction, keep the low-order bits.
        (T::Decimal { scale, .. }, T::Int) => {
            let div = 10i128.pow(*scale as u32);
            Arc::new(map_primitive::<Decimal128Type, Int32Type>(a, |v| Ok((v / div) as i32))?)
        }
        (T::Decimal { scale, .. }, T::BigInt) => {
            let div = 10i128.pow(*scale as u32);
            Arc::new(map_primitive::<Decimal128Type, Int64Type>(a, |v| Ok((v / div) as i64))?)
        }
        (T::Decimal { scale, .. }, T::Double) => {
            let scale = *scale;
            Arc::new(map_primitive::<Decimal128Type, Float64Type>(a, |v| {
                Ok(decimal_to_f64(v, scale))
            })?)
        }
        (_, T::Decimal { precision, scale }) => Arc::new(to_decimal(a, from, to, *precision, *scale)?),
        (T::String, T::Boolean) => {
            let s = a.as_string_opt::<i32>().ok_or_else(|| internal("STRING"))?;
            let mut out = BooleanBuilder::with_capacity(s.len());
            for i in 0..s.len() {
                if s.is_null(i) {
                    out.append_null();
                } else {
                    out.append_value(parse_sql_boolean(java_trim(s.value(i))));
                }
            }
            Arc::new(out.finish())
        }
        (T::String, T::Int) => Arc::new(map_strings::<Int32Type>(a, |s| {
            parse_java_int(java_trim(s), 32)
                .map(|v| v as i32)
                .map_err(|e| value_err(s, from, to, e))
        })?),
        (T::String, T::BigInt) => Arc::new(map_strings::<Int64Type>(a, |s| {
            parse_java_int(java_trim(s), 64).map_err(|e| value_err(s, from, to, e))
        })?),
        (T::String, T::Double) => Arc::new(map_strings::<Float64Type>(a, |s| {
            match parse_java_double(java_trim(s)) {
                Ok(v) if v.is_finite() => Ok(v),
                Ok(_) => Err(value_err(s, from, to, "NaN and infinite values are not supported")),
                Err(e) => Err(value_err(s, from, to, e)),
            }
        })?),
        (T::String, T::Timestamp) => Arc::new(map_strings::<TimestampMillisecondType>(a, |s| {
            parse_timestamp(java_trim(s)).map_err(|e| value_err(s, from, to, e))
        })?),
        (T::String, T::Date) => Arc::new(map_strings::<Date32Type>(a, |s| {
            parse_date(java_trim(s)).map_err(|e| value_err(s, from, to, e))
        })?),
        (T::String, T::Time) => Arc::new(map_strings::<Time32MillisecondType>(a, |s| {
            parse_time(java_trim(s)).map_err(|e| value_err(s, from, to, e))
        })?),
        (T::String, T::Bytes) => {
            let s = a.as_string_opt::<i32>().ok_or_else(|| internal("STRING"))?;
            let mut out = BinaryBuilder::with_capacity(s.len(), 0);
            for i in 0..s.len() {
                if s.is_null(i) {
                    out.append_null();
                } else {
                    let text = s.value(i);
                    out.append_value(decode_base64(java_trim(text)).map_err(|e| value_err(text, from, to, e))?);
                }
            }
            Arc::new(out.finish())
        }
        (T::Timestamp, T::Date) => Arc::new(map_primitive::<TimestampMillisecondType, Date32Type>(a, |ms| {
            i32::try_from(ms.div_euclid(MILLIS_PER_DAY))
                .map_err(|_| value_err(ms, from, to, "the date is out of range"))
        })?),
        (T::Timestamp, T::Time) => Arc::new(map_primitive::<TimestampMillisecondType, Time32MillisecondType>(
            a,
            |ms| Ok(ms.rem_euclid(MILLIS_PER_DAY) as i32),
        )?),
        (T::Date, T::Timestamp) => Arc::new(map_primitive::<Date32Type, TimestampMillisecondType>(a, |d| {
            Ok(d as i64 * MILLIS_PER_DAY)
        })?),
        (T::Array(fi), T::Array(ti)) => cast_list(a, fi, ti, to)?,
        (T::Map(fk, fv), T::Map(tk, tv)) => cast_map(a, (fk, fv), (tk, tv), to)?,
        (T::Struct(ff), T::Struct(tf)) => cast_struct(a, ff, tf, to)?,
        _ => return Err(DataFusionError::Plan(unsupported(from, to))),
    };
    Ok(out)
}

/// `SqlBooleans.parseBoolean`: true for a non-empty case-insensitive prefix of `true` or `yes`.
fn parse_sql_boolean(s: &str) -> bool {
    fn upper(c: char) -> char {
        let mut u = c.to_uppercase();
        match (u.next(), u.next()) {
            (Some(one), None) => one,
            _ => c,
        }
    }
    fn lower(c: char) -> char {
        let mut l = c.to_lowercase();
        match (l.next(), l.next()) {
            (Some(one), None) => one,
            _ => c,
        }
    }
    // Java's `equalsIgnoreCase`, char by char.
    let same = |a: char, b: char| a == b || upper(a) == upper(b) || lower(upper(a)) == lower(upper(b));
    let prefix_of =
        |word: &str| s.chars().count() <= word.len() && s.chars().zip(word.chars()).all(|(a, b)| same(a, b));
    !s.is_empty() && (prefix_of("true") || prefix_of("yes"))
}

/// `DecimalUtil.cast` of an exact value: below 10^(p-s), then HALF_UP to scale `s`, and within `p` digits.
fn fit_decimal(value: &BigDec, precision: u8, scale: i8) -> std::result::Result<i128, String> {
    let int_digits = precision as i64 - scale as i64;
    let overflow = |v: &str| {
        format!(
            "Numeric field overflow: A field with precision {precision} and scale {scale} must round to an \
             absolute value less than 10^{int_digits}. Got {v}"
        )
    };
    if value.abs_at_least_pow10(int_digits) {
        return Err(overflow(&value.to_plain_string()));
    }
    match value.to_unscaled_half_up(scale as i64) {
        Some(u) if u.unsigned_abs() < 10u128.pow(precision as u32) => Ok(u),
        Some(u) => Err(overflow(&decimal_plain(u, scale))),
        None => Err(overflow(&value.to_plain_string())),
    }
}

fn to_decimal(
    a: &ArrayRef,
    from: &SqlType,
    to: &SqlType,
    precision: u8,
    scale: i8,
) -> Result<PrimitiveArray<Decimal128Type>> {
    use SqlType as T;
    let out = match from {
        T::Int => map_primitive::<Int32Type, Decimal128Type>(a, |v| {
            fit_decimal(&BigDec::from_unscaled(v as i128, 0), precision, scale).map_err(|e| value_err(v, from, to, e))
        })?,
        T::BigInt => map_primitive::<Int64Type, Decimal128Type>(a, |v| {
            fit_decimal(&BigDec::from_unscaled(v as i128, 0), precision, scale).map_err(|e| value_err(v, from, to, e))
        })?,
        T::Double => map_primitive::<Float64Type, Decimal128Type>(a, |v| {
            let text = || java_double_to_string(v);
            let mut exact = BigDec::from_f64(v).ok_or_else(|| value_err(text(), from, to, "Infinite or NaN"))?;
            exact.round_to_precision(precision as usize);
            fit_decimal(&exact, precision, scale).map_err(|e| value_err(text(), from, to, e))
        })?,
        T::Decimal { scale: from_scale, .. } => {
            let from_scale = *from_scale;
            map_primitive::<Decimal128Type, Decimal128Type>(a, |v| {
                fit_decimal(&BigDec::from_unscaled(v, from_scale as i64), precision, scale)
                    .map_err(|e| value_err(decimal_plain(v, from_scale), from, to, e))
            })?
        }
        T::String => map_strings::<Decimal128Type>(a, |s| {
            BigDec::parse(java_trim(s))
                .and_then(|d| fit_decimal(&d, precision, scale))
                .map_err(|e| value_err(s, from, to, e))
        })?,
        _ => return Err(DataFusionError::Plan(unsupported(from, to))),
    };
    Ok(out.with_precision_and_scale(precision, scale)?)
}

// ---------------------------------------------------------------------------------------------------------
// Collections.

fn inner_field(dt: &DataType) -> Result<FieldRef> {
    match dt {
        DataType::List(f) | DataType::Map(f, _) => Ok(Arc::clone(f)),
        other => Err(internal(&other.to_string())),
    }
}

/// The child indices used by valid entries (in order) and the offsets over them, or `None` when the child
/// array is already exactly the valid entries' values (offsets from 0, no values under NULL entries).
fn compact_offsets(
    offsets: &OffsetBuffer<i32>,
    nulls: Option<&NullBuffer>,
    child_len: usize,
) -> Option<(Vec<u32>, Vec<i32>)> {
    let o = offsets.as_ref();
    let compact = o.first() == Some(&0)
        && o.last().map(|&l| l as usize) == Some(child_len)
        && (0..o.len() - 1).all(|i| nulls.is_none_or(|n| n.is_valid(i)) || o[i] == o[i + 1]);
    if compact {
        return None;
    }
    let mut indices = Vec::new();
    let mut new_offsets = vec![0i32];
    for i in 0..o.len() - 1 {
        if nulls.is_none_or(|n| n.is_valid(i)) {
            indices.extend(o[i] as u32..o[i + 1] as u32);
        }
        new_offsets.push(indices.len() as i32);
    }
    Some((indices, new_offsets))
}

/// The values and offsets of a list or map, compacted (see [`compact_offsets`]).
fn compacted(
    values: &ArrayRef,
    offsets: &OffsetBuffer<i32>,
    nulls: Option<&NullBuffer>,
) -> Result<(ArrayRef, OffsetBuffer<i32>)> {
    match compact_offsets(offsets, nulls, values.len()) {
        None => Ok((Arc::clone(values), offsets.clone())),
        Some((indices, new_offsets)) => Ok((
            take(values.as_ref(), &UInt32Array::from(indices), None)?,
            OffsetBuffer::new(new_offsets.into()),
        )),
    }
}

fn cast_list(a: &ArrayRef, from_item: &SqlType, to_item: &SqlType, to: &SqlType) -> Result<ArrayRef> {
    let list = a.as_list_opt::<i32>().ok_or_else(|| internal("ARRAY"))?;
    let (values, offsets) = compacted(list.values(), list.offsets(), list.nulls())?;
    let values = cast_array(&values, from_item, to_item)?;
    let field = inner_field(&to.to_arrow())?;
    Ok(Arc::new(ListArray::try_new(
        field,
        offsets,
        values,
        list.nulls().cloned(),
    )?))
}

fn cast_map(
    a: &ArrayRef,
    (from_key, from_value): (&SqlType, &SqlType),
    (to_key, to_value): (&SqlType, &SqlType),
    to: &SqlType,
) -> Result<ArrayRef> {
    let map = a.as_map_opt().ok_or_else(|| internal("MAP"))?;
    let entries: ArrayRef = Arc::new(map.entries().clone());
    let (entries, offsets) = compacted(&entries, map.offsets(), map.nulls())?;
    let entries = entries.as_struct_opt().ok_or_else(|| internal("MAP entries"))?;
    let mut keys = cast_array(entries.column(0), from_key, to_key)?;
    let mut values = cast_array(entries.column(1), from_value, to_value)?;
    let mut offsets = offsets;
    if from_key != to_key {
        // Keys that became equal (' 1' and '1' as INT) collapse into one entry holding the last value, like
        // Java's `HashMap.put`.
        if let Some((indices, new_offsets)) = dedupe_keys(&keys, &offsets)? {
            let indices = UInt32Array::from(indices);
            keys = take(keys.as_ref(), &indices, None)?;
            values = take(values.as_ref(), &indices, None)?;
            offsets = OffsetBuffer::new(new_offsets.into());
        }
    }
    let entries_field = inner_field(&to.to_arrow())?;
    let DataType::Struct(kv) = entries_field.data_type() else {
        return Err(internal("MAP entries"));
    };
    let entries = StructArray::try_new(kv.clone(), vec![keys, values], None)?;
    Ok(Arc::new(MapArray::try_new(
        entries_field,
        offsets,
        entries,
        map.nulls().cloned(),
        false,
    )?))
}

/// Entry indices and offsets keeping one entry per distinct key in each map (at the first position, with the
/// last value), or `None` when no map has a repeated key.
#[allow(clippy::type_complexity)]
fn dedupe_keys(keys: &ArrayRef, offsets: &OffsetBuffer<i32>) -> Result<Option<(Vec<u32>, Vec<i32>)>> {
    let o = offsets.as_ref();
    let mut indices: Vec<u32> = Vec::with_capacity(keys.len());
    let mut new_offsets = vec![0i32];
    let mut repeated = false;
    for w in o.windows(2) {
        let mut slot: HashMap<ScalarValue, usize> = HashMap::new();
        let row_start = indices.len();
        for j in w[0] as usize..w[1] as usize {
            let key = ScalarValue::try_from_array(keys, j)?;
            match slot.get(&key) {
                Some(&s) => {
                    indices[row_start + s] = j as u32;
                    repeated = true;
                }
                None => {
                    slot.insert(key, indices.len() - row_start);
                    indices.push(j as u32);
                }
            }
        }
        new_offsets.push(indices.len() as i32);
    }
    if !repeated {
        return Ok(None);
    }
    // `indices` holds, per key, the entry of its last value; keys are equal within a group, so taking keys at
    // those indices is the same as at the first occurrences.
    Ok(Some((indices, new_offsets)))
}

/// `child` with NULL wherever `parent_nulls` has NULL (so values under NULL structs are never converted).
fn with_parent_nulls(child: &ArrayRef, parent_nulls: Option<&NullBuffer>) -> Result<ArrayRef> {
    let Some(parent) = parent_nulls else {
        return Ok(Arc::clone(child));
    };
    let nulls = NullBuffer::union(child.nulls(), Some(parent));
    let data = child.to_data().into_builder().nulls(nulls).build()?;
    Ok(make_array(data))
}

fn cast_struct(
    a: &ArrayRef,
    from_fields: &[(String, SqlType)],
    to_fields: &[(String, SqlType)],
    to: &SqlType,
) -> Result<ArrayRef> {
    let s = a.as_struct_opt().ok_or_else(|| internal("STRUCT"))?;
    let DataType::Struct(fields) = to.to_arrow() else {
        return Err(internal("STRUCT"));
    };
    let mut children = Vec::with_capacity(to_fields.len());
    for (name, to_ty) in to_fields {
        let child = match from_fields.iter().position(|(n, _)| n == name) {
            Some(idx) => {
                let child = with_parent_nulls(s.column(idx), s.nulls())?;
                cast_array(&child, &from_fields[idx].1, to_ty)?
            }
            None => new_null_array(&to_ty.to_arrow(), s.len()),
        };
        children.push(child);
    }
    Ok(Arc::new(StructArray::try_new_with_length(
        fields,
        children,
        s.nulls().cloned(),
        s.len(),
    )?))
}

// ---------------------------------------------------------------------------------------------------------
// To STRING.

fn to_strings(a: &ArrayRef, from: &SqlType) -> Result<datafusion::arrow::array::StringArray> {
    use SqlType as T;
    let mut out = StringBuilder::with_capacity(a.len(), a.len() * 8);
    let mut text = String::new();
    for i in 0..a.len() {
        if a.is_null(i) {
            out.append_null();
            continue;
        }
        text.clear();
        match from {
            T::Boolean => text.push_str(if a.as_boolean().value(i) { "true" } else { "false" }),
            T::Int => text.push_str(&primitive::<Int32Type>(a)?.value(i).to_string()),
            T::BigInt => text.push_str(&primitive::<Int64Type>(a)?.value(i).to_string()),
            T::Double => text.push_str(&java_double_to_string(primitive::<Float64Type>(a)?.value(i))),
            T::Decimal { scale, .. } => text.push_str(&decimal_plain(primitive::<Decimal128Type>(a)?.value(i), *scale)),
            T::String => text.push_str(a.as_string_opt::<i32>().ok_or_else(|| internal("STRING"))?.value(i)),
            T::Timestamp => text.push_str(&format_timestamp(primitive::<TimestampMillisecondType>(a)?.value(i))),
            T::Date => text.push_str(&format_local_date(primitive::<Date32Type>(a)?.value(i) as i64)),
            T::Time => {
                let ms = primitive::<Time32MillisecondType>(a)?.value(i);
                let formatted = format_local_time(ms).map_err(|e| value_err(ms, from, &SqlType::String, e))?;
                text.push_str(&formatted);
            }
            T::Array(_) | T::Map(..) | T::Struct(_) => java_object_string(a, from, i, &mut text)?,
            T::Bytes => return Err(DataFusionError::Plan(unsupported(from, &SqlType::String))),
        }
        out.append_value(&text);
    }
    Ok(out.finish())
}

/// Java's `String.valueOf` of ksqlDB's in-memory value at row `i` (collections' `toString`).
fn java_object_string(a: &ArrayRef, ty: &SqlType, i: usize, out: &mut String) -> Result<()> {
    use SqlType as T;
    if a.is_null(i) {
        out.push_str("null");
        return Ok(());
    }
    match ty {
        T::Boolean => out.push_str(if a.as_boolean().value(i) { "true" } else { "false" }),
        T::Int => out.push_str(&primitive::<Int32Type>(a)?.value(i).to_string()),
        T::BigInt => out.push_str(&primitive::<Int64Type>(a)?.value(i).to_string()),
        T::Double => out.push_str(&java_double_to_string(primitive::<Float64Type>(a)?.value(i))),
        T::Decimal { scale, .. } => out.push_str(&decimal_to_java_string(
            primitive::<Decimal128Type>(a)?.value(i),
            *scale,
        )),
        T::String => out.push_str(a.as_string_opt::<i32>().ok_or_else(|| internal("STRING"))?.value(i)),
        T::Bytes => {
            let n = a
                .as_binary_opt::<i32>()
                .ok_or_else(|| internal("BYTES"))?
                .value(i)
                .len();
            out.push_str(&format!("java.nio.HeapByteBuffer[pos=0 lim={n} cap={n}]"));
        }
        T::Timestamp => out.push_str(&sql_timestamp_string(
            primitive::<TimestampMillisecondType>(a)?.value(i),
        )),
        T::Date => {
            let (y, m, d) = civil_from_days(primitive::<Date32Type>(a)?.value(i) as i64);
            out.push_str(&format!("{y:04}-{m:02}-{d:02}"));
        }
        T::Time => {
            let ms = (primitive::<Time32MillisecondType>(a)?.value(i) as i64).rem_euclid(MILLIS_PER_DAY);
            let s = ms / 1000;
            out.push_str(&format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60));
        }
        T::Array(item) => {
            let list = a.as_list_opt::<i32>().ok_or_else(|| internal("ARRAY"))?;
            let values = list.value(i);
            out.push('[');
            for j in 0..values.len() {
                if j > 0 {
                    out.push_str(", ");
                }
                java_object_string(&values, item, j, out)?;
            }
            out.push(']');
        }
        T::Map(k, v) => {
            let map = a.as_map_opt().ok_or_else(|| internal("MAP"))?;
            let entries = map.value(i);
            out.push('{');
            for j in 0..entries.len() {
                if j > 0 {
                    out.push_str(", ");
                }
                java_object_string(entries.column(0), k, j, out)?;
                out.push('=');
                java_object_string(entries.column(1), v, j, out)?;
            }
            out.push('}');
        }
        T::Struct(fields) => {
            let s = a.as_struct_opt().ok_or_else(|| internal("STRUCT"))?;
            out.push_str("Struct{");
            let mut first = true;
            for (j, (name, fty)) in fields.iter().enumerate() {
                let child = s.column(j);
                if child.is_null(i) {
                    continue;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(name);
                out.push('=');
                java_object_string(child, fty, i, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Dates and times (proleptic Gregorian, UTC, any i64 range).

/// (year, month, day) of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = y - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `SqlTimeTypes.formatTimestamp`: `yyyy-MM-dd'T'HH:mm:ss.SSS` in UTC (`yyyy` is the year of era, with a `+`
/// beyond four digits).
fn format_timestamp(ms: i64) -> String {
    let (y, mo, d) = civil_from_days(ms.div_euclid(MILLIS_PER_DAY));
    let rem = ms.rem_euclid(MILLIS_PER_DAY);
    let year_of_era = if y <= 0 { 1 - y } else { y };
    let year = if year_of_era > 9999 {
        format!("+{year_of_era}")
    } else {
        format!("{year_of_era:04}")
    };
    format!(
        "{year}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// Java's `LocalDate.toString()`: `yyyy-MM-dd`, with a sign for years beyond four digits or before year 0.
fn format_local_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    let year = if y.abs() < 1000 {
        if y < 0 {
            format!("-{:04}", -y)
        } else {
            format!("{y:04}")
        }
    } else if y > 9999 {
        format!("+{y}")
    } else {
        y.to_string()
    };
    format!("{year}-{m:02}-{d:02}")
}

/// `SqlTimeTypes.formatTime`: Java's `LocalTime.toString()` of the whole seconds, `HH:mm` or `HH:mm:ss`.
fn format_local_time(ms: i32) -> std::result::Result<String, String> {
    if !(0..MILLIS_PER_DAY as i32).contains(&ms) {
        return Err("a time of day must be between 0 and 86399999 milliseconds".into());
    }
    let s = ms / 1000;
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    Ok(if sec == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    })
}

/// `java.sql.Timestamp.toString()` in UTC: `yyyy-mm-dd hh:mm:ss.f`, fraction without trailing zeros.
fn sql_timestamp_string(ms: i64) -> String {
    let (y, mo, d) = civil_from_days(ms.div_euclid(MILLIS_PER_DAY));
    let rem = ms.rem_euclid(MILLIS_PER_DAY);
    let nanos = rem % 1000 * 1_000_000;
    let fraction = if nanos == 0 {
        "0".to_string()
    } else {
        format!("{nanos:09}").trim_end_matches('0').to_string()
    };
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}.{fraction}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60
    )
}

/// `KsqlConstants.TIME_PATTERN`, which partial times are completed from.
const TIME_PATTERN: &str = "HH:mm:ss.SSS";

/// `PartialStringToTimestampParser.completeDate`: `2020` → `2020-01-01`, `2020-05` → `2020-05-01`.
fn complete_date(date: &str) -> String {
    // Java's `split("-")`: no match gives the whole string; trailing empty parts are dropped.
    let parts = if date.contains('-') {
        let mut parts: Vec<&str> = date.split('-').collect();
        while parts.last() == Some(&"") {
            parts.pop();
        }
        parts.len()
    } else {
        1
    };
    match parts {
        1 => format!("{date}-01-01"),
        2 => format!("{date}-01"),
        _ => date.to_string(),
    }
}

/// `PartialStringToTimestampParser.completeTime`: pads with the rest of `HH:mm:ss.SSS`, letters as zeros.
fn complete_time(time: &str) -> String {
    let len = time.encode_utf16().count();
    if len >= TIME_PATTERN.len() {
        return time.to_string();
    }
    let rest: String = TIME_PATTERN[len..]
        .chars()
        .map(|c| if c.is_ascii_alphabetic() { '0' } else { c })
        .collect();
    format!("{time}{rest}")
}

static TIMESTAMP_FORMAT: LazyLock<std::result::Result<JavaDateFormat, String>> =
    LazyLock::new(|| JavaDateFormat::compile("yyyy-MM-dd'T'HH:mm:ss.SSS"));

const TIMESTAMP_HELP: &str = "Required format is: \"yyyy-MM-dd'T'HH:mm:ss.SSS\", with an optional numeric \
                              4-digit timezone, for example: '2020-05-26T23:59:58.000' or with tz: \
                              '2020-05-26T23:59:58.000+0200'. A trailing 'Z' instead of tz indicates the zero UTC \
                              offset. Partials are also supported, for example \"2020-05-26\"";

/// `SqlTimeTypes.parseTimestamp` (`PartialStringToTimestampParser`): milliseconds since the epoch.
fn parse_timestamp(text: &str) -> std::result::Result<i64, String> {
    let (date, time, zone) = match text.find('T') {
        Some(t) => {
            let with_zone = &text[t + 1..];
            let zone = match (with_zone.find('+'), with_zone.find('-')) {
                (Some(p), _) | (None, Some(p)) => &with_zone[p..],
                (None, None) => "",
            };
            let time = &with_zone[..with_zone.len() - zone.len()];
            let time = time.strip_suffix('Z').unwrap_or(time);
            (text[..t].to_string(), complete_time(time), zone)
        }
        None => (complete_date(text), complete_time(""), ""),
    };
    let zone = if java_trim(zone).is_empty() {
        Zone::utc()
    } else {
        Zone::parse(zone).map_err(|e| format!("Failed to parse timezone '{zone}': {e}. {TIMESTAMP_HELP}"))?
    };
    let format = TIMESTAMP_FORMAT.as_ref().map_err(Clone::clone)?;
    format
        .parse_millis(&format!("{date}T{time}"), &zone)
        .map_err(|e| format!("{e}. {TIMESTAMP_HELP}"))
}

/// Reads exactly `n` ASCII digits at `*pos`.
fn fixed_digits(b: &[u8], pos: &mut usize, n: usize) -> Option<u32> {
    let digits = b.get(*pos..*pos + n)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    *pos += n;
    Some(digits.iter().fold(0, |v, d| v * 10 + (d - b'0') as u32))
}

/// Java's `LocalDate.parse` (ISO `yyyy-MM-dd`, strict): days since the epoch.
fn parse_iso_date(s: &str) -> std::result::Result<i64, String> {
    let err = || format!("Text '{s}' could not be parsed");
    let b = s.as_bytes();
    let mut pos = 0;
    let sign = match b.first() {
        Some(&c @ (b'+' | b'-')) => {
            pos += 1;
            Some(c)
        }
        _ => None,
    };
    let start = pos;
    while pos < b.len() && pos - start < 10 && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let width = pos - start;
    if width < 4 || (sign == Some(b'+') && width <= 4) || (sign.is_none() && width > 4) {
        return Err(err());
    }
    let mut year: i64 = s[start..pos].parse().map_err(|_| err())?;
    if sign == Some(b'-') {
        if year == 0 {
            return Err(err());
        }
        year = -year;
    }
    if year.abs() > 999_999_999 {
        return Err(format!("{}: Invalid value for Year: {year}", err()));
    }
    if b.get(pos) != Some(&b'-') {
        return Err(err());
    }
    pos += 1;
    let month = fixed_digits(b, &mut pos, 2).ok_or_else(err)?;
    if b.get(pos) != Some(&b'-') {
        return Err(err());
    }
    pos += 1;
    let day = fixed_digits(b, &mut pos, 2).ok_or_else(err)?;
    if pos != b.len() {
        return Err(format!("{}, unparsed text found at index {pos}", err()));
    }
    if !(1..=12).contains(&month) {
        return Err(format!("{}: Invalid value for MonthOfYear: {month}", err()));
    }
    if !(1..=31).contains(&day) {
        return Err(format!("{}: Invalid value for DayOfMonth: {day}", err()));
    }
    if day > days_in_month(year, month) {
        return Err(format!("{}: Invalid date '{year}-{month:02}-{day:02}'", err()));
    }
    Ok(days_from_civil(year, month, day))
}

/// `SqlTimeTypes.parseDate`: days since the epoch of `yyyy-MM-dd`, `yyyy-MM` or `yyyy`.
fn parse_date(text: &str) -> std::result::Result<i32, String> {
    let help = "Required format is: \"yyyy-MM-dd\", for example '2020-05-26'. Partials are also supported, \
                for example '2020-05'";
    let days =
        parse_iso_date(&complete_date(text)).map_err(|e| format!("Failed to parse date '{text}': {e}. {help}"))?;
    i32::try_from(days).map_err(|_| format!("Failed to parse date '{text}': the date is out of range"))
}

/// `SqlTimeTypes.parseTime`: Java's `LocalTime.parse` (`HH:mm[:ss[.fraction]]`), as milliseconds of the day.
fn parse_time(text: &str) -> std::result::Result<i32, String> {
    let help = "Required format is: \"HH:mm:ss.SSS\", for example: '01:34:20.123' or '01:34:20'. Partials are \
                also supported, for example '01:34'";
    let err = || format!("Failed to parse time '{text}': Text '{text}' could not be parsed. {help}");
    let b = text.as_bytes();
    let mut pos = 0;
    let hour = fixed_digits(b, &mut pos, 2).ok_or_else(err)?;
    if b.get(pos) != Some(&b':') {
        return Err(err());
    }
    pos += 1;
    let minute = fixed_digits(b, &mut pos, 2).ok_or_else(err)?;
    let (mut second, mut nanos) = (0, 0u64);
    if b.get(pos) == Some(&b':') && b.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        pos += 1;
        second = fixed_digits(b, &mut pos, 2).ok_or_else(err)?;
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            let start = pos;
            while pos < b.len() && pos - start < 9 && b[pos].is_ascii_digit() {
                nanos = nanos * 10 + (b[pos] - b'0') as u64;
                pos += 1;
            }
            nanos *= 10u64.pow((9 - (pos - start)) as u32);
        }
    }
    if pos != b.len() || hour > 23 || minute > 59 || second > 59 {
        return Err(err());
    }
    Ok((hour * 3_600_000 + minute * 60_000 + second * 1000) as i32 + (nanos / 1_000_000) as i32)
}

/// Java's basic `Base64.getDecoder()`: standard alphabet, padding optional but correct when present.
fn decode_base64(text: &str) -> std::result::Result<Vec<u8>, String> {
    const DECODER: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let unpadded = text.trim_end_matches('=');
    if text.len() - unpadded.len() == 1 && unpadded.len() % 4 == 2 {
        return Err("Input byte array has wrong 4-byte ending unit".into());
    }
    DECODER.decode(text).map_err(|e| format!("invalid base64: {e}"))
}

#[cfg(test)]
mod tests;
