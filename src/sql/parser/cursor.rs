//! Token-matching helpers over `sqlparser`'s [`Parser`], shared by the statement, query, type and dialect code.
//!
//! Words are matched by their text rather than by `sqlparser`'s `Keyword` enum: ksqlDB has keywords `sqlparser`
//! does not know (`TUMBLING`, `EMIT`, `HOPPING`, ...), and because unquoted words are already upper-cased by
//! [`super::idents::normalize_tokens`], a plain string comparison is case-insensitive for the user. A quoted word
//! (`"EMIT"`) never matches a keyword.

use std::fmt::Display;

use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan};

use super::PResult;

/// An error at a location, in the shape `sqlparser` uses (`"<message> at Line: l, Column: c"`), so that ours and
/// `sqlparser`'s travel the same way until [`super::errors::convert`] gives them their final form.
pub(super) fn error_at(message: impl Display, at: Location) -> ParserError {
    ParserError::ParserError(format!("{message}{at}"))
}

/// How a token is named after "found": its text, or "end of statement".
pub(super) fn describe(token: &TokenWithSpan) -> String {
    match &token.token {
        Token::EOF => "end of statement".to_string(),
        other => other.to_string(),
    }
}

/// `Expected <what>, found <token>` at the token.
pub(super) fn expected<T>(what: impl Display, found: &TokenWithSpan) -> PResult<T> {
    Err(error_at(
        format!("Expected {what}, found {}", describe(found)),
        found.span.start,
    ))
}

/// True when the token is the unquoted word `word` (given upper-case).
pub(super) fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value == word)
}

/// True when the next token is the unquoted word `word`.
pub(super) fn peek_word(p: &Parser<'_>, word: &str) -> bool {
    is_word(&p.peek_token_ref().token, word)
}

/// True when the `n`th next token (0 = next) is the unquoted word `word`.
pub(super) fn peek_nth_word(p: &Parser<'_>, n: usize, word: &str) -> bool {
    is_word(&p.peek_nth_token_ref(n).token, word)
}

/// Consumes the next token if it is the unquoted word `word`.
pub(super) fn eat_word(p: &mut Parser<'_>, word: &str) -> bool {
    let found = peek_word(p, word);
    if found {
        p.advance_token();
    }
    found
}

/// Consumes the next tokens if they are exactly these unquoted words; otherwise consumes nothing.
pub(super) fn eat_words(p: &mut Parser<'_>, words: &[&str]) -> bool {
    let all = words.iter().enumerate().all(|(n, w)| peek_nth_word(p, n, w));
    if all {
        for _ in words {
            p.advance_token();
        }
    }
    all
}

/// Consumes the unquoted word `word` or fails with `Expected <word><context>, found ...`.
pub(super) fn expect_word(p: &mut Parser<'_>, word: &str, context: &str) -> PResult<Location> {
    let next = p.peek_token();
    if is_word(&next.token, word) {
        p.advance_token();
        Ok(next.span.start)
    } else {
        expected(format_args!("{word}{context}"), &next)
    }
}

/// Consumes the token `token` or fails with `Expected <token><context>, found ...`.
pub(super) fn expect_token(p: &mut Parser<'_>, token: &Token, context: &str) -> PResult<Location> {
    let next = p.peek_token();
    if &next.token == token {
        p.advance_token();
        Ok(next.span.start)
    } else {
        expected(format_args!("{token}{context}"), &next)
    }
}

/// Fails unless every token has been consumed.
pub(super) fn expect_end(p: &Parser<'_>, context: &str) -> PResult<()> {
    let next = p.peek_token_ref();
    if next.token == Token::EOF {
        Ok(())
    } else {
        expected(format_args!("end of statement{context}"), next)
    }
}

/// Consumes a non-negative integer literal that fits in a `u64`.
pub(super) fn parse_u64(p: &mut Parser<'_>, what: &str) -> PResult<(u64, Location)> {
    let next = p.peek_token();
    if let Token::Number(text, false) = &next.token
        && let Ok(n) = text.parse::<u64>()
    {
        p.advance_token();
        return Ok((n, next.span.start));
    }
    expected(format_args!("{what} (a non-negative whole number)"), &next)
}
