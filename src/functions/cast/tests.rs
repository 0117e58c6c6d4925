//! `ksql_cast` through a DataFusion session (planning, constant folding and batch evaluation), and the
//! `check_cast` matrix.

use datafusion::arrow::datatypes::{DataType, TimeUnit};

use super::*;
use crate::functions::test_support::{eval, eval_err, eval_type, rows, try_eval};
use crate::sql::parse_type;

fn t(text: &str) -> SqlType {
    parse_type(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// `ksql_cast(<expr>, '<ty>')`, rendered.
fn cast_sql(expr: &str, ty: &str) -> String {
    eval(&format!("ksql_cast({expr}, '{ty}')"))
}

/// The error of `ksql_cast(<expr>, '<ty>')`.
fn cast_err(expr: &str, ty: &str) -> String {
    eval_err(&format!("ksql_cast({expr}, '{ty}')"))
}

/// `ksql_cast` over a column of string literals (NULL for `None`), rendered per row.
fn cast_strings(values: &[Option<&str>], ty: &str) -> Vec<String> {
    let values: Vec<String> = values
        .iter()
        .map(|v| match v {
            Some(s) => format!("('{}')", s.replace('\'', "''")),
            None => "(CAST(NULL AS VARCHAR))".to_string(),
        })
        .collect();
    rows(&format!(
        "SELECT ksql_cast(x, '{ty}') FROM (VALUES {}) AS v(x)",
        values.join(", ")
    ))
}

#[test]
fn matrix_of_supported_casts() {
    let scalars = [
        "BOOLEAN",
        "INTEGER",
        "BIGINT",
        "DOUBLE",
        "DECIMAL(4, 2)",
        "STRING",
        "BYTES",
        "TIMESTAMP",
        "DATE",
        "TIME",
        "ARRAY<INTEGER>",
        "MAP<STRING, INTEGER>",
        "STRUCT<`A` INTEGER>",
    ];
    // Rows: from; columns: to, in the order above. `=` is the identity.
    let allowed = [
        "=....x.......", // BOOLEAN
        ".=xxxx.......", // INTEGER
        ".x=xxx.......", // BIGINT
        ".xx=xx.......", // DECIMAL... (DOUBLE row)
        ".xxx=x.......", // DECIMAL
        "xxxxx=xxxx...", // STRING
        "......=......", // BYTES
        ".....x.=xx...", // TIMESTAMP
        ".....x.x=....", // DATE
        ".....x...=...", // TIME
        ".....x....=..", // ARRAY
        ".....x.....=.", // MAP
        ".....x......=", // STRUCT
    ];
    for (i, from) in scalars.iter().enumerate() {
        for (j, to) in scalars.iter().enumerate() {
            let expect = allowed[i].as_bytes()[j] != b'.';
            let got = check_cast(&t(from), &t(to));
            assert_eq!(got.is_ok(), expect, "{from} -> {to}: {got:?}");
            if let Err(msg) = got {
                assert_eq!(msg, format!("Cast of {} to {} is not supported", t(from), t(to)));
            }
        }
    }
    // Decimals of any precision and scale cast to each other.
    assert!(check_cast(&t("DECIMAL(4, 2)"), &t("DECIMAL(38, 0)")).is_ok());
}

#[test]
fn matrix_of_collections() {
    let ok = |from: &str, to: &str| check_cast(&t(from), &t(to));
    assert!(ok("ARRAY<BIGINT>", "ARRAY<INTEGER>").is_ok());
    assert!(ok("ARRAY<ARRAY<BIGINT>>", "ARRAY<ARRAY<STRING>>").is_ok());
    assert!(ok("MAP<STRING, MAP<STRING, STRING>>", "MAP<STRING, MAP<STRING, INTEGER>>").is_ok());
    assert!(ok("MAP<STRING, BIGINT>", "MAP<INTEGER, BOOLEAN>").is_err());
    assert!(ok("MAP<STRING, BIGINT>", "MAP<INTEGER, STRING>").is_ok());
    assert!(ok("STRUCT<F0 BIGINT, F1 STRING>", "STRUCT<F0 STRING, F3 STRING>").is_ok());
    // Only fields present on both sides must cast.
    assert!(ok("STRUCT<F0 BYTES, F1 STRING>", "STRUCT<F1 INTEGER>").is_ok());
    assert_eq!(
        ok("STRUCT<F0 BYTES>", "STRUCT<F0 STRING>"),
        Err("Cast of STRUCT<`F0` BYTES> to STRUCT<`F0` STRING> is not supported".into())
    );
    // The message names the outermost types.
    assert_eq!(
        ok("ARRAY<ARRAY<BOOLEAN>>", "ARRAY<ARRAY<INTEGER>>"),
        Err("Cast of ARRAY<ARRAY<BOOLEAN>> to ARRAY<ARRAY<INTEGER>> is not supported".into())
    );
    assert_eq!(
        ok("STRING", "ARRAY<INTEGER>"),
        Err("Cast of STRING to ARRAY<INTEGER> is not supported".into())
    );
    assert_eq!(
        ok("STRING", "STRUCT<F0 STRING, F1 INTEGER>"),
        Err("Cast of STRING to STRUCT<`F0` STRING, `F1` INTEGER> is not supported".into())
    );
    assert!(ok("ARRAY<INTEGER>", "MAP<STRING, INTEGER>").is_err());
    assert!(ok("STRING", "MAP<STRING, INTEGER>").is_err());
}

#[test]
fn planning_errors() {
    assert!(cast_err("'a'", "ARRAY<INTEGER>").contains("Cast of STRING to ARRAY<INTEGER> is not supported"));
    assert!(cast_err("true", "INTEGER").contains("Cast of BOOLEAN to INTEGER is not supported"));
    assert!(cast_err("X'01'", "INTEGER").contains("Cast of BYTES to INTEGER is not supported"));
    assert!(cast_err("X'01'", "STRING").contains("Cast of BYTES to STRING is not supported"));
    assert!(cast_err("1", "TIMESTAMP").contains("Cast of BIGINT to TIMESTAMP is not supported"));
    assert!(cast_err("1", "NOT A TYPE").contains("CAST: invalid target type 'NOT A TYPE'"));
    let err = eval_err("SELECT ksql_cast(1, t) FROM (VALUES ('INTEGER')) AS v(t)");
    assert!(err.contains("the target type must be a string literal"), "{err}");
    assert!(eval_err("ksql_cast(1)").contains("CAST"));
}

#[test]
fn result_types_come_from_the_literal() {
    assert_eq!(eval_type("ksql_cast(1, 'DECIMAL(5, 2)')"), DataType::Decimal128(5, 2));
    assert_eq!(eval_type("ksql_cast('1', 'INTEGER')"), DataType::Int32);
    assert_eq!(
        eval_type("ksql_cast('2020', 'TIMESTAMP')"),
        DataType::Timestamp(TimeUnit::Millisecond, None)
    );
    assert_eq!(
        eval_type("ksql_cast('10:00', 'TIME')"),
        DataType::Time32(TimeUnit::Millisecond)
    );
    assert_eq!(
        eval_type("ksql_cast(NULL, 'MAP<STRING, INT>')"),
        t("MAP<STRING, INTEGER>").to_arrow()
    );
    assert_eq!(eval_type("ksql_cast(1, 'VARCHAR')"), DataType::Utf8);
}

#[test]
fn nulls_stay_null() {
    for ty in [
        "BOOLEAN",
        "INTEGER",
        "BIGINT",
        "DOUBLE",
        "DECIMAL(4, 2)",
        "STRING",
        "BYTES",
        "TIMESTAMP",
        "DATE",
        "TIME",
        "ARRAY<INTEGER>",
        "MAP<STRING, INTEGER>",
        "STRUCT<`F0` INTEGER>",
    ] {
        assert_eq!(cast_sql("NULL", ty), "NULL", "{ty}");
    }
    assert_eq!(cast_sql("CAST(NULL AS DOUBLE)", "STRING"), "NULL");
    assert_eq!(cast_sql("CAST(NULL AS VARCHAR)", "INTEGER"), "NULL");
    assert_eq!(
        cast_strings(&[Some("1"), None, Some("3")], "INTEGER"),
        ["1", "NULL", "3"]
    );
}

#[test]
fn integers() {
    assert_eq!(cast_sql("2147483648", "INTEGER"), "-2147483648");
    assert_eq!(cast_sql("-2147483649", "INTEGER"), "2147483647");
    assert_eq!(cast_sql("CAST(7 AS INT)", "BIGINT"), "7");
    assert_eq!(cast_sql("CAST(-1 AS INT)", "DOUBLE"), "-1.0");
    assert_eq!(cast_sql("9007199254740993", "DOUBLE"), "9007199254740992.0");
    assert_eq!(cast_sql("CAST(-1 AS INT)", "STRING"), "-1");
    assert_eq!(cast_sql("-9223372036854775808", "STRING"), "-9223372036854775808");
    // To DECIMAL: must be below 10^(p - s).
    assert_eq!(cast_sql("CAST(1 AS INT)", "DECIMAL(2, 1)"), "1.0");
    assert_eq!(cast_sql("CAST(-9 AS INT)", "DECIMAL(2, 1)"), "-9.0");
    let err = cast_err("CAST(10 AS INT)", "DECIMAL(2, 1)");
    assert!(err.contains("CAST: cannot cast INTEGER '10' to DECIMAL(2, 1)"), "{err}");
    assert!(err.contains("Numeric field overflow"), "{err}");
    assert_eq!(cast_sql("9223372036854775807", "DECIMAL(19, 0)"), "9223372036854775807");
    assert!(cast_err("9223372036854775807", "DECIMAL(18, 0)").contains("Numeric field overflow"));
    assert_eq!(cast_sql("0", "DECIMAL(1, 1)"), "0.0");
    assert_eq!(
        cast_sql("123", "DECIMAL(38, 35)"),
        "123.00000000000000000000000000000000000"
    );
}

#[test]
fn doubles() {
    // Truncation toward zero, saturation and NaN as Java's (int)/(long).
    assert_eq!(cast_sql("CAST(3.3 AS DOUBLE) - CAST(2.1 AS DOUBLE)", "INTEGER"), "1");
    assert_eq!(cast_sql("CAST(-3.9 AS DOUBLE)", "INTEGER"), "-3");
    assert_eq!(cast_sql("CAST(-3.9 AS DOUBLE)", "BIGINT"), "-3");
    assert_eq!(cast_sql("CAST(1e20 AS DOUBLE)", "INTEGER"), "2147483647");
    assert_eq!(cast_sql("CAST(-1e20 AS DOUBLE)", "INTEGER"), "-2147483648");
    assert_eq!(cast_sql("CAST(1e30 AS DOUBLE)", "BIGINT"), "9223372036854775807");
    assert_eq!(cast_sql("CAST('NaN' AS DOUBLE)", "INTEGER"), "0");
    assert_eq!(
        cast_sql("CAST('-Infinity' AS DOUBLE)", "BIGINT"),
        "-9223372036854775808"
    );
    // Java's Double.toString.
    for (value, text) in [
        ("1.0", "1.0"),
        ("10.3", "10.3"),
        ("1e7", "1.0E7"),
        ("1e10", "1.0E10"),
        ("0.00001234", "1.234E-5"),
        ("0.001", "0.001"),
        ("-0.0", "-0.0"),
        ("123456.789", "123456.789"),
    ] {
        assert_eq!(cast_sql(&format!("CAST({value} AS DOUBLE)"), "STRING"), text, "{value}");
    }
    assert_eq!(cast_sql("CAST('NaN' AS DOUBLE)", "STRING"), "NaN");
    assert_eq!(cast_sql("CAST('Infinity' AS DOUBLE)", "STRING"), "Infinity");
    assert_eq!(cast_sql("CAST('-Infinity' AS DOUBLE)", "STRING"), "-Infinity");
    // To DECIMAL: the double's exact value rounded to the precision, then HALF_UP to the scale (QTT cast.json).
    for (value, text) in [
        ("0.1", "0.1"),
        ("1.1", "1.1"),
        ("0.0", "0.0"),
        ("0.99", "1.0"),
        ("0.10", "0.1"),
        ("0.01", "0.0"),
        ("0.05", "0.1"),
        ("-0.05", "-0.1"),
        ("0.149", "0.2"),
        ("9.94", "9.9"),
    ] {
        assert_eq!(
            cast_sql(&format!("CAST({value} AS DOUBLE)"), "DECIMAL(2, 1)"),
            text,
            "{value}"
        );
    }
    assert!(cast_err("CAST(9.96 AS DOUBLE)", "DECIMAL(2, 1)").contains("Numeric field overflow"));
    assert!(cast_err("CAST(10 AS DOUBLE)", "DECIMAL(2, 1)").contains("Numeric field overflow"));
    assert!(cast_err("CAST('NaN' AS DOUBLE)", "DECIMAL(2, 1)").contains("Infinite or NaN"));
    assert_eq!(cast_sql("CAST(1e-30 AS DOUBLE)", "DECIMAL(10, 2)"), "0.00");
    assert_eq!(cast_sql("CAST(12345.678 AS DOUBLE)", "DECIMAL(10, 2)"), "12345.68");
}

/// Double → DECIMAL against an independent model of `DecimalUtil.cast(double, p, s)` (Python's `decimal`:
/// exact value, `prec=p` HALF_UP, below 10^(p-s), then quantize HALF_UP).
#[test]
fn doubles_to_decimals_match_a_reference_model() {
    let cases: &[(f64, u8, i8, Option<&str>)] = &[
        (-210.0, 11, 2, Some("-210.00")),
        (-925008683.0, 17, 6, Some("-925008683.000000")),
        (-0.7523960777007088, 2, 2, Some("-0.75")),
        (-9.068346387, 13, 0, Some("-9")),
        (-0.38303635179613127, 4, 4, Some("-0.3830")),
        (-80.51388480105332, 7, 5, Some("-80.51388")),
        (-0.006, 16, 13, Some("-0.0060000000000")),
        (5.039, 8, 1, Some("5.0")),
        (5.142, 4, 4, None),
        (0.0006367066847346352, 18, 18, Some("0.000636706684734635")),
        (-8.128080078261929e-05, 19, 14, Some("-0.00008128080078")),
        (-3.8078524, 3, 0, Some("-4")),
        (8812971.0, 12, 0, Some("8812971")),
        (47672675.9, 10, 2, Some("47672675.90")),
        (0.6385596756714826, 18, 8, Some("0.63855968")),
        (76.8385, 12, 10, Some("76.8385000000")),
        (1.78247007, 8, 0, Some("2")),
        (2196248.7051, 18, 11, Some("2196248.70509999990")),
        (-79.2, 13, 6, Some("-79.200000")),
        (-0.675, 7, 7, Some("-0.6750000")),
        (897897517138867.2, 18, 3, Some("897897517138867.250")),
        (-0.00030522, 5, 5, Some("-0.00031")),
        (-8.282306768876688e-08, 15, 15, Some("-0.000000082823068")),
        (-0.589569986, 16, 5, Some("-0.58957")),
        (726.6500605793378, 1, 1, None),
        (0.06518479498575802, 6, 2, Some("0.07")),
        (61215716957.0, 20, 6, Some("61215716957.000000")),
        (-9.441258, 12, 11, Some("-9.44125800000")),
        (9100.01, 15, 11, Some("9100.01000000000")),
        (-3469339.0, 11, 3, Some("-3469339.000")),
        (5.646057681961801e-06, 3, 0, Some("0")),
        (-826.0, 14, 12, None),
        (-9.44902298582335, 6, 1, Some("-9.4")),
        (96.061188689, 5, 4, None),
        (-97151.4123687789, 5, 0, Some("-97151")),
        (97.30988, 5, 3, Some("97.310")),
        (-0.3480213841890576, 17, 7, Some("-0.3480214")),
        (-0.8367802705653271, 2, 2, Some("-0.84")),
        (4.701317117433269e-10, 17, 4, Some("0.0000")),
        (-7.00395030195315e-07, 20, 0, Some("0")),
    ];
    for &(x, p, s, expected) in cases {
        let mut exact = BigDec::from_f64(x).unwrap();
        exact.round_to_precision(p as usize);
        let got = fit_decimal(&exact, p, s).ok().map(|u| decimal_plain(u, s));
        assert_eq!(got.as_deref(), expected, "{x} as DECIMAL({p}, {s})");
    }
}

#[test]
fn decimals() {
    let dec = |v: &str, p: u8, s: u8| format!("CAST('{v}' AS DECIMAL({p}, {s}))");
    // QTT cast.json "decimal to other" and "decimal to decimal".
    for (v, i, d, s) in [
        ("0.00", "0", "0.0", "0.00"),
        ("0.01", "0", "0.01", "0.01"),
        ("10.00", "10", "10.0", "10.00"),
        ("10.01", "10", "10.01", "10.01"),
        ("-10.99", "-10", "-10.99", "-10.99"),
        ("-0.50", "0", "-0.5", "-0.50"),
    ] {
        assert_eq!(cast_sql(&dec(v, 4, 2), "INTEGER"), i, "{v}");
        assert_eq!(cast_sql(&dec(v, 4, 2), "BIGINT"), i, "{v}");
        assert_eq!(cast_sql(&dec(v, 4, 2), "DOUBLE"), d, "{v}");
        assert_eq!(cast_sql(&dec(v, 4, 2), "STRING"), s, "{v}");
    }
    assert_eq!(cast_sql(&dec("10.12", 4, 2), "DECIMAL(5, 3)"), "10.120");
    assert_eq!(cast_sql(&dec("1.00", 4, 2), "DECIMAL(5, 3)"), "1.000");
    assert_eq!(cast_sql(&dec("1.25", 4, 2), "DECIMAL(2, 1)"), "1.3");
    assert_eq!(cast_sql(&dec("-1.25", 4, 2), "DECIMAL(2, 1)"), "-1.3");
    assert!(cast_err(&dec("10.12", 4, 2), "DECIMAL(2, 1)").contains("Numeric field overflow"));
    // Rounding that overflows the precision is an error.
    assert!(cast_err(&dec("9.96", 4, 2), "DECIMAL(2, 1)").contains("Got 10.0"));
    // BigDecimal.intValue keeps the low 32 bits of the integer part.
    assert_eq!(cast_sql(&dec("4294967297.9", 11, 1), "INTEGER"), "1");
    assert_eq!(
        cast_sql(&dec("12345678901234567890.5", 38, 1), "BIGINT"),
        "-6101065172474983726"
    );
    assert_eq!(cast_sql(&dec("0.1", 38, 37), "DOUBLE"), "0.1");
    // (Arrow renders doubles with a lower-case `e`.)
    assert_eq!(
        cast_sql(&dec("123456789012345678.9", 19, 1), "DOUBLE"),
        "1.2345678901234568e17"
    );
}

#[test]
fn strings_to_booleans() {
    let got = cast_strings(
        &[
            Some("true"),
            Some("TRUE"),
            Some(" t "),
            Some("tRu"),
            Some("yes"),
            Some("Y"),
            Some("ye"),
            Some("false"),
            Some("no"),
            Some("truex"),
            Some("yess"),
            Some(""),
            Some("1"),
            None,
        ],
        "BOOLEAN",
    );
    assert_eq!(
        got,
        [
            "true", "true", "true", "true", "true", "true", "true", "false", "false", "false", "false", "false",
            "false", "NULL"
        ]
    );
}

#[test]
fn strings_to_numbers() {
    assert_eq!(
        cast_strings(
            &[Some(" 42 "), Some("+7"), Some("-2147483648"), Some("\t007\n")],
            "INTEGER"
        ),
        ["42", "7", "-2147483648", "7"]
    );
    for bad in ["4.2", "2147483648", "", "abc", "1e3", "0x10", "1 2"] {
        let err = cast_err(&format!("'{bad}'"), "INTEGER");
        assert!(
            err.contains(&format!("CAST: cannot cast STRING '{bad}' to INTEGER")),
            "{err}"
        );
    }
    assert_eq!(
        cast_strings(&[Some("2147483648"), Some(" -9223372036854775808")], "BIGINT"),
        ["2147483648", "-9223372036854775808"]
    );
    assert!(cast_err("'9223372036854775808'", "BIGINT").contains("For input string"));
    assert_eq!(
        cast_strings(
            &[Some("1.5"), Some(" 1e3 "), Some("-.5"), Some("2d"), Some("1E-5")],
            "DOUBLE"
        ),
        ["1.5", "1000.0", "-0.5", "2.0", "0.00001"]
    );
    for bad in ["NaN", "Infinity", "-Infinity", "1e400", "abc", "", "1,5", "inf"] {
        let err = cast_err(&format!("'{bad}'"), "DOUBLE");
        assert!(err.contains(&format!("cannot cast STRING '{bad}' to DOUBLE")), "{err}");
    }
    // QTT cast.json "string to decimal".
    assert_eq!(
        cast_strings(
            &[
                Some("0.1"),
                Some("1.1"),
                Some("0.0"),
                Some("0.99"),
                Some("0.10"),
                Some("0.01"),
                Some(" 5E-1 ")
            ],
            "DECIMAL(2, 1)"
        ),
        ["0.1", "1.1", "0.0", "1.0", "0.1", "0.0", "0.5"]
    );
    for bad in ["10", "abc", "", "1e", "NaN", "9.96"] {
        let err = cast_err(&format!("'{bad}'"), "DECIMAL(2, 1)");
        assert!(
            err.contains(&format!("cannot cast STRING '{bad}' to DECIMAL(2, 1)")),
            "{err}"
        );
    }
}

#[test]
fn other_types_to_strings() {
    assert_eq!(cast_sql("true", "STRING"), "true");
    assert_eq!(cast_sql("false", "STRING"), "false");
    assert_eq!(cast_sql("'x y'", "STRING"), "x y");
    // TIMESTAMP, DATE and TIME as SqlTimeTypes formats them.
    let ts = |ms: i64| format!("arrow_cast({ms}, 'Timestamp(Millisecond, None)')");
    assert_eq!(cast_sql(&ts(1_526_075_913_000), "STRING"), "2018-05-11T21:58:33.000");
    assert_eq!(cast_sql(&ts(10), "STRING"), "1970-01-01T00:00:00.010");
    assert_eq!(cast_sql(&ts(-1), "STRING"), "1969-12-31T23:59:59.999");
    assert_eq!(
        cast_sql(&ts(253_402_300_800_000), "STRING"),
        "+10000-01-01T00:00:00.000"
    );
    assert_eq!(
        cast_sql("arrow_cast(1, 'Timestamp(Microsecond, None)')", "STRING"),
        "1970-01-01T00:00:00.000"
    );
    assert_eq!(
        cast_sql("arrow_cast(1500, 'Timestamp(Millisecond, Some(\"+02:00\"))')", "STRING"),
        "1970-01-01T00:00:01.500"
    );
    assert_eq!(cast_sql("CAST('1970-01-11' AS DATE)", "STRING"), "1970-01-11");
    assert_eq!(cast_sql("arrow_cast(-719529, 'Date32')", "STRING"), "-0001-12-31");
    assert_eq!(cast_sql("arrow_cast(2932897, 'Date32')", "STRING"), "+10000-01-01");
    let time = |ms: i32| format!("arrow_cast(arrow_cast({ms}, 'Int32'), 'Time32(Millisecond)')");
    assert_eq!(cast_sql(&time(36_000_000), "STRING"), "10:00");
    assert_eq!(cast_sql(&time(1000), "STRING"), "00:00:01");
    assert_eq!(cast_sql(&time(1005), "STRING"), "00:00:01");
    assert_eq!(cast_sql(&time(86_399_999), "STRING"), "23:59:59");
}

#[test]
fn strings_to_timestamps() {
    let millis = |text: &str| eval(&format!("arrow_cast(ksql_cast('{text}', 'TIMESTAMP'), 'Int64')"));
    assert_eq!(millis("2022-04-28T21:44:47.943"), "1651182287943");
    assert_eq!(millis("2022-04-28T21:44:47.943Z"), "1651182287943");
    assert_eq!(millis(" 1970-01-01T00:00:01 "), "1000");
    assert_eq!(millis("2017-11-13T23:59:58.999+0100"), "1510613998999");
    assert_eq!(millis("2017-11-13T23:59:58.999-0100"), "1510621198999");
    assert_eq!(millis("2019-03-17T03:00-0700"), "1552816800000");
    assert_eq!(millis("2019-03-17T03:00-07:00"), "1552816800000");
    assert_eq!(millis("2017"), "1483228800000");
    assert_eq!(millis("2020-02"), "1580515200000");
    assert_eq!(millis("2020-01-02T"), "1577923200000");
    assert_eq!(millis("2020-01-02TZ"), "1577923200000");
    assert_eq!(millis("2020-12-02T13"), "1606914000000");
    assert_eq!(millis("2020-12-02T13:59Z"), "1606917540000");
    assert_eq!(millis("1969-12-31T23:59:59.999"), "-1");
    // Checked against Java 17 running ksqlDB's parsing steps.
    assert_eq!(millis("2020-02-30"), "1582934400000");
    assert_eq!(millis("2020-02-30T10"), "1582970400000");
    assert_eq!(millis("2020-01-01T1"), "1577872800000");
    assert_eq!(millis("+12345-01-01T00"), "327403382400000");
    assert_eq!(millis("2020-01-01T10:00:00.000+18:00"), "1577808000000");
    assert_eq!(millis("2020-01-01T10:00+5"), "1577854800000");
    assert_eq!(millis("2020-01-01T10:00:00.5"), "1577872800500");
    assert_eq!(cast_sql("'2018-05-11T21:58:33'", "TIMESTAMP"), "2018-05-11T21:58:33");
    for bad in [
        "foo",
        "2017-1-1",
        "2019-03-17 03:00",
        "2017-01-01T00:00:00.000+foo",
        "2020-01T10",
        "2020-13-01",
        "2017-01-01T00:00:00.0000",
        "",
        "12345-01-01",
        "2020-01-01t10:00",
        "2020-01-01T25:00",
    ] {
        let err = cast_err(&format!("'{bad}'"), "TIMESTAMP");
        assert!(
            err.contains(&format!("cannot cast STRING '{bad}' to TIMESTAMP")),
            "{bad}: {err}"
        );
    }
    assert!(cast_err("'foo'", "TIMESTAMP").contains("Required format is"));
}

#[test]
fn strings_to_dates_and_times() {
    let days = |text: &str| eval(&format!("arrow_cast(ksql_cast('{text}', 'DATE'), 'Int32')"));
    assert_eq!(days("1970-01-11"), "10");
    assert_eq!(days("1970-01"), "0");
    assert_eq!(days("1990"), "7305");
    assert_eq!(days(" 1969-12-31 "), "-1");
    assert_eq!(days("2020-02-29"), "18321");
    assert_eq!(days("+10000-01-01"), "2932897");
    assert_eq!(days("-0001-12-31"), "-719529");
    assert_eq!(days("0000-01-01"), "-719528");
    for bad in [
        "foo",
        "2020-02-30",
        "2021-02-29",
        "2020-1-01",
        "10000-01-01",
        "+2020-01-01",
        "2020-01-01T00",
        "",
        "-2020",
        "2020-",
        "-0000-01-01",
    ] {
        let err = cast_err(&format!("'{bad}'"), "DATE");
        assert!(
            err.contains(&format!("cannot cast STRING '{bad}' to DATE")),
            "{bad}: {err}"
        );
    }
    assert!(cast_err("'foo'", "DATE").contains("Required format is: \"yyyy-MM-dd\""));
    let ms = |text: &str| eval(&format!("arrow_cast(ksql_cast('{text}', 'TIME'), 'Int32')"));
    assert_eq!(ms("10:00:00"), "36000000");
    assert_eq!(ms("10:00"), "36000000");
    assert_eq!(ms("10:00:00.001"), "36000001");
    assert_eq!(ms(" 23:59:59.999999999 "), "86399999");
    assert_eq!(ms("00:00:01.5"), "1500");
    assert_eq!(ms("10:00:00."), "36000000");
    for bad in [
        "foo",
        "24:00",
        "10:60",
        "1:00",
        "10:00:00.1234567890",
        "10:00:",
        "10",
        "10:00:60",
    ] {
        let err = cast_err(&format!("'{bad}'"), "TIME");
        assert!(
            err.contains(&format!("cannot cast STRING '{bad}' to TIME")),
            "{bad}: {err}"
        );
    }
    assert!(cast_err("'foo'", "TIME").contains("Required format is: \"HH:mm:ss.SSS\""));
}

#[test]
fn strings_to_bytes() {
    assert_eq!(cast_sql("'YWJj'", "BYTES"), "616263");
    assert_eq!(cast_sql("' YWI= '", "BYTES"), "6162");
    assert_eq!(cast_sql("'YWI'", "BYTES"), "6162");
    assert_eq!(cast_sql("''", "BYTES"), "");
    assert_eq!(cast_sql("'YWJ='", "BYTES"), "6162");
    assert_eq!(cast_sql("'YR=='", "BYTES"), "61");
    for bad in ["YW=", "Y", "!!!!", "YWJj===", "YW Jj", "YWJjZA=", "YWJjZA==x"] {
        let err = cast_err(&format!("'{bad}'"), "BYTES");
        assert!(
            err.contains(&format!("cannot cast STRING '{bad}' to BYTES")),
            "{bad}: {err}"
        );
    }
}

#[test]
fn between_time_types() {
    let ts = |ms: i64| format!("arrow_cast({ms}, 'Timestamp(Millisecond, None)')");
    // TIMESTAMP → DATE floors (QTT date.json): 5000 → 0, -2000 → -1, 86400100 → 1.
    for (ms, days) in [(5000, "0"), (-2000, "-1"), (86_400_100, "1")] {
        assert_eq!(
            eval(&format!("arrow_cast(ksql_cast({}, 'DATE'), 'Int32')", ts(ms))),
            days
        );
    }
    assert_eq!(
        eval(&format!("arrow_cast(ksql_cast({}, 'TIME'), 'Int32')", ts(-2000))),
        "86398000"
    );
    assert_eq!(
        eval(&format!("arrow_cast(ksql_cast({}, 'TIME'), 'Int32')", ts(86_400_100))),
        "100"
    );
    assert_eq!(
        cast_sql("CAST('1970-01-11' AS DATE)", "TIMESTAMP"),
        "1970-01-11T00:00:00"
    );
    assert_eq!(cast_sql("arrow_cast(-1, 'Date32')", "TIMESTAMP"), "1969-12-31T00:00:00");
    assert!(cast_err(&ts(i64::MAX), "DATE").contains("out of range"));
}

#[test]
fn arrays() {
    // QTT cast.json: ARRAY<BIGINT> → ARRAY<INTEGER> wraps; to ARRAY<STRING>; nested.
    assert_eq!(
        cast_sql("make_array(1, 3, 2147483648)", "ARRAY<INTEGER>"),
        "[1, 3, -2147483648]"
    );
    assert_eq!(
        cast_sql("make_array(1, 3, 2147483648)", "ARRAY<STRING>"),
        "[1, 3, 2147483648]"
    );
    assert_eq!(
        cast_sql(
            "make_array(make_array(1, -3), make_array(-2147483648))",
            "ARRAY<ARRAY<STRING>>"
        ),
        "[[1, -3], [-2147483648]]"
    );
    assert_eq!(cast_sql("make_array(1, NULL, 3)", "ARRAY<DOUBLE>"), "[1.0, , 3.0]");
    assert_eq!(cast_sql("make_array(' 1', '2')", "ARRAY<INTEGER>"), "[1, 2]");
    assert!(cast_err("make_array('1', 'x')", "ARRAY<INTEGER>").contains("cannot cast STRING 'x' to INTEGER"));
    // To STRING: Java's List.toString of ksqlDB's values.
    assert_eq!(cast_sql("make_array(1, 3)", "STRING"), "[1, 3]");
    assert_eq!(cast_sql("make_array(1, NULL)", "STRING"), "[1, null]");
    assert_eq!(cast_sql("make_array('a', 'b c')", "STRING"), "[a, b c]");
    assert_eq!(
        cast_sql("make_array(CAST(1 AS DOUBLE), CAST(1e7 AS DOUBLE))", "STRING"),
        "[1.0, 1.0E7]"
    );
    assert_eq!(
        cast_sql(
            "make_array(CAST('0.0000001' AS DECIMAL(8, 7)), CAST('1.5' AS DECIMAL(8, 7)))",
            "STRING"
        ),
        "[1E-7, 1.5000000]"
    );
    assert_eq!(
        cast_sql("make_array(arrow_cast(10, 'Timestamp(Millisecond, None)'))", "STRING"),
        "[1970-01-01 00:00:00.01]"
    );
    assert_eq!(
        cast_sql("make_array(CAST('1970-01-11' AS DATE))", "STRING"),
        "[1970-01-11]"
    );
    assert_eq!(
        cast_sql(
            "make_array(arrow_cast(arrow_cast(36000000, 'Int32'), 'Time32(Millisecond)'))",
            "STRING"
        ),
        "[10:00:00]"
    );
    assert_eq!(
        cast_sql("make_array(X'0102')", "STRING"),
        "[java.nio.HeapByteBuffer[pos=0 lim=2 cap=2]]"
    );
    assert_eq!(
        cast_sql("make_array(make_array(1), make_array())", "STRING"),
        "[[1], []]"
    );
    assert_eq!(cast_sql("make_array(true)", "STRING"), "[true]");
}

#[test]
fn maps() {
    assert_eq!(cast_sql("map(['this'], [1])", "STRING"), "{this=1}");
    assert_eq!(cast_sql("map(['a', 'b'], [1, NULL])", "STRING"), "{a=1, b=null}");
    assert_eq!(
        cast_sql("map(['this'], [2147483648])", "MAP<STRING, INTEGER>"),
        "{this: -2147483648}"
    );
    assert_eq!(
        cast_sql(
            "map(['k1'], [map(['k2'], ['10'])])",
            "MAP<STRING, MAP<STRING, INTEGER>>"
        ),
        "{k1: {k2: 10}}"
    );
    // Keys that become equal keep the last value.
    assert_eq!(
        cast_sql("map([' 1', '2', '1'], ['a', 'b', 'c'])", "MAP<INTEGER, STRING>"),
        "{1: c, 2: b}"
    );
    assert!(cast_err("map(['x'], [1])", "MAP<INTEGER, INTEGER>").contains("cannot cast STRING 'x' to INTEGER"));
    assert_eq!(cast_sql("map(['a'], [make_array(1, 2)])", "STRING"), "{a=[1, 2]}");
}

#[test]
fn structs() {
    // QTT cast.json "struct to string" and "struct to struct with different schema".
    assert_eq!(
        cast_sql("named_struct('F0', 1, 'f1', 3)", "STRING"),
        "Struct{F0=1,f1=3}"
    );
    assert_eq!(
        cast_sql("named_struct('F0', 1, 'f1', CAST(NULL AS INT))", "STRING"),
        "Struct{F0=1}"
    );
    assert_eq!(
        cast_sql(
            "named_struct('A', named_struct('B', 'x'), 'C', make_array(1))",
            "STRING"
        ),
        "Struct{A=Struct{B=x},C=[1]}"
    );
    assert_eq!(
        cast_sql("named_struct('F0', 1, 'F1', 3)", "STRUCT<F0 STRING, F3 STRING>"),
        "{F0: 1, F3: }"
    );
    assert_eq!(
        cast_sql("named_struct('F0', 2147483648)", "STRUCT<F0 INTEGER>"),
        "{F0: -2147483648}"
    );
    // Names match exactly.
    assert_eq!(cast_sql("named_struct('f0', 1)", "STRUCT<F0 INTEGER>"), "{F0: }");
    assert_eq!(cast_sql("named_struct('F0', '1')", "STRUCT<F0 INTEGER>"), "{F0: 1}");
}

#[test]
fn on_columns_with_nulls() {
    // A struct column with a NULL row whose field would not parse: the NULL row is not converted.
    let got = rows(
        "SELECT ksql_cast(CASE WHEN x = 'bad' THEN NULL ELSE named_struct('F0', x) END, 'STRUCT<F0 INTEGER>') \
         FROM (VALUES ('1'), ('bad'), ('3')) AS v(x)",
    );
    assert_eq!(got, ["{F0: 1}", "NULL", "{F0: 3}"]);
    let got = rows(
        "SELECT ksql_cast(CASE WHEN x = 'bad' THEN NULL ELSE make_array(x, '7') END, 'ARRAY<INTEGER>') \
         FROM (VALUES ('1'), ('bad'), ('3')) AS v(x)",
    );
    assert_eq!(got, ["[1, 7]", "NULL", "[3, 7]"]);
    let got = rows(
        "SELECT ksql_cast(x, 'STRING') FROM (VALUES (CAST(1.5 AS DOUBLE)), (NULL), (CAST(1e7 AS DOUBLE))) AS v(x)",
    );
    assert_eq!(got, ["1.5", "NULL", "1.0E7"]);
    let got = rows("SELECT ksql_cast(x, 'DECIMAL(3, 1)') FROM (VALUES (1), (NULL), (-99)) AS v(x)");
    assert_eq!(got, ["1.0", "NULL", "-99.0"]);
    // One bad row fails the batch (the caller evaluates again row by row to find it).
    assert!(try_eval("SELECT ksql_cast(x, 'INTEGER') FROM (VALUES ('1'), ('x')) AS v(x)").is_err());
}

#[test]
fn direct_column_cast() {
    use datafusion::arrow::array::{Int16Array, LargeStringArray};
    let out = cast_column(
        &(Arc::new(Int16Array::from(vec![Some(3), None])) as ArrayRef),
        &SqlType::String,
    )
    .unwrap();
    assert_eq!(out.as_string::<i32>().value(0), "3");
    assert!(out.is_null(1));
    let out = cast_column(
        &(Arc::new(LargeStringArray::from(vec![" 12 "])) as ArrayRef),
        &SqlType::BigInt,
    )
    .unwrap();
    assert_eq!(out.as_primitive::<Int64Type>().value(0), 12);
    let nulls = new_null_array(&DataType::Null, 2);
    assert_eq!(
        cast_column(&nulls, &SqlType::Date).unwrap().data_type(),
        &DataType::Date32
    );
    assert!(matches!(
        cast_column(&(Arc::new(Int16Array::from(vec![1])) as ArrayRef), &SqlType::Boolean),
        Err(DataFusionError::Plan(m)) if m == "Cast of INTEGER to BOOLEAN is not supported"
    ));
}

/// A literal that cannot be cast fails when the query runs, not when it is planned and optimised (constant
/// folding keeps the call), so the engine can turn it into NULL per row.
#[test]
fn bad_literals_fail_at_execution_not_planning() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let ctx = crate::functions::session_context();
        let df = ctx.sql("SELECT ksql_cast('x', 'INTEGER')").await.expect("plans");
        let plan = df.clone().into_optimized_plan().expect("optimises");
        assert!(
            plan.display_indent().to_string().contains("ksql_cast"),
            "{}",
            plan.display_indent()
        );
        let err = df.collect().await.unwrap_err().to_string();
        assert!(err.contains("CAST: cannot cast STRING 'x' to INTEGER"), "{err}");
    });
}
