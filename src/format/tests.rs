//! Cross-codec tests: every type in every format through the public API (decode, encode, round trip, nulls,
//! coercions, names, errors), and a randomized no-panic test over all decoders.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BinaryArray, Int16Array, Int32Array, Int64Array, LargeStringArray, StringArray, StringViewArray,
};
use datafusion::arrow::util::display::array_value_to_string;

use super::*;

fn col(name: &str, ty: SqlType) -> (String, SqlType) {
    (name.to_string(), ty)
}

fn arr(t: SqlType) -> SqlType {
    SqlType::Array(Box::new(t))
}

fn map(v: SqlType) -> SqlType {
    SqlType::Map(Box::new(SqlType::String), Box::new(v))
}

fn dec(p: i64, s: i64) -> SqlType {
    SqlType::decimal(p, s).unwrap()
}

fn opts(kind: FormatKind) -> FormatOptions {
    FormatOptions::new(kind)
}

fn decode(o: &FormatOptions, fields: &[(String, SqlType)], is_key: bool, payloads: &[Option<&[u8]>]) -> Decoded {
    let mut d = Decoder::new(o, fields, is_key).unwrap();
    let out = d.decode(payloads);
    for a in &out.arrays {
        assert_eq!(a.len(), payloads.len());
    }
    out
}

fn decode_json(fields: &[(String, SqlType)], payloads: &[&str]) -> Decoded {
    let p: Vec<Option<&[u8]>> = payloads.iter().map(|s| Some(s.as_bytes())).collect();
    decode(&opts(FormatKind::Json), fields, false, &p)
}

/// Row `row` rendered column by column with Arrow's display (`null` for nulls).
fn row_text(d: &Decoded, row: usize) -> Vec<String> {
    d.arrays
        .iter()
        .map(|a| {
            if a.is_null(row) {
                "null".to_string()
            } else {
                array_value_to_string(a, row).unwrap()
            }
        })
        .collect()
}

fn errors(d: &Decoded) -> Vec<(usize, String)> {
    d.errors.iter().map(|(r, e)| (*r, e.detail().to_string())).collect()
}

fn encode(o: &FormatOptions, fields: &[(String, SqlType)], is_key: bool, arrays: &[ArrayRef]) -> Vec<Option<String>> {
    let rows = arrays.first().map_or(0, |a| a.len());
    let mut e = Encoder::new(o, fields, is_key).unwrap();
    e.encode(arrays, rows)
        .unwrap()
        .into_iter()
        .map(|b| b.map(|b| String::from_utf8_lossy(&b).into_owned()))
        .collect()
}

fn order_schema() -> Vec<(String, SqlType)> {
    vec![
        col("ORDERTIME", SqlType::BigInt),
        col("@ORDERID", SqlType::BigInt),
        col("ITEMID", SqlType::String),
        col("ORDERUNITS", SqlType::Double),
        col("caseField", SqlType::BigInt),
        col("ARRAYCOL", arr(SqlType::Double)),
        col("MAPCOL", map(SqlType::Double)),
        col("TIMEFIELD", SqlType::Time),
        col("DATEFIELD", SqlType::Date),
        col("TIMESTAMPFIELD", SqlType::Timestamp),
        col("BYTESFIELD", SqlType::Bytes),
        col("COST", dec(4, 2)),
        col("FLAG", SqlType::Boolean),
        col("QTY", SqlType::Int),
    ]
}

const AN_ORDER: &str = r#"{"ordertime": 1511897796092, "@orderid": 1, "itemid": "Item_1", "orderunits": 10.0,
  "arraycol": [10.0, 20.0], "mapcol": {"key1": 10.0}, "caseField": 1, "timefield": 1000, "datefield": 10,
  "timestampfield": 1000, "bytesfield": "ew==", "cost": 10.1, "flag": true, "qty": "7"}"#;

// ---------------------------------------------------------------- JSON decoding

#[test]
fn json_decodes_a_wrapped_record_of_every_type() {
    let d = decode_json(&order_schema(), &[AN_ORDER]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(
        row_text(&d, 0),
        [
            "1511897796092",
            "1",
            "Item_1",
            "10.0",
            "1",
            "[10.0, 20.0]",
            "{key1: 10.0}",
            "00:00:01",
            "1970-01-11",
            "1970-01-01T00:00:01",
            "7b",
            "10.10",
            "true",
            "7"
        ]
    );
}

#[test]
fn json_field_names_match_exactly_or_upper_cased() {
    let fields = order_schema();
    // `CASEFIELD` does not match the quoted `caseField`; `ITEMID` matches exactly; `qTy` upper-cases to QTY.
    let d = decode_json(&fields, &[r#"{"CASEFIELD": 1, "ITEMID": "x", "qTy": 3}"#]);
    let row = row_text(&d, 0);
    assert_eq!((row[4].as_str(), row[2].as_str(), row[13].as_str()), ("null", "x", "3"));
    // Exact wins over an upper-cased match, whatever the order; a repeated key overwrites.
    let f = [col("ID", SqlType::Int)];
    let d = decode_json(
        &f,
        &[
            r#"{"ID": 1, "id": 2}"#,
            r#"{"id": 2, "ID": 1}"#,
            r#"{"id": 1, "id": 2}"#,
            r#"{"ID": 1, "ID": 3}"#,
        ],
    );
    let got: Vec<String> = (0..4).map(|r| row_text(&d, r)[0].clone()).collect();
    assert_eq!(got, ["1", "1", "2", "3"]);
}

#[test]
fn json_fields_differing_only_in_case_are_both_filled() {
    // Like Jackson: field `a` takes the exact key, field `A` takes `a` upper-cased when there is no `A` key.
    let f = [col("a", SqlType::Int), col("A", SqlType::Int)];
    let d = decode_json(
        &f,
        &[
            r#"{"a": 1}"#,
            r#"{"a": 1, "A": 2}"#,
            r#"{"A": 2, "a": 1}"#,
            r#"{"a": "x"}"#,
        ],
    );
    assert_eq!(row_text(&d, 0), ["1", "1"]);
    assert_eq!(row_text(&d, 1), ["1", "2"]);
    assert_eq!(row_text(&d, 2), ["1", "2"]);
    assert_eq!(
        errors(&d),
        [(
            3,
            "Can't coerce string to type. targetType: INTEGER, path: $.a".to_string()
        )]
    );
}

#[test]
fn json_missing_fields_are_null_and_unknown_ones_skipped() {
    let f = [col("A", SqlType::Int), col("B", SqlType::String)];
    let d = decode_json(
        &f,
        &[r#"{"x": {"deep": [1, {"y": null}]}, "b": "v", "z": [[[]]]}"#, "{}"],
    );
    assert!(d.errors.is_empty());
    assert_eq!(row_text(&d, 0), ["null", "v"]);
    assert_eq!(row_text(&d, 1), ["null", "null"]);
    assert!(d.null_rows.is_empty(), "an empty object is a row, not a null record");
}

#[test]
fn json_null_records_and_absent_payloads() {
    let f = [col("A", SqlType::Int)];
    let p: Vec<Option<&[u8]>> = vec![Some(b"null"), None, Some(b" null "), Some(b"{\"A\":null}")];
    let d = decode(&opts(FormatKind::Json), &f, false, &p);
    assert!(d.errors.is_empty());
    assert_eq!(d.null_rows, [0, 1, 2]);
    assert!(d.arrays[0].is_null(3));
}

#[test]
fn json_malformed_records_are_errors_and_other_rows_survive() {
    let f = [
        col("A", SqlType::Int),
        col("L", arr(arr(SqlType::Int))),
        col("S", SqlType::String),
    ];
    let d = decode_json(
        &f,
        &[
            r#"{"a": 1, "l": [[1], [2, 3]], "s": "x"}"#,
            r#"{"a": 2, "l": [[1], [2, "bad"]], "s": "y"}"#,
            "",
            "{\"a\": 1",
            r#"{"a": 1} trailing"#,
            "\u{0}\u{0}\u{0}\u{0}\u{1}{\"a\": 5, \"l\": [], \"s\": \"sr\"}",
            r#"{"a": 3, "l": null, "s": "z"}"#,
            "[1]",
        ],
    );
    assert_eq!(row_text(&d, 0), ["1", "[[1], [2, 3]]", "x"]);
    for r in [1, 2, 3, 4, 7] {
        assert_eq!(row_text(&d, r), ["null", "null", "null"], "row {r}");
    }
    assert_eq!(row_text(&d, 5), ["5", "[]", "sr"], "JSON_SR framing is skipped");
    assert_eq!(row_text(&d, 6), ["3", "null", "z"]);
    let e = errors(&d);
    assert_eq!(
        e[0],
        (
            1,
            "Can't coerce string to type. targetType: INTEGER, path: $.L[1][1]".to_string()
        )
    );
    assert!(e[1].1.starts_with("Invalid JSON: EOF while parsing"), "{e:?}");
    assert!(e[2].1.starts_with("Invalid JSON: EOF while parsing an object"), "{e:?}");
    assert!(e[3].1.starts_with("Invalid JSON: trailing characters"), "{e:?}");
    assert!(
        e[4].1
            .starts_with("Can't convert type. sourceType: ArrayNode, requiredType: STRUCT<`A` INTEGER, "),
        "{e:?}"
    );
    assert!(e[4].1.ends_with(", path: $"), "{e:?}");
    assert_eq!(
        d.errors[0].1.to_string(),
        format!("Failed to deserialize value. {}", e[0].1)
    );
}

#[test]
fn json_error_paths_name_the_field() {
    let f = [
        col("ORDERTIME", SqlType::BigInt),
        col("M", map(SqlType::Int)),
        col("S", SqlType::Struct(vec![("INNER".into(), arr(SqlType::Boolean))])),
    ];
    let d = decode_json(
        &f,
        &[
            r#"{"ordertime": true}"#,
            r#"{"m": {"a": 1, "b": true}}"#,
            r#"{"s": {"inner": [true, 1]}}"#,
            r#"{"s": 5}"#,
        ],
    );
    assert_eq!(
        errors(&d),
        [
            (
                0,
                "Can't convert type. sourceType: BooleanNode, requiredType: BIGINT, path: $.ORDERTIME".into()
            ),
            (
                1,
                "Can't convert type. sourceType: BooleanNode, requiredType: INTEGER, path: $.M.b.value".into()
            ),
            (
                2,
                "Can't convert type. sourceType: IntNode, requiredType: BOOLEAN, path: $.S.INNER[1]".into()
            ),
            (
                3,
                "Can't convert type. sourceType: IntNode, requiredType: STRUCT<`INNER` ARRAY<BOOLEAN>>, path: $.S"
                    .into()
            ),
        ]
    );
}

#[test]
fn json_errors_do_not_leak_string_values() {
    let d = decode_json(
        &[col("A", SqlType::BigInt)],
        &[r#"{"a": "personal info: do not log me"}"#],
    );
    assert!(!d.errors[0].1.to_string().contains("personal"));
    let d = decode_json(&[col("A", SqlType::BigInt)], &["{bad json containing personal info"]);
    assert!(!d.errors[0].1.to_string().contains("personal"));
}

#[test]
fn json_nested_types() {
    let f = [
        col(
            "PEOPLE",
            arr(SqlType::Struct(vec![
                ("NAME".into(), SqlType::String),
                ("AGE".into(), SqlType::Int),
            ])),
        ),
        col("TAGS", map(arr(SqlType::Int))),
        col(
            "OUTER",
            SqlType::Struct(vec![("IN".into(), SqlType::Struct(vec![("X".into(), dec(3, 1))]))]),
        ),
    ];
    let d = decode_json(
        &f,
        &[
            r#"{"people": [{"name": "a", "age": 1}, null, {"AGE": "2"}], "tags": {"k": [1, null], "n": null},
                "outer": {"in": {"x": "1.5"}}}"#,
            r#"{"people": [], "tags": {}, "outer": {"in": null}}"#,
        ],
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(
        row_text(&d, 0),
        [
            "[{NAME: a, AGE: 1}, , {NAME: , AGE: 2}]",
            "{k: [1, ], n: }",
            "{IN: {X: 1.5}}"
        ]
    );
    assert_eq!(row_text(&d, 1), ["[]", "{}", "{IN: }"]);
}

#[test]
fn json_map_keys_repeat_and_large_maps() {
    let f = [col("M", map(SqlType::Int))];
    let big: Vec<String> = (0..200).map(|i| format!("\"k{i}\": {i}")).collect();
    let big = format!("{{\"m\": {{{}}}}}", big.join(","));
    let d = decode_json(&f, &[r#"{"m": {"a": 1, "b": 2, "a": 3}}"#, &big, r#"{"m": {"x": 1}}"#]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(row_text(&d, 0), ["{a: 3, b: 2}"]);
    assert!(row_text(&d, 1)[0].ends_with("k199: 199}"));
    assert_eq!(row_text(&d, 2), ["{x: 1}"]);
    // A repeated key with a bad value still reports the value's path.
    let d = decode_json(&f, &[r#"{"m": {"a": 1, "a": "x"}}"#]);
    assert_eq!(
        errors(&d)[0].1,
        "Can't coerce string to type. targetType: INTEGER, path: $.M.a.value"
    );
}

#[test]
fn json_unwrapped_single_values() {
    let o = opts(FormatKind::Json).with_wrap_single_value(Some(false));
    let run = |ty: SqlType, payloads: &[&str]| {
        let p: Vec<Option<&[u8]>> = payloads.iter().map(|s| Some(s.as_bytes())).collect();
        decode(&o, &[col("V", ty)], false, &p)
    };
    let d = run(SqlType::BigInt, &["10", "null", "\"11\"", "{\"V\": 1}"]);
    assert_eq!(row_text(&d, 0), ["10"]);
    assert_eq!(d.null_rows, [1]);
    assert_eq!(row_text(&d, 2), ["11"]);
    assert_eq!(
        errors(&d),
        [(
            3,
            "Can't convert type. sourceType: ObjectNode, requiredType: BIGINT, path: $".into()
        )]
    );
    let d = run(SqlType::Struct(vec![("F".into(), SqlType::Int)]), &["{\"f\": 1}"]);
    assert_eq!(row_text(&d, 0), ["{F: 1}"]);
    let d = run(arr(SqlType::String), &["[\"a\", 1, true]"]);
    assert_eq!(row_text(&d, 0), ["[a, 1, true]"]);
    // Wrapped (the default) expects an object even for one column.
    let d = decode_json(&[col("V", SqlType::BigInt)], &["10", "{\"v\": 10}"]);
    assert_eq!(d.errors.len(), 1);
    assert_eq!(row_text(&d, 1), ["10"]);
}

#[test]
fn json_keys_single_unwrapped_multi_wrapped() {
    let o = opts(FormatKind::Json);
    let d = decode(
        &o,
        &[col("K", SqlType::String)],
        true,
        &[Some(b"\"abc\""), Some(b"123"), Some(b"null")],
    );
    assert_eq!(
        (row_text(&d, 0), row_text(&d, 1)),
        (vec!["abc".to_string()], vec!["123".to_string()])
    );
    assert_eq!(d.null_rows, [2]);
    let f = [col("K1", SqlType::Int), col("K2", SqlType::String)];
    let d = decode(&o, &f, true, &[Some(br#"{"K1": 1, "k2": "x"}"#)]);
    assert_eq!(row_text(&d, 0), ["1", "x"]);
    assert_eq!(d.errors.len(), 0);
    let d = decode(&o, &[col("K", SqlType::Int)], true, &[Some(b"true")]);
    assert_eq!(
        d.errors[0].1.to_string(),
        "Failed to deserialize key. Can't convert type. sourceType: BooleanNode, requiredType: INTEGER, path: $"
    );
}

#[test]
fn json_pathological_input_does_not_crash() {
    let f = [col("A", arr(arr(SqlType::Int))), col("S", SqlType::String)];
    let deep = format!("{{\"a\": {}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_skipped = format!(
        "{{\"zz\": {}1{}, \"s\": \"ok\"}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep_string = format!("{{\"s\": {}{}}}", "[".repeat(200), "]".repeat(200));
    let d = decode_json(
        &f,
        &[
            &deep,
            &deep_skipped,
            &deep_string,
            "{\"a\": [[1e999999999]]}",
            "{\"s\": 1e999999999}",
        ],
    );
    // Nesting deeper than the schema reaches a scalar column: a type error, found without recursion.
    assert_eq!(
        errors(&d)[0].1,
        "Can't convert type. sourceType: ArrayNode, requiredType: INTEGER, path: $.A[0][0]"
    );
    assert_eq!(row_text(&d, 1), ["null", "ok"]);
    assert!(d.errors.iter().any(|(r, _)| *r == 3));
    assert_eq!(row_text(&d, 4)[1], "1E+999999999");
    let p: Vec<Option<&[u8]>> = vec![Some(b"{\"s\": \"\xff\xfe\"}"), Some(b"\xff")];
    let d = decode(&opts(FormatKind::Json), &f, false, &p);
    assert_eq!(d.errors.len(), 2);
}

// ---------------------------------------------------------------- JSON encoding

fn ints(v: &[Option<i32>]) -> ArrayRef {
    Arc::new(Int32Array::from(v.to_vec()))
}

fn strs(v: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

#[test]
fn json_encodes_every_type_like_ksqldb() {
    let fields = order_schema();
    let d = decode_json(&fields, &[AN_ORDER, "{}"]);
    let out = encode(&opts(FormatKind::Json), &fields, false, &d.arrays);
    assert_eq!(
        out[0].as_deref(),
        Some(
            r#"{"ORDERTIME":1511897796092,"@ORDERID":1,"ITEMID":"Item_1","ORDERUNITS":10.0,"caseField":1,"ARRAYCOL":[10.0,20.0],"MAPCOL":{"key1":10.0},"TIMEFIELD":1000,"DATEFIELD":10,"TIMESTAMPFIELD":1000,"BYTESFIELD":"ew==","COST":10.10,"FLAG":true,"QTY":7}"#
        )
    );
    assert_eq!(
        out[1].as_deref(),
        Some(
            r#"{"ORDERTIME":null,"@ORDERID":null,"ITEMID":null,"ORDERUNITS":null,"caseField":null,"ARRAYCOL":null,"MAPCOL":null,"TIMEFIELD":null,"DATEFIELD":null,"TIMESTAMPFIELD":null,"BYTESFIELD":null,"COST":null,"FLAG":null,"QTY":null}"#
        )
    );
}

#[test]
fn json_encodes_doubles_and_strings_like_jackson() {
    let f = [col("D", SqlType::Double), col("S", SqlType::String)];
    let d = decode_json(
        &f,
        &[
            r#"{"d": 1e7, "s": "q\"\\\n\u0001é"}"#,
            r#"{"d": 0.0001, "s": ""}"#,
            r#"{"d": "NaN"}"#,
            r#"{"d": "-Infinity"}"#,
            r#"{"d": -0.0}"#,
        ],
    );
    let out = encode(&opts(FormatKind::Json), &f, false, &d.arrays);
    let out: Vec<&str> = out.iter().map(|s| s.as_deref().unwrap()).collect();
    assert_eq!(
        out,
        [
            r#"{"D":1.0E7,"S":"q\"\\\n\u0001é"}"#,
            r#"{"D":1.0E-4,"S":""}"#,
            r#"{"D":"NaN","S":null}"#,
            r#"{"D":"-Infinity","S":null}"#,
            r#"{"D":-0.0,"S":null}"#,
        ]
    );
}

#[test]
fn json_encodes_unwrapped_values_and_keys() {
    let f = [col("V", SqlType::Int)];
    let unwrapped = opts(FormatKind::Json).with_wrap_single_value(Some(false));
    let a = [ints(&[Some(10), None])];
    assert_eq!(encode(&unwrapped, &f, false, &a), [Some("10".into()), None]);
    assert_eq!(
        encode(&opts(FormatKind::Json), &f, false, &a),
        [Some("{\"V\":10}".into()), Some("{\"V\":null}".into())]
    );
    assert_eq!(encode(&opts(FormatKind::Json), &f, true, &a), [Some("10".into()), None]);
    let f2 = [col("K1", SqlType::Int), col("K2", SqlType::String)];
    let out = encode(
        &opts(FormatKind::Json),
        &f2,
        true,
        &[ints(&[Some(1)]), strs(&[Some("a")])],
    );
    assert_eq!(out, [Some(r#"{"K1":1,"K2":"a"}"#.into())]);
}

#[test]
fn json_encodes_nested_types() {
    let f = [
        col(
            "PEOPLE",
            arr(SqlType::Struct(vec![
                ("NAME".into(), SqlType::String),
                ("AGE".into(), SqlType::Int),
            ])),
        ),
        col("TAGS", map(arr(SqlType::Int))),
        col("B", arr(SqlType::Bytes)),
    ];
    let d = decode_json(
        &f,
        &[r#"{"people": [{"name": "a", "age": 1}, null, {}], "tags": {"k": [1, null]}, "b": ["ew==", null]}"#],
    );
    let out = encode(&opts(FormatKind::Json), &f, false, &d.arrays);
    assert_eq!(
        out[0].as_deref(),
        Some(
            r#"{"PEOPLE":[{"NAME":"a","AGE":1},null,{"NAME":null,"AGE":null}],"TAGS":{"k":[1,null]},"B":["ew==",null]}"#
        )
    );
}

#[test]
fn encoders_accept_other_arrow_types() {
    let f = [
        col("I", SqlType::Int),
        col("S", SqlType::String),
        col("T", SqlType::String),
        col("B", SqlType::BigInt),
    ];
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![7])),
        Arc::new(StringViewArray::from(vec!["view"])),
        Arc::new(LargeStringArray::from(vec!["large"])),
        Arc::new(Int16Array::from(vec![-3])),
    ];
    let out = encode(&opts(FormatKind::Json), &f, false, &arrays);
    assert_eq!(out[0].as_deref(), Some(r#"{"I":7,"S":"view","T":"large","B":-3}"#));
    let out = encode(&opts(FormatKind::Delimited), &f, false, &arrays);
    assert_eq!(out[0].as_deref(), Some("7,view,large,-3"));
}

#[test]
fn encoder_rejects_mismatched_arrays() {
    let f = [col("A", SqlType::Int), col("B", arr(SqlType::Int))];
    let mut e = Encoder::new(&opts(FormatKind::Json), &f, false).unwrap();
    let err = e.encode(&[ints(&[Some(1)])], 1).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Failed to serialize value. expected 2 columns (A, B), got 1 arrays"),
        "{err}"
    );
    let err = e.encode(&[ints(&[Some(1)]), ints(&[Some(1)])], 1).unwrap_err();
    assert!(
        err.to_string()
            .contains("column `B`: an array of Arrow type Int32 cannot be written as ARRAY<INTEGER>"),
        "{err}"
    );
    let err = e.encode(&[ints(&[Some(1)]), ints(&[Some(1)])], 2).unwrap_err();
    assert!(err.to_string().contains("column `A` has 1 values for 2 rows"), "{err}");
    assert!(
        e.encode(&[ints(&[]), ints(&[])], 0)
            .unwrap_err()
            .to_string()
            .contains("`B`")
    );
}

#[test]
fn json_round_trip_keeps_values() {
    let fields = vec![
        col("I", SqlType::Int),
        col("BI", SqlType::BigInt),
        col("D", SqlType::Double),
        col("DEC", dec(10, 3)),
        col("S", SqlType::String),
        col("BY", SqlType::Bytes),
        col("TS", SqlType::Timestamp),
        col("DT", SqlType::Date),
        col("TM", SqlType::Time),
        col("BO", SqlType::Boolean),
        col("L", arr(map(SqlType::Struct(vec![("X".into(), SqlType::Double)])))),
    ];
    let input = [
        r#"{"i": -5, "bi": 9007199254740993, "d": 0.1, "dec": -1234567.5, "s": "a,b\"c\n", "by": "AAEC/w==",
            "ts": -1000, "dt": -1, "tm": 86399999, "bo": false, "l": [{"m": {"x": 1.5}}, null, {}]}"#,
        "{}",
    ];
    let first = decode_json(&fields, &input);
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    let encoded = encode(&opts(FormatKind::Json), &fields, false, &first.arrays);
    let again: Vec<&str> = encoded.iter().map(|s| s.as_deref().unwrap()).collect();
    let second = decode_json(&fields, &again);
    assert!(second.errors.is_empty(), "{:?}", second.errors);
    for r in 0..2 {
        assert_eq!(row_text(&first, r), row_text(&second, r));
    }
    assert_eq!(row_text(&first, 0)[3], "-1234567.500");
}

// ---------------------------------------------------------------- DELIMITED

fn delimited_schema() -> Vec<(String, SqlType)> {
    vec![
        col("ORDERTIME", SqlType::BigInt),
        col("ORDERID", SqlType::BigInt),
        col("ITEMID", SqlType::String),
        col("ORDERUNITS", SqlType::Double),
        col("COST", dec(4, 2)),
        col("TIME", SqlType::Time),
        col("DATE", SqlType::Date),
        col("TIMESTAMP", SqlType::Timestamp),
        col("BYTES", SqlType::Bytes),
        col("FLAG", SqlType::Boolean),
        col("QTY", SqlType::Int),
    ]
}

fn decode_delimited(o: &FormatOptions, f: &[(String, SqlType)], payloads: &[&str]) -> Decoded {
    let p: Vec<Option<&[u8]>> = payloads.iter().map(|s| Some(s.as_bytes())).collect();
    decode(o, f, false, &p)
}

#[test]
fn delimited_decodes_every_type() {
    let f = delimited_schema();
    let d = decode_delimited(
        &opts(FormatKind::Delimited),
        &f,
        &[
            "1511897796092,1,item_1,10.0,10.10,100,10,100,ew==,TRUE,-3\r\n",
            "1511897796092,1,item_1,,,,,,,,",
        ],
    );
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(
        row_text(&d, 0),
        [
            "1511897796092",
            "1",
            "item_1",
            "10.0",
            "10.10",
            "00:00:00.100",
            "1970-01-11",
            "1970-01-01T00:00:00.100",
            "7b",
            "true",
            "-3"
        ]
    );
    assert_eq!(
        row_text(&d, 1),
        [
            "1511897796092",
            "1",
            "item_1",
            "null",
            "null",
            "null",
            "null",
            "null",
            "null",
            "null",
            "null"
        ]
    );
}

#[test]
fn delimited_coercions_and_errors() {
    let f = [
        col("C", SqlType::Int),
        col("S", SqlType::String),
        col("B", SqlType::Boolean),
        col("D", dec(4, 2)),
    ];
    let o = opts(FormatKind::Delimited);
    let d = decode_delimited(
        &o,
        &f,
        &[
            "1,\"\",yes,2",
            "1,\"a,\"\"b\"\"\",true,-01.12",
            "1,2,3",
            "1,2,3,4,5",
            "x,s,true,1",
            "1,s,true,1.123",
            "",
            "\"1,s,true,1",
        ],
    );
    assert_eq!(
        row_text(&d, 0),
        ["1", "null", "false", "2.00"],
        "empty strings are null, `yes` is false"
    );
    assert_eq!(row_text(&d, 1), ["1", "a,\"b\"", "true", "-1.12"]);
    assert_eq!(
        errors(&d),
        [
            (
                2,
                "Column count mismatch on deserialization. expected: 4, got: 3".into()
            ),
            (
                3,
                "Column count mismatch on deserialization. expected: 4, got: 5".into()
            ),
            (
                4,
                "Invalid value for column `C` of type INTEGER: For input string: \"x\"".into()
            ),
            (
                5,
                "Cannot fit decimal '1.123' into DECIMAL(4, 2) without rounding. (Requires 4,3)".into()
            ),
            (6, "No fields in record".into()),
            (7, "EOF reached before encapsulated token finished".into()),
        ]
    );
    let t = [
        col("T", SqlType::Time),
        col("Y", SqlType::Bytes),
        col("F", SqlType::Double),
    ];
    let d = decode_delimited(&o, &t, &["3000000000,ew,1.5d", "5,a, 2 ", "-5,ew==,2"]);
    assert_eq!(row_text(&d, 0)[0], "null");
    assert_eq!(row_text(&d, 2)[0], "null");
    let e = errors(&d);
    assert_eq!(
        e[0].1,
        "Time values must use number of milliseconds greater than 0 and less than 86400000."
    );
    assert_eq!(e[1].1, "Value is not a valid Base64 encoded string: a");
    assert_eq!(e.len(), 3);
    let d = decode_delimited(&o, &t, &["5,ew,1.5d", "5,, 2 "]);
    assert_eq!(
        row_text(&d, 0),
        ["00:00:00.005", "7b", "1.5"],
        "unpadded Base64 and Java's double suffix"
    );
    assert_eq!(row_text(&d, 1), ["00:00:00.005", "null", "2.0"]);
}

#[test]
fn delimited_other_delimiters_and_invalid_utf8() {
    let f = [col("A", SqlType::String), col("B", SqlType::Int)];
    let tab = FormatOptions::parse("DELIMITED", Some("TAB"), None).unwrap();
    let d = decode_delimited(&tab, &f, &["x y\t1"]);
    assert_eq!(row_text(&d, 0), ["x y", "1"]);
    let bar = opts(FormatKind::Delimited).with_delimiter('|');
    let d = decode(&bar, &f, false, &[Some(b"\xffa|2")]);
    assert_eq!(row_text(&d, 0), ["\u{FFFD}a", "2"]);
}

#[test]
fn delimited_encodes_every_type() {
    let f = delimited_schema();
    let o = opts(FormatKind::Delimited);
    let d = decode_delimited(
        &o,
        &f,
        &[
            "1511897796092,1,item_1,10.0,10.10,100,10,100,ew==,true,-3",
            ",,,,,,,,,,",
        ],
    );
    let out = encode(&o, &f, false, &d.arrays);
    assert_eq!(
        out[0].as_deref(),
        Some("1511897796092,1,item_1,10.0,10.10,100,10,100,ew==,true,-3")
    );
    assert_eq!(out[1].as_deref(), Some(",,,,,,,,,,"));
    let tab = opts(FormatKind::Delimited).with_delimiter('\t');
    assert_eq!(
        encode(&tab, &f, false, &d.arrays)[0].as_deref(),
        Some("1511897796092\t1\titem_1\t10.0\t10.10\t100\t10\t100\tew==\ttrue\t-3")
    );
}

#[test]
fn delimited_quotes_like_commons_csv_and_round_trips() {
    let f = [col("D", dec(4, 2)), col("S", SqlType::String)];
    let o = opts(FormatKind::Delimited);
    let strings = ["plain", "a,b", "say \"hi\"", "multi\nline", " padded ", "#tag", "", "é"];
    let decs = ["-0.50", "0.50", "-1.12", "1.00", "11.12", "0.00", "-0.01", "9.99"];
    let arrays: Vec<ArrayRef> = vec![
        {
            let d = decode_delimited(&o, &[f[0].clone()], &decs);
            d.arrays[0].clone()
        },
        strs(&strings.iter().map(|s| Some(*s)).collect::<Vec<_>>()),
    ];
    let out = encode(&o, &f, false, &arrays);
    let out: Vec<&str> = out.iter().map(|s| s.as_deref().unwrap()).collect();
    assert_eq!(
        out,
        [
            "\"-0.50\",plain",
            "0.50,\"a,b\"",
            "\"-1.12\",\"say \"\"hi\"\"\"",
            "1.00,\"multi\nline\"",
            "11.12,\" padded \"",
            "0.00,\"#tag\"",
            "\"-0.01\",",
            "9.99,é",
        ]
    );
    let back = decode_delimited(&o, &f, &out);
    assert!(back.errors.is_empty(), "{:?}", back.errors);
    for (r, s) in strings.iter().enumerate() {
        let expected = if s.is_empty() { "null" } else { s };
        assert_eq!(row_text(&back, r)[1], expected);
        assert_eq!(row_text(&back, r)[0], decs[r]);
    }
    // A string first field that is empty or starts with punctuation is quoted.
    let one = [col("S", SqlType::String)];
    let out = encode(&o, &one, false, &[strs(&[Some(""), Some("_x"), None])]);
    assert_eq!(out, [Some("\"\"".into()), Some("\"_x\"".into()), Some(String::new())]);
}

#[test]
fn delimited_multi_column_keys() {
    let f = [col("ORGID", SqlType::BigInt), col("ID", SqlType::BigInt)];
    let o = opts(FormatKind::Delimited);
    let d = decode(&o, &f, true, &[Some(b"120,21")]);
    assert_eq!(row_text(&d, 0), ["120", "21"]);
    assert_eq!(encode(&o, &f, true, &d.arrays), [Some("120,21".into())]);
}

// ---------------------------------------------------------------- KAFKA and NONE

#[test]
fn kafka_decodes_and_encodes_each_type() {
    let o = opts(FormatKind::Kafka);
    let cases: Vec<(SqlType, Vec<u8>, &str)> = vec![
        (SqlType::Int, (-2i32).to_be_bytes().to_vec(), "-2"),
        (
            SqlType::BigInt,
            1511897796092i64.to_be_bytes().to_vec(),
            "1511897796092",
        ),
        (SqlType::Double, 10.5f64.to_be_bytes().to_vec(), "10.5"),
        (SqlType::String, b"hello".to_vec(), "hello"),
        (SqlType::Bytes, vec![0, 255], "00ff"),
    ];
    for (ty, bytes, text) in cases {
        for is_key in [true, false] {
            let f = [col("V", ty.clone())];
            let d = decode(&o, &f, is_key, &[Some(&bytes), None]);
            assert!(d.errors.is_empty(), "{ty}: {:?}", d.errors);
            assert_eq!(row_text(&d, 0), [text], "{ty}");
            assert_eq!(d.null_rows, [1]);
            let mut e = Encoder::new(&o, &f, is_key).unwrap();
            let out = e.encode(&d.arrays, 2).unwrap();
            assert_eq!(out[0].as_deref(), Some(bytes.as_slice()), "{ty}");
            assert_eq!(out[1], None);
        }
    }
}

#[test]
fn kafka_size_errors_and_lossy_strings() {
    let o = opts(FormatKind::Kafka);
    let run = |ty: SqlType, p: &[u8]| decode(&o, &[col("V", ty)], true, &[Some(p)]);
    assert_eq!(
        errors(&run(SqlType::Int, b"abc"))[0].1,
        "Size of data received by IntegerDeserializer is not 4"
    );
    assert_eq!(
        errors(&run(SqlType::BigInt, b""))[0].1,
        "Size of data received by LongDeserializer is not 8"
    );
    assert_eq!(
        errors(&run(SqlType::Double, b"123456789"))[0].1,
        "Size of data received by DoubleDeserializer is not 8"
    );
    assert_eq!(row_text(&run(SqlType::String, b""), 0), [""]);
    assert_eq!(row_text(&run(SqlType::String, b"a\xffb"), 0), ["a\u{FFFD}b"]);
    let d = run(SqlType::Int, b"abc");
    assert_eq!(
        d.errors[0].1.to_string(),
        "Failed to deserialize key. Size of data received by IntegerDeserializer is not 4"
    );
}

#[test]
fn none_format_and_keyless_codecs_ignore_the_bytes() {
    let d = decode(&opts(FormatKind::None), &[], true, &[Some(b"anything"), None]);
    assert!(d.arrays.is_empty() && d.errors.is_empty());
    let mut e = Encoder::new(&opts(FormatKind::None), &[], true).unwrap();
    assert_eq!(e.encode(&[], 3).unwrap(), [None, None, None]);
    let d = decode(&opts(FormatKind::Kafka), &[], true, &[Some(b"x")]);
    assert!(d.arrays.is_empty() && d.errors.is_empty());
}

#[test]
fn codecs_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<Decoder>();
    assert_send::<Encoder>();
    assert_send::<Decoded>();
}

#[test]
fn constructors_validate_the_columns() {
    let e = Decoder::new(&opts(FormatKind::Kafka), &[col("A", dec(4, 2))], false).unwrap_err();
    assert!(e.to_string().contains("does not support type 'DECIMAL'"), "{e}");
    let e = Encoder::new(&opts(FormatKind::Delimited), &[col("A", arr(SqlType::Int))], false).unwrap_err();
    assert!(e.to_string().contains("DELIMITED"), "{e}");
    let e = Decoder::new(&opts(FormatKind::None), &[col("A", SqlType::Int)], true).unwrap_err();
    assert!(matches!(e, FormatError::Schema(_)));
}

#[test]
fn encoder_reuses_its_buffer_across_batches() {
    let f = [col("S", SqlType::String)];
    let o = opts(FormatKind::Kafka);
    let mut e = Encoder::new(&o, &f, false).unwrap();
    for round in 0..3 {
        let values: Vec<Option<String>> = (0..100).map(|i| Some(format!("{round}-{i}"))).collect();
        let a: ArrayRef = Arc::new(StringArray::from(values.clone()));
        let out = e.encode(&[a], 100).unwrap();
        for (o, v) in out.iter().zip(&values) {
            assert_eq!(o.as_deref(), v.as_deref().map(str::as_bytes));
        }
    }
    let bytes: ArrayRef = Arc::new(BinaryArray::from(vec![Some(&b""[..])]));
    let mut e = Encoder::new(&o, &[col("B", SqlType::Bytes)], false).unwrap();
    assert_eq!(e.encode(&[bytes], 1).unwrap(), [Some(bytes::Bytes::new())]);
}

// ---------------------------------------------------------------- randomized no-panic test

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS_JSON: &[&str] = &[
    AN_ORDER,
    r#"{"a": 1, "l": [[1, 2], null], "m": {"k": {"x": "1.5"}}, "s": {"in": [true]}, "d": "12.5", "b": "ew=="}"#,
    r#"[1, "two", {"three": 3.0e10}, [null, false]]"#,
    r#""just a string""#,
    "-12.5e-3",
    "null",
];

const SEEDS_CSV: &[&str] = &[
    "1511897796092,1,item_1,10.0,10.10,100,10,100,ew==,true,-3",
    "\"a,b\",\"say \"\"hi\"\"\",,x\r\nsecond,line",
    ",,,",
];

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b",",
    b":",
    b"\\",
    b"\\u",
    b"\\ud83d",
    b"null",
    b"true",
    b"1e999999999",
    b"-0",
    b"9223372036854775808",
    b"0.0000000000000000000000000000001",
    b"\xff",
    b"\xc3",
    b"\n",
    b"\r",
    b"\0",
    b"\"ORDERTIME\"",
    b"\"a\":",
    b"{\"m\":{\"k\":1,\"k\":2}}",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 => v.truncate(at),
            1 if at < v.len() => v[at] = rng.next() as u8,
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            3 if at < v.len() => {
                let end = (at + rng.below(8)).min(v.len());
                v.drain(at..end);
            }
            _ => {
                let end = (at + rng.below(16)).min(v.len());
                let copy = v[at..end].to_vec();
                v.splice(at..at, copy);
            }
        }
    }
    v
}

/// Options, columns and whether they are a key.
type Codec = (FormatOptions, Vec<(String, SqlType)>, bool);

fn fuzz_schemas() -> Vec<Codec> {
    let json = opts(FormatKind::Json);
    let unwrapped = opts(FormatKind::Json).with_wrap_single_value(Some(false));
    let nested = vec![
        col("A", SqlType::Int),
        col("L", arr(arr(SqlType::Int))),
        col("M", map(SqlType::Struct(vec![("X".into(), dec(5, 2))]))),
        col(
            "S",
            SqlType::Struct(vec![
                ("IN".into(), arr(SqlType::Boolean)),
                ("in".into(), SqlType::String),
            ]),
        ),
        col("D", dec(38, 10)),
        col("B", SqlType::Bytes),
    ];
    let mut schemas = vec![
        (json.clone(), order_schema(), false),
        (json.clone(), nested, false),
        (json.clone(), vec![col("K", SqlType::String)], true),
        (unwrapped.clone(), vec![col("V", arr(SqlType::String))], false),
        (unwrapped, vec![col("V", SqlType::Time)], false),
        (opts(FormatKind::Delimited), delimited_schema(), false),
        (
            opts(FormatKind::Delimited).with_delimiter('§'),
            vec![col("A", SqlType::String), col("B", dec(3, 1))],
            false,
        ),
        (opts(FormatKind::None), vec![], true),
    ];
    for ty in [
        SqlType::Int,
        SqlType::BigInt,
        SqlType::Double,
        SqlType::String,
        SqlType::Bytes,
    ] {
        schemas.push((opts(FormatKind::Kafka), vec![col("V", ty)], true));
    }
    schemas
}

#[test]
fn random_and_mutated_input_never_panics() {
    // WEIR_FUZZ_ROUNDS and WEIR_FUZZ_SEED run it longer or differently without editing the test.
    let env = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let mut rng = Rng(env("WEIR_FUZZ_SEED", 0x9E37_79B9_7F4A_7C15) | 1);
    let schemas = fuzz_schemas();
    for round in 0..env("WEIR_FUZZ_ROUNDS", 300) as usize {
        let mut batch: Vec<Vec<u8>> = Vec::new();
        for _ in 0..16 {
            let payload = match rng.below(4) {
                0 => (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
                1 => {
                    let seed = SEEDS_CSV[rng.below(SEEDS_CSV.len())];
                    mutate(&mut rng, seed.as_bytes())
                }
                _ => {
                    let seed = SEEDS_JSON[rng.below(SEEDS_JSON.len())];
                    mutate(&mut rng, seed.as_bytes())
                }
            };
            batch.push(payload);
        }
        let payloads: Vec<Option<&[u8]>> = batch
            .iter()
            .enumerate()
            .map(|(i, p)| if (i + round) % 7 == 0 { None } else { Some(p.as_slice()) })
            .collect();
        // Fresh decoders each round, so both the fast and the exact JSON scalar paths are exercised.
        for (o, f, is_key) in &schemas {
            let d = Decoder::new(o, f, *is_key).unwrap().decode(&payloads);
            assert_eq!(d.arrays.len(), f.len());
            for a in &d.arrays {
                assert_eq!(a.len(), payloads.len());
                a.to_data().validate_full().unwrap();
            }
            for (row, _) in &d.errors {
                assert!(d.arrays.iter().all(|a| a.is_null(*row)), "error rows are null");
            }
            // Whatever decoded must encode again.
            let mut e = Encoder::new(o, f, *is_key).unwrap();
            e.encode(&d.arrays, payloads.len()).unwrap();
        }
    }
}

#[test]
fn deep_schemas_hit_the_recursion_limit_not_the_stack() {
    let nested = |depth: usize| {
        let mut ty = SqlType::Int;
        for _ in 0..depth {
            ty = arr(ty);
        }
        [col("A", ty)]
    };
    let json = |depth: usize| format!("{{\"a\": {}1{}}}", "[".repeat(depth), "]".repeat(depth));
    let d = decode_json(&nested(200), &[&json(200)]);
    assert!(errors(&d)[0].1.contains("recursion limit exceeded"), "{:?}", d.errors);
    let f = nested(100);
    let d = decode_json(&f, &[&json(100)]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let out = encode(&opts(FormatKind::Json), &f, false, &d.arrays);
    assert_eq!(
        out[0].as_deref(),
        Some(json(100).replace(' ', "").replace("\"a\"", "\"A\"").as_str())
    );
}

#[test]
fn json_repeated_keys_inside_unwrapped_and_colliding_values() {
    let unwrapped = opts(FormatKind::Json).with_wrap_single_value(Some(false));
    let d = decode(
        &unwrapped,
        &[col("V", map(SqlType::Int))],
        false,
        &[Some(br#"{"a": 1, "a": 2, "b": 3}"#), Some(br#"{"a": 1}"#)],
    );
    assert_eq!(row_text(&d, 0), ["{a: 2, b: 3}"]);
    assert_eq!(row_text(&d, 1), ["{a: 1}"]);
    // One key feeding two fields (`m` exactly, `M` upper-cased), with a map that repeats a key.
    let f = [col("m", map(SqlType::Int)), col("M", map(SqlType::Int))];
    let d = decode_json(&f, &[r#"{"m": {"k": 1, "k": 2}}"#, r#"{"M": {"x": 1}, "m": {"y": 2}}"#]);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    assert_eq!(row_text(&d, 0), ["{k: 2}", "{k: 2}"]);
    assert_eq!(row_text(&d, 1), ["{y: 2}", "{x: 1}"]);
}

#[test]
fn delimited_single_column_keys_and_values() {
    let o = opts(FormatKind::Delimited);
    let f = [col("K", SqlType::String)];
    let d = decode(&o, &f, true, &[Some(b"abc"), Some(b"\"a,b\""), Some(b""), None]);
    assert_eq!(row_text(&d, 0), ["abc"]);
    assert_eq!(row_text(&d, 1), ["a,b"]);
    assert_eq!(errors(&d), [(2, "No fields in record".to_string())]);
    assert_eq!(d.null_rows, [3]);
    let out = encode(&o, &f, true, &d.arrays);
    assert_eq!(
        out,
        [
            Some("abc".into()),
            Some("\"a,b\"".into()),
            Some(String::new()),
            Some(String::new())
        ]
    );
    let unwrapped = opts(FormatKind::Delimited).with_wrap_single_value(Some(false));
    let d = decode(&unwrapped, &[col("V", SqlType::Int)], false, &[Some(b"10")]);
    assert_eq!(row_text(&d, 0), ["10"]);
}

#[test]
fn kafka_empty_payloads() {
    let o = opts(FormatKind::Kafka);
    let d = decode(&o, &[col("V", SqlType::Bytes)], false, &[Some(b"")]);
    assert_eq!(row_text(&d, 0), [""]);
    assert!(d.null_rows.is_empty());
}

#[test]
fn json_fast_and_exact_scalar_paths_agree() {
    let values = [
        "true",
        "false",
        "null",
        "0",
        "-0",
        "1",
        "-7",
        "2147483648",
        "3000000000",
        "86400000",
        "-5",
        "9223372036854775807",
        "9223372036854775808",
        "123456789012345678901234567890",
        "1.5",
        "-41.9",
        "1e3",
        "\"42\"",
        "\"x\"",
        "\"ew==\"",
        "\"\"",
        "\"t\\u00e9\"",
        "[1, \"a\"]",
        "{\"a\": 1.50}",
    ];
    let types = [
        SqlType::Boolean,
        SqlType::Int,
        SqlType::BigInt,
        SqlType::String,
        SqlType::Bytes,
        SqlType::Timestamp,
        SqlType::Date,
        SqlType::Time,
    ];
    for ty in types {
        let f = [col("V", ty.clone())];
        // A fraction for the column switches a decoder to the exact path for good.
        let mut exact = Decoder::new(&opts(FormatKind::Json), &f, false).unwrap();
        exact.decode(&[Some(b"{\"v\": 1.5}")]);
        for v in values {
            let record = format!("{{\"v\": {v}}}");
            let payload: &[&[u8]] = &[record.as_bytes()];
            let p: Vec<Option<&[u8]>> = payload.iter().map(|p| Some(*p)).collect();
            let fast = Decoder::new(&opts(FormatKind::Json), &f, false).unwrap().decode(&p);
            let slow = exact.decode(&p);
            assert_eq!(row_text(&fast, 0), row_text(&slow, 0), "{ty} <- {v}");
            assert_eq!(errors(&fast), errors(&slow), "{ty} <- {v}");
        }
    }
}
