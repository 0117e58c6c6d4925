//! ksqlDB's numeric functions `ABS`, `CEIL`, `FLOOR`, `ROUND` and `SQRT`.
//!
//! Result types follow ksqlDB's overloads (`ABS(INT)` is `INT`, `ROUND(DOUBLE)` is `BIGINT`, ...), which differ
//! from DataFusion's built-ins (they return floating point for integers, and `sqrt` of a negative number is
//! an error where Java returns NaN), so all five are Weir's own.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Decimal128Array, Float64Array, Int32Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, DecimalType};
use datafusion::common::Result;
use datafusion::common::cast::{as_decimal128_array, as_float64_array, as_int32_array, as_int64_array};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};

use super::util::{bad_args, cast_to, exec_err, int_type, invoke, numeric_type, udf_struct};

fn one_numeric(func: &str, types: &[DataType]) -> Result<Vec<DataType>> {
    match types {
        [t] => numeric_type(t)
            .map(|t| vec![t])
            .ok_or_else(|| bad_args(func, types, "INT | BIGINT | DOUBLE | DECIMAL")),
        _ => Err(bad_args(func, types, "INT | BIGINT | DOUBLE | DECIMAL")),
    }
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Whether an unscaled decimal value has at most `precision` digits.
fn fits(v: i128, precision: u8) -> bool {
    pow10(precision as u32).is_none_or(|limit| v.unsigned_abs() < limit.unsigned_abs())
}

/// `v / 10^digits`, rounded half toward positive infinity (ksqlDB: HALF_UP for positive values, HALF_DOWN
/// otherwise, mimicking `Math.round`).
fn round_unscaled(v: i128, digits: u32) -> i128 {
    let Some(f) = pow10(digits) else { return 0 };
    let (q, r) = (v / f, v % f);
    if v >= 0 {
        if r >= f - r { q + 1 } else { q }
    } else if -r > f + r {
        q - 1
    } else {
        q
    }
}

/// Rebuilds a decimal array of type `(p, s)` from per-row results, checking the precision.
fn decimal_rows(
    func: &str,
    input: &Decimal128Array,
    p: u8,
    s: i8,
    mut f: impl FnMut(i128) -> Option<i128>,
) -> Result<ArrayRef> {
    let out = input
        .iter()
        .map(|v| {
            v.map(|v| match f(v).filter(|r| fits(*r, p)) {
                Some(r) => Ok(r),
                None => Err(exec_err(
                    func,
                    format!("result for {} does not fit DECIMAL({p}, {s})", fmt_dec(v, s)),
                )),
            })
            .transpose()
        })
        .collect::<Result<Decimal128Array>>()?;
    Ok(Arc::new(out.with_precision_and_scale(p, s)?))
}

/// Formats an unscaled decimal for error messages.
fn fmt_dec(v: i128, scale: i8) -> String {
    datafusion::arrow::datatypes::Decimal128Type::format_decimal(v, 38, scale)
}

udf_struct!(
    /// `ABS(x)`, keeping the argument's type. ksqlDB (Java `Math.abs`) silently returns the minimum value for
    /// `ABS(-2147483648)`; Weir reports an overflow error instead.
    Abs
);

impl ScalarUDFImpl for Abs {
    fn name(&self) -> &str {
        "abs"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        one_numeric("ABS", types)
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let overflow = |v: &dyn std::fmt::Display| exec_err("ABS", format!("integer overflow for {v}"));
        invoke(args, |a, _| {
            Ok(match a[0].data_type() {
                DataType::Int32 => Arc::new(
                    as_int32_array(&a[0])?
                        .iter()
                        .map(|v| v.map(|v| v.checked_abs().ok_or_else(|| overflow(&v))).transpose())
                        .collect::<Result<Int32Array>>()?,
                ) as ArrayRef,
                DataType::Int64 => Arc::new(
                    as_int64_array(&a[0])?
                        .iter()
                        .map(|v| v.map(|v| v.checked_abs().ok_or_else(|| overflow(&v))).transpose())
                        .collect::<Result<Int64Array>>()?,
                ),
                DataType::Decimal128(p, s) => {
                    decimal_rows("ABS", as_decimal128_array(&a[0])?, *p, *s, |v| v.checked_abs())?
                }
                _ => {
                    let x = cast_to(&a[0], &DataType::Float64)?;
                    Arc::new(
                        as_float64_array(&x)?
                            .iter()
                            .map(|v| v.map(f64::abs))
                            .collect::<Float64Array>(),
                    )
                }
            })
        })
    }
}

/// `CEIL` or `FLOOR`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct CeilFloor {
    ceil: bool,
    signature: Signature,
}

impl CeilFloor {
    pub(crate) fn new(ceil: bool) -> Self {
        Self {
            ceil,
            signature: Signature::user_defined(datafusion::logical_expr::Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for CeilFloor {
    fn name(&self) -> &str {
        if self.ceil { "ceil" } else { "floor" }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        one_numeric(if self.ceil { "CEIL" } else { "FLOOR" }, types)
    }

    /// Integers are returned unchanged with their type, doubles stay doubles, decimals keep precision and scale.
    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(types[0].clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ceil = self.ceil;
        let func = if ceil { "CEIL" } else { "FLOOR" };
        invoke(args, |a, _| {
            Ok(match a[0].data_type() {
                DataType::Int32 | DataType::Int64 => Arc::clone(&a[0]),
                DataType::Decimal128(p, s) => {
                    let f = pow10((*s).max(0) as u32).unwrap_or(1);
                    decimal_rows(func, as_decimal128_array(&a[0])?, *p, *s, |v| {
                        let q = if ceil {
                            v.checked_neg().and_then(|n| n.div_euclid(f).checked_neg())
                        } else {
                            Some(v.div_euclid(f))
                        };
                        q.and_then(|q| q.checked_mul(f))
                    })?
                }
                _ => {
                    let x = cast_to(&a[0], &DataType::Float64)?;
                    let op = if ceil { f64::ceil } else { f64::floor };
                    Arc::new(
                        as_float64_array(&x)?
                            .iter()
                            .map(|v| v.map(op))
                            .collect::<Float64Array>(),
                    )
                }
            })
        })
    }
}

/// Java's `Math.round(double)`: the closest `long`, ties toward positive infinity, NaN → 0, saturating.
pub(crate) fn java_math_round(x: f64) -> i64 {
    let f = x.floor();
    let r = if x - f >= 0.5 { f + 1.0 } else { f };
    r as i64
}

/// ksqlDB's `ROUND(DOUBLE, places)`: round the shortest decimal representation of `x` (Java's
/// `BigDecimal.valueOf`) to `places` decimal places, ties toward positive infinity. Negative `places` round
/// to tens, hundreds, ... NaN and infinities are returned unchanged (ksqlDB fails on them).
pub(crate) fn round_double(x: f64, places: i64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return if x == 0.0 { 0.0 } else { x };
    }
    let negative = x < 0.0;
    let sci = format!("{:e}", x.abs());
    let Some((mantissa, exponent)) = sci.split_once('e') else {
        return x;
    };
    let Ok(exponent) = exponent.parse::<i64>() else {
        return x;
    };
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    let mut int_digits = exponent + 1;
    let keep = int_digits.saturating_add(places);
    if keep >= digits.len() as i64 {
        return x;
    }
    if keep < 0 {
        return 0.0;
    }
    let keep = keep as usize;
    let first = digits[keep];
    let rest_nonzero = digits[keep + 1..].iter().any(|d| *d != 0);
    let up = if negative {
        first > 5 || (first == 5 && rest_nonzero)
    } else {
        first >= 5
    };
    let mut kept = digits[..keep].to_vec();
    if up {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                int_digits += 1;
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    if kept.iter().all(|d| *d == 0) {
        return 0.0;
    }
    let text: String = kept.iter().map(|d| char::from(b'0' + d)).collect();
    let rounded = format!("{}0.{text}e{int_digits}", if negative { "-" } else { "" });
    rounded.parse::<f64>().unwrap_or(x)
}

udf_struct!(
    /// `ROUND(x [, places])` with ksqlDB's result types: `ROUND(INT | BIGINT | DOUBLE)` → `BIGINT`,
    /// `ROUND(DOUBLE, places)` → `DOUBLE`, `ROUND(DECIMAL(p, s))` → `DECIMAL(p - s + 1, 0)` and
    /// `ROUND(DECIMAL(p, s), places)` → `DECIMAL(p, s)`. Ties round toward positive infinity.
    Round
);

/// Precision of `ROUND(DECIMAL(p, s))`: ksqlDB declares `p - s`, one digit too few for a carry such as
/// `ROUND(9.5)` = 10 (and zero for `DECIMAL(2, 2)`), so Weir adds one.
fn round_decimal_precision(p: u8, s: i8) -> u8 {
    (p as i16 - s.max(0) as i16 + 1).clamp(1, 38) as u8
}

impl ScalarUDFImpl for Round {
    fn name(&self) -> &str {
        "round"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        const FORM: &str = "INT | BIGINT | DOUBLE | DECIMAL [, places INT]";
        match types {
            [_] => one_numeric("ROUND", types),
            [x, places] => {
                let places = int_type(places).ok_or_else(|| bad_args("ROUND", types, FORM))?;
                match numeric_type(x) {
                    Some(d @ DataType::Decimal128(..)) => Ok(vec![d, places]),
                    // ksqlDB has ROUND(DOUBLE, INT) and ROUND(DECIMAL, INT); integers widen to DOUBLE.
                    Some(_) => Ok(vec![DataType::Float64, places]),
                    None => Err(bad_args("ROUND", types, FORM)),
                }
            }
            _ => Err(bad_args("ROUND", types, FORM)),
        }
    }

    fn return_type(&self, types: &[DataType]) -> Result<DataType> {
        Ok(match (types.len(), &types[0]) {
            (1, DataType::Decimal128(p, s)) => DataType::Decimal128(round_decimal_precision(*p, *s), 0),
            (1, _) => DataType::Int64,
            (_, d @ DataType::Decimal128(..)) => d.clone(),
            _ => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, rows| {
            if a.len() == 1 {
                return round_one(&a[0]);
            }
            let places = cast_to(&a[1], &DataType::Int64)?;
            let places = as_int64_array(&places)?;
            if let DataType::Decimal128(p, s) = a[0].data_type() {
                let (p, s) = (*p, *s);
                let x = as_decimal128_array(&a[0])?;
                let out = (0..rows)
                    .map(|i| {
                        if x.is_null(i) || places.is_null(i) {
                            return Ok(None);
                        }
                        let v = x.value(i);
                        let drop = (s as i64).saturating_sub(places.value(i));
                        if drop <= 0 {
                            return Ok(Some(v));
                        }
                        let r = match u32::try_from(drop).ok().and_then(pow10) {
                            Some(f) => round_unscaled(v, drop as u32).checked_mul(f),
                            // More than 38 digits dropped: every DECIMAL rounds to zero.
                            None => Some(0),
                        };
                        match r.filter(|r| fits(*r, p)) {
                            Some(r) => Ok(Some(r)),
                            None => Err(exec_err(
                                "ROUND",
                                format!("result for {} does not fit DECIMAL({p}, {s})", fmt_dec(v, s)),
                            )),
                        }
                    })
                    .collect::<Result<Decimal128Array>>()?;
                return Ok(Arc::new(out.with_precision_and_scale(p, s)?) as ArrayRef);
            }
            let x = cast_to(&a[0], &DataType::Float64)?;
            let x = as_float64_array(&x)?;
            let out: Float64Array = (0..rows)
                .map(|i| (x.is_valid(i) && places.is_valid(i)).then(|| round_double(x.value(i), places.value(i))))
                .collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

/// One-argument `ROUND`.
fn round_one(x: &ArrayRef) -> Result<ArrayRef> {
    Ok(match x.data_type() {
        DataType::Int32 | DataType::Int64 => cast_to(x, &DataType::Int64)?,
        DataType::Decimal128(p, s) => {
            let (p, s) = (*p, *s);
            let out_p = round_decimal_precision(p, s);
            let digits = s.max(0) as u32;
            let out = as_decimal128_array(x)?
                .iter()
                .map(|v| {
                    v.map(|v| {
                        let r = if s < 0 {
                            v.checked_mul(pow10((-s) as u32).unwrap_or(1))
                        } else {
                            Some(round_unscaled(v, digits))
                        };
                        r.filter(|r| fits(*r, out_p)).ok_or_else(|| {
                            exec_err(
                                "ROUND",
                                format!("result for {} does not fit DECIMAL({out_p}, 0)", fmt_dec(v, s)),
                            )
                        })
                    })
                    .transpose()
                })
                .collect::<Result<Decimal128Array>>()?;
            Arc::new(out.with_precision_and_scale(out_p, 0)?)
        }
        _ => {
            let f = cast_to(x, &DataType::Float64)?;
            Arc::new(
                as_float64_array(&f)?
                    .iter()
                    .map(|v| v.map(java_math_round))
                    .collect::<Int64Array>(),
            )
        }
    })
}

udf_struct!(
    /// `SQRT(x)` → `DOUBLE`; negative input gives NaN, as in Java.
    Sqrt
);

impl ScalarUDFImpl for Sqrt {
    fn name(&self) -> &str {
        "sqrt"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, types: &[DataType]) -> Result<Vec<DataType>> {
        one_numeric("SQRT", types).map(|_| vec![DataType::Float64])
    }

    fn return_type(&self, _types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        invoke(args, |a, _| {
            let x = cast_to(&a[0], &DataType::Float64)?;
            let out: Float64Array = as_float64_array(&x)?.iter().map(|v| v.map(f64::sqrt)).collect();
            Ok(Arc::new(out) as ArrayRef)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::functions::test_support::{eval, eval_err, eval_type, rows};

    #[test]
    fn abs_keeps_types_and_reports_overflow() {
        assert_eq!(eval("ABS(CAST(-5 AS INT))"), "5");
        assert_eq!(eval_type("ABS(CAST(-5 AS INT))"), DataType::Int32);
        assert_eq!(eval("ABS(-5)"), "5");
        assert_eq!(eval_type("ABS(-5)"), DataType::Int64);
        assert_eq!(eval("ABS(-2.5)"), "2.5");
        assert_eq!(eval_type("ABS(CAST(-2.5 AS DOUBLE))"), DataType::Float64);
        assert_eq!(eval("ABS(CAST(-1.25 AS DECIMAL(5, 2)))"), "1.25");
        assert_eq!(
            eval_type("ABS(CAST(-1.25 AS DECIMAL(5, 2)))"),
            DataType::Decimal128(5, 2)
        );
        assert_eq!(eval("ABS(NULL)"), "NULL");
        assert_eq!(eval("ABS(CAST('NaN' AS DOUBLE))"), "NaN");
        let err = eval_err("ABS(CAST(-9223372036854775808 AS BIGINT))");
        assert!(err.contains("ABS: integer overflow for -9223372036854775808"), "{err}");
        assert!(eval_err("ABS(CAST(-2147483648 AS INT))").contains("ABS: integer overflow"));
        assert!(eval_err("ABS('x')").contains("ABS"));
        assert_eq!(
            rows("SELECT ABS(x) FROM (VALUES (-1), (NULL), (2)) AS t(x)"),
            ["1", "NULL", "2"]
        );
    }

    #[test]
    fn ceil_and_floor() {
        assert_eq!(eval("CEIL(1.2)"), "2.0");
        assert_eq!(eval("CEIL(-1.2)"), "-1.0");
        assert_eq!(eval("FLOOR(-1.2)"), "-2.0");
        assert_eq!(eval("FLOOR(CAST(7 AS INT))"), "7");
        assert_eq!(eval_type("FLOOR(CAST(7 AS INT))"), DataType::Int32);
        assert_eq!(eval_type("CEIL(7)"), DataType::Int64);
        assert_eq!(eval("CEIL(CAST(1.21 AS DECIMAL(4, 2)))"), "2.00");
        assert_eq!(eval("FLOOR(CAST(-1.21 AS DECIMAL(4, 2)))"), "-2.00");
        assert_eq!(
            eval_type("CEIL(CAST(1.21 AS DECIMAL(4, 2)))"),
            DataType::Decimal128(4, 2)
        );
        assert!(eval_err("CEIL(CAST(9.5 AS DECIMAL(2, 1)))").contains("CEIL: result for 9.5 does not fit"));
        assert_eq!(eval("CEIL(NULL)"), "NULL");
        assert_eq!(
            rows("SELECT FLOOR(x) FROM (VALUES (1.5), (NULL)) AS t(x)"),
            ["1.0", "NULL"]
        );
    }

    #[test]
    fn round_double_to_bigint_half_up() {
        assert_eq!(eval("ROUND(1.5)"), "2");
        assert_eq!(eval("ROUND(-1.5)"), "-1");
        assert_eq!(eval("ROUND(-1.9)"), "-2");
        assert_eq!(eval("ROUND(2.4)"), "2");
        assert_eq!(eval_type("ROUND(CAST(2.4 AS DOUBLE))"), DataType::Int64);
        assert_eq!(eval_type("ROUND(CAST(2 AS INT))"), DataType::Int64);
        assert_eq!(eval("ROUND(CAST(2 AS INT))"), "2");
        assert_eq!(eval("ROUND(CAST('NaN' AS DOUBLE))"), "0");
        assert_eq!(eval("ROUND(1e300)"), "9223372036854775807");
        assert_eq!(eval("ROUND(-1e300)"), "-9223372036854775808");
        assert_eq!(eval("ROUND(NULL)"), "NULL");
        assert_eq!(java_math_round(0.49999999999999994), 0);
        assert_eq!(java_math_round(-2.5), -2);
    }

    #[test]
    fn round_double_with_places() {
        assert_eq!(eval("ROUND(1.235, 2)"), "1.24");
        assert_eq!(eval("ROUND(-1.235, 2)"), "-1.23");
        assert_eq!(eval("ROUND(-1.2351, 2)"), "-1.24");
        assert_eq!(eval("ROUND(1234.5, -2)"), "1200.0");
        assert_eq!(eval("ROUND(1250, -2)"), "1300.0");
        assert_eq!(eval("ROUND(0.5, 0)"), "1.0");
        assert_eq!(eval("ROUND(-0.5, 0)"), "0.0");
        assert_eq!(eval("ROUND(9.99, 1)"), "10.0");
        assert_eq!(eval("ROUND(1.5, 100)"), "1.5");
        assert_eq!(eval("ROUND(1.5, -400)"), "0.0");
        assert_eq!(eval("ROUND(1.5, NULL)"), "NULL");
        assert_eq!(eval_type("ROUND(1.5, 1)"), DataType::Float64);
        assert_eq!(round_double(f64::INFINITY, 2), f64::INFINITY);
        assert_eq!(round_double(0.1 + 0.2, 2), 0.3);
        assert_eq!(round_double(5e-324, 400), 5e-324);
        assert_eq!(round_double(1.0e22, -21), 1.0e22);
        assert_eq!(
            rows("SELECT ROUND(x, p) FROM (VALUES (1.25, 1), (NULL, 1), (2.5, NULL)) AS t(x, p)"),
            ["1.3", "NULL", "NULL"]
        );
    }

    #[test]
    fn round_decimals() {
        assert_eq!(eval("ROUND(CAST(1.25 AS DECIMAL(5, 2)))"), "1");
        assert_eq!(eval("ROUND(CAST(-1.5 AS DECIMAL(5, 2)))"), "-1");
        assert_eq!(eval("ROUND(CAST(9.5 AS DECIMAL(2, 1)))"), "10");
        assert_eq!(
            eval_type("ROUND(CAST(9.5 AS DECIMAL(2, 1)))"),
            DataType::Decimal128(2, 0)
        );
        assert_eq!(
            eval_type("ROUND(CAST(0.5 AS DECIMAL(2, 2)))"),
            DataType::Decimal128(1, 0)
        );
        assert_eq!(eval("ROUND(CAST(1.255 AS DECIMAL(6, 3)), 2)"), "1.260");
        assert_eq!(eval("ROUND(CAST(-1.255 AS DECIMAL(6, 3)), 2)"), "-1.250");
        assert_eq!(eval("ROUND(CAST(125.5 AS DECIMAL(6, 1)), -1)"), "130.0");
        assert_eq!(eval("ROUND(CAST(125.5 AS DECIMAL(6, 1)), -60)"), "0.0");
        assert_eq!(
            eval_type("ROUND(CAST(1.255 AS DECIMAL(6, 3)), 2)"),
            DataType::Decimal128(6, 3)
        );
        assert!(eval_err("ROUND(CAST(9.99 AS DECIMAL(3, 2)), 0)").contains("ROUND: result for 9.99 does not fit"));
        assert_eq!(round_unscaled(i128::MAX, 40), 0);
    }

    #[test]
    fn sqrt_returns_double_and_nan() {
        assert_eq!(eval("SQRT(16)"), "4.0");
        assert_eq!(eval("SQRT(CAST(2.25 AS DECIMAL(3, 2)))"), "1.5");
        assert_eq!(eval("SQRT(-1)"), "NaN");
        assert_eq!(eval("SQRT(NULL)"), "NULL");
        assert_eq!(eval_type("SQRT(CAST(4 AS INT))"), DataType::Float64);
        assert_eq!(
            rows("SELECT SQRT(x) FROM (VALUES (4), (NULL)) AS t(x)"),
            ["2.0", "NULL"]
        );
    }
}
