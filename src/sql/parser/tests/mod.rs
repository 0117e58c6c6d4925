//! Tests of the dialect parser, one file per area. Expressions are compared through their `Display` form, which
//! shows both the case of identifiers and their quotes.

mod errors;
mod expressions;
mod query;
mod robustness;
mod splitting;
mod statements;
mod types;

use datafusion::sql::sqlparser::ast::{Expr, SelectItem};

use crate::sql::ast::{Query, Statement};
use crate::sql::{ParseError, parse};

/// Parses text holding exactly one statement.
fn one(sql: &str) -> Statement {
    let mut statements = parse(sql).unwrap_or_else(|e| panic!("{sql}: {e} ({e:?})"));
    assert_eq!(statements.len(), 1, "{sql}");
    statements.remove(0).statement
}

/// Parses a `SELECT`.
fn query(sql: &str) -> Query {
    match one(sql) {
        Statement::Select(query) => *query,
        other => panic!("{sql}: not a SELECT: {other:?}"),
    }
}

/// Parses `SELECT <expression> FROM s` and returns the expression.
fn expr(expression: &str) -> Expr {
    let sql = format!("SELECT {expression} FROM s");
    match query(&sql).projection.as_slice() {
        [SelectItem::UnnamedExpr(e)] => e.clone(),
        other => panic!("{sql}: {other:?}"),
    }
}

/// Parses text that must fail.
fn fails(sql: &str) -> ParseError {
    match parse(sql) {
        Ok(statements) => panic!("{sql}: parsed as {statements:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's message contains `message` and that it points at `line`:`column`.
fn assert_error(sql: &str, message: &str, line: u64, column: u64) {
    let e = fails(sql);
    assert!(
        e.message.contains(message),
        "{sql}: message {:?} lacks {message:?}",
        e.message
    );
    assert_eq!((e.line, e.column), (line, column), "{sql}: {e}");
}
