//! Checkpointed query state in sled.
//!
//! A persistent query's progress — the next offset of every source partition it reads, and the end offsets of the
//! sink partitions at that moment — is written in **one atomic batch** per checkpoint, never per record
//! (DESIGN.md §8: a sled write costs ~25 µs). Later, keyed operator state joins the same batch, so state and offsets
//! can never disagree after a crash.

mod checkpoint;
mod views;

pub use checkpoint::{Checkpoint, CheckpointStore, PendingState, StateError, TopicPartition};
pub use views::{MaterializedView, ViewChanges, ViewRow, view_tree_name};
