//! [`QueryTask`]: moves records from a query's source partitions through its pipeline to its sink, and
//! checkpoints its progress.
//!
//! ## Exactly once on the embedded log
//! Each batch a task appends carries metadata naming the query and the source offsets that produced it. A
//! checkpoint records the source offsets *and* the end offset of every partition the task writes to. After a crash
//! the task resumes from the checkpoint and re-processes what followed it; before writing, it reads the metadata of
//! the batches appended after the checkpoint and drops re-produced records it already wrote. So a `kill -9` at any
//! moment neither loses nor duplicates sink records. Stores without batch metadata (Kafka) give at-least-once.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::ExecError;
use super::checkpoint_writer::{CheckpointJob, CheckpointWriter, UnsavedState};
use super::dead_letter::{DeadLetter, ErrorKind};
use super::pipeline::{Pipeline, PipelineOutput};
use super::sink::SinkRecord;
use crate::state::{Checkpoint, CheckpointStore, MaterializedView, TopicPartition};
use crate::topics::{ConsumedRecord, Record, TopicError, TopicStore};

/// State-log deltas a query writes before a full snapshot is due, at least (see `QueryTask::checkpoint`).
const MIN_DELTA_BYTES: usize = 8 << 20;

/// Where a query without a checkpoint starts reading (`auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    Earliest,
    Latest,
}

/// Settings of one task.
#[derive(Clone)]
pub struct TaskConfig {
    /// The materialized view of the sink, when the sink is a table.
    pub view: Option<Arc<MaterializedView>>,
    pub batch_size: usize,
    pub commit_interval: Duration,
    pub start: StartPosition,
    /// Prefix of the query's consumer group.
    pub service_id: String,
}

/// Live counters of a query, shared with `SHOW QUERIES` / `DESCRIBE`.
#[derive(Debug, Default)]
pub struct QueryStats {
    pub records_in: AtomicU64,
    pub records_out: AtomicU64,
    pub dead_letters: AtomicU64,
    pub null_values_skipped: AtomicU64,
    pub duplicates_suppressed: AtomicU64,
    pub last_error: Mutex<Option<String>>,
    /// Next offset to read per source partition, for lag reporting.
    pub positions: Mutex<BTreeMap<TopicPartition, i64>>,
}

/// Batch metadata written with every append: who wrote it and which source offsets produced it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct BatchOrigin {
    /// Query id.
    q: String,
    /// Source topic, partition, and the highest source offset in the batch.
    s: Vec<(String, u32, i64)>,
}

/// A running persistent query's I/O loop.
pub struct QueryTask {
    id: Arc<str>,
    pipeline: Box<dyn Pipeline>,
    store: Arc<dyn TopicStore>,
    checkpoints: CheckpointStore,
    writer: CheckpointWriter,
    sink_topic: Arc<str>,
    dead_letter_topic: Arc<str>,
    positions: BTreeMap<TopicPartition, i64>,
    /// Per output partition, per source partition: the highest source offset already written after the last
    /// checkpoint (found at recovery). Re-produced records at or below it are dropped.
    already_written: HashMap<TopicPartition, HashMap<TopicPartition, i64>>,
    /// The sink positions of the checkpoint the task recovered from. While an output partition still has
    /// `already_written` floors, checkpoints keep its old position, so a second crash finds the same records again.
    recovered_sink_positions: BTreeMap<TopicPartition, i64>,
    config: TaskConfig,
    last_checkpoint: Instant,
    dirty: bool,
    stats: Arc<QueryStats>,
    /// Wall clock for the dead letters' `TIME` column; fixed in deterministic tests.
    clock: fn() -> i64,
    next_partition: usize,
    /// `<service_id>query_<QUERY_ID>`, as ksqlDB names a persistent query's consumer group.
    consumer_group: String,
    /// Keyed-state changes not yet handed to the writer (and those of a failed write, so none are lost).
    unsaved_state: UnsavedState,
    /// Whether this run has written a full state snapshot, the size of the last one, and the bytes of deltas
    /// written since: a new snapshot is due when the deltas outgrow it, which bounds the state log.
    snapshot_written: bool,
    snapshot_bytes: usize,
    delta_bytes: usize,
    /// Read positions advanced since they were last shown in `stats`.
    positions_unpublished: bool,
    /// The source batch (its first record) whose production error is already in the processing log.
    reported_production_error: Option<(TopicPartition, i64)>,
}

impl QueryTask {
    /// Opens a task: restores its checkpoint (or creates the first one) and recovers what it wrote after it.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        id: Arc<str>,
        pipeline: Box<dyn Pipeline>,
        store: Arc<dyn TopicStore>,
        checkpoints: CheckpointStore,
        source_topics: &[String],
        sink_topic: Arc<str>,
        dead_letter_topic: Arc<str>,
        config: TaskConfig,
        stats: Arc<QueryStats>,
        clock: fn() -> i64,
    ) -> Result<Self, ExecError> {
        let checkpoint = checkpoints.load(&id)?;
        if let Some(view) = &config.view {
            checkpoints.roll_back_view(&id, view)?;
        }
        let consumer_group = format!("{}query_{}", config.service_id, id);
        let writer = CheckpointWriter::new(id.clone(), store.clone(), checkpoints.clone());
        let mut task = QueryTask {
            id,
            pipeline,
            store,
            checkpoints,
            writer,
            sink_topic,
            dead_letter_topic,
            positions: BTreeMap::new(),
            already_written: HashMap::new(),
            recovered_sink_positions: BTreeMap::new(),
            config,
            last_checkpoint: Instant::now(),
            dirty: false,
            stats,
            clock,
            next_partition: 0,
            consumer_group,
            unsaved_state: UnsavedState::default(),
            snapshot_written: false,
            snapshot_bytes: 0,
            delta_bytes: 0,
            positions_unpublished: false,
            reported_production_error: None,
        };
        for topic in source_topics {
            let info = task
                .store
                .describe_topic(topic)?
                .ok_or_else(|| crate::topics::TopicError::UnknownTopic(topic.clone()))?;
            for p in 0..info.partitions {
                let tp = TopicPartition::new(topic.as_str(), p);
                let offsets = task.store.offsets(topic, p)?;
                let start = match checkpoint.source_offsets.get(&tp) {
                    Some(&o) => o.clamp(offsets.earliest, offsets.end),
                    None => match task.config.start {
                        StartPosition::Earliest => offsets.earliest,
                        StartPosition::Latest => offsets.end,
                    },
                };
                task.positions.insert(tp, start);
            }
        }
        *task.stats.positions.lock() = task.positions.clone();
        let state = task.checkpoints.load_state(&task.id)?;
        if !state.is_empty() {
            tracing::info!(query = %task.id, entries = state.len(), "restoring query state");
        }
        task.pipeline.restore(state)?;
        if checkpoint.source_offsets.is_empty() {
            // The first checkpoint pins "latest" to concrete offsets, so a crash before the next one cannot skip input.
            task.checkpoint_and_wait()?;
        } else {
            task.recover_written(&checkpoint)?;
        }
        Ok(task)
    }

    pub fn id(&self) -> &Arc<str> {
        &self.id
    }

    /// Reads what this task appended after `checkpoint`, so re-processing does not write it again.
    fn recover_written(&mut self, checkpoint: &Checkpoint) -> Result<(), ExecError> {
        for (out_tp, &from) in &checkpoint.sink_positions {
            let metas = match self.store.batch_metadata(&out_tp.topic, out_tp.partition, from) {
                Ok(m) => m,
                Err(crate::topics::TopicError::UnknownTopic(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            for (_, meta) in metas {
                let Ok(origin) = serde_json::from_slice::<BatchOrigin>(&meta) else {
                    continue;
                };
                if origin.q != *self.id {
                    continue;
                }
                let entry = self.already_written.entry(out_tp.clone()).or_default();
                for (topic, partition, offset) in origin.s {
                    let src = TopicPartition::new(topic.as_str(), partition);
                    let slot = entry.entry(src).or_insert(offset);
                    *slot = (*slot).max(offset);
                }
            }
        }
        for out_tp in self.already_written.keys() {
            if let Some(&position) = checkpoint.sink_positions.get(out_tp) {
                self.recovered_sink_positions.insert(out_tp.clone(), position);
            }
        }
        if !self.already_written.is_empty() {
            tracing::info!(query = %self.id, "resuming after a crash: output written after the last checkpoint will not be repeated");
        }
        Ok(())
    }

    /// Processes at most one batch from each source partition that has data. Returns how many records were read.
    pub fn step(&mut self) -> Result<usize, ExecError> {
        let partitions: Vec<(TopicPartition, i64)> = self.positions.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let mut total = 0;
        let mut caught_up = true;
        for (tp, offset) in partitions {
            let records = self
                .store
                .read(&tp.topic, tp.partition, offset, self.config.batch_size)?;
            caught_up &= records.len() < self.config.batch_size;
            let Some(last) = records.last() else { continue };
            let next = last.offset + 1;
            total += records.len();
            if let Err(e) = self.process_batch(&tp, &records) {
                self.report_production_error(&e, &records);
                return Err(e);
            }
            self.positions.insert(tp, next);
            self.dirty = true;
        }
        self.stats.records_in.fetch_add(total as u64, Ordering::Relaxed);
        if total > 0 && !self.already_written.is_empty() {
            self.forget_passed_floors();
        }
        // Held-back output waits for the checkpoint only while the query is behind: once it has read all there
        // is, it emits, so a reader who sees no lag also sees every result.
        if caught_up && self.pipeline.holds_output() {
            self.flush_pipeline()?;
        }
        self.positions_unpublished |= total > 0 || self.stats.positions.lock().is_empty();
        self.publish_positions();
        Ok(total)
    }

    fn process_batch(&mut self, tp: &TopicPartition, records: &[ConsumedRecord]) -> Result<(), ExecError> {
        let mut out = PipelineOutput::default();
        self.pipeline.process(records, &mut out)?;
        let counters = self.pipeline.source_counters();
        self.stats
            .null_values_skipped
            .store(counters.null_values_skipped, Ordering::Relaxed);
        self.write_records(tp, out.records)?;
        self.write_dead_letters(tp, out.dead_letters)?;
        if let Some(view) = &self.config.view {
            view.apply(&out.view_updates);
        }
        Ok(())
    }

    /// A sink append the cluster refused for good (after the producer's retries) is a production error: it goes
    /// to the processing log once per failing batch, and the error stops the task (the driver marks the query
    /// ERROR and retries the batch with backoff). Not deduplicated across restarts; best effort when the cluster
    /// that refused the records also refuses the processing log.
    fn report_production_error(&mut self, error: &ExecError, records: &[ConsumedRecord]) {
        let ExecError::Topic(TopicError::Delivery { .. }) = error else {
            return;
        };
        let Some(first) = records.first() else { return };
        let at = (TopicPartition::new(first.topic.clone(), first.partition), first.offset);
        if self.reported_production_error.as_ref() == Some(&at) {
            return;
        }
        self.reported_production_error = Some(at);
        let letter = DeadLetter::for_record(&self.id, ErrorKind::Production, error.to_string(), first);
        *self.stats.last_error.lock() = Some(letter.message.clone());
        tracing::error!(query = %self.id, "production error: {}", letter.message);
        match self
            .store
            .append(&self.dead_letter_topic, 0, &[letter.to_record((self.clock)())], None)
        {
            Ok(_) => {
                self.stats.dead_letters.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tracing::error!(query = %self.id, "cannot write the production error to the processing log: {e}"),
        }
    }

    fn write_records(&mut self, src: &TopicPartition, records: Vec<SinkRecord>) -> Result<(), ExecError> {
        if records.is_empty() {
            return Ok(());
        }
        let sink = self.sink_topic.clone();
        for (partition, records) in group_by_partition(records, |r| r.partition) {
            let rows: Vec<(Record, i64)> = records.into_iter().map(|r| (r.record, r.source_offset)).collect();
            let written = self.append_deduplicated(&sink, partition, src, rows)?;
            self.stats.records_out.fetch_add(written as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    fn write_dead_letters(&mut self, src: &TopicPartition, letters: Vec<DeadLetter>) -> Result<(), ExecError> {
        if letters.is_empty() {
            return Ok(());
        }
        let now = (self.clock)();
        for dl in &letters {
            tracing::debug!(query = %self.id, kind = dl.kind.as_str(), "dead letter: {}", dl.message);
        }
        let rows: Vec<(Record, i64)> = letters.iter().map(|d| (d.to_record(now), d.offset)).collect();
        let topic = self.dead_letter_topic.clone();
        let written = self.append_deduplicated(&topic, 0, src, rows)?;
        self.stats.dead_letters.fetch_add(written as u64, Ordering::Relaxed);
        if let Some(last) = letters.last() {
            *self.stats.last_error.lock() = Some(last.message.clone());
        }
        Ok(())
    }

    /// Appends `rows` (with their source offsets) as one batch, skipping rows written before a crash.
    fn append_deduplicated(
        &mut self,
        topic: &Arc<str>,
        partition: u32,
        src: &TopicPartition,
        rows: Vec<(Record, i64)>,
    ) -> Result<usize, ExecError> {
        let out_tp = TopicPartition::new(topic.clone(), partition);
        let floor = self.already_written.get(&out_tp).and_then(|m| m.get(src)).copied();
        let before = rows.len();
        let mut max_source_offset = -1;
        let records: Vec<Record> = rows
            .into_iter()
            .filter(|(_, offset)| floor.is_none_or(|f| *offset > f))
            .map(|(r, offset)| {
                max_source_offset = max_source_offset.max(offset);
                r
            })
            .collect();
        let suppressed = before - records.len();
        if suppressed > 0 {
            self.stats
                .duplicates_suppressed
                .fetch_add(suppressed as u64, Ordering::Relaxed);
        }
        if records.is_empty() {
            return Ok(0);
        }
        let meta = serde_json::to_vec(&BatchOrigin {
            q: self.id.to_string(),
            s: vec![(src.topic.to_string(), src.partition, max_source_offset)],
        })
        .map_err(|e| ExecError::Internal(e.to_string()))?;
        self.store.append(topic, partition, &records, Some(&meta))?;
        Ok(records.len())
    }

    /// Drops the duplicate floors every source partition has read past: no re-produced record can hit them now.
    fn forget_passed_floors(&mut self) {
        let positions = &self.positions;
        self.already_written.retain(|_, floors| {
            floors.retain(|src, floor| positions.get(src).is_none_or(|&next| next <= *floor));
            !floors.is_empty()
        });
        let written = &self.already_written;
        self.recovered_sink_positions
            .retain(|out_tp, _| written.contains_key(out_tp));
    }

    /// Checkpoints if the commit interval has passed since the last checkpoint and the previous checkpoint is
    /// durable (while it is still being written, the query goes on and checkpoints a little later).
    pub fn maybe_checkpoint(&mut self) -> Result<(), ExecError> {
        if self.dirty && self.last_checkpoint.elapsed() >= self.config.commit_interval && !self.writer.busy() {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Takes a checkpoint and hands it to the writer, which makes the output durable, then commits source
    /// offsets, sink positions, keyed state and view rows in one atomic write. Returns before it is durable
    /// (see [`QueryTask::checkpoint_and_wait`]); fails if the previous checkpoint could not be written.
    pub fn checkpoint(&mut self) -> Result<(), ExecError> {
        self.collect_write()?;
        self.flush_pipeline()?;
        let mut cp = Checkpoint {
            source_offsets: self.positions.clone(),
            sink_positions: BTreeMap::new(),
        };
        for topic in [self.sink_topic.clone(), self.dead_letter_topic.clone()] {
            if let Some(info) = self.store.describe_topic(&topic)? {
                for p in 0..info.partitions {
                    let tp = TopicPartition::new(topic.clone(), p);
                    let end = match self.recovered_sink_positions.get(&tp) {
                        Some(&recovered) => recovered,
                        None => self.store.offsets(&topic, p)?.end,
                    };
                    cp.sink_positions.insert(tp, end);
                }
            }
        }
        let full = !self.snapshot_written || self.delta_bytes > self.snapshot_bytes.max(MIN_DELTA_BYTES);
        let changes = self.pipeline.state_changes(full);
        self.unsaved_state.push(changes, full);
        if self.unsaved_state.full {
            self.snapshot_written = true;
            self.snapshot_bytes = self.unsaved_state.delta.bytes();
            self.delta_bytes = 0;
        } else {
            self.delta_bytes += self.unsaved_state.delta.bytes();
        }
        let job = CheckpointJob {
            checkpoint: cp,
            state: std::mem::take(&mut self.unsaved_state),
            view: self.config.view.as_ref().map(|v| (v.clone(), v.begin_commit())),
            consumer_group: self.consumer_group.clone(),
        };
        if let Err((e, state)) = self.writer.submit(job) {
            self.keep_unsaved(state);
            return Err(e);
        }
        self.last_checkpoint = Instant::now();
        self.dirty = false;
        Ok(())
    }

    /// Shows the read positions (and so the lag) to `SHOW QUERIES` and the REST status, but not while results of
    /// the records read are held back: no lag must mean every result is visible.
    fn publish_positions(&mut self) {
        if self.positions_unpublished && !self.pipeline.holds_output() {
            *self.stats.positions.lock() = self.positions.clone();
            self.positions_unpublished = false;
        }
    }

    /// Writes what the pipeline held back (coalesced aggregate updates), each record attributed to the source
    /// partition that last changed it.
    fn flush_pipeline(&mut self) -> Result<(), ExecError> {
        let mut out = PipelineOutput::default();
        self.pipeline.flush(&mut out)?;
        for (partition, batch) in group_by_partition(out.records, |r| r.source_partition) {
            let src = self.source_partition(partition);
            self.write_records(&src, batch)?;
        }
        for (partition, batch) in group_by_partition(out.dead_letters, |d| d.partition) {
            let src = self.source_partition(partition);
            self.write_dead_letters(&src, batch)?;
        }
        if let Some(view) = &self.config.view {
            view.apply(&out.view_updates);
        }
        self.publish_positions();
        Ok(())
    }

    /// The source topic partition numbered `partition` (queries that hold output back read one topic).
    fn source_partition(&self, partition: u32) -> TopicPartition {
        self.positions
            .keys()
            .find(|tp| tp.partition == partition)
            .cloned()
            .unwrap_or_else(|| TopicPartition::new(self.sink_topic.clone(), partition))
    }

    /// Checkpoints and waits until the checkpoint is durable (first checkpoint, stop, shutdown).
    pub fn checkpoint_and_wait(&mut self) -> Result<(), ExecError> {
        self.checkpoint()?;
        self.collect_write()
    }

    /// Waits for the checkpoint in flight. If it failed, its keyed state goes back to the unsaved changes
    /// (under anything newer) and the task stays dirty, so the next checkpoint writes it again.
    fn collect_write(&mut self) -> Result<(), ExecError> {
        match self.writer.wait() {
            Ok(()) => Ok(()),
            Err((e, state)) => {
                self.keep_unsaved(state);
                Err(e)
            }
        }
    }

    fn keep_unsaved(&mut self, mut failed: UnsavedState) {
        let newer = std::mem::take(&mut self.unsaved_state);
        failed.push(newer.delta, newer.full);
        self.unsaved_state = failed;
        self.dirty = true;
    }

    /// Blocks until one of the source partitions may have data, or `timeout` passes.
    pub fn wait_for_data(&mut self, timeout: Duration) {
        let n = self.positions.len();
        if n == 0 {
            std::thread::sleep(timeout);
            return;
        }
        // Wait on one partition at a time, rotating, so every partition is noticed within a few slices.
        let slice = (timeout / n as u32).max(Duration::from_millis(5)).min(timeout);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            let index = self.next_partition % n;
            self.next_partition = self.next_partition.wrapping_add(1);
            if let Some((tp, &offset)) = self.positions.iter().nth(index)
                && self.store.wait_for_data(&tp.topic, tp.partition, offset, slice)
            {
                return;
            }
        }
    }

    /// Current read positions (next offset per source partition).
    pub fn positions(&self) -> &BTreeMap<TopicPartition, i64> {
        &self.positions
    }

    pub fn stats(&self) -> &Arc<QueryStats> {
        &self.stats
    }
}

/// `items` grouped by partition, each group in its original order.
fn group_by_partition<T>(items: Vec<T>, partition: impl Fn(&T) -> u32) -> BTreeMap<u32, Vec<T>> {
    let mut groups: BTreeMap<u32, Vec<T>> = BTreeMap::new();
    for item in items {
        groups.entry(partition(&item)).or_default().push(item);
    }
    groups
}
