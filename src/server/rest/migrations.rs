//! `GET /migrations` (the applied history) and `POST /migrations` (apply the pending files of a set), used by
//! `weir migrate`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::migrations::MigrationFile;

#[derive(Debug, Deserialize)]
pub struct ApplyRequest {
    pub files: Vec<MigrationFile>,
}

pub async fn history(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let engine = state.engine()?;
    let applied = tokio::task::spawn_blocking(move || engine.applied_migrations())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(json!({ "applied": applied })))
}

pub async fn apply(State(state): State<AppState>, body: axum::body::Bytes) -> Result<Json<Value>, ApiError> {
    let mut request: ApplyRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Invalid /migrations request: {e}")))?;
    // Trust the text, not the client's arithmetic.
    for f in &mut request.files {
        f.checksum = crate::migrations::checksum(&f.sql);
    }
    request.files.sort_by_key(|f| f.version);
    let engine = state.engine()?;
    let report = tokio::task::spawn_blocking(move || engine.apply_migrations(&request.files))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(json!(report)))
}
