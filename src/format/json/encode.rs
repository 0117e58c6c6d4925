//! Rows to JSON, written straight from the Arrow arrays into the output buffer, in ksqlDB's output form:
//! field names as declared (upper-cased unless quoted), DOUBLE as Java prints it (`10.0`, `1.0E7`; NaN and
//! infinities as the strings Jackson writes), DECIMAL as a plain number keeping its scale (`1.50`),
//! TIMESTAMP/TIME as milliseconds and DATE as days since the epoch, BYTES as Base64, MAP as an object.

use bytes::BufMut;
use datafusion::arrow::array::Array;

use super::text::write_json_string;
use crate::format::java::{write_base64, write_decimal, write_i64, write_java_double};
use crate::format::prepared::{Prepared, range};
use crate::types::SqlType;

/// Writes value `i` of `p` (declared as `ty`) as JSON.
pub(crate) fn write_value(p: &Prepared, ty: &SqlType, i: usize, out: &mut impl BufMut) {
    if p.is_null(i) {
        return out.put_slice(b"null");
    }
    match (p, ty) {
        (Prepared::Boolean(a), _) => out.put_slice(if a.value(i) { b"true" } else { b"false" }),
        (Prepared::Int(a), _) => write_i64(i64::from(a.value(i)), out),
        (Prepared::BigInt(a), _) => write_i64(a.value(i), out),
        (Prepared::Timestamp(a), _) => write_i64(a.value(i), out),
        (Prepared::Date(a), _) => write_i64(i64::from(a.value(i)), out),
        (Prepared::Time(a), _) => write_i64(i64::from(a.value(i)), out),
        (Prepared::Double(a), _) => {
            let v = a.value(i);
            if v.is_finite() {
                write_java_double(v, out);
            } else {
                // Jackson quotes non-numeric numbers (QUOTE_NON_NUMERIC_NUMBERS is on by default).
                out.put_u8(b'"');
                write_java_double(v, out);
                out.put_u8(b'"');
            }
        }
        (Prepared::Decimal(a, scale), _) => write_decimal(a.value(i), *scale, out),
        (Prepared::String(a), _) => write_json_string(a.value(i).as_bytes(), out),
        (Prepared::Bytes(a), _) => {
            out.put_u8(b'"');
            write_base64(a.value(i), out);
            out.put_u8(b'"');
        }
        (Prepared::List { offsets, item, .. }, SqlType::Array(item_ty)) => {
            out.put_u8(b'[');
            for (n, j) in range(offsets, i).enumerate() {
                if n > 0 {
                    out.put_u8(b',');
                }
                write_value(item, item_ty, j, out);
            }
            out.put_u8(b']');
        }
        (
            Prepared::Map {
                offsets, keys, values, ..
            },
            SqlType::Map(key_ty, value_ty),
        ) => {
            out.put_u8(b'{');
            for (n, j) in range(offsets, i).enumerate() {
                if n > 0 {
                    out.put_u8(b',');
                }
                match keys.as_ref() {
                    Prepared::String(k) if !k.is_null(j) => write_json_string(k.value(j).as_bytes(), out),
                    other => {
                        // Object keys must be text: quote whatever the key prints as.
                        out.put_u8(b'"');
                        write_value(other, key_ty, j, out);
                        out.put_u8(b'"');
                    }
                }
                out.put_u8(b':');
                write_value(values, value_ty, j, out);
            }
            out.put_u8(b'}');
        }
        (Prepared::Struct { fields, .. }, SqlType::Struct(decl)) => {
            out.put_u8(b'{');
            for (n, (field, (name, field_ty))) in fields.iter().zip(decl).enumerate() {
                if n > 0 {
                    out.put_u8(b',');
                }
                write_json_string(name.as_bytes(), out);
                out.put_u8(b':');
                write_value(field, field_ty, i, out);
            }
            out.put_u8(b'}');
        }
        // A container whose declaration does not match cannot be built by `Prepared::new`.
        _ => out.put_slice(b"null"),
    }
}

/// Writes one record: an object of all columns, or the single column's bare value when unwrapped. Returns
/// false when the record has no bytes (an unwrapped null).
pub(crate) fn write_row(
    cols: &[Prepared],
    types: &[SqlType],
    field_prefixes: &[Vec<u8>],
    unwrapped: bool,
    i: usize,
    out: &mut impl BufMut,
) -> bool {
    if unwrapped {
        let (Some(p), Some(ty)) = (cols.first(), types.first()) else {
            return false;
        };
        if p.is_null(i) {
            return false;
        }
        write_value(p, ty, i, out);
        return true;
    }
    out.put_u8(b'{');
    for (n, ((p, ty), prefix)) in cols.iter().zip(types).zip(field_prefixes).enumerate() {
        if n > 0 {
            out.put_u8(b',');
        }
        out.put_slice(prefix);
        write_value(p, ty, i, out);
    }
    out.put_u8(b'}');
    true
}

/// `"NAME":` for each column, escaped once per encoder.
pub(crate) fn field_prefixes(names: &[String]) -> Vec<Vec<u8>> {
    names
        .iter()
        .map(|n| {
            let mut v = Vec::with_capacity(n.len() + 3);
            write_json_string(n.as_bytes(), &mut v);
            v.push(b':');
            v
        })
        .collect()
}
