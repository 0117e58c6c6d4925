//! ksqlDB column types, parsed from `sqlparser` tokens into [`SqlType`].
//!
//! We parse types ourselves rather than through `sqlparser`'s `DataType`, which has no `BYTES`, reads `MAP` and
//! `STRUCT` differently per dialect, and would need a second translation. The same code serves column lists,
//! `CAST` (through the dialect hook) and [`super::parse_type`].
//!
//! The tokenizer reads `>>` as one shift-right token, so `ARRAY<ARRAY<INT>>` ends with a single token that closes
//! two types: the inner type consumes it and leaves one `>` pending for its parent. `<>` (not-equal) is an empty
//! `STRUCT<>`.

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use super::PResult;
use super::cursor::{error_at, expect_token, expected};
use crate::types::SqlType;

/// How deeply types may nest. Types are parsed (and later printed and converted to Arrow) recursively, so the
/// bound keeps hostile input such as 10,000 nested `ARRAY<` from exhausting the stack.
pub(super) const MAX_TYPE_DEPTH: usize = 32;

/// What `Expected ... found` says when a type is missing.
const A_TYPE: &str =
    "a type (BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL, STRING, BYTES, TIMESTAMP, DATE, TIME, ARRAY, MAP or STRUCT)";

/// Consumes one complete type.
pub(super) fn parse_sql_type(p: &mut Parser<'_>) -> PResult<SqlType> {
    let mut parser = TypeParser { pending_gt: None };
    let ty = parser.parse(p, 0)?;
    match parser.pending_gt {
        Some(at) => Err(error_at("Unexpected > after the type", at)),
        None => Ok(ty),
    }
}

struct TypeParser {
    /// The second half of a `>>` token that closed an inner type, still to close its parent.
    pending_gt: Option<Location>,
}

impl TypeParser {
    fn parse(&mut self, p: &mut Parser<'_>, depth: usize) -> PResult<SqlType> {
        let token = p.next_token();
        if depth >= MAX_TYPE_DEPTH {
            return Err(error_at(
                format!("Type nesting is too deep (at most {MAX_TYPE_DEPTH} levels)"),
                token.span.start,
            ));
        }
        let name = match &token.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.as_str(),
            _ => return expected(A_TYPE, &token),
        };
        Ok(match name {
            "BOOLEAN" => SqlType::Boolean,
            "INT" | "INTEGER" => SqlType::Int,
            "BIGINT" => SqlType::BigInt,
            "DOUBLE" => SqlType::Double,
            "STRING" | "VARCHAR" => SqlType::String,
            "BYTES" => SqlType::Bytes,
            "TIMESTAMP" => SqlType::Timestamp,
            "DATE" => SqlType::Date,
            "TIME" => SqlType::Time,
            "DECIMAL" => parse_decimal(p, &token)?,
            "ARRAY" => {
                self.open(p, "ARRAY")?;
                let item = self.parse(p, depth + 1)?;
                self.close(p, " after the ARRAY element type")?;
                SqlType::Array(Box::new(item))
            }
            "MAP" => {
                self.open(p, "MAP")?;
                let key = self.parse(p, depth + 1)?;
                self.comma(p, " after the MAP key type")?;
                let value = self.parse(p, depth + 1)?;
                self.close(p, " after the MAP value type")?;
                SqlType::Map(Box::new(key), Box::new(value))
            }
            "STRUCT" => self.parse_struct(p, depth)?,
            _ => return expected(A_TYPE, &token),
        })
    }

    /// `STRUCT<name type, ...>`, `STRUCT<>`; field names follow the identifier rule and must be distinct.
    fn parse_struct(&mut self, p: &mut Parser<'_>, depth: usize) -> PResult<SqlType> {
        if p.consume_token(&Token::Neq) {
            return Ok(SqlType::Struct(Vec::new()));
        }
        self.open(p, "STRUCT")?;
        let mut fields: Vec<(String, SqlType)> = Vec::new();
        if matches!(p.peek_token_ref().token, Token::Gt | Token::ShiftRight) {
            self.close(p, "")?;
            return Ok(SqlType::Struct(fields));
        }
        loop {
            let (name, at) = super::idents::parse_name(p, "a STRUCT field name")?;
            if fields.iter().any(|(existing, _)| existing == &name) {
                return Err(error_at(format!("Duplicate field {name} in STRUCT"), at));
            }
            let ty = self.parse(p, depth + 1)?;
            fields.push((name, ty));
            if self.pending_gt.is_some() || matches!(p.peek_token_ref().token, Token::Gt | Token::ShiftRight) {
                self.close(p, "")?;
                return Ok(SqlType::Struct(fields));
            }
            self.comma(p, " or > after a STRUCT field")?;
        }
    }

    fn open(&mut self, p: &mut Parser<'_>, after: &str) -> PResult<()> {
        expect_token(p, &Token::Lt, &format!(" after {after}")).map(|_| ())
    }

    /// Consumes a `>` (`context` follows it in the error): a pending half of `>>`, a `>` token, or a `>>` token (leaving half of it pending).
    fn close(&mut self, p: &mut Parser<'_>, context: &str) -> PResult<()> {
        if self.pending_gt.take().is_some() {
            return Ok(());
        }
        let token = p.next_token();
        match token.token {
            Token::Gt => Ok(()),
            Token::ShiftRight => {
                let start = token.span.start;
                self.pending_gt = Some(Location {
                    line: start.line,
                    column: start.column + 1,
                });
                Ok(())
            }
            _ => expected(format_args!(">{context}"), &token),
        }
    }

    /// Consumes a `,`; `context` follows the `,` in the error (e.g. `" after the MAP key type"`).
    fn comma(&mut self, p: &mut Parser<'_>, context: &str) -> PResult<()> {
        if let Some(at) = self.pending_gt {
            return Err(error_at(format!("Expected ,{context}, found >"), at));
        }
        expect_token(p, &Token::Comma, context).map(|_| ())
    }
}

/// `DECIMAL(precision, scale)`, checked against ksqlDB's bounds.
fn parse_decimal(p: &mut Parser<'_>, decimal: &TokenWithSpan) -> PResult<SqlType> {
    expect_token(p, &Token::LParen, " after DECIMAL")?;
    let precision = parse_int(p, "the DECIMAL precision")?;
    expect_token(p, &Token::Comma, " after the DECIMAL precision")?;
    let scale = parse_int(p, "the DECIMAL scale")?;
    expect_token(p, &Token::RParen, " after the DECIMAL scale")?;
    SqlType::decimal(precision, scale).map_err(|e| error_at(e, decimal.span.start))
}

fn parse_int(p: &mut Parser<'_>, what: &str) -> PResult<i64> {
    let token = p.next_token();
    match &token.token {
        Token::Number(text, false) => match text.parse::<i64>() {
            Ok(n) => Ok(n),
            Err(_) => expected(format_args!("{what} (a whole number)"), &token),
        },
        _ => expected(format_args!("{what} (a whole number)"), &token),
    }
}
