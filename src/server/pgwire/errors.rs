//! Errors sent to Postgres clients: every failure gets a SQLSTATE here, once, and keeps the message REST would
//! give for the same failure.
//!
//! | failure | SQLSTATE |
//! |---|---|
//! | statement does not parse | 42601 `syntax_error` |
//! | unknown stream, table or relation | 42P01 `undefined_table` |
//! | unknown column | 42703 `undefined_column` |
//! | unknown query id, topic, type, setting, cursor | 42704 `undefined_object` / 34000 `invalid_cursor_name` |
//! | unknown function | 42883 `undefined_function` |
//! | type mismatch | 42804 `datatype_mismatch` |
//! | source already exists / still in use | 42P07 `duplicate_table` / 2BP01 `dependent_objects_still_exist` |
//! | other invalid statement | 42000 `syntax_error_or_access_rule_violation` |
//! | valid ksqlDB Weir does not run | 0A000 `feature_not_supported` |
//! | bad value (parameter, cast, division by zero, overflow) | 22P02, 22012, 22003, 22000 |
//! | cancelled by the client | 57014 `query_canceled` |
//! | server shutting down / starting | 57P01 `admin_shutdown` / 57P03 `cannot_connect_now` |
//! | Weir's own failure | XX000 `internal_error` |

use pgwire::error::{ErrorInfo, PgWireError};

use crate::catalog::CatalogError;
use crate::engine::{EngineError, EngineErrorKind, ErrorClass};
use crate::plan::PlanError;
use crate::serve::{ServeError, ServeErrorClass};

pub const SYNTAX_ERROR: &str = "42601";
pub const UNDEFINED_TABLE: &str = "42P01";
pub const UNDEFINED_COLUMN: &str = "42703";
pub const UNDEFINED_OBJECT: &str = "42704";
pub const UNDEFINED_FUNCTION: &str = "42883";
pub const AMBIGUOUS_COLUMN: &str = "42702";
pub const DATATYPE_MISMATCH: &str = "42804";
pub const DUPLICATE_TABLE: &str = "42P07";
pub const DUPLICATE_CURSOR: &str = "42P03";
pub const WRONG_OBJECT_TYPE: &str = "42809";
pub const DEPENDENT_OBJECTS: &str = "2BP01";
pub const INVALID_STATEMENT: &str = "42000";
pub const NOT_SUPPORTED: &str = "0A000";
pub const DATA_EXCEPTION: &str = "22000";
pub const INVALID_TEXT: &str = "22P02";
pub const INVALID_PARAMETER_VALUE: &str = "22023";
pub const DIVISION_BY_ZERO: &str = "22012";
pub const NUMERIC_OUT_OF_RANGE: &str = "22003";
pub const IN_FAILED_TRANSACTION: &str = "25P02";
pub const INVALID_CURSOR_NAME: &str = "34000";
pub const QUERY_CANCELED: &str = "57014";
pub const ADMIN_SHUTDOWN: &str = "57P01";
pub const CANNOT_CONNECT_NOW: &str = "57P03";
pub const PROTOCOL_VIOLATION: &str = "08P01";
pub const INVALID_PASSWORD: &str = "28P01";
pub const RESOURCES_EXHAUSTED: &str = "53000";
pub const INTERNAL: &str = "XX000";

/// An error for a Postgres client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct PgError {
    pub code: &'static str,
    pub message: String,
    pub fatal: bool,
    pub hint: Option<String>,
}

impl PgError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        PgError {
            code,
            message: message.into(),
            fatal: false,
            hint: None,
        }
    }

    pub fn fatal(mut self) -> Self {
        self.fatal = true;
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn canceled() -> Self {
        PgError::new(QUERY_CANCELED, "canceling statement due to user request")
    }

    pub fn shutting_down() -> Self {
        PgError::new(ADMIN_SHUTDOWN, "terminating connection due to administrator command").fatal()
    }

    pub fn not_supported(message: impl Into<String>) -> Self {
        PgError::new(NOT_SUPPORTED, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        PgError::new(INTERNAL, message)
    }

    pub fn into_info(self) -> ErrorInfo {
        let mut info = ErrorInfo::new(
            if self.fatal { "FATAL" } else { "ERROR" }.to_string(),
            self.code.to_string(),
            self.message,
        );
        info.hint = self.hint;
        info
    }
}

impl From<PgError> for PgWireError {
    fn from(e: PgError) -> Self {
        PgWireError::UserError(Box::new(e.into_info()))
    }
}

impl From<EngineError> for PgError {
    fn from(e: EngineError) -> Self {
        let message = e.to_string();
        let code = engine_code(&e, &message);
        PgError::new(code, message)
    }
}

fn engine_code(e: &EngineError, message: &str) -> &'static str {
    let lower = message.to_ascii_lowercase();
    match e.class() {
        ErrorClass::Syntax => SYNTAX_ERROR,
        ErrorClass::NotSupported => NOT_SUPPORTED,
        ErrorClass::Internal => INTERNAL,
        ErrorClass::NotFound => match &e.kind {
            EngineErrorKind::Catalog(CatalogError::UnknownSource { .. })
            | EngineErrorKind::Plan(PlanError::Catalog(CatalogError::UnknownSource { .. })) => UNDEFINED_TABLE,
            _ if lower.contains("query") || lower.contains("topic") => UNDEFINED_OBJECT,
            _ => UNDEFINED_TABLE,
        },
        ErrorClass::Statement => match &e.kind {
            EngineErrorKind::Catalog(c) | EngineErrorKind::Plan(PlanError::Catalog(c)) => match c {
                CatalogError::SourceExists { .. } => DUPLICATE_TABLE,
                CatalogError::InUse { .. } => DEPENDENT_OBJECTS,
                CatalogError::WrongKind { .. } => WRONG_OBJECT_TYPE,
                CatalogError::UnknownSource { .. } => UNDEFINED_TABLE,
                CatalogError::UnknownQuery(_) => UNDEFINED_OBJECT,
            },
            _ if lower.contains("cannot be resolved")
                || (lower.contains("column") && lower.contains("does not exist")) =>
            {
                UNDEFINED_COLUMN
            }
            _ if lower.contains("could not evaluate") || lower.contains("failed to convert") => DATA_EXCEPTION,
            _ if lower.contains("type")
                && (lower.contains("mismatch")
                    || lower.contains("cannot compare")
                    || lower.contains("incompatible")) =>
            {
                DATATYPE_MISMATCH
            }
            _ => INVALID_STATEMENT,
        },
    }
}

impl From<ServeError> for PgError {
    fn from(e: ServeError) -> Self {
        let code = match e.class {
            ServeErrorClass::Syntax => SYNTAX_ERROR,
            ServeErrorClass::UndefinedTable => UNDEFINED_TABLE,
            ServeErrorClass::UndefinedColumn => UNDEFINED_COLUMN,
            ServeErrorClass::UndefinedObject => UNDEFINED_OBJECT,
            ServeErrorClass::AmbiguousColumn => AMBIGUOUS_COLUMN,
            ServeErrorClass::UndefinedFunction => UNDEFINED_FUNCTION,
            ServeErrorClass::DatatypeMismatch => DATATYPE_MISMATCH,
            ServeErrorClass::InvalidStatement => INVALID_STATEMENT,
            ServeErrorClass::NotSupported => NOT_SUPPORTED,
            ServeErrorClass::DivisionByZero => DIVISION_BY_ZERO,
            ServeErrorClass::NumericOverflow => NUMERIC_OUT_OF_RANGE,
            ServeErrorClass::InvalidText => INVALID_TEXT,
            ServeErrorClass::DataException => DATA_EXCEPTION,
            ServeErrorClass::ResourcesExhausted => RESOURCES_EXHAUSTED,
            ServeErrorClass::Internal => INTERNAL,
        };
        PgError::new(code, e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_sqlstates() {
        let parse = crate::sql::parse("CREATE STREAM (").unwrap_err();
        let e: PgError = EngineError::from(parse).into();
        assert_eq!(e.code, SYNTAX_ERROR);

        let e: PgError = EngineError::from(CatalogError::UnknownSource {
            kind: "Source",
            name: "X".into(),
        })
        .into();
        assert_eq!(e.code, UNDEFINED_TABLE);
        assert_eq!(e.message, "Source X does not exist.");

        let e: PgError = EngineError::from(PlanError::invalid("Column 'NOPE' cannot be resolved.")).into();
        assert_eq!(e.code, UNDEFINED_COLUMN);

        let e: PgError = EngineError::from(PlanError::not_supported("WINDOW", None)).into();
        assert_eq!(e.code, NOT_SUPPORTED);

        let e: PgError = EngineError::from(PlanError::Internal("boom".into())).into();
        assert_eq!(e.code, INTERNAL);

        let e: PgError = EngineError::from(CatalogError::SourceExists {
            kind: "stream",
            name: "S".into(),
            existing: "stream",
        })
        .into();
        assert_eq!(e.code, DUPLICATE_TABLE);
    }

    #[test]
    fn serve_errors_map_to_sqlstates() {
        let e: PgError = ServeError::new(ServeErrorClass::DivisionByZero, "division by zero").into();
        assert_eq!(e.code, DIVISION_BY_ZERO);
        let e: PgError = ServeError::internal("x").into();
        assert_eq!(e.code, INTERNAL);
    }
}
