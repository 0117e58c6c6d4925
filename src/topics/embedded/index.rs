//! The sparse offset index of one segment, and its `.index` sidecar file.
//!
//! Like Kafka's `index.interval.bytes`, an entry is kept only when at least [`INDEX_INTERVAL_BYTES`] of frames were
//! written since the previous one, so memory grows with the data size (8 bytes per 4 KiB at most), not with the
//! record count. A lookup returns the position of a frame at or before the wanted offset; the reader scans forward
//! from there frame by frame, reading only headers until it reaches the frame it needs.
//!
//! When a segment is sealed its index is written next to it as `<base>.index`, so opening a store does not rescan
//! sealed segments. The sidecar records the segment size it describes and a CRC; a missing, stale or damaged
//! sidecar is simply rebuilt from the log.
//!
//! Sidecar layout (little-endian): `"WIX1"`, log size `u64`, end offset `i64`, entry count `u32`, entries as
//! (`u32` offset relative to the segment base, `u32` byte position), CRC32 of everything before it.

/// Bytes of frames between two index entries, as Kafka's default `index.interval.bytes`.
pub(super) const INDEX_INTERVAL_BYTES: u64 = 4096;

const SIDECAR_MAGIC: &[u8; 4] = b"WIX1";
const SIDECAR_FIXED_LEN: usize = 4 + 8 + 8 + 4 + 4;
const ENTRY_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    rel_offset: u32,
    position: u32,
}

/// Offset-to-position entries of one segment, in append order. Position 0 (the segment base) is implicit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct SparseIndex {
    entries: Vec<Entry>,
}

impl SparseIndex {
    /// Notes a frame with base offset `rel_offset` (relative to the segment base) at byte `position`. Must be
    /// called for frames in order; keeps an entry only every [`INDEX_INTERVAL_BYTES`]. Entries that do not fit
    /// 32 bits are skipped: the index only speeds reads up, it never decides what they return.
    pub fn observe(&mut self, rel_offset: i64, position: u64) {
        let last = self.entries.last().map_or(0, |e| u64::from(e.position));
        if position < last + INDEX_INTERVAL_BYTES {
            return;
        }
        if let (Ok(rel_offset), Ok(position)) = (u32::try_from(rel_offset), u32::try_from(position)) {
            self.entries.push(Entry { rel_offset, position });
        }
    }

    /// Position of the last indexed frame whose base offset is `<= rel_offset`, where a read of that offset starts.
    pub fn floor(&self, rel_offset: i64) -> u64 {
        let n = self.entries.partition_point(|e| i64::from(e.rel_offset) <= rel_offset);
        self.position_before(n)
    }

    /// Position of the last indexed frame whose base offset is `< rel_offset`. Scanning from there finds every frame
    /// whose base is `>= rel_offset`, including empty (metadata-only) frames that share a base offset.
    pub fn below(&self, rel_offset: i64) -> u64 {
        let n = self.entries.partition_point(|e| i64::from(e.rel_offset) < rel_offset);
        self.position_before(n)
    }

    fn position_before(&self, n: usize) -> u64 {
        n.checked_sub(1).map_or(0, |i| u64::from(self.entries[i].position))
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// What a sidecar says about its sealed segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sidecar {
    pub index: SparseIndex,
    /// Size of the `.log` file when it was sealed; a different size means the sidecar is stale.
    pub log_size: u64,
    /// The offset after the segment's last record.
    pub end_offset: i64,
}

impl Sidecar {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SIDECAR_FIXED_LEN + self.index.entries.len() * ENTRY_LEN);
        out.extend_from_slice(SIDECAR_MAGIC);
        out.extend_from_slice(&self.log_size.to_le_bytes());
        out.extend_from_slice(&self.end_offset.to_le_bytes());
        out.extend_from_slice(&(self.index.entries.len() as u32).to_le_bytes());
        for e in &self.index.entries {
            out.extend_from_slice(&e.rel_offset.to_le_bytes());
            out.extend_from_slice(&e.position.to_le_bytes());
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Decodes and validates a sidecar of the segment starting at `base`. The error says why it was rejected.
    pub fn decode(bytes: &[u8], base: i64) -> Result<Sidecar, &'static str> {
        if bytes.len() < SIDECAR_FIXED_LEN || &bytes[..4] != SIDECAR_MAGIC {
            return Err("not a sidecar index");
        }
        let (body, crc) = bytes.split_at(bytes.len() - 4);
        if crc32fast::hash(body) != u32_at(crc, 0) {
            return Err("CRC mismatch");
        }
        let log_size = u64::from_le_bytes(array(&body[4..12]));
        let end_offset = i64::from_le_bytes(array(&body[12..20]));
        let count = u32_at(body, 20) as usize;
        let entries = &body[24..];
        if entries.len() != count.saturating_mul(ENTRY_LEN) {
            return Err("entry count does not match the size");
        }
        let max_rel = end_offset
            .checked_sub(base)
            .filter(|r| *r >= 0)
            .ok_or("end offset before the base")?;
        let mut index = SparseIndex::default();
        for raw in entries.chunks_exact(ENTRY_LEN) {
            let entry = Entry {
                rel_offset: u32_at(raw, 0),
                position: u32_at(raw, 4),
            };
            let ordered = index
                .entries
                .last()
                .is_none_or(|prev| prev.rel_offset <= entry.rel_offset && prev.position < entry.position);
            if !ordered || i64::from(entry.rel_offset) > max_rel || u64::from(entry.position) >= log_size {
                return Err("entries out of order or out of range");
            }
            index.entries.push(entry);
        }
        Ok(Sidecar {
            index,
            log_size,
            end_offset,
        })
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(array(&b[at..at + 4]))
}

fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(frames: &[(i64, u64)]) -> SparseIndex {
        let mut index = SparseIndex::default();
        for &(rel, pos) in frames {
            index.observe(rel, pos);
        }
        index
    }

    #[test]
    fn keeps_one_entry_per_interval() {
        // 1,000 frames of 100 bytes, 10 records each: about one entry per 41 frames.
        let frames: Vec<(i64, u64)> = (0..1_000).map(|i| (i * 10, i as u64 * 100)).collect();
        let index = index_of(&frames);
        assert_eq!(index.len(), 24);
        assert_eq!(index.floor(0), 0);
        assert_eq!(index.floor(409), 0);
        assert_eq!(index.floor(410), 4100);
        assert_eq!(index.floor(415), 4100);
        assert_eq!(index.floor(i64::MAX), 98_400);
        assert_eq!(index.below(410), 0);
        assert_eq!(index.below(411), 4100);
    }

    #[test]
    fn entries_beyond_32_bits_are_skipped() {
        let index = index_of(&[
            (1, 5_000),
            (2, u64::from(u32::MAX) + 10),
            (i64::from(u32::MAX) + 1, 20_000),
        ]);
        assert_eq!(index.len(), 1);
    }

    #[test]
    fn sidecar_round_trip_and_rejections() {
        let sidecar = Sidecar {
            index: index_of(&[(0, 0), (5, 4096), (9, 9000)]),
            log_size: 10_000,
            end_offset: 112,
        };
        let bytes = sidecar.encode();
        assert_eq!(Sidecar::decode(&bytes, 100), Ok(sidecar.clone()));
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 1;
            assert!(Sidecar::decode(&bad, 100).is_err(), "flip at {i}");
        }
        assert!(Sidecar::decode(&bytes[..bytes.len() - 1], 100).is_err());
        assert!(Sidecar::decode(&bytes, 200).is_err(), "end offset before the base");
        assert!(Sidecar::decode(&[], 0).is_err());
    }
}
