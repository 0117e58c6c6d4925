//! Dead letters: records a query could not read or process, kept with their raw bytes.
//!
//! Every record a query drops is either written here or counted (DESIGN.md §4). The processing-log stream
//! (`KSQL_PROCESSING_LOG` by default) is an ordinary JSON stream over a topic, so users inspect it with SQL, PRINT,
//! REST or psql like any other stream.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;

use crate::topics::{ConsumedRecord, Record};
use crate::types::{Column, LogicalSchema, SqlType};

/// Why a record was dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The key or value bytes did not decode in the declared format.
    Deserialization,
    /// An expression failed on the record (e.g. division by zero, bad cast, invalid timestamp).
    Processing,
    /// The result could not be encoded in the sink's format.
    Serialization,
    /// The result could not be written to the sink topic.
    Production,
    /// The record arrived after its window closed (window end + grace).
    Late,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Deserialization => "deserialization",
            ErrorKind::Processing => "processing",
            ErrorKind::Serialization => "serialization",
            ErrorKind::Production => "production",
            ErrorKind::Late => "late",
        }
    }
}

/// One dead-lettered record.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub query_id: Arc<str>,
    pub kind: ErrorKind,
    pub message: String,
    pub topic: Arc<str>,
    pub partition: u32,
    pub offset: i64,
    /// The source record's timestamp.
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// For late records: the window they missed.
    pub window: Option<(i64, i64)>,
}

impl DeadLetter {
    /// A dead letter for a consumed record.
    pub fn for_record(query_id: &Arc<str>, kind: ErrorKind, message: String, r: &ConsumedRecord) -> Self {
        DeadLetter {
            query_id: query_id.clone(),
            kind,
            message,
            topic: r.topic.clone(),
            partition: r.partition,
            offset: r.offset,
            timestamp: r.record.timestamp,
            key: r.record.key.clone(),
            value: r.record.value.clone(),
            window: None,
        }
    }

    /// The processing-log record for this dead letter; `now_ms` fills the `TIME` column.
    pub fn to_record(&self, now_ms: i64) -> Record {
        let b64 = |b: &Option<Bytes>| b.as_ref().map(|b| base64::engine::general_purpose::STANDARD.encode(b));
        let value = serde_json::json!({
            "LOGGER": format!("processing.{}", self.query_id),
            "LEVEL": "ERROR",
            "TIME": now_ms,
            "QUERY_ID": &*self.query_id,
            "KIND": self.kind.as_str(),
            "MESSAGE": self.message,
            "SOURCE_TOPIC": &*self.topic,
            "SOURCE_PARTITION": self.partition,
            "SOURCE_OFFSET": self.offset,
            "RECORD_TIMESTAMP": self.timestamp,
            "KEY_BASE64": b64(&self.key),
            "VALUE_BASE64": b64(&self.value),
            "WINDOW_START": self.window.map(|w| w.0),
            "WINDOW_END": self.window.map(|w| w.1),
        });
        Record {
            timestamp: self.timestamp,
            key: None,
            value: Some(Bytes::from(value.to_string())),
            headers: vec![],
        }
    }
}

/// The columns of the processing-log stream, in the order [`DeadLetter::to_record`] writes them.
pub fn processing_log_schema() -> LogicalSchema {
    LogicalSchema::new(vec![
        Column::value("LOGGER", SqlType::String),
        Column::value("LEVEL", SqlType::String),
        Column::value("TIME", SqlType::BigInt),
        Column::value("QUERY_ID", SqlType::String),
        Column::value("KIND", SqlType::String),
        Column::value("MESSAGE", SqlType::String),
        Column::value("SOURCE_TOPIC", SqlType::String),
        Column::value("SOURCE_PARTITION", SqlType::Int),
        Column::value("SOURCE_OFFSET", SqlType::BigInt),
        Column::value("RECORD_TIMESTAMP", SqlType::BigInt),
        Column::value("KEY_BASE64", SqlType::String),
        Column::value("VALUE_BASE64", SqlType::String),
        Column::value("WINDOW_START", SqlType::BigInt),
        Column::value("WINDOW_END", SqlType::BigInt),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_carries_raw_bytes_and_position() {
        let r = ConsumedRecord {
            topic: "t".into(),
            partition: 2,
            offset: 41,
            record: Record {
                timestamp: 7,
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from_static(b"{bad")),
                headers: vec![],
            },
        };
        let dl = DeadLetter::for_record(&Arc::from("Q1"), ErrorKind::Deserialization, "boom".into(), &r);
        let rec = dl.to_record(99);
        let v: serde_json::Value = serde_json::from_slice(rec.value.as_deref().unwrap()).unwrap();
        assert_eq!(v["KIND"], "deserialization");
        assert_eq!(v["SOURCE_PARTITION"], 2);
        assert_eq!(v["SOURCE_OFFSET"], 41);
        assert_eq!(v["VALUE_BASE64"], "e2JhZA==");
        assert_eq!(v["TIME"], 99);
        assert_eq!(rec.timestamp, 7);
        assert_eq!(processing_log_schema().columns().len(), v.as_object().unwrap().len());
    }
}
