//! [`EngineError`]: one type for everything a statement can fail with, converted once at the edges (REST error
//! codes, Postgres SQLSTATEs).

use crate::catalog::{CatalogError, CommandLogError};
use crate::exec::ExecError;
use crate::plan::PlanError;
use crate::sql::ParseError;
use crate::state::StateError;
use crate::topics::TopicError;

/// What kind of failure, for mapping to protocol error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// The statement does not parse.
    Syntax,
    /// The statement is invalid (unknown source or column, bad property, type error).
    Statement,
    /// A named stream, table, query or topic does not exist.
    NotFound,
    /// Valid ksqlDB that Weir does not execute yet.
    NotSupported,
    /// Storage or another server-side failure.
    Internal,
}

/// A failed statement: why, and which statement.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct EngineError {
    pub kind: EngineErrorKind,
    /// The text of the statement that failed, when known.
    pub statement: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EngineErrorKind {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("{0}")]
    Plan(#[from] PlanError),
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    #[error("{0}")]
    Topic(#[from] TopicError),
    #[error("{0}")]
    CommandLog(#[from] CommandLogError),
    #[error("{0}")]
    State(#[from] StateError),
    #[error("{0}")]
    Exec(#[from] ExecError),
    #[error("storage error: {0}")]
    Storage(#[from] sled::Error),
    #[error("Arrow error: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("{0}")]
    Migration(#[from] crate::migrations::MigrationError),
    /// A statement-level problem found by the engine itself (e.g. a topic with the wrong partition count).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
}

impl EngineError {
    pub fn invalid(message: impl Into<String>) -> Self {
        EngineErrorKind::Invalid(message.into()).into()
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        EngineErrorKind::NotFound(message.into()).into()
    }

    /// Attaches the failing statement's text (keeps one already set).
    pub fn with_statement(mut self, text: &str) -> Self {
        if self.statement.is_none() {
            self.statement = Some(text.to_string());
        }
        self
    }

    pub fn class(&self) -> ErrorClass {
        match &self.kind {
            EngineErrorKind::Parse(_) => ErrorClass::Syntax,
            EngineErrorKind::Plan(PlanError::NotSupported { .. }) => ErrorClass::NotSupported,
            EngineErrorKind::Plan(PlanError::Internal(_)) => ErrorClass::Internal,
            EngineErrorKind::Plan(PlanError::Catalog(c)) | EngineErrorKind::Catalog(c) => match c {
                CatalogError::UnknownSource { .. } | CatalogError::UnknownQuery(_) => ErrorClass::NotFound,
                _ => ErrorClass::Statement,
            },
            EngineErrorKind::Plan(_) | EngineErrorKind::Invalid(_) => ErrorClass::Statement,
            EngineErrorKind::Migration(crate::migrations::MigrationError::Store(_)) => ErrorClass::Internal,
            EngineErrorKind::Migration(_) => ErrorClass::Statement,
            EngineErrorKind::NotFound(_) => ErrorClass::NotFound,
            EngineErrorKind::Topic(TopicError::UnknownTopic(_)) => ErrorClass::NotFound,
            EngineErrorKind::Topic(TopicError::InvalidName(_) | TopicError::PartitionMismatch(..)) => {
                ErrorClass::Statement
            }
            _ => ErrorClass::Internal,
        }
    }
}

impl<T: Into<EngineErrorKind>> From<T> for EngineError {
    fn from(kind: T) -> Self {
        EngineError {
            kind: kind.into(),
            statement: None,
        }
    }
}
