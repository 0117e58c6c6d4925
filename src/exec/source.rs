//! Turning consumed records into a source batch: decode keys and values into Arrow, add the pseudo-columns, and
//! apply the event-time rule.
//!
//! The batch layout every later operator sees is [`LogicalSchema::source_batch_schema`]: the declared columns, then
//! `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`. Records that cannot be decoded become dead letters here; stream records
//! with a null value are skipped and counted, as in ksqlDB.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Int32Array, Int64Array};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_expr::PhysicalExpr;

use super::ExecError;
use super::dead_letter::{DeadLetter, ErrorKind};
use super::eval::evaluate_isolating;
use crate::format::{Decoder, FormatOptions};
use crate::sql::ast::SourceKind;
use crate::topics::ConsumedRecord;
use crate::types::LogicalSchema;

/// Counters of records a source did not pass on, so nothing is dropped without a trace.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SourceCounters {
    /// Stream records with a null value (ksqlDB skips them).
    pub null_values_skipped: u64,
    /// Records sent to the dead letters because they did not decode or had no valid timestamp.
    pub dead_lettered: u64,
    /// Table records without a key (a table row needs one); skipped.
    pub null_keys_skipped: u64,
}

/// A decoded batch and, for each of its rows, the index of the consumed record it came from.
pub struct SourceBatch {
    pub batch: RecordBatch,
    pub origin: Vec<usize>,
}

/// Decodes records of one source into batches.
pub struct SourceDecoder {
    query_id: Arc<str>,
    kind: SourceKind,
    schema: SchemaRef,
    key_decoder: Decoder,
    value_decoder: Decoder,
    key_columns: usize,
    value_columns: usize,
    /// Computes event time from the decoded columns when the source declares `TIMESTAMP`.
    timestamp: Option<Arc<dyn PhysicalExpr>>,
    /// Bytes of window bounds after the key (windowed tables), stripped before the key is decoded.
    key_suffix: usize,
    pub counters: SourceCounters,
}

impl SourceDecoder {
    pub fn new(
        query_id: Arc<str>,
        kind: SourceKind,
        schema: &LogicalSchema,
        key_format: &FormatOptions,
        value_format: &FormatOptions,
        timestamp: Option<Arc<dyn PhysicalExpr>>,
    ) -> Result<Self, ExecError> {
        let fields = |cols: Vec<&crate::types::Column>| -> Vec<(String, crate::types::SqlType)> {
            cols.into_iter().map(|c| (c.name.clone(), c.ty.clone())).collect()
        };
        let key_fields = fields(schema.key_columns().collect());
        let value_fields = fields(schema.value_columns().collect());
        Ok(SourceDecoder {
            query_id,
            kind,
            schema: schema.source_batch_schema(),
            key_columns: key_fields.len(),
            value_columns: value_fields.len(),
            key_decoder: Decoder::new(key_format, &key_fields, true)?,
            value_decoder: Decoder::new(value_format, &value_fields, false)?,
            timestamp,
            key_suffix: 0,
            counters: SourceCounters::default(),
        })
    }

    /// For a windowed table: its keys end with `bytes` of window bounds, which are not part of the key columns.
    pub fn with_key_suffix(mut self, bytes: usize) -> Self {
        self.key_suffix = bytes;
        self
    }

    /// Whether the source is a stream or a table.
    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Decodes `records` (all from one partition). Undecodable records are appended to `dead_letters`.
    pub fn decode(
        &mut self,
        records: &[ConsumedRecord],
        dead_letters: &mut Vec<DeadLetter>,
    ) -> Result<SourceBatch, ExecError> {
        // Streams skip null values; tables keep them as deletes (handled by the table operators).
        let mut origin: Vec<usize> = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            if r.record.value.is_none() && self.kind == SourceKind::Stream {
                self.counters.null_values_skipped += 1;
            } else {
                origin.push(i);
            }
        }
        let suffix = self.key_suffix;
        let keys: Vec<Option<&[u8]>> = origin
            .iter()
            .map(|&i| {
                records[i]
                    .record
                    .key
                    .as_deref()
                    .map(|k| &k[..k.len().saturating_sub(suffix)])
            })
            .collect();
        let values: Vec<Option<&[u8]>> = origin.iter().map(|&i| records[i].record.value.as_deref()).collect();
        let mut failed = vec![false; origin.len()];

        let decoded_keys = self.key_decoder.decode(&keys);
        for (row, err) in decoded_keys.errors {
            if let Some(f) = failed.get_mut(row) {
                *f = true;
                dead_letters.push(DeadLetter::for_record(
                    &self.query_id,
                    ErrorKind::Deserialization,
                    format!(
                        "Failed to deserialize key from topic: {}. {}",
                        records[origin[row]].topic,
                        err.detail()
                    ),
                    &records[origin[row]],
                ));
            }
        }
        let decoded_values = self.value_decoder.decode(&values);
        let mut skipped_nulls = 0u64;
        for (row, err) in decoded_values.errors {
            if let Some(f) = failed.get_mut(row)
                && !*f
            {
                *f = true;
                dead_letters.push(DeadLetter::for_record(
                    &self.query_id,
                    ErrorKind::Deserialization,
                    format!(
                        "Failed to deserialize value from topic: {}. {}",
                        records[origin[row]].topic,
                        err.detail()
                    ),
                    &records[origin[row]],
                ));
            }
        }
        // A value that decodes to null as a whole (JSON `null`) is a tombstone too: streams skip it.
        if self.kind == SourceKind::Stream {
            for &row in &decoded_values.null_rows {
                if let Some(f) = failed.get_mut(row)
                    && !*f
                    && records[origin[row]].record.value.is_some()
                {
                    *f = true;
                    self.counters.null_values_skipped += 1;
                    skipped_nulls += 1;
                }
            }
        }
        if decoded_keys.arrays.len() != self.key_columns || decoded_values.arrays.len() != self.value_columns {
            return Err(ExecError::Internal(
                "decoder returned the wrong number of columns".into(),
            ));
        }

        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        columns.extend(decoded_keys.arrays);
        columns.extend(decoded_values.arrays);
        columns.push(Arc::new(Int64Array::from_iter_values(
            origin.iter().map(|&i| records[i].record.timestamp),
        )));
        columns.push(Arc::new(Int32Array::from_iter_values(
            origin.iter().map(|&i| records[i].partition as i32),
        )));
        columns.push(Arc::new(Int64Array::from_iter_values(
            origin.iter().map(|&i| records[i].offset),
        )));
        let mut batch = RecordBatch::try_new(self.schema.clone(), columns)?;

        if let Some(ts) = &self.timestamp {
            let (times, failures) = evaluate_isolating(ts.as_ref(), &batch, &DataType::Int64);
            let times_i64 = times
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| ExecError::Internal("timestamp expression is not BIGINT".into()))?;
            for f in failures {
                if !failed[f.row] {
                    failed[f.row] = true;
                    dead_letters.push(DeadLetter::for_record(
                        &self.query_id,
                        ErrorKind::Processing,
                        format!("Failed to extract timestamp: {}", f.message),
                        &records[origin[f.row]],
                    ));
                }
            }
            for row in 0..batch.num_rows() {
                let invalid = if times_i64.is_null(row) {
                    Some("the TIMESTAMP column is null".to_string())
                } else if times_i64.value(row) < 0 {
                    Some(format!("the timestamp {} is negative", times_i64.value(row)))
                } else {
                    None
                };
                if let Some(reason) = invalid.filter(|_| !failed[row]) {
                    failed[row] = true;
                    dead_letters.push(DeadLetter::for_record(
                        &self.query_id,
                        ErrorKind::Processing,
                        format!("Failed to extract timestamp from row: {reason}"),
                        &records[origin[row]],
                    ));
                }
            }
            let rowtime_index = self.key_columns + self.value_columns;
            let mut columns = batch.columns().to_vec();
            columns[rowtime_index] = Arc::new(times_i64.iter().map(|t| Some(t.unwrap_or(0))).collect::<Int64Array>());
            batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        }

        let dropped = failed.iter().filter(|f| **f).count();
        if dropped > 0 {
            self.counters.dead_lettered += dropped as u64 - skipped_nulls;
            let keep = BooleanArray::from(failed.iter().map(|f| !f).collect::<Vec<_>>());
            batch = filter_record_batch(&batch, &keep)?;
            origin = origin
                .into_iter()
                .zip(failed.iter())
                .filter(|(_, f)| !**f)
                .map(|(i, _)| i)
                .collect();
        }
        Ok(SourceBatch { batch, origin })
    }
}

use datafusion::arrow::array::Array as _;
