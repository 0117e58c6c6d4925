//! Transient queries: `SELECT ... EMIT CHANGES` (push: follows new records until LIMIT, close, or disconnect) and
//! `SELECT ...` over a stream (a bounded scan of what is in the topic when the query starts).
//!
//! A transient query runs on its own thread and hands result batches to the client's connection through a
//! bounded channel: a slow client blocks the query (backpressure), it never buffers without bound.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use datafusion::arrow::record_batch::RecordBatch;
use tokio::sync::mpsc;

use super::ExecError;
use super::dead_letter::DeadLetter;
use super::pipeline::StatelessTransform;
use crate::state::TopicPartition;
use crate::topics::{Record, TopicStore};

/// What a transient query sends to its client.
#[derive(Debug)]
pub enum PushMessage {
    /// Result rows (the output columns only).
    Rows(RecordBatch),
    /// The query ended: `Limit Reached`, `Query Completed`, or an error message.
    End(PushEnd),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEnd {
    LimitReached,
    Completed,
    Error(String),
}

/// A transient query ready to run.
pub struct TransientQuery {
    pub id: Arc<str>,
    pub transform: StatelessTransform,
    pub store: Arc<dyn TopicStore>,
    pub dead_letter_topic: Arc<str>,
    /// Next offset per source partition.
    pub positions: BTreeMap<TopicPartition, i64>,
    /// For a bounded scan: stop at these offsets.
    pub end_offsets: Option<BTreeMap<TopicPartition, i64>>,
    pub limit: Option<u64>,
    /// How many output columns (the result batch also carries three pseudo-columns).
    pub output_columns: usize,
    pub batch_size: usize,
    pub clock: fn() -> i64,
}

impl TransientQuery {
    /// Runs until the limit, the end of a bounded scan, `stop`, or the receiver going away. Blocking.
    pub fn run(mut self, tx: mpsc::Sender<PushMessage>, stop: Arc<AtomicBool>) {
        let end = match self.run_inner(&tx, &stop) {
            Ok(end) => end,
            Err(e) => Some(PushEnd::Error(e.to_string())),
        };
        if let Some(end) = end {
            let _ = tx.blocking_send(PushMessage::End(end));
        }
    }

    /// `Ok(None)` means the client left or the query was closed: nobody to tell.
    fn run_inner(&mut self, tx: &mpsc::Sender<PushMessage>, stop: &AtomicBool) -> Result<Option<PushEnd>, ExecError> {
        let mut sent: u64 = 0;
        if self.limit == Some(0) {
            return Ok(Some(PushEnd::LimitReached));
        }
        loop {
            if stop.load(Ordering::SeqCst) || tx.is_closed() {
                return Ok(None);
            }
            let mut progressed = false;
            let partitions: Vec<(TopicPartition, i64)> = self.positions.iter().map(|(k, v)| (k.clone(), *v)).collect();
            for (tp, offset) in partitions {
                let max = match &self.end_offsets {
                    Some(ends) => {
                        let end = ends.get(&tp).copied().unwrap_or(offset);
                        if offset >= end {
                            continue;
                        }
                        ((end - offset) as usize).min(self.batch_size)
                    }
                    None => self.batch_size,
                };
                let records = self.store.read(&tp.topic, tp.partition, offset, max)?;
                let Some(last) = records.last() else { continue };
                self.positions.insert(tp.clone(), last.offset + 1);
                progressed = true;
                let mut dead_letters = Vec::new();
                let result = self.transform.apply(&records, &mut dead_letters)?;
                self.write_dead_letters(dead_letters);
                let Some(transformed) = result else { continue };
                // A push query over a table shows the changelog's rows; deletes have no columns to show.
                let batch = match &transformed.tombstones {
                    Some(t) if t.iter().any(|d| *d) => {
                        let keep =
                            datafusion::arrow::array::BooleanArray::from(t.iter().map(|d| !d).collect::<Vec<_>>());
                        datafusion::arrow::compute::filter_record_batch(&transformed.batch, &keep)?
                    }
                    _ => transformed.batch,
                };
                let mut rows = batch.project(&(0..self.output_columns).collect::<Vec<_>>())?;
                let mut done = false;
                if let Some(limit) = self.limit {
                    let left = (limit - sent) as usize;
                    if rows.num_rows() >= left {
                        rows = rows.slice(0, left);
                        done = true;
                    }
                }
                sent += rows.num_rows() as u64;
                if rows.num_rows() > 0 && tx.blocking_send(PushMessage::Rows(rows)).is_err() {
                    return Ok(None);
                }
                if done {
                    return Ok(Some(PushEnd::LimitReached));
                }
            }
            if !progressed {
                if self.end_offsets.is_some() {
                    return Ok(Some(PushEnd::Completed));
                }
                self.wait_for_data(stop);
            }
        }
    }

    fn wait_for_data(&self, stop: &AtomicBool) {
        let n = self.positions.len().max(1);
        let slice = Duration::from_millis((100 / n as u64).max(5));
        for (tp, offset) in &self.positions {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            if self.store.wait_for_data(&tp.topic, tp.partition, *offset, slice) {
                return;
            }
        }
    }

    fn write_dead_letters(&self, letters: Vec<DeadLetter>) {
        if letters.is_empty() {
            return;
        }
        let now = (self.clock)();
        let records: Vec<Record> = letters.iter().map(|d| d.to_record(now)).collect();
        if let Err(e) = self.store.append(&self.dead_letter_topic, 0, &records, None) {
            tracing::warn!(query = %self.id, "could not write {} dead letters: {e}", records.len());
        }
    }
}
