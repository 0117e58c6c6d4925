//! [`CheckpointStore`]: per query, source offsets, sink positions and keyed state, committed atomically.
//!
//! ## Layout
//! - Tree `checkpoints`, per query: source offsets, sink positions, and two markers, `head` (the sequence number
//!   of the last committed checkpoint) and `base` (the checkpoint holding the last full state snapshot). One
//!   `apply_batch` of these few keys is the commit point.
//! - Tree `statelog/<query>`: each checkpoint's [`StateDelta`] as chunks keyed by (sequence, part), written
//!   *before* the commit point. State is the chunks from `base` to `head`, applied in order; chunks outside that
//!   range belong to a checkpoint that never committed (or to an old snapshot) and are ignored, then removed.
//! - The view tree: a checkpoint's view rows are written before the commit point too, after an undo chunk with
//!   the rows they replace (tree `viewundo/<query>`). After a crash between the two,
//!   [`CheckpointStore::roll_back_view`] puts the old rows back, so the view matches the committed offsets.
//! - Tree `state/<query>`: per-entry state of older versions, read until the first snapshot replaces it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::delta::{Change, StateDelta, decode_chunk};
use super::views::{MaterializedView, ViewChanges};

/// A keyed-state entry: key and value bytes.
pub type StateEntry = (Vec<u8>, Vec<u8>);

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
const HEAD_TAG: u8 = b'h';
const BASE_TAG: u8 = b'b';

/// Where a query's state log stands: the last committed checkpoint and the one with the last full snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct LogBounds {
    head: Option<u64>,
    base: Option<u64>,
}

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
            if tag == HEAD_TAG || tag == BASE_TAG {
                continue;
            }
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
        self.commit_all(query, cp, &StateDelta::default(), false, None)
    }

    fn bounds(&self, query: &str) -> Result<LogBounds, StateError> {
        let read = |tag: u8| -> Result<Option<u64>, StateError> {
            let Some(v) = self.tree.get(marker_key(query, tag))? else {
                return Ok(None);
            };
            let bytes: [u8; 8] = v.as_ref().try_into().map_err(|_| StateError::Corrupt {
                query: query.to_string(),
                message: "bad state log marker".into(),
            })?;
            Ok(Some(u64::from_be_bytes(bytes)))
        };
        Ok(LogBounds {
            head: read(HEAD_TAG)?,
            base: read(BASE_TAG)?,
        })
    }

    fn commit_batch(&self, query: &str, cp: &Checkpoint, bounds: LogBounds) -> Result<sled::Batch, StateError> {
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
        for (tag, value) in [(HEAD_TAG, bounds.head), (BASE_TAG, bounds.base)] {
            if let Some(v) = value {
                batch.insert(marker_key(query, tag), &v.to_be_bytes());
            }
        }
        Ok(batch)
    }

    /// Commits a query's checkpoint: its view rows and state changes (`full`: a snapshot of all its state), then,
    /// in one atomic write, its offsets and the state log's new head. Durable when it returns. See the module
    /// docs for why the rows written before the commit point are safe after a crash.
    pub fn commit_all(
        &self,
        query: &str,
        cp: &Checkpoint,
        state: &StateDelta,
        full: bool,
        view: Option<(&MaterializedView, &ViewChanges)>,
    ) -> Result<(), StateError> {
        let bounds = self.bounds(query)?;
        let seq = bounds.head.map_or(0, |h| h + 1);
        let undo = self.undo_tree(query)?;
        if let Some((view, changes)) = view {
            // Undo chunks of committed checkpoints are no longer needed.
            for key in undo.range(..chunk_key(seq, 0)).keys() {
                undo.remove(key?)?;
            }
            let mut previous = StateDelta::default();
            for (key, _) in changes.iter() {
                match view.tree().get(key)? {
                    Some(old) => previous.put(key, &old),
                    None => previous.delete(key),
                }
            }
            for (part, chunk) in previous.chunks().iter().enumerate() {
                undo.insert(chunk_key(seq, part as u32), chunk.as_slice())?;
            }
            view.write(changes)?;
        }
        let log = self.log_tree(query)?;
        // Parts left by an attempt at this sequence number that never committed.
        for key in log.scan_prefix(seq.to_be_bytes()).keys() {
            log.remove(key?)?;
        }
        for (part, chunk) in state.chunks().iter().enumerate() {
            log.insert(chunk_key(seq, part as u32), chunk.as_slice())?;
        }
        let committed = LogBounds {
            head: Some(seq),
            base: if full { Some(seq) } else { bounds.base },
        };
        self.tree.apply_batch(self.commit_batch(query, cp, committed)?)?;
        self.db.flush()?;
        if full {
            // Older chunks are outside [base, head] now: restores ignore them, so removing them can wait.
            for key in log.range(..chunk_key(seq, 0)).keys() {
                log.remove(key?)?;
            }
            self.db.drop_tree(legacy_state_tree(query))?;
        }
        Ok(())
    }

    /// After a crash: puts back the view rows that a checkpoint which never committed had already overwritten.
    /// Call before the query that maintains `view` resumes.
    pub fn roll_back_view(&self, query: &str, view: &MaterializedView) -> Result<(), StateError> {
        let undo = self.undo_tree(query)?;
        if undo.is_empty() {
            return Ok(());
        }
        let uncommitted = self.bounds(query)?.head.map_or(0, |h| h + 1);
        let mut rolled_back = 0;
        for item in undo.range(chunk_key(uncommitted, 0)..) {
            let (_, chunk) = item?;
            let rows = decode_or_corrupt(query, &chunk, "view undo")?;
            for (key, old) in rows {
                match old {
                    Some(old) => view.tree().insert(key, old)?,
                    None => view.tree().remove(key)?,
                };
                rolled_back += 1;
            }
        }
        self.db.flush()?;
        undo.clear()?;
        if rolled_back > 0 {
            tracing::info!(
                query,
                rows = rolled_back,
                "view rows of an unfinished checkpoint rolled back"
            );
        }
        Ok(())
    }

    fn undo_tree(&self, query: &str) -> Result<sled::Tree, StateError> {
        Ok(self.db.open_tree(format!("viewundo/{query}"))?)
    }

    fn log_tree(&self, query: &str) -> Result<sled::Tree, StateError> {
        Ok(self.db.open_tree(format!("statelog/{query}"))?)
    }

    /// Every keyed-state entry of `query`, in key order, for restoring it.
    pub fn load_state(&self, query: &str) -> Result<Vec<StateEntry>, StateError> {
        let bounds = self.bounds(query)?;
        let mut state: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        if bounds.base.is_none() {
            for item in self.db.open_tree(legacy_state_tree(query))?.iter() {
                let (k, v) = item?;
                state.insert(k.to_vec(), v.to_vec());
            }
        }
        let Some(head) = bounds.head else {
            return Ok(state.into_iter().collect());
        };
        let from = chunk_key(bounds.base.unwrap_or(0), 0);
        for item in self.log_tree(query)?.range(from..=chunk_key(head, u32::MAX)) {
            let (_, chunk) = item?;
            let changes = decode_or_corrupt(query, &chunk, "state")?;
            for (k, v) in changes {
                match v {
                    Some(v) => state.insert(k.to_vec(), v.to_vec()),
                    None => state.remove(k),
                };
            }
        }
        Ok(state.into_iter().collect())
    }

    /// Forgets a query's checkpoint and keyed state (after `TERMINATE`).
    pub fn remove(&self, query: &str) -> Result<(), StateError> {
        self.db.drop_tree(legacy_state_tree(query))?;
        self.db.drop_tree(format!("statelog/{query}"))?;
        self.db.drop_tree(format!("viewundo/{query}"))?;
        let mut batch = sled::Batch::default();
        for item in self.tree.scan_prefix(query_prefix(query)).keys() {
            batch.remove(item?);
        }
        self.tree.apply_batch(batch)?;
        self.db.flush()?;
        Ok(())
    }
}

/// The changes in a stored chunk of `query`'s state log or view undo record (`what`).
fn decode_or_corrupt<'a>(query: &str, chunk: &'a [u8], what: &str) -> Result<Vec<Change<'a>>, StateError> {
    decode_chunk(chunk).ok_or_else(|| StateError::Corrupt {
        query: query.to_string(),
        message: format!("unreadable {what} chunk"),
    })
}

fn legacy_state_tree(query: &str) -> String {
    format!("state/{query}")
}

fn chunk_key(seq: u64, part: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&seq.to_be_bytes());
    k[8..].copy_from_slice(&part.to_be_bytes());
    k
}

fn marker_key(query: &str, tag: u8) -> Vec<u8> {
    let mut k = query_prefix(query);
    k.push(tag);
    k
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
    use crate::state::reopen_for_test as reopen;

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
        let db = reopen(dir.path());
        let store = CheckpointStore::open(&db).unwrap();
        let cp = store.load("Q1").unwrap();
        assert_eq!(cp.source_offsets.len(), 1);
        assert_eq!(cp.source_offsets[&TopicPartition::new("a", 0)], 12);
        assert_eq!(cp.sink_positions[&TopicPartition::new("out", 0)], 7);
        assert!(store.load("Q").unwrap().source_offsets.is_empty());
        store.remove("Q1").unwrap();
        assert_eq!(store.load("Q1").unwrap(), Checkpoint::default());
    }

    fn delta(changes: &[(&str, Option<&str>)]) -> StateDelta {
        let mut d = StateDelta::default();
        for (k, v) in changes {
            match v {
                Some(v) => d.put(k.as_bytes(), v.as_bytes()),
                None => d.delete(k.as_bytes()),
            }
        }
        d
    }

    fn state(store: &CheckpointStore, query: &str) -> Vec<(String, String)> {
        store
            .load_state(query)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn state_is_the_last_snapshot_plus_later_deltas_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let cp = Checkpoint::default();
        {
            let db = sled::open(dir.path()).unwrap();
            let store = CheckpointStore::open(&db).unwrap();
            store
                .commit_all("Q", &cp, &delta(&[("a", Some("1")), ("b", Some("1"))]), true, None)
                .unwrap();
            store
                .commit_all("Q", &cp, &delta(&[("a", Some("2")), ("c", Some("1"))]), false, None)
                .unwrap();
            store.commit_all("Q", &cp, &delta(&[("b", None)]), false, None).unwrap();
            assert_eq!(state(&store, "Q"), pairs(&[("a", "2"), ("c", "1")]));
            // A snapshot replaces everything before it, and the chunks before it go.
            store
                .commit_all("Q", &cp, &delta(&[("z", Some("9"))]), true, None)
                .unwrap();
            assert_eq!(store.log_tree("Q").unwrap().len(), 1);
        }
        let db = reopen(dir.path());
        let store = CheckpointStore::open(&db).unwrap();
        assert_eq!(state(&store, "Q"), pairs(&[("z", "9")]));
        assert!(store.load_state("other").unwrap().is_empty());
    }

    #[test]
    fn chunks_of_a_checkpoint_that_never_committed_are_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = CheckpointStore::open(&db).unwrap();
        let cp = Checkpoint::default();
        store
            .commit_all("Q", &cp, &delta(&[("a", Some("1"))]), true, None)
            .unwrap();
        // A crash after writing the next checkpoint's chunks (two parts) but before its commit point.
        let log = store.log_tree("Q").unwrap();
        log.insert(chunk_key(1, 0), delta(&[("a", Some("lost"))]).chunks()[0].as_slice())
            .unwrap();
        log.insert(chunk_key(1, 1), delta(&[("b", Some("lost"))]).chunks()[0].as_slice())
            .unwrap();
        assert_eq!(state(&store, "Q"), pairs(&[("a", "1")]));
        // The retry at the same sequence number writes one part; the stale second part must not come back.
        store
            .commit_all("Q", &cp, &delta(&[("c", Some("1"))]), false, None)
            .unwrap();
        assert_eq!(state(&store, "Q"), pairs(&[("a", "1"), ("c", "1")]));
    }

    #[test]
    fn per_entry_state_of_older_versions_is_read_until_the_first_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let legacy = db.open_tree(legacy_state_tree("Q")).unwrap();
        legacy.insert("a", "old").unwrap();
        legacy.insert("b", "old").unwrap();
        let store = CheckpointStore::open(&db).unwrap();
        let cp = Checkpoint::default();
        store
            .commit_all("Q", &cp, &delta(&[("b", Some("new"))]), false, None)
            .unwrap();
        assert_eq!(state(&store, "Q"), pairs(&[("a", "old"), ("b", "new")]));
        store
            .commit_all("Q", &cp, &delta(&[("c", Some("1"))]), true, None)
            .unwrap();
        assert_eq!(state(&store, "Q"), pairs(&[("c", "1")]));
        assert!(
            !db.tree_names()
                .iter()
                .any(|n| n.as_ref() == legacy_state_tree("Q").as_bytes())
        );
    }

    #[test]
    fn view_rows_of_an_unfinished_checkpoint_are_rolled_back() {
        use crate::state::ViewUpdate;
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let store = CheckpointStore::open(&db).unwrap();
        let view = MaterializedView::open(&db, "T").unwrap();
        let update = |k: &str, v: Option<&'static str>| ViewUpdate {
            key: k.as_bytes().to_vec(),
            value: v.map(|v| (1, bytes::Bytes::from_static(v.as_bytes()))),
        };
        let cp = Checkpoint::default();
        view.apply(&[update("a", Some("1")), update("b", Some("1"))]);
        let changes = view.begin_commit();
        store
            .commit_all("Q", &cp, &StateDelta::default(), true, Some((&view, &changes)))
            .unwrap();
        view.end_commit(true);
        // The next checkpoint writes its view rows, then the process dies before the commit point: simulate by
        // writing what commit_all writes before it, with the same undo record.
        view.apply(&[update("a", Some("2")), update("b", None), update("c", Some("1"))]);
        let changes = view.begin_commit();
        let mut previous = StateDelta::default();
        for (key, _) in changes.iter() {
            match view.tree().get(key).unwrap() {
                Some(old) => previous.put(key, &old),
                None => previous.delete(key),
            }
        }
        store
            .undo_tree("Q")
            .unwrap()
            .insert(chunk_key(1, 0), previous.chunks()[0].as_slice())
            .unwrap();
        view.write(&changes).unwrap();
        drop(view);
        let view = MaterializedView::open(&db, "T").unwrap();
        store.roll_back_view("Q", &view).unwrap();
        let rows: Vec<(Vec<u8>, bytes::Bytes)> = view
            .scan_prefix(b"")
            .unwrap()
            .into_iter()
            .map(|r| (r.key, r.value))
            .collect();
        assert_eq!(
            rows,
            vec![
                (b"a".to_vec(), bytes::Bytes::from_static(b"1")),
                (b"b".to_vec(), bytes::Bytes::from_static(b"1"))
            ]
        );
        // A committed checkpoint's undo record is never applied.
        view.apply(&[update("a", Some("3"))]);
        let changes = view.begin_commit();
        store
            .commit_all("Q", &cp, &StateDelta::default(), false, Some((&view, &changes)))
            .unwrap();
        view.end_commit(true);
        store.roll_back_view("Q", &view).unwrap();
        assert_eq!(view.get(b"a").unwrap().unwrap().value, bytes::Bytes::from_static(b"3"));
    }
}
