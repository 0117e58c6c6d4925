//! Errors: message shape, line and column (also across lines and statements), and the failing statement's text.

use super::fails;
use crate::sql::parse;

#[test]
fn error_points_at_the_offending_token_on_later_lines() {
    let sql = "SHOW STREAMS;\n\nCREATE STREAM s (\n  id INT KEY,\n  v FLOAT\n) WITH (kafka_topic='t');";
    let e = fails(sql);
    assert!(e.message.starts_with("Expected a type (BOOLEAN"), "{e}");
    assert!(e.message.ends_with(", found FLOAT"), "{e}");
    assert_eq!((e.line, e.column), (5, 5));
    assert_eq!(
        e.statement_text.as_deref(),
        Some("CREATE STREAM s (\n  id INT KEY,\n  v FLOAT\n) WITH (kafka_topic='t')")
    );
    assert_eq!(e.to_string(), format!("line 5:5: {}", e.message));
}

#[test]
fn sqlparser_errors_get_the_same_shape() {
    let e = fails("SELECT a +\n FROM s");
    assert_eq!(e.message, "Expected an expression, found FROM");
    assert_eq!((e.line, e.column), (2, 2));
    assert_eq!(e.statement_text.as_deref(), Some("SELECT a +\n FROM s"));

    let e = fails("SELECT (a FROM s");
    assert_eq!(e.message, "Expected ), found FROM");
    assert_eq!((e.line, e.column), (1, 11));
}

#[test]
fn missing_tokens_point_at_the_end_of_the_statement() {
    let e = fails("SHOW STREAMS; DROP STREAM ;");
    assert_eq!(e.message, "Expected a stream name, found end of statement");
    assert_eq!((e.line, e.column), (1, 27));
    assert_eq!(e.statement_text.as_deref(), Some("DROP STREAM"));

    let e = fails("DROP STREAM");
    assert_eq!((e.line, e.column), (1, 12));

    let e = fails("SELECT * FROM s WHERE");
    assert_eq!(e.message, "Expected an expression, found end of statement");
    assert_eq!((e.line, e.column), (1, 22));
}

#[test]
fn the_first_failing_statement_is_reported() {
    let e = fails("SHOW STREAMS;\nSHOW NOTHING;\nSHOW MORE NOTHING");
    assert_eq!((e.line, e.column), (2, 6));
    assert_eq!(e.statement_text.as_deref(), Some("SHOW NOTHING"));
}

#[test]
fn tokenizer_errors() {
    let e = fails("SHOW STREAMS;\nSELECT 'unterminated FROM s");
    assert!(e.message.contains("Unterminated string literal"), "{e}");
    assert_eq!(e.line, 2);
    assert_eq!(e.statement_text.as_deref(), Some("SELECT 'unterminated FROM s"));

    let e = fails("SELECT `open FROM s");
    assert!(e.message.contains("Expected close delimiter"), "{e}");
    assert_eq!(e.line, 1);
}

#[test]
fn parse_type_errors_carry_the_text() {
    let e = crate::sql::parse_type(" ARRAY<FLOAT> ").unwrap_err();
    assert_eq!((e.line, e.column), (1, 8));
    assert_eq!(e.statement_text.as_deref(), Some("ARRAY<FLOAT>"));
}

#[test]
fn trailing_tokens_are_refused() {
    let e = fails("SHOW STREAMS EXTENDED please");
    assert_eq!(e.message, "Expected end of statement, found PLEASE");
    assert_eq!((e.line, e.column), (1, 23));
    assert!(parse("SELECT * FROM s EMIT CHANGES LIMIT 5").is_ok());
}
