//! `/status` (the outcome of every accepted command) and `/is_valid_property/{name}`.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};

use super::{ApiError, AppState};

/// `GET /status`: every command of the catalog's command log, by command id. Commands run synchronously, so
/// each accepted one is `SUCCESS`.
pub async fn all(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let engine = state.engine()?;
    let statuses: Map<String, Value> = command_ids(&engine)?
        .into_iter()
        .map(|id| (id, Value::String("SUCCESS".into())))
        .collect();
    Ok(Json(json!({"commandStatuses": statuses})))
}

/// `GET /status/{type}/{entity}/{action}`: one command's status.
pub async fn one(
    State(state): State<AppState>,
    Path((kind, entity, action)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let engine = state.engine()?;
    let wanted = format!("{kind}/{entity}/{action}");
    let unquoted = wanted.replace('`', "");
    let found = command_ids(&engine)?
        .into_iter()
        .any(|id| id == wanted || id.replace('`', "") == unquoted);
    if found {
        Ok(Json(json!({"status": "SUCCESS", "message": "Command completed"})))
    } else {
        let mut e = ApiError::bad_request(format!("Could not find command with id {wanted}"));
        e.status = axum::http::StatusCode::NOT_FOUND;
        e.code = 40400;
        Err(e)
    }
}

fn command_ids(engine: &crate::engine::Engine) -> Result<Vec<String>, ApiError> {
    Ok(engine
        .logged_statements()?
        .iter()
        .map(|s| super::entities::command_id(&s.statement))
        .collect())
}

/// Properties a client may set per request (`streamsProperties`) or with `SET`.
const KNOWN_PROPERTIES: &[&str] = &[
    "auto.offset.reset",
    "ksql.streams.auto.offset.reset",
    "commit.interval.ms",
    "ksql.streams.commit.interval.ms",
    "cache.max.bytes.buffering",
    "ksql.streams.cache.max.bytes.buffering",
    "ksql.query.pull.table.scan.enabled",
    "ksql.query.push.v2.enabled",
];

/// `GET /is_valid_property/{name}`: `true` when Weir understands the property.
pub async fn is_valid_property(Path(name): Path<String>) -> Json<bool> {
    Json(KNOWN_PROPERTIES.contains(&name.as_str()))
}
