//! `PRINT 'topic'`: show a topic's raw records, whatever their format.

use chrono::{TimeZone, Utc};

use crate::topics::ConsumedRecord;
use crate::types::SqlType;

use super::{Engine, EngineError, RowSet, StatementResult};

/// Records `PRINT` returns when neither a limit nor a streaming client bounds it.
const DEFAULT_PRINT_LIMIT: u64 = 1000;

impl Engine {
    /// The bounded form of `PRINT` (what a request/response client gets): records from the beginning (or nothing
    /// new, without FROM BEGINNING) up to `LIMIT`. Streaming clients use the REST `/query` endpoint.
    pub(super) fn print_bounded(
        &self,
        topic: &str,
        from_beginning: bool,
        limit: Option<u64>,
    ) -> Result<StatementResult, EngineError> {
        let name = self.resolve_topic_name(topic)?;
        let info = self
            .store
            .describe_topic(&name)?
            .ok_or_else(|| EngineError::not_found(format!("Could not find topic '{topic}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive.")))?;
        let limit = limit.unwrap_or(DEFAULT_PRINT_LIMIT) as usize;
        let mut lines = Vec::new();
        if from_beginning {
            'partitions: for p in 0..info.partitions {
                let mut offset = self.store.offsets(&name, p)?.earliest;
                loop {
                    let batch = self.store.read(&name, p, offset, 500)?;
                    let Some(last) = batch.last() else { break };
                    offset = last.offset + 1;
                    for r in &batch {
                        if lines.len() >= limit {
                            break 'partitions;
                        }
                        lines.push(vec![serde_json::Value::String(format_print_line(r))]);
                    }
                }
            }
        }
        Ok(StatementResult::Rows(RowSet {
            columns: vec![("PRINT".to_string(), SqlType::String)],
            rows: lines,
        }))
    }

    /// Finds a topic by exact name, then case-insensitively (ksqlDB accepts unquoted topic names).
    pub fn resolve_topic_name(&self, topic: &str) -> Result<String, EngineError> {
        if self.store.describe_topic(topic)?.is_some() {
            return Ok(topic.to_string());
        }
        let all = self.store.list_topics()?;
        all.into_iter()
            .find(|t| t.name.eq_ignore_ascii_case(topic))
            .map(|t| t.name)
            .ok_or_else(|| {
                EngineError::not_found(format!(
                    "Could not find topic '{topic}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive."
                ))
            })
    }
}

/// One `PRINT` line in ksqlDB's layout: `rowtime: ..., key: ..., value: ..., partition: n`.
pub fn format_print_line(r: &ConsumedRecord) -> String {
    let time = Utc
        .timestamp_millis_opt(r.record.timestamp)
        .single()
        .map(|t| t.format("%Y/%m/%d %H:%M:%S%.3f Z").to_string())
        .unwrap_or_else(|| r.record.timestamp.to_string());
    format!(
        "rowtime: {time}, key: {}, value: {}, partition: {}",
        render_bytes(r.record.key.as_deref()),
        render_bytes(r.record.value.as_deref()),
        r.partition
    )
}

/// Text as text; binary data shown the way ksqlDB's PRINT shows what it cannot decode.
fn render_bytes(b: Option<&[u8]>) -> String {
    match b {
        None => "<null>".to_string(),
        Some(bytes) => match std::str::from_utf8(bytes) {
            Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => s.to_string(),
            _ => {
                if bytes.len() == 4 {
                    i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]).to_string()
                } else if bytes.len() == 8 {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(bytes);
                    i64::from_be_bytes(a).to_string()
                } else {
                    bytes.iter().map(|b| format!("{b:02x}")).collect()
                }
            }
        },
    }
}

/// A running `PRINT`: formatted lines until its limit, or until the client goes away.
pub struct PrintHandle {
    pub lines: tokio::sync::mpsc::Receiver<String>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for PrintHandle {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Engine {
    /// Starts a streaming `PRINT`: from the beginning or the current end, every `interval`-th record, up to `limit`.
    pub fn start_print(
        &self,
        topic: &str,
        from_beginning: bool,
        interval: Option<u64>,
        limit: Option<u64>,
    ) -> Result<PrintHandle, EngineError> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let name = self.resolve_topic_name(topic)?;
        let partitions = self.store.describe_topic(&name)?.map(|t| t.partitions).unwrap_or(0);
        let mut positions = Vec::new();
        for p in 0..partitions {
            let o = self.store.offsets(&name, p)?;
            positions.push((p, if from_beginning { o.earliest } else { o.end }));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let store = self.store.clone();
        let every = interval.unwrap_or(1).max(1);
        std::thread::Builder::new()
            .name("print".into())
            .spawn(move || {
                let mut seen: u64 = 0;
                let mut printed: u64 = 0;
                while !thread_stop.load(Ordering::SeqCst) && !tx.is_closed() {
                    let mut progressed = false;
                    for (p, offset) in positions.iter_mut() {
                        let Ok(records) = store.read(&name, *p, *offset, 500) else {
                            return;
                        };
                        let Some(last) = records.last() else { continue };
                        *offset = last.offset + 1;
                        progressed = true;
                        for r in &records {
                            seen += 1;
                            if !(seen - 1).is_multiple_of(every) {
                                continue;
                            }
                            if tx.blocking_send(format_print_line(r)).is_err() {
                                return;
                            }
                            printed += 1;
                            if limit.is_some_and(|l| printed >= l) {
                                return;
                            }
                        }
                    }
                    if !progressed {
                        if let Some((p, offset)) = positions.first() {
                            store.wait_for_data(&name, *p, *offset, std::time::Duration::from_millis(100));
                        } else {
                            std::thread::sleep(std::time::Duration::from_millis(100));
                        }
                    }
                }
            })
            .map_err(|e| EngineError::invalid(format!("cannot start PRINT: {e}")))?;
        Ok(PrintHandle { lines: rx, stop })
    }
}
