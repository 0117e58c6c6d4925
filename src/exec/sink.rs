//! Turning result batches into sink records: encode keys and values, pick partitions, stamp timestamps.
//!
//! A result batch has the sink's declared columns (keys first) followed by `ROWTIME`, `ROWPARTITION` and
//! `ROWOFFSET` of the input row that produced it. The pseudo-columns give the record timestamp, the partition for
//! keyless records, and the source position used for dead letters and for de-duplication after a crash.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{ArrayRef, Int32Array, Int64Array};
use datafusion::arrow::record_batch::RecordBatch;

use super::ExecError;
use super::dead_letter::{DeadLetter, ErrorKind};
use crate::format::{Encoder, FormatError, FormatOptions};
use crate::topics::{Record, partition_for_key};
use crate::types::LogicalSchema;

/// One encoded output record and the source row it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    pub partition: u32,
    pub record: Record,
    pub source_partition: u32,
    pub source_offset: i64,
}

/// Encodes result batches for one sink.
pub struct SinkEncoder {
    query_id: Arc<str>,
    source_topic: Arc<str>,
    key_encoder: Encoder,
    value_encoder: Encoder,
    key_columns: usize,
    value_columns: usize,
    partitions: u32,
}

impl SinkEncoder {
    pub fn new(
        query_id: Arc<str>,
        source_topic: Arc<str>,
        schema: &LogicalSchema,
        key_format: &FormatOptions,
        value_format: &FormatOptions,
        partitions: u32,
    ) -> Result<Self, ExecError> {
        let fields = |cols: Vec<&crate::types::Column>| -> Vec<(String, crate::types::SqlType)> {
            cols.into_iter().map(|c| (c.name.clone(), c.ty.clone())).collect()
        };
        let key_fields = fields(schema.key_columns().collect());
        let value_fields = fields(schema.value_columns().collect());
        Ok(SinkEncoder {
            query_id,
            source_topic,
            key_columns: key_fields.len(),
            value_columns: value_fields.len(),
            key_encoder: Encoder::new(key_format, &key_fields, true)?,
            value_encoder: Encoder::new(value_format, &value_fields, false)?,
            partitions: partitions.max(1),
        })
    }

    /// Encodes every row of `batch`. Rows that cannot be encoded become dead letters (with the encoded key, if
    /// any) instead of records.
    pub fn encode(
        &mut self,
        batch: &RecordBatch,
        dead_letters: &mut Vec<DeadLetter>,
    ) -> Result<Vec<SinkRecord>, ExecError> {
        self.encode_with_tombstones(batch, None, dead_letters)
    }

    /// Like [`SinkEncoder::encode`], but rows flagged in `tombstones` get a null value (a table delete).
    pub fn encode_with_tombstones(
        &mut self,
        batch: &RecordBatch,
        tombstones: Option<&[bool]>,
        dead_letters: &mut Vec<DeadLetter>,
    ) -> Result<Vec<SinkRecord>, ExecError> {
        let rows = batch.num_rows();
        let declared = self.key_columns + self.value_columns;
        if batch.num_columns() != declared + 3 {
            return Err(ExecError::Internal(format!(
                "result batch has {} columns, the sink expects {}",
                batch.num_columns(),
                declared + 3
            )));
        }
        let columns: &[ArrayRef] = batch.columns();
        let rowtime = int64_column(&columns[declared], "ROWTIME")?;
        let partition = columns[declared + 1]
            .as_any()
            .downcast_ref::<Int32Array>()
            .ok_or_else(|| ExecError::Internal("ROWPARTITION is not INT".into()))?;
        let offset = int64_column(&columns[declared + 2], "ROWOFFSET")?;

        let keys = encode_rows(&mut self.key_encoder, &columns[..self.key_columns], rows);
        let values = encode_rows(&mut self.value_encoder, &columns[self.key_columns..declared], rows);

        let mut out = Vec::with_capacity(rows);
        for (row, (key, value)) in keys.into_iter().zip(values).enumerate() {
            let source_partition = partition.value(row) as u32;
            let source_offset = offset.value(row);
            let timestamp = rowtime.value(row);
            let key = match key {
                Ok(k) => k,
                Err(e) => {
                    let dl = self.serialization_error(
                        format!("Error serializing key: {e}"),
                        source_partition,
                        source_offset,
                        timestamp,
                        None,
                    );
                    dead_letters.push(dl);
                    continue;
                }
            };
            let tombstone = tombstones.is_some_and(|t| t.get(row).copied().unwrap_or(false));
            let value = match value {
                _ if tombstone => None,
                Ok(v) => v,
                Err(e) => {
                    let dl = self.serialization_error(
                        format!("Error serializing value: {e}"),
                        source_partition,
                        source_offset,
                        timestamp,
                        key.clone(),
                    );
                    dead_letters.push(dl);
                    continue;
                }
            };
            let sink_partition = match &key {
                Some(k) => partition_for_key(k, self.partitions),
                None => source_partition % self.partitions,
            };
            out.push(SinkRecord {
                partition: sink_partition,
                record: Record {
                    timestamp,
                    key,
                    value,
                    headers: vec![],
                },
                source_partition,
                source_offset,
            });
        }
        Ok(out)
    }

    fn serialization_error(
        &self,
        message: String,
        partition: u32,
        offset: i64,
        timestamp: i64,
        key: Option<Bytes>,
    ) -> DeadLetter {
        DeadLetter {
            query_id: self.query_id.clone(),
            kind: ErrorKind::Serialization,
            message,
            topic: self.source_topic.clone(),
            partition,
            offset,
            timestamp,
            key,
            value: None,
            window: None,
        }
    }
}

/// Encodes every row; when the batch as a whole fails, encodes row by row so only the bad rows fail.
fn encode_rows(encoder: &mut Encoder, columns: &[ArrayRef], rows: usize) -> Vec<Result<Option<Bytes>, FormatError>> {
    match encoder.encode(columns, rows) {
        Ok(encoded) => encoded.into_iter().map(Ok).collect(),
        Err(_) => (0..rows)
            .map(|row| {
                let one: Vec<ArrayRef> = columns.iter().map(|c| c.slice(row, 1)).collect();
                encoder.encode(&one, 1).map(|mut v| v.pop().flatten())
            })
            .collect(),
    }
}

fn int64_column<'a>(a: &'a ArrayRef, name: &str) -> Result<&'a Int64Array, ExecError> {
    a.as_any()
        .downcast_ref::<Int64Array>()
        .ok_or_else(|| ExecError::Internal(format!("{name} is not BIGINT")))
}
