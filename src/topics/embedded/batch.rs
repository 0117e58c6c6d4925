//! The batch frame: how one `append` is laid out on disk, and how it is read back from untrusted bytes.
//!
//! Every append becomes exactly one frame, written with one `write` call. All integers are little-endian:
//!
//! ```text
//! offset  size  field
//!      0     1  magic / format version (0xC1)
//!      1     4  frame length in bytes, header included (u32)
//!      5     4  CRC32 (IEEE, crc32fast) of bytes 9..length
//!      9     8  base offset (i64): offset of the first record
//!     17     4  record count (u32); offsets are dense, so record i has offset base + i
//!     21     8  first timestamp (i64, epoch ms; -1 for an empty batch)
//!     29     8  max timestamp (i64)
//!     37     4  metadata length (i32; -1 = no metadata)
//!     41     m  producer metadata (`batch_metadata` of the append)
//!   41+m        records, back to back
//! ```
//!
//! A record is `timestamp delta (zigzag varint, from the first timestamp)`, `key`, `value`,
//! `header count (varint)`, then per header `key length (varint)`, `key (UTF-8)`, `value`. Keys, values and
//! header values are `varint(len + 1)` followed by the bytes, with `0` meaning null, so null and empty differ.
//!
//! Decoding never trusts a length: every one is checked against the bytes at hand, and failures are
//! [`FrameError`]s that callers turn into truncation (at recovery) or `TopicError::Corrupt` (elsewhere).

use std::ops::Range;

use bytes::Bytes;

use super::varint;
use crate::topics::{Header, Record, TopicError};

/// Magic byte of format version 1. Chosen to be unlikely as the first byte of zeroed or ASCII garbage.
pub(super) const MAGIC: u8 = 0xC1;
/// Size of the fixed header; the metadata and records follow it.
pub(super) const HEADER_LEN: usize = 41;
/// Largest frame we write or accept, so a garbage length never makes us allocate gigabytes.
pub(super) const MAX_FRAME_LEN: usize = i32::MAX as usize;
/// The CRC covers everything after its own field.
const CRC_START: usize = 9;
const NO_METADATA: i32 = -1;
const NO_TIMESTAMP: i64 = -1;
/// The shortest possible record: a one-byte timestamp delta, null key, null value and zero headers.
const MIN_RECORD_LEN: usize = 4;

/// Why a frame could not be decoded. Carries no position: the caller knows where the frame started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum FrameError {
    #[error("frame needs {needed} bytes but only {available} are there")]
    Truncated { needed: usize, available: usize },
    #[error("bad magic byte {0:#04x}")]
    Magic(u8),
    #[error("invalid frame length {0}")]
    Length(u32),
    #[error("invalid header field: {0}")]
    Field(&'static str),
    #[error("CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Crc { stored: u32, computed: u32 },
    #[error("record {index}: {what}")]
    Record { index: u32, what: &'static str },
    #[error("{0} unexpected bytes after the last record")]
    Trailing(usize),
}

/// The fixed part of a frame, parsed and sanity-checked (but without the CRC, which needs the whole frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameHeader {
    pub len: u32,
    pub crc: u32,
    pub base_offset: i64,
    pub record_count: u32,
    pub first_timestamp: i64,
    pub max_timestamp: i64,
    pub metadata_len: Option<u32>,
}

impl FrameHeader {
    /// Parses the first [`HEADER_LEN`] bytes of `bytes`. Checks everything that can be checked without the body:
    /// the magic byte, that the length can hold the header, the metadata and `record_count` minimal records, and
    /// that the offsets do not overflow.
    pub fn parse(bytes: &[u8]) -> Result<Self, FrameError> {
        let Some(head) = bytes.get(..HEADER_LEN) else {
            return Err(FrameError::Truncated {
                needed: HEADER_LEN,
                available: bytes.len(),
            });
        };
        if head[0] != MAGIC {
            return Err(FrameError::Magic(head[0]));
        }
        let len = u32_at(head, 1);
        let header = FrameHeader {
            len,
            crc: u32_at(head, 5),
            base_offset: i64_at(head, 9),
            record_count: u32_at(head, 17),
            first_timestamp: i64_at(head, 21),
            max_timestamp: i64_at(head, 29),
            metadata_len: match i32_at(head, 37) {
                NO_METADATA => None,
                m => Some(u32::try_from(m).map_err(|_| FrameError::Field("metadata length"))?),
            },
        };
        let len = len as usize;
        if !(HEADER_LEN..=MAX_FRAME_LEN).contains(&len) {
            return Err(FrameError::Length(header.len));
        }
        let body = len - HEADER_LEN;
        let metadata = header.metadata_len.unwrap_or(0) as usize;
        if metadata > body {
            return Err(FrameError::Field("metadata length"));
        }
        if (header.record_count as usize).saturating_mul(MIN_RECORD_LEN) > body - metadata {
            return Err(FrameError::Field("record count"));
        }
        if header.base_offset < 0 || header.base_offset.checked_add(i64::from(header.record_count)).is_none() {
            return Err(FrameError::Field("base offset"));
        }
        Ok(header)
    }

    /// The offset after the last record of this frame.
    pub fn end_offset(&self) -> i64 {
        // `parse` checked that this does not overflow.
        self.base_offset + i64::from(self.record_count)
    }

    /// Where the metadata sits within the frame, if there is any.
    pub fn metadata_range(&self) -> Option<Range<usize>> {
        self.metadata_len.map(|m| HEADER_LEN..HEADER_LEN + m as usize)
    }

    fn records_start(&self) -> usize {
        HEADER_LEN + self.metadata_len.unwrap_or(0) as usize
    }
}

/// Encodes `records` as one frame into `buf` (cleared first), so the append path reuses one buffer.
pub(super) fn encode(
    buf: &mut Vec<u8>,
    base_offset: i64,
    records: &[Record],
    metadata: Option<&[u8]>,
) -> Result<(), TopicError> {
    let too_large = |bytes: usize| TopicError::BatchTooLarge {
        bytes,
        max: MAX_FRAME_LEN,
    };
    let count = u32::try_from(records.len()).map_err(|_| too_large(usize::MAX))?;
    let metadata_len = match metadata {
        None => NO_METADATA,
        Some(m) => i32::try_from(m.len()).map_err(|_| too_large(m.len()))?,
    };
    let first_timestamp = records.first().map_or(NO_TIMESTAMP, |r| r.timestamp);
    let max_timestamp = records.iter().map(|r| r.timestamp).max().unwrap_or(NO_TIMESTAMP);

    buf.clear();
    let payload: usize = records.iter().map(|r| opt_len(&r.key) + opt_len(&r.value) + 8).sum();
    buf.reserve(HEADER_LEN + metadata.map_or(0, <[u8]>::len) + payload);
    buf.extend_from_slice(&[0; HEADER_LEN]);
    if let Some(m) = metadata {
        buf.extend_from_slice(m);
    }
    for record in records {
        varint::put_i64(buf, record.timestamp.wrapping_sub(first_timestamp));
        put_opt_bytes(buf, record.key.as_deref());
        put_opt_bytes(buf, record.value.as_deref());
        varint::put_u64(buf, record.headers.len() as u64);
        for header in &record.headers {
            varint::put_u64(buf, header.key.len() as u64);
            buf.extend_from_slice(header.key.as_bytes());
            put_opt_bytes(buf, header.value.as_deref());
        }
    }
    if buf.len() > MAX_FRAME_LEN {
        return Err(too_large(buf.len()));
    }
    let len = buf.len() as u32;
    buf[0] = MAGIC;
    buf[1..5].copy_from_slice(&len.to_le_bytes());
    buf[9..17].copy_from_slice(&base_offset.to_le_bytes());
    buf[17..21].copy_from_slice(&count.to_le_bytes());
    buf[21..29].copy_from_slice(&first_timestamp.to_le_bytes());
    buf[29..37].copy_from_slice(&max_timestamp.to_le_bytes());
    buf[37..41].copy_from_slice(&metadata_len.to_le_bytes());
    let crc = crc32fast::hash(&buf[CRC_START..]);
    buf[5..9].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Checks the CRC of a whole frame whose header was already parsed.
pub(super) fn check_crc(header: &FrameHeader, frame: &[u8]) -> Result<(), FrameError> {
    let Some(covered) = frame.get(CRC_START..header.len as usize) else {
        return Err(FrameError::Truncated {
            needed: header.len as usize,
            available: frame.len(),
        });
    };
    let computed = crc32fast::hash(covered);
    if computed == header.crc {
        Ok(())
    } else {
        Err(FrameError::Crc {
            stored: header.crc,
            computed,
        })
    }
}

/// A whole frame in one buffer whose header and CRC were verified. Records decoded from it are slices of this
/// buffer, so reading a batch costs one allocation, not one per key and value.
pub(super) struct Frame {
    header: FrameHeader,
    bytes: Bytes,
}

impl Frame {
    /// Verifies `bytes` as exactly one frame.
    pub fn new(bytes: Bytes) -> Result<Self, FrameError> {
        let header = FrameHeader::parse(&bytes)?;
        if header.len as usize != bytes.len() {
            return Err(FrameError::Length(header.len));
        }
        check_crc(&header, &bytes)?;
        Ok(Frame { header, bytes })
    }

    #[cfg(test)]
    pub fn header(&self) -> &FrameHeader {
        &self.header
    }

    /// A cursor over the records, oldest first.
    pub fn records(&self) -> RecordReader<'_> {
        RecordReader {
            frame: self,
            pos: self.header.records_start(),
            index: 0,
        }
    }
}

/// Walks the records of a [`Frame`]. Skipping a record parses it without allocating.
pub(super) struct RecordReader<'a> {
    frame: &'a Frame,
    pos: usize,
    index: u32,
}

impl RecordReader<'_> {
    /// Records not yet read or skipped.
    pub fn remaining(&self) -> u32 {
        self.frame.header.record_count - self.index
    }

    /// Skips the next `n` records (or as many as are left).
    pub fn skip(&mut self, n: u32) -> Result<(), FrameError> {
        for _ in 0..n.min(self.remaining()) {
            self.parse(false)?;
        }
        Ok(())
    }

    /// The next record, or `None` after the last one (at which point trailing bytes are an error).
    pub fn next_record(&mut self) -> Result<Option<Record>, FrameError> {
        if self.remaining() == 0 {
            let trailing = self.frame.bytes.len() - self.pos;
            return if trailing == 0 {
                Ok(None)
            } else {
                Err(FrameError::Trailing(trailing))
            };
        }
        self.parse(true)
    }

    fn parse(&mut self, materialize: bool) -> Result<Option<Record>, FrameError> {
        let index = self.index;
        let bad = |what| FrameError::Record { index, what };
        let bytes: &[u8] = &self.frame.bytes;
        let pos = &mut self.pos;
        let delta = varint::get_i64(bytes, pos).ok_or(bad("timestamp"))?;
        let key = opt_range(bytes, pos).ok_or(bad("key"))?;
        let value = opt_range(bytes, pos).ok_or(bad("value"))?;
        let header_count = varint::get_u64(bytes, pos).ok_or(bad("header count"))?;
        // Each header takes at least two bytes, which bounds the count before anything is allocated.
        if header_count > ((bytes.len() - *pos) / 2) as u64 {
            return Err(bad("header count"));
        }
        let mut headers = Vec::new();
        if materialize {
            headers.reserve_exact(header_count as usize);
        }
        for _ in 0..header_count {
            let key_len = varint::get_u64(bytes, pos).ok_or(bad("header key"))?;
            let key_range = take(bytes, pos, key_len).ok_or(bad("header key"))?;
            let value = opt_range(bytes, pos).ok_or(bad("header value"))?;
            if materialize {
                let key = std::str::from_utf8(&bytes[key_range]).map_err(|_| bad("header key is not UTF-8"))?;
                headers.push(Header {
                    key: key.to_owned(),
                    value: value.map(|r| self.frame.bytes.slice(r)),
                });
            }
        }
        self.index += 1;
        if !materialize {
            return Ok(None);
        }
        let slice = |r: Range<usize>| self.frame.bytes.slice(r);
        Ok(Some(Record {
            timestamp: self.frame.header.first_timestamp.wrapping_add(delta),
            key: key.map(slice),
            value: value.map(slice),
            headers,
        }))
    }
}

fn opt_len(bytes: &Option<Bytes>) -> usize {
    bytes.as_ref().map_or(0, Bytes::len)
}

fn put_opt_bytes(buf: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => varint::put_u64(buf, 0),
        Some(b) => {
            varint::put_u64(buf, b.len() as u64 + 1);
            buf.extend_from_slice(b);
        }
    }
}

/// Reads a nullable length-prefixed field and returns where its bytes are. `None` = malformed; `Some(None)` = null.
fn opt_range(bytes: &[u8], pos: &mut usize) -> Option<Option<Range<usize>>> {
    match varint::get_u64(bytes, pos)? {
        0 => Some(None),
        n => take(bytes, pos, n - 1).map(Some),
    }
}

/// Claims the next `len` bytes, if there are that many.
fn take(bytes: &[u8], pos: &mut usize, len: u64) -> Option<Range<usize>> {
    let len = usize::try_from(len).ok()?;
    let end = pos.checked_add(len).filter(|&end| end <= bytes.len())?;
    let range = *pos..end;
    *pos = end;
    Some(range)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn i32_at(b: &[u8], at: usize) -> i32 {
    u32_at(b, at) as i32
}

fn i64_at(b: &[u8], at: usize) -> i64 {
    let mut raw = [0; 8];
    raw.copy_from_slice(&b[at..at + 8]);
    i64::from_le_bytes(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ts: i64, key: Option<&str>, value: Option<&str>, headers: &[(&str, Option<&str>)]) -> Record {
        Record {
            timestamp: ts,
            key: key.map(|k| Bytes::copy_from_slice(k.as_bytes())),
            value: value.map(|v| Bytes::copy_from_slice(v.as_bytes())),
            headers: headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.to_string(),
                    value: v.map(|v| Bytes::copy_from_slice(v.as_bytes())),
                })
                .collect(),
        }
    }

    fn decode_all(frame: &Frame) -> Vec<Record> {
        let mut reader = frame.records();
        let mut out = Vec::new();
        while let Some(r) = reader.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    #[test]
    fn round_trip_with_nulls_empties_headers_and_timestamps() {
        let records = vec![
            record(1_700_000_000_000, Some("k"), Some("v"), &[]),
            record(5, None, None, &[("h", None), ("", Some(""))]),
            record(i64::MIN, Some(""), Some(""), &[("trace", Some("abc"))]),
            record(i64::MAX, None, Some("tombstone? no"), &[]),
        ];
        let mut buf = Vec::new();
        encode(&mut buf, 42, &records, Some(b"meta")).unwrap();
        let frame = Frame::new(Bytes::from(buf)).unwrap();
        let h = frame.header();
        assert_eq!((h.base_offset, h.record_count, h.end_offset()), (42, 4, 46));
        assert_eq!((h.first_timestamp, h.max_timestamp), (1_700_000_000_000, i64::MAX));
        assert_eq!(h.metadata_len, Some(4));
        assert_eq!(decode_all(&frame), records);
    }

    #[test]
    fn empty_batch_and_no_metadata() {
        let mut buf = Vec::new();
        encode(&mut buf, 7, &[], None).unwrap();
        assert_eq!(buf.len(), HEADER_LEN);
        let frame = Frame::new(Bytes::from(buf)).unwrap();
        assert_eq!(frame.header().metadata_range(), None);
        assert!(decode_all(&frame).is_empty());
    }

    #[test]
    fn skip_then_read() {
        let records: Vec<Record> = (0..10)
            .map(|i| record(i, Some(&i.to_string()), Some("x"), &[]))
            .collect();
        let mut buf = Vec::new();
        encode(&mut buf, 0, &records, None).unwrap();
        let frame = Frame::new(Bytes::from(buf)).unwrap();
        let mut reader = frame.records();
        reader.skip(7).unwrap();
        assert_eq!(reader.remaining(), 3);
        assert_eq!(reader.next_record().unwrap(), Some(records[7].clone()));
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let records = vec![record(1, Some("key"), Some("value"), &[("h", Some("v"))])];
        let mut buf = Vec::new();
        encode(&mut buf, 0, &records, Some(b"m")).unwrap();
        for i in 0..buf.len() {
            let mut bad = buf.clone();
            bad[i] ^= 0x40;
            assert!(Frame::new(Bytes::from(bad)).is_err(), "flip at {i} went unnoticed");
        }
    }

    #[test]
    fn truncated_frames_are_errors() {
        let mut buf = Vec::new();
        encode(&mut buf, 0, &[record(1, Some("k"), Some("v"), &[])], None).unwrap();
        for len in 0..buf.len() {
            assert!(Frame::new(Bytes::copy_from_slice(&buf[..len])).is_err());
        }
    }

    #[test]
    fn header_rejects_impossible_fields() {
        let mut buf = Vec::new();
        encode(&mut buf, 0, &[record(1, None, None, &[])], None).unwrap();
        let mut many = buf.clone();
        many[17..21].copy_from_slice(&1_000u32.to_le_bytes());
        assert_eq!(FrameHeader::parse(&many), Err(FrameError::Field("record count")));
        let mut short = buf.clone();
        short[1..5].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(FrameHeader::parse(&short), Err(FrameError::Length(3)));
        let mut meta = buf.clone();
        meta[37..41].copy_from_slice(&100i32.to_le_bytes());
        assert_eq!(FrameHeader::parse(&meta), Err(FrameError::Field("metadata length")));
        let mut negative = buf;
        negative[9..17].copy_from_slice(&(-5i64).to_le_bytes());
        assert_eq!(FrameHeader::parse(&negative), Err(FrameError::Field("base offset")));
    }

    /// Random bodies behind a valid header and CRC exercise every length check of the record decoder.
    #[test]
    fn random_bodies_never_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let body_len = (seed % 64) as usize;
            let mut frame = vec![0u8; HEADER_LEN + body_len];
            for (i, b) in frame.iter_mut().enumerate().skip(HEADER_LEN) {
                *b = (seed >> (i % 8 * 8)) as u8 ^ (i as u8).wrapping_mul(31);
            }
            frame[0] = MAGIC;
            let len = frame.len() as u32;
            frame[1..5].copy_from_slice(&len.to_le_bytes());
            frame[17..21].copy_from_slice(&((round % 5) as u32).to_le_bytes());
            frame[37..41].copy_from_slice(&NO_METADATA.to_le_bytes());
            let crc = crc32fast::hash(&frame[CRC_START..]);
            frame[5..9].copy_from_slice(&crc.to_le_bytes());
            if let Ok(frame) = Frame::new(Bytes::from(frame)) {
                let mut reader = frame.records();
                while let Ok(Some(_)) = reader.next_record() {}
            }
        }
    }
}
