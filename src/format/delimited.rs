//! The DELIMITED format: one CSV line per record, as ksqlDB reads and writes it with Apache Commons CSV
//! (`CSVFormat.DEFAULT` with the configured delimiter).
//!
//! Reading: the payload is decoded as UTF-8 (invalid bytes become U+FFFD, like `new String(bytes, UTF_8)`),
//! leading empty lines are skipped and only the first record is used. A field starting with `"` is quoted:
//! `""` inside it is one quote, and only whitespace may follow the closing quote. Every empty field is null,
//! for every type (ksqlDB makes no exception for STRING). A wrong number of fields is an error. Values are
//! parsed with the Java calls ksqlDB uses: `Boolean.parseBoolean` (anything but `true` is false),
//! `Integer.parseInt`, `Long.parseLong`, `Double.parseDouble`, `new BigDecimal` without rounding; TIMESTAMP
//! and TIME are milliseconds, DATE is days since the epoch, BYTES is Base64.
//!
//! Writing: nulls are empty fields, DOUBLE is Java's `Double.toString`, DECIMAL is plain with its scale, and
//! a field is quoted by Commons CSV's minimal rule (ksqlDB's version): when it contains the delimiter, a
//! quote or a line break, starts with a character up to `#`, ends with a space or control character, or
//! is empty or starts with a character that is not a letter or digit while being the first field of the line.

use std::borrow::Cow;

use base64::Engine as _;
use bytes::{BufMut, BytesMut};

use super::builder::{ColumnBuilder, Data, I32Kind, I64Kind};
use super::java::{self, BASE64_LENIENT, DecimalLiteral};
use super::prepared::Prepared;
use super::{RowDecoder, RowEncoder, RowOutcome};
use crate::types::SqlType;

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Where one field's text is.
#[derive(Debug, Clone, Copy)]
enum Span {
    /// A slice of the record.
    Input(usize, usize),
    /// A slice of the unquoted-text buffer (a quoted field with its quotes removed).
    Unquoted(usize, usize),
}

/// Splits the first CSV record of `text` into field spans.
fn parse_record(text: &str, delimiter: &str, spans: &mut Vec<Span>, unquoted: &mut String) -> Result<(), String> {
    spans.clear();
    unquoted.clear();
    let b = text.as_bytes();
    let d = delimiter.as_bytes();
    let mut i = 0;
    while matches!(b.get(i), Some(b'\n' | b'\r')) {
        i += 1;
    }
    if i >= b.len() {
        return Err("No fields in record".into());
    }
    loop {
        if b.get(i) == Some(&b'"') {
            let start = unquoted.len();
            let mut j = i + 1;
            loop {
                match b.get(j) {
                    None => return Err("EOF reached before encapsulated token finished".into()),
                    Some(b'"') if b.get(j + 1) == Some(&b'"') => {
                        unquoted.push('"');
                        j += 2;
                    }
                    Some(b'"') => {
                        j += 1;
                        break;
                    }
                    Some(_) => {
                        let end = b[j..].iter().position(|&c| c == b'"').map_or(b.len(), |p| j + p);
                        unquoted.push_str(text.get(j..end).unwrap_or_default());
                        j = end;
                    }
                }
            }
            spans.push(Span::Unquoted(start, unquoted.len()));
            i = j;
            loop {
                if b.get(i..).is_some_and(|rest| rest.starts_with(d)) {
                    i += d.len();
                    break;
                }
                match text.get(i..).and_then(|rest| rest.chars().next()) {
                    None | Some('\n' | '\r') => return Ok(()),
                    Some(c) if c.is_whitespace() => i += c.len_utf8(),
                    Some(_) => {
                        return Err("invalid char between encapsulated token and delimiter".into());
                    }
                }
            }
        } else {
            let start = i;
            loop {
                match b.get(i) {
                    None | Some(b'\n' | b'\r') => {
                        spans.push(Span::Input(start, i));
                        return Ok(());
                    }
                    Some(_) if b[i..].starts_with(d) => {
                        spans.push(Span::Input(start, i));
                        i += d.len();
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
        }
    }
}

fn invalid(column: &str, ty: &SqlType, value: &str) -> String {
    format!(
        "Invalid value for column `{column}` of type {ty}: For input string: \"{}\"",
        java::snippet(value)
    )
}

/// Appends one non-empty field to its column.
fn append_field(b: &mut ColumnBuilder, column: &str, value: &str) -> Result<(), String> {
    let bad = |b: &ColumnBuilder| invalid(column, &b.ty, value);
    match &b.data {
        Data::Boolean(_) => b.push_bool(java::parse_boolean(value)),
        Data::I32(I32Kind::Int, _) => {
            let v = java::parse_int(value).ok_or_else(|| bad(b))?;
            b.push_i32(v);
        }
        Data::I32(I32Kind::Date, _) => {
            let v = java::parse_long(value)
                .and_then(|v| i32::try_from(v).ok())
                .ok_or_else(|| bad(b))?;
            b.push_i32(v);
        }
        Data::I32(I32Kind::Time, _) => {
            let v = java::parse_long(value).ok_or_else(|| bad(b))?;
            if !(0..=MILLIS_PER_DAY).contains(&v) {
                return Err(format!(
                    "Time values must use number of milliseconds greater than 0 and less than {MILLIS_PER_DAY}."
                ));
            }
            b.push_i32(v as i32);
        }
        Data::I64(I64Kind::BigInt | I64Kind::Timestamp, _) => {
            let v = java::parse_long(value).ok_or_else(|| bad(b))?;
            b.push_i64(v);
        }
        Data::F64(_) => {
            let v = java::parse_double(value).ok_or_else(|| bad(b))?;
            b.push_f64(v);
        }
        Data::Decimal { precision, scale, .. } => {
            let (p, s) = (*precision, *scale);
            let v = DecimalLiteral::parse(value).ok_or_else(|| bad(b))?.fit(p, s)?;
            b.push_decimal(v);
        }
        Data::Bytes { utf8: true, .. } => b.push_bytes(value.as_bytes()).map_err(|e| e.to_string())?,
        Data::Bytes { utf8: false, .. } => {
            let written = b
                .push_bytes_with(|buf| BASE64_LENIENT.decode_vec(value, buf))
                .map_err(|e| e.to_string())?;
            if written.is_err() {
                return Err(format!(
                    "Value is not a valid Base64 encoded string: {}",
                    java::snippet(value)
                ));
            }
        }
        Data::List { .. } | Data::Map { .. } | Data::Struct(_) => {
            return Err(format!("The 'DELIMITED' format does not support type '{}'", b.ty));
        }
    }
    Ok(())
}

/// Decodes DELIMITED records.
#[derive(Debug)]
pub(crate) struct DelimitedDecoder {
    names: Vec<String>,
    builders: Vec<ColumnBuilder>,
    delimiter: String,
    spans: Vec<Span>,
    unquoted: String,
}

impl DelimitedDecoder {
    pub(crate) fn new(fields: &[(String, SqlType)], delimiter: char) -> Self {
        DelimitedDecoder {
            names: fields.iter().map(|(n, _)| n.clone()).collect(),
            builders: fields.iter().map(|(_, t)| ColumnBuilder::new(t)).collect(),
            delimiter: delimiter.to_string(),
            spans: Vec::new(),
            unquoted: String::new(),
        }
    }
}

impl RowDecoder for DelimitedDecoder {
    fn builders(&mut self) -> &mut [ColumnBuilder] {
        &mut self.builders
    }

    fn decode_row(&mut self, _row: usize, payload: &[u8]) -> Result<RowOutcome, String> {
        let text: Cow<'_, str> = String::from_utf8_lossy(payload);
        parse_record(&text, &self.delimiter, &mut self.spans, &mut self.unquoted)?;
        if self.spans.len() != self.builders.len() {
            return Err(format!(
                "Column count mismatch on deserialization. expected: {}, got: {}",
                self.builders.len(),
                self.spans.len()
            ));
        }
        for ((span, b), name) in self.spans.iter().zip(&mut self.builders).zip(&self.names) {
            let value = match *span {
                Span::Input(s, e) => text.get(s..e),
                Span::Unquoted(s, e) => self.unquoted.get(s..e),
            }
            .unwrap_or_default();
            if value.is_empty() {
                b.append_null();
            } else {
                append_field(b, name, value)?;
            }
        }
        Ok(RowOutcome::Row)
    }
}

/// Writes value `i` of a leaf column as DELIMITED text (nothing for null).
fn write_text(p: &Prepared, i: usize, out: &mut Vec<u8>) {
    if p.is_null(i) {
        return;
    }
    match p {
        Prepared::Boolean(a) => out.extend_from_slice(if a.value(i) { b"true" } else { b"false" }),
        Prepared::Int(a) => java::write_i64(i64::from(a.value(i)), out),
        Prepared::BigInt(a) => java::write_i64(a.value(i), out),
        Prepared::Timestamp(a) => java::write_i64(a.value(i), out),
        Prepared::Date(a) => java::write_i64(i64::from(a.value(i)), out),
        Prepared::Time(a) => java::write_i64(i64::from(a.value(i)), out),
        Prepared::Double(a) => java::write_java_double(a.value(i), out),
        Prepared::Decimal(a, scale) => java::write_decimal(a.value(i), *scale, out),
        Prepared::String(a) => out.extend_from_slice(a.value(i).as_bytes()),
        Prepared::Bytes(a) => java::write_base64(a.value(i), out),
        Prepared::AllNull | Prepared::List { .. } | Prepared::Map { .. } | Prepared::Struct { .. } => {}
    }
}

/// Commons CSV's minimal quoting rule (see the module docs).
fn needs_quotes(text: &[u8], first: bool, delimiter: &[u8]) -> bool {
    let Some(c) = std::str::from_utf8(text).ok().and_then(|s| s.chars().next()) else {
        return first;
    };
    if first && !c.is_ascii_alphanumeric() {
        return true;
    }
    if c <= '#' {
        return true;
    }
    let special = text
        .iter()
        .enumerate()
        .any(|(k, &b)| matches!(b, b'\n' | b'\r' | b'"') || text[k..].starts_with(delimiter));
    special || text.last().is_some_and(|&b| b <= b' ')
}

/// Encodes rows as DELIMITED lines (without a line terminator, as ksqlDB strips it).
#[derive(Debug)]
pub(crate) struct DelimitedEncoder {
    delimiter: Vec<u8>,
    field: Vec<u8>,
}

impl DelimitedEncoder {
    pub(crate) fn new(delimiter: char) -> Self {
        DelimitedEncoder {
            delimiter: delimiter.to_string().into_bytes(),
            field: Vec::new(),
        }
    }
}

impl RowEncoder for DelimitedEncoder {
    fn encode_row(&mut self, cols: &[Prepared], i: usize, out: &mut BytesMut) -> bool {
        for (n, p) in cols.iter().enumerate() {
            if n > 0 {
                out.put_slice(&self.delimiter);
            }
            if p.is_null(i) {
                continue;
            }
            self.field.clear();
            write_text(p, i, &mut self.field);
            if needs_quotes(&self.field, n == 0, &self.delimiter) {
                out.put_u8(b'"');
                for chunk in self.field.split_inclusive(|&b| b == b'"') {
                    out.put_slice(chunk);
                    if chunk.last() == Some(&b'"') {
                        out.put_u8(b'"');
                    }
                }
                out.put_u8(b'"');
            } else {
                out.put_slice(&self.field);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Result<Vec<String>, String> {
        fields_with(text, ",")
    }

    fn fields_with(text: &str, d: &str) -> Result<Vec<String>, String> {
        let mut spans = Vec::new();
        let mut unquoted = String::new();
        parse_record(text, d, &mut spans, &mut unquoted)?;
        Ok(spans
            .iter()
            .map(|s| match *s {
                Span::Input(a, b) => text[a..b].to_string(),
                Span::Unquoted(a, b) => unquoted[a..b].to_string(),
            })
            .collect())
    }

    #[test]
    fn csv_records_like_commons_csv() {
        assert_eq!(fields("a,b,c").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            fields("1511897796092,1,item_1,,\r\n").unwrap(),
            ["1511897796092", "1", "item_1", "", ""]
        );
        assert_eq!(fields("\"a,b\",\"say \"\"hi\"\"\"").unwrap(), ["a,b", "say \"hi\""]);
        assert_eq!(fields("\"\"").unwrap(), [""]);
        assert_eq!(fields("a\"b,c").unwrap(), ["a\"b", "c"]);
        assert_eq!(fields(" a , b ").unwrap(), [" a ", " b "]);
        assert_eq!(fields("\"x\"  ,y").unwrap(), ["x", "y"]);
        assert_eq!(fields("\n\r\na,b\nc,d").unwrap(), ["a", "b"]);
        assert_eq!(fields("\"multi\nline\",z").unwrap(), ["multi\nline", "z"]);
        assert_eq!(fields("a,").unwrap(), ["a", ""]);
        assert_eq!(fields_with("a\tb", "\t").unwrap(), ["a", "b"]);
        assert_eq!(fields_with("é§ü§\"q§\"", "§").unwrap(), ["é", "ü", "q§"]);
        assert_eq!(fields("").unwrap_err(), "No fields in record");
        assert_eq!(fields("\r\n").unwrap_err(), "No fields in record");
        assert_eq!(
            fields("\"abc").unwrap_err(),
            "EOF reached before encapsulated token finished"
        );
        assert_eq!(
            fields("\"a\"b,c").unwrap_err(),
            "invalid char between encapsulated token and delimiter"
        );
    }

    #[test]
    fn quoting_rule() {
        let q = |s: &str, first: bool| needs_quotes(s.as_bytes(), first, b",");
        assert!(!q("item_1", true));
        assert!(!q("10.0", false));
        assert!(
            q("-0.50", true),
            "first field starting with a non-alphanumeric character"
        );
        assert!(!q("-0.50", false));
        assert!(q("", true));
        assert!(!q("", false));
        assert!(q("a,b", false));
        assert!(q("a\"b", false));
        assert!(q("a\nb", false));
        assert!(q(" lead", false));
        assert!(q("#hash", false));
        assert!(q("trail ", false));
        assert!(q("é", true));
        assert!(!q("é", false));
    }
}
