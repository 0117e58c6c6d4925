//! Parse errors that point at a line and column.

use std::fmt;

/// A statement that could not be parsed: what was expected, what was found, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What went wrong and what was expected instead, e.g. `Expected STREAM or TABLE after CREATE, found: VIEW`.
    pub message: String,
    /// 1-based position of the offending token in the submitted text.
    pub line: u64,
    pub column: u64,
    /// The text of the statement that failed, when it could be delimited.
    pub statement_text: Option<String>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ParseError {}
