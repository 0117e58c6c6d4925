//! ksqlDB's string functions that DataFusion has no exact equivalent for: `LEN`, `SUBSTRING`, `REPLACE`,
//! `TRIM`/`LTRIM`/`RTRIM`, `LPAD`/`RPAD`, `SPLIT`, `INSTR`, `INITCAP`, `CHR` and `MASK`.
//!
//! Positions and lengths count Unicode scalar values (Rust `char`s). ksqlDB counts Java UTF-16 code units, so
//! the two differ only for characters outside the Basic Multilingual Plane (emoji and the like), where Weir
//! counts one and ksqlDB two. `BYTES` variants count bytes, as ksqlDB does.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryBuilder, Int32Array, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::Result;
use datafusion::common::cast::{as_binary_array, as_int64_array, as_string_array};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};

use super::util::{any_null, bad_args, bytes_type, cast_to, exec_err, int_type, invoke, string_type, udf_struct};

/// The largest string or byte array `LPAD`/`RPAD` will build, to keep a typo such as
/// `LPAD(x, 2000000000, ' ')` from exhausting memory (ksqlDB would try and fail with an out-of-memory error).
pub const MAX_PAD_LENGTH: i64 = 1 << 24;

/// `STRING`, or `BYTES` when the argument is binary.
fn string_or_bytes(dt: &DataType) -> Option<DataType> {
    string_type(dt).or_else(|| bytes_type(dt))
}

fn is_binary(array: &ArrayRef) -> bool {
    bytes_type(array.data_type()).is_some()
}

fn strings(array: &ArrayRef) -> Result<ArrayRef> {
    cast_to(array, &DataType::Utf8)
}

fn ints(array: &ArrayRef) -> Result<ArrayRef> {
    cast_to(array, &DataType::Int64)
}

fn binaries(array: &ArrayRef) -> Result<ArrayRef> {
    cast_to(array, &DataType::Binary)
}

/// Number of characters in `s`.
pub(crate) fn char_len(s: &str) -> usize {
    if s.is_ascii() { s.len() } else { s.chars().count() }
}

/// The byte offset of character index `chars` in `s` (or `s.len()` past the end).
fn byte_offset(s: &str, chars: usize) -> usize {
    if s.is_ascii() {
        return chars.min(s.len());
    }
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

/// The characters `start..end` of `s`.
pub(crate) fn char_slice(s: &str, start: usize, end: usize) -> &str {
    let b_start = byte_offset(s, start);
    let rest = &s[b_start..];
    &rest[..byte_offset(rest, end.saturating_sub(start))]
}

/// ksqlDB's `SUBSTRING` bounds: a 1-based `pos` (0 behaves like 1), a negative `pos` counts from the end, and a
/// negative or overflowing length is clamped, so the result is always a (possibly empty) slice.
fn substring_range(len: usize, pos: i64, length: Option<i64>) -> (usize, usize) {
    let n = len as i64;
    let start = if pos < 0 {
        n.saturating_add(pos).max(0)
    } else {
        (pos - 1).clamp(0, n)
    };
    let end = match length {
        None => n,
        Some(l) => start.saturating_add(l).min(n).max(start),
    };
    (start as usize, end as usize)
}

fn expect_args(func: &str, types: &[DataType], counts: std::ops::RangeInclusive<usize>, form: &str) -> Result<()> {
    if counts.contains(&types.len()) {
        Ok(())
    } else {
        Err(bad_args(func, types, form))
    }
}

udf_struct!(
    /// `LEN(string)` → `INT` characters; `LEN(bytes)` → `INT` bytes.
    Len
);

impl ScalarUDFImpl for Len {
    fn name(&self) -> &str {
        "len"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t] => string_or_bytes(t)
                .map(|t| vec![t])
                .ok_or_else(|| bad_args("LEN", types, "STRING | BYTES")),
            _ => Err(bad_args("LEN", types, "STRING | BYTES")),
        }
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, _| {
            let out: Int32Array = if is_binary(&a[0]) {
                let b = binaries(&a[0])?;
                as_binary_array(&b)?.iter().map(|v| v.map(|v| v.len() as i32)).collect()
            } else {
                let s = strings(&a[0])?;
                as_string_array(&s)?
                    .iter()
                    .map(|v| v.map(|v| char_len(v) as i32))
                    .collect()
            };
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

udf_struct!(
    /// `SUBSTRING(str | bytes, pos [, len])`: 1-based, negative `pos` counts from the end.
    Substring
);

impl ScalarUDFImpl for Substring {
    fn name(&self) -> &str {
        "substring"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const FORM: &str = "STRING | BYTES, INT [, INT]";
        expect_args("SUBSTRING", types, 2..=3, FORM)?;
        let first = string_or_bytes(&types[0]).ok_or_else(|| bad_args("SUBSTRING", types, FORM))?;
        let mut out = vec![first];
        for t in &types[1..] {
            out.push(int_type(t).ok_or_else(|| bad_args("SUBSTRING", types, FORM))?);
        }
        Ok(out)
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(if bytes_type(&types[0]).is_some() {
            DataType::Binary
        } else {
            DataType::Utf8
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            let pos_arr = ints(&a[1])?;
            let pos = as_int64_array(&pos_arr)?;
            let len_arr = a.get(2).map(ints).transpose()?;
            let len = len_arr.as_ref().map(|l| as_int64_array(l)).transpose()?;
            let length_at = |i: usize| len.map(|l| l.value(i));
            let len_null = |i: usize| len.is_some_and(|l| l.is_null(i));
            if is_binary(&a[0]) {
                let b = binaries(&a[0])?;
                let b = as_binary_array(&b)?;
                let out: BinaryArray = (0..rows)
                    .map(|i| {
                        if b.is_null(i) || pos.is_null(i) || len_null(i) {
                            return None;
                        }
                        let v = b.value(i);
                        let (s, e) = substring_range(v.len(), pos.value(i), length_at(i));
                        Some(&v[s..e])
                    })
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            } else {
                let s = strings(&a[0])?;
                let s = as_string_array(&s)?;
                let out: StringArray = (0..rows)
                    .map(|i| {
                        if s.is_null(i) || pos.is_null(i) || len_null(i) {
                            return None;
                        }
                        let v = s.value(i);
                        let (start, end) = substring_range(char_len(v), pos.value(i), length_at(i));
                        Some(char_slice(v, start, end))
                    })
                    .collect();
                Ok(Arc::new(out) as ArrayRef)
            }
        })
    }
}

/// Coerces `n` string arguments.
fn all_strings(func: &str, types: &[DataType], n: usize, form: &str) -> Result<Vec<DataType>> {
    if types.len() != n {
        return Err(bad_args(func, types, form));
    }
    types
        .iter()
        .map(|t| string_type(t).ok_or_else(|| bad_args(func, types, form)))
        .collect()
}

udf_struct!(
    /// `REPLACE(str, old, new)`: every occurrence, like Java's `String.replace` (an empty `old` inserts `new`
    /// between all characters; DataFusion's Postgres-style `replace` returns the input unchanged instead).
    Replace
);

impl ScalarUDFImpl for Replace {
    fn name(&self) -> &str {
        "replace"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        all_strings("REPLACE", types, 3, "STRING, STRING, STRING")
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            let cols = a.iter().map(strings).collect::<Result<Vec<_>>>()?;
            let (s, old, new) = (
                as_string_array(&cols[0])?,
                as_string_array(&cols[1])?,
                as_string_array(&cols[2])?,
            );
            let out: StringArray = (0..rows)
                .map(|i| (!any_null!(i; s, old, new)).then(|| s.value(i).replace(old.value(i), new.value(i))))
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

/// Java's `String.trim()` removes every character up to and including U+0020 (space and ASCII controls).
fn java_blank(c: char) -> bool {
    c <= ' '
}

/// Which ends `TRIM`, `LTRIM` and `RTRIM` strip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TrimSide {
    Both,
    Left,
    Right,
}

/// `TRIM(str)`, `LTRIM(str)`, `RTRIM(str)`: strip spaces and control characters like Java's `trim()`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Trim {
    side: TrimSide,
    signature: Signature,
}

impl Trim {
    pub(crate) fn new(side: TrimSide) -> Self {
        Self {
            side,
            signature: Signature::user_defined(datafusion::logical_expr::Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Trim {
    fn name(&self) -> &str {
        match self.side {
            TrimSide::Both => "trim",
            TrimSide::Left => "ltrim",
            TrimSide::Right => "rtrim",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        all_strings(&self.name().to_uppercase(), types, 1, "STRING")
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let side = self.side;
        invoke(args, |a, _| {
            let s = strings(&a[0])?;
            let out: StringArray = as_string_array(&s)?
                .iter()
                .map(|v| {
                    v.map(|v| match side {
                        TrimSide::Both => v.trim_matches(java_blank),
                        TrimSide::Left => v.trim_start_matches(java_blank),
                        TrimSide::Right => v.trim_end_matches(java_blank),
                    })
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

/// `LPAD` or `RPAD`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Pad {
    left: bool,
    signature: Signature,
}

impl Pad {
    pub(crate) fn new(left: bool) -> Self {
        Self {
            left,
            signature: Signature::user_defined(datafusion::logical_expr::Volatility::Immutable),
        }
    }

    fn upper_name(&self) -> &'static str {
        if self.left { "LPAD" } else { "RPAD" }
    }
}

/// Pads `input` (as a sequence of units: chars or bytes) to `target` units with `padding` repeated, truncating
/// when the input is longer; `None` when the padding is empty or the target negative (ksqlDB returns NULL).
fn pad_units<T: Clone>(input: &[T], target: i64, padding: &[T], left: bool) -> Option<Vec<T>> {
    if padding.is_empty() || target < 0 {
        return None;
    }
    let target = target as usize;
    if input.len() >= target {
        return Some(input[..target].to_vec());
    }
    let fill = padding.iter().cycle().take(target - input.len()).cloned();
    Some(if left {
        fill.chain(input.iter().cloned()).collect()
    } else {
        input.iter().cloned().chain(fill).collect()
    })
}

impl ScalarUDFImpl for Pad {
    fn name(&self) -> &str {
        if self.left { "lpad" } else { "rpad" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        let func = self.upper_name();
        const FORM: &str = "STRING, INT, STRING | BYTES, INT, BYTES";
        let [input, len, pad] = types else {
            return Err(bad_args(func, types, FORM));
        };
        let len = int_type(len).ok_or_else(|| bad_args(func, types, FORM))?;
        let bytes = bytes_type(input).is_some() || bytes_type(pad).is_some();
        let kind = if bytes {
            let ok = |t: &DataType| bytes_type(t).is_some() || t == &DataType::Null;
            if !(ok(input) && ok(pad)) {
                return Err(bad_args(func, types, FORM));
            }
            DataType::Binary
        } else {
            string_type(input)
                .and(string_type(pad))
                .ok_or_else(|| bad_args(func, types, FORM))?
        };
        Ok(vec![kind.clone(), len, kind])
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(if bytes_type(&types[0]).is_some() {
            DataType::Binary
        } else {
            DataType::Utf8
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (left, func) = (self.left, self.upper_name());
        invoke(args, |a, rows| {
            let len_arr = ints(&a[1])?;
            let len = as_int64_array(&len_arr)?;
            let check = |i: usize| -> Result<()> {
                if len.is_valid(i) && len.value(i) > MAX_PAD_LENGTH {
                    return Err(exec_err(
                        func,
                        format!("target length {} exceeds the limit of {MAX_PAD_LENGTH}", len.value(i)),
                    ));
                }
                Ok(())
            };
            if is_binary(&a[0]) || is_binary(&a[2]) {
                let (input, pad) = (binaries(&a[0])?, binaries(&a[2])?);
                let (input, pad) = (as_binary_array(&input)?, as_binary_array(&pad)?);
                let mut out = BinaryBuilder::new();
                for i in 0..rows {
                    check(i)?;
                    let v = if any_null!(i; input, len, pad) {
                        None
                    } else {
                        pad_units(input.value(i), len.value(i), pad.value(i), left)
                    };
                    out.append_option(v);
                }
                Ok(Arc::new(out.finish()) as ArrayRef)
            } else {
                let (input, pad) = (strings(&a[0])?, strings(&a[2])?);
                let (input, pad) = (as_string_array(&input)?, as_string_array(&pad)?);
                let mut out = StringBuilder::new();
                for i in 0..rows {
                    check(i)?;
                    let v = if any_null!(i; input, len, pad) {
                        None
                    } else {
                        let chars: Vec<char> = input.value(i).chars().collect();
                        let padding: Vec<char> = pad.value(i).chars().collect();
                        pad_units(&chars, len.value(i), &padding, left).map(String::from_iter)
                    };
                    out.append_option(v);
                }
                Ok(Arc::new(out.finish()) as ArrayRef)
            }
        })
    }
}

udf_struct!(
    /// `SPLIT(str, delim)` → `ARRAY<STRING>` (and the `BYTES` form). The delimiter is literal; an empty one
    /// splits into characters (bytes); leading, trailing and adjacent delimiters yield empty elements.
    Split
);

/// Splits `s` on a literal delimiter the way ksqlDB does (Guava `Splitter`, or per character when empty).
fn split_str<'a>(s: &'a str, delim: &str) -> Vec<&'a str> {
    if delim.is_empty() {
        if s.is_empty() {
            return vec![""];
        }
        return s.char_indices().map(|(i, c)| &s[i..i + c.len_utf8()]).collect();
    }
    s.split(delim).collect()
}

fn split_bytes<'a>(b: &'a [u8], delim: &[u8]) -> Vec<&'a [u8]> {
    if delim.is_empty() {
        if b.is_empty() {
            return vec![b];
        }
        return b.chunks(1).collect();
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + delim.len() <= b.len() {
        if &b[i..i + delim.len()] == delim {
            parts.push(&b[start..i]);
            i += delim.len();
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(&b[start..]);
    parts
}

impl ScalarUDFImpl for Split {
    fn name(&self) -> &str {
        "split"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const FORM: &str = "STRING, STRING | BYTES, BYTES";
        let [a, b] = types else {
            return Err(bad_args("SPLIT", types, FORM));
        };
        if bytes_type(a).is_some() || bytes_type(b).is_some() {
            let ok = |t: &DataType| bytes_type(t).is_some() || t == &DataType::Null;
            if ok(a) && ok(b) {
                return Ok(vec![DataType::Binary, DataType::Binary]);
            }
            return Err(bad_args("SPLIT", types, FORM));
        }
        all_strings("SPLIT", types, 2, FORM)
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        let item = if bytes_type(&types[0]).is_some() {
            DataType::Binary
        } else {
            DataType::Utf8
        };
        Ok(DataType::List(Arc::new(Field::new("item", item, true))))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            if is_binary(&a[0]) || is_binary(&a[1]) {
                let (s, d) = (binaries(&a[0])?, binaries(&a[1])?);
                let (s, d) = (as_binary_array(&s)?, as_binary_array(&d)?);
                let mut out = ListBuilder::new(BinaryBuilder::new());
                for i in 0..rows {
                    if any_null!(i; s, d) {
                        out.append(false);
                        continue;
                    }
                    for part in split_bytes(s.value(i), d.value(i)) {
                        out.values().append_value(part);
                    }
                    out.append(true);
                }
                Ok(Arc::new(out.finish()) as ArrayRef)
            } else {
                let (s, d) = (strings(&a[0])?, strings(&a[1])?);
                let (s, d) = (as_string_array(&s)?, as_string_array(&d)?);
                let mut out = ListBuilder::new(StringBuilder::new());
                for i in 0..rows {
                    if any_null!(i; s, d) {
                        out.append(false);
                        continue;
                    }
                    for part in split_str(s.value(i), d.value(i)) {
                        out.values().append_value(part);
                    }
                    out.append(true);
                }
                Ok(Arc::new(out.finish()) as ArrayRef)
            }
        })
    }
}

udf_struct!(
    /// `INSTR(str, sub [, position [, occurrence]])` → `INT`, 1-based, 0 when not found.
    Instr
);

/// The 1-based position of the `occurrence`-th match of `needle` in `hay`, searching forward from `position`,
/// or backward from `len + position + 1` when `position` is negative (matches must end at or before that
/// character). 0 when there is no such match, when `position` is 0 or beyond the string, or when `occurrence`
/// is not positive.
///
/// ksqlDB documents these semantics (`INSTR('CORPORATE FLOOR', 'OR', -3, 2)` = 2); its implementation returns
/// `position - 1` instead of 0 for a failed search that starts past the first character, and is off by one
/// for backward searches of needles that are not two characters long. Weir follows the documentation.
pub(crate) fn instr(hay: &str, needle: &str, position: i64, occurrence: i64) -> i32 {
    let h: Vec<char> = hay.chars().collect();
    let nd: Vec<char> = needle.chars().collect();
    let (n, m) = (h.len() as i64, nd.len() as i64);
    if position == 0 || position.unsigned_abs() > n as u64 || occurrence <= 0 {
        return 0;
    }
    if m == 0 {
        return if position > 0 {
            position as i32
        } else {
            (n + position + 1) as i32
        };
    }
    let matches_at = |i: i64| h[i as usize..(i + m) as usize] == nd[..];
    let mut found = 0;
    if position > 0 {
        let mut i = position - 1;
        while i + m <= n {
            if matches_at(i) {
                found += 1;
                if found == occurrence {
                    return (i + 1) as i32;
                }
            }
            i += 1;
        }
    } else {
        let last = n + position;
        let mut i = last - m + 1;
        while i >= 0 {
            if matches_at(i) {
                found += 1;
                if found == occurrence {
                    return (i + 1) as i32;
                }
            }
            i -= 1;
        }
    }
    0
}

impl ScalarUDFImpl for Instr {
    fn name(&self) -> &str {
        "instr"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const FORM: &str = "STRING, STRING [, INT [, INT]]";
        expect_args("INSTR", types, 2..=4, FORM)?;
        let mut out = all_strings("INSTR", &types[..2], 2, FORM)?;
        for t in &types[2..] {
            out.push(int_type(t).ok_or_else(|| bad_args("INSTR", types, FORM))?);
        }
        Ok(out)
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            let (s, sub) = (strings(&a[0])?, strings(&a[1])?);
            let (s, sub) = (as_string_array(&s)?, as_string_array(&sub)?);
            let opt = a[2..].iter().map(ints).collect::<Result<Vec<_>>>()?;
            let pos = opt.first().map(|p| as_int64_array(p)).transpose()?;
            let occ = opt.get(1).map(|p| as_int64_array(p)).transpose()?;
            let out: Int32Array = (0..rows)
                .map(|i| {
                    if pos.is_some_and(|p| p.is_null(i)) || occ.is_some_and(|o| o.is_null(i)) {
                        return None;
                    }
                    // ksqlDB returns 0, not NULL, when the string or the substring is NULL.
                    if any_null!(i; s, sub) {
                        return Some(0);
                    }
                    let position = pos.map_or(1, |p| p.value(i));
                    let occurrence = occ.map_or(1, |o| o.value(i));
                    Some(instr(s.value(i), sub.value(i), position, occurrence))
                })
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

udf_struct!(
    /// `INITCAP(str)`: lower-cases the string and upper-cases the first letter of each whitespace-delimited word.
    InitCap
);

/// Java regex `\s`: space, tab, newline, vertical tab, form feed, carriage return.
fn java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// ksqlDB's `INITCAP`: it rebuilds the string from the regex matches of `\S+\s*` over the lower-cased input, so
/// leading whitespace is dropped and other whitespace is kept.
pub(crate) fn initcap(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut at_word_start = true;
    for c in lower.trim_start_matches(java_space).chars() {
        if java_space(c) {
            at_word_start = true;
            out.push(c);
        } else if at_word_start {
            at_word_start = false;
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl ScalarUDFImpl for InitCap {
    fn name(&self) -> &str {
        "initcap"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        all_strings("INITCAP", types, 1, "STRING")
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, _| {
            let s = strings(&a[0])?;
            let out: StringArray = as_string_array(&s)?.iter().map(|v| v.map(initcap)).collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

udf_struct!(
    /// `CHR(code INT)` or `CHR('\uXXXX')` → the character; NULL for invalid code points.
    Chr
);

/// Decodes a string of Java `\uXXXX` escapes (surrogate pairs combine); `None` unless it starts with `\u`
/// followed by four hex digits, or when it does not decode to valid characters.
pub(crate) fn chr_from_escape(s: &str) -> Option<String> {
    if !s.starts_with("\\u") || s.len() < 6 {
        return None;
    }
    let mut units: Vec<u16> = Vec::new();
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(hex) = rest.strip_prefix("\\u") {
            let code = hex.get(..4).and_then(|h| u16::from_str_radix(h, 16).ok())?;
            units.push(code);
            rest = &hex[4..];
        } else {
            out.push_str(&String::from_utf16(&units).ok()?);
            units.clear();
            let c = rest.chars().next()?;
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push_str(&String::from_utf16(&units).ok()?);
    Some(out)
}

impl ScalarUDFImpl for Chr {
    fn name(&self) -> &str {
        "chr"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types {
            [t] if int_type(t).is_some() => Ok(vec![DataType::Int64]),
            [t] if string_type(t).is_some() => Ok(vec![DataType::Utf8]),
            _ => Err(bad_args("CHR", types, "INT | STRING")),
        }
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, _| {
            let out: StringArray = if int_type(a[0].data_type()).is_some() {
                let c = ints(&a[0])?;
                as_int64_array(&c)?
                    .iter()
                    .map(|v| {
                        v.and_then(|v| u32::try_from(v).ok())
                            .and_then(char::from_u32)
                            .map(String::from)
                    })
                    .collect()
            } else {
                let s = strings(&a[0])?;
                as_string_array(&s)?
                    .iter()
                    .map(|v| v.and_then(chr_from_escape))
                    .collect()
            };
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

udf_struct!(
    /// `MASK(str [, upper, lower, digit, other])`: replaces upper-case letters with `X`, lower-case with `x`,
    /// digits with `n` and everything else with `-`; a NULL mask argument leaves that class unmasked.
    Mask
);

/// The replacement characters for the four classes; `None` keeps the class as is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Masks {
    pub upper: Option<char>,
    pub lower: Option<char>,
    pub digit: Option<char>,
    pub other: Option<char>,
}

impl Default for Masks {
    fn default() -> Self {
        Self {
            upper: Some('X'),
            lower: Some('x'),
            digit: Some('n'),
            other: Some('-'),
        }
    }
}

/// Masks `s`. The classes approximate Java's `Character.getType` (Lu, Ll, Nd) with Rust's `char` properties.
pub(crate) fn mask(s: &str, m: &Masks) -> String {
    s.chars()
        .map(|c| {
            let replacement = if c.is_uppercase() {
                m.upper
            } else if c.is_lowercase() {
                m.lower
            } else if c.is_numeric() {
                m.digit
            } else {
                m.other
            };
            replacement.unwrap_or(c)
        })
        .collect()
}

fn mask_char(v: Option<&str>) -> Result<Option<char>> {
    match v {
        None => Ok(None),
        Some(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok(Some(c)),
                _ => Err(exec_err(
                    "MASK",
                    format!("a mask must be a single character, got '{s}'"),
                )),
            }
        }
    }
}

impl ScalarUDFImpl for Mask {
    fn name(&self) -> &str {
        "mask"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        match types.len() {
            1 | 5 => all_strings("MASK", types, types.len(), "STRING [, STRING, STRING, STRING, STRING]"),
            _ => Err(bad_args("MASK", types, "STRING [, STRING, STRING, STRING, STRING]")),
        }
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            let cols = a.iter().map(strings).collect::<Result<Vec<_>>>()?;
            let cols = cols.iter().map(|c| as_string_array(c)).collect::<Result<Vec<_>>>()?;
            let mut out = StringBuilder::new();
            for i in 0..rows {
                if cols[0].is_null(i) {
                    out.append_null();
                    continue;
                }
                let masks = if cols.len() == 5 {
                    let at = |k: usize| mask_char(cols[k].is_valid(i).then(|| cols[k].value(i)));
                    Masks {
                        upper: at(1)?,
                        lower: at(2)?,
                        digit: at(3)?,
                        other: at(4)?,
                    }
                } else {
                    Masks::default()
                };
                out.append_value(mask(cols[0].value(i), &masks));
            }
            Ok(Arc::new(out.finish()) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{eval, eval_err, eval_type, rows};

    #[test]
    fn substring_ranges_follow_ksqldb() {
        // ksqlDB doc example and the negative / zero / out-of-range positions of its implementation.
        assert_eq!(eval("SUBSTRING('stream', 1, 4)"), "stre");
        assert_eq!(eval("SUBSTRING('stream', 3)"), "ream");
        assert_eq!(eval("SUBSTRING('stream', 0)"), "stream");
        assert_eq!(eval("SUBSTRING('stream', -3)"), "eam");
        assert_eq!(eval("SUBSTRING('stream', -3, 2)"), "ea");
        assert_eq!(eval("SUBSTRING('stream', -10, 3)"), "str");
        assert_eq!(eval("SUBSTRING('stream', 10)"), "");
        assert_eq!(eval("SUBSTRING('stream', 2, -1)"), "");
        assert_eq!(eval("SUBSTRING('stream', 2, 100)"), "tream");
        assert_eq!(
            eval("SUBSTRING('stream', 9223372036854775807, 9223372036854775807)"),
            ""
        );
        assert_eq!(eval("SUBSTRING('', 1, 1)"), "");
        assert_eq!(eval("SUBSTRING('héllo wörld', 2, 4)"), "éllo");
        assert_eq!(eval("SUBSTRING('日本語テキスト', -3)"), "キスト");
        assert_eq!(eval("SUBSTRING(NULL, 1)"), "NULL");
        assert_eq!(eval("SUBSTRING('abc', NULL)"), "NULL");
        assert_eq!(eval("SUBSTRING('abc', 1, NULL)"), "NULL");
        assert_eq!(eval_type("SUBSTRING('abc', 1)"), DataType::Utf8);
    }

    #[test]
    fn substring_from_for_syntax_and_bytes() {
        assert_eq!(eval("SUBSTRING('stream' FROM 2 FOR 3)"), "tre");
        assert_eq!(eval("SUBSTRING(CAST('stream' AS BYTEA), 2, 2)"), "7472");
        assert_eq!(eval_type("SUBSTRING(CAST('x' AS BYTEA), 1)"), DataType::Binary);
    }

    #[test]
    fn substring_on_columns() {
        let got = rows(
            "SELECT SUBSTRING(s, p, l) FROM (VALUES ('hello', 2, 3), (NULL, 1, 1), ('abc', -1, 5), ('x', 0, 0)) AS t(s, p, l)",
        );
        assert_eq!(got, ["ell", "NULL", "c", ""]);
        let got = rows("SELECT SUBSTRING(s, 2) FROM (VALUES ('hello'), ('é')) AS t(s)");
        assert_eq!(got, ["ello", ""]);
    }

    #[test]
    fn len_counts_characters_and_bytes() {
        assert_eq!(eval("LEN('hello')"), "5");
        assert_eq!(eval("LEN('')"), "0");
        assert_eq!(eval("LEN('héllo')"), "5");
        assert_eq!(eval("LEN(CAST('héllo' AS BYTEA))"), "6");
        assert_eq!(eval("LEN(NULL)"), "NULL");
        assert_eq!(eval_type("LEN('a')"), DataType::Int32);
        assert_eq!(
            rows("SELECT LEN(s) FROM (VALUES ('ab'), (NULL)) AS t(s)"),
            ["2", "NULL"]
        );
        assert!(eval_err("LEN(1)").contains("LEN"));
    }

    #[test]
    fn replace_is_java_string_replace() {
        assert_eq!(eval("REPLACE('Hello World', 'o', '0')"), "Hell0 W0rld");
        assert_eq!(eval("REPLACE('abc', '', '-')"), "-a-b-c-");
        assert_eq!(eval("REPLACE('aaa', 'aa', 'b')"), "ba");
        assert_eq!(eval("REPLACE('abc', 'b', NULL)"), "NULL");
        assert_eq!(eval("REPLACE(NULL, 'b', 'c')"), "NULL");
        assert_eq!(
            rows("SELECT REPLACE(s, 'x', 'y') FROM (VALUES ('xax'), (NULL)) AS t(s)"),
            ["yay", "NULL"]
        );
    }

    #[test]
    fn trims_strip_whitespace_and_controls() {
        assert_eq!(eval("TRIM('  a b  ')"), "a b");
        assert_eq!(eval("LTRIM('  a b  ')"), "a b  ");
        assert_eq!(eval("RTRIM('  a b  ')"), "  a b");
        assert_eq!(eval("TRIM(concat(chr(9), 'x', chr(10)))"), "x");
        assert_eq!(eval("TRIM('')"), "");
        assert_eq!(eval("TRIM(NULL)"), "NULL");
        assert_eq!(
            rows("SELECT TRIM(s) FROM (VALUES (' a '), (NULL)) AS t(s)"),
            ["a", "NULL"]
        );
    }

    #[test]
    fn pads_follow_ksqldb_examples() {
        assert_eq!(eval("LPAD('Foo', 7, 'Bar')"), "BarBFoo");
        assert_eq!(eval("LPAD('Foo', 2, 'Bar')"), "Fo");
        assert_eq!(eval("LPAD('', 2, 'Bar')"), "Ba");
        assert_eq!(eval("LPAD('123', 5, '0')"), "00123");
        assert_eq!(eval("RPAD('Foo', 7, 'Bar')"), "FooBarB");
        assert_eq!(eval("RPAD('Foo', 2, 'Bar')"), "Fo");
        assert_eq!(eval("RPAD('', 2, 'Bar')"), "Ba");
        assert_eq!(eval("LPAD('Foo', -1, 'x')"), "NULL");
        assert_eq!(eval("LPAD('Foo', 5, '')"), "NULL");
        assert_eq!(eval("LPAD('Foo', 5, NULL)"), "NULL");
        assert_eq!(eval("RPAD('é', 3, 'ü')"), "éüü");
        assert_eq!(eval("LPAD(CAST('ab' AS BYTEA), 4, CAST('x' AS BYTEA))"), "78786162");
        assert!(eval_err("LPAD('a', 2000000000, 'x')").contains("LPAD: target length 2000000000"));
        assert_eq!(
            rows("SELECT RPAD(s, n, '.') FROM (VALUES ('a', 3), ('abcd', 2)) AS t(s, n)"),
            ["a..", "ab"]
        );
    }

    #[test]
    fn split_is_literal() {
        assert_eq!(eval("SPLIT('a,b,,c', ',')"), "[a, b, , c]");
        assert_eq!(eval("SPLIT(',a,', ',')"), "[, a, ]");
        assert_eq!(eval("SPLIT('a.b', '.')"), "[a, b]");
        assert_eq!(eval("SPLIT('abc', 'x')"), "[abc]");
        assert_eq!(eval("SPLIT('aé', '')"), "[a, é]");
        assert_eq!(eval("SPLIT('', ',')"), "[]");
        assert_eq!(eval("ARRAY_LENGTH(SPLIT('', ','))"), "1");
        assert_eq!(eval("SPLIT(NULL, ',')"), "NULL");
        assert_eq!(eval("SPLIT('a', NULL)"), "NULL");
        assert!(matches!(eval_type("SPLIT('a', ',')"), DataType::List(f) if f.data_type() == &DataType::Utf8));
        assert_eq!(
            rows("SELECT SPLIT(s, '-') FROM (VALUES ('a-b'), (NULL)) AS t(s)"),
            ["[a, b]", "NULL"]
        );
        assert_eq!(split_bytes(b"a--b-", b"-"), vec![&b"a"[..], b"", b"b", b""]);
    }

    #[test]
    fn instr_follows_ksqldb_doc_examples() {
        assert_eq!(eval("INSTR('CORPORATE FLOOR', 'OR')"), "2");
        assert_eq!(eval("INSTR('CORPORATE FLOOR', 'OR', 3)"), "5");
        assert_eq!(eval("INSTR('CORPORATE FLOOR', 'OR', 3, 2)"), "14");
        assert_eq!(eval("INSTR('CORPORATE FLOOR', 'OR', -3)"), "5");
        assert_eq!(eval("INSTR('CORPORATE FLOOR', 'OR', -3, 2)"), "2");
        assert_eq!(eval("INSTR('CORPORATE FLOOR', 'MISSING')"), "0");
        assert_eq!(eval_type("INSTR('a', 'a')"), DataType::Int32);
    }

    #[test]
    fn instr_edges() {
        assert_eq!(eval("INSTR('abc', 'c', 0)"), "0");
        assert_eq!(eval("INSTR('abc', 'c', 4)"), "0");
        assert_eq!(eval("INSTR('abc', 'c', -4)"), "0");
        assert_eq!(eval("INSTR('abc', 'x', 2)"), "0");
        assert_eq!(eval("INSTR('abc', 'a', 1, 0)"), "0");
        assert_eq!(eval("INSTR('abc', 'c', -1)"), "3");
        assert_eq!(eval("INSTR('aaa', 'aa', 1, 2)"), "2");
        assert_eq!(eval("INSTR('hé hé', 'hé', 2)"), "4");
        assert_eq!(eval("INSTR(NULL, 'a')"), "0");
        assert_eq!(eval("INSTR('a', NULL)"), "0");
        assert_eq!(eval("INSTR('a', 'a', NULL)"), "NULL");
        assert_eq!(
            rows("SELECT INSTR(s, 'b') FROM (VALUES ('abc'), ('b'), (NULL)) AS t(s)"),
            ["2", "1", "0"]
        );
    }

    #[test]
    fn initcap_words() {
        assert_eq!(eval("INITCAP('the quick  BROWN fox')"), "The Quick  Brown Fox");
        assert_eq!(eval("INITCAP('  leading')"), "Leading");
        assert_eq!(eval("INITCAP('élan vital')"), "Élan Vital");
        assert_eq!(eval("INITCAP('')"), "");
        assert_eq!(eval("INITCAP(NULL)"), "NULL");
    }

    #[test]
    fn chr_from_codes_and_escapes() {
        assert_eq!(eval("CHR(75)"), "K");
        assert_eq!(eval("CHR(22909)"), "好");
        assert_eq!(eval("CHR('\\u004b')"), "K");
        assert_eq!(eval("CHR('\\u597d')"), "好");
        assert_eq!(eval("CHR('\\ud83d\\ude00')"), "😀");
        assert_eq!(eval("CHR(-1)"), "NULL");
        assert_eq!(eval("CHR(1114112)"), "NULL");
        assert_eq!(eval("CHR(55296)"), "NULL");
        assert_eq!(eval("CHR('K')"), "NULL");
        assert_eq!(eval("CHR('\\uzzzz')"), "NULL");
        assert_eq!(eval("CHR(CAST(NULL AS INT))"), "NULL");
        assert_eq!(rows("SELECT CHR(c) FROM (VALUES (65), (66)) AS t(c)"), ["A", "B"]);
    }

    #[test]
    fn mask_follows_ksqldb_examples() {
        assert_eq!(eval("MASK('My Test $123')"), "Xx-Xxxx--nnn");
        assert_eq!(eval("MASK('My Test $123', '*', NULL, '1', NULL)"), "*y *est $111");
        assert_eq!(eval("MASK(NULL)"), "NULL");
        assert!(eval_err("MASK('a', 'XX', NULL, NULL, NULL)").contains("single character"));
        assert_eq!(
            rows("SELECT MASK(s) FROM (VALUES ('Ab1'), (NULL)) AS t(s)"),
            ["Xxn", "NULL"]
        );
    }

    #[test]
    fn char_helpers() {
        assert_eq!(char_slice("héllo", 1, 3), "él");
        assert_eq!(char_slice("abc", 2, 10), "c");
        assert_eq!(substring_range(5, i64::MIN, Some(i64::MAX)), (0, 5));
        assert_eq!(substring_range(5, 3, Some(i64::MIN)), (2, 2));
        assert_eq!(chr_from_escape("\\u004bx"), Some("Kx".into()));
        assert_eq!(chr_from_escape("\\ud83d"), None);
    }
}
