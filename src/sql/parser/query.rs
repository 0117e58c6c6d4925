//! `SELECT` in the ksqlDB dialect:
//!
//! ```text
//! SELECT item, ... FROM source [alias] [join ...]
//!   [WINDOW ...] [WHERE expr] [GROUP BY expr, ...] [HAVING expr] [PARTITION BY expr, ...]
//!   [EMIT CHANGES|FINAL] [LIMIT n]
//! ```
//!
//! Select items and expressions are `sqlparser`'s; the clauses are ours. `HAVING` and `PARTITION BY` are accepted
//! in either order (ksqlDB's grammar puts `PARTITION BY` first, its documentation `HAVING`).

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, SelectItem, SelectItemQualifiedWildcardKind, WildcardAdditionalOptions,
};
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::PResult;
use super::cursor::{eat_word, error_at, expect_word, expected, parse_u64, peek_word};
use super::idents::{parse_name, parse_optional_alias};
use super::statements::{StatementParser, position};
use crate::sql::ast::{Emit, FromClause, Join, JoinKind, Query, SourceRef};

/// `struct->*` as the wildcard select item over that struct expression, which is what it means: all its fields.
fn struct_wildcard(item: SelectItem) -> SelectItem {
    match item {
        SelectItem::UnnamedExpr(Expr::BinaryOp {
            left,
            op: BinaryOperator::Arrow,
            right,
        }) if matches!(*right, Expr::Wildcard(_)) => SelectItem::QualifiedWildcard(
            SelectItemQualifiedWildcardKind::Expr(*left),
            WildcardAdditionalOptions::default(),
        ),
        other => other,
    }
}

impl StatementParser<'_> {
    /// Parses a `SELECT`, starting at the `SELECT` keyword.
    pub(super) fn parse_query(&mut self) -> PResult<Query> {
        let select = expect_word(&mut self.p, "SELECT", "")?;
        if peek_word(&self.p, "FROM") {
            return expected("a select item after SELECT", self.p.peek_token_ref());
        }
        let projection = self.p.parse_comma_separated(Parser::parse_select_item)?;
        let projection = projection.into_iter().map(struct_wildcard).collect();
        expect_word(&mut self.p, "FROM", " after the select list")?;
        let from = self.parse_from()?;
        let window = if eat_word(&mut self.p, "WINDOW") {
            Some(self.parse_window()?)
        } else {
            None
        };
        let selection = if eat_word(&mut self.p, "WHERE") {
            Some(self.p.parse_expr()?)
        } else {
            None
        };
        let group_by = self.parse_expr_list("GROUP", "BY")?;
        let mut having = self.parse_having()?;
        let partition_by = self.parse_expr_list("PARTITION", "BY")?;
        if having.is_none() {
            having = self.parse_having()?;
        }
        let emit = if eat_word(&mut self.p, "EMIT") {
            if eat_word(&mut self.p, "CHANGES") {
                Some(Emit::Changes)
            } else if eat_word(&mut self.p, "FINAL") {
                Some(Emit::Final)
            } else {
                return expected("CHANGES or FINAL after EMIT", self.p.peek_token_ref());
            }
        } else {
            None
        };
        let limit = if eat_word(&mut self.p, "LIMIT") {
            Some(parse_u64(&mut self.p, "the LIMIT")?.0)
        } else {
            None
        };
        Ok(Query {
            projection,
            from,
            window,
            selection,
            group_by,
            having,
            partition_by,
            emit,
            limit,
            position: position(select),
        })
    }

    fn parse_having(&mut self) -> PResult<Option<Expr>> {
        if eat_word(&mut self.p, "HAVING") {
            Ok(Some(self.p.parse_expr()?))
        } else {
            Ok(None)
        }
    }

    /// `<first> <second> expr, ...` (e.g. `GROUP BY a, b`), or nothing when the first word is absent. ksqlDB
    /// also accepts the list in parentheses, `GROUP BY (a, b)`, which `sqlparser` reads as one tuple.
    fn parse_expr_list(&mut self, first: &str, second: &str) -> PResult<Vec<Expr>> {
        if !eat_word(&mut self.p, first) {
            return Ok(Vec::new());
        }
        expect_word(&mut self.p, second, &format!(" after {first}"))?;
        let mut exprs = self.p.parse_comma_separated(Parser::parse_expr)?;
        if let [Expr::Tuple(items)] = exprs.as_mut_slice() {
            exprs = std::mem::take(items);
        }
        Ok(exprs)
    }

    /// `source [alias] [join ...]`.
    fn parse_from(&mut self) -> PResult<FromClause> {
        let source = self.parse_source_ref("a stream or table name after FROM")?;
        let mut joins = Vec::new();
        while let Some(kind) = self.parse_join_kind()? {
            let source = self.parse_source_ref("a stream or table name after JOIN")?;
            let within = if eat_word(&mut self.p, "WITHIN") {
                Some(self.parse_within()?)
            } else {
                if peek_word(&self.p, "GRACE") {
                    let at = self.p.peek_token_ref().span.start;
                    return Err(error_at("GRACE PERIOD in a join must follow a WITHIN clause", at));
                }
                None
            };
            expect_word(&mut self.p, "ON", " after the joined source")?;
            let on = self.p.parse_expr()?;
            joins.push(Join {
                kind,
                source,
                within,
                on,
            });
        }
        Ok(FromClause { source, joins })
    }

    /// `name [[AS] alias]`.
    fn parse_source_ref(&mut self, what: &str) -> PResult<SourceRef> {
        let (name, at) = parse_name(&mut self.p, what)?;
        let alias = parse_optional_alias(&mut self.p)?;
        Ok(SourceRef {
            name,
            alias,
            position: position(at),
        })
    }

    /// `[INNER] JOIN`, `LEFT [OUTER] JOIN`, `RIGHT [OUTER] JOIN`, `FULL [OUTER] JOIN`, or `None` when no join
    /// starts here.
    fn parse_join_kind(&mut self) -> PResult<Option<JoinKind>> {
        if eat_word(&mut self.p, "JOIN") {
            return Ok(Some(JoinKind::Inner));
        }
        let next = self.p.peek_token();
        let (kind, outer_allowed) = match &next.token {
            Token::Word(w) if w.quote_style.is_none() => match w.value.as_str() {
                "INNER" => (JoinKind::Inner, false),
                "LEFT" => (JoinKind::Left, true),
                "RIGHT" => (JoinKind::Right, true),
                "FULL" => (JoinKind::Full, true),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        self.p.advance_token();
        let keyword = super::cursor::describe(&next);
        let context = if outer_allowed && eat_word(&mut self.p, "OUTER") {
            format!(" after {keyword} OUTER")
        } else {
            format!(" after {keyword}")
        };
        expect_word(&mut self.p, "JOIN", &context)?;
        Ok(Some(kind))
    }
}
