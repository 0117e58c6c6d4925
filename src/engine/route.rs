//! Which planner a query request (`/query`, `/query-stream`) goes to.
//!
//! Statements are read in ksqlDB's dialect first, so push queries, stream scans, key lookups and `PRINT` keep
//! their ksqlDB behaviour and errors. A pull query the dialect cannot express (`ORDER BY`, subqueries, ...) or
//! Weir's own pull planner rejects (`JOIN`, `GROUP BY`, aggregates) is full SQL instead, planned by DataFusion
//! ([`crate::serve`]) — but only when it parses as one SQL `SELECT`; otherwise the dialect's error stands, so
//! ksqlDB-only syntax still gets ksqlDB's message.

use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::plan::needs_full_sql;
use crate::sql::ast::{ParsedStatement, Statement};

use super::{Engine, EngineError};

/// Where a query request's text goes.
#[derive(Debug)]
pub enum QueryRoute {
    /// The statements in ksqlDB's dialect, to run as before (a `SELECT`, a `PRINT`, or anything else, which the
    /// caller rejects).
    Dialect(Vec<ParsedStatement>),
    /// A pull query for full SQL (DataFusion), parsed as SQL.
    FullSql(Box<SqlStatement>),
}

impl Engine {
    /// Routes the text of a query request; the error is the dialect's parse error.
    pub fn route_query(&self, sql: &str) -> Result<QueryRoute, EngineError> {
        match crate::sql::parse(sql) {
            Ok(statements) => {
                if let [only] = statements.as_slice()
                    && let Statement::Select(query) = &only.statement
                    && needs_full_sql(query)
                    && let Some(statement) = full_sql_select(sql)
                {
                    return Ok(QueryRoute::FullSql(Box::new(statement)));
                }
                Ok(QueryRoute::Dialect(statements))
            }
            Err(e) => match full_sql_select(sql) {
                Some(statement) => Ok(QueryRoute::FullSql(Box::new(statement))),
                None => Err(e.into()),
            },
        }
    }
}

/// `sql` as one SQL `SELECT` (Postgres syntax, with ksqlDB's backquoted identifiers), or `None`.
pub fn full_sql_select(sql: &str) -> Option<SqlStatement> {
    let mut statements = Parser::parse_sql(&PostgreSqlDialect {}, &backquotes_to_double_quotes(sql)).ok()?;
    if statements.len() != 1 {
        return None;
    }
    match statements.remove(0) {
        s @ SqlStatement::Query(_) => Some(s),
        _ => None,
    }
}

/// Rewrites `` `NAME` `` identifiers as `"NAME"` (Postgres' quoting; both keep the name as written), leaving string
/// literals alone. An unterminated quote is left for the parser to report.
fn backquotes_to_double_quotes(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                out.push(c);
                // A string literal, with '' as an escaped quote.
                while let Some(s) = chars.next() {
                    out.push(s);
                    if s == '\'' {
                        if chars.peek() == Some(&'\'') {
                            out.push('\'');
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '"' => {
                out.push(c);
                for s in chars.by_ref() {
                    out.push(s);
                    if s == '"' {
                        break;
                    }
                }
            }
            '`' => {
                out.push('"');
                while let Some(s) = chars.next() {
                    match s {
                        '`' if chars.peek() == Some(&'`') => {
                            out.push('`');
                            chars.next();
                        }
                        '`' => {
                            out.push('"');
                            break;
                        }
                        '"' => out.push_str("\"\""),
                        other => out.push(other),
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backquoted_identifiers_become_double_quoted() {
        assert_eq!(
            backquotes_to_double_quotes("SELECT `Id`, 'it''s `x`' FROM `t` ORDER BY `a\"b`"),
            "SELECT \"Id\", 'it''s `x`' FROM \"t\" ORDER BY \"a\"\"b\""
        );
    }

    #[test]
    fn only_single_sql_selects_are_full_sql() {
        assert!(full_sql_select("SELECT * FROM t ORDER BY v DESC LIMIT 2;").is_some());
        assert!(full_sql_select("SELECT `ID` FROM t ORDER BY 1").is_some());
        assert!(full_sql_select("SELECT * FROM t ORDER BY v EMIT CHANGES;").is_none());
        assert!(full_sql_select("SELECT 1; SELECT 2;").is_none());
        assert!(full_sql_select("CREATE TABLE x (a INT)").is_none());
        assert!(full_sql_select("SELECT * FROM").is_none());
    }

    #[test]
    fn the_dialect_decides_first() {
        let parse = |sql: &str| match crate::sql::parse(sql) {
            Ok(s) => match &s[0].statement {
                Statement::Select(q) => needs_full_sql(q),
                _ => false,
            },
            Err(_) => false,
        };
        assert!(parse("SELECT a.id, b.v FROM a JOIN b ON a.id = b.id;"));
        assert!(parse("SELECT region, SUM(views) FROM t GROUP BY region;"));
        assert!(parse("SELECT COUNT(*), MAX(v) + 1 FROM t;"));
        assert!(!parse("SELECT UCASE(region) FROM t;"));
        assert!(!parse("SELECT * FROM t WHERE id = 'a';"));
        assert!(!parse("SELECT region, COUNT(*) FROM t GROUP BY region EMIT CHANGES;"));
        assert!(!parse(
            "SELECT region, COUNT(*) FROM t WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY region;"
        ));
    }
}
