//! The `sqlparser` dialect for ksqlDB expressions.
//!
//! Identifier characters follow `GenericDialect`; quoted identifiers use `"` or `` ` ``. A `parse_prefix` hook
//! takes over the expression forms whose ksqlDB syntax `sqlparser` reads differently or not at all:
//!
//! - `CAST(expr AS type)`: the type is parsed by [`super::types`] (so `MAP<..>`, `STRUCT<..>`, `BYTES` and any
//!   nesting work) and stored as `DataType::Custom(<SqlType display>)` for **every** cast, so the planner has one
//!   form to handle and re-reads it with [`crate::sql::parse_type`]. `TRY_CAST` / `SAFE_CAST` are not ksqlDB and
//!   are refused rather than left in a second form.
//! - `STRUCT(name := expr, ...)` becomes `Expr::Struct` of `Expr::Named` values (the shape DataFusion plans as a
//!   named struct), and `MAP(key := value, ...)` becomes `Expr::Map`.
//! - Forms that are not ksqlDB are refused with a clear message: `TRY_CAST`, `SAFE_CAST`, `CONVERT`, `INTERVAL`,
//!   `EXISTS` and subqueries. (Some of them would also reach `sqlparser` code that recurses without its depth
//!   guard.)
//! - A reserved word that cannot start an expression (`FROM`, `WHERE`, ...) is an error, where `sqlparser` would
//!   read it as a column name.
//! - `*` right after `->` is a wildcard, for ksqlDB's `struct->*` select item.
//! - Lambdas `x => body` and `(x, y) => body` become `Expr::Lambda`; for that, `=>` is not a named-argument
//!   operator in this dialect.
//!
//! `::` casts are not ksqlDB either: `get_next_precedence` reports them as an error pointing at the `::`.

use std::cell::Cell;

use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::{
    CastKind, DataType, Expr, Ident, LambdaFunction, LambdaFunctionParameter, LambdaSyntax, Map, MapEntry, ObjectName,
    OneOrManyWithParens,
};
use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Span, Token, Word};

use super::PResult;
use super::cursor::{error_at, expect_token, expect_word, expected};
use super::limits::OPERATOR_LIMIT;

/// The dialect of one parse. It counts the statement's operators (see [`super::limits`]), so each statement gets
/// a fresh one.
#[derive(Debug, Default)]
pub(super) struct KsqlDialect {
    operators: Cell<usize>,
}

impl KsqlDialect {
    pub(super) fn new() -> Self {
        Self::default()
    }
}

impl Dialect for KsqlDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"' || ch == '`'
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        GenericDialect.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        GenericDialect.is_identifier_part(ch)
    }

    fn supports_named_fn_args_with_rarrow_operator(&self) -> bool {
        false
    }

    /// When a word that starts a special form (`CASE`, `ARRAY[`, `NOT`, `FLOOR(`, ...) fails to parse as that
    /// form, `sqlparser` retries it as a column name unless the word is reserved. Each nesting level then parses
    /// its contents twice, so an error deep inside nested `ARRAY[...]` took exponential time (2.4 s at 18 levels)
    /// and a too-deep `CASE` lost its error. Treating every keyword as reserved here reports the first error; a
    /// column named like such a form (`floor`) must be quoted.
    fn is_reserved_for_identifier(&self, _kw: Keyword) -> bool {
        true
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        let [first, second] = parser.peek_tokens_ref();
        let call = second.token == Token::LParen;
        let unsupported = |message: String| Some(Err(error_at(message, first.span.start)));
        match &first.token {
            Token::Word(w) if w.quote_style.is_none() && super::idents::cannot_start_expression(&w.value) => {
                Some(expected("an expression", first))
            }
            Token::Word(w) if w.quote_style.is_none() => match w.value.as_str() {
                "CAST" if call => Some(parse_cast(parser)),
                "STRUCT" if call => Some(parse_struct(parser)),
                "MAP" if call => Some(parse_map(parser)),
                "TRY_CAST" | "SAFE_CAST" | "CONVERT" | "TRY_CONVERT" => {
                    unsupported(format!("{} is not supported; use CAST(expression AS type)", w.value))
                }
                // Not ksqlDB, and `sqlparser` reads an interval's value without its depth guard.
                "INTERVAL" => unsupported("INTERVAL is not supported".to_string()),
                "EXISTS" => unsupported("EXISTS is not supported".to_string()),
                // `sqlparser` tries every prefix as a type first, and reads `ARRAY<...>` without its depth guard;
                // in an expression `ARRAY` before `<` can only be a column compared with something.
                "ARRAY" if matches!(second.token, Token::Lt | Token::ShiftLeft | Token::Neq | Token::LtEq) => {
                    let ident = word_ident(w, first.span);
                    parser.advance_token();
                    Some(Ok(Expr::Identifier(ident)))
                }
                _ if second.token == Token::RArrow => Some(parse_lambda(parser)),
                _ => None,
            },
            Token::LParen if starts_query(&parser.peek_nth_token_ref(1).token) => {
                unsupported("Subqueries are not supported".to_string())
            }
            // `struct->*` (all fields of a struct): the query parser turns it into a wildcard select item.
            Token::Mul if parser.get_current_token().token == Token::Arrow => {
                let token = first.clone();
                parser.advance_token();
                Some(Ok(Expr::Wildcard(AttachedToken(token))))
            }
            Token::Word(_) if second.token == Token::RArrow => Some(parse_lambda(parser)),
            Token::LParen if lambda_params_ahead(parser) => Some(parse_lambda(parser)),
            _ => None,
        }
    }

    /// Counts operators: a chain such as `a + b + c ...` is built by a loop in `sqlparser`, outside its depth
    /// guard, so its length is bounded here.
    fn parse_infix(&self, parser: &mut Parser, _expr: &Expr, _precedence: u8) -> Option<Result<Expr, ParserError>> {
        let count = self.operators.get() + 1;
        self.operators.set(count);
        if count > OPERATOR_LIMIT {
            let message = format!("Too many operators in one statement (at most {OPERATOR_LIMIT})");
            return Some(Err(error_at(message, parser.peek_token_ref().span.start)));
        }
        None
    }

    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        let next = parser.peek_token_ref();
        match next.token {
            Token::DoubleColon => Some(Err(error_at(
                "The :: cast is not supported; use CAST(expression AS type)",
                next.span.start,
            ))),
            // `:=` separates names from values in STRUCT(...) and MAP(...); it is no operator.
            Token::Assignment => Some(Ok(0)),
            _ => None,
        }
    }
}

/// True for the words that start a query inside parentheses.
fn starts_query(token: &Token) -> bool {
    ["SELECT", "WITH", "VALUES"]
        .iter()
        .any(|w| super::cursor::is_word(token, w))
}

/// `CAST(expr AS type)`.
fn parse_cast(p: &mut Parser<'_>) -> PResult<Expr> {
    p.advance_token(); // CAST
    p.advance_token(); // (
    let expr = p.parse_expr()?;
    expect_word(p, "AS", " in CAST")?;
    let ty = super::types::parse_sql_type(p)?;
    expect_token(p, &Token::RParen, " after the CAST type")?;
    Ok(Expr::Cast {
        kind: CastKind::Cast,
        expr: Box::new(expr),
        data_type: DataType::Custom(ObjectName::from(vec![Ident::new(ty.to_string())]), vec![]),
        array: false,
        format: None,
    })
}

/// `STRUCT(name := expr, ...)`.
fn parse_struct(p: &mut Parser<'_>) -> PResult<Expr> {
    p.advance_token(); // STRUCT
    p.advance_token(); // (
    let mut values = Vec::new();
    if !p.consume_token(&Token::RParen) {
        loop {
            let name = p.next_token();
            let ident = match &name.token {
                Token::Word(w) => word_ident(w, name.span),
                _ => return expected("a STRUCT field name", &name),
            };
            expect_token(p, &Token::Assignment, " after the STRUCT field name")?;
            values.push(Expr::Named {
                expr: Box::new(p.parse_expr()?),
                name: ident,
            });
            if p.consume_token(&Token::RParen) {
                break;
            }
            expect_token(p, &Token::Comma, " or ) in STRUCT(...)")?;
        }
    }
    Ok(Expr::Struct { values, fields: vec![] })
}

/// `MAP(key := value, ...)`.
fn parse_map(p: &mut Parser<'_>) -> PResult<Expr> {
    p.advance_token(); // MAP
    p.advance_token(); // (
    let mut entries = Vec::new();
    if !p.consume_token(&Token::RParen) {
        loop {
            let key = p.parse_expr()?;
            expect_token(p, &Token::Assignment, " after the MAP key")?;
            let value = p.parse_expr()?;
            entries.push(MapEntry {
                key: Box::new(key),
                value: Box::new(value),
            });
            if p.consume_token(&Token::RParen) {
                break;
            }
            expect_token(p, &Token::Comma, " or ) in MAP(...)")?;
        }
    }
    Ok(Expr::Map(Map { entries }))
}

/// True when the tokens ahead are `( name [, name]* ) =>`.
fn lambda_params_ahead(p: &Parser<'_>) -> bool {
    let mut n = 1;
    loop {
        if !matches!(p.peek_nth_token_ref(n).token, Token::Word(_)) {
            return false;
        }
        match p.peek_nth_token_ref(n + 1).token {
            Token::Comma => n += 2,
            Token::RParen => return p.peek_nth_token_ref(n + 2).token == Token::RArrow,
            _ => return false,
        }
    }
}

/// `x => body` or `(x, y) => body`; the caller has checked the shape.
fn parse_lambda(p: &mut Parser<'_>) -> PResult<Expr> {
    let params = if p.consume_token(&Token::LParen) {
        let mut params = vec![parse_lambda_param(p)?];
        while p.consume_token(&Token::Comma) {
            params.push(parse_lambda_param(p)?);
        }
        expect_token(p, &Token::RParen, " after the lambda parameters")?;
        OneOrManyWithParens::Many(params)
    } else {
        OneOrManyWithParens::One(parse_lambda_param(p)?)
    };
    expect_token(p, &Token::RArrow, " after the lambda parameters")?;
    let body = p.parse_expr()?;
    Ok(Expr::Lambda(LambdaFunction {
        params,
        body: Box::new(body),
        syntax: LambdaSyntax::Arrow,
    }))
}

fn parse_lambda_param(p: &mut Parser<'_>) -> PResult<LambdaFunctionParameter> {
    let token = p.next_token();
    match &token.token {
        Token::Word(w) => Ok(LambdaFunctionParameter {
            name: word_ident(w, token.span),
            data_type: None,
        }),
        _ => expected("a lambda parameter", &token),
    }
}

/// The identifier a word token stands for (its text is already case-normalized).
fn word_ident(word: &Word, span: Span) -> Ident {
    Ident {
        value: word.value.clone(),
        quote_style: word.quote_style,
        span,
    }
}
