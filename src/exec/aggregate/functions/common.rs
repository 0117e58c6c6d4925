//! Helpers shared by the accumulators: argument checks, slot access that reports instead of panicking, row
//! iteration that skips [`SKIP`] rows and nulls, and the little-endian codec of checkpoint bytes.

use datafusion::arrow::array::{Array, ArrayRef, ArrowPrimitiveType, AsArray, PrimitiveArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::error::{DataFusionError, Result};

use crate::exec::aggregate::accumulator::SKIP;

/// An error about state bytes that `save` did not write (a damaged checkpoint).
pub(super) fn corrupt(function: &str, what: &str) -> DataFusionError {
    DataFusionError::Execution(format!("corrupt {function} aggregate state: {what}"))
}

/// A slot the accumulator was not resized for: the caller's bug, reported rather than panicking.
pub(super) fn bad_slot(slot: u32, len: usize) -> DataFusionError {
    DataFusionError::Execution(format!(
        "internal error: aggregate slot {slot} out of range (have {len} slots)"
    ))
}

/// Checks that the batch has the arguments the accumulator reads and one slot per row.
pub(super) fn check_batch(args: &[ArrayRef], needed: usize, slots: &[u32]) -> Result<()> {
    if args.len() < needed {
        return Err(DataFusionError::Execution(format!(
            "internal error: aggregate expects {needed} argument column(s), got {}",
            args.len()
        )));
    }
    if let Some(a) = args.iter().take(needed).find(|a| a.len() != slots.len()) {
        return Err(DataFusionError::Execution(format!(
            "internal error: aggregate argument has {} rows but {} slots were given",
            a.len(),
            slots.len()
        )));
    }
    Ok(())
}

/// Like `check_batch`, and also checks the per-row sequence numbers.
pub(super) fn check_sequence(sequence: &[u64], slots: &[u32]) -> Result<()> {
    if sequence.len() != slots.len() {
        return Err(DataFusionError::Execution(format!(
            "internal error: {} sequence numbers for {} rows",
            sequence.len(),
            slots.len()
        )));
    }
    Ok(())
}

/// The argument as a primitive array of `T`, checking its Arrow type first (so a planner mismatch is an error,
/// not a panic).
pub(super) fn primitive<'a, T: ArrowPrimitiveType>(
    array: &'a ArrayRef,
    expected: &datafusion::arrow::datatypes::DataType,
) -> Result<&'a PrimitiveArray<T>> {
    if array.data_type() != expected {
        return Err(DataFusionError::Execution(format!(
            "internal error: aggregate expected {expected} argument, got {}",
            array.data_type()
        )));
    }
    array
        .as_primitive_opt::<T>()
        .ok_or_else(|| DataFusionError::Execution(format!("internal error: cannot read {expected} argument")))
}

/// `(row, slot)` for every row that is not skipped and whose value is not null.
#[inline]
pub(super) fn valid_rows<'a>(
    slots: &'a [u32],
    nulls: Option<&'a NullBuffer>,
) -> impl Iterator<Item = (usize, u32)> + 'a {
    slots
        .iter()
        .enumerate()
        .filter(move |(i, s)| **s != SKIP && nulls.is_none_or(|n| n.is_valid(*i)))
        .map(|(i, s)| (i, *s))
}

/// `(row, slot)` for every row that is not skipped, nulls included.
#[inline]
pub(super) fn live_rows(slots: &[u32]) -> impl Iterator<Item = (usize, u32)> + '_ {
    slots
        .iter()
        .enumerate()
        .filter(|(_, s)| **s != SKIP)
        .map(|(i, s)| (i, *s))
}

#[inline]
pub(super) fn get<T>(v: &[T], slot: u32) -> Result<&T> {
    v.get(slot as usize).ok_or_else(|| bad_slot(slot, v.len()))
}

#[inline]
pub(super) fn get_mut<T>(v: &mut [T], slot: u32) -> Result<&mut T> {
    let len = v.len();
    v.get_mut(slot as usize).ok_or_else(|| bad_slot(slot, len))
}

/// Checks `into != from` and both in range, for accumulators that index several vectors.
pub(super) fn check_merge(len: usize, into: u32, from: u32) -> Result<()> {
    if into as usize >= len {
        return Err(bad_slot(into, len));
    }
    if from as usize >= len {
        return Err(bad_slot(from, len));
    }
    if into == from {
        return Err(DataFusionError::Execution(format!(
            "internal error: cannot merge aggregate slot {into} into itself"
        )));
    }
    Ok(())
}

pub(super) fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}
pub(super) fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}
pub(super) fn put_bytes(out: &mut Vec<u8>, v: &[u8]) {
    put_u32(out, v.len() as u32);
    out.extend_from_slice(v);
}

/// Reads what the `put_*` functions wrote; every read past the end, and unread bytes at `finish`, are errors.
pub(super) struct Reader<'a> {
    buf: &'a [u8],
    function: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], function: &'static str) -> Self {
        Self { buf, function }
    }

    pub fn err(&self, what: &str) -> DataFusionError {
        corrupt(self.function, what)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(self.err("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub fn i128(&mut self) -> Result<i128> {
        Ok(i128::from_le_bytes(self.array()?))
    }
    pub fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    /// A count of items that each take at least `min_item` bytes, checked against what is left (so a corrupt
    /// count cannot make us reserve gigabytes).
    pub fn count(&mut self, min_item: usize) -> Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_item.max(1)) > self.buf.len() {
            return Err(self.err("count exceeds the data"));
        }
        Ok(n)
    }

    pub fn finish(self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(corrupt(self.function, "trailing bytes"))
        }
    }
}

/// Java's `Double.compareTo` order: -0.0 before 0.0, every NaN equal and above +Infinity.
#[inline]
pub(super) fn java_double_cmp(a: f64, b: f64) -> std::cmp::Ordering {
    match (a.is_nan(), b.is_nan()) {
        (false, false) => a.total_cmp(&b),
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Greater,
        (false, true) => std::cmp::Ordering::Less,
    }
}

/// A stable 64-bit hash (the same on every machine and version, since COUNT_DISTINCT keeps hashes in
/// checkpoints): murmur-style mixing of 8-byte words and a final avalanche.
pub(super) fn hash64(bytes: &[u8]) -> u64 {
    const K1: u64 = 0x87c3_7b91_1142_53d5;
    const K2: u64 = 0x4cf5_ad43_2745_937f;
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ (bytes.len() as u64).wrapping_mul(K2);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(K1).rotate_left(31).wrapping_mul(K2);
        h = (h ^ k).rotate_left(27).wrapping_mul(5).wrapping_add(0x52dc_e729);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut buf = [0u8; 8];
        buf[..rest.len()].copy_from_slice(rest);
        let k = u64::from_le_bytes(buf)
            .wrapping_mul(K1)
            .rotate_left(31)
            .wrapping_mul(K2);
        h ^= k;
    }
    fmix64(h)
}

#[inline]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_rejects_truncation_and_trailing_bytes() {
        let mut out = Vec::new();
        put_u32(&mut out, 7);
        put_bytes(&mut out, b"abc");
        let mut r = Reader::new(&out, "T");
        assert_eq!(r.u32().unwrap(), 7);
        assert_eq!(r.bytes().unwrap(), b"abc");
        r.finish().unwrap();

        let mut r = Reader::new(&out[..5], "T");
        r.u32().unwrap();
        assert!(r.bytes().is_err());

        out.push(0);
        let mut r = Reader::new(&out, "T");
        r.u32().unwrap();
        r.bytes().unwrap();
        assert!(r.finish().is_err());

        let huge = u32::MAX.to_le_bytes();
        assert!(Reader::new(&huge, "T").count(1).is_err());
    }

    #[test]
    fn java_double_order() {
        use std::cmp::Ordering::*;
        assert_eq!(java_double_cmp(-0.0, 0.0), Less);
        assert_eq!(java_double_cmp(f64::NAN, f64::INFINITY), Greater);
        assert_eq!(java_double_cmp(f64::NAN, -f64::NAN), Equal);
        assert_eq!(java_double_cmp(1.0, 2.0), Less);
    }

    const PINNED: u64 = 261_467_371_861_148_023;

    #[test]
    fn hash_is_stable_and_spreads() {
        assert_eq!(hash64(b"abc"), hash64(b"abc"));
        assert_ne!(hash64(b"abc"), hash64(b"abd"));
        assert_ne!(hash64(b""), hash64(b"\0"));
        // Pinned so that a change of the function (which would corrupt saved COUNT_DISTINCT state) is noticed.
        assert_eq!(hash64(b"ksql"), PINNED);
    }
}
