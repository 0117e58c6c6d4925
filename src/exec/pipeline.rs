//! The per-batch work of a query: decode, filter, compute the result columns, encode.
//!
//! [`Pipeline`] is what a [`super::QueryTask`] drives. [`StatelessPipeline`] covers `WHERE`, projections, scalar
//! functions and `PARTITION BY`; every step works on a whole batch.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array};
use datafusion::arrow::compute::{cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_expr::PhysicalExpr;

use super::ExecError;
use super::dead_letter::{DeadLetter, ErrorKind};
use super::eval::{evaluate_isolating, evaluate_predicate};
use super::sink::{SinkEncoder, SinkRecord};
use super::source::{SourceCounters, SourceDecoder};
use crate::state::StateDelta;
pub use crate::state::ViewUpdate;
use crate::topics::ConsumedRecord;

/// What processing one batch produced.
#[derive(Debug, Default)]
pub struct PipelineOutput {
    pub records: Vec<SinkRecord>,
    pub dead_letters: Vec<DeadLetter>,
    /// Changes to the materialized view of the sink table (tables only), in order.
    pub view_updates: Vec<ViewUpdate>,
}

/// A compiled query's batch processing, independent of how records are fetched and written.
pub trait Pipeline: Send {
    /// Processes records of one source partition, in offset order.
    fn process(&mut self, records: &[ConsumedRecord], out: &mut PipelineOutput) -> Result<(), ExecError>;
    /// Records the source skipped or dead-lettered so far.
    fn source_counters(&self) -> SourceCounters;
    /// Keyed state changed since the last call, or all of it when `full` (a snapshot that replaces earlier
    /// state); written at the next checkpoint, atomically with the offsets.
    fn state_changes(&mut self, full: bool) -> StateDelta {
        let _ = full;
        StateDelta::default()
    }
    /// Emits output held back to coalesce updates (ksqlDB's record cache). The task calls it before every
    /// checkpoint, so what a checkpoint covers has been written.
    fn flush(&mut self, out: &mut PipelineOutput) -> Result<(), ExecError> {
        let _ = out;
        Ok(())
    }
    /// Whether output is held back, waiting for [`Pipeline::flush`].
    fn holds_output(&self) -> bool {
        false
    }
    /// Rebuilds in-memory state from the query's state tree (at start).
    fn restore(&mut self, entries: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), ExecError> {
        let _ = entries;
        Ok(())
    }
}

/// One result column: how to compute it from a source batch.
#[derive(Debug, Clone)]
pub struct OutputColumn {
    pub name: String,
    pub expr: Arc<dyn PhysicalExpr>,
    /// The type the sink declares; results are cast to it.
    pub data_type: DataType,
    /// The expression as written, for error messages.
    pub text: String,
}

/// Everything a stateless pipeline needs besides its codecs.
pub struct StatelessSpec {
    pub query_id: Arc<str>,
    pub filter: Option<(Arc<dyn PhysicalExpr>, String)>,
    /// Key columns first, then value columns, in the sink's order.
    pub columns: Vec<OutputColumn>,
    /// How many of `columns` are key columns.
    pub key_columns: usize,
    /// The result batch schema: `columns` then `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`.
    pub result_schema: SchemaRef,
    /// Index into `columns` of the sink's `TIMESTAMP` column, when declared.
    pub sink_timestamp: Option<usize>,
    /// The source is a table: deletes and rows that fail WHERE become tombstones instead of disappearing.
    pub table: bool,
}

/// A result batch and, for table queries, which rows are deletes.
pub struct Transformed {
    pub batch: RecordBatch,
    pub tombstones: Option<Vec<bool>>,
}

/// Decode + `WHERE` + projection (+ re-key): from consumed records to a result batch. Shared by persistent
/// queries (which encode the result to a sink) and push queries (which stream it to a client).
pub struct StatelessTransform {
    spec: StatelessSpec,
    source: SourceDecoder,
    null_keys: u64,
}

impl StatelessTransform {
    pub fn new(spec: StatelessSpec, source: SourceDecoder) -> Self {
        StatelessTransform {
            spec,
            source,
            null_keys: 0,
        }
    }

    /// The result batch schema: the output columns, then `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`.
    pub fn result_schema(&self) -> &SchemaRef {
        &self.spec.result_schema
    }

    pub fn source_counters(&self) -> SourceCounters {
        let mut c = self.source.counters;
        c.null_keys_skipped += self.null_keys;
        c
    }

    fn dead_letter(&self, kind: ErrorKind, message: String, record: &ConsumedRecord) -> DeadLetter {
        DeadLetter::for_record(&self.spec.query_id, kind, message, record)
    }

    /// Processes records of one partition; `None` when no row survives.
    pub fn apply(
        &mut self,
        records: &[ConsumedRecord],
        dead_letters: &mut Vec<DeadLetter>,
    ) -> Result<Option<Transformed>, ExecError> {
        let decoded = self.source.decode(records, dead_letters)?;
        let mut batch = decoded.batch;
        let mut origin = decoded.origin;
        if batch.num_rows() == 0 {
            return Ok(None);
        }
        // Tables: a delete, or a row that no longer passes WHERE, removes the key downstream.
        let mut tombstones: Option<Vec<bool>> = None;
        if self.spec.table && origin.iter().any(|&i| records[i].record.key.is_none()) {
            // A table row needs a key: records without one are skipped (and counted).
            let keep: Vec<bool> = origin.iter().map(|&i| records[i].record.key.is_some()).collect();
            self.null_keys += keep.iter().filter(|k| !**k).count() as u64;
            batch = filter_record_batch(&batch, &BooleanArray::from(keep.clone()))?;
            origin = origin
                .into_iter()
                .zip(keep)
                .filter(|(_, k)| *k)
                .map(|(i, _)| i)
                .collect();
            if batch.num_rows() == 0 {
                return Ok(None);
            }
        }
        if self.spec.table {
            let mut flags: Vec<bool> = origin.iter().map(|&i| records[i].record.value.is_none()).collect();
            if let Some((filter, text)) = &self.spec.filter {
                let (mask, failures) = evaluate_predicate(filter.as_ref(), &batch);
                for f in failures {
                    let dl = self.dead_letter(
                        ErrorKind::Processing,
                        format!("Error evaluating predicate {text}: {}", f.message),
                        &records[origin[f.row]],
                    );
                    dead_letters.push(dl);
                }
                for (flag, pass) in flags.iter_mut().zip(mask.iter()) {
                    *flag |= !pass.unwrap_or(false);
                }
            }
            tombstones = Some(flags);
        } else if let Some((filter, text)) = &self.spec.filter {
            let (mask, failures) = evaluate_predicate(filter.as_ref(), &batch);
            for f in failures {
                let dl = self.dead_letter(
                    ErrorKind::Processing,
                    format!("Error evaluating predicate {text}: {}", f.message),
                    &records[origin[f.row]],
                );
                dead_letters.push(dl);
            }
            if mask.true_count() < batch.num_rows() {
                batch = filter_record_batch(&batch, &mask)?;
                origin = origin
                    .into_iter()
                    .zip(mask.iter())
                    .filter(|(_, keep)| keep.unwrap_or(false))
                    .map(|(i, _)| i)
                    .collect();
            }
            if batch.num_rows() == 0 {
                return Ok(None);
            }
        }

        let rows = batch.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.spec.columns.len() + 3);
        for (index, col) in self.spec.columns.iter().enumerate() {
            let (array, failures) = evaluate_isolating(col.expr.as_ref(), &batch, &col.data_type);
            for f in failures {
                // ksqlDB keeps the row with a null in this column and logs the error.
                let dl = self.dead_letter(
                    ErrorKind::Processing,
                    format!(
                        "Error computing expression {} for column {} with index {index}: {}",
                        col.text, col.name, f.message
                    ),
                    &records[origin[f.row]],
                );
                dead_letters.push(dl);
            }
            let array = if array.data_type() == &col.data_type {
                array
            } else {
                cast(&array, &col.data_type)?
            };
            columns.push(array);
        }
        let declared = columns.len();
        // ROWTIME, ROWPARTITION, ROWOFFSET of the input row (the source batch's last three columns).
        let n = batch.num_columns();
        columns.extend_from_slice(&batch.columns()[n - 3..]);

        let mut keep: Option<Vec<bool>> = None;
        if let Some(ts_index) = self.spec.sink_timestamp {
            let ts = cast(&columns[ts_index], &DataType::Int64)?;
            let ts = ts
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| ExecError::Internal("sink timestamp is not BIGINT".into()))?;
            let mut flags = vec![true; rows];
            for (row, flag) in flags.iter_mut().enumerate() {
                if ts.is_null(row) || ts.value(row) < 0 {
                    *flag = false;
                    let shown = if ts.is_null(row) {
                        "null".to_string()
                    } else {
                        ts.value(row).to_string()
                    };
                    let dl = self.dead_letter(
                        ErrorKind::Processing,
                        format!(
                            "Failed to extract timestamp from row: column {} is {shown}",
                            self.spec.columns[ts_index].name
                        ),
                        &records[origin[row]],
                    );
                    dead_letters.push(dl);
                }
            }
            columns[declared] = Arc::new(ts.iter().map(|t| Some(t.unwrap_or(0))).collect::<Int64Array>());
            keep = Some(flags);
        }

        let mut result = RecordBatch::try_new(self.spec.result_schema.clone(), columns)?;
        if let Some(flags) = keep {
            if let Some(t) = tombstones.as_mut() {
                *t = t.iter().zip(&flags).filter(|(_, k)| **k).map(|(t, _)| *t).collect();
            }
            result = filter_record_batch(&result, &BooleanArray::from(flags))?;
        }
        Ok((result.num_rows() > 0).then_some(Transformed {
            batch: result,
            tombstones,
        }))
    }
}

/// A persistent stateless query: the transform, then the sink encoder.
pub struct StatelessPipeline {
    transform: StatelessTransform,
    sink: SinkEncoder,
    /// The sink is a table: its records also update its materialized view.
    table_sink: bool,
    /// Windowed table sources: output keys get the input record's window bounds back.
    key_suffix: usize,
}

impl StatelessPipeline {
    pub fn new(spec: StatelessSpec, source: SourceDecoder, sink: SinkEncoder, table_sink: bool) -> Self {
        StatelessPipeline {
            transform: StatelessTransform::new(spec, source),
            sink,
            table_sink,
            key_suffix: 0,
        }
    }

    /// The source is a windowed table whose keys end with `bytes` of window bounds; the sink keeps them.
    pub fn with_key_suffix(mut self, bytes: usize) -> Self {
        self.key_suffix = bytes;
        self
    }
}

impl Pipeline for StatelessPipeline {
    fn process(&mut self, records: &[ConsumedRecord], out: &mut PipelineOutput) -> Result<(), ExecError> {
        if let Some(result) = self.transform.apply(records, &mut out.dead_letters)? {
            let mut encoded =
                self.sink
                    .encode_with_tombstones(&result.batch, result.tombstones.as_deref(), &mut out.dead_letters)?;
            if self.key_suffix > 0 {
                for r in &mut encoded {
                    let window = records
                        .binary_search_by_key(&r.source_offset, |c| c.offset)
                        .ok()
                        .and_then(|i| records[i].record.key.as_ref())
                        .and_then(|k| k.get(k.len().saturating_sub(self.key_suffix)..));
                    if let (Some(key), Some(window)) = (&r.record.key, window) {
                        let mut full = key.to_vec();
                        full.extend_from_slice(window);
                        r.record.key = Some(bytes::Bytes::from(full));
                    }
                }
            }
            if self.table_sink {
                out.view_updates.extend(encoded.iter().filter_map(|r| {
                    Some(ViewUpdate {
                        key: r.record.key.as_ref()?.to_vec(),
                        value: r.record.value.clone().map(|v| (r.record.timestamp, v)),
                    })
                }));
            }
            out.records.extend(encoded);
        }
        Ok(())
    }

    fn source_counters(&self) -> SourceCounters {
        self.transform.source_counters()
    }
}
