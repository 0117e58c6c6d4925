//! Turns every failure into a [`ParseError`]: a message saying what was expected and what was found, the 1-based
//! line and column of the offending token, and the failing statement's text.
//!
//! Our own errors are built in `sqlparser`'s shape (see [`super::cursor::error_at`]), so both kinds are converted
//! here the same way: the trailing `" at Line: l, Column: c"` becomes the position, and `sqlparser`'s
//! `"Expected: x, found: y"` is reworded to our `"Expected x, found y"`. An error without a position (the end of
//! the statement, the recursion limit) points at the parser's next token, or at the statement's end.

use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan, TokenizerError};

use super::source::Source;
use crate::sql::error::ParseError;

const LOCATION_MARKER: &str = " at Line: ";

/// Converts a parser error; `parser` is where parsing stopped, `eof` where the statement ends.
pub(super) fn convert(
    error: ParserError,
    parser: &Parser<'_>,
    eof: Location,
    statement_text: Option<String>,
) -> ParseError {
    let (message, location) = match error {
        ParserError::ParserError(text) | ParserError::TokenizerError(text) => split_location(&text),
        ParserError::RecursionLimitExceeded => (
            format!(
                "Expression nesting is too deep (at most {} levels)",
                super::limits::EXPRESSION_DEPTH_LIMIT
            ),
            None,
        ),
    };
    let at = location.unwrap_or_else(|| {
        let next = parser.peek_token_ref();
        if next.token == Token::EOF || next.span.start.line == 0 {
            eof
        } else {
            next.span.start
        }
    });
    ParseError {
        message: reword(&message),
        line: at.line,
        column: at.column,
        statement_text,
    }
}

/// Converts a tokenizer error. `tokens` are those read before the error, which delimit the failing statement:
/// it starts after the last `;` and runs to the end of the line holding the error.
pub(super) fn tokenizer(error: TokenizerError, source: &Source<'_>, tokens: &[TokenWithSpan]) -> ParseError {
    let at = if error.location.line == 0 {
        super::end_of_input(tokens)
    } else {
        error.location
    };
    let start = tokens
        .iter()
        .rposition(|t| t.token == Token::SemiColon)
        .map(|i| i + 1)
        .unwrap_or(0);
    let start = tokens[start..]
        .iter()
        .find(|t| !matches!(t.token, Token::Whitespace(_)))
        .map(|t| t.span.start)
        .unwrap_or(at);
    let from = source.offset(start);
    let line_end = source.text()[source.offset(at)..]
        .find('\n')
        .map(|i| source.offset(at) + i)
        .unwrap_or(source.text().len());
    let text = source.text().get(from..line_end).unwrap_or("").trim_end();
    ParseError {
        message: error.message,
        line: at.line,
        column: at.column,
        statement_text: Some(text.to_string()),
    }
}

/// Splits `"... at Line: 3, Column: 14"` into the message and the location.
fn split_location(text: &str) -> (String, Option<Location>) {
    if let Some(index) = text.rfind(LOCATION_MARKER) {
        let tail = &text[index + LOCATION_MARKER.len()..];
        if let Some((line, column)) = tail.split_once(", Column: ")
            && let (Ok(line), Ok(column)) = (line.parse::<u64>(), column.parse::<u64>())
            && line > 0
        {
            return (text[..index].to_string(), Some(Location { line, column }));
        }
    }
    (text.to_string(), None)
}

/// Rewords `sqlparser`'s `Expected: x, found: y` as `Expected x, found y`, and its `EOF` as end of statement.
fn reword(message: &str) -> String {
    let message = match message.strip_prefix("Expected: ") {
        Some(rest) => format!("Expected {rest}"),
        None => message.to_string(),
    };
    match message.rsplit_once(", found: ") {
        Some((expected, "EOF")) => format!("{expected}, found end of statement"),
        Some((expected, found)) => format!("{expected}, found {found}"),
        None => message,
    }
}
