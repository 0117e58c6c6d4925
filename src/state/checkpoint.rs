//! [`CheckpointStore`]: source offsets and sink positions per query, committed atomically.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::views::{MaterializedView, ViewChanges, batch_of};

/// A keyed-state entry: key and value bytes.
pub type StateEntry = (Vec<u8>, Vec<u8>);

/// State changes not yet checkpointed, by state key: the new value, or `None` for a delete.
pub type PendingState = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Failure to read or write checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store error: {0}")]
    Store(#[from] sled::Error),
    #[error("corrupt checkpoint entry for query {query}: {message}")]
    Corrupt { query: String, message: String },
}

/// A topic partition, the unit of offsets.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: u32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<Arc<str>>, partition: u32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// What a query commits at one checkpoint.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoint {
    /// Next offset to read, per source partition.
    pub source_offsets: BTreeMap<TopicPartition, i64>,
    /// End offset of each sink partition when the checkpoint was taken. Records past these were written after the
    /// checkpoint; on recovery they are matched against re-produced output so nothing is written twice.
    pub sink_positions: BTreeMap<TopicPartition, i64>,
}

/// Checkpoints of all queries, in one sled tree.
#[derive(Clone)]
pub struct CheckpointStore {
    db: sled::Db,
    tree: sled::Tree,
}

const OFFSET_TAG: u8 = b'o';
const SINK_TAG: u8 = b's';

impl CheckpointStore {
    pub fn open(db: &sled::Db) -> Result<Self, StateError> {
        Ok(CheckpointStore {
            db: db.clone(),
            tree: db.open_tree("checkpoints")?,
        })
    }

    /// The last committed checkpoint of `query` (empty if it never committed).
    pub fn load(&self, query: &str) -> Result<Checkpoint, StateError> {
        let mut cp = Checkpoint::default();
        for item in self.tree.scan_prefix(query_prefix(query)) {
            let (k, v) = item?;
            let corrupt = |message: &str| StateError::Corrupt {
                query: query.to_string(),
                message: message.to_string(),
            };
            let rest = &k[query.len() + 1..];
            let (&tag, rest) = rest.split_first().ok_or_else(|| corrupt("empty key"))?;
            let tp = decode_tp(rest).ok_or_else(|| corrupt("bad topic partition"))?;
            let value = i64::from_be_bytes(v.as_ref().try_into().map_err(|_| corrupt("bad offset"))?);
            match tag {
                OFFSET_TAG => {
                    cp.source_offsets.insert(tp, value);
                }
                SINK_TAG => {
                    cp.sink_positions.insert(tp, value);
                }
                _ => return Err(corrupt("unknown entry kind")),
            }
        }
        Ok(cp)
    }

    /// Replaces `query`'s checkpoint atomically and makes it durable before returning.
    pub fn commit(&self, query: &str, cp: &Checkpoint) -> Result<(), StateError> {
        self.commit_all(query, cp, &BTreeMap::new(), None)
    }

    fn offsets_batch(&self, query: &str, cp: &Checkpoint) -> Result<sled::Batch, StateError> {
        let mut batch = sled::Batch::default();
        for item in self.tree.scan_prefix(query_prefix(query)).keys() {
            batch.remove(item?);
        }
        for (tp, off) in &cp.source_offsets {
            batch.insert(entry_key(query, OFFSET_TAG, tp), &off.to_be_bytes());
        }
        for (tp, off) in &cp.sink_positions {
            batch.insert(entry_key(query, SINK_TAG, tp), &off.to_be_bytes());
        }
        Ok(batch)
    }

    /// Commits, in one atomic sled transaction, a query's offsets, its keyed-state changes and the changes of
    /// the view it maintains — so after a crash they always agree — and makes them durable.
    pub fn commit_all(
        &self,
        query: &str,
        cp: &Checkpoint,
        state: &PendingState,
        view: Option<(&MaterializedView, &ViewChanges)>,
    ) -> Result<(), StateError> {
        use sled::Transactional;
        use sled::transaction::{ConflictableTransactionError, TransactionError};

        let offsets = self.offsets_batch(query, cp)?;
        let mut state_batch = sled::Batch::default();
        for (k, v) in state {
            match v {
                Some(v) => state_batch.insert(k.as_slice(), v.as_slice()),
                None => state_batch.remove(k.as_slice()),
            }
        }
        let state_tree = self.state_tree(query)?;
        let unwrap = |e: TransactionError<()>| match e {
            TransactionError::Storage(e) => StateError::Store(e),
            TransactionError::Abort(()) => StateError::Corrupt {
                query: query.to_string(),
                message: "checkpoint transaction aborted".into(),
            },
        };
        match view {
            Some((view, changes)) => {
                let view_batch = batch_of(changes);
                (&self.tree, &state_tree, view.tree())
                    .transaction(|(offsets_tx, state_tx, view_tx)| {
                        offsets_tx.apply_batch(&offsets)?;
                        state_tx.apply_batch(&state_batch)?;
                        view_tx.apply_batch(&view_batch)?;
                        Ok::<(), ConflictableTransactionError<()>>(())
                    })
                    .map_err(unwrap)?;
                self.db.flush()?;
            }
            None => {
                (&self.tree, &state_tree)
                    .transaction(|(offsets_tx, state_tx)| {
                        offsets_tx.apply_batch(&offsets)?;
                        state_tx.apply_batch(&state_batch)?;
                        Ok::<(), ConflictableTransactionError<()>>(())
                    })
                    .map_err(unwrap)?;
                self.db.flush()?;
            }
        }
        Ok(())
    }

    fn state_tree(&self, query: &str) -> Result<sled::Tree, StateError> {
        Ok(self.db.open_tree(format!("state/{query}"))?)
    }

    /// Every keyed-state entry of `query`, for restoring it.
    pub fn load_state(&self, query: &str) -> Result<Vec<StateEntry>, StateError> {
        self.state_tree(query)?
            .iter()
            .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(StateError::from))
            .collect()
    }

    /// Forgets a query's checkpoint and keyed state (after `TERMINATE`).
    pub fn remove(&self, query: &str) -> Result<(), StateError> {
        self.db.drop_tree(format!("state/{query}"))?;
        let mut batch = sled::Batch::default();
        for item in self.tree.scan_prefix(query_prefix(query)).keys() {
            batch.remove(item?);
        }
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }
}

fn query_prefix(query: &str) -> Vec<u8> {
    let mut k = query.as_bytes().to_vec();
    k.push(0);
    k
}

fn entry_key(query: &str, tag: u8, tp: &TopicPartition) -> Vec<u8> {
    let mut k = query_prefix(query);
    k.push(tag);
    k.extend_from_slice(&tp.partition.to_be_bytes());
    k.extend_from_slice(tp.topic.as_bytes());
    k
}

fn decode_tp(bytes: &[u8]) -> Option<TopicPartition> {
    let (p, topic) = bytes.split_at_checked(4)?;
    let partition = u32::from_be_bytes(p.try_into().ok()?);
    let topic = std::str::from_utf8(topic).ok()?;
    Some(TopicPartition::new(topic, partition))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            let store = CheckpointStore::open(&db).unwrap();
            let mut cp = Checkpoint::default();
            cp.source_offsets.insert(TopicPartition::new("a", 0), 10);
            cp.source_offsets.insert(TopicPartition::new("a", 1), 3);
            store.commit("Q1", &cp).unwrap();
            cp.source_offsets.remove(&TopicPartition::new("a", 1));
            cp.source_offsets.insert(TopicPartition::new("a", 0), 12);
            cp.sink_positions.insert(TopicPartition::new("out", 0), 7);
            store.commit("Q1", &cp).unwrap();
            // A query whose id is a prefix of another must not see its entries.
            store.commit("Q", &Checkpoint::default()).unwrap();
        }
        let db = sled::open(dir.path()).unwrap();
        let store = CheckpointStore::open(&db).unwrap();
        let cp = store.load("Q1").unwrap();
        assert_eq!(cp.source_offsets.len(), 1);
        assert_eq!(cp.source_offsets[&TopicPartition::new("a", 0)], 12);
        assert_eq!(cp.sink_positions[&TopicPartition::new("out", 0)], 7);
        assert!(store.load("Q").unwrap().source_offsets.is_empty());
        store.remove("Q1").unwrap();
        assert_eq!(store.load("Q1").unwrap(), Checkpoint::default());
    }
}
