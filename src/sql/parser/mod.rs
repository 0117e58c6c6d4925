//! The dialect parser, shaped like DataFusion's `DFParser`: the text is tokenized once by `sqlparser`'s
//! tokenizer, split into statements at `;`, and each statement is parsed by our own recursive-descent code over
//! `sqlparser`'s [`Parser`], which we call back into for expressions and select items.
//!
//! Steps, one module each:
//! - [`source`]: the submitted text, mapping token locations back to byte offsets (statement text, errors);
//! - [`idents`]: ksqlDB's identifier case rule, applied once to the token stream, and name parsing;
//! - [`cursor`]: small token-matching helpers shared by every step;
//! - [`dialect`]: the `sqlparser` dialect that parses ksqlDB's `CAST`, `STRUCT(...)`, `MAP(...)` and lambdas;
//! - [`types`]: ksqlDB column types into [`SqlType`];
//! - [`statements`], [`properties`], [`query`], [`window`]: the statements, their `WITH (...)`, the `SELECT`, and
//!   windows / join windows;
//! - [`limits`]: the bounds on nesting that keep deep input from overflowing any stack;
//! - [`errors`]: every failure, ours or `sqlparser`'s, into one [`ParseError`] with line and column.

mod cursor;
mod dialect;
mod errors;
mod idents;
mod limits;
mod properties;
mod query;
mod source;
mod statements;
mod types;
mod window;

#[cfg(test)]
mod tests;

use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

use crate::sql::ast::ParsedStatement;
use crate::sql::error::ParseError;
use crate::types::SqlType;

use dialect::KsqlDialect;
use limits::{BRACKET_DEPTH_LIMIT, EXPRESSION_DEPTH_LIMIT, EXPRESSION_TREE_DEPTH_LIMIT, PARSER_STACK_BYTES};
use source::Source;

/// Parses submitted text into its statements, in order.
///
/// Statements are separated by `;` (the last one may omit it); text holding no statement (empty, blanks or
/// comments only) gives an empty vector. Unquoted identifiers are upper-cased, quoted ones keep their case, as in
/// ksqlDB. Expressions are `sqlparser` expressions, so DataFusion's planner can resolve them; every `CAST` names
/// its target type as a `DataType::Custom` holding the [`SqlType`]'s display form (re-read with [`parse_type`]).
///
/// The first statement that fails stops parsing: the error carries the offending token's line and column and the
/// text of that statement.
///
/// # Example
/// ```
/// use weir::sql::{ast::Statement, parse};
///
/// let statements = parse("SHOW STREAMS; select * from pageviews emit changes").unwrap();
/// assert_eq!(statements.len(), 2);
/// assert_eq!(statements[1].text, "select * from pageviews emit changes");
/// let Statement::Select(query) = &statements[1].statement else { panic!() };
/// assert_eq!(query.from.source.name, "PAGEVIEWS");
/// ```
pub fn parse(sql: &str) -> Result<Vec<ParsedStatement>, ParseError> {
    on_parser_stack(|| parse_here(sql))
}

/// [`parse`] on the current thread.
fn parse_here(sql: &str) -> Result<Vec<ParsedStatement>, ParseError> {
    let source = Source::new(sql);
    let tokens = tokenize(&source)?;
    split_statements(tokens)
        .into_iter()
        .map(|chunk| parse_chunk(&source, chunk))
        .collect()
}

/// Parses one ksqlDB type, such as `DECIMAL(10, 2)` or ``STRUCT<`a` ARRAY<INT>, B MAP<STRING, BIGINT>>``.
///
/// This is how the planner reads the target type of a `CAST` (see [`parse`]), and it accepts everything
/// [`SqlType`]'s `Display` prints, so `parse_type(&t.to_string()) == Ok(t)`.
///
/// # Example
/// ```
/// use weir::sql::parse_type;
/// use weir::types::SqlType;
///
/// let t = parse_type("array<map<string, int>>").unwrap();
/// assert_eq!(t, SqlType::Array(Box::new(SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::Int)))));
/// ```
pub fn parse_type(text: &str) -> Result<SqlType, ParseError> {
    let source = Source::new(text);
    let tokens = tokenize(&source)?;
    let end = end_of_input(&tokens);
    let dialect = KsqlDialect::new();
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(EXPRESSION_DEPTH_LIMIT)
        .with_tokens_with_locations(tokens);
    let result =
        types::parse_sql_type(&mut parser).and_then(|ty| cursor::expect_end(&parser, " after the type").map(|()| ty));
    result.map_err(|e| errors::convert(e, &parser, end, Some(text.trim().to_string())))
}

/// Runs `f` on a thread with a [`PARSER_STACK_BYTES`] stack (see [`limits`]) and waits for it. A panic in `sqlparser` (a bug,
/// never expected) becomes an error instead of taking the caller down.
fn on_parser_stack<T: Send>(f: impl FnOnce() -> Result<T, ParseError> + Send) -> Result<T, ParseError> {
    let internal = |what: &str| ParseError {
        message: format!("Internal parser error: {what}"),
        line: 1,
        column: 1,
        statement_text: None,
    };
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("weir-sql-parser".to_string())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, f)
        {
            Ok(handle) => handle.join().unwrap_or_else(|_| Err(internal("the parser panicked"))),
            Err(e) => Err(internal(&format!("could not start the parser thread: {e}"))),
        }
    })
}

/// Tokenizes the whole text once, with locations, and applies the identifier case rule.
fn tokenize(source: &Source<'_>) -> Result<Vec<TokenWithSpan>, ParseError> {
    let mut tokens = Vec::new();
    let dialect = KsqlDialect::new();
    let mut tokenizer = Tokenizer::new(&dialect, source.text()).with_unescape(true);
    if let Err(e) = tokenizer.tokenize_with_location_into_buf(&mut tokens) {
        return Err(errors::tokenizer(e, source, &tokens));
    }
    idents::normalize_tokens(&mut tokens);
    Ok(tokens)
}

/// The tokens of one statement, without its terminating `;`.
struct Chunk {
    tokens: Vec<TokenWithSpan>,
    /// Where the statement's first token starts.
    start: Location,
    /// Where its last token ends (exclusive).
    end: Location,
    /// Where an error about a missing token at the end points: the `;`, or the end of the last token.
    eof: Location,
}

/// Splits the token stream at every `;` token (a `;` inside a string, quoted identifier or comment is part of
/// that token, so it never splits). Chunks holding only whitespace and comments are dropped.
fn split_statements(tokens: Vec<TokenWithSpan>) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    for token in tokens {
        if token.token == Token::SemiColon {
            if let Some(chunk) = make_chunk(std::mem::take(&mut current), Some(token.span.start)) {
                chunks.push(chunk);
            }
        } else {
            current.push(token);
        }
    }
    if let Some(chunk) = make_chunk(current, None) {
        chunks.push(chunk);
    }
    chunks
}

fn make_chunk(tokens: Vec<TokenWithSpan>, terminator: Option<Location>) -> Option<Chunk> {
    let mut significant = tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_)));
    let first = significant.next()?;
    let start = first.span.start;
    let end = significant.next_back().unwrap_or(first).span.end;
    Some(Chunk {
        tokens,
        start,
        end,
        eof: terminator.unwrap_or(end),
    })
}

/// Where the input ends: after its last significant token, or at 1:1 when there is none.
fn end_of_input(tokens: &[TokenWithSpan]) -> Location {
    tokens
        .iter()
        .rev()
        .find(|t| !matches!(t.token, Token::Whitespace(_)))
        .map(|t| t.span.end)
        .unwrap_or(Location { line: 1, column: 1 })
}

fn parse_chunk(source: &Source<'_>, chunk: Chunk) -> Result<ParsedStatement, ParseError> {
    let text = source.slice(chunk.start, chunk.end).to_string();
    if let Some(at) = limits::too_deep_bracket(&chunk.tokens) {
        return Err(ParseError {
            message: format!("Nesting is too deep (at most {BRACKET_DEPTH_LIMIT} levels of parentheses and brackets)"),
            line: at.line,
            column: at.column,
            statement_text: Some(text),
        });
    }
    let dialect = KsqlDialect::new();
    let mut parser = statements::StatementParser::new(&dialect, source, chunk.tokens);
    let statement = match parser.parse_single_statement() {
        Ok(statement) => statement,
        Err(e) => return Err(errors::convert(e, parser.inner(), chunk.eof, Some(text))),
    };
    if let Some(at) = limits::too_deep_expression(&statement) {
        let at = at.unwrap_or(chunk.start);
        return Err(ParseError {
            message: format!(
                "Expression is nested too deeply (at most {EXPRESSION_TREE_DEPTH_LIMIT} levels; each operator in a \
                 chain such as a + b + c counts as one)"
            ),
            line: at.line,
            column: at.column,
            statement_text: Some(text),
        });
    }
    Ok(ParsedStatement {
        statement,
        text,
        line: chunk.start.line,
        column: chunk.start.column,
    })
}

/// A statement parse result, before errors are given their final shape.
type PResult<T> = Result<T, ParserError>;
