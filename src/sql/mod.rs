//! The ksqlDB dialect: a wrapper over `sqlparser` that parses Weir's statements and delegates expressions,
//! select items and data types to `sqlparser`. It knows nothing about execution.
//!
//! [`parse`] turns submitted text into [`ast::ParsedStatement`]s; [`parse_type`] turns a ksqlDB type (as written
//! by a user, or as printed by [`crate::types::SqlType`]'s `Display`) back into a [`crate::types::SqlType`].

pub mod ast;
mod error;
mod parser;

pub use error::ParseError;
pub use parser::{parse, parse_type};
