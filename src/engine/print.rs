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
    pub(super) fn print_bounded(&self, topic: &str, from_beginning: bool, limit: Option<u64>) -> Result<StatementResult, EngineError> {
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
