//! Errors of the planning layer: the user's statement is wrong, or asks for something Weir does not do yet.

use crate::catalog::CatalogError;
use crate::sql::ast::Position;

/// Why a statement cannot be planned. Each variant says whose fault it is, as DataFusion's errors do.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The statement is invalid (unknown column, wrong type, bad property); the message says how to fix it.
    #[error("{}{message}", position_prefix(.position))]
    Invalid {
        message: String,
        position: Option<Position>,
    },
    /// Valid ksqlDB that Weir does not execute yet.
    #[error("{}{feature} is not supported yet.{}", position_prefix(.position), hint_suffix(.hint))]
    NotSupported {
        feature: String,
        position: Option<Position>,
        hint: Option<String>,
    },
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A failure inside DataFusion while planning, which is our bug rather than the user's.
    #[error("internal planning error: {0}")]
    Internal(String),
}

fn position_prefix(p: &Option<Position>) -> String {
    match p {
        Some(p) if p.line > 0 => format!("Line: {}, Col: {}: ", p.line, p.column),
        _ => String::new(),
    }
}

fn hint_suffix(h: &Option<String>) -> String {
    match h {
        Some(h) => format!(" {h}"),
        None => String::new(),
    }
}

impl PlanError {
    pub fn invalid(message: impl Into<String>) -> Self {
        PlanError::Invalid {
            message: message.into(),
            position: None,
        }
    }

    pub fn invalid_at(message: impl Into<String>, position: Position) -> Self {
        PlanError::Invalid {
            message: message.into(),
            position: Some(position),
        }
    }

    pub fn not_supported(feature: impl Into<String>, position: Option<Position>) -> Self {
        PlanError::NotSupported {
            feature: feature.into(),
            position,
            hint: None,
        }
    }
}

/// Builds a [`PlanError::Invalid`] from format arguments.
#[macro_export]
macro_rules! plan_err {
    ($($arg:tt)*) => { Err($crate::plan::PlanError::invalid(format!($($arg)*))) };
}
