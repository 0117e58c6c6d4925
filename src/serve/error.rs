//! [`ServeError`]: why a pull query failed, classified once so every protocol maps it the same way
//! (SQLSTATEs over the Postgres wire, ksqlDB error codes over REST).

use datafusion::arrow::error::ArrowError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;

/// What kind of failure, in SQL-standard terms. Each variant names the SQLSTATE it maps to over the Postgres wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServeErrorClass {
    /// The text does not parse (42601).
    Syntax,
    /// A relation that does not exist (42P01).
    UndefinedTable,
    /// A column that does not exist (42703).
    UndefinedColumn,
    /// Another named object that does not exist: a type, a setting, a schema (42704).
    UndefinedObject,
    /// An unqualified column that several relations have (42702).
    AmbiguousColumn,
    /// A function that does not exist, or no overload matches the arguments (42883).
    UndefinedFunction,
    /// An expression whose types do not fit (42804).
    DatatypeMismatch,
    /// Any other mistake in the statement (42000).
    InvalidStatement,
    /// Valid SQL that Weir does not execute (0A000).
    NotSupported,
    /// Division by zero while evaluating (22012).
    DivisionByZero,
    /// A value out of its type's range (22003).
    NumericOverflow,
    /// Text that does not convert to the requested type (22P02).
    InvalidText,
    /// Any other error in the data (22000).
    DataException,
    /// Memory or another limit was reached (53000).
    ResourcesExhausted,
    /// A failure in Weir itself (XX000).
    Internal,
}

/// A failed pull query.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ServeError {
    pub class: ServeErrorClass,
    pub message: String,
}

impl ServeError {
    pub fn new(class: ServeErrorClass, message: impl Into<String>) -> Self {
        ServeError {
            class,
            message: message.into(),
        }
    }

    pub fn syntax(message: impl Into<String>) -> Self {
        Self::new(ServeErrorClass::Syntax, message)
    }

    pub fn not_supported(message: impl Into<String>) -> Self {
        Self::new(ServeErrorClass::NotSupported, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ServeErrorClass::InvalidStatement, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ServeErrorClass::Internal, message)
    }
}

impl From<DataFusionError> for ServeError {
    fn from(e: DataFusionError) -> Self {
        classify(&e)
    }
}

impl From<datafusion::sql::sqlparser::parser::ParserError> for ServeError {
    fn from(e: datafusion::sql::sqlparser::parser::ParserError) -> Self {
        ServeError::syntax(parser_message(&e))
    }
}

impl From<crate::exec::ExecError> for ServeError {
    fn from(e: crate::exec::ExecError) -> Self {
        match e {
            crate::exec::ExecError::DataFusion(df) => classify(&df),
            crate::exec::ExecError::Arrow(a) => classify_arrow(&a),
            other => ServeError::internal(other.to_string()),
        }
    }
}

impl From<crate::engine::EngineError> for ServeError {
    fn from(e: crate::engine::EngineError) -> Self {
        use crate::engine::{EngineErrorKind, ErrorClass};
        let message = e.kind.to_string();
        match e.kind {
            EngineErrorKind::Exec(x) => x.into(),
            EngineErrorKind::Arrow(a) => classify_arrow(&a),
            _ => match e.class() {
                ErrorClass::Syntax => ServeError::syntax(message),
                ErrorClass::Statement => ServeError::invalid(message),
                ErrorClass::NotFound => ServeError::new(ServeErrorClass::UndefinedTable, message),
                ErrorClass::NotSupported => ServeError::not_supported(message),
                ErrorClass::Internal => ServeError::internal(message),
            },
        }
    }
}

fn parser_message(e: &datafusion::sql::sqlparser::parser::ParserError) -> String {
    use datafusion::sql::sqlparser::parser::ParserError;
    match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "the statement is nested too deeply".to_string(),
    }
}

/// Classifies a DataFusion error by its root cause and keeps the root's message without DataFusion's
/// "Error during planning:" style prefixes.
pub fn classify(e: &DataFusionError) -> ServeError {
    let root = e.find_root();
    match root {
        DataFusionError::SQL(p, _) => ServeError::syntax(parser_message(p)),
        DataFusionError::SchemaError(s, _) => match s.as_ref() {
            SchemaError::FieldNotFound { field, .. } => ServeError::new(
                ServeErrorClass::UndefinedColumn,
                format!("column \"{}\" does not exist", field.name()),
            ),
            SchemaError::AmbiguousReference { field } => ServeError::new(
                ServeErrorClass::AmbiguousColumn,
                format!("column reference \"{}\" is ambiguous", field.name()),
            ),
            other => ServeError::invalid(first_line(&other.to_string())),
        },
        DataFusionError::Plan(m) => classify_plan_message(m),
        DataFusionError::NotImplemented(m) => ServeError::not_supported(first_line(m)),
        DataFusionError::ArrowError(a, _) => classify_arrow(a),
        DataFusionError::Execution(m) => classify_execution_message(m),
        DataFusionError::ResourcesExhausted(m) => ServeError::new(ServeErrorClass::ResourcesExhausted, first_line(m)),
        DataFusionError::External(inner) => match inner.downcast_ref::<ServeError>() {
            Some(s) => ServeError::new(s.class, s.message.clone()),
            None => ServeError::internal(first_line(&inner.to_string())),
        },
        other => ServeError::internal(first_line(&other.message())),
    }
}

fn classify_plan_message(m: &str) -> ServeError {
    let message = first_line(m);
    let lower = message.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("table '")
        && rest.ends_with("' not found")
    {
        let name = message
            .get("table '".len()..message.len() - "' not found".len())
            .unwrap_or("");
        // DataFusion reports the fully qualified name (`weir.public.X`); users wrote the last part.
        let short = name.rsplit('.').next().unwrap_or(name);
        return ServeError::new(
            ServeErrorClass::UndefinedTable,
            format!("relation \"{short}\" does not exist"),
        );
    }
    if lower.contains("invalid function") || lower.contains("no function matches") {
        return ServeError::new(ServeErrorClass::UndefinedFunction, message);
    }
    if lower.contains("cannot infer common")
        || lower.contains("cannot be cast")
        || lower.contains("can't cast")
        || lower.contains("cannot coerce")
        || lower.contains("does not support type")
        || lower.contains("type coercion")
        || lower.contains("unsupported data type")
    {
        return ServeError::new(ServeErrorClass::DatatypeMismatch, message);
    }
    ServeError::invalid(message)
}

fn classify_execution_message(m: &str) -> ServeError {
    let message = first_line(m);
    let lower = message.to_ascii_lowercase();
    if lower.contains("divide by zero") || lower.contains("division by zero") {
        return ServeError::new(ServeErrorClass::DivisionByZero, "division by zero");
    }
    if lower.contains("overflow") {
        return ServeError::new(ServeErrorClass::NumericOverflow, message);
    }
    if lower.contains("cannot cast") || lower.contains("cast error") || lower.contains("parser error") {
        return ServeError::new(ServeErrorClass::InvalidText, message);
    }
    ServeError::new(ServeErrorClass::DataException, message)
}

fn classify_arrow(a: &ArrowError) -> ServeError {
    match a {
        ArrowError::DivideByZero => ServeError::new(ServeErrorClass::DivisionByZero, "division by zero"),
        ArrowError::ArithmeticOverflow(m) => ServeError::new(ServeErrorClass::NumericOverflow, first_line(m)),
        ArrowError::CastError(m) | ArrowError::ParseError(m) => {
            ServeError::new(ServeErrorClass::InvalidText, first_line(m))
        }
        ArrowError::ComputeError(m) | ArrowError::InvalidArgumentError(m) => {
            ServeError::new(ServeErrorClass::DataException, first_line(m))
        }
        other => ServeError::internal(first_line(&other.to_string())),
    }
}

fn first_line(m: &str) -> String {
    m.lines().next().unwrap_or(m).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tables_use_the_short_name() {
        let e = classify(&DataFusionError::Plan("table 'weir.public.NOPE' not found".into()));
        assert_eq!(e.class, ServeErrorClass::UndefinedTable);
        assert_eq!(e.message, "relation \"NOPE\" does not exist");
    }

    #[test]
    fn arrow_errors_are_data_errors() {
        let e = classify(&DataFusionError::ArrowError(Box::new(ArrowError::DivideByZero), None));
        assert_eq!(e.class, ServeErrorClass::DivisionByZero);
        let e = classify(&DataFusionError::ArrowError(
            Box::new(ArrowError::CastError(
                "Cannot cast string 'x' to value of Int64 type".into(),
            )),
            None,
        ));
        assert_eq!(e.class, ServeErrorClass::InvalidText);
    }

    #[test]
    fn context_is_unwrapped_to_the_root() {
        let e = DataFusionError::Context(
            "while planning".into(),
            Box::new(DataFusionError::NotImplemented("ARRAY subqueries".into())),
        );
        assert_eq!(classify(&e).class, ServeErrorClass::NotSupported);
    }
}
