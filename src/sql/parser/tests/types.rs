//! Column types: every base type, nesting, `>>`, struct field names, bounds, and `parse_type`.

use super::{assert_error, one};
use crate::sql::ast::Statement;
use crate::sql::parse_type;
use crate::types::SqlType;

fn array(t: SqlType) -> SqlType {
    SqlType::Array(Box::new(t))
}

fn map(k: SqlType, v: SqlType) -> SqlType {
    SqlType::Map(Box::new(k), Box::new(v))
}

/// The type of the single column of `CREATE STREAM s (c <ty>)`.
fn column_type(ty: &str) -> SqlType {
    match one(&format!("CREATE STREAM s (c {ty}) WITH (kafka_topic='t')")) {
        Statement::CreateSource(c) => c.columns[0].ty.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn base_types() {
    let cases = [
        ("BOOLEAN", SqlType::Boolean),
        ("int", SqlType::Int),
        ("Integer", SqlType::Int),
        ("BIGINT", SqlType::BigInt),
        ("DOUBLE", SqlType::Double),
        ("decimal(10, 2)", SqlType::decimal(10, 2).unwrap()),
        ("STRING", SqlType::String),
        ("VARCHAR", SqlType::String),
        ("BYTES", SqlType::Bytes),
        ("TIMESTAMP", SqlType::Timestamp),
        ("DATE", SqlType::Date),
        ("TIME", SqlType::Time),
    ];
    for (text, ty) in cases {
        assert_eq!(parse_type(text), Ok(ty.clone()), "{text}");
        assert_eq!(column_type(text), ty, "{text}");
    }
}

#[test]
fn nested_types_and_shift_right() {
    assert_eq!(parse_type("ARRAY<ARRAY<INT>>"), Ok(array(array(SqlType::Int))));
    assert_eq!(
        parse_type("ARRAY<ARRAY<ARRAY<INT>>>"),
        Ok(array(array(array(SqlType::Int))))
    );
    assert_eq!(
        parse_type("ARRAY<ARRAY<ARRAY<ARRAY<INT>>>>"),
        Ok(array(array(array(array(SqlType::Int)))))
    );
    assert_eq!(parse_type("ARRAY< ARRAY< INT > >"), Ok(array(array(SqlType::Int))));
    assert_eq!(
        parse_type("MAP<STRING, MAP<STRING, ARRAY<BIGINT>>>"),
        Ok(map(SqlType::String, map(SqlType::String, array(SqlType::BigInt))))
    );
    assert_eq!(
        parse_type("STRUCT<a ARRAY<INT>>"),
        Ok(SqlType::Struct(vec![("A".into(), array(SqlType::Int))]))
    );
    assert_eq!(
        parse_type("STRUCT<a STRUCT<b MAP<STRING, DECIMAL(4, 1)>>, `c` BYTES>"),
        Ok(SqlType::Struct(vec![
            (
                "A".into(),
                SqlType::Struct(vec![(
                    "B".into(),
                    map(SqlType::String, SqlType::decimal(4, 1).unwrap())
                )])
            ),
            ("c".into(), SqlType::Bytes),
        ]))
    );
    assert_eq!(parse_type("STRUCT<>"), Ok(SqlType::Struct(vec![])));
    assert_eq!(parse_type("STRUCT< >"), Ok(SqlType::Struct(vec![])));
    assert_eq!(parse_type("ARRAY<STRUCT<>>"), Ok(array(SqlType::Struct(vec![]))));
    assert_eq!(
        column_type("ARRAY<MAP<STRING, ARRAY<INT>>>"),
        array(map(SqlType::String, array(SqlType::Int)))
    );
}

#[test]
fn struct_field_names_follow_the_identifier_rule() {
    assert_eq!(
        parse_type("STRUCT<lower INT, `Quoted` INT, \"Dq\" INT, KEY STRING, VALUE BYTES>"),
        Ok(SqlType::Struct(vec![
            ("LOWER".into(), SqlType::Int),
            ("Quoted".into(), SqlType::Int),
            ("Dq".into(), SqlType::Int),
            ("KEY".into(), SqlType::String),
            ("VALUE".into(), SqlType::Bytes),
        ]))
    );
}

#[test]
fn display_round_trips() {
    let types = [
        "BOOLEAN",
        "DECIMAL(38, 38)",
        "ARRAY<ARRAY<MAP<STRING, STRUCT<`a` INT, `B c` ARRAY<BYTES>>>>>",
        "STRUCT<>",
        "MAP<BIGINT, TIME>",
    ];
    for text in types {
        let ty = parse_type(text).unwrap();
        assert_eq!(parse_type(&ty.to_string()), Ok(ty.clone()), "{text}");
    }
}

#[test]
fn type_errors() {
    let e = parse_type("ARRAY<INT>>").unwrap_err();
    assert_eq!(
        (e.message.as_str(), e.line, e.column),
        ("Unexpected > after the type", 1, 11)
    );
    let e = parse_type("MAP<ARRAY<INT>>").unwrap_err();
    assert_eq!(
        (e.message.as_str(), e.column),
        ("Expected , after the MAP key type, found >", 15)
    );
    let e = parse_type("DECIMAL(40, 2)").unwrap_err();
    assert!(e.message.contains("DECIMAL precision must be between 1 and 38"), "{e}");
    let e = parse_type("STRUCT<a INT, A STRING>").unwrap_err();
    assert_eq!((e.message.as_str(), e.column), ("Duplicate field A in STRUCT", 15));
    let e = parse_type("FLOAT").unwrap_err();
    assert!(e.message.starts_with("Expected a type (BOOLEAN, INT,"), "{e}");
    assert!(e.message.ends_with("found FLOAT"), "{e}");
    let e = parse_type("\"INT\"").unwrap_err();
    assert!(e.message.ends_with("found \"INT\""), "{e}");
    let e = parse_type("INT INT").unwrap_err();
    assert_eq!(
        (e.message.as_str(), e.column),
        ("Expected end of statement after the type, found INT", 5)
    );
    let e = parse_type("ARRAY<INT").unwrap_err();
    assert_eq!(
        (e.message.as_str(), e.column),
        ("Expected > after the ARRAY element type, found end of statement", 10)
    );
    let e = parse_type("DECIMAL").unwrap_err();
    assert_eq!(e.message, "Expected ( after DECIMAL, found end of statement");
    let e = parse_type("").unwrap_err();
    assert_eq!((e.line, e.column), (1, 1));
    assert_error(
        "CREATE STREAM s (a STRUCT<b INT c INT>) WITH (kafka_topic='t')",
        "Expected , or > after a STRUCT field, found C",
        1,
        33,
    );
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{}INT{}", "ARRAY<".repeat(31), ">".repeat(31));
    assert!(parse_type(&ok).is_ok());
    let deep = format!("{}INT{}", "ARRAY<".repeat(10_000), ">".repeat(10_000));
    let e = parse_type(&deep).unwrap_err();
    assert_eq!(e.message, "Type nesting is too deep (at most 32 levels)");
    assert_eq!((e.line, e.column), (1, 1 + 6 * 32));
    let shifted = format!("{}INT{}", "ARRAY<".repeat(10_000), ">>".repeat(5_000));
    assert!(parse_type(&shifted).is_err());
    let structs = format!("{}INT{}", "STRUCT<a ".repeat(10_000), ">".repeat(10_000));
    assert!(parse_type(&structs).is_err());
    let cast = format!("SELECT CAST(x AS {deep}) FROM s");
    assert!(crate::sql::parse(&cast).is_err());
}
