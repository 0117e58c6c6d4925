//! `EARLIEST_BY_OFFSET` and `LATEST_BY_OFFSET`, with or without `n`, ordered by the row's processing
//! sequence ([`UpdateContext::sequence`]).
//!
//! ksqlDB (`EarliestByOffset`, `LatestByOffset`, `KudafByOffsetUtils`):
//! - `ignoreNulls` defaults to true: null values are skipped. With `false`, a null is a value like any other.
//! - Without `n` the result has the argument's type, null for a group with no (non-skipped) value; with `n`
//!   (which must be at least 1) it is an ARRAY of up to `n` values in offset order, `[]` when empty.
//! - No undo (stream-only). Merging two session windows keeps the earliest / latest `n` of both by sequence.

use datafusion::arrow::array::ArrayRef;
use datafusion::error::{DataFusionError, Result};

use super::collect::list_array;
use super::common::{Reader, check_batch, check_merge, check_sequence, get, get_mut, live_rows, put_u32, put_u64};
use super::value::{ValueList, ValueType};
use crate::exec::aggregate::accumulator::{GroupsAccumulator, UpdateContext};

#[derive(Default)]
struct Entries {
    values: ValueList,
    /// Ascending, one per value.
    seqs: Vec<u64>,
}

impl Entries {
    fn heap_size(&self) -> usize {
        self.values.heap_size() + self.seqs.capacity() * 8
    }
}

pub(super) struct ByOffset {
    entries: Vec<Entries>,
    value_type: ValueType,
    latest: bool,
    n: usize,
    /// Returns an ARRAY (the call had `n`) rather than one value.
    array: bool,
    ignore_nulls: bool,
    heap: usize,
}

impl ByOffset {
    pub fn new(value_type: ValueType, latest: bool, n: Option<usize>, ignore_nulls: bool) -> Self {
        Self {
            entries: Vec::new(),
            value_type,
            latest,
            n: n.unwrap_or(1).max(1),
            array: n.is_some(),
            ignore_nulls,
            heap: 0,
        }
    }

    fn name(&self) -> &'static str {
        if self.latest {
            "LATEST_BY_OFFSET"
        } else {
            "EARLIEST_BY_OFFSET"
        }
    }
}

/// Adds a value in sequence order, keeping the earliest or latest `n`.
fn insert(e: &mut Entries, seq: u64, value: &[u8], n: usize, latest: bool) {
    let len = e.seqs.len();
    if len == n {
        // Full: a value that would fall outside the kept window changes nothing.
        if latest && seq <= e.seqs[0] || !latest && seq >= e.seqs[len - 1] {
            return;
        }
    }
    let pos = e.seqs.partition_point(|&s| s <= seq);
    e.seqs.insert(pos, seq);
    e.values.insert(pos, value);
    if e.seqs.len() > n {
        if latest {
            e.seqs.remove(0);
            e.values.drop_front(1);
        } else {
            e.seqs.truncate(n);
            e.values.truncate(n);
        }
    }
}

impl GroupsAccumulator for ByOffset {
    fn resize(&mut self, n: usize) {
        for e in self.entries.iter().skip(n) {
            self.heap -= e.heap_size();
        }
        self.entries.resize_with(n, Entries::default);
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], ctx: &UpdateContext<'_>) -> Result<()> {
        check_batch(args, 1, slots)?;
        check_sequence(ctx.sequence, slots)?;
        let col = self.value_type.column(&args[0])?;
        let mut scratch = Vec::new();
        for (i, s) in live_rows(slots) {
            if self.ignore_nulls && col.is_null(i) {
                continue;
            }
            let seq = ctx.sequence[i];
            let (n, latest) = (self.n, self.latest);
            let e = get_mut(&mut self.entries, s)?;
            let before = e.heap_size();
            if n == 1 && latest && e.seqs.first().is_none_or(|&last| last <= seq) {
                // The common case: replace in place, reusing the buffers.
                e.values.set_single(&col, i);
                e.seqs.clear();
                e.seqs.push(seq);
            } else if !latest && e.seqs.len() == n && e.seqs[n - 1] <= seq {
                continue;
            } else {
                scratch.clear();
                col.encode(i, &mut scratch);
                insert(e, seq, &scratch, n, latest);
            }
            self.heap = self.heap + e.heap_size() - before;
        }
        Ok(())
    }

    fn retract(&mut self, _: &[ArrayRef], _: &[u32], _: &UpdateContext<'_>) -> Result<()> {
        Err(DataFusionError::Execution(format!(
            "internal error: {} cannot remove rows (it does not support tables)",
            self.name()
        )))
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.entries.len(), into, from)?;
        let source = std::mem::take(&mut self.entries[from as usize]);
        self.heap -= source.heap_size();
        let target = &mut self.entries[into as usize];
        let before = target.heap_size();
        for (seq, v) in source.seqs.iter().zip(source.values.iter()) {
            insert(target, *seq, v, self.n, self.latest);
        }
        self.heap = self.heap + target.heap_size() - before;
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        if let Some(e) = self.entries.get_mut(slot as usize) {
            self.heap -= e.heap_size();
            *e = Entries::default();
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        if self.array {
            return list_array(
                &self.value_type,
                slots.iter().map(|&s| get(&self.entries, s).map(|e| &e.values)),
            );
        }
        let values = slots
            .iter()
            .map(|&s| {
                let e = get(&self.entries, s)?;
                // An empty group is null, whose encoding is `[0]`.
                Ok(if e.values.is_empty() {
                    &[0u8][..]
                } else {
                    e.values.get(0)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.value_type.decode(values.into_iter())
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        let empty = Entries::default();
        let e = self.entries.get(slot as usize).unwrap_or(&empty);
        e.values.save(out);
        put_u32(out, e.seqs.len() as u32);
        for &s in &e.seqs {
            put_u64(out, s);
        }
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, self.name());
        let values = ValueList::load(&mut r, &self.value_type)?;
        let count = r.count(8)?;
        let seqs = (0..count).map(|_| r.u64()).collect::<Result<Vec<_>>>()?;
        r.finish()?;
        if seqs.len() != values.len() || seqs.len() > self.n || !seqs.is_sorted() {
            return Err(r_err(self.name()));
        }
        if self.ignore_nulls && values.iter().any(|v| v == [0]) {
            return Err(r_err(self.name()));
        }
        let e = get_mut(&mut self.entries, slot)?;
        let loaded = Entries { values, seqs };
        self.heap = self.heap + loaded.heap_size() - e.heap_size();
        *e = loaded;
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entries>() + self.heap
    }
}

fn r_err(name: &str) -> DataFusionError {
    super::common::corrupt(name, "inconsistent entries")
}

/// `EARLIEST_BY_OFFSET(col)` / `LATEST_BY_OFFSET(col)` without `n`: one value per group, stored flat for the
/// fixed-width types (a BIGINT group costs 8 + 9 + 1 bytes) and as one byte vector per group for STRING/BYTES.
pub(super) struct SingleByOffset {
    seqs: Vec<u64>,
    present: Vec<bool>,
    /// Encoded width (marker and key) of a fixed-width type; `None` for STRING and BYTES.
    width: Option<usize>,
    /// Fixed-width values, `width` bytes per slot (a null is `[0]` and padding).
    flat: Vec<u8>,
    /// Variable-width values, one per slot.
    var: Vec<Vec<u8>>,
    value_type: ValueType,
    latest: bool,
    ignore_nulls: bool,
    heap: usize,
    scratch: Vec<u8>,
}

impl SingleByOffset {
    pub fn new(value_type: ValueType, latest: bool, ignore_nulls: bool) -> Self {
        use super::value::Kind;
        let width = match value_type.kind {
            Kind::Bool => Some(2),
            Kind::I32 => Some(5),
            Kind::I64 | Kind::F64 => Some(9),
            Kind::Dec => Some(17),
            Kind::Str | Kind::Bin => None,
        };
        Self {
            seqs: Vec::new(),
            present: Vec::new(),
            width,
            flat: Vec::new(),
            var: Vec::new(),
            value_type,
            latest,
            ignore_nulls,
            heap: 0,
            scratch: Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        if self.latest {
            "LATEST_BY_OFFSET"
        } else {
            "EARLIEST_BY_OFFSET"
        }
    }

    /// Whether a value at `seq` replaces the slot's current one.
    #[inline]
    fn wins(&self, slot: usize, seq: u64) -> bool {
        !self.present[slot]
            || if self.latest {
                seq >= self.seqs[slot]
            } else {
                seq < self.seqs[slot]
            }
    }

    /// The slot's encoded value (meaningful only when present).
    fn value(&self, slot: usize) -> &[u8] {
        match self.width {
            Some(w) => {
                let v = &self.flat[slot * w..(slot + 1) * w];
                if v[0] == 0 { &v[..1] } else { v }
            }
            None => &self.var[slot],
        }
    }

    /// Stores an encoded value in the slot.
    fn store(&mut self, slot: usize, encoded: &[u8]) {
        match self.width {
            Some(w) => {
                let dst = &mut self.flat[slot * w..(slot + 1) * w];
                dst.fill(0);
                dst[..encoded.len()].copy_from_slice(encoded);
            }
            None => {
                let v = &mut self.var[slot];
                let before = v.capacity();
                v.clear();
                v.extend_from_slice(encoded);
                self.heap = self.heap + v.capacity() - before;
            }
        }
    }

    fn clear_slot(&mut self, slot: usize) {
        self.present[slot] = false;
        self.seqs[slot] = 0;
        match self.width {
            Some(w) => self.flat[slot * w..(slot + 1) * w].fill(0),
            None => self.heap -= std::mem::take(&mut self.var[slot]).capacity(),
        }
    }
}

impl GroupsAccumulator for SingleByOffset {
    fn resize(&mut self, n: usize) {
        self.seqs.resize(n, 0);
        self.present.resize(n, false);
        match self.width {
            Some(w) => self.flat.resize(n * w, 0),
            None => {
                for v in self.var.iter().skip(n) {
                    self.heap -= v.capacity();
                }
                self.var.resize_with(n, Vec::new);
            }
        }
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], ctx: &UpdateContext<'_>) -> Result<()> {
        check_batch(args, 1, slots)?;
        check_sequence(ctx.sequence, slots)?;
        let col = self.value_type.column(&args[0])?;
        let mut scratch = std::mem::take(&mut self.scratch);
        for (i, s) in live_rows(slots) {
            if self.ignore_nulls && col.is_null(i) {
                continue;
            }
            get(&self.present, s)?;
            let (s, seq) = (s as usize, ctx.sequence[i]);
            if self.wins(s, seq) {
                scratch.clear();
                col.encode(i, &mut scratch);
                self.store(s, &scratch);
                self.seqs[s] = seq;
                self.present[s] = true;
            }
        }
        self.scratch = scratch;
        Ok(())
    }

    fn retract(&mut self, _: &[ArrayRef], _: &[u32], _: &UpdateContext<'_>) -> Result<()> {
        Err(DataFusionError::Execution(format!(
            "internal error: {} cannot remove rows (it does not support tables)",
            self.name()
        )))
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.present.len(), into, from)?;
        let (i, f) = (into as usize, from as usize);
        if self.present[f] && self.wins(i, self.seqs[f]) {
            let v = self.value(f).to_vec();
            self.store(i, &v);
            self.seqs[i] = self.seqs[f];
            self.present[i] = true;
        }
        self.clear_slot(f);
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        if (slot as usize) < self.present.len() {
            self.clear_slot(slot as usize);
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        let values = slots
            .iter()
            .map(|&s| {
                let present = *get(&self.present, s)?;
                Ok(if present { self.value(s as usize) } else { &[0u8][..] })
            })
            .collect::<Result<Vec<_>>>()?;
        self.value_type.decode(values.into_iter())
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        let s = slot as usize;
        if self.present.get(s).copied().unwrap_or(false) {
            out.push(1);
            put_u64(out, self.seqs[s]);
            super::common::put_bytes(out, self.value(s));
        } else {
            out.push(0);
        }
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, self.name());
        let loaded = match r.u8()? {
            0 => None,
            1 => {
                let seq = r.u64()?;
                let v = r.bytes()?;
                self.value_type.validate(v).map_err(|e| r.err(&e.to_string()))?;
                if self.ignore_nulls && v == [0] {
                    return Err(r.err("null value while ignoring nulls"));
                }
                Some((seq, v))
            }
            _ => return Err(r.err("bad marker")),
        };
        r.finish()?;
        get(&self.present, slot)?;
        let s = slot as usize;
        self.clear_slot(s);
        if let Some((seq, v)) = loaded {
            self.store(s, v);
            self.seqs[s] = seq;
            self.present[s] = true;
        }
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.seqs.capacity() * 8
            + self.present.capacity()
            + self.flat.capacity()
            + self.var.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.heap
            + self.scratch.capacity()
    }
}
