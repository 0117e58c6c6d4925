//! Checkpointed query state in sled.
//!
//! A persistent query's progress — the next offset of every source partition it reads, the end offsets of the
//! sink partitions at that moment, and its keyed state — is committed atomically per checkpoint, never per record
//! (DESIGN.md §8: a sled write costs ~25 µs), so state and offsets can never disagree after a crash.

mod checkpoint;
mod delta;
mod pending_rows;
mod views;

pub use checkpoint::{Checkpoint, CheckpointStore, StateError, TopicPartition};
pub use delta::StateDelta;
pub use views::{MaterializedView, ViewChanges, ViewRow, ViewUpdate, view_tree_name};

/// Opens a sled database a test has just closed: sled's background flusher may hold the file lock a moment longer.
#[cfg(test)]
pub(crate) fn reopen_for_test(path: &std::path::Path) -> sled::Db {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match sled::open(path) {
            Ok(db) => return db,
            Err(e) if std::time::Instant::now() > deadline => panic!("reopen {}: {e}", path.display()),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}
