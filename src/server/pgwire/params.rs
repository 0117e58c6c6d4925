//! Bound parameters (`$1`, `$2`, ...) of the extended protocol: decoded from their text or binary form by their
//! Postgres type, then either bound to a DataFusion plan as typed values (pull queries) or written into a Weir
//! statement as SQL literals (`INSERT ... VALUES ($1, $2)`) — quoted by Weir, never spliced in as raw text.

use bytes::Buf;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::scalar::ScalarValue;
use std::sync::Arc;

use super::encode::{format_date, format_time};
use super::errors::{INVALID_PARAMETER_VALUE, INVALID_TEXT, PgError};
use super::lexer::quote_literal;
use crate::serve::pg_types;

const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const PG_EPOCH_DAYS: i32 = 10_957;

/// A decoded parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A `numeric` as decimal text.
    Numeric(String),
    Text(String),
    Bytes(Vec<u8>),
    /// Microseconds since the Unix epoch; `true` when it came as `timestamptz`.
    Timestamp(i64, bool),
    /// Days since the Unix epoch.
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
}

fn bad(n: usize, why: impl std::fmt::Display) -> PgError {
    PgError::new(INVALID_TEXT, format!("invalid value for parameter ${n}: {why}"))
}

/// Decodes parameter `n` (1-based, for messages) of type `oid` from its wire form.
pub fn decode(n: usize, value: Option<&[u8]>, oid: u32, binary: bool) -> Result<Param, PgError> {
    let Some(bytes) = value else {
        return Ok(Param::Null);
    };
    if binary {
        decode_binary(n, bytes, oid)
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| bad(n, "not valid UTF-8"))?;
        decode_text(n, text, oid)
    }
}

fn decode_binary(n: usize, mut b: &[u8], oid: u32) -> Result<Param, PgError> {
    let need = |len: usize, b: &[u8]| {
        if b.len() == len {
            Ok(())
        } else {
            Err(bad(n, format!("expected {len} bytes, got {}", b.len())))
        }
    };
    Ok(match oid {
        pg_types::BOOL => {
            need(1, b)?;
            Param::Bool(b[0] != 0)
        }
        pg_types::INT2 => {
            need(2, b)?;
            Param::Int(i64::from(b.get_i16()))
        }
        pg_types::INT4 => {
            need(4, b)?;
            Param::Int(i64::from(b.get_i32()))
        }
        pg_types::OID => {
            need(4, b)?;
            Param::Int(i64::from(b.get_u32()))
        }
        pg_types::INT8 => {
            need(8, b)?;
            Param::Int(b.get_i64())
        }
        pg_types::FLOAT4 => {
            need(4, b)?;
            Param::Float(f64::from(b.get_f32()))
        }
        pg_types::FLOAT8 => {
            need(8, b)?;
            Param::Float(b.get_f64())
        }
        pg_types::NUMERIC => Param::Numeric(numeric_from_binary(n, b)?),
        pg_types::BYTEA => Param::Bytes(b.to_vec()),
        pg_types::TIMESTAMP | pg_types::TIMESTAMPTZ => {
            need(8, b)?;
            Param::Timestamp(
                b.get_i64().saturating_add(PG_EPOCH_MICROS),
                oid == pg_types::TIMESTAMPTZ,
            )
        }
        pg_types::DATE => {
            need(4, b)?;
            Param::Date(b.get_i32().saturating_add(PG_EPOCH_DAYS))
        }
        pg_types::TIME => {
            need(8, b)?;
            Param::Time(b.get_i64())
        }
        pg_types::JSONB => {
            // Version byte 1, then the JSON text.
            let text = b.get(1..).ok_or_else(|| bad(n, "empty jsonb"))?;
            Param::Text(String::from_utf8(text.to_vec()).map_err(|_| bad(n, "not valid UTF-8"))?)
        }
        2950 => {
            need(16, b)?;
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Param::Text(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        _ => Param::Text(String::from_utf8(b.to_vec()).map_err(|_| bad(n, "not valid UTF-8"))?),
    })
}

fn numeric_from_binary(n: usize, mut b: &[u8]) -> Result<String, PgError> {
    if b.len() < 8 {
        return Err(bad(n, "truncated numeric"));
    }
    let ndigits = usize::try_from(b.get_i16()).map_err(|_| bad(n, "bad numeric"))?;
    let weight = i32::from(b.get_i16());
    let sign = b.get_u16();
    let dscale = usize::try_from(b.get_i16()).map_err(|_| bad(n, "bad numeric"))?;
    if sign == 0xC000 {
        return Ok("NaN".into());
    }
    if b.len() != ndigits * 2 {
        return Err(bad(n, "truncated numeric"));
    }
    let digits: Vec<i32> = (0..ndigits).map(|_| i32::from(b.get_i16())).collect();
    let mut int_part = String::new();
    let mut frac_part = String::new();
    for (i, d) in digits.iter().enumerate() {
        let position = weight - i as i32;
        if position >= 0 {
            if int_part.is_empty() {
                int_part.push_str(&d.to_string());
            } else {
                int_part.push_str(&format!("{d:04}"));
            }
        } else {
            // Zero groups between the decimal point and this digit group.
            while (frac_part.len() as i32) < (-position - 1) * 4 {
                frac_part.push_str("0000");
            }
            frac_part.push_str(&format!("{d:04}"));
        }
    }
    // Integer groups below the last stored digit are zeros.
    let last_int_position = weight - digits.len() as i32 + 1;
    if !int_part.is_empty() && last_int_position > 0 {
        for _ in 0..last_int_position {
            int_part.push_str("0000");
        }
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    frac_part.truncate(dscale);
    while frac_part.len() < dscale {
        frac_part.push('0');
    }
    let body = if dscale > 0 {
        format!("{int_part}.{frac_part}")
    } else {
        int_part
    };
    Ok(if sign == 0x4000 { format!("-{body}") } else { body })
}

fn decode_text(n: usize, s: &str, oid: u32) -> Result<Param, PgError> {
    Ok(match oid {
        pg_types::BOOL => Param::Bool(match s.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "y" | "yes" | "on" | "1" => true,
            "f" | "false" | "n" | "no" | "off" | "0" => false,
            _ => return Err(bad(n, format!("invalid input syntax for type boolean: \"{s}\""))),
        }),
        pg_types::INT2 | pg_types::INT4 | pg_types::INT8 | pg_types::OID => Param::Int(
            s.trim()
                .parse()
                .map_err(|_| bad(n, format!("invalid input syntax for type integer: \"{s}\"")))?,
        ),
        pg_types::FLOAT4 | pg_types::FLOAT8 => Param::Float(match s.trim() {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            t => t
                .parse()
                .map_err(|_| bad(n, format!("invalid input syntax for type double precision: \"{s}\"")))?,
        }),
        pg_types::NUMERIC => {
            let t = s.trim();
            let valid = t
                .strip_prefix('-')
                .unwrap_or(t)
                .split_once('.')
                .map(|(a, b)| a.chars().chain(b.chars()).all(|c| c.is_ascii_digit()))
                .unwrap_or_else(|| t.strip_prefix('-').unwrap_or(t).chars().all(|c| c.is_ascii_digit()));
            if !valid || t.is_empty() {
                return Err(bad(n, format!("invalid input syntax for type numeric: \"{s}\"")));
            }
            Param::Numeric(t.to_string())
        }
        pg_types::BYTEA => Param::Bytes(match s.strip_prefix("\\x") {
            Some(hex) => (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| bad(n, "invalid hexadecimal bytea"))?,
            None => s.as_bytes().to_vec(),
        }),
        pg_types::TIMESTAMP | pg_types::TIMESTAMPTZ => Param::Timestamp(
            parse_timestamp(s).ok_or_else(|| bad(n, format!("invalid timestamp \"{s}\"")))?,
            oid == pg_types::TIMESTAMPTZ,
        ),
        pg_types::DATE => {
            let d =
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad(n, format!("invalid date \"{s}\"")))?;
            Param::Date(
                i32::try_from(d.signed_duration_since(unix_day()).num_days())
                    .map_err(|_| bad(n, "date out of range"))?,
            )
        }
        pg_types::TIME => {
            let t = NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f")
                .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M"))
                .map_err(|_| bad(n, format!("invalid time \"{s}\"")))?;
            Param::Time(i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1000))
        }
        _ => Param::Text(s.to_string()),
    })
}

fn unix_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// Microseconds since the epoch of a timestamp in the forms clients send (`2024-01-02 03:04:05.678+00`,
/// ISO-8601 with `T`, with or without a zone).
fn parse_timestamp(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_micros());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M:%S%#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(t, f) {
            return Some(dt.timestamp_micros());
        }
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, f) {
            return Some(dt.and_utc().timestamp_micros());
        }
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp_micros())
}

impl Param {
    /// The value for a DataFusion plan (cast to the expected type by the caller).
    pub fn to_scalar(&self, expected: Option<&DataType>) -> ScalarValue {
        match self {
            Param::Null => expected
                .and_then(|t| ScalarValue::try_from(t).ok())
                .unwrap_or(ScalarValue::Null),
            Param::Bool(b) => ScalarValue::Boolean(Some(*b)),
            Param::Int(i) => ScalarValue::Int64(Some(*i)),
            Param::Float(f) => ScalarValue::Float64(Some(*f)),
            Param::Numeric(s) => decimal(s).unwrap_or_else(|| ScalarValue::Utf8(Some(s.clone()))),
            Param::Text(s) => ScalarValue::Utf8(Some(s.clone())),
            Param::Bytes(b) => ScalarValue::Binary(Some(b.clone())),
            Param::Timestamp(us, tz) => ScalarValue::TimestampMicrosecond(Some(*us), tz.then(|| Arc::from("+00:00"))),
            Param::Date(d) => ScalarValue::Date32(Some(*d)),
            Param::Time(us) => ScalarValue::Time64Microsecond(Some(*us)),
        }
    }

    /// The value as a literal of Weir's dialect, for statements the engine runs.
    pub fn to_literal(&self) -> String {
        match self {
            Param::Null => "NULL".into(),
            Param::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
            Param::Int(i) => i.to_string(),
            Param::Float(f) if f.is_finite() => format!("{f:e}"),
            Param::Float(f) => quote_literal(&f.to_string()),
            Param::Numeric(s) => s.clone(),
            Param::Text(s) => quote_literal(s),
            Param::Bytes(b) => {
                use base64::Engine as _;
                quote_literal(&base64::engine::general_purpose::STANDARD.encode(b))
            }
            Param::Timestamp(us, _) => {
                let text = DateTime::from_timestamp_micros(*us)
                    .map(|t| t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.3f").to_string())
                    .unwrap_or_else(|| us.to_string());
                quote_literal(&text)
            }
            Param::Date(d) => quote_literal(&format_date(*d)),
            Param::Time(us) => quote_literal(&format_time(*us)),
        }
    }
}

/// A `numeric` text as a DECIMAL(38, scale) value.
fn decimal(s: &str) -> Option<ScalarValue> {
    let (negative, t) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let scale = i8::try_from(frac.len()).ok().filter(|s| *s <= 38)?;
    let digits = format!("{int}{frac}");
    let mut v: i128 = digits.parse().ok()?;
    if negative {
        v = -v;
    }
    Some(ScalarValue::Decimal128(Some(v), 38, scale))
}

/// The Postgres type of a parameter DataFusion inferred, for `ParameterDescription` (text when unknown).
pub fn oid_of_inferred(t: Option<&DataType>) -> u32 {
    match t {
        Some(DataType::Null) | None => pg_types::TEXT,
        Some(DataType::Timestamp(TimeUnit::Millisecond, None)) => pg_types::TIMESTAMP,
        Some(t) => pg_types::pg_type_of(t).0,
    }
}

/// Checks a parameter count against what the statement uses.
pub fn check_count(given: usize, needed: usize) -> Result<(), PgError> {
    if given < needed {
        return Err(PgError::new(
            INVALID_PARAMETER_VALUE,
            format!("bind message supplies {given} parameters, but prepared statement requires {needed}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    #[test]
    fn text_parameters_decode_by_type() {
        assert_eq!(decode(1, Some(b"42"), pg_types::INT8, false).unwrap(), Param::Int(42));
        assert_eq!(decode(1, Some(b"t"), pg_types::BOOL, false).unwrap(), Param::Bool(true));
        assert_eq!(decode(1, None, pg_types::INT8, false).unwrap(), Param::Null);
        assert!(decode(1, Some(b"x"), pg_types::INT4, false).is_err());
        assert_eq!(
            decode(1, Some(b"2024-01-02 03:04:05.5"), pg_types::TIMESTAMP, false).unwrap(),
            Param::Timestamp(1_704_164_645_500_000, false)
        );
        assert_eq!(decode(1, Some(b"abc"), 0, false).unwrap(), Param::Text("abc".into()));
    }

    #[test]
    fn binary_parameters_decode_by_type() {
        assert_eq!(
            decode(1, Some(&7i32.to_be_bytes()), pg_types::INT4, true).unwrap(),
            Param::Int(7)
        );
        assert_eq!(
            decode(1, Some(&2.5f64.to_be_bytes()), pg_types::FLOAT8, true).unwrap(),
            Param::Float(2.5)
        );
        assert!(decode(1, Some(&[0, 1]), pg_types::INT4, true).is_err());
        for text in ["123.45", "-0.0001", "10000", "0", "1.5", "123456789.000001"] {
            let mut b = BytesMut::new();
            super::super::encode::numeric_binary(text, &mut b).unwrap();
            assert_eq!(
                decode(1, Some(&b), pg_types::NUMERIC, true).unwrap(),
                Param::Numeric(text.into()),
                "{text}"
            );
        }
    }

    #[test]
    fn literals_are_quoted_safely() {
        assert_eq!(
            Param::Text("x'); DROP STREAM s; --".into()).to_literal(),
            "'x''); DROP STREAM s; --'"
        );
        assert_eq!(Param::Int(-3).to_literal(), "-3");
        assert_eq!(Param::Float(1.5).to_literal(), "1.5e0");
        assert_eq!(Param::Null.to_literal(), "NULL");
        assert_eq!(Param::Timestamp(0, false).to_literal(), "'1970-01-01T00:00:00.000'");
    }

    #[test]
    fn scalars_carry_types() {
        assert_eq!(Param::Int(1).to_scalar(None), ScalarValue::Int64(Some(1)));
        assert_eq!(
            Param::Numeric("1.50".into()).to_scalar(None),
            ScalarValue::Decimal128(Some(150), 38, 2)
        );
        assert_eq!(Param::Null.to_scalar(Some(&DataType::Int32)), ScalarValue::Int32(None));
    }
}
