//! Arrow values as Postgres `DataRow`s, in the text or binary format of each column.
//!
//! Each column is first cast to the canonical Arrow type of its Postgres type (see
//! [`crate::serve::pg_types::pg_type_of`]: any integer width to the width of `int2`/`int4`/`int8`, timestamps to
//! microseconds, strings to `Utf8`, ...), so encoding handles one Arrow type per Postgres type. Nested values
//! (MAP, STRUCT, arrays of them) are sent as JSON text.

use std::sync::Arc;

use base64::Engine as _;
use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveTime};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Decimal128Array, GenericListArray, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Schema,
    Time64MicrosecondType, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::scalar::ScalarValue;
use pgwire::api::Type;
use pgwire::api::results::{FieldFormat, FieldInfo};
use pgwire::messages::data::DataRow;
use serde_json::{Map, Value};

use super::errors::PgError;
use crate::serve::pg_types::{self, by_oid};

/// Microseconds between the Unix epoch and Postgres' epoch (2000-01-01).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
/// Days between the Unix epoch and Postgres' epoch.
const PG_EPOCH_DAYS: i32 = 10_957;

/// One result column as Postgres describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgColumn {
    pub name: String,
    pub oid: u32,
    pub typmod: i32,
}

/// The Postgres columns of an Arrow schema.
pub fn columns_of(schema: &Schema) -> Vec<PgColumn> {
    schema
        .fields()
        .iter()
        .map(|f| {
            let (oid, typmod) = match f
                .metadata()
                .get(crate::serve::pg_catalog::PG_TYPE_METADATA)
                .map(String::as_str)
            {
                Some("char") => (pg_types::CHAR, -1),
                _ => pg_types::pg_type_of(f.data_type()),
            };
            PgColumn {
                name: f.name().clone(),
                oid,
                typmod,
            }
        })
        .collect()
}

/// The pgwire `Type` of an OID (text for one pgwire does not know).
pub fn pg_type(oid: u32) -> Type {
    Type::from_oid(oid).unwrap_or(Type::TEXT)
}

/// Row descriptions for `columns` in `formats`.
pub fn field_infos(columns: &[PgColumn], formats: &[FieldFormat]) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let format = formats.get(i).copied().unwrap_or(FieldFormat::Text);
            FieldInfo::new(c.name.clone(), None, None, pg_type(c.oid), format)
                .with_type_modifier(c.typmod)
                .with_type_size(by_oid(c.oid).map(|t| t.len).unwrap_or(-1))
        })
        .collect()
}

/// Encodes every row of `batch`, whose columns match `columns`, appending to `out`.
pub fn encode_batch(
    batch: &RecordBatch,
    columns: &[PgColumn],
    formats: &[FieldFormat],
    out: &mut Vec<DataRow>,
) -> Result<(), PgError> {
    if batch.num_columns() != columns.len() {
        return Err(PgError::internal("a result batch does not match its row description"));
    }
    let prepared: Vec<Prepared> = batch
        .columns()
        .iter()
        .zip(columns)
        .map(|(a, c)| Prepared::new(a, c.oid))
        .collect::<Result<_, _>>()?;
    let field_count = i16::try_from(columns.len()).map_err(|_| PgError::internal("too many columns"))?;
    let mut buf = BytesMut::with_capacity(64 * columns.len().max(1));
    for row in 0..batch.num_rows() {
        for (i, p) in prepared.iter().enumerate() {
            let format = formats.get(i).copied().unwrap_or(FieldFormat::Text);
            p.write(row, format, &mut buf)?;
        }
        out.push(DataRow::new(buf.split(), field_count));
    }
    Ok(())
}

/// A column cast to the canonical Arrow type of its Postgres type.
struct Prepared {
    array: ArrayRef,
    oid: u32,
    /// For arrays: the element's Postgres type.
    element: u32,
}

impl Prepared {
    fn new(array: &ArrayRef, oid: u32) -> Result<Self, PgError> {
        let element = by_oid(oid).map(|t| t.element).unwrap_or(0);
        let target = canonical(array.data_type(), oid, element);
        let array = match target {
            Some(t) if &t != array.data_type() => {
                cast(array, &t).or_else(|_| cast(array, &DataType::Utf8)).map_err(|e| {
                    PgError::internal(format!(
                        "cannot convert a {} column for the wire: {e}",
                        array.data_type()
                    ))
                })?
            }
            _ => array.clone(),
        };
        Ok(Prepared { array, oid, element })
    }

    fn write(&self, row: usize, format: FieldFormat, buf: &mut BytesMut) -> Result<(), PgError> {
        if self.array.is_null(row) {
            buf.put_i32(-1);
            return Ok(());
        }
        let len_at = buf.len();
        buf.put_i32(0);
        match format {
            FieldFormat::Text => write_text(&self.array, row, self.oid, self.element, buf)?,
            FieldFormat::Binary => write_binary(&self.array, row, self.oid, self.element, buf)?,
        }
        let len = i32::try_from(buf.len() - len_at - 4).map_err(|_| PgError::internal("value too large"))?;
        buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }
}

/// The Arrow type values of `oid` are encoded from (`None`: keep the column as it is).
fn canonical(dt: &DataType, oid: u32, element: u32) -> Option<DataType> {
    Some(match oid {
        pg_types::BOOL => DataType::Boolean,
        pg_types::INT2 => DataType::Int16,
        pg_types::INT4 => DataType::Int32,
        pg_types::INT8 => DataType::Int64,
        pg_types::FLOAT4 => DataType::Float32,
        pg_types::FLOAT8 => DataType::Float64,
        pg_types::NUMERIC => match dt {
            DataType::Decimal128(..) => return None,
            DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => DataType::Decimal128(*p, *s),
            DataType::UInt64 => DataType::Decimal128(20, 0),
            _ => DataType::Utf8,
        },
        pg_types::BYTEA => DataType::Binary,
        pg_types::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        pg_types::TIMESTAMPTZ => match dt {
            DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Microsecond, tz.clone()),
            _ => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("+00:00"))),
        },
        pg_types::DATE => DataType::Date32,
        pg_types::TIME => DataType::Time64(TimeUnit::Microsecond),
        pg_types::JSON => return None,
        _ if element != 0 => {
            let inner = canonical(list_item(dt)?, element, 0)
                .unwrap_or_else(|| list_item(dt).cloned().unwrap_or(DataType::Utf8));
            DataType::List(Arc::new(Field::new("item", inner, true)))
        }
        _ => DataType::Utf8,
    })
}

fn list_item(dt: &DataType) -> Option<&DataType> {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::ListView(f) => {
            Some(f.data_type())
        }
        _ => None,
    }
}

fn downcast_err(what: &str) -> PgError {
    PgError::internal(format!("unexpected Arrow array for {what}"))
}

fn write_text(array: &ArrayRef, row: usize, oid: u32, element: u32, buf: &mut BytesMut) -> Result<(), PgError> {
    match oid {
        pg_types::BOOL => {
            let a = array
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| downcast_err("bool"))?;
            buf.put_slice(if a.value(row) { b"t" } else { b"f" });
        }
        pg_types::INT2 => put_display(buf, array.as_primitive::<Int16Type>().value(row)),
        pg_types::INT4 => put_display(buf, array.as_primitive::<Int32Type>().value(row)),
        pg_types::INT8 => put_display(buf, array.as_primitive::<Int64Type>().value(row)),
        pg_types::FLOAT4 => buf.put_slice(format_float4(array.as_primitive::<Float32Type>().value(row)).as_bytes()),
        pg_types::FLOAT8 => buf.put_slice(format_float8(array.as_primitive::<Float64Type>().value(row)).as_bytes()),
        pg_types::NUMERIC => buf.put_slice(numeric_text(array, row)?.as_bytes()),
        pg_types::BYTEA => {
            let a = array
                .as_any()
                .downcast_ref::<BinaryArray>()
                .ok_or_else(|| downcast_err("bytea"))?;
            buf.put_slice(b"\\x");
            for b in a.value(row) {
                buf.put_slice(format!("{b:02x}").as_bytes());
            }
        }
        pg_types::TIMESTAMP | pg_types::TIMESTAMPTZ => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
            buf.put_slice(format_timestamp(micros).as_bytes());
            if oid == pg_types::TIMESTAMPTZ {
                buf.put_slice(b"+00");
            }
        }
        pg_types::DATE => buf.put_slice(format_date(array.as_primitive::<Date32Type>().value(row)).as_bytes()),
        pg_types::TIME => {
            buf.put_slice(format_time(array.as_primitive::<Time64MicrosecondType>().value(row)).as_bytes())
        }
        pg_types::JSON => buf.put_slice(json_text(array, row).as_bytes()),
        _ if element != 0 => {
            let list = array
                .as_any()
                .downcast_ref::<GenericListArray<i32>>()
                .ok_or_else(|| downcast_err("array"))?;
            let values = list.value(row);
            buf.put_u8(b'{');
            for i in 0..values.len() {
                if i > 0 {
                    buf.put_u8(b',');
                }
                if values.is_null(i) {
                    buf.put_slice(b"NULL");
                    continue;
                }
                let mut item = BytesMut::new();
                write_text(&values, i, element, 0, &mut item)?;
                put_array_element(buf, &item, element);
            }
            buf.put_u8(b'}');
        }
        _ => {
            let a = array
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| downcast_err("text"))?;
            buf.put_slice(a.value(row).as_bytes());
        }
    }
    Ok(())
}

fn write_binary(array: &ArrayRef, row: usize, oid: u32, element: u32, buf: &mut BytesMut) -> Result<(), PgError> {
    match oid {
        pg_types::BOOL => {
            let a = array
                .as_any()
                .downcast_ref::<BooleanArray>()
                .ok_or_else(|| downcast_err("bool"))?;
            buf.put_u8(u8::from(a.value(row)));
        }
        pg_types::INT2 => buf.put_i16(array.as_primitive::<Int16Type>().value(row)),
        pg_types::INT4 => buf.put_i32(array.as_primitive::<Int32Type>().value(row)),
        pg_types::INT8 => buf.put_i64(array.as_primitive::<Int64Type>().value(row)),
        pg_types::FLOAT4 => buf.put_f32(array.as_primitive::<Float32Type>().value(row)),
        pg_types::FLOAT8 => buf.put_f64(array.as_primitive::<Float64Type>().value(row)),
        pg_types::NUMERIC => numeric_binary(&numeric_text(array, row)?, buf)?,
        pg_types::BYTEA => {
            let a = array
                .as_any()
                .downcast_ref::<BinaryArray>()
                .ok_or_else(|| downcast_err("bytea"))?;
            buf.put_slice(a.value(row));
        }
        pg_types::TIMESTAMP | pg_types::TIMESTAMPTZ => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
            buf.put_i64(micros.saturating_sub(PG_EPOCH_MICROS));
        }
        pg_types::DATE => buf.put_i32(
            array
                .as_primitive::<Date32Type>()
                .value(row)
                .saturating_sub(PG_EPOCH_DAYS),
        ),
        pg_types::TIME => buf.put_i64(array.as_primitive::<Time64MicrosecondType>().value(row)),
        pg_types::JSON => buf.put_slice(json_text(array, row).as_bytes()),
        _ if element != 0 => {
            let list = array
                .as_any()
                .downcast_ref::<GenericListArray<i32>>()
                .ok_or_else(|| downcast_err("array"))?;
            let values = list.value(row);
            let n = i32::try_from(values.len()).map_err(|_| PgError::internal("array too long"))?;
            buf.put_i32(1);
            buf.put_i32(i32::from(values.null_count() > 0));
            buf.put_u32(element);
            buf.put_i32(n);
            buf.put_i32(1);
            for i in 0..values.len() {
                if values.is_null(i) {
                    buf.put_i32(-1);
                    continue;
                }
                let at = buf.len();
                buf.put_i32(0);
                write_binary(&values, i, element, 0, buf)?;
                let len = i32::try_from(buf.len() - at - 4).map_err(|_| PgError::internal("value too large"))?;
                buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }
        _ => {
            let a = array
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| downcast_err("text"))?;
            buf.put_slice(a.value(row).as_bytes());
        }
    }
    Ok(())
}

fn put_display(buf: &mut BytesMut, v: impl std::fmt::Display) {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = write!(s, "{v}");
    buf.put_slice(s.as_bytes());
}

/// An array element in text form, quoted when Postgres would quote it.
fn put_array_element(buf: &mut BytesMut, item: &[u8], element: u32) {
    let numeric = matches!(
        element,
        pg_types::INT2
            | pg_types::INT4
            | pg_types::INT8
            | pg_types::FLOAT4
            | pg_types::FLOAT8
            | pg_types::NUMERIC
            | pg_types::BOOL
    );
    let needs_quotes = !numeric
        && (item.is_empty()
            || item.eq_ignore_ascii_case(b"NULL")
            || item
                .iter()
                .any(|c| matches!(c, b'{' | b'}' | b',' | b'"' | b'\\' | b' ' | b'\t' | b'\n' | b'\r')));
    if !needs_quotes {
        buf.put_slice(item);
        return;
    }
    buf.put_u8(b'"');
    for &c in item {
        if c == b'"' || c == b'\\' {
            buf.put_u8(b'\\');
        }
        buf.put_u8(c);
    }
    buf.put_u8(b'"');
}

fn numeric_text(array: &ArrayRef, row: usize) -> Result<String, PgError> {
    match array.data_type() {
        DataType::Decimal128(_, scale) => {
            let a = array
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .ok_or_else(|| downcast_err("numeric"))?;
            Ok(format_decimal(a.value(row), *scale))
        }
        _ => {
            let a = array
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| downcast_err("numeric"))?;
            Ok(a.value(row).to_string())
        }
    }
}

/// An unscaled decimal as text with exactly `scale` fractional digits.
pub fn format_decimal(value: i128, scale: i8) -> String {
    let negative = value < 0;
    let digits = value.unsigned_abs().to_string();
    let body = if scale <= 0 {
        let mut s = digits;
        if value != 0 {
            s.push_str(&"0".repeat(usize::from(scale.unsigned_abs())));
        }
        s
    } else {
        let scale = scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{}", "0".repeat(scale + 1 - digits.len()), digits)
        } else {
            digits
        };
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{int}.{frac}")
    };
    if negative { format!("-{body}") } else { body }
}

/// Postgres' binary `numeric`: base-10000 digits with a weight, sign and display scale.
pub fn numeric_binary(text: &str, buf: &mut BytesMut) -> Result<(), PgError> {
    let invalid = || PgError::internal(format!("invalid numeric value {text}"));
    let t = text.trim();
    if t.eq_ignore_ascii_case("nan") {
        buf.put_i16(0);
        buf.put_i16(0);
        buf.put_u16(0xC000);
        buf.put_i16(0);
        return Ok(());
    }
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int_part, frac_part) = t.split_once('.').unwrap_or((t, ""));
    if !int_part.chars().chain(frac_part.chars()).all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let dscale = i16::try_from(frac_part.len()).map_err(|_| invalid())?;
    let int_part = int_part.trim_start_matches('0');
    // Integer digits grouped by four from the right, fraction digits by four from the left.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let int_digits = format!("{}{}", "0".repeat(int_pad), int_part);
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let frac_digits = format!("{}{}", frac_part, "0".repeat(frac_pad));
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0')))
            .collect()
    };
    let int_groups = group(&int_digits);
    let mut digits: Vec<i16> = int_groups.clone();
    digits.extend(group(&frac_digits));
    let mut weight = i16::try_from(int_groups.len()).map_err(|_| invalid())? - 1;
    // Strip leading zero groups (adjusting the weight) and trailing zero groups.
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    buf.put_i16(i16::try_from(digits.len()).map_err(|_| invalid())?);
    buf.put_i16(weight);
    buf.put_u16(if negative && !digits.is_empty() { 0x4000 } else { 0 });
    buf.put_i16(dscale);
    for d in digits {
        buf.put_i16(d);
    }
    Ok(())
}

/// `float8` as Postgres prints it: shortest round-trip digits, exponent form outside 1e-4 .. 1e15.
pub fn format_float8(v: f64) -> String {
    format_float(v, format!("{v:e}"), || format!("{v}"), 15)
}

/// `float4` as Postgres prints it (exponent form from 1e6).
pub fn format_float4(v: f32) -> String {
    format_float(f64::from(v), format!("{v:e}"), || format!("{v}"), 6)
}

fn format_float(v: f64, sci: String, plain: impl Fn() -> String, max_exp: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return plain();
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..max_exp).contains(&exp) {
        plain()
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (trailing fractional zeros dropped), from microseconds since the epoch.
pub fn format_timestamp(micros: i64) -> String {
    match DateTime::from_timestamp_micros(micros) {
        Some(t) => {
            let t = t.naive_utc();
            let base = t.format("%Y-%m-%d %H:%M:%S").to_string();
            let frac = micros.rem_euclid(1_000_000);
            with_fraction(base, frac)
        }
        None => micros.to_string(),
    }
}

fn with_fraction(base: String, micros: i64) -> String {
    if micros == 0 {
        return base;
    }
    let f = format!("{micros:06}");
    format!("{base}.{}", f.trim_end_matches('0'))
}

pub fn format_date(days: i32) -> String {
    NaiveDate::from_num_days_from_ce_opt(days.saturating_add(719_163))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| days.to_string())
}

pub fn format_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    match u32::try_from(secs)
        .ok()
        .and_then(|s| NaiveTime::from_num_seconds_from_midnight_opt(s, 0))
    {
        Some(t) => with_fraction(t.format("%H:%M:%S").to_string(), frac),
        None => micros.to_string(),
    }
}

fn json_text(array: &ArrayRef, row: usize) -> String {
    match ScalarValue::try_from_array(array, row) {
        Ok(v) => scalar_to_json(&v).to_string(),
        Err(_) => "null".to_string(),
    }
}

/// A value as JSON: numbers as numbers, temporal values as ISO-8601 strings, bytes as base64, MAP and STRUCT as
/// objects (the way Weir's REST API renders them).
pub fn scalar_to_json(v: &ScalarValue) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match v {
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Int8(Some(n)) => Value::from(*n),
        ScalarValue::Int16(Some(n)) => Value::from(*n),
        ScalarValue::Int32(Some(n)) => Value::from(*n),
        ScalarValue::Int64(Some(n)) => Value::from(*n),
        ScalarValue::UInt8(Some(n)) => Value::from(*n),
        ScalarValue::UInt16(Some(n)) => Value::from(*n),
        ScalarValue::UInt32(Some(n)) => Value::from(*n),
        ScalarValue::UInt64(Some(n)) => Value::from(*n),
        ScalarValue::Float32(Some(f)) => float(f64::from(*f)),
        ScalarValue::Float64(Some(f)) => float(*f),
        ScalarValue::Decimal128(Some(n), _, s) => {
            let text = format_decimal(*n, *s);
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Value::String(s.clone())
        }
        ScalarValue::Binary(Some(b)) | ScalarValue::LargeBinary(Some(b)) | ScalarValue::BinaryView(Some(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        ScalarValue::TimestampMillisecond(Some(ms), _) => DateTime::from_timestamp_millis(*ms)
            .map(|t| Value::String(t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string()))
            .unwrap_or(Value::from(*ms)),
        ScalarValue::Date32(Some(days)) => Value::String(format_date(*days)),
        ScalarValue::Time32Millisecond(Some(ms)) => Value::String(format_time(i64::from(*ms) * 1000)),
        ScalarValue::List(list) => list_json(list.value(0)),
        ScalarValue::LargeList(list) => list_json(list.value(0)),
        ScalarValue::Struct(s) => {
            let mut map = Map::new();
            for (i, field) in s.fields().iter().enumerate() {
                let value = ScalarValue::try_from_array(s.column(i), 0)
                    .map(|v| scalar_to_json(&v))
                    .unwrap_or(Value::Null);
                map.insert(field.name().clone(), value);
            }
            Value::Object(map)
        }
        ScalarValue::Map(m) => {
            let mut map = Map::new();
            let entries = m.value(0);
            if entries.num_columns() == 2 {
                for i in 0..entries.len() {
                    let key = ScalarValue::try_from_array(entries.column(0), i)
                        .map(|k| match scalar_to_json(&k) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        })
                        .unwrap_or_default();
                    let value = ScalarValue::try_from_array(entries.column(1), i)
                        .map(|v| scalar_to_json(&v))
                        .unwrap_or(Value::Null);
                    map.insert(key, value);
                }
            }
            Value::Object(map)
        }
        other => Value::String(other.to_string()),
    }
}

fn list_json(values: ArrayRef) -> Value {
    Value::Array(
        (0..values.len())
            .map(|i| {
                ScalarValue::try_from_array(&values, i)
                    .map(|s| scalar_to_json(&s))
                    .unwrap_or(Value::Null)
            })
            .collect(),
    )
}

fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(f.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, ListArray, TimestampMillisecondArray};
    use datafusion::arrow::datatypes::Int32Type as I32;

    fn encode(array: ArrayRef, format: FieldFormat) -> Vec<u8> {
        let schema = Arc::new(Schema::new(vec![Field::new("c", array.data_type().clone(), true)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![array]).unwrap();
        let cols = columns_of(&schema);
        let mut rows = vec![];
        encode_batch(&batch, &cols, &[format], &mut rows).unwrap();
        rows[0].data.to_vec()
    }

    fn text(array: ArrayRef) -> String {
        let bytes = encode(array, FieldFormat::Text);
        String::from_utf8(bytes[4..].to_vec()).unwrap()
    }

    #[test]
    fn text_values_look_like_postgres() {
        assert_eq!(text(Arc::new(Int64Array::from(vec![42]))), "42");
        assert_eq!(text(Arc::new(BooleanArray::from(vec![true]))), "t");
        assert_eq!(
            text(Arc::new(TimestampMillisecondArray::from(vec![1_700_000_000_123]))),
            "2023-11-14 22:13:20.123"
        );
        assert_eq!(
            text(Arc::new(
                Decimal128Array::from(vec![-12345])
                    .with_precision_and_scale(10, 2)
                    .unwrap()
            )),
            "-123.45"
        );
        let list = ListArray::from_iter_primitive::<I32, _, _>(vec![Some(vec![Some(1), None, Some(3)])]);
        assert_eq!(text(Arc::new(list)), "{1,NULL,3}");
        let strings = ListArray::new(
            Arc::new(Field::new("item", DataType::Utf8, true)),
            datafusion::arrow::buffer::OffsetBuffer::from_lengths([3]),
            Arc::new(StringArray::from(vec!["a b", "", "c"])),
            None,
        );
        assert_eq!(text(Arc::new(strings)), "{\"a b\",\"\",c}");
    }

    #[test]
    fn floats_print_like_postgres() {
        assert_eq!(format_float8(1.5), "1.5");
        assert_eq!(format_float8(1e21), "1e+21");
        assert_eq!(format_float8(0.00001), "1e-05");
        assert_eq!(format_float8(123456789012345.0), "123456789012345");
        assert_eq!(format_float8(f64::NAN), "NaN");
        assert_eq!(format_float4(1234567.0), "1.234567e+06");
        assert_eq!(format_float4(0.1), "0.1");
    }

    #[test]
    fn binary_values_use_postgres_layouts() {
        assert_eq!(
            encode(Arc::new(Int64Array::from(vec![1])), FieldFormat::Binary),
            [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1]
        );
        // 2000-01-01T00:00:00.000 is 0 in Postgres' epoch.
        let ts = encode(
            Arc::new(TimestampMillisecondArray::from(vec![946_684_800_000])),
            FieldFormat::Binary,
        );
        assert_eq!(ts, [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn numeric_binary_matches_postgres() {
        let mut b = BytesMut::new();
        numeric_binary("123.45", &mut b).unwrap();
        // ndigits 2, weight 0, positive, dscale 2, digits 123 4500
        assert_eq!(b.to_vec(), [0, 2, 0, 0, 0, 0, 0, 2, 0, 123, 0x11, 0x94]);
        let mut b = BytesMut::new();
        numeric_binary("-0.0001", &mut b).unwrap();
        assert_eq!(b.to_vec(), [0, 1, 0xff, 0xff, 0x40, 0, 0, 4, 0, 1]);
        let mut b = BytesMut::new();
        numeric_binary("0", &mut b).unwrap();
        assert_eq!(b.to_vec(), [0, 0, 0, 0, 0, 0, 0, 0]);
        let mut b = BytesMut::new();
        numeric_binary("10000", &mut b).unwrap();
        assert_eq!(b.to_vec(), [0, 1, 0, 1, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn decimals_format_with_their_scale() {
        assert_eq!(format_decimal(5, 3), "0.005");
        assert_eq!(format_decimal(-5, 0), "-5");
        assert_eq!(format_decimal(12, -2), "1200");
    }
}
