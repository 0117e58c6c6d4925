//! ksqlDB's error bodies: `{"@type","error_code","message"[, "statementText", "entities"]}`, with
//! `error_code` = HTTP status × 100 + a sub-code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::engine::{EngineError, ErrorClass};
use crate::serve::{ServeError, ServeErrorClass};

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    pub statement: Option<String>,
    /// Results of statements in the same request that succeeded before the failure.
    pub entities: Vec<Value>,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: 40000,
            message: message.into(),
            statement: None,
            entities: vec![],
        }
    }

    pub fn initializing() -> Self {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: 50302,
            message: "The server is initializing: the catalog is being replayed. Try again shortly.".into(),
            statement: None,
            entities: vec![],
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: 50000,
            message: message.into(),
            statement: None,
            entities: vec![],
        }
    }

    /// The JSON body, also used for errors written inside streamed responses.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "@type": if self.statement.is_some() { "statement_error" } else { "generic_error" },
            "error_code": self.code,
            "message": self.message,
        });
        if let Some(s) = &self.statement {
            body["statementText"] = Value::String(s.clone());
            body["entities"] = Value::Array(self.entities.clone());
        }
        body
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let (status, code) = match e.class() {
            ErrorClass::Syntax | ErrorClass::Statement | ErrorClass::NotSupported => (StatusCode::BAD_REQUEST, 40001),
            ErrorClass::NotFound => (StatusCode::NOT_FOUND, 40400),
            ErrorClass::Internal => (StatusCode::INTERNAL_SERVER_ERROR, 50000),
        };
        ApiError {
            status,
            code,
            message: e.to_string(),
            statement: e.statement.clone(),
            entities: vec![],
        }
    }
}

impl ApiError {
    /// A failed full SQL pull query (`statement`): the statement's fault unless Weir failed (ksqlDB's 40001 /
    /// 50000). The message is the planner's, which names what is wrong.
    pub fn pull_query(e: ServeError, statement: &str) -> Self {
        match e.class {
            ServeErrorClass::Internal | ServeErrorClass::ResourcesExhausted => ApiError::internal(e.message),
            _ => ApiError {
                status: StatusCode::BAD_REQUEST,
                code: 40001,
                message: e.message,
                statement: Some(statement.to_string()),
                entities: vec![],
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
