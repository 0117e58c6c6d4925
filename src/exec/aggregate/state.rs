//! The in-memory group table of an aggregation: group key (+ window) → slot, slot bookkeeping, and the encoding
//! of slots for checkpoints.
//!
//! Keys are the group key columns serialized in the sink's key format, so the same bytes serve as state key,
//! output record key and materialized-view key.

use std::collections::HashMap;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use super::slot_set::SlotSet;
use super::windows::{Sessions, Window};

/// Bytes a [`GroupKey`] holds inline.
const INLINE_KEY_BYTES: usize = 22;

/// Group key bytes, inline when short (a number, a short string: most keys), so finding a group touches no
/// second allocation and a million 8-byte keys cost no million 32-byte heap blocks.
#[derive(Clone)]
pub enum GroupKey {
    Inline { len: u8, bytes: [u8; INLINE_KEY_BYTES] },
    Heap(Box<[u8]>),
}

impl std::ops::Deref for GroupKey {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            GroupKey::Inline { len, bytes } => &bytes[..*len as usize],
            GroupKey::Heap(bytes) => bytes,
        }
    }
}

impl From<&[u8]> for GroupKey {
    fn from(key: &[u8]) -> Self {
        if key.len() <= INLINE_KEY_BYTES {
            let mut bytes = [0; INLINE_KEY_BYTES];
            bytes[..key.len()].copy_from_slice(key);
            GroupKey::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            GroupKey::Heap(key.into())
        }
    }
}

impl Default for GroupKey {
    fn default() -> Self {
        GroupKey::from(&[][..])
    }
}

impl std::fmt::Debug for GroupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// Bookkeeping of one group slot.
#[derive(Debug, Clone)]
pub struct SlotInfo {
    /// Group key bytes (sink key format). The only copy: the index refers to slots, not to keys.
    pub key: GroupKey,
    pub window: Option<Window>,
    /// Output timestamp: the largest timestamp of the records aggregated so far.
    pub timestamp: i64,
    /// The partition the key's stream time is kept for.
    pub task_partition: u32,
    /// Source position of the last record that updated the group (for ROWPARTITION/ROWOFFSET of the output).
    pub source_partition: u32,
    pub source_offset: i64,
    /// Whether the last emitted row for this group passed HAVING (so a later failure must emit a tombstone).
    pub visible: bool,
    pub live: bool,
}

/// All groups of one query.
#[derive(Debug, Default)]
pub struct GroupTable {
    /// Slots of unwindowed and time-windowed groups, hashed by (key, window start). Holding slot numbers rather
    /// than keys keeps each key once in memory (a million keys: ~10 MB of index instead of ~80 MB).
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// Key → its sessions, for session windows.
    pub sessions: HashMap<Box<[u8]>, Sessions>,
    pub slots: Vec<SlotInfo>,
    free: Vec<u32>,
    /// Slots changed since the last checkpoint, and state keys removed since then.
    pub dirty: SlotSet,
    pub removed: Vec<Vec<u8>>,
}

/// The state-store key of a group: key bytes, then the window (start, end) when windowed.
pub fn state_key(key: &[u8], window: Option<Window>) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 16);
    k.extend_from_slice(key);
    if let Some(w) = window {
        k.extend_from_slice(&w.start.to_be_bytes());
        k.extend_from_slice(&w.end.to_be_bytes());
    }
    k
}

/// What the index hashes and compares: a time window is identified by its start.
fn index_hash(hasher: &foldhash::fast::RandomState, key: &[u8], window: Option<Window>) -> u64 {
    hasher.hash_one((key, window.map(|w| w.start)))
}

fn same_group(info: &SlotInfo, key: &[u8], window: Option<Window>) -> bool {
    info.live && info.window.map(|w| w.start) == window.map(|w| w.start) && *info.key == *key
}

impl GroupTable {
    /// The slot of (key, time window), if it exists.
    pub fn find(&self, key: &[u8], window: Option<Window>) -> Option<u32> {
        let hash = index_hash(&self.hasher, key, window);
        self.index
            .find(hash, |&s| same_group(&self.slots[s as usize], key, window))
            .copied()
    }

    /// Allocates a slot for a new group, indexed by (key, window start) when `index_it` (sessions are found
    /// through [`GroupTable::sessions`] instead). The caller grows its accumulators to [`GroupTable::capacity`].
    pub fn insert(&mut self, info: SlotInfo, index_it: bool) -> u32 {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = info;
                s
            }
            None => {
                self.slots.push(info);
                (self.slots.len() - 1) as u32
            }
        };
        if index_it {
            let entry = &self.slots[slot as usize];
            let hash = index_hash(&self.hasher, &entry.key, entry.window);
            let (slots, hasher) = (&self.slots, &self.hasher);
            self.index.insert_unique(hash, slot, |&s| {
                let i = &slots[s as usize];
                index_hash(hasher, &i.key, i.window)
            });
        }
        self.dirty.insert(slot);
        slot
    }

    /// Frees a slot (its group is gone: evicted, or merged into another session).
    pub fn remove(&mut self, slot: u32) {
        let Some(info) = self.slots.get(slot as usize) else {
            return;
        };
        if !info.live {
            return;
        }
        let hash = index_hash(&self.hasher, &info.key, info.window);
        if let Ok(entry) = self.index.find_entry(hash, |&s| s == slot) {
            entry.remove();
        }
        let info = &mut self.slots[slot as usize];
        info.live = false;
        self.removed.push(state_key(&info.key, info.window));
        info.key = GroupKey::default();
        self.dirty.remove(slot);
        self.free.push(slot);
    }

    /// The number of slots ever allocated (accumulators are sized to this).
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Live groups.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Fixed part of a slot's checkpoint record, before the accumulator states.
pub fn encode_slot_header(info: &SlotInfo, out: &mut Vec<u8>) {
    out.extend_from_slice(&info.timestamp.to_be_bytes());
    out.extend_from_slice(&info.task_partition.to_be_bytes());
    out.extend_from_slice(&info.source_partition.to_be_bytes());
    out.extend_from_slice(&info.source_offset.to_be_bytes());
    out.push(u8::from(info.visible));
    match info.window {
        Some(w) => {
            out.push(1);
            out.extend_from_slice(&w.start.to_be_bytes());
            out.extend_from_slice(&w.end.to_be_bytes());
        }
        None => out.push(0),
    }
}

/// Reads what [`encode_slot_header`] wrote; returns the rest of the bytes (the accumulator states).
pub fn decode_slot_header<'a>(key: &[u8], bytes: &'a [u8]) -> Option<(SlotInfo, &'a [u8])> {
    let mut r = Reader(bytes);
    let timestamp = r.i64()?;
    let task_partition = r.u32()?;
    let source_partition = r.u32()?;
    let source_offset = r.i64()?;
    let visible = r.u8()? == 1;
    let window = match r.u8()? {
        1 => Some(Window {
            start: r.i64()?,
            end: r.i64()?,
        }),
        _ => None,
    };
    // The state key carries the window after the group key; strip it to get the key bytes back.
    let key_len = key.len().checked_sub(if window.is_some() { 16 } else { 0 })?;
    Some((
        SlotInfo {
            key: key[..key_len].into(),
            window,
            timestamp,
            task_partition,
            source_partition,
            source_offset,
            visible,
            live: true,
        },
        r.0,
    ))
}

/// Length-prefixed byte strings, for the accumulator states after the header.
pub fn push_chunk(out: &mut Vec<u8>, chunk: &[u8]) {
    out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
    out.extend_from_slice(chunk);
}

pub fn read_chunks(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_at_checked(4)?;
        let len = u32::from_be_bytes(len.try_into().ok()?) as usize;
        let (chunk, rest) = rest.split_at_checked(len)?;
        out.push(chunk);
        bytes = rest;
    }
    Some(out)
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_at_checked(N)?;
        self.0 = rest;
        head.try_into().ok()
    }
    fn i64(&mut self) -> Option<i64> {
        self.take::<8>().map(i64::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_be_bytes)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(key: &[u8], window: Option<Window>) -> SlotInfo {
        SlotInfo {
            key: key.into(),
            window,
            timestamp: 5,
            task_partition: 1,
            source_partition: 2,
            source_offset: 3,
            visible: true,
            live: true,
        }
    }

    #[test]
    fn group_keys_short_inline_long_on_the_heap() {
        let short = GroupKey::from(&b"12345678"[..]);
        assert!(matches!(short, GroupKey::Inline { .. }));
        assert_eq!(&*short, b"12345678");
        let long_bytes = vec![7u8; INLINE_KEY_BYTES + 1];
        let long = GroupKey::from(long_bytes.as_slice());
        assert!(matches!(long, GroupKey::Heap(_)));
        assert_eq!(&*long, long_bytes.as_slice());
        assert!(GroupKey::default().is_empty());
        assert_eq!(
            std::mem::size_of::<GroupKey>(),
            24,
            "no larger than a boxed slice and its heap block"
        );
    }

    #[test]
    fn slots_are_found_reused_and_tracked() {
        let mut t = GroupTable::default();
        let w = Window { start: 0, end: 10 };
        let a = t.insert(info(b"a", Some(w)), true);
        let b = t.insert(info(b"b", None), true);
        assert_eq!(t.find(b"a", Some(w)), Some(a));
        assert_eq!(t.find(b"a", Some(Window { start: 10, end: 20 })), None);
        assert_eq!(t.find(b"b", None), Some(b));
        t.remove(a);
        assert_eq!(t.find(b"a", Some(w)), None);
        assert_eq!(t.removed, vec![state_key(b"a", Some(w))]);
        let c = t.insert(info(b"c", None), true);
        assert_eq!(c, a, "freed slots are reused");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn slot_header_round_trip_and_corrupt_input() {
        let w = Window { start: -5, end: 7 };
        let i = info(b"key", Some(w));
        let mut bytes = Vec::new();
        encode_slot_header(&i, &mut bytes);
        push_chunk(&mut bytes, b"xyz");
        let (back, rest) = decode_slot_header(&state_key(b"key", Some(w)), &bytes).unwrap();
        assert_eq!(&*back.key, b"key");
        assert_eq!(back.window, Some(w));
        assert_eq!(back.source_offset, 3);
        assert_eq!(read_chunks(rest).unwrap(), vec![&b"xyz"[..]]);
        assert!(decode_slot_header(b"k", &bytes[..5]).is_none());
        assert!(read_chunks(&[0, 0, 0, 9, 1]).is_none());
    }
}
