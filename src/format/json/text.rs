//! JSON text helpers that work on one already-validated JSON value (a `serde_json::value::RawValue`): tell
//! its node type, unescape a string, escape a string the way Jackson writes it, and turn any value into the
//! text ksqlDB stores in a `STRING` column.
//!
//! ksqlDB reads a `STRING` column from any JSON node: strings as their text, numbers and booleans as
//! Jackson's `asText()` (`42.000` stays `42.000`), objects as compact JSON, and arrays as Java's
//! `List.toString()` of their elements converted the same way (`["a", 1]` becomes `[a, 1]`). The conversion
//! here is iterative, so deeply nested input cannot overflow the stack.

use bytes::BufMut;

use crate::format::java::DecimalLiteral;

/// A JSON value classified by its first byte.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Node<'a> {
    Null,
    Bool(bool),
    /// The number and its literal text.
    Number(DecimalLiteral<'a>, &'a str),
    /// The string's content between the quotes, still escaped.
    Str(&'a str),
    Array,
    Object,
    /// Not a JSON value (cannot happen for validated input, handled anyway).
    Invalid,
}

impl<'a> Node<'a> {
    pub(crate) fn classify(raw: &'a str) -> Node<'a> {
        let raw = raw.trim_matches(is_json_whitespace);
        match raw.as_bytes().first() {
            Some(b'n') => Node::Null,
            Some(b't') => Node::Bool(true),
            Some(b'f') => Node::Bool(false),
            Some(b'"') => match raw.get(1..raw.len().saturating_sub(1)) {
                Some(content) if raw.len() >= 2 && raw.ends_with('"') => Node::Str(content),
                _ => Node::Invalid,
            },
            Some(b'[') => Node::Array,
            Some(b'{') => Node::Object,
            Some(_) => match DecimalLiteral::parse(raw) {
                Some(lit) => Node::Number(lit, raw),
                None => Node::Invalid,
            },
            None => Node::Invalid,
        }
    }

    /// The Jackson node class ksqlDB names in "Can't convert type. sourceType: ..." messages.
    pub(crate) fn jackson_name(&self) -> &'static str {
        match self {
            Node::Null => "NullNode",
            Node::Bool(_) => "BooleanNode",
            Node::Number(lit, _) => lit.jackson_node(),
            Node::Str(_) => "TextNode",
            Node::Array => "ArrayNode",
            Node::Object => "ObjectNode",
            Node::Invalid => "MissingNode",
        }
    }
}

fn is_json_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn hex_value(b: u8) -> Option<u32> {
    match b {
        b'0'..=b'9' => Some(u32::from(b - b'0')),
        b'a'..=b'f' => Some(u32::from(b - b'a' + 10)),
        b'A'..=b'F' => Some(u32::from(b - b'A' + 10)),
        _ => None,
    }
}

fn read_hex4(b: &[u8], at: usize) -> Option<u32> {
    let quad = b.get(at..at + 4)?;
    quad.iter().try_fold(0u32, |acc, &h| Some(acc * 16 + hex_value(h)?))
}

/// Appends the unescaped content of a JSON string. Lone surrogates become U+FFFD; a malformed escape is an
/// error (serde_json has rejected those already, so this only guards against misuse).
pub(crate) fn unescape_into(content: &str, out: &mut Vec<u8>) -> Result<(), ()> {
    let b = content.as_bytes();
    let mut i = 0;
    let mut run_start = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        out.extend_from_slice(&b[run_start..i]);
        let esc = *b.get(i + 1).ok_or(())?;
        i += 2;
        let simple = match esc {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'u' => None,
            _ => return Err(()),
        };
        if let Some(c) = simple {
            out.push(c);
        } else {
            let first = read_hex4(b, i).ok_or(())?;
            i += 4;
            let code = if (0xD800..0xDC00).contains(&first) {
                match (b.get(i..i + 2), read_hex4(b, i + 2)) {
                    (Some(b"\\u"), Some(second)) if (0xDC00..0xE000).contains(&second) => {
                        i += 6;
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                    _ => 0xFFFD,
                }
            } else {
                first
            };
            let c = char::from_u32(code).unwrap_or('\u{FFFD}');
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        run_start = i;
    }
    out.extend_from_slice(b.get(run_start..).unwrap_or_default());
    Ok(())
}

/// The unescaped text of a JSON string's content, borrowing it when it has no escapes.
pub(crate) fn unescaped<'a>(content: &'a str, scratch: &'a mut Vec<u8>) -> Result<&'a str, ()> {
    if !content.as_bytes().contains(&b'\\') {
        return Ok(content);
    }
    scratch.clear();
    unescape_into(content, scratch)?;
    std::str::from_utf8(scratch).map_err(|_| ())
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Writes `s` as a quoted JSON string, escaping like Jackson: `"`, `\` and control characters (the common
/// ones as `\n`, `\t`, ..., the rest as `\u00XX`); everything else, including non-ASCII, is written as is.
pub(crate) fn write_json_string(s: &[u8], out: &mut impl BufMut) {
    out.put_u8(b'"');
    let mut run_start = 0;
    for (i, &c) in s.iter().enumerate() {
        let escape: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.put_slice(&s[run_start..i]);
        if escape.is_empty() {
            out.put_slice(b"\\u00");
            out.put_u8(HEX_UPPER[usize::from(c >> 4)]);
            out.put_u8(HEX_UPPER[usize::from(c & 0xf)]);
        } else {
            out.put_slice(escape);
        }
        run_start = i + 1;
    }
    out.put_slice(&s[run_start..]);
    out.put_u8(b'"');
}

/// Writes a JSON number the way Jackson's `asText()` prints the node it parsed: integers unchanged (`-0` is
/// the integer 0), everything else as `BigDecimal.toString()`.
pub(crate) fn write_number_text(lit: &DecimalLiteral<'_>, raw: &str, out: &mut Vec<u8>) {
    if lit.is_integer_literal() {
        if raw == "-0" {
            out.push(b'0');
        } else {
            out.extend_from_slice(raw.as_bytes());
        }
    } else {
        lit.write_java_string(out);
    }
}

/// Writes the text ksqlDB stores when a JSON value is read into a `STRING` column. `raw` must be one JSON
/// value (as serde_json validated it); `null` is the caller's business.
pub(crate) fn write_as_text(raw: &str, out: &mut Vec<u8>) -> Result<(), ()> {
    match Node::classify(raw) {
        Node::Str(content) => unescape_into(content, out),
        Node::Number(lit, text) => {
            write_number_text(&lit, text, out);
            Ok(())
        }
        Node::Bool(v) => {
            out.extend_from_slice(if v { b"true" } else { b"false" });
            Ok(())
        }
        Node::Null => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        Node::Array | Node::Object => write_container_text(raw, out),
        Node::Invalid => Err(()),
    }
}

/// How a container's contents are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// An array converted like `List.toString()`: `[a, 1, {"x":2}]`.
    ListText,
    /// An array or object inside an object: compact JSON.
    JsonArray,
    JsonObject,
}

/// One pass over the tokens of a JSON array or object, with an explicit stack instead of recursion.
fn write_container_text(raw: &str, out: &mut Vec<u8>) -> Result<(), ()> {
    let b = raw.as_bytes();
    let mut stack: Vec<(Frame, usize)> = Vec::new();
    let mut i = 0;
    loop {
        while b.get(i).is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        let Some(&c) = b.get(i) else {
            return if stack.is_empty() { Ok(()) } else { Err(()) };
        };
        let frame = stack.last().map(|f| f.0);
        match c {
            b',' => {
                if frame != Some(Frame::ListText) {
                    out.push(b',');
                }
                i += 1;
                continue;
            }
            b':' => {
                out.push(b':');
                i += 1;
                continue;
            }
            b']' | b'}' => {
                stack.pop().ok_or(())?;
                out.push(c);
                i += 1;
                if stack.is_empty() {
                    return Ok(());
                }
                continue;
            }
            _ => {}
        }
        // A value (or an object key) starts here.
        if let Some((Frame::ListText, count)) = stack.last_mut() {
            if *count > 0 {
                out.extend_from_slice(b", ");
            }
            *count += 1;
        }
        let in_json = matches!(frame, Some(Frame::JsonArray | Frame::JsonObject));
        match c {
            b'[' => {
                stack.push((if in_json { Frame::JsonArray } else { Frame::ListText }, 0));
                out.push(b'[');
                i += 1;
            }
            b'{' => {
                stack.push((Frame::JsonObject, 0));
                out.push(b'{');
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                loop {
                    match b.get(j) {
                        Some(b'\\') => j += 2,
                        Some(b'"') => break,
                        Some(_) => j += 1,
                        None => return Err(()),
                    }
                }
                let content = raw.get(start..j).ok_or(())?;
                if in_json {
                    let mut text = Vec::with_capacity(content.len());
                    unescape_into(content, &mut text)?;
                    write_json_string(&text, out);
                } else {
                    unescape_into(content, out)?;
                }
                i = j + 1;
            }
            _ => {
                let start = i;
                while b
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
                {
                    i += 1;
                }
                let token = raw.get(start..i).ok_or(())?;
                match token {
                    "true" | "false" | "null" => out.extend_from_slice(token.as_bytes()),
                    _ => {
                        let lit = DecimalLiteral::parse(token).ok_or(())?;
                        write_number_text(&lit, token, out);
                    }
                }
            }
        }
        if stack.is_empty() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(raw: &str) -> String {
        let mut out = Vec::new();
        write_as_text(raw, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn unesc(s: &str) -> String {
        let mut out = Vec::new();
        unescape_into(s, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn values_as_ksqldb_string_columns() {
        assert_eq!(text("true"), "true");
        assert_eq!(text("42"), "42");
        assert_eq!(text("-0"), "0");
        assert_eq!(text("42.000"), "42.000");
        assert_eq!(text("42.001"), "42.001");
        assert_eq!(text("1e1"), "1E+1");
        assert_eq!(text(r#""just a string""#), "just a string");
        assert_eq!(text(r#"{"json": "object"}"#), r#"{"json":"object"}"#);
        assert_eq!(text(r#"["json", "array"]"#), "[json, array]");
        assert_eq!(text("[]"), "[]");
        assert_eq!(text("{}"), "{}");
        assert_eq!(
            text(r#"{ "CATEGORY": { "ID":2, "NAME":"Food" }, "ITEMID":6, "NAME":"Item_6" }"#),
            r#"{"CATEGORY":{"ID":2,"NAME":"Food"},"ITEMID":6,"NAME":"Item_6"}"#
        );
        assert_eq!(
            text(r#"[1, null, [true, "x"], {"a": [1, "b\"c"]}, 2.50]"#),
            r#"[1, null, [true, x], {"a":[1,"b\"c"]}, 2.50]"#
        );
        assert_eq!(text(r#"{"k": "\u00e9\/\n"}"#), "{\"k\":\"\u{e9}/\\n\"}");
    }

    #[test]
    fn unescaping() {
        assert_eq!(unesc(r#"a\"b\\c\/d"#), "a\"b\\c/d");
        assert_eq!(unesc(r"\b\f\n\r\t"), "\u{8}\u{c}\n\r\t");
        assert_eq!(unesc(r"\u0041\u00e9"), "Aé");
        assert_eq!(unesc(r"\ud83d\ude00"), "😀");
        assert_eq!(unesc(r"\ud83d x"), "\u{FFFD} x");
        assert!(unescape_into(r"\x", &mut Vec::new()).is_err());
        assert!(unescape_into(r"\u12", &mut Vec::new()).is_err());
        assert!(unescape_into("\\", &mut Vec::new()).is_err());
        let mut scratch = Vec::new();
        assert_eq!(unescaped("plain", &mut scratch).unwrap(), "plain");
        assert_eq!(unescaped(r"a\tb", &mut scratch).unwrap(), "a\tb");
    }

    #[test]
    fn escaping_like_jackson() {
        let mut out = Vec::new();
        write_json_string("a\"b\\c\n\u{1}é/".as_bytes(), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#""a\"b\\c\n\u0001é/""#);
    }

    #[test]
    fn node_names() {
        assert_eq!(Node::classify("true").jackson_name(), "BooleanNode");
        assert_eq!(Node::classify("1").jackson_name(), "IntNode");
        assert_eq!(Node::classify("3000000000").jackson_name(), "LongNode");
        assert_eq!(Node::classify("30000000000000000000").jackson_name(), "BigIntegerNode");
        assert_eq!(Node::classify("1.5").jackson_name(), "DecimalNode");
        assert_eq!(Node::classify("\"x\"").jackson_name(), "TextNode");
        assert_eq!(Node::classify("[1]").jackson_name(), "ArrayNode");
        assert_eq!(Node::classify("{}").jackson_name(), "ObjectNode");
        assert_eq!(Node::classify("").jackson_name(), "MissingNode");
        assert!(matches!(Node::classify("\""), Node::Invalid));
    }

    #[test]
    fn malformed_containers_are_errors_not_panics() {
        for bad in ["[", "{\"a\":", "[1,", "]", "[\"abc", "[1e]", "[@]"] {
            let _ = write_as_text(bad, &mut Vec::new());
        }
        assert!(write_as_text("[1", &mut Vec::new()).is_err());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let mut out = Vec::new();
        write_as_text(&deep, &mut out).unwrap();
        assert_eq!(out.len(), 200_000);
    }
}
