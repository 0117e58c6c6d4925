//! Expressions delegated to `sqlparser`: the identifier case rule inside them, ksqlDB operators, and the forms
//! the dialect hook parses (`CAST`, `STRUCT(...)`, `MAP(...)`, lambdas).

use datafusion::sql::sqlparser::ast::{CastKind, DataType, Expr, SelectItem, SelectItemQualifiedWildcardKind};

use super::{assert_error, expr, query};
use crate::sql::parse_type;
use crate::types::SqlType;

#[test]
fn unquoted_identifiers_are_upper_cased_everywhere() {
    let q = query(
        "select col, t.col, `Quoted`, \"Dq\", s->field->`Inner`, fn(x) AS alias, 'Lit' \
         from src t where lower(name) = 'Ann' group by col having max(v) > 1",
    );
    let items: Vec<String> = q.projection.iter().map(ToString::to_string).collect();
    assert_eq!(
        items,
        [
            "COL",
            "T.COL",
            "`Quoted`",
            "\"Dq\"",
            "S -> FIELD -> `Inner`",
            "FN(X) AS ALIAS",
            "'Lit'"
        ]
    );
    assert_eq!(q.selection.unwrap().to_string(), "LOWER(NAME) = 'Ann'");
    assert_eq!(q.group_by[0].to_string(), "COL");
    assert_eq!(q.having.unwrap().to_string(), "MAX(V) > 1");
    assert_eq!(q.from.source.alias.as_deref(), Some("T"));
}

#[test]
fn quote_styles_are_kept() {
    let Expr::Identifier(ident) = expr("`Back`") else {
        panic!()
    };
    assert_eq!((ident.value.as_str(), ident.quote_style), ("Back", Some('`')));
    let Expr::Identifier(ident) = expr("\"Double\"") else {
        panic!()
    };
    assert_eq!((ident.value.as_str(), ident.quote_style), ("Double", Some('"')));
    let Expr::Identifier(ident) = expr("plain") else {
        panic!()
    };
    assert_eq!((ident.value.as_str(), ident.quote_style), ("PLAIN", None));
}

#[test]
fn ksqldb_operators() {
    let cases = [
        ("a->b->c", "A -> B -> C"),
        ("arr[1]", "ARR[1]"),
        ("m['key']", "M['key']"),
        (
            "CASE WHEN a > 1 THEN 'x' ELSE 'y' END",
            "CASE WHEN A > 1 THEN 'x' ELSE 'y' END",
        ),
        ("CASE a WHEN 1 THEN 'x' END", "CASE A WHEN 1 THEN 'x' END"),
        ("a LIKE 'x%'", "A LIKE 'x%'"),
        ("a NOT LIKE 'x!%' ESCAPE '!'", "A NOT LIKE 'x!%' ESCAPE '!'"),
        ("a IN (1, 2)", "A IN (1, 2)"),
        ("a NOT IN ('x')", "A NOT IN ('x')"),
        ("a BETWEEN 1 AND 2", "A BETWEEN 1 AND 2"),
        ("a IS NULL", "A IS NULL"),
        ("a IS NOT NULL", "A IS NOT NULL"),
        ("a IS DISTINCT FROM b", "A IS DISTINCT FROM B"),
        ("ARRAY[1, 2, 3]", "ARRAY[1, 2, 3]"),
        ("NOT a AND b OR c", "NOT A AND B OR C"),
        ("-a + b * c / d % e", "-A + B * C / D % E"),
        ("a || 'x'", "A || 'x'"),
        ("concat(a, 'b')", "CONCAT(A, 'b')"),
        ("count(*)", "COUNT(*)"),
        ("TRUE", "true"),
    ];
    for (text, display) in cases {
        assert_eq!(expr(text).to_string(), display, "{text}");
    }
}

/// The `SqlType` a `CAST` carries, checking its shape on the way.
fn cast_target(expression: &str) -> SqlType {
    match expr(expression) {
        Expr::Cast {
            kind: CastKind::Cast,
            data_type: DataType::Custom(name, modifiers),
            format: None,
            array: false,
            ..
        } => {
            assert!(modifiers.is_empty());
            parse_type(&name.to_string()).unwrap_or_else(|e| panic!("{expression}: {name}: {e}"))
        }
        other => panic!("{expression}: {other:?}"),
    }
}

#[test]
fn every_cast_carries_a_custom_ksqldb_type() {
    let cases = [
        ("CAST(a AS INT)", "INTEGER"),
        ("cast(a as integer)", "INTEGER"),
        ("CAST(a AS BIGINT)", "BIGINT"),
        ("CAST(a AS VARCHAR)", "STRING"),
        ("CAST(a AS STRING)", "STRING"),
        ("CAST(a AS BYTES)", "BYTES"),
        ("CAST(a AS DECIMAL(5, 2))", "DECIMAL(5, 2)"),
        ("CAST(a AS TIMESTAMP)", "TIMESTAMP"),
        ("CAST(a AS ARRAY<ARRAY<INT>>)", "ARRAY<ARRAY<INTEGER>>"),
        ("CAST(a AS MAP<STRING, DOUBLE>)", "MAP<STRING, DOUBLE>"),
        (
            "CAST(a AS STRUCT<x INT, `Y` MAP<STRING, ARRAY<BOOLEAN>>>)",
            "STRUCT<`X` INTEGER, `Y` MAP<STRING, ARRAY<BOOLEAN>>>",
        ),
    ];
    for (text, display) in cases {
        assert_eq!(cast_target(text).to_string(), display, "{text}");
    }
    // Nested casts and casts inside other expressions are all rewritten.
    let Expr::Cast { expr: inner, .. } = expr("CAST(CAST(a AS INT) AS STRING)") else {
        panic!()
    };
    assert!(matches!(
        *inner,
        Expr::Cast {
            data_type: DataType::Custom(..),
            ..
        }
    ));
    assert_eq!(expr("1 + CAST(b AS DOUBLE)").to_string(), "1 + CAST(B AS DOUBLE)");
}

#[test]
fn cast_errors() {
    assert_error("SELECT CAST(a AS FLOAT) FROM s", "Expected a type (BOOLEAN", 1, 18);
    assert_error("SELECT CAST(a INT) FROM s", "Expected AS in CAST, found INT", 1, 15);
    assert_error(
        "SELECT CAST(a AS INT FROM s",
        "Expected ) after the CAST type, found FROM",
        1,
        22,
    );
    assert_error(
        "SELECT TRY_CAST(a AS INT) FROM s",
        "TRY_CAST is not supported; use CAST",
        1,
        8,
    );
    assert_error("SELECT CONVERT(a, INT) FROM s", "CONVERT is not supported", 1, 8);
    assert_error(
        "SELECT a::INT FROM s",
        "The :: cast is not supported; use CAST(expression AS type)",
        1,
        9,
    );
}

#[test]
fn forms_outside_ksqldb_are_refused() {
    assert_error("SELECT INTERVAL '1' DAY FROM s", "INTERVAL is not supported", 1, 8);
    assert_error(
        "SELECT * FROM s WHERE EXISTS (SELECT 1)",
        "EXISTS is not supported",
        1,
        23,
    );
    assert_error("SELECT (SELECT 1) FROM s", "Subqueries are not supported", 1, 8);
    assert_error("SELECT a + FROM s", "Expected an expression, found FROM", 1, 12);
    // `ARRAY` before `<` is a column being compared, not a type.
    assert_eq!(expr("array < 3").to_string(), "ARRAY < 3");
}

#[test]
fn constructors() {
    let Expr::Struct { values, fields } = expr("STRUCT(name := 'x', `Id` := 1 + 2)") else {
        panic!()
    };
    assert!(fields.is_empty());
    let shown: Vec<String> = values.iter().map(ToString::to_string).collect();
    assert_eq!(shown, ["'x' AS NAME", "1 + 2 AS `Id`"]);
    assert!(matches!(expr("STRUCT()"), Expr::Struct { values, .. } if values.is_empty()));

    let Expr::Map(map) = expr("MAP('a' := 1, 'b' := x)") else {
        panic!()
    };
    let entries: Vec<String> = map.entries.iter().map(|e| format!("{}={}", e.key, e.value)).collect();
    assert_eq!(entries, ["'a'=1", "'b'=X"]);
    assert!(matches!(expr("MAP()"), Expr::Map(m) if m.entries.is_empty()));

    // Without parentheses these are plain names.
    assert_eq!(expr("map").to_string(), "MAP");
}

#[test]
fn lambdas() {
    assert_eq!(
        expr("TRANSFORM(arr, x => x + 1)").to_string(),
        "TRANSFORM(ARR, X -> X + 1)"
    );
    assert_eq!(
        expr("REDUCE(m, 0, (s, k, v) => s + v)").to_string(),
        "REDUCE(M, 0, (S, K, V) -> S + V)"
    );
    assert_eq!(
        expr("FILTER(arr, (x) => x > 0)").to_string(),
        "FILTER(ARR, (X) -> X > 0)"
    );
    // A parenthesized expression is not mistaken for lambda parameters.
    assert_eq!(expr("(a, b)").to_string(), "(A, B)");
}

#[test]
fn string_literals_are_untouched() {
    let Some(SelectItem::UnnamedExpr(e)) = query("SELECT 'MiXeD', 'it''s' FROM s").projection.first().cloned() else {
        panic!()
    };
    assert_eq!(e.to_string(), "'MiXeD'");
    let q = query("SELECT 'it''s' FROM s");
    assert_eq!(q.projection[0].to_string(), "'it''s'");
}

#[test]
fn struct_wildcard_select_item() {
    let q = query("SELECT s->*, a->b->*, s->x FROM t");
    match &q.projection[0] {
        SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::Expr(e), _) => assert_eq!(e.to_string(), "S"),
        other => panic!("{other:?}"),
    }
    match &q.projection[1] {
        SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::Expr(e), _) => {
            assert_eq!(e.to_string(), "A -> B")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(q.projection[2].to_string(), "S -> X");
    assert_error("SELECT * FROM t WHERE * = 1", "Expected an expression, found *", 1, 23);
}
