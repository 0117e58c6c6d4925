//! Bounded scans of a source's topic: every partition from its earliest offset up to the end offset it has when
//! the scan starts, decoded with the source's formats into batches laid out as
//! [`crate::types::LogicalSchema::source_batch_schema`] (declared columns, then `ROWTIME`, `ROWPARTITION`,
//! `ROWOFFSET`).
//!
//! A stream's scan is every record. A table's scan is the table's current state: the latest record per key, without
//! deleted keys (tombstones). Records that do not decode are skipped and counted; a pull scan does not write them to
//! the processing log again (the queries reading the topic already did, and repeated scans would repeat them).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::UInt32Array;
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_expr::PhysicalExpr;

use super::error::ServeError;
use crate::catalog::SourceDef;
use crate::exec::SourceDecoder;
use crate::plan::properties::format_options;
use crate::sql::ast::SourceKind;
use crate::topics::TopicStore;

/// What a scan reads and how to decode it.
#[derive(Clone)]
pub struct ScanSpec {
    pub source: SourceDef,
    /// Event time from a `TIMESTAMP` column, compiled against the source batch schema.
    pub timestamp: Option<Arc<dyn PhysicalExpr>>,
    /// Records read from a partition at once.
    pub batch_size: usize,
}

impl std::fmt::Debug for ScanSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanSpec")
            .field("source", &self.source.name)
            .field("topic", &self.source.topic)
            .finish()
    }
}

/// The rows a scan found.
pub struct ScanOutput {
    pub batches: Vec<RecordBatch>,
    /// Records that did not decode.
    pub skipped: u64,
}

/// Reads and decodes the source's topic. Blocking: call it from a blocking thread. `limit` stops a stream scan
/// early (a table needs every record to know which are current).
pub fn scan_source(store: &dyn TopicStore, spec: &ScanSpec, limit: Option<usize>) -> Result<ScanOutput, ServeError> {
    let def = &spec.source;
    let query_id: Arc<str> = Arc::from(format!("pull_{}", def.name).as_str());
    let key_format = format_options(&def.key_format).map_err(|e| ServeError::internal(e.to_string()))?;
    let value_format = format_options(&def.value_format).map_err(|e| ServeError::internal(e.to_string()))?;
    let mut decoder = SourceDecoder::new(
        query_id,
        def.kind,
        &def.schema,
        &key_format,
        &value_format,
        spec.timestamp.clone(),
    )?;
    let info = store
        .describe_topic(&def.topic)
        .map_err(|e| ServeError::internal(e.to_string()))?
        .ok_or_else(|| ServeError::internal(format!("the topic '{}' of {} does not exist", def.topic, def.name)))?;
    let limit = if def.kind == SourceKind::Stream { limit } else { None };
    let mut batches = Vec::new();
    let mut rows = 0usize;
    let mut skipped = 0u64;
    // Tables: (key bytes) -> (batch, row, deleted) of the latest record, in read order.
    let mut latest: HashMap<Option<Bytes>, (usize, usize, bool)> = HashMap::new();
    'partitions: for partition in 0..info.partitions {
        let offsets = store
            .offsets(&def.topic, partition)
            .map_err(|e| ServeError::internal(e.to_string()))?;
        let mut offset = offsets.earliest;
        while offset < offsets.end {
            let want = usize::try_from(offsets.end - offset)
                .unwrap_or(usize::MAX)
                .min(spec.batch_size.max(1));
            let records = store
                .read(&def.topic, partition, offset, want)
                .map_err(|e| ServeError::internal(e.to_string()))?;
            let Some(last) = records.last() else { break };
            offset = last.offset + 1;
            // Only records below the end offset seen at the start belong to this scan.
            let records: Vec<_> = records.into_iter().filter(|r| r.offset < offsets.end).collect();
            let mut dead = Vec::new();
            let decoded = decoder.decode(&records, &mut dead)?;
            skipped += dead.len() as u64;
            if decoded.batch.num_rows() == 0 {
                continue;
            }
            if def.kind == SourceKind::Table {
                let index = batches.len();
                for (row, origin) in decoded.origin.iter().enumerate() {
                    if let Some(r) = records.get(*origin) {
                        latest.insert(r.record.key.clone(), (index, row, r.record.value.is_none()));
                    }
                }
            }
            rows += decoded.batch.num_rows();
            batches.push(decoded.batch);
            if limit.is_some_and(|l| rows >= l) {
                break 'partitions;
            }
        }
    }
    if def.kind == SourceKind::Table {
        batches = current_rows(batches, latest)?;
    }
    Ok(ScanOutput { batches, skipped })
}

/// The rows of a table's changelog that are current: the latest per key, without deletes, in read order.
fn current_rows(
    batches: Vec<RecordBatch>,
    latest: HashMap<Option<Bytes>, (usize, usize, bool)>,
) -> Result<Vec<RecordBatch>, ServeError> {
    let Some(first) = batches.first() else {
        return Ok(batches);
    };
    let schema = first.schema();
    let mut starts = Vec::with_capacity(batches.len());
    let mut total = 0usize;
    for b in &batches {
        starts.push(total);
        total += b.num_rows();
    }
    let mut keep: Vec<u32> = latest
        .values()
        .filter(|(_, _, deleted)| !deleted)
        .filter_map(|(batch, row, _)| u32::try_from(starts.get(*batch)? + row).ok())
        .collect();
    keep.sort_unstable();
    let all = concat_batches(&schema, &batches).map_err(|e| ServeError::internal(e.to_string()))?;
    let taken = take_record_batch(&all, &UInt32Array::from(keep)).map_err(|e| ServeError::internal(e.to_string()))?;
    Ok(vec![taken])
}
