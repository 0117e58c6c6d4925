//! `POST /query` (ksqlDB's original streaming endpoint) and `POST /query-stream` + `POST /close-query` (its
//! HTTP/2-era API). Both stream rows as they are produced; a client that stops reading holds the query back
//! (the engine's channel is bounded), and a client that disconnects ends it.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ksql::properties;
use super::rows::rows_as_json;
use super::{ApiError, AppState};
use crate::engine::{PrintHandle, QueryRoute, Session, TransientHandle};
use crate::exec::{PushEnd, PushMessage};
use crate::sql::ast::{ParsedStatement, Statement};

const KSQL_JSON: &str = "application/vnd.ksql.v1+json";
const DELIMITED: &str = "application/vnd.ksqlapi.delimited.v1";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryRequest {
    ksql: String,
    #[serde(default)]
    streams_properties: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
struct QueryStreamRequest {
    sql: String,
    #[serde(default)]
    properties: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloseRequest {
    query_id: String,
}

/// What one query request runs.
enum Running {
    Query(TransientHandle),
    Print(PrintHandle),
}

/// Parses exactly one SELECT or PRINT and starts it. A pull query that only full SQL answers (see
/// [`QueryRoute`]) runs through DataFusion instead.
async fn start(state: &AppState, sql: String, props: BTreeMap<String, String>) -> Result<Running, ApiError> {
    let engine = state.engine()?;
    let routed = {
        let engine = engine.clone();
        let sql = sql.clone();
        tokio::task::spawn_blocking(move || engine.route_query(&sql))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??
    };
    let statements = match routed {
        QueryRoute::FullSql(statement) => {
            let handle = state
                .serving()?
                .ksql_pull_query(*statement)
                .await
                .map_err(|e| ApiError::pull_query(e, sql.trim()))?;
            return Ok(Running::Query(handle));
        }
        QueryRoute::Dialect(statements) => statements,
    };
    tokio::task::spawn_blocking(move || -> Result<Running, ApiError> {
        let mut statements = statements;
        if statements.len() != 1 {
            return Err(ApiError::bad_request(format!(
                "Expected exactly one SELECT or PRINT statement, got {}.",
                statements.len()
            )));
        }
        let stmt: ParsedStatement = statements.remove(0);
        match &stmt.statement {
            Statement::Select(_) => {
                let session = Session::with_properties(props);
                Ok(Running::Query(engine.start_transient(&stmt, &session)?))
            }
            Statement::Print {
                topic,
                from_beginning,
                interval,
                limit,
            } => Ok(Running::Print(
                engine
                    .start_print(topic, *from_beginning, *interval, *limit)
                    .map_err(|e| e.with_statement(&stmt.text))?,
            )),
            _ => {
                let mut e = ApiError::bad_request(format!(
                    "The following statement types should be issued to the '/ksql' endpoint: {}",
                    stmt.text
                ));
                e.code = 40002;
                e.statement = Some(stmt.text.clone());
                Err(e)
            }
        }
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains(DELIMITED))
}

fn streaming(content_type: &'static str, body: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body.map(Ok::<_, std::convert::Infallible>)),
    )
        .into_response()
}

/// `POST /query`: a JSON array written one element per line — header, rows, final message.
pub async fn query(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let request: QueryRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Invalid /query request: {e}. Send {{\"ksql\": \"SELECT ...;\"}}"
        ))
    })?;
    let content_type = if wants_json(&headers) {
        "application/json"
    } else {
        KSQL_JSON
    };
    let shutdown = state.shutdown_signal();
    match start(&state, request.ksql, properties(&request.streams_properties)).await? {
        Running::Print(handle) => Ok(streaming(content_type, print_lines(handle, shutdown))),
        Running::Query(handle) => {
            let header = json!({"header": {"queryId": handle.id, "schema": handle.schema.to_ksql_string()}});
            let head = stream::once(async move { Bytes::from(format!("[{header},\n")) });
            let rows = push_messages(handle, shutdown).map(|m| match m {
                Out::Rows(rows) => {
                    let mut text = String::new();
                    for r in rows {
                        text.push_str(&json!({"row": {"columns": r}}).to_string());
                        text.push_str(",\n");
                    }
                    Bytes::from(text)
                }
                Out::End(message) => Bytes::from(format!("{}]\n", json!({"finalMessage": message}))),
                Out::Error(e) => Bytes::from(format!(
                    "{}]\n",
                    json!({"errorMessage": {"@type": "generic_error", "error_code": 50000, "message": e}})
                )),
            });
            Ok(streaming(content_type, head.chain(rows)))
        }
    }
}

/// `POST /query-stream`: a metadata line, then one JSON array per row (or, with `Accept: application/json`,
/// all of it as one JSON array).
pub async fn query_stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: QueryStreamRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Invalid /query-stream request: {e}. Send {{\"sql\": \"SELECT ...;\"}}"
        ))
    })?;
    let json_array = wants_json(&headers);
    let shutdown = state.shutdown_signal();
    match start(&state, request.sql, properties(&request.properties)).await? {
        Running::Print(handle) => {
            if json_array {
                let mut e = ApiError::bad_request("PRINT over /query-stream only supports the delimited format.");
                e.status = StatusCode::NOT_ACCEPTABLE;
                e.code = 40600;
                return Err(e);
            }
            Ok(streaming(DELIMITED, print_lines(handle, shutdown)))
        }
        Running::Query(handle) => {
            let mut meta = json!({
                "columnNames": handle.schema.columns().iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
                "columnTypes": handle.schema.columns().iter().map(|c| c.ty.to_string()).collect::<Vec<_>>(),
            });
            if handle.push {
                meta["queryId"] = Value::String(handle.id.clone());
            }
            // Delimited: every line is complete when written, so line-reading clients see rows at once.
            // JSON: one array, elements separated by ",\n".
            let (open, before, after, close) = if json_array {
                ("[", ",\n", "", "]\n")
            } else {
                ("", "", "\n", "")
            };
            let head =
                stream::once(async move { Bytes::from(format!("{open}{meta}{}", if json_array { "" } else { "\n" })) });
            let rows = push_messages(handle, shutdown).map(move |m| match m {
                Out::Rows(rows) => {
                    let mut text = String::new();
                    for r in rows {
                        text.push_str(before);
                        text.push_str(&Value::Array(r).to_string());
                        text.push_str(after);
                    }
                    Bytes::from(text)
                }
                Out::End(_) => Bytes::from(close),
                Out::Error(e) => {
                    let err = json!({"@type": "generic_error", "error_code": 50000, "message": e});
                    Bytes::from(format!("{before}{err}{after}{close}"))
                }
            });
            let content_type = if json_array { "application/json" } else { DELIMITED };
            Ok(streaming(content_type, head.chain(rows)))
        }
    }
}

/// `POST /close-query`: ends a running push query.
pub async fn close_query(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let request: CloseRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "Invalid /close-query request: {e}. Send {{\"queryId\": \"...\"}}"
        ))
    })?;
    let engine = state.engine()?;
    if engine.close_transient(&request.query_id) {
        Ok(StatusCode::OK.into_response())
    } else {
        let mut e = ApiError::bad_request(format!("No query with id {}", request.query_id));
        e.code = 40400;
        e.status = StatusCode::BAD_REQUEST;
        Err(e)
    }
}

enum Out {
    Rows(Vec<Vec<Value>>),
    End(&'static str),
    Error(String),
}

/// The query's messages as rows and a final message; ends early when the server shuts down.
fn push_messages(
    handle: TransientHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl Stream<Item = Out> + Send + 'static {
    let shutdown = Box::pin(shutdown);
    stream::unfold(Some((handle, shutdown)), |state| async move {
        let (mut handle, mut shutdown) = state?;
        let message = tokio::select! {
            m = handle.rows.recv() => m,
            _ = &mut shutdown => {
                return Some((Out::End("Server shutting down"), None));
            }
        };
        match message {
            Some(PushMessage::Rows(batch)) => Some((Out::Rows(rows_as_json(&batch)), Some((handle, shutdown)))),
            Some(PushMessage::End(PushEnd::LimitReached)) => Some((Out::End("Limit Reached"), None)),
            Some(PushMessage::End(PushEnd::Completed)) => Some((Out::End("Query Completed"), None)),
            Some(PushMessage::End(PushEnd::Error(e))) => Some((Out::Error(e), None)),
            None => Some((Out::End("Query closed"), None)),
        }
    })
}

fn print_lines(
    handle: PrintHandle,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> impl Stream<Item = Bytes> + Send + 'static {
    let shutdown = Box::pin(shutdown);
    stream::unfold(Some((handle, shutdown)), |state| async move {
        let (mut handle, mut shutdown) = state?;
        tokio::select! {
            line = handle.lines.recv() => line.map(|l| (Bytes::from(format!("{l}\n")), Some((handle, shutdown)))),
            _ = &mut shutdown => None,
        }
    })
}
