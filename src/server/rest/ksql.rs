//! `POST /ksql`: runs one or more statements and returns one entity per statement.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::entities::render;
use super::{ApiError, AppState};
use crate::engine::Session;
use crate::sql::ast::Statement;

/// The request body of `/ksql`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KsqlRequest {
    pub ksql: String,
    #[serde(default)]
    pub streams_properties: BTreeMap<String, Value>,
}

/// Stringifies property values (clients send numbers and booleans as JSON values).
pub fn properties(map: &BTreeMap<String, Value>) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
            )
        })
        .collect()
}

pub async fn handle(State(state): State<AppState>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let request: KsqlRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Invalid /ksql request: {e}. Send {{\"ksql\": \"...;\"}}")))?;
    let engine = state.engine()?;
    let entities = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, ApiError> {
        let statements = crate::sql::parse(&request.ksql).map_err(crate::engine::EngineError::from)?;
        if statements.is_empty() {
            return Err(ApiError::bad_request("The request contains no statements."));
        }
        let mut session = Session::with_properties(properties(&request.streams_properties));
        let mut entities = Vec::with_capacity(statements.len());
        for stmt in &statements {
            if matches!(stmt.statement, Statement::Select(_) | Statement::Print { .. }) {
                let mut err = ApiError::bad_request(format!(
                    "The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT\nStatement: {}",
                    stmt.text
                ));
                err.code = 40002;
                err.statement = Some(stmt.text.clone());
                err.entities = entities;
                return Err(err);
            }
            match engine.execute_statement(stmt, &mut session) {
                Ok(result) => entities.push(render(&result, &stmt.text, &stmt.statement)),
                Err(e) => {
                    let mut err = ApiError::from(e);
                    err.statement = Some(stmt.text.clone());
                    err.entities = entities;
                    return Err(err);
                }
            }
        }
        Ok(entities)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok((
        [(header::CONTENT_TYPE, "application/vnd.ksql.v1+json")],
        Json(Value::Array(entities)),
    )
        .into_response())
}
