//! Date-time functions: `TIMESTAMPTOSTRING`, `STRINGTOTIMESTAMP` (ksqlDB's `BIGINT` milliseconds forms),
//! `FORMAT_TIMESTAMP`, `PARSE_TIMESTAMP` (the `TIMESTAMP` forms), `UNIX_TIMESTAMP` and `FROM_UNIXTIME`.
//!
//! Patterns are Java `DateTimeFormatter` patterns ([`super::java_time_format`]). The optional zone argument
//! accepts UTC, fixed offsets and IANA names; without it Weir uses UTC where ksqlDB uses the server's default
//! zone (UTC on a typical deployment). As in ksqlDB, text that does not match the pattern, an invalid pattern
//! and an unknown zone are errors naming the function and the value; NULL arguments give NULL.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, StringBuilder};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::Result;
use datafusion::common::cast::{as_int64_array, as_string_array};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

use super::java_time_format::{JavaDateFormat, Zone};
use super::util::{LastCache, bad_args, cast_to, exec_err, int_type, invoke, string_type, udf_struct};

/// Weir's `TIMESTAMP`: milliseconds since the epoch, no zone.
fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// Any timestamp converts to milliseconds (keeping its zone annotation, so the instant is unchanged).
fn timestamp_arg(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Timestamp(_, tz) => Some(DataType::Timestamp(TimeUnit::Millisecond, tz.clone())),
        DataType::Null => Some(timestamp_type()),
        _ => None,
    }
}

/// Coerces `(first, pattern STRING [, zone STRING])`.
fn pattern_args(
    func: &str,
    types: &[DataType],
    first: impl Fn(&DataType) -> Option<DataType>,
    form: &str,
) -> Result<Vec<DataType>> {
    if !(2..=3).contains(&types.len()) {
        return Err(bad_args(func, types, form));
    }
    let mut out = vec![first(&types[0]).ok_or_else(|| bad_args(func, types, form))?];
    for t in &types[1..] {
        out.push(string_type(t).ok_or_else(|| bad_args(func, types, form))?);
    }
    Ok(out)
}

/// Compiled patterns and zones of the rows of one batch.
struct TimeArgs {
    patterns: LastCache<JavaDateFormat>,
    zones: LastCache<Zone>,
    utc: Zone,
}

impl TimeArgs {
    fn new() -> Self {
        Self {
            patterns: LastCache::new(),
            zones: LastCache::new(),
            utc: Zone::utc(),
        }
    }

    fn get(&mut self, func: &str, pattern: &str, zone: Option<&str>) -> Result<(&JavaDateFormat, &Zone)> {
        let format = self.patterns.get(pattern, |p| {
            JavaDateFormat::compile(p).map_err(|e| exec_err(func, format!("invalid pattern '{p}': {e}")))
        })?;
        let zone = match zone {
            Some(z) => self.zones.get(z, |z| Zone::parse(z).map_err(|e| exec_err(func, e)))?,
            None => &self.utc,
        };
        Ok((format, zone))
    }
}

/// Formats the `Int64` milliseconds in `a[0]` with the pattern `a[1]` and optional zone `a[2]`.
fn format_kernel(func: &str, a: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let millis = cast_to(&a[0], &DataType::Int64)?;
    let millis = as_int64_array(&millis)?;
    let texts = a[1..]
        .iter()
        .map(|c| cast_to(c, &DataType::Utf8))
        .collect::<Result<Vec<_>>>()?;
    let pattern = as_string_array(&texts[0])?;
    let zone = texts.get(1).map(|z| as_string_array(z)).transpose()?;
    let mut args = TimeArgs::new();
    let mut out = StringBuilder::new();
    for i in 0..rows {
        if millis.is_null(i) || pattern.is_null(i) || zone.is_some_and(|z| z.is_null(i)) {
            out.append_null();
            continue;
        }
        let (format, tz) = args.get(func, pattern.value(i), zone.map(|z| z.value(i)))?;
        let ms = millis.value(i);
        let text = format.format_millis(ms, tz).map_err(|e| {
            exec_err(
                func,
                format!(
                    "failed to format timestamp {ms} with pattern '{}': {e}",
                    pattern.value(i)
                ),
            )
        })?;
        out.append_value(text);
    }
    Ok(Arc::new(out.finish()))
}

/// Parses the strings in `a[0]` with the pattern `a[1]` and optional zone `a[2]` into `Int64` milliseconds.
fn parse_kernel(func: &str, a: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let texts = a
        .iter()
        .map(|c| cast_to(c, &DataType::Utf8))
        .collect::<Result<Vec<_>>>()?;
    let (text, pattern) = (as_string_array(&texts[0])?, as_string_array(&texts[1])?);
    let zone = texts.get(2).map(|z| as_string_array(z)).transpose()?;
    let mut args = TimeArgs::new();
    let out = (0..rows)
        .map(|i| {
            if text.is_null(i) || pattern.is_null(i) || zone.is_some_and(|z| z.is_null(i)) {
                return Ok(None);
            }
            let (format, tz) = args.get(func, pattern.value(i), zone.map(|z| z.value(i)))?;
            format.parse_millis(text.value(i), tz).map(Some).map_err(|e| {
                exec_err(
                    func,
                    format!(
                        "failed to parse timestamp '{}' with pattern '{}': {e}",
                        text.value(i),
                        pattern.value(i)
                    ),
                )
            })
        })
        .collect::<Result<Int64Array>>()?;
    Ok(Arc::new(out))
}

udf_struct!(
    /// `TIMESTAMPTOSTRING(millis BIGINT, pattern [, zone])` → `STRING`.
    TimestampToString
);

impl ScalarUDFImpl for TimestampToString {
    fn name(&self) -> &str {
        "timestamptostring"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        pattern_args(
            "TIMESTAMPTOSTRING",
            types,
            int_type,
            "millis BIGINT, pattern STRING [, zone STRING]",
        )
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| format_kernel("TIMESTAMPTOSTRING", a, rows))
    }
}

udf_struct!(
    /// `FORMAT_TIMESTAMP(ts TIMESTAMP, pattern [, zone])` → `STRING`.
    FormatTimestamp
);

impl ScalarUDFImpl for FormatTimestamp {
    fn name(&self) -> &str {
        "format_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        pattern_args(
            "FORMAT_TIMESTAMP",
            types,
            timestamp_arg,
            "ts TIMESTAMP, pattern STRING [, zone STRING]",
        )
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| format_kernel("FORMAT_TIMESTAMP", a, rows))
    }
}

udf_struct!(
    /// `STRINGTOTIMESTAMP(text, pattern [, zone])` → `BIGINT` milliseconds.
    StringToTimestamp
);

impl ScalarUDFImpl for StringToTimestamp {
    fn name(&self) -> &str {
        "stringtotimestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        pattern_args(
            "STRINGTOTIMESTAMP",
            types,
            string_type,
            "text STRING, pattern STRING [, zone STRING]",
        )
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| parse_kernel("STRINGTOTIMESTAMP", a, rows))
    }
}

udf_struct!(
    /// `PARSE_TIMESTAMP(text, pattern [, zone])` → `TIMESTAMP`.
    ParseTimestamp
);

impl ScalarUDFImpl for ParseTimestamp {
    fn name(&self) -> &str {
        "parse_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        pattern_args(
            "PARSE_TIMESTAMP",
            types,
            string_type,
            "text STRING, pattern STRING [, zone STRING]",
        )
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(timestamp_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            cast_to(&parse_kernel("PARSE_TIMESTAMP", a, rows)?, &timestamp_type())
        })
    }
}

udf_struct!(
    /// `UNIX_TIMESTAMP()` → the current time, or `UNIX_TIMESTAMP(ts)` → `ts`, as `BIGINT` milliseconds.
    /// Volatile, so the zero-argument form is read per evaluation rather than folded into a constant.
    UnixTimestamp,
    Volatility::Volatile
);

impl ScalarUDFImpl for UnixTimestamp {
    fn name(&self) -> &str {
        "unix_timestamp"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [] => Ok(vec![]),
            [t] => timestamp_arg(t)
                .map(|t| vec![t])
                .ok_or_else(|| bad_args("UNIX_TIMESTAMP", types, "[TIMESTAMP]")),
            _ => Err(bad_args("UNIX_TIMESTAMP", types, "[TIMESTAMP]")),
        }
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            if a.is_empty() {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                return Ok(Arc::new(Int64Array::from(vec![now; rows])) as ArrayRef);
            }
            cast_to(&a[0], &DataType::Int64)
        })
    }
}

udf_struct!(
    /// `FROM_UNIXTIME(millis BIGINT)` → `TIMESTAMP`.
    FromUnixTime
);

impl ScalarUDFImpl for FromUnixTime {
    fn name(&self) -> &str {
        "from_unixtime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t] => int_type(t)
                .map(|t| vec![t])
                .ok_or_else(|| bad_args("FROM_UNIXTIME", types, "millis BIGINT")),
            _ => Err(bad_args("FROM_UNIXTIME", types, "millis BIGINT")),
        }
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(timestamp_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, _| {
            cast_to(&cast_to(&a[0], &DataType::Int64)?, &timestamp_type())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{eval, eval_err, eval_type, rows};

    #[test]
    fn timestamptostring() {
        assert_eq!(
            eval("TIMESTAMPTOSTRING(1709211909007, 'yyyy-MM-dd HH:mm:ss.SSS')"),
            "2024-02-29 13:05:09.007"
        );
        assert_eq!(
            eval("TIMESTAMPTOSTRING(1709211909007, 'yyyy-MM-dd''T''HH:mm:ssXXX', 'America/New_York')"),
            "2024-02-29T08:05:09-05:00"
        );
        assert_eq!(
            eval("TIMESTAMPTOSTRING(0, 'yyyy-MM-dd HH:mm', '+02:00')"),
            "1970-01-01 02:00"
        );
        assert_eq!(eval("TIMESTAMPTOSTRING(NULL, 'yyyy')"), "NULL");
        assert_eq!(eval("TIMESTAMPTOSTRING(0, NULL)"), "NULL");
        assert_eq!(eval_type("TIMESTAMPTOSTRING(0, 'yyyy')"), DataType::Utf8);
        assert!(eval_err("TIMESTAMPTOSTRING(0, 'yyyy', 'PST')").contains("TIMESTAMPTOSTRING: unknown time zone 'PST'"));
        assert!(eval_err("TIMESTAMPTOSTRING(0, 'yyyy-ww')").contains("TIMESTAMPTOSTRING: invalid pattern 'yyyy-ww'"));
        assert!(eval_err("TIMESTAMPTOSTRING(9223372036854775807, 'yyyy')").contains("out of range"));
        let got = rows("SELECT TIMESTAMPTOSTRING(ms, 'HH:mm') FROM (VALUES (0), (60000), (NULL)) AS t(ms)");
        assert_eq!(got, ["00:00", "00:01", "NULL"]);
    }

    #[test]
    fn stringtotimestamp() {
        assert_eq!(
            eval("STRINGTOTIMESTAMP('2024-02-29 13:05:09.007', 'yyyy-MM-dd HH:mm:ss.SSS')"),
            "1709211909007"
        );
        assert_eq!(
            eval("STRINGTOTIMESTAMP('2024-02-29 14:05:09.007', 'yyyy-MM-dd HH:mm:ss.SSS', 'Europe/Paris')"),
            "1709211909007"
        );
        assert_eq!(
            eval("STRINGTOTIMESTAMP('2024-02-29T13:05:09Z', 'yyyy-MM-dd''T''HH:mm:ssX', '+05:00')"),
            "1709211909000"
        );
        assert_eq!(eval_type("STRINGTOTIMESTAMP('1970', 'yyyy')"), DataType::Int64);
        assert_eq!(eval("STRINGTOTIMESTAMP(NULL, 'yyyy')"), "NULL");
        let err = eval_err("STRINGTOTIMESTAMP('not a date', 'yyyy-MM-dd')");
        assert!(
            err.contains("STRINGTOTIMESTAMP: failed to parse timestamp 'not a date' with pattern 'yyyy-MM-dd'"),
            "{err}"
        );
        let got = rows("SELECT STRINGTOTIMESTAMP(s, 'yyyy-MM-dd') FROM (VALUES ('1970-01-02'), (NULL)) AS t(s)");
        assert_eq!(got, ["86400000", "NULL"]);
        assert!(eval_err("SELECT STRINGTOTIMESTAMP(s, 'yyyy') FROM (VALUES ('1970'), ('x')) AS t(s)").contains("'x'"));
    }

    #[test]
    fn format_and_parse_timestamp() {
        assert_eq!(
            eval("FORMAT_TIMESTAMP(FROM_UNIXTIME(1709211909007), 'yyyy-MM-dd HH:mm:ss.SSS')"),
            "2024-02-29 13:05:09.007"
        );
        assert_eq!(
            eval("FORMAT_TIMESTAMP(PARSE_TIMESTAMP('2024-01-01 10:00', 'yyyy-MM-dd HH:mm', 'GMT+2'), 'HH:mm')"),
            "08:00"
        );
        assert_eq!(eval_type("PARSE_TIMESTAMP('1970', 'yyyy')"), timestamp_type());
        assert_eq!(
            eval("UNIX_TIMESTAMP(PARSE_TIMESTAMP('1970-01-01 00:00:01', 'yyyy-MM-dd HH:mm:ss'))"),
            "1000"
        );
        assert_eq!(eval("FORMAT_TIMESTAMP(CAST(NULL AS TIMESTAMP), 'yyyy')"), "NULL");
        assert!(eval_err("PARSE_TIMESTAMP('x', 'yyyy')").contains("PARSE_TIMESTAMP: failed to parse"));
        let got = rows("SELECT FORMAT_TIMESTAMP(FROM_UNIXTIME(ms), 'yyyy') FROM (VALUES (0), (NULL)) AS t(ms)");
        assert_eq!(got, ["1970", "NULL"]);
    }

    #[test]
    fn unix_timestamp_and_from_unixtime() {
        let now: i64 = eval("UNIX_TIMESTAMP()").parse().unwrap();
        assert!(now > 1_700_000_000_000);
        assert_eq!(eval_type("UNIX_TIMESTAMP()"), DataType::Int64);
        assert_eq!(eval("UNIX_TIMESTAMP(FROM_UNIXTIME(42))"), "42");
        assert_eq!(eval_type("FROM_UNIXTIME(42)"), timestamp_type());
        assert_eq!(eval("FROM_UNIXTIME(NULL)"), "NULL");
        assert_eq!(
            rows("SELECT UNIX_TIMESTAMP(FROM_UNIXTIME(ms)) FROM (VALUES (1), (NULL)) AS t(ms)"),
            ["1", "NULL"]
        );
    }
}
