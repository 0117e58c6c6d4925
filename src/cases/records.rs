//! Converting between a case's JSON records and topic bytes, using the declared formats of the source that owns
//! the topic. This is test-harness code: it writes bytes the way ksqlDB's test tool does, independently of Weir's
//! own codecs, so the codecs are checked rather than assumed.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::Value;

use crate::catalog::FormatSpec;
use crate::types::SqlType;

/// Serializes a key or value given in a case file.
pub fn to_bytes(v: &Value, format: &FormatSpec, columns: &[(String, SqlType)]) -> Result<Option<Bytes>, String> {
    if v.is_null() {
        return Ok(None);
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(Some(match format.format.as_str() {
        "NONE" => return Ok(None),
        "JSON" => Bytes::from(serde_json::to_vec(v).map_err(|e| e.to_string())?),
        "DELIMITED" => Bytes::from(text(v)),
        "KAFKA" => {
            let ty = columns.first().map(|(_, t)| t.clone()).unwrap_or(SqlType::String);
            match ty {
                SqlType::Int => {
                    let n = v
                        .as_i64()
                        .ok_or_else(|| format!("expected an integer for a KAFKA INT, got {v}"))?;
                    Bytes::copy_from_slice(&(n as i32).to_be_bytes())
                }
                SqlType::BigInt => {
                    let n = v
                        .as_i64()
                        .ok_or_else(|| format!("expected an integer for a KAFKA BIGINT, got {v}"))?;
                    Bytes::copy_from_slice(&n.to_be_bytes())
                }
                SqlType::Double => {
                    let n = v
                        .as_f64()
                        .ok_or_else(|| format!("expected a number for a KAFKA DOUBLE, got {v}"))?;
                    Bytes::copy_from_slice(&n.to_be_bytes())
                }
                SqlType::Bytes => Bytes::from(
                    base64::engine::general_purpose::STANDARD
                        .decode(text(v))
                        .map_err(|e| format!("BYTES must be base64: {e}"))?,
                ),
                _ => Bytes::from(text(v)),
            }
        }
        other => return Err(format!("the case runner cannot write format {other}")),
    }))
}

/// Deserializes a produced key or value for comparison.
pub fn from_bytes(b: Option<&[u8]>, format: &FormatSpec, columns: &[(String, SqlType)]) -> Value {
    let Some(b) = b else { return Value::Null };
    match format.format.as_str() {
        "NONE" => Value::Null,
        "JSON" => serde_json::from_slice(b).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(b).into_owned())),
        "KAFKA" => {
            let ty = columns.first().map(|(_, t)| t.clone()).unwrap_or(SqlType::String);
            match (ty, b.len()) {
                (SqlType::Int, 4) => Value::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
                (SqlType::BigInt, 8) => Value::from(i64::from_be_bytes(eight(b))),
                (SqlType::Double, 8) => serde_json::Number::from_f64(f64::from_be_bytes(eight(b)))
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                (SqlType::Bytes, _) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
                _ => Value::String(String::from_utf8_lossy(b).into_owned()),
            }
        }
        _ => Value::String(String::from_utf8_lossy(b).into_owned()),
    }
}

fn eight(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    a
}
