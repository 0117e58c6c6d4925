//! Checkpointed query state in sled.
//!
//! A persistent query's progress — the next offset of every source partition it reads, the end offsets of the
//! sink partitions at that moment, and its keyed state — is committed atomically per checkpoint, never per record
//! (DESIGN.md §8: a sled write costs ~25 µs), so state and offsets can never disagree after a crash.

mod checkpoint;
mod delta;
mod views;

pub use checkpoint::{Checkpoint, CheckpointStore, StateError, TopicPartition};
pub use delta::StateDelta;
pub use views::{MaterializedView, ViewChanges, ViewRow, ViewUpdate, view_tree_name};
