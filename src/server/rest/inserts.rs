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
    let mut splitter = JsonSplitter::default();

    // The first value names the target.
    let target = loop {
        match splitter.next_value() {
            Some(Ok(value)) => break parse_target(&value)?,
            Some(Err(e)) => {
                return Err(ApiError::bad_request(format!(
                    "The first line must be {{\"target\": \"STREAM\"}}: {e}"
                )));
            }
            None => {}
        }
        match chunks.next().await {
            Some(Ok(chunk)) => splitter.push(&chunk),
            Some(Err(e)) => return Err(ApiError::bad_request(format!("Could not read the request body: {e}"))),
            None => {
                return Err(ApiError::bad_request(
                    "The request body is empty: send {\"target\": \"STREAM\"} and then one JSON object per row.",
                ));
            }
        }
    };
    if engine.catalog().source(&target).is_none() {
        let mut e = ApiError::bad_request(format!("Cannot insert into an unknown stream: {target}"));
        e.status = StatusCode::NOT_FOUND;
        e.code = 40400;
        return Err(e);
    }

    let (tx, rx) = mpsc::channel::<Bytes>(ACK_BUFFER);
    tokio::spawn(async move {
        let mut seq: u64 = 0;
        let mut finished = false;
        loop {
            while let Some(row) = splitter.next_value() {
                let outcome = match row {
                    Ok(bytes) => insert(&engine, &target, bytes).await,
                    Err(e) => Err((40000, format!("Malformed JSON row: {e}"))),
                };
                if tx.send(ack(seq, outcome)).await.is_err() {
                    return;
                }
                seq += 1;
            }
            if finished {
                break;
            }
            match chunks.next().await {
                Some(Ok(chunk)) => splitter.push(&chunk),
                Some(Err(_)) | None => {
                    splitter.finish();
                    finished = true;
                }
            }
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

/// Splits a byte stream into complete JSON values, whatever separates them (newlines, spaces, nothing).
#[derive(Default)]
struct JsonSplitter {
    buffer: Vec<u8>,
    /// No more input will come: a trailing partial value is an error, not a wait.
    eof: bool,
}

impl JsonSplitter {
    fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
    }

    fn finish(&mut self) {
        self.eof = true;
    }

    /// The next complete value, an error for a malformed one (skipping to the next line), or `None` when more
    /// input is needed.
    fn next_value(&mut self) -> Option<Result<Vec<u8>, String>> {
        let start = self.buffer.iter().position(|b| !b.is_ascii_whitespace())?;
        self.buffer.drain(..start);
        let mut values = serde_json::Deserializer::from_slice(&self.buffer).into_iter::<serde::de::IgnoredAny>();
        match values.next()? {
            Ok(_) => {
                let end = values.byte_offset();
                Some(Ok(self.buffer.drain(..end).collect()))
            }
            Err(e) if e.is_eof() && !self.eof => None,
            Err(e) => {
                // Resynchronize at the next line so one bad row does not swallow the rest.
                let skip = self
                    .buffer
                    .iter()
                    .position(|b| *b == b'\n')
                    .map(|p| p + 1)
                    .unwrap_or(self.buffer.len());
                self.buffer.drain(..skip);
                Some(Err(e.to_string()))
            }
        }
    }
}

async fn insert(engine: &std::sync::Arc<Engine>, target: &str, row: Vec<u8>) -> Result<(), (u32, String)> {
    let engine = engine.clone();
    let target = target.to_string();
    match tokio::task::spawn_blocking(move || engine.insert_json(&target, &row)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            let code = match e.class() {
                ErrorClass::Internal => 50000,
                ErrorClass::NotFound => 40400,
                _ => 40000,
            };
            Err((code, e.to_string()))
        }
        Err(e) => Err((50000, e.to_string())),
    }
}

fn ack(seq: u64, outcome: Result<(), (u32, String)>) -> Bytes {
    let body = match outcome {
        Ok(()) => json!({"status": "ok", "seq": seq}),
        Err((code, message)) => {
            json!({"status": "error", "seq": seq, "@type": "generic_error", "error_code": code, "message": message})
        }
    };
    Bytes::from(format!("{body}\n"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut JsonSplitter) -> Vec<Result<String, String>> {
        std::iter::from_fn(|| s.next_value())
            .map(|r| r.map(|b| String::from_utf8_lossy(&b).into_owned()))
            .collect()
    }

    #[test]
    fn splits_values_however_they_are_separated() {
        let mut s = JsonSplitter::default();
        s.push(b"{\"target\":\"s\"}{\"A\":1}\n  {\"A\":");
        assert_eq!(
            drain(&mut s),
            vec![Ok("{\"target\":\"s\"}".to_string()), Ok("{\"A\":1}".to_string())]
        );
        s.push(b"2}\n");
        assert_eq!(drain(&mut s), vec![Ok("{\"A\":2}".to_string())]);
    }

    #[test]
    fn a_malformed_row_is_an_error_and_the_next_line_still_parses() {
        let mut s = JsonSplitter::default();
        s.push(b"{\"A\":nope}\n{\"A\":3}\n");
        s.finish();
        let out = drain(&mut s);
        assert!(out[0].is_err());
        assert_eq!(out[1], Ok("{\"A\":3}".to_string()));
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn a_truncated_last_value_is_reported_at_the_end() {
        let mut s = JsonSplitter::default();
        s.push(b"{\"A\":1");
        assert!(drain(&mut s).is_empty());
        s.finish();
        assert!(drain(&mut s)[0].is_err());
    }
}
