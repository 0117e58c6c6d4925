//! ksqlDB's identifier rule: unquoted identifiers are upper-cased, quoted ones (`"x"`, `` `x` ``) keep their case.
//!
//! The rule is applied once, to the token stream, before anything is parsed: every unquoted word token gets its
//! text upper-cased in place. Every name in our AST and every `Ident` `sqlparser` builds (columns, qualifiers,
//! aliases, struct fields after `->`, function names, lambda parameters) comes from such a token, so all of them
//! follow the rule without walking any tree afterwards, and quoted identifiers keep their `quote_style`. String
//! literals are separate tokens and are untouched. Where ksqlDB keeps an unquoted word's case (`PRINT topic`), the
//! original text is read back from the source.

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use super::PResult;
use super::cursor::expected;
use crate::sql::ast::Name;

/// Upper-cases the text of every unquoted word token.
pub(super) fn normalize_tokens(tokens: &mut [TokenWithSpan]) {
    for token in tokens {
        if let Token::Word(word) = &mut token.token
            && word.quote_style.is_none()
        {
            word.value = word.value.to_uppercase();
        }
    }
}

/// Words that cannot be an unquoted name, because they start or continue a clause or an expression. A quoted
/// identifier may still use them.
const RESERVED: &[&str] = &[
    "ALL", "AND", "AS", "BETWEEN", "BY", "CASE", "CAST", "CREATE", "CROSS", "DISTINCT", "DROP", "ELSE", "END",
    "EXISTS", "FALSE", "FROM", "FULL", "GROUP", "HAVING", "IN", "INNER", "INSERT", "INTO", "IS", "JOIN", "LEFT",
    "LIKE", "LIMIT", "NOT", "NULL", "ON", "OR", "ORDER", "OUTER", "RIGHT", "SELECT", "STREAM", "TABLE", "THEN", "TRUE",
    "UNION", "VALUES", "WHEN", "WHERE", "WINDOW", "WITH", "WITHIN",
];

/// The reserved words that do start an expression.
const STARTS_EXPRESSION: &[&str] = &["CASE", "CAST", "EXISTS", "FALSE", "NOT", "NULL", "TRUE"];

/// Words that end a source reference, so `FROM s EMIT CHANGES` does not read `EMIT` as an alias. These are not
/// reserved in ksqlDB (a column may be called `PARTITION`), so they are only refused as an unquoted alias.
const ENDS_SOURCE_REF: &[&str] = &["EMIT", "GRACE", "PARTITION"];

/// True when an unquoted word cannot be a name.
pub(super) fn is_reserved(word: &str) -> bool {
    RESERVED.contains(&word)
}

/// True when an unquoted word can be neither a name nor the start of an expression, so that `sqlparser`, which
/// reads unknown keywords as column names, does not take `a + FROM s` for a sum.
pub(super) fn cannot_start_expression(word: &str) -> bool {
    is_reserved(word) && !STARTS_EXPRESSION.contains(&word)
}

/// Consumes a name (`what` names it in errors, e.g. "a column name") and returns it after the case rule.
pub(super) fn parse_name(p: &mut Parser<'_>, what: &str) -> PResult<(Name, Location)> {
    let next = p.peek_token();
    match &next.token {
        Token::Word(w) if w.value.is_empty() => Err(super::cursor::error_at(
            format!("Expected {what}, found an empty quoted identifier"),
            next.span.start,
        )),
        Token::Word(w) if w.quote_style.is_some() || !is_reserved(&w.value) => {
            p.advance_token();
            Ok((w.value.clone(), next.span.start))
        }
        _ => expected(what, &next),
    }
}

/// Consumes an optional alias after a source name: `AS name`, or a bare name that does not start a clause.
pub(super) fn parse_optional_alias(p: &mut Parser<'_>) -> PResult<Option<Name>> {
    if super::cursor::eat_word(p, "AS") {
        return parse_name(p, "an alias after AS").map(|(name, _)| Some(name));
    }
    match &p.peek_token_ref().token {
        Token::Word(w)
            if w.quote_style.is_some() || !(is_reserved(&w.value) || ENDS_SOURCE_REF.contains(&w.value.as_str())) =>
        {
            let name = w.value.clone();
            p.advance_token();
            Ok(Some(name))
        }
        _ => Ok(None),
    }
}

/// Consumes `(name, ...)`.
pub(super) fn parse_name_list(p: &mut Parser<'_>, what: &str) -> PResult<Vec<Name>> {
    super::cursor::expect_token(p, &Token::LParen, "")?;
    let mut names = vec![parse_name(p, what)?.0];
    while p.consume_token(&Token::Comma) {
        names.push(parse_name(p, what)?.0);
    }
    super::cursor::expect_token(p, &Token::RParen, &format!(" or , after {what}"))?;
    Ok(names)
}
