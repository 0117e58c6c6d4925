//! `REGEXP_EXTRACT` and `REGEXP_REPLACE` with ksqlDB's argument order and semantics.
//!
//! ksqlDB compiles Java regular expressions; Weir uses the `regex` crate, whose syntax covers the common
//! subset (classes, quantifiers, groups, named groups, anchors, flags) but has no look-around and no
//! back-references: such a pattern is an execution error naming the function and the pattern. Replacement
//! strings use Java's syntax (`$1`, `${name}`, `\$` for a literal dollar) and are translated.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::common::cast::{as_int64_array, as_string_array};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};
use regex::Regex;

use super::util::{LastCache, any_null, bad_args, cast_to, exec_err, int_type, invoke, string_type, udf_struct};

fn compile(func: &str, pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| exec_err(func, format!("invalid regular expression '{pattern}': {e}")))
}

/// Translates a Java `Matcher.replaceAll` replacement into the `regex` crate's syntax. Like Java, `$12` refers
/// to group 12 only if the pattern has that many groups (otherwise group 1 followed by a literal `2`).
pub(crate) fn java_replacement(replacement: &str, group_count: usize) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(replacement.len());
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(escaped) => out.push(escaped),
                None => return Err("character to be escaped is missing".into()),
            },
            '$' => match chars.next() {
                Some('{') => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(ch) if ch.is_ascii_alphanumeric() => name.push(ch),
                            _ => return Err("named capturing group is missing trailing '}'".into()),
                        }
                    }
                    if name.is_empty() {
                        return Err("named capturing group has 0 length name".into());
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                Some(d) if d.is_ascii_digit() => {
                    let mut group = d.to_digit(10).unwrap_or(0) as usize;
                    while let Some(next) = chars.peek().and_then(|ch| ch.to_digit(10)) {
                        let wider = group * 10 + next as usize;
                        if wider > group_count {
                            break;
                        }
                        group = wider;
                        chars.next();
                    }
                    if group > group_count {
                        return Err(format!("no group {group}"));
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                _ => return Err("illegal group reference".into()),
            },
            other => out.push(other),
        }
    }
    Ok(out)
}

udf_struct!(
    /// `REGEXP_EXTRACT(pattern, input [, group])` → the first match (or its capturing group), NULL if none.
    RegexpExtract
);

impl ScalarUDFImpl for RegexpExtract {
    fn name(&self) -> &str {
        "regexp_extract"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const FORM: &str = "pattern STRING, input STRING [, group INT]";
        let err = || bad_args("REGEXP_EXTRACT", types, FORM);
        match types {
            [p, s] => Ok(vec![string_type(p).ok_or_else(err)?, string_type(s).ok_or_else(err)?]),
            [p, s, g] => Ok(vec![
                string_type(p).ok_or_else(err)?,
                string_type(s).ok_or_else(err)?,
                int_type(g).ok_or_else(err)?,
            ]),
            _ => Err(err()),
        }
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            let (p, s) = (cast_to(&a[0], &DataType::Utf8)?, cast_to(&a[1], &DataType::Utf8)?);
            let (p, s) = (as_string_array(&p)?, as_string_array(&s)?);
            let g = a.get(2).map(|g| cast_to(g, &DataType::Int64)).transpose()?;
            let g = g.as_ref().map(|g| as_int64_array(g)).transpose()?;
            let mut cache = LastCache::new();
            let mut out = StringBuilder::new();
            for i in 0..rows {
                if any_null!(i; p, s) || g.is_some_and(|g| g.is_null(i)) {
                    out.append_null();
                    continue;
                }
                let group = g.map_or(0, |g| g.value(i));
                if group < 0 {
                    return Err(exec_err("REGEXP_EXTRACT", format!("group {group} is negative")));
                }
                let re = cache.get(p.value(i), |pat| compile("REGEXP_EXTRACT", pat))?;
                let found = usize::try_from(group)
                    .ok()
                    .filter(|g| *g < re.captures_len())
                    .and_then(|g| re.captures(s.value(i)).and_then(|c| c.get(g)))
                    .map(|m| m.as_str());
                out.append_option(found);
            }
            Ok(Arc::new(out.finish()) as ArrayRef)
        })
    }
}

udf_struct!(
    /// `REGEXP_REPLACE(str, regexp, replacement)`: replaces every match (DataFusion's Postgres-style
    /// `regexp_replace` replaces only the first unless given the `g` flag).
    RegexpReplace
);

impl ScalarUDFImpl for RegexpReplace {
    fn name(&self) -> &str {
        "regexp_replace"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const FORM: &str = "STRING, regexp STRING, replacement STRING";
        if types.len() != 3 {
            return Err(bad_args("REGEXP_REPLACE", types, FORM));
        }
        types
            .iter()
            .map(|t| string_type(t).ok_or_else(|| bad_args("REGEXP_REPLACE", types, FORM)))
            .collect()
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            let cols = a
                .iter()
                .map(|c| cast_to(c, &DataType::Utf8))
                .collect::<Result<Vec<_>>>()?;
            let (s, p, r) = (
                as_string_array(&cols[0])?,
                as_string_array(&cols[1])?,
                as_string_array(&cols[2])?,
            );
            let mut regexes = LastCache::new();
            let mut out = StringBuilder::new();
            for i in 0..rows {
                if any_null!(i; s, p, r) {
                    out.append_null();
                    continue;
                }
                let re = regexes.get(p.value(i), |pat| compile("REGEXP_REPLACE", pat))?;
                let rep = java_replacement(r.value(i), re.captures_len() - 1)
                    .map_err(|e| exec_err("REGEXP_REPLACE", format!("invalid replacement '{}': {e}", r.value(i))))?;
                out.append_value(re.replace_all(s.value(i), rep.as_str()));
            }
            Ok(Arc::new(out.finish()) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{eval, eval_err, rows};

    #[test]
    fn extract_follows_ksqldb_examples() {
        assert_eq!(eval("REGEXP_EXTRACT('(.*) (.*)', 'hello there', 2)"), "there");
        assert_eq!(eval("REGEXP_EXTRACT('.*', 'abc')"), "abc");
        assert_eq!(eval("REGEXP_EXTRACT('(([AEIOU]).)', 'xAbc', 2)"), "A");
        assert_eq!(eval("REGEXP_EXTRACT('b+', 'abbbc')"), "bbb");
        assert_eq!(eval("REGEXP_EXTRACT('z', 'abc')"), "NULL");
        assert_eq!(eval("REGEXP_EXTRACT('(a)', 'abc', 2)"), "NULL");
        assert_eq!(eval("REGEXP_EXTRACT('(a)|(b)', 'b', 1)"), "NULL");
        assert_eq!(eval("REGEXP_EXTRACT(NULL, 'abc')"), "NULL");
        assert_eq!(eval("REGEXP_EXTRACT('a', NULL)"), "NULL");
        assert!(eval_err("REGEXP_EXTRACT('(', 'abc')").contains("REGEXP_EXTRACT: invalid regular expression '('"));
        assert!(eval_err("REGEXP_EXTRACT('a', 'abc', -1)").contains("negative"));
        let got = rows("SELECT REGEXP_EXTRACT('[0-9]+', s) FROM (VALUES ('a12b'), ('none'), (NULL)) AS t(s)");
        assert_eq!(got, ["12", "NULL", "NULL"]);
    }

    #[test]
    fn replace_replaces_all_with_java_replacements() {
        assert_eq!(eval("REGEXP_REPLACE('aaa bbb', 'a.', 'x')"), "xxbbb");
        assert_eq!(eval("REGEXP_REPLACE('foo bar foo', 'fo+', 'baz')"), "baz bar baz");
        assert_eq!(
            eval("REGEXP_REPLACE('John Smith', '(\\w+) (\\w+)', '$2, $1')"),
            "Smith, John"
        );
        assert_eq!(eval("REGEXP_REPLACE('ab', '(a)', '$1x$10')"), "axa0b");
        assert_eq!(eval("REGEXP_REPLACE('a', 'a', '\\$')"), "$");
        assert_eq!(eval("REGEXP_REPLACE('a', '(?P<n>a)', '<${n}>')"), "<a>");
        assert_eq!(eval("REGEXP_REPLACE(NULL, 'a', 'b')"), "NULL");
        assert_eq!(eval("REGEXP_REPLACE('a', NULL, 'b')"), "NULL");
        assert_eq!(eval("REGEXP_REPLACE('a', 'a', NULL)"), "NULL");
        assert!(eval_err("REGEXP_REPLACE('a', '(?<=a)b', 'c')").contains("REGEXP_REPLACE: invalid regular expression"));
        assert!(eval_err("REGEXP_REPLACE('a', 'a', '$2')").contains("no group 2"));
        let got = rows("SELECT REGEXP_REPLACE(s, p, '_') FROM (VALUES ('a1', '[0-9]'), ('b2', '[a-z]')) AS t(s, p)");
        assert_eq!(got, ["a_", "_2"]);
    }

    #[test]
    fn replacement_translation() {
        assert_eq!(java_replacement("$1-$2", 2).unwrap(), "${1}-${2}");
        assert_eq!(java_replacement("$12", 1).unwrap(), "${1}2");
        assert_eq!(java_replacement("$12", 12).unwrap(), "${12}");
        assert_eq!(java_replacement("\\\\", 0).unwrap(), "\\");
        assert!(java_replacement("$", 0).is_err());
        assert!(java_replacement("${x", 0).is_err());
    }
}
