//! The ksqlDB dialect: a wrapper over `sqlparser` that parses Weir's statements and delegates expressions,
//! select items and data types to `sqlparser`. It knows nothing about execution.

pub mod ast;
mod error;
mod parser;

pub use error::ParseError;
pub use parser::parse;
