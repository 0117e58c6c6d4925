//! Materialized views: the latest record of every key of a table, in a sled tree, readable by serving code while
//! the query that maintains it runs.
//!
//! Updates reach the tree only at checkpoints (atomically with the offsets that produced them); between
//! checkpoints they sit in an in-memory overlay that readers consult first, so a pull query sees every update
//! as soon as the query has processed it.
//!
//! The overlay has two layers so a checkpoint never copies it: `active` takes new updates; a checkpoint moves it,
//! whole, to `committing` ([`MaterializedView::begin_commit`]) while a writer thread puts those rows in the
//! tree; [`MaterializedView::end_commit`] drops that layer once they are durable. Readers look at `active`,
//! then `committing`, then the tree.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;

use super::pending_rows::PendingRows;

/// An upsert (`Some((timestamp, value))`) or delete (`None`) of one key of a materialized view. Keys and
/// values are the bytes of the table's records (windowed keys include their window).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewUpdate {
    pub key: Vec<u8>,
    pub value: Option<(i64, Bytes)>,
}

/// A view change as readers get it: the new (timestamp, value), or `None` for a delete.
type PendingValue = Option<(i64, Bytes)>;

/// View changes not yet in the tree, by view key.
pub type ViewChanges = PendingRows;

#[derive(Default)]
struct Overlay {
    active: ViewChanges,
    committing: Arc<ViewChanges>,
}

/// One table's materialized rows.
pub struct MaterializedView {
    tree: sled::Tree,
    pending: RwLock<Overlay>,
}

/// A row of a view: its key bytes, record timestamp and value bytes (in the table's formats).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewRow {
    pub key: Vec<u8>,
    pub timestamp: i64,
    pub value: Bytes,
}

/// The sled tree name of a table's view.
pub fn view_tree_name(table: &str) -> String {
    format!("view/{table}")
}

fn encode_value(timestamp: i64, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + value.len());
    v.extend_from_slice(&timestamp.to_be_bytes());
    v.extend_from_slice(value);
    v
}

fn decode_value(bytes: &[u8]) -> Option<(i64, Bytes)> {
    let (ts, value) = bytes.split_at_checked(8)?;
    Some((i64::from_be_bytes(ts.try_into().ok()?), Bytes::copy_from_slice(value)))
}

impl MaterializedView {
    pub fn open(db: &sled::Db, table: &str) -> Result<Self, sled::Error> {
        Ok(MaterializedView {
            tree: db.open_tree(view_tree_name(table))?,
            pending: RwLock::new(Overlay::default()),
        })
    }

    pub fn tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// Makes updates visible to readers (before they are durable).
    pub fn apply(&self, updates: &[ViewUpdate]) {
        if updates.is_empty() {
            return;
        }
        self.pending.write().active.extend(
            updates
                .iter()
                .map(|u| (u.key.as_slice(), u.value.as_ref().map(|(ts, v)| (*ts, v.as_ref())))),
        );
    }

    /// Starts a checkpoint: the updates so far become the layer being committed (on top of a layer whose
    /// commit failed, if any) and are returned for the writer. Call [`MaterializedView::end_commit`] after.
    pub fn begin_commit(&self) -> Arc<ViewChanges> {
        let mut pending = self.pending.write();
        let active = std::mem::take(&mut pending.active);
        if pending.committing.is_empty() {
            pending.committing = Arc::new(active);
        } else {
            // A failed commit left its rows here: retry them with the newer updates on top.
            let mut merged = (*pending.committing).clone();
            merged.absorb(&active);
            pending.committing = Arc::new(merged);
        }
        pending.committing.clone()
    }

    /// Ends a checkpoint: once durable, the committed layer is dropped (the tree has its rows); after a failure
    /// it stays, visible to readers, and the next checkpoint writes it again.
    pub fn end_commit(&self, durable: bool) {
        if durable {
            self.pending.write().committing = Arc::default();
        }
    }

    /// Writes `changes` to the tree, one insert each: sled batches keep kilobytes of memory per entry (see
    /// `state::delta`), and these writes need no atomicity of their own (see `state::checkpoint`).
    pub fn write(&self, changes: &ViewChanges) -> Result<(), sled::Error> {
        for (k, v) in changes.iter() {
            match v {
                Some((ts, value)) => self.tree.insert(k, encode_value(ts, value))?,
                None => self.tree.remove(k)?,
            };
        }
        Ok(())
    }

    /// The pending value of `key`, newest layer first.
    fn pending_value(&self, key: &[u8]) -> Option<PendingValue> {
        let pending = self.pending.read();
        let value = pending.active.get(key).or_else(|| pending.committing.get(key))?;
        Some(value.map(|(ts, v)| (ts, Bytes::copy_from_slice(v))))
    }

    /// Overlays the pending rows within `bounds` on `rows`, older layer first.
    fn overlay_range(&self, rows: &mut BTreeMap<Vec<u8>, PendingValue>, bounds: (Bound<Vec<u8>>, Bound<Vec<u8>>)) {
        let pending = self.pending.read();
        let lower = bounds.0.as_ref().map(Vec::as_slice);
        let upper = bounds.1.as_ref().map(Vec::as_slice);
        for layer in [&*pending.committing, &pending.active] {
            for (k, v) in layer.range((lower, upper)) {
                rows.insert(k.to_vec(), v.map(|(ts, v)| (ts, Bytes::copy_from_slice(v))));
            }
        }
    }

    /// The row of one key.
    pub fn get(&self, key: &[u8]) -> Result<Option<ViewRow>, sled::Error> {
        if let Some(v) = self.pending_value(key) {
            return Ok(v.map(|(timestamp, value)| ViewRow {
                key: key.to_vec(),
                timestamp,
                value,
            }));
        }
        Ok(self
            .tree
            .get(key)?
            .and_then(|v| decode_value(&v))
            .map(|(timestamp, value)| ViewRow {
                key: key.to_vec(),
                timestamp,
                value,
            }))
    }

    /// Every row whose key starts with `prefix` (all rows for an empty prefix), in key order.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<ViewRow>, sled::Error> {
        let mut rows: BTreeMap<Vec<u8>, Option<(i64, Bytes)>> = BTreeMap::new();
        for item in self.tree.scan_prefix(prefix) {
            let (k, v) = item?;
            rows.insert(k.to_vec(), decode_value(&v));
        }
        let mut pending = BTreeMap::new();
        self.overlay_range(&mut pending, (Bound::Included(prefix.to_vec()), Bound::Unbounded));
        rows.extend(pending.into_iter().take_while(|(k, _)| k.starts_with(prefix)));
        Ok(rows
            .into_iter()
            .filter_map(|(key, v)| v.map(|(timestamp, value)| ViewRow { key, timestamp, value }))
            .collect())
    }

    /// Every row whose key lies within the bounds, in key order.
    pub fn scan_range(&self, lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> Result<Vec<ViewRow>, sled::Error> {
        let owned = |b: Bound<&[u8]>| b.map(<[u8]>::to_vec);
        let bounds = (owned(lower), owned(upper));
        // An empty range (BTreeMap::range panics on one).
        let empty = match &bounds {
            (Bound::Included(l), Bound::Included(u)) => l > u,
            (Bound::Included(l) | Bound::Excluded(l), Bound::Included(u) | Bound::Excluded(u)) => l >= u,
            _ => false,
        };
        if empty {
            return Ok(vec![]);
        }
        let mut rows: BTreeMap<Vec<u8>, Option<(i64, Bytes)>> = BTreeMap::new();
        for item in self.tree.range(bounds.clone()) {
            let (k, v) = item?;
            rows.insert(k.to_vec(), decode_value(&v));
        }
        self.overlay_range(&mut rows, bounds);
        Ok(rows
            .into_iter()
            .filter_map(|(key, v)| v.map(|(timestamp, value)| ViewRow { key, timestamp, value }))
            .collect())
    }

    /// Number of rows (approximate while updates are pending).
    pub fn len(&self) -> usize {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_scans_merge_the_overlay_and_accept_empty_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let view = MaterializedView::open(&db, "T").unwrap();
        let put = |k: &[u8], v: Option<&'static [u8]>| ViewUpdate {
            key: k.to_vec(),
            value: v.map(|v| (1, Bytes::from_static(v))),
        };
        view.apply(&[put(b"a", Some(b"1")), put(b"b", Some(b"2")), put(b"c", Some(b"3"))]);
        let changes = view.begin_commit();
        view.write(&changes).unwrap();
        view.end_commit(true);
        view.apply(&[put(b"b", None), put(b"d", Some(b"4"))]);
        let keys = |l: Bound<&[u8]>, u: Bound<&[u8]>| -> Vec<Vec<u8>> {
            view.scan_range(l, u).unwrap().into_iter().map(|r| r.key).collect()
        };
        assert_eq!(
            keys(Bound::Excluded(b"a"), Bound::Unbounded),
            vec![b"c".to_vec(), b"d".to_vec()]
        );
        assert_eq!(
            keys(Bound::Unbounded, Bound::Included(b"c")),
            vec![b"a".to_vec(), b"c".to_vec()]
        );
        assert!(keys(Bound::Excluded(b"c"), Bound::Excluded(b"c")).is_empty());
        assert!(keys(Bound::Included(b"d"), Bound::Included(b"a")).is_empty());
    }

    #[test]
    fn overlay_then_commit() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let view = MaterializedView::open(&db, "T").unwrap();
        view.apply(&[
            ViewUpdate {
                key: b"a".to_vec(),
                value: Some((1, Bytes::from_static(b"x"))),
            },
            ViewUpdate {
                key: b"b".to_vec(),
                value: Some((2, Bytes::from_static(b"y"))),
            },
        ]);
        assert_eq!(view.get(b"a").unwrap().unwrap().value, Bytes::from_static(b"x"));
        let changes = view.begin_commit();
        view.write(&changes).unwrap();
        view.end_commit(true);
        view.apply(&[ViewUpdate {
            key: b"a".to_vec(),
            value: None,
        }]);
        assert!(
            view.get(b"a").unwrap().is_none(),
            "a pending delete hides the committed row"
        );
        let rows = view.scan_prefix(b"").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].key, b"b");
        assert_eq!(rows[0].timestamp, 2);
    }
}
