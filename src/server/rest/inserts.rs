//! `POST /inserts-stream`: the first line names the target stream (`{"target": "S"}`), each following line is one
//! JSON object of column values. Every row is acknowledged as it is written (`{"status":"ok","seq":n}`), or
//! rejected with an error ack carrying the same `seq`; a rejected row does not affect the rows around it.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{ApiError, AppState};
use crate::engine::{Engine, ErrorClass};

/// Acknowledgements queued for a slow reader before inserting waits.
const ACK_BUFFER: usize = 256;

pub async fn inserts_stream(State(state): State<AppState>, body: Body) -> Result<Response, ApiError> {
    let engine = state.engine()?;
    let mut chunks = body.into_data_stream();
    let mut buffer: Vec<u8> = Vec::new();

    // The first line names the target.
    let target = loop {
        if let Some(pos) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=pos).collect();
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            break parse_target(&line)?;
        }
        match chunks.next().await {
            Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
            Some(Err(e)) => return Err(ApiError::bad_request(format!("Could not read the request body: {e}"))),
            None if !buffer.iter().all(u8::is_ascii_whitespace) => break parse_target(&std::mem::take(&mut buffer))?,
            None => {
                return Err(ApiError::bad_request(
                    "The request body is empty: send {\"target\": \"STREAM\"} first.",
                ));
            }
        }
    };
    {
        let catalog = engine.catalog();
        if catalog.source(&target).is_none() {
            let mut e = ApiError::bad_request(format!("Cannot insert into an unknown stream: {target}"));
            e.status = StatusCode::NOT_FOUND;
            e.code = 40400;
            return Err(e);
        }
    }

    let (tx, rx) = mpsc::channel::<Bytes>(ACK_BUFFER);
    tokio::spawn(async move {
        let mut seq: u64 = 0;
        let mut pending = buffer;
        loop {
            while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = pending.drain(..=pos).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                if !insert_and_ack(&engine, &target, line, seq, &tx).await {
                    return;
                }
                seq += 1;
            }
            match chunks.next().await {
                Some(Ok(chunk)) => pending.extend_from_slice(&chunk),
                Some(Err(_)) | None => break,
            }
        }
        if !pending.iter().all(u8::is_ascii_whitespace) {
            let _ = insert_and_ack(&engine, &target, pending, seq, &tx).await;
        }
    });
    let acks = tokio_stream::wrappers::ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/vnd.ksqlapi.delimited.v1")],
        Body::from_stream(acks),
    )
        .into_response())
}

fn parse_target(line: &[u8]) -> Result<String, ApiError> {
    let v: Value = serde_json::from_slice(line)
        .map_err(|e| ApiError::bad_request(format!("The first line must be {{\"target\": \"STREAM\"}}: {e}")))?;
    let target = v
        .get("target")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("The first line must be {\"target\": \"STREAM\"}."))?;
    // Unquoted names are upper-cased as in SQL; a name in backticks or double quotes keeps its case.
    Ok(crate::plan::properties::normalize_quoted_identifier(target))
}

/// Inserts one row and queues its acknowledgement. Returns false when the client is gone.
async fn insert_and_ack(
    engine: &std::sync::Arc<Engine>,
    target: &str,
    line: Vec<u8>,
    seq: u64,
    tx: &mpsc::Sender<Bytes>,
) -> bool {
    let engine = engine.clone();
    let target = target.to_string();
    let outcome = tokio::task::spawn_blocking(move || engine.insert_json(&target, &line)).await;
    let ack = match outcome {
        Ok(Ok(())) => json!({"status": "ok", "seq": seq}),
        Ok(Err(e)) => {
            let code = match e.class() {
                ErrorClass::Internal => 50000,
                ErrorClass::NotFound => 40400,
                _ => 40000,
            };
            json!({"status": "error", "seq": seq, "@type": "generic_error", "error_code": code, "message": e.to_string()})
        }
        Err(e) => {
            json!({"status": "error", "seq": seq, "@type": "generic_error", "error_code": 50000, "message": e.to_string()})
        }
    };
    tx.send(Bytes::from(format!("{ack}\n"))).await.is_ok()
}
