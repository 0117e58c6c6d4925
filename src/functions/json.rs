//! `EXTRACTJSONFIELD(json, path)`: the value at a JSONPath inside a JSON string, as a `STRING`.
//!
//! The path subset is ksqlDB's: `$` followed by `.name`, `[index]`, `['name']` or `["name"]` steps, no
//! wildcards or filters. A step applies to an array as an index (non-numeric → NULL) and to an object as a
//! key. A string leaf is returned unquoted; objects and arrays are returned as compact JSON text in document
//! order; numbers and booleans as their JSON text exactly as written (`1.23450` stays `1.23450`).
//!
//! NULL results: missing path, NULL input, a JSON `null` leaf, and a document that is not valid JSON. ksqlDB
//! raises an error for invalid JSON (which its engine logs and turns into a NULL column) and returns the
//! string `"null"` for a JSON `null` leaf; Weir returns NULL for both, so one bad record cannot fail a batch.
//! An invalid path is an execution error.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::common::cast::as_string_array;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};
use serde_json::value::RawValue;

use super::util::{LastCache, any_null, bad_args, cast_to, exec_err, invoke, string_type, udf_struct};

/// Splits a JSONPath into its steps; `Err` describes what is wrong with it.
pub(crate) fn parse_path(path: &str) -> std::result::Result<Vec<String>, String> {
    let chars: Vec<char> = path.trim().chars().collect();
    if chars.first() != Some(&'$') {
        return Err("a path must start with '$'".into());
    }
    let mut steps = Vec::new();
    let mut i = 1;
    let unquoted = |i: &mut usize, stop: &[char]| -> std::result::Result<String, String> {
        let start = *i;
        while *i < chars.len() && !stop.contains(&chars[*i]) && !chars[*i].is_whitespace() {
            if chars[*i] == '*' {
                return Err(format!("wildcards are not supported (at character {})", *i + 1));
            }
            *i += 1;
        }
        if *i == start {
            return Err(format!("expected a field name at character {}", start + 1));
        }
        Ok(chars[start..*i].iter().collect())
    };
    while i < chars.len() {
        match chars[i] {
            c if c.is_whitespace() => i += 1,
            '.' => {
                i += 1;
                steps.push(unquoted(&mut i, &['.', '[', ']', '"', '\''])?);
            }
            '[' => {
                i += 1;
                let step = match chars.get(i) {
                    Some(&q @ ('"' | '\'')) => {
                        i += 1;
                        let mut s = String::new();
                        loop {
                            match chars.get(i) {
                                None => return Err("unterminated quoted field name".into()),
                                Some('\\') => {
                                    s.extend(chars.get(i + 1));
                                    i += 2;
                                }
                                Some(&c) if c == q => {
                                    i += 1;
                                    break;
                                }
                                Some(&c) => {
                                    s.push(c);
                                    i += 1;
                                }
                            }
                        }
                        s
                    }
                    _ => unquoted(&mut i, &[']', '['])?,
                };
                if chars.get(i) != Some(&']') {
                    return Err(format!("expected ']' at character {}", i + 1));
                }
                i += 1;
                steps.push(step);
            }
            c => return Err(format!("unexpected '{c}' at character {}", i + 1)),
        }
    }
    Ok(steps)
}

/// JSON text without insignificant whitespace.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// The value at `steps` in `doc`, or `None` (see the module docs).
pub(crate) fn extract(doc: &str, steps: &[String]) -> Option<String> {
    let mut node: &RawValue = serde_json::from_str(doc).ok()?;
    for step in steps {
        let text = node.get();
        node = match text.as_bytes().first()? {
            b'{' => {
                let mut object: HashMap<String, &RawValue> = serde_json::from_str(text).ok()?;
                object.remove(step.as_str())?
            }
            b'[' => {
                let array: Vec<&RawValue> = serde_json::from_str(text).ok()?;
                array.get(step.parse::<usize>().ok()?).copied()?
            }
            _ => return None,
        };
    }
    let text = node.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(text).ok(),
        b'n' => None,
        b'{' | b'[' => Some(minify(text)),
        // Booleans, and numbers with their text as written (`1.23450`, `1E+5`), as ksqlDB's exact-decimal JSON
        // parsing keeps them.
        _ => Some(text.to_string()),
    }
}

udf_struct!(
    /// `EXTRACTJSONFIELD(json STRING, path STRING)` → `STRING`.
    ExtractJsonField
);

impl ScalarUDFImpl for ExtractJsonField {
    fn name(&self) -> &str {
        "extractjsonfield"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const FORM: &str = "json STRING, path STRING";
        match types {
            [a, b] => Ok(vec![
                string_type(a).ok_or_else(|| bad_args("EXTRACTJSONFIELD", types, FORM))?,
                string_type(b).ok_or_else(|| bad_args("EXTRACTJSONFIELD", types, FORM))?,
            ]),
            _ => Err(bad_args("EXTRACTJSONFIELD", types, FORM)),
        }
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            let (doc, path) = (cast_to(&a[0], &DataType::Utf8)?, cast_to(&a[1], &DataType::Utf8)?);
            let (doc, path) = (as_string_array(&doc)?, as_string_array(&path)?);
            let mut paths = LastCache::new();
            let mut out = StringBuilder::new();
            for i in 0..rows {
                if any_null!(i; doc, path) {
                    out.append_null();
                    continue;
                }
                let steps = paths.get(path.value(i), |p| {
                    parse_path(p).map_err(|e| exec_err("EXTRACTJSONFIELD", format!("invalid JSON path '{p}': {e}")))
                })?;
                out.append_option(extract(doc.value(i), steps));
            }
            Ok(Arc::new(out.finish()) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{eval, eval_err, eval_type, rows};

    const LOG: &str = r#"'{"log": {"cloud": "gcp836Csd", "app": "ksProcessor", "instance": 4}}'"#;

    #[test]
    fn ksqldb_doc_example() {
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({LOG}, '$.log.cloud')")), "gcp836Csd");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({LOG}, '$.log.instance')")), "4");
        assert_eq!(
            eval(&format!("CAST(EXTRACTJSONFIELD({LOG}, '$.log.instance') AS INT)")),
            "4"
        );
        assert_eq!(
            eval(&format!("EXTRACTJSONFIELD({LOG}, '$.log')")),
            r#"{"cloud":"gcp836Csd","app":"ksProcessor","instance":4}"#
        );
        assert_eq!(eval_type(&format!("EXTRACTJSONFIELD({LOG}, '$.log')")), DataType::Utf8);
    }

    #[test]
    fn arrays_brackets_and_misses() {
        let doc = r#"'{"a": [10, {"b": "x y"}, [1, 2]], "k.e y": true, "n": null, "f": 1.50}'"#;
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.a[0]')")), "10");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.a[1].b')")), "x y");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.a[2]')")), "[1,2]");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$[''k.e y'']')")), "true");
        assert_eq!(eval(&format!(r#"EXTRACTJSONFIELD({doc}, '$["a"][1]["b"]')"#)), "x y");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.f')")), "1.50");
        assert_eq!(
            eval("EXTRACTJSONFIELD('[1.23450, -0, 1E+5, 12345678901234567890123]', '$[0]')"),
            "1.23450"
        );
        assert_eq!(
            eval("EXTRACTJSONFIELD('[1.23450, -0, 1E+5, 12345678901234567890123]', '$[1]')"),
            "-0"
        );
        assert_eq!(
            eval("EXTRACTJSONFIELD('[1.23450, -0, 1E+5, 12345678901234567890123]', '$[2]')"),
            "1E+5"
        );
        assert_eq!(
            eval("EXTRACTJSONFIELD('[1.23450, -0, 1E+5, 12345678901234567890123]', '$[3]')"),
            "12345678901234567890123"
        );
        assert_eq!(eval("EXTRACTJSONFIELD('{\"a\": [ 1.0 , 2.50 ]}', '$.a')"), "[1.0,2.50]");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.n')")), "NULL");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.a[3]')")), "NULL");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.a[-1]')")), "NULL");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.a.x')")), "NULL");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.missing.deeper')")), "NULL");
        assert_eq!(eval(&format!("EXTRACTJSONFIELD({doc}, '$.f.x')")), "NULL");
        assert_eq!(eval("EXTRACTJSONFIELD('\"just text\"', '$')"), "just text");
    }

    #[test]
    fn invalid_json_is_null_and_invalid_path_is_an_error() {
        assert_eq!(eval("EXTRACTJSONFIELD('{not json', '$.a')"), "NULL");
        assert_eq!(eval("EXTRACTJSONFIELD('', '$.a')"), "NULL");
        assert_eq!(eval("EXTRACTJSONFIELD(NULL, '$.a')"), "NULL");
        assert_eq!(eval("EXTRACTJSONFIELD('{}', NULL)"), "NULL");
        assert!(eval_err("EXTRACTJSONFIELD('{}', 'a.b')").contains("EXTRACTJSONFIELD: invalid JSON path 'a.b'"));
        assert!(eval_err("EXTRACTJSONFIELD('{}', '$.a[*]')").contains("wildcards"));
        assert!(eval_err("EXTRACTJSONFIELD('{}', '$[''a')").contains("unterminated"));
    }

    #[test]
    fn on_columns() {
        let got = rows(
            r#"SELECT EXTRACTJSONFIELD(j, '$.id') FROM (VALUES ('{"id": "1"}'), ('{"id": 2}'), ('bad'), (NULL)) AS t(j)"#,
        );
        assert_eq!(got, ["1", "2", "NULL", "NULL"]);
    }

    #[test]
    fn path_parsing() {
        assert_eq!(parse_path("$").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_path("$.a.b[0]['c d'][\"e\\\"f\"]").unwrap(),
            ["a", "b", "0", "c d", "e\"f"]
        );
        assert!(parse_path("$.").is_err());
        assert!(parse_path("$[0").is_err());
        assert_eq!(minify("{ \"a b\" : [1, 2] }"), "{\"a b\":[1,2]}");
    }
}
