//! Number and text conversions that behave like the Java library calls ksqlDB's serdes make, so Weir reads and
//! writes the same values: `Integer.parseInt`/`Long.parseLong` (strict), `Double.parseDouble` (trims, accepts
//! `NaN`/`Infinity` and a `d`/`f` suffix), `Boolean.parseBoolean` (anything but "true" is false),
//! `new BigDecimal(String)` with ksqlDB's `DecimalUtil.ensureFit` (no rounding), `BigDecimal.toString`,
//! `Double.toString` (`1.0E7`), and the two Base64 decoders (Jackson's needs padding, `java.util.Base64`'s
//! does not).
//!
//! Everything here works on borrowed text and writes into caller-provided buffers: these run once per field of
//! every record.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::BufMut;

/// Base64 as Jackson reads it for JSON `BYTES` (padding required) and as every encoder writes it.
pub(crate) const BASE64_PADDED: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Base64 as `java.util.Base64.getDecoder()` reads it for DELIMITED `BYTES` (padding optional).
pub(crate) const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Writes `bytes` as padded standard Base64.
pub(crate) fn write_base64(bytes: &[u8], out: &mut impl BufMut) {
    // Encode in chunks through a stack buffer: no allocation, and 3-byte aligned chunks need no padding
    // until the last one.
    let mut buf = [0u8; 1024];
    for chunk in bytes.chunks(768) {
        match BASE64_PADDED.encode_slice(chunk, &mut buf) {
            Ok(n) => out.put_slice(buf.get(..n).unwrap_or_default()),
            // Unreachable: 768 input bytes need exactly 1024 output bytes.
            Err(_) => out.put_slice(BASE64_PADDED.encode(chunk).as_bytes()),
        }
    }
}

/// Shortens a user value for an error message.
pub(crate) fn snippet(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// `Long.parseLong`: an optional sign and ASCII digits, nothing else (no whitespace, no decimal point).
pub(crate) fn parse_long(s: &str) -> Option<i64> {
    let bytes = s.as_bytes();
    let (negative, digits) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulate negatively so that i64::MIN parses.
    let mut acc: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        acc = acc.checked_mul(10)?.checked_sub(i64::from(b - b'0'))?;
    }
    if negative { Some(acc) } else { acc.checked_neg() }
}

/// `Integer.parseInt`.
pub(crate) fn parse_int(s: &str) -> Option<i32> {
    parse_long(s).and_then(|v| i32::try_from(v).ok())
}

/// `Boolean.parseBoolean`: true for "true" in any case, false for everything else (never an error).
pub(crate) fn parse_boolean(s: &str) -> bool {
    s.eq_ignore_ascii_case("true")
}

/// `Double.parseDouble` for decimal input: surrounding whitespace and control characters are ignored, `NaN`
/// and `Infinity` are accepted with exactly that spelling, and one trailing `d`, `D`, `f` or `F` is allowed.
/// Hexadecimal floating-point literals (`0x1p3`) are not supported.
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim_matches(|c: char| c <= ' ');
    let (negative, body) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let magnitude = match body {
        "NaN" => f64::NAN,
        "Infinity" => f64::INFINITY,
        _ => {
            let body = body
                .strip_suffix(['d', 'D', 'f', 'F'])
                .filter(|b| b.ends_with(|c: char| c.is_ascii_digit() || c == '.'))
                .unwrap_or(body);
            let first_ok = body.starts_with(|c: char| c.is_ascii_digit() || c == '.');
            let chars_ok = body
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
            if !first_ok || !chars_ok {
                return None;
            }
            body.parse::<f64>().ok()?
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A number in `java.math.BigDecimal`'s string syntax (`-12.50`, `1E+3`, `.5`), split into parts without
/// copying. Its value is `digits × 10^-scale` where `digits` are the integer and fraction digits together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecimalLiteral<'a> {
    negative: bool,
    int_digits: &'a [u8],
    frac_digits: &'a [u8],
    exponent: i64,
    /// Leading zeros across `int_digits` + `frac_digits`.
    leading_zeros: usize,
}

/// Exponents beyond Java's `int` range make `new BigDecimal` fail too.
const MAX_EXPONENT: i64 = i32::MAX as i64;

impl<'a> DecimalLiteral<'a> {
    /// Parses `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`, which covers every JSON number.
    pub(crate) fn parse(s: &'a str) -> Option<Self> {
        let b = s.as_bytes();
        let mut i = 0;
        let negative = match b.first()? {
            b'-' => {
                i = 1;
                true
            }
            b'+' => {
                i = 1;
                false
            }
            _ => false,
        };
        let int_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let int_digits = &b[int_start..i];
        let mut frac_digits: &[u8] = &[];
        if b.get(i) == Some(&b'.') {
            i += 1;
            let frac_start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            frac_digits = &b[frac_start..i];
        }
        if int_digits.is_empty() && frac_digits.is_empty() {
            return None;
        }
        let mut exponent = 0i64;
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            let exp_negative = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exp_start = i;
            while let Some(d) = b.get(i).filter(|d| d.is_ascii_digit()) {
                exponent = exponent.saturating_mul(10).saturating_add(i64::from(d - b'0'));
                i += 1;
            }
            if i == exp_start || exponent > MAX_EXPONENT {
                return None;
            }
            if exp_negative {
                exponent = -exponent;
            }
        }
        if i != b.len() {
            return None;
        }
        let leading_zeros = int_digits.iter().chain(frac_digits).take_while(|&&d| d == b'0').count();
        Some(DecimalLiteral {
            negative,
            int_digits,
            frac_digits,
            exponent,
            leading_zeros,
        })
    }

    /// True when the literal has no fraction and no exponent (a JSON integer).
    pub(crate) fn is_integer_literal(&self) -> bool {
        self.frac_digits.is_empty() && self.exponent == 0
    }

    /// Number of significant digits (0 for zero).
    fn sig_len(&self) -> usize {
        self.int_digits.len() + self.frac_digits.len() - self.leading_zeros
    }

    /// The significant digits, most significant first.
    fn sig_digits(&self) -> impl Iterator<Item = u8> + '_ {
        self.int_digits
            .iter()
            .chain(self.frac_digits)
            .skip(self.leading_zeros)
            .map(|d| d - b'0')
    }

    /// BigDecimal's scale: the power of ten the digits are divided by.
    fn scale(&self) -> i64 {
        self.frac_digits.len() as i64 - self.exponent
    }

    /// The value truncated toward zero, as Jackson's `NumericNode.intValue()`/`asLong()` do, or `None` when it
    /// does not fit an i64 (ksqlDB wraps around silently there; Weir reports an error instead).
    pub(crate) fn truncate_to_i64(&self) -> Option<i64> {
        let n = self.sig_len() as i64;
        let int_len = n - self.scale();
        if n == 0 || int_len <= 0 {
            return Some(0);
        }
        if int_len > 19 {
            return None;
        }
        let mut acc: i128 = 0;
        let mut taken = 0;
        for d in self.sig_digits().take(int_len as usize) {
            acc = acc * 10 + i128::from(d);
            taken += 1;
        }
        for _ in taken..int_len {
            acc *= 10;
        }
        let signed = if self.negative { -acc } else { acc };
        i64::try_from(signed).ok()
    }

    /// `DecimalUtil.ensureFit`: the unscaled value at `scale` if the number fits `DECIMAL(precision, scale)`
    /// without rounding (a smaller scale is padded, extra trailing zeros are dropped), else ksqlDB's message.
    pub(crate) fn fit(&self, precision: u8, scale: i8) -> Result<i128, String> {
        let (p, s) = (i64::from(precision), i64::from(scale));
        let n = self.sig_len() as i64;
        if n == 0 {
            return Ok(0);
        }
        let value_scale = self.scale();
        if n - value_scale > p - s {
            return Err(format!(
                "Numeric field overflow: A field with precision {p} and scale {s} must round to an absolute \
                 value less than 10^{}. Got {}",
                p - s,
                self.plain_string()
            ));
        }
        let drop = value_scale - s;
        if drop > 0 && (drop >= n || self.sig_digits().skip((n - drop) as usize).any(|d| d != 0)) {
            return Err(format!(
                "Cannot fit decimal '{}' into DECIMAL({p}, {s}) without rounding. (Requires {n},{value_scale})",
                self.plain_string()
            ));
        }
        let keep = if drop > 0 { n - drop } else { n };
        let mut acc: i128 = 0;
        for d in self.sig_digits().take(keep as usize) {
            acc = acc
                .checked_mul(10)
                .and_then(|a| a.checked_add(i128::from(d)))
                .ok_or("decimal overflow")?;
        }
        for _ in 0..(-drop).max(0) {
            acc = acc.checked_mul(10).ok_or("decimal overflow")?;
        }
        Ok(if self.negative { -acc } else { acc })
    }

    /// `BigDecimal.toPlainString()`, for error messages (falls back to scientific notation for absurd
    /// exponents instead of printing millions of zeros).
    fn plain_string(&self) -> String {
        let scale = self.scale();
        if scale.abs() > 400 {
            let mut v = Vec::new();
            self.write_java_string(&mut v);
            return String::from_utf8_lossy(&v).into_owned();
        }
        let mut digits: Vec<u8> = self.sig_digits().map(|d| d + b'0').collect();
        if digits.is_empty() {
            digits.push(b'0');
        }
        let mut out = String::new();
        if self.negative && self.sig_len() > 0 {
            out.push('-');
        }
        push_plain(&mut out, &digits, scale);
        out
    }

    /// `BigDecimal.toString()`: what Jackson's `asText()` gives for a JSON number read as a decimal
    /// (`42.000` stays `42.000`, `1e1` becomes `1E+1`, `1.5e-3` becomes `0.0015`).
    pub(crate) fn write_java_string(&self, out: &mut impl BufMut) {
        let n = self.sig_len();
        let scale = self.scale();
        if self.negative && n > 0 {
            out.put_u8(b'-');
        }
        let digit_count = n.max(1) as i64;
        let adjusted = -scale + (digit_count - 1);
        let mut digits = self.sig_digits().map(|d| d + b'0');
        if scale == 0 {
            if n == 0 {
                out.put_u8(b'0');
            }
            digits.for_each(|d| out.put_u8(d));
        } else if scale > 0 && adjusted >= -6 {
            let int_len = digit_count - scale;
            if int_len > 0 {
                for _ in 0..int_len {
                    out.put_u8(digits.next().unwrap_or(b'0'));
                }
                out.put_u8(b'.');
                digits.for_each(|d| out.put_u8(d));
            } else {
                out.put_slice(b"0.");
                for _ in 0..-int_len {
                    out.put_u8(b'0');
                }
                if n == 0 {
                    out.put_u8(b'0');
                }
                digits.for_each(|d| out.put_u8(d));
            }
        } else {
            out.put_u8(digits.next().unwrap_or(b'0'));
            let mut rest = digits.peekable();
            if rest.peek().is_some() {
                out.put_u8(b'.');
                rest.for_each(|d| out.put_u8(d));
            }
            out.put_u8(b'E');
            if adjusted >= 0 {
                out.put_u8(b'+');
            }
            write_i64(adjusted, out);
        }
    }

    /// The Jackson node class a JSON number becomes (`IntNode`, `LongNode`, `BigIntegerNode`, `DecimalNode`),
    /// used in "Can't convert type" messages so they read like ksqlDB's.
    pub(crate) fn jackson_node(&self) -> &'static str {
        if !self.is_integer_literal() {
            return "DecimalNode";
        }
        match self.truncate_to_i64() {
            Some(v) if i32::try_from(v).is_ok() => "IntNode",
            Some(_) => "LongNode",
            None => "BigIntegerNode",
        }
    }
}

fn push_plain(out: &mut String, digits: &[u8], scale: i64) {
    let digits = String::from_utf8_lossy(digits);
    if scale <= 0 {
        out.push_str(&digits);
        for _ in 0..-scale {
            out.push('0');
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else {
        out.push_str("0.");
        for _ in 0..scale - digits.len() {
            out.push('0');
        }
        out.push_str(&digits);
    }
}

/// Writes an integer in decimal.
pub(crate) fn write_i64(v: i64, out: &mut impl BufMut) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.put_u8(b'-');
    }
    out.put_slice(&buf[i..]);
}

/// Writes a DECIMAL's unscaled value at `scale` without exponent, keeping trailing zeros (`1.50`), as
/// `BigDecimal.toPlainString()` does.
pub(crate) fn write_decimal(unscaled: i128, scale: i8, out: &mut impl BufMut) {
    let mut buf = [0u8; 40];
    let mut i = buf.len();
    let mut n = unscaled.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = &buf[i..];
    if unscaled < 0 {
        out.put_u8(b'-');
    }
    if scale <= 0 {
        out.put_slice(digits);
        for _ in 0..-i32::from(scale) {
            out.put_u8(b'0');
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.put_slice(int);
        out.put_u8(b'.');
        out.put_slice(frac);
    } else {
        out.put_slice(b"0.");
        for _ in 0..scale - digits.len() {
            out.put_u8(b'0');
        }
        out.put_slice(digits);
    }
}

/// A fixed-size text buffer for `write!` without allocating.
struct StackText {
    buf: [u8; 48],
    len: usize,
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `Double.toString`: the shortest digits that read back as the same double, in plain notation with at least
/// one fraction digit for magnitudes in `[1e-3, 1e7)` (`10.0`, `0.001`) and in computerized scientific notation
/// otherwise (`1.0E7`, `1.5E-4`). `NaN`, `Infinity` and `-Infinity` are spelled out.
pub(crate) fn write_java_double(v: f64, out: &mut impl BufMut) {
    if v.is_nan() {
        return out.put_slice(b"NaN");
    }
    if v.is_infinite() {
        return out.put_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
    }
    if v.is_sign_negative() {
        out.put_u8(b'-');
    }
    if v == 0.0 {
        return out.put_slice(b"0.0");
    }
    // Rust prints the shortest round-tripping digits too; only the layout differs.
    let mut text = StackText { buf: [0; 48], len: 0 };
    if write!(text, "{:e}", v.abs()).is_err() {
        return out.put_slice(b"NaN");
    }
    let s = &text.buf[..text.len];
    let e_pos = s.iter().position(|&b| b == b'e').unwrap_or(s.len());
    let mut digits = [0u8; 24];
    let mut n = 0;
    for &b in &s[..e_pos] {
        if b.is_ascii_digit() && n < digits.len() {
            digits[n] = b;
            n += 1;
        }
    }
    let digits = &digits[..n.max(1)];
    let exp = std::str::from_utf8(s.get(e_pos + 1..).unwrap_or_default())
        .ok()
        .and_then(|e| e.parse::<i32>().ok())
        .unwrap_or(0);
    if (-3..7).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            for i in 0..int_len {
                out.put_u8(digits.get(i).copied().unwrap_or(b'0'));
            }
            out.put_u8(b'.');
            match digits.get(int_len..) {
                Some(frac) if !frac.is_empty() => out.put_slice(frac),
                _ => out.put_u8(b'0'),
            }
        } else {
            out.put_slice(b"0.");
            for _ in 0..(-exp - 1) {
                out.put_u8(b'0');
            }
            out.put_slice(digits);
        }
    } else {
        out.put_u8(digits[0]);
        out.put_u8(b'.');
        match digits.get(1..) {
            Some(rest) if !rest.is_empty() => out.put_slice(rest),
            _ => out.put_u8(b'0'),
        }
        out.put_u8(b'E');
        write_i64(i64::from(exp), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(v: f64) -> String {
        let mut out = Vec::new();
        write_java_double(v, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn java_string(s: &str) -> String {
        let mut out = Vec::new();
        DecimalLiteral::parse(s).unwrap().write_java_string(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn decimal(unscaled: i128, scale: i8) -> String {
        let mut out = Vec::new();
        write_decimal(unscaled, scale, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn java_integer_parsing_is_strict() {
        assert_eq!(parse_long("42"), Some(42));
        assert_eq!(parse_long("+42"), Some(42));
        assert_eq!(parse_long("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_long("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_long("9223372036854775808"), None);
        for bad in ["", "-", "+", " 1", "1 ", "1.0", "1e3", "0x10", "--1", "١"] {
            assert_eq!(parse_long(bad), None, "{bad:?}");
        }
        assert_eq!(parse_int("2147483647"), Some(i32::MAX));
        assert_eq!(parse_int("2147483648"), None);
        assert_eq!(parse_int("-2147483648"), Some(i32::MIN));
    }

    #[test]
    fn java_double_parsing() {
        assert_eq!(parse_double("42"), Some(42.0));
        assert_eq!(parse_double(" 42.000 "), Some(42.0));
        assert_eq!(parse_double("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_double("1.5d"), Some(1.5));
        assert_eq!(parse_double("2F"), Some(2.0));
        assert_eq!(parse_double(".5"), Some(0.5));
        assert_eq!(parse_double("5."), Some(5.0));
        assert!(parse_double("NaN").unwrap().is_nan());
        assert_eq!(parse_double("-Infinity"), Some(f64::NEG_INFINITY));
        for bad in ["", "abc", "inf", "nan", "infinity", "1e", "e5", "+-1", "1,5", "d", "."] {
            assert_eq!(parse_double(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn java_boolean_parsing_never_fails() {
        assert!(parse_boolean("true"));
        assert!(parse_boolean("TRUE"));
        assert!(!parse_boolean("yes"));
        assert!(!parse_boolean(""));
    }

    #[test]
    fn decimal_literals() {
        for bad in [
            "",
            "-",
            ".",
            "1e",
            "1e+",
            "1.2.3",
            "1a",
            "e1",
            " 1",
            "1 ",
            "1e99999999999",
        ] {
            assert!(DecimalLiteral::parse(bad).is_none(), "{bad:?}");
        }
        assert!(DecimalLiteral::parse("12").unwrap().is_integer_literal());
        assert!(!DecimalLiteral::parse("12.0").unwrap().is_integer_literal());
    }

    #[test]
    fn decimal_fit_follows_ensure_fit() {
        let fit = |s: &str, p, sc| DecimalLiteral::parse(s).unwrap().fit(p, sc);
        assert_eq!(fit("10.10", 4, 2), Ok(1010));
        assert_eq!(fit("01.12", 4, 2), Ok(112));
        assert_eq!(fit("2", 4, 2), Ok(200));
        assert_eq!(fit("-1.12", 4, 2), Ok(-112));
        assert_eq!(fit("1.1", 4, 3), Ok(1100));
        assert_eq!(fit("1.10", 4, 1), Ok(11));
        assert_eq!(fit("1E+1", 3, 1), Ok(100));
        assert_eq!(fit("0.000", 2, 1), Ok(0));
        assert_eq!(fit("1.1234512345123451234", 20, 19), Ok(11234512345123451234));
        assert_eq!(
            fit("99999999999999999999999999999999999999", 38, 0),
            Ok(99999999999999999999999999999999999999)
        );
        assert_eq!(
            fit("1.12", 4, 1).unwrap_err(),
            "Cannot fit decimal '1.12' into DECIMAL(4, 1) without rounding. (Requires 3,2)"
        );
        assert_eq!(
            fit("100", 4, 2).unwrap_err(),
            "Numeric field overflow: A field with precision 4 and scale 2 must round to an absolute value less \
             than 10^2. Got 100"
        );
        assert!(
            fit("1e2147483647", 38, 0)
                .unwrap_err()
                .starts_with("Numeric field overflow")
        );
        assert!(fit("1e-2147483647", 38, 2).unwrap_err().contains("without rounding"));
    }

    #[test]
    fn decimal_truncation_to_integers() {
        let t = |s: &str| DecimalLiteral::parse(s).unwrap().truncate_to_i64();
        assert_eq!(t("41.456"), Some(41));
        assert_eq!(t("-41.9"), Some(-41));
        assert_eq!(t("0.5"), Some(0));
        assert_eq!(t("1e3"), Some(1000));
        assert_eq!(t("1.5e1"), Some(15));
        assert_eq!(t("9223372036854775807"), Some(i64::MAX));
        assert_eq!(t("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(t("9223372036854775808"), None);
        assert_eq!(t("1e30"), None);
        assert_eq!(t("1e-30"), Some(0));
    }

    #[test]
    fn bigdecimal_to_string() {
        assert_eq!(java_string("42"), "42");
        assert_eq!(java_string("42.000"), "42.000");
        assert_eq!(java_string("42.001"), "42.001");
        assert_eq!(java_string("1e1"), "1E+1");
        assert_eq!(java_string("1.5e-3"), "0.0015");
        assert_eq!(java_string("1.5E-7"), "1.5E-7");
        assert_eq!(java_string("0.000"), "0.000");
        assert_eq!(java_string("-0.0"), "0.0");
        assert_eq!(java_string("-12.5"), "-12.5");
        assert_eq!(java_string("123e-2"), "1.23");
        assert_eq!(java_string("0.0000001"), "1E-7");
        assert_eq!(java_string("12E+3"), "1.2E+4");
    }

    #[test]
    fn java_double_to_string() {
        assert_eq!(double(10.0), "10.0");
        assert_eq!(double(0.5), "0.5");
        assert_eq!(double(-1.25), "-1.25");
        assert_eq!(double(1234567.0), "1234567.0");
        assert_eq!(double(1e7), "1.0E7");
        assert_eq!(double(1.5e10), "1.5E10");
        assert_eq!(double(0.001), "0.001");
        assert_eq!(double(0.0001), "1.0E-4");
        assert_eq!(double(1.2345e-5), "1.2345E-5");
        assert_eq!(double(0.0), "0.0");
        assert_eq!(double(-0.0), "-0.0");
        assert_eq!(double(f64::NAN), "NaN");
        assert_eq!(double(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(double(f64::MAX), "1.7976931348623157E308");
        assert_eq!(double(f64::MIN_POSITIVE), "2.2250738585072014E-308");
        assert_eq!(double(0.1 + 0.2), "0.30000000000000004");
    }

    #[test]
    fn plain_decimals_keep_their_scale() {
        assert_eq!(decimal(150, 2), "1.50");
        assert_eq!(decimal(-50, 2), "-0.50");
        assert_eq!(decimal(5, 3), "0.005");
        assert_eq!(decimal(0, 2), "0.00");
        assert_eq!(decimal(123, 0), "123");
        assert_eq!(decimal(i128::MAX, 38), "1.70141183460469231731687303715884105727");
    }

    #[test]
    fn integers_and_base64() {
        let mut out = Vec::new();
        write_i64(i64::MIN, &mut out);
        assert_eq!(out, b"-9223372036854775808");
        let mut out = Vec::new();
        write_base64(&[123], &mut out);
        assert_eq!(out, b"ew==");
        let big: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let mut out = Vec::new();
        write_base64(&big, &mut out);
        assert_eq!(BASE64_PADDED.decode(&out).unwrap(), big);
        assert!(BASE64_PADDED.decode("ew").is_err());
        assert_eq!(BASE64_LENIENT.decode("ew").unwrap(), vec![123]);
        assert!(BASE64_LENIENT.decode("a").is_err());
        assert_eq!(snippet(&"é".repeat(100)).chars().count(), 35);
    }
}
