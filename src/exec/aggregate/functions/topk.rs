//! `TOPK(col, k)` and `TOPKDISTINCT(col, k)`: the `k` largest (distinct) values of a group, descending, as an
//! ARRAY of the argument's type.
//!
//! ksqlDB (`TopkKudaf`, `TopkDistinctKudaf`): INT, BIGINT, DOUBLE and STRING (we also take the other ordered
//! scalar types: DECIMAL, DATE, TIME, TIMESTAMP, BYTES); nulls ignored; `[]` for a group without values; no
//! undo (stream-only); merge keeps the `k` largest of both. Values compare like Java's `compareTo`.

use datafusion::arrow::array::ArrayRef;
use datafusion::error::{DataFusionError, Result};

use super::collect::list_array;
use super::common::{Reader, check_batch, check_merge, get, get_mut, valid_rows};
use super::value::{ValueList, ValueType};
use crate::exec::aggregate::accumulator::{GroupsAccumulator, UpdateContext};

pub(super) struct TopK {
    /// Each group's values, largest first.
    lists: Vec<ValueList>,
    value_type: ValueType,
    k: usize,
    distinct: bool,
    heap: usize,
    scratch: Vec<u8>,
}

impl TopK {
    pub fn new(value_type: ValueType, k: usize, distinct: bool) -> Self {
        Self {
            lists: Vec::new(),
            value_type,
            k: k.max(1),
            distinct,
            heap: 0,
            scratch: Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        if self.distinct { "TOPKDISTINCT" } else { "TOPK" }
    }
}

/// Inserts `v` into a descending list of at most `k` values.
fn offer(list: &mut ValueList, v: &[u8], k: usize, distinct: bool) {
    let len = list.len();
    if len == k && v <= list.get(len - 1) && !(distinct && v == list.get(len - 1)) {
        return;
    }
    // First position whose value is smaller than `v` (after any equal ones).
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if list.get(mid) >= v { lo = mid + 1 } else { hi = mid }
    }
    if distinct && lo > 0 && list.get(lo - 1) == v {
        return;
    }
    if lo >= k {
        return;
    }
    list.insert(lo, v);
    list.truncate(k);
}

impl GroupsAccumulator for TopK {
    fn resize(&mut self, n: usize) {
        for l in self.lists.iter().skip(n) {
            self.heap -= l.heap_size();
        }
        self.lists.resize_with(n, ValueList::default);
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        check_batch(args, 1, slots)?;
        let col = self.value_type.column(&args[0])?;
        for (i, s) in valid_rows(slots, col.nulls()) {
            self.scratch.clear();
            col.encode(i, &mut self.scratch);
            let list = get_mut(&mut self.lists, s)?;
            let before = list.heap_size();
            offer(list, &self.scratch, self.k, self.distinct);
            self.heap = self.heap + list.heap_size() - before;
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
        check_merge(self.lists.len(), into, from)?;
        let source = std::mem::take(&mut self.lists[from as usize]);
        self.heap -= source.heap_size();
        let target = &mut self.lists[into as usize];
        let before = target.heap_size();
        for v in source.iter() {
            offer(target, v, self.k, self.distinct);
        }
        self.heap = self.heap + target.heap_size() - before;
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        if let Some(l) = self.lists.get_mut(slot as usize) {
            self.heap -= l.heap_size();
            l.free();
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        list_array(&self.value_type, slots.iter().map(|&s| get(&self.lists, s)))
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        match self.lists.get(slot as usize) {
            Some(l) => l.save(out),
            None => ValueList::default().save(out),
        }
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, self.name());
        let list = ValueList::load(&mut r, &self.value_type)?;
        r.finish()?;
        let ordered = list
            .iter()
            .zip(list.iter().skip(1))
            .all(|(a, b)| if self.distinct { a > b } else { a >= b });
        if list.len() > self.k || !ordered || list.iter().any(|v| v == [0]) {
            return Err(super::common::corrupt(self.name(), "entries out of order"));
        }
        let target = get_mut(&mut self.lists, slot)?;
        self.heap = self.heap + list.heap_size() - target.heap_size();
        *target = list;
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.lists.capacity() * std::mem::size_of::<ValueList>() + self.heap + self.scratch.capacity()
    }
}
