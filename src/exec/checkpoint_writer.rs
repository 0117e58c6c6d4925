//! [`CheckpointWriter`]: makes a query's checkpoints durable on a background thread.
//!
//! A checkpoint's snapshot (source offsets, sink end offsets, changed keyed state, the view's pending rows) is
//! taken on the query thread in a few milliseconds; writing it to sled costs tens of microseconds per changed
//! entry (DESIGN.md §8), which on the query thread stalled a windowed aggregation for most of its time. The
//! writer does that part while the query goes on. At most one write is in flight per query: the next checkpoint
//! waits for it, which is the back-pressure when the store is slower than the query.
//!
//! Nothing becomes visible as "committed" before it is durable: the view drops its committing layer, and the
//! Kafka consumer group moves, only after the sled transaction is flushed. A failed write hands its keyed state
//! back, so the next checkpoint writes it again.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::ExecError;
use crate::state::{Checkpoint, CheckpointStore, MaterializedView, StateDelta, ViewChanges};
use crate::topics::TopicStore;

/// Keyed-state changes not yet durable: a delta, or a full snapshot (which replaces all earlier state).
#[derive(Debug, Default)]
pub struct UnsavedState {
    pub delta: StateDelta,
    pub full: bool,
}

impl UnsavedState {
    /// Adds newer changes after these; a newer full snapshot replaces them.
    pub fn push(&mut self, newer: StateDelta, full: bool) {
        if full {
            self.delta = newer;
            self.full = true;
        } else {
            self.delta.extend(newer);
        }
    }
}

/// One checkpoint to make durable.
pub struct CheckpointJob {
    pub checkpoint: Checkpoint,
    /// Keyed-state changes since the last durable checkpoint.
    pub state: UnsavedState,
    /// The view and the rows of its committing layer.
    pub view: Option<(Arc<MaterializedView>, Arc<ViewChanges>)>,
    /// The consumer group to advance to the checkpoint's source offsets once it is durable.
    pub consumer_group: String,
}

/// A failed write: the error, and the keyed-state changes it did not make durable.
pub type FailedWrite = (ExecError, UnsavedState);

/// Writes one query's checkpoints, one at a time, off the query thread.
pub struct CheckpointWriter {
    query: Arc<str>,
    store: Arc<dyn TopicStore>,
    checkpoints: CheckpointStore,
    in_flight: Option<JoinHandle<Result<(), FailedWrite>>>,
}

impl CheckpointWriter {
    pub fn new(query: Arc<str>, store: Arc<dyn TopicStore>, checkpoints: CheckpointStore) -> Self {
        CheckpointWriter {
            query,
            store,
            checkpoints,
            in_flight: None,
        }
    }

    /// Starts writing `job` in the background. The caller must have waited for the previous write
    /// ([`CheckpointWriter::wait`]); if it has not, this waits here.
    pub fn submit(&mut self, job: CheckpointJob) -> Result<(), FailedWrite> {
        self.wait()?;
        let query = self.query.clone();
        let store = self.store.clone();
        let checkpoints = self.checkpoints.clone();
        let name: String = format!("ckpt-{query}").chars().take(15).collect();
        let spawned = std::thread::Builder::new()
            .name(name)
            .spawn(move || write(&query, store.as_ref(), &checkpoints, job));
        match spawned {
            Ok(handle) => {
                self.in_flight = Some(handle);
                Ok(())
            }
            Err(e) => Err((
                ExecError::Internal(format!("cannot start the checkpoint writer: {e}")),
                UnsavedState::default(),
            )),
        }
    }

    /// Waits for the write in flight, if any, and returns how it ended.
    pub fn wait(&mut self) -> Result<(), FailedWrite> {
        let Some(handle) = self.in_flight.take() else {
            return Ok(());
        };
        match handle.join() {
            Ok(result) => result,
            Err(_) => Err((
                ExecError::Internal("the checkpoint writer panicked".into()),
                UnsavedState::default(),
            )),
        }
    }

    /// Whether a write is in flight.
    pub fn busy(&self) -> bool {
        self.in_flight.as_ref().is_some_and(|h| !h.is_finished())
    }
}

fn write(
    query: &str,
    store: &dyn TopicStore,
    checkpoints: &CheckpointStore,
    job: CheckpointJob,
) -> Result<(), FailedWrite> {
    let started = Instant::now();
    let CheckpointJob {
        checkpoint,
        state,
        view,
        consumer_group,
    } = job;
    // The sink records the checkpoint counts as written must be durable before the checkpoint is.
    if let Err(e) = store.flush() {
        return Err((e.into(), state));
    }
    let committed = checkpoints.commit_all(
        query,
        &checkpoint,
        &state.delta,
        state.full,
        view.as_ref().map(|(view, changes)| (view.as_ref(), changes.as_ref())),
    );
    if let Some((view, _)) = &view {
        view.end_commit(committed.is_ok());
    }
    if let Err(e) = committed {
        return Err((e.into(), state));
    }
    tracing::debug!(
        query,
        changes = state.delta.len(),
        state_bytes = state.delta.bytes(),
        snapshot = state.full,
        view_rows = view.as_ref().map_or(0, |(_, c)| c.len()),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "checkpoint written"
    );
    // Only after the checkpoint: the consumer group may never be ahead of what the query has made durable.
    let offsets: Vec<(String, u32, i64)> = checkpoint
        .source_offsets
        .iter()
        .map(|(tp, o)| (tp.topic.to_string(), tp.partition, *o))
        .collect();
    if let Err(e) = store.commit_offsets(&consumer_group, &offsets) {
        tracing::warn!(query, "could not commit consumer group offsets: {e}");
    }
    Ok(())
}
