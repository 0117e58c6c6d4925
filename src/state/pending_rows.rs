//! View rows waiting for a checkpoint, packed for memory: every row is appended, encoded, to one byte arena, and
//! found through sorted runs of arena offsets (one run per batch of updates, merged as they accumulate, the way an
//! LSM tree merges its levels).
//!
//! A `BTreeMap<Vec<u8>, (i64, Bytes)>` cost ~200 bytes per row here (a heap key, a 32-byte `Bytes`, and B-tree
//! nodes left half full by keys that arrive in order); this costs the encoded row plus 8 bytes. Between two
//! checkpoints a million-key aggregation can hold a million pending rows, so this is the difference between
//! ~200 MB and ~70 MB.
//!
//! Runs are kept in the order they were written; within a run keys are unique and sorted. A newer run shadows an
//! older one. Merging two runs drops the rows the newer one shadows; their arena bytes become garbage, and the
//! arena is rewritten once garbage outweighs the live rows.

use std::cmp::Ordering;
use std::ops::Bound;

/// A pending view change: the new (timestamp, value), or `None` for a delete.
pub type PendingValue<'a> = Option<(i64, &'a [u8])>;

/// Rows are written at most this large in one arena before it is worth rewriting: below it, garbage is ignored.
const MIN_COMPACT_BYTES: usize = 4 << 20;

/// Marks a delete in a row's value length.
const DELETED: u32 = u32::MAX;

/// Pending rows of a view, newest value per key.
#[derive(Debug, Default, Clone)]
pub struct PendingRows {
    arena: Vec<u8>,
    /// Offsets of rows in `arena`; each run sorted by key with unique keys; later runs are newer.
    runs: Vec<Vec<u64>>,
    /// Arena bytes of rows no run refers to any more.
    garbage: usize,
}

/// One decoded arena row.
struct Row<'a> {
    key: &'a [u8],
    value: PendingValue<'a>,
    /// Encoded length in the arena.
    len: usize,
}

impl PendingRows {
    /// Adds a batch of changes; a later change of a key in `changes` wins over an earlier one.
    pub fn extend<'a, I>(&mut self, changes: I)
    where
        I: IntoIterator<Item = (&'a [u8], PendingValue<'a>)>,
    {
        let mut run: Vec<u64> = Vec::new();
        for (key, value) in changes {
            run.push(self.append(key, value));
        }
        if run.is_empty() {
            return;
        }
        // Sort by key, newest first among equal keys, then keep the first of each key.
        let arena = &self.arena;
        run.sort_by(|a, b| key_at(arena, *a).cmp(key_at(arena, *b)).then(b.cmp(a)));
        let mut dropped = 0;
        run.dedup_by(|later_in_order, kept| {
            let same = key_at(arena, *later_in_order) == key_at(arena, *kept);
            if same {
                dropped += row_at(arena, *later_in_order).len;
            }
            same
        });
        self.garbage += dropped;
        self.runs.push(run);
        while self.runs.len() >= 2 && self.runs[self.runs.len() - 1].len() * 2 >= self.runs[self.runs.len() - 2].len() {
            let newer = self.runs.pop().unwrap_or_default();
            let older = self.runs.pop().unwrap_or_default();
            let merged = self.merge(&older, &newer);
            self.runs.push(merged);
        }
        if self.garbage > MIN_COMPACT_BYTES && self.garbage * 2 > self.arena.len() {
            self.compact();
        }
    }

    /// Adds every row of `newer` on top of these.
    pub fn absorb(&mut self, newer: &PendingRows) {
        self.extend(newer.iter());
    }

    /// The newest pending value of `key`, if it has one (`Some(None)`: deleted).
    pub fn get(&self, key: &[u8]) -> Option<PendingValue<'_>> {
        for run in self.runs.iter().rev() {
            if let Ok(i) = run.binary_search_by(|&o| key_at(&self.arena, o).cmp(key)) {
                return Some(row_at(&self.arena, run[i]).value);
            }
        }
        None
    }

    /// Keys with pending changes. Walks every row (a merge of the runs): for logs and tests, not hot paths.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Every key's newest value, in key order.
    pub fn iter(&self) -> Merged<'_> {
        self.range((Bound::Unbounded, Bound::Unbounded))
    }

    /// The newest value of every key within `bounds`, in key order.
    pub fn range(&self, bounds: (Bound<&[u8]>, Bound<&[u8]>)) -> Merged<'_> {
        let (lower, upper) = bounds;
        let cursors = self
            .runs
            .iter()
            .map(|run| {
                let start = match lower {
                    Bound::Unbounded => 0,
                    Bound::Included(l) => run.partition_point(|&o| key_at(&self.arena, o) < l),
                    Bound::Excluded(l) => run.partition_point(|&o| key_at(&self.arena, o) <= l),
                };
                let end = match upper {
                    Bound::Unbounded => run.len(),
                    Bound::Included(u) => run.partition_point(|&o| key_at(&self.arena, o) <= u),
                    Bound::Excluded(u) => run.partition_point(|&o| key_at(&self.arena, o) < u),
                };
                (&run[..end.max(start)], start)
            })
            .collect();
        Merged {
            arena: &self.arena,
            cursors,
        }
    }

    /// Approximate heap bytes held.
    pub fn memory_size(&self) -> usize {
        self.arena.capacity() + self.runs.iter().map(|r| r.capacity() * 8).sum::<usize>()
    }

    fn append(&mut self, key: &[u8], value: PendingValue<'_>) -> u64 {
        let offset = self.arena.len() as u64;
        self.arena.extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.arena.extend_from_slice(key);
        match value {
            Some((ts, v)) => {
                self.arena.extend_from_slice(&ts.to_le_bytes());
                self.arena.extend_from_slice(&(v.len() as u32).to_le_bytes());
                self.arena.extend_from_slice(v);
            }
            None => {
                self.arena.extend_from_slice(&0i64.to_le_bytes());
                self.arena.extend_from_slice(&DELETED.to_le_bytes());
            }
        }
        offset
    }

    /// Merges two runs (`newer` wins on equal keys); counts the shadowed rows as garbage.
    fn merge(&mut self, older: &[u64], newer: &[u64]) -> Vec<u64> {
        let arena = &self.arena;
        let mut shadowed = 0;
        let mut out = Vec::with_capacity(older.len() + newer.len());
        let (mut i, mut j) = (0, 0);
        while i < older.len() && j < newer.len() {
            match key_at(arena, older[i]).cmp(key_at(arena, newer[j])) {
                Ordering::Less => {
                    out.push(older[i]);
                    i += 1;
                }
                Ordering::Greater => {
                    out.push(newer[j]);
                    j += 1;
                }
                Ordering::Equal => {
                    shadowed += row_at(arena, older[i]).len;
                    out.push(newer[j]);
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&older[i..]);
        out.extend_from_slice(&newer[j..]);
        self.garbage += shadowed;
        out
    }

    /// Rewrites the arena with only the live rows, as one run.
    fn compact(&mut self) {
        let mut fresh = PendingRows::default();
        let mut run = Vec::new();
        for (key, value) in self.iter() {
            run.push(fresh.append(key, value));
        }
        fresh.runs.push(run);
        *self = fresh;
    }
}

fn key_at(arena: &[u8], offset: u64) -> &[u8] {
    row_at(arena, offset).key
}

/// Decodes the row at `offset`. Offsets come from this module's own appends, so the bytes are well formed;
/// a short read still yields an empty row rather than a panic.
fn row_at(arena: &[u8], offset: u64) -> Row<'_> {
    let bytes = arena.get(offset as usize..).unwrap_or_default();
    let u32_at = |at: usize| -> Option<u32> { Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?)) };
    let decode = || -> Option<Row<'_>> {
        let klen = u32_at(0)? as usize;
        let key = bytes.get(4..4 + klen)?;
        let at = 4 + klen;
        let ts = i64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?);
        let vlen = u32_at(at + 8)?;
        let at = at + 12;
        if vlen == DELETED {
            return Some(Row {
                key,
                value: None,
                len: at,
            });
        }
        let value = bytes.get(at..at + vlen as usize)?;
        Some(Row {
            key,
            value: Some((ts, value)),
            len: at + vlen as usize,
        })
    };
    decode().unwrap_or(Row {
        key: &[],
        value: None,
        len: 0,
    })
}

/// A k-way merge of the runs: each key once, with its newest value.
pub struct Merged<'a> {
    arena: &'a [u8],
    /// Per run (oldest first): its rows in range, and the next position.
    cursors: Vec<(&'a [u64], usize)>,
}

impl<'a> Iterator for Merged<'a> {
    type Item = (&'a [u8], PendingValue<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        // The smallest key among the cursors; among equal keys the newest run (latest cursor) wins.
        let mut best: Option<(usize, &'a [u8])> = None;
        for (c, (run, pos)) in self.cursors.iter().enumerate() {
            if let Some(&o) = run.get(*pos) {
                let key = key_at(self.arena, o);
                if best.is_none_or(|(_, k)| key <= k) {
                    best = Some((c, key));
                }
            }
        }
        let (winner, key) = best?;
        let value = row_at(self.arena, self.cursors[winner].0[self.cursors[winner].1]).value;
        for (run, pos) in &mut self.cursors {
            if run.get(*pos).is_some_and(|&o| key_at(self.arena, o) == key) {
                *pos += 1;
            }
        }
        Some((key, value))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    type OwnedChange = (Vec<u8>, Option<(i64, Vec<u8>)>);

    fn put(rows: &mut PendingRows, batch: &[(&str, Option<i64>)]) {
        let values: Vec<OwnedChange> = batch
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|n| (n, n.to_string().into_bytes()))))
            .collect();
        rows.extend(
            values
                .iter()
                .map(|(k, v)| (k.as_slice(), v.as_ref().map(|(t, v)| (*t, v.as_slice())))),
        );
    }

    fn all(rows: &PendingRows) -> Vec<(String, Option<i64>)> {
        rows.iter()
            .map(|(k, v)| (String::from_utf8(k.to_vec()).unwrap(), v.map(|(t, _)| t)))
            .collect()
    }

    #[test]
    fn newest_value_wins_within_and_across_batches() {
        let mut rows = PendingRows::default();
        put(&mut rows, &[("b", Some(1)), ("a", Some(1)), ("b", Some(2))]);
        put(&mut rows, &[("c", Some(3)), ("a", None)]);
        assert_eq!(
            all(&rows),
            vec![("a".into(), None), ("b".into(), Some(2)), ("c".into(), Some(3))]
        );
        assert_eq!(rows.get(b"b"), Some(Some((2, &b"2"[..]))));
        assert_eq!(rows.get(b"a"), Some(None));
        assert_eq!(rows.get(b"z"), None);
        let in_range: Vec<_> = rows
            .range((Bound::Excluded(&b"a"[..]), Bound::Included(&b"c"[..])))
            .map(|(k, _)| k.to_vec())
            .collect();
        assert_eq!(in_range, vec![b"b".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn matches_a_map_over_many_random_batches_and_compacts() {
        let mut rows = PendingRows::default();
        let mut model: BTreeMap<Vec<u8>, Option<i64>> = BTreeMap::new();
        let mut x: u64 = 7;
        for batch in 0..300 {
            let mut changes = Vec::new();
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let key = format!("k{:05}", x % 3000).into_bytes();
                let value = (!x.is_multiple_of(5)).then_some((batch * 1000 + changes.len()) as i64);
                model.insert(key.clone(), value);
                changes.push((key, value.map(|t| (t, vec![b'v'; 16_000]))));
            }
            rows.extend(
                changes
                    .iter()
                    .map(|(k, v)| (k.as_slice(), v.as_ref().map(|(t, v)| (*t, v.as_slice())))),
            );
        }
        assert!(rows.runs.len() <= 20, "runs are merged: {}", rows.runs.len());
        assert!(
            rows.arena.len() < 2 * 3000 * 16_100 + MIN_COMPACT_BYTES,
            "garbage is compacted"
        );
        let got: Vec<(Vec<u8>, Option<i64>)> = rows.iter().map(|(k, v)| (k.to_vec(), v.map(|(t, _)| t))).collect();
        let want: Vec<(Vec<u8>, Option<i64>)> = model.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(got, want);
        for (k, v) in &model {
            assert_eq!(rows.get(k).map(|v| v.map(|(t, _)| t)), Some(*v));
        }
        let mut older = PendingRows::default();
        put(&mut older, &[("k00001", Some(-1)), ("zz", Some(-2))]);
        older.absorb(&rows);
        assert_eq!(older.get(b"zz"), Some(Some((-2, &b"-2"[..]))));
        assert_eq!(older.len(), model.len() + 1);
    }
}
