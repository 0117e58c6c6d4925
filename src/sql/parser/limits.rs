//! Bounds on how large and deep a statement may be, and where each is checked.
//!
//! Deep input must end in an error, never in a stack overflow, neither here nor in the layers that walk the AST
//! afterwards (`Display`, visitors, DataFusion's planner), which run on ordinary 2 MiB threads. Measured in a debug
//! build, printing a chain of 300 `+` already overflows such a stack. So:
//!
//! - `(` and `[` may nest [`BRACKET_DEPTH_LIMIT`] deep, checked on the tokens before parsing;
//! - `sqlparser` recurses at most [`EXPRESSION_DEPTH_LIMIT`] levels into an expression (its own guard);
//! - a chain of operators (`a + b + c ...`) is built by a loop, not recursion, so it escapes that guard: a
//!   statement may hold [`OPERATOR_LIMIT`] operators (counted by the dialect), which bounds the tree the next check
//!   walks;
//! - after parsing, no expression tree may be deeper than [`EXPRESSION_TREE_DEPTH_LIMIT`], what later layers can
//!   walk on a 2 MiB stack;
//! - types nest at most [`super::types::MAX_TYPE_DEPTH`] deep;
//! - all of it runs on a thread with a [`PARSER_STACK_BYTES`] stack, since `sqlparser`'s frames are large: 49
//!   nested `CASE` need between 4 and 8 MiB in a debug build.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Expr, Spanned, Visit, Visitor};
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use crate::sql::ast::{ExplainTarget, Query, Statement};

/// How deeply `sqlparser` may recurse into one expression (its own default, and DataFusion's).
pub(super) const EXPRESSION_DEPTH_LIMIT: usize = 50;

/// How deeply parentheses and brackets may nest in one statement. Valid statements stay well below it (each level
/// is also a level of [`EXPRESSION_DEPTH_LIMIT`]); it guarantees that no bracket-driven recursion inside
/// `sqlparser`, guarded or not, goes deeper.
pub(super) const BRACKET_DEPTH_LIMIT: usize = 64;

/// How many infix operators (`+`, `AND`, `=`, `IS NULL`, `[..]`, ...) one statement may hold.
pub(super) const OPERATOR_LIMIT: usize = 10_000;

/// How deep an expression tree may be, counting one level per operator in a chain.
pub(super) const EXPRESSION_TREE_DEPTH_LIMIT: usize = 128;

/// The stack of the thread statements are parsed on; reserved, not committed, until used.
pub(super) const PARSER_STACK_BYTES: usize = 32 * 1024 * 1024;

/// The first `(` or `[` nested deeper than [`BRACKET_DEPTH_LIMIT`], if any.
pub(super) fn too_deep_bracket(tokens: &[TokenWithSpan]) -> Option<Location> {
    let mut depth = 0usize;
    for token in tokens {
        match token.token {
            Token::LParen | Token::LBracket => {
                depth += 1;
                if depth > BRACKET_DEPTH_LIMIT {
                    return Some(token.span.start);
                }
            }
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Where the first expression deeper than [`EXPRESSION_TREE_DEPTH_LIMIT`] starts, if any (`None` inside the
/// `Some` when its position is unknown).
pub(super) fn too_deep_expression(statement: &Statement) -> Option<Option<Location>> {
    let mut visitor = DepthVisitor { depth: 0 };
    match visit_statement(statement, &mut visitor) {
        ControlFlow::Break(at) => Some(at),
        ControlFlow::Continue(()) => None,
    }
}

struct DepthVisitor {
    depth: usize,
}

impl Visitor for DepthVisitor {
    type Break = Option<Location>;

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Self::Break> {
        self.depth += 1;
        if self.depth > EXPRESSION_TREE_DEPTH_LIMIT {
            let start = expr.span().start;
            return ControlFlow::Break((start.line > 0).then_some(start));
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, _expr: &Expr) -> ControlFlow<Self::Break> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }
}

fn visit_statement(statement: &Statement, v: &mut DepthVisitor) -> ControlFlow<Option<Location>> {
    match statement {
        Statement::Select(query) => visit_query(query, v),
        Statement::CreateAsSelect(create) => visit_query(&create.query, v),
        Statement::InsertSelect { query, .. } => visit_query(query, v),
        Statement::InsertValues { values, .. } => values.iter().try_for_each(|e| e.visit(v)),
        Statement::Explain(ExplainTarget::Statement(inner)) => visit_statement(inner, v),
        _ => ControlFlow::Continue(()),
    }
}

fn visit_query(query: &Query, v: &mut DepthVisitor) -> ControlFlow<Option<Location>> {
    query.projection.iter().try_for_each(|item| item.visit(v))?;
    query.from.joins.iter().try_for_each(|join| join.on.visit(v))?;
    query.selection.iter().try_for_each(|e| e.visit(v))?;
    query.group_by.iter().try_for_each(|e| e.visit(v))?;
    query.having.iter().try_for_each(|e| e.visit(v))?;
    query.partition_by.iter().try_for_each(|e| e.visit(v))
}
