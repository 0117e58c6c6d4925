//! Coercion of one JSON scalar (or any node, for `STRING`) into a leaf column, following ksqlDB's
//! `KsqlJsonDeserializer`/`JsonSerdeUtils`. [`append`] converts a value from its JSON text; `append_bool`,
//! `append_integer` and `append_text` serve the decoder's fast path with already-parsed values. Rules:
//!
//! | SQL type | accepted JSON | notes |
//! |---|---|---|
//! | BOOLEAN | `true`/`false` only | strings are rejected |
//! | INT, BIGINT | numbers, strings | numbers are truncated toward zero (`41.9` → 41); strings must be integers (`Integer.parseInt`) |
//! | DOUBLE | numbers, strings | strings as `Double.parseDouble` (`" 1.5 "`, `NaN`, `Infinity`) |
//! | DECIMAL(p,s) | numbers, strings | exact; the scale is padded, never rounded; too many digits is an error |
//! | STRING | anything | see `text::write_as_text` |
//! | BYTES | base64 strings | padding required |
//! | TIMESTAMP, TIME | numbers, strings | epoch milliseconds / milliseconds of the day (0..=86400000) |
//! | DATE | numbers, strings | days since the epoch |
//!
//! One deliberate difference: ksqlDB narrows out-of-range numbers with Java casts (3000000000 becomes
//! -1294967296 in an INT); Weir reports the record as undecodable instead, as ksqlDB's data type docs promise.

use base64::Engine as _;

use super::text::{self, Node};
use crate::format::builder::{ColumnBuilder, Data, I32Kind, I64Kind};
use crate::format::java::{self, BASE64_PADDED};

const MILLIS_PER_DAY: i64 = 86_400_000;

fn convert_error(node: &Node<'_>, b: &ColumnBuilder) -> String {
    convert_error_named(node.jackson_name(), b)
}

fn convert_error_named(node: &str, b: &ColumnBuilder) -> String {
    format!("Can't convert type. sourceType: {node}, requiredType: {}", b.ty)
}

fn coerce_error(b: &ColumnBuilder) -> String {
    format!("Can't coerce string to type. targetType: {}", b.ty)
}

fn range_error(node: &str, b: &ColumnBuilder) -> String {
    format!(
        "Can't convert type. sourceType: {node}, requiredType: {} (the number is out of range)",
        b.ty
    )
}

fn time_range_error() -> String {
    format!("Time values must use number of milliseconds greater than 0 and less than {MILLIS_PER_DAY}.")
}

/// The Jackson node an integer literal becomes.
fn integer_node(v: i128) -> &'static str {
    if i32::try_from(v).is_ok() {
        "IntNode"
    } else if i64::try_from(v).is_ok() {
        "LongNode"
    } else {
        "BigIntegerNode"
    }
}

/// Appends a JSON `true`/`false`.
pub(crate) fn append_bool(v: bool, b: &mut ColumnBuilder) -> Result<(), String> {
    match &b.data {
        Data::Boolean(_) => b.push_bool(v),
        Data::Bytes { utf8: true, .. } => b
            .push_bytes(if v { b"true" } else { b"false" })
            .map_err(|e| e.to_string())?,
        _ => return Err(convert_error_named("BooleanNode", b)),
    }
    Ok(())
}

/// Appends a JSON integer literal (one that fits an i128).
pub(crate) fn append_integer(v: i128, b: &mut ColumnBuilder) -> Result<(), String> {
    let node = integer_node(v);
    match &b.data {
        Data::I32(I32Kind::Int | I32Kind::Date, _) => {
            let v = i32::try_from(v).map_err(|_| range_error(node, b))?;
            b.push_i32(v);
        }
        Data::I32(I32Kind::Time, _) => {
            if !(0..=i128::from(MILLIS_PER_DAY)).contains(&v) {
                return Err(time_range_error());
            }
            b.push_i32(v as i32);
        }
        Data::I64(I64Kind::BigInt | I64Kind::Timestamp, _) => {
            let v = i64::try_from(v).map_err(|_| range_error(node, b))?;
            b.push_i64(v);
        }
        Data::F64(_) => b.push_f64(v as f64),
        Data::Decimal { precision, scale, .. } => {
            let (p, s) = (*precision, *scale);
            let mut text = Vec::with_capacity(40);
            write_i128(v, &mut text);
            let text = std::str::from_utf8(&text).unwrap_or("0");
            let fitted = java::DecimalLiteral::parse(text)
                .ok_or_else(|| convert_error_named(node, b))?
                .fit(p, s)?;
            b.push_decimal(fitted);
        }
        Data::Bytes { utf8: true, .. } => {
            let written = b.push_bytes_with(|buf| {
                write_i128(v, buf);
                Ok::<(), std::convert::Infallible>(())
            });
            written.map_err(|e| e.to_string())?.unwrap_or(());
        }
        Data::Boolean(_) | Data::Bytes { utf8: false, .. } => {
            return Err(convert_error_named(node, b));
        }
        Data::List { .. } | Data::Map { .. } | Data::Struct(_) => {
            return Err(format!("internal error: {} is not a scalar type", b.ty));
        }
    }
    Ok(())
}

fn write_i128(v: i128, out: &mut Vec<u8>) {
    match i64::try_from(v) {
        Ok(v) => java::write_i64(v, out),
        Err(_) => out.extend_from_slice(v.to_string().as_bytes()),
    }
}

/// Appends a JSON string, given its unescaped text.
pub(crate) fn append_text(s: &str, b: &mut ColumnBuilder) -> Result<(), String> {
    match &b.data {
        Data::Boolean(_) => return Err(convert_error_named("TextNode", b)),
        Data::I32(I32Kind::Int, _) => {
            let v = java::parse_int(s).ok_or_else(|| coerce_error(b))?;
            b.push_i32(v);
        }
        Data::I32(I32Kind::Date, _) => {
            let v = java::parse_long(s)
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| coerce_error(b))?;
            b.push_i32(v);
        }
        Data::I32(I32Kind::Time, _) => {
            let v = java::parse_long(s).ok_or_else(|| coerce_error(b))?;
            if !(0..=MILLIS_PER_DAY).contains(&v) {
                return Err(time_range_error());
            }
            b.push_i32(v as i32);
        }
        Data::I64(I64Kind::BigInt | I64Kind::Timestamp, _) => {
            let v = java::parse_long(s).ok_or_else(|| coerce_error(b))?;
            b.push_i64(v);
        }
        Data::F64(_) => {
            let v = java::parse_double(s).ok_or_else(|| coerce_error(b))?;
            b.push_f64(v);
        }
        Data::Decimal { precision, scale, .. } => {
            let (p, sc) = (*precision, *scale);
            let v = java::DecimalLiteral::parse(s)
                .ok_or_else(|| coerce_error(b))?
                .fit(p, sc)?;
            b.push_decimal(v);
        }
        Data::Bytes { utf8: true, .. } => b.push_bytes(s.as_bytes()).map_err(|e| e.to_string())?,
        Data::Bytes { utf8: false, .. } => {
            let written = b
                .push_bytes_with(|buf| BASE64_PADDED.decode_vec(s, buf))
                .map_err(|e| e.to_string())?;
            if written.is_err() {
                return Err(format!(
                    "Value is not a valid Base64 encoded string: {}",
                    java::snippet(s)
                ));
            }
        }
        Data::List { .. } | Data::Map { .. } | Data::Struct(_) => {
            return Err(format!("internal error: {} is not a scalar type", b.ty));
        }
    }
    Ok(())
}

/// A non-integer JSON number (or an integer too large for i128), converted from its exact literal.
fn append_decimal_number(lit: &java::DecimalLiteral<'_>, text: &str, b: &mut ColumnBuilder) -> Result<(), String> {
    let node = lit.jackson_node();
    let truncated = |b: &ColumnBuilder| lit.truncate_to_i64().ok_or_else(|| range_error(node, b));
    match &b.data {
        Data::I32(I32Kind::Int | I32Kind::Date, _) => {
            let v = truncated(b)?;
            let v = i32::try_from(v).map_err(|_| range_error(node, b))?;
            b.push_i32(v);
        }
        Data::I32(I32Kind::Time, _) => {
            let v = lit.truncate_to_i64().ok_or_else(time_range_error)?;
            if !(0..=MILLIS_PER_DAY).contains(&v) {
                return Err(time_range_error());
            }
            b.push_i32(v as i32);
        }
        Data::I64(I64Kind::BigInt | I64Kind::Timestamp, _) => {
            let v = truncated(b)?;
            b.push_i64(v);
        }
        Data::F64(_) => {
            let v = text.parse::<f64>().map_err(|_| convert_error_named(node, b))?;
            b.push_f64(v);
        }
        Data::Decimal { precision, scale, .. } => {
            let (p, s) = (*precision, *scale);
            let v = lit.fit(p, s)?;
            b.push_decimal(v);
        }
        Data::Bytes { utf8: true, .. } => {
            let written = b.push_bytes_with(|buf| {
                text::write_number_text(lit, text, buf);
                Ok::<(), std::convert::Infallible>(())
            });
            written.map_err(|e| e.to_string())?.unwrap_or(());
        }
        Data::Boolean(_) | Data::Bytes { utf8: false, .. } => {
            return Err(convert_error_named(node, b));
        }
        Data::List { .. } | Data::Map { .. } | Data::Struct(_) => {
            return Err(format!("internal error: {} is not a scalar type", b.ty));
        }
    }
    Ok(())
}

/// Appends the JSON value `raw` (one complete value as serde_json validated it) to a leaf column, or
/// explains why it cannot be converted. Exact for every input (numbers are converted from their literal);
/// `scratch` is reused for unescaped strings.
pub(crate) fn append(raw: &str, b: &mut ColumnBuilder, scratch: &mut Vec<u8>) -> Result<(), String> {
    let node = Node::classify(raw);
    match node {
        Node::Null => {
            b.append_null();
            Ok(())
        }
        Node::Bool(v) => append_bool(v, b),
        Node::Str(content) => {
            if let Data::Bytes { utf8: true, .. } = &b.data {
                // The common case: copy the string's content, unescaping on the way.
                let written = b
                    .push_bytes_with(|buf| text::unescape_into(content, buf))
                    .map_err(|e| e.to_string())?;
                return written.map_err(|()| "Invalid JSON string".to_string());
            }
            let s = text::unescaped(content, scratch).map_err(|()| "Invalid JSON string".to_string())?;
            append_text(s, b)
        }
        Node::Number(lit, text) => {
            let integer = if lit.is_integer_literal() {
                text.parse::<i128>().ok()
            } else {
                None
            };
            match integer {
                Some(v) => append_integer(v, b),
                None => append_decimal_number(&lit, text, b),
            }
        }
        Node::Array | Node::Object => match &b.data {
            Data::Bytes { utf8: true, .. } => {
                let written = b
                    .push_bytes_with(|buf| text::write_as_text(raw, buf))
                    .map_err(|e| e.to_string())?;
                written.map_err(|()| "Invalid JSON value".to_string())
            }
            _ => Err(convert_error(&node, b)),
        },
        Node::Invalid => Err(convert_error(&node, b)),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, ArrayRef, AsArray};
    use datafusion::arrow::datatypes::{
        Date32Type, Decimal128Type, Float64Type, Int32Type, Int64Type, Time32MillisecondType, TimestampMillisecondType,
    };

    use super::*;
    use crate::types::SqlType;

    /// Decodes each raw value into a fresh column; errors come back as strings.
    fn run(ty: SqlType, raws: &[&str]) -> (ArrayRef, Vec<Option<String>>) {
        let mut b = ColumnBuilder::new(&ty);
        let mut scratch = Vec::new();
        let mut errs = Vec::new();
        for raw in raws {
            let len = b.len();
            match append(raw, &mut b, &mut scratch) {
                Ok(()) => errs.push(None),
                Err(e) => {
                    b.truncate(len);
                    b.append_null();
                    errs.push(Some(e));
                }
            }
        }
        (b.finish(), errs)
    }

    fn ok(ty: SqlType, raws: &[&str]) -> ArrayRef {
        let (a, errs) = run(ty, raws);
        assert!(errs.iter().all(Option::is_none), "{errs:?}");
        a
    }

    fn err(ty: SqlType, raw: &str) -> String {
        run(ty, &[raw]).1.pop().flatten().expect("expected an error")
    }

    #[test]
    fn boolean_only_from_json_booleans() {
        let a = ok(SqlType::Boolean, &["true", "false", "null"]);
        let a = a.as_boolean();
        assert!(a.value(0) && !a.value(1) && a.is_null(2));
        assert_eq!(
            err(SqlType::Boolean, "23"),
            "Can't convert type. sourceType: IntNode, requiredType: BOOLEAN"
        );
        assert_eq!(
            err(SqlType::Boolean, "\"true\""),
            "Can't convert type. sourceType: TextNode, requiredType: BOOLEAN"
        );
    }

    #[test]
    fn int_from_numbers_and_integer_strings() {
        let a = ok(
            SqlType::Int,
            &["41", "41.456", "\"41\"", "-41.9", "1e2", "\"+7\"", "\"4\\u0032\""],
        );
        assert_eq!(a.as_primitive::<Int32Type>().values(), &[41, 41, 41, -41, 100, 7, 42]);
        assert_eq!(
            err(SqlType::Int, "true"),
            "Can't convert type. sourceType: BooleanNode, requiredType: INTEGER"
        );
        assert_eq!(
            err(SqlType::Int, "\"41.0\""),
            "Can't coerce string to type. targetType: INTEGER"
        );
        assert_eq!(
            err(SqlType::Int, "\"not\""),
            "Can't coerce string to type. targetType: INTEGER"
        );
        assert!(err(SqlType::Int, "3000000000").contains("out of range"));
        assert_eq!(
            err(SqlType::Int, "[1]"),
            "Can't convert type. sourceType: ArrayNode, requiredType: INTEGER"
        );
        assert_eq!(
            err(SqlType::Int, "{}"),
            "Can't convert type. sourceType: ObjectNode, requiredType: INTEGER"
        );
    }

    #[test]
    fn bigint_and_timestamp() {
        let a = ok(
            SqlType::BigInt,
            &[
                "42",
                "42.456",
                "\"42\"",
                "9223372036854775807",
                "\"-9223372036854775808\"",
            ],
        );
        assert_eq!(
            a.as_primitive::<Int64Type>().values(),
            &[42, 42, 42, i64::MAX, i64::MIN]
        );
        assert!(err(SqlType::BigInt, "9223372036854775808").contains("sourceType: BigIntegerNode"));
        assert_eq!(
            err(SqlType::BigInt, "\"x\""),
            "Can't coerce string to type. targetType: BIGINT"
        );
        let a = ok(SqlType::Timestamp, &["100", "\"1511897796092\""]);
        assert_eq!(
            a.as_primitive::<TimestampMillisecondType>().values(),
            &[100, 1511897796092]
        );
        assert_eq!(
            err(SqlType::Timestamp, "true"),
            "Can't convert type. sourceType: BooleanNode, requiredType: TIMESTAMP"
        );
    }

    #[test]
    fn date_and_time() {
        let a = ok(SqlType::Date, &["10", "\"-3\""]);
        assert_eq!(a.as_primitive::<Date32Type>().values(), &[10, -3]);
        assert!(err(SqlType::Date, "99999999999").contains("out of range"));
        let a = ok(SqlType::Time, &["100", "0", "86400000", "\"5\""]);
        assert_eq!(
            a.as_primitive::<Time32MillisecondType>().values(),
            &[100, 0, 86_400_000, 5]
        );
        let msg = "Time values must use number of milliseconds greater than 0 and less than 86400000.";
        assert_eq!(err(SqlType::Time, "-5"), msg);
        assert_eq!(err(SqlType::Time, "3000000000"), msg);
        assert_eq!(
            err(SqlType::Time, "false"),
            "Can't convert type. sourceType: BooleanNode, requiredType: TIME"
        );
    }

    #[test]
    fn double_from_numbers_and_strings() {
        let a = ok(
            SqlType::Double,
            &["42", "42.000", "\"42\"", "\"42.000\"", "1e400", "\" 1.5 \"", "\"NaN\""],
        );
        let v = a.as_primitive::<Float64Type>().values();
        assert_eq!(&v[..4], &[42.0; 4]);
        assert_eq!(v[4], f64::INFINITY);
        assert_eq!(v[5], 1.5);
        assert!(v[6].is_nan());
        assert_eq!(
            err(SqlType::Double, "true"),
            "Can't convert type. sourceType: BooleanNode, requiredType: DOUBLE"
        );
        assert_eq!(
            err(SqlType::Double, "\"abc\""),
            "Can't coerce string to type. targetType: DOUBLE"
        );
    }

    #[test]
    fn decimal_exact_from_numbers_and_strings() {
        let ty = SqlType::decimal(20, 19).unwrap();
        let a = ok(ty.clone(), &["1.1234512345123451234", "\"1.1234512345123451234\""]);
        let a = a.as_primitive::<Decimal128Type>();
        assert_eq!(a.values(), &[11234512345123451234, 11234512345123451234]);
        assert_eq!(a.value_as_string(0), "1.1234512345123451234");
        let a = ok(SqlType::decimal(3, 1).unwrap(), &["10.0", "1E+1", "1"]);
        assert_eq!(a.as_primitive::<Decimal128Type>().values(), &[100, 100, 10]);
        let a = ok(SqlType::decimal(4, 3).unwrap(), &["1.1"]);
        assert_eq!(a.as_primitive::<Decimal128Type>().value_as_string(0), "1.100");
        assert_eq!(
            err(SqlType::decimal(4, 1).unwrap(), "1.12"),
            "Cannot fit decimal '1.12' into DECIMAL(4, 1) without rounding. (Requires 3,2)"
        );
        assert!(err(SqlType::decimal(4, 1).unwrap(), "12345").starts_with("Numeric field overflow"));
        assert_eq!(
            err(ty, "true"),
            "Can't convert type. sourceType: BooleanNode, requiredType: DECIMAL(20, 19)"
        );
        assert_eq!(
            err(SqlType::decimal(4, 1).unwrap(), "\"abc\""),
            "Can't coerce string to type. targetType: DECIMAL(4, 1)"
        );
    }

    #[test]
    fn string_from_any_node() {
        let a = ok(
            SqlType::String,
            &[
                "true",
                "42",
                "42.000",
                "\"just a string\"",
                "{\"json\": \"object\"}",
                "[\"json\", \"array\"]",
                "\"a\\nb\"",
            ],
        );
        let s = a.as_string::<i32>();
        let got: Vec<&str> = (0..s.len()).map(|i| s.value(i)).collect();
        assert_eq!(
            got,
            [
                "true",
                "42",
                "42.000",
                "just a string",
                "{\"json\":\"object\"}",
                "[json, array]",
                "a\nb"
            ]
        );
    }

    #[test]
    fn bytes_from_base64() {
        let a = ok(SqlType::Bytes, &["\"ew==\"", "\"\""]);
        let b = a.as_binary::<i32>();
        assert_eq!((b.value(0), b.value(1)), (&[123u8][..], &[][..]));
        assert_eq!(
            err(SqlType::Bytes, "\"abc\""),
            "Value is not a valid Base64 encoded string: abc"
        );
        assert_eq!(
            err(SqlType::Bytes, "12"),
            "Can't convert type. sourceType: IntNode, requiredType: BYTES"
        );
    }

    #[test]
    fn nulls_for_every_type() {
        for t in [
            SqlType::Boolean,
            SqlType::Int,
            SqlType::String,
            SqlType::Bytes,
            SqlType::decimal(2, 1).unwrap(),
        ] {
            let a = ok(t, &["null"]);
            assert!(a.is_null(0));
        }
    }
}
