//! `COLLECT_LIST` and `COLLECT_SET`: the values of a group, as an ARRAY of the argument's type.
//!
//! ksqlDB (`CollectListUdaf`, `CollectSetUdaf`):
//! - Null values are collected like any other (Java adds `null` to the list).
//! - At most `ksql.functions.collect_list.limit` / `collect_set.limit` entries; further values are ignored
//!   silently. Open-source ksqlDB defaults to no limit; Confluent Cloud (and ksqlDB before the setting existed)
//!   uses 1000, which is what we use: an unbounded list per group is an unbounded amount of state.
//! - COLLECT_LIST undo removes the **last** occurrence of the value (a value never added because of the limit
//!   is not found and nothing happens); COLLECT_SET has no undo (it is a stream-only `Udaf`), so it cannot
//!   aggregate tables.
//! - Merging session windows appends the second list to the first up to the limit (COLLECT_SET skips values
//!   already present).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, ListArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::Field;
use datafusion::error::{DataFusionError, Result};

use super::common::{Reader, check_batch, check_merge, get, get_mut, live_rows};
use super::value::{ValueList, ValueType};
use crate::exec::aggregate::accumulator::{GroupsAccumulator, UpdateContext};

/// ksqlDB's `collect_list` / `collect_set` limit as fixed in Confluent Cloud.
pub const COLLECT_LIMIT: usize = 1000;

/// Builds an ARRAY column (ksqlDB's `List(item nullable)`) from one value list per output row.
pub(super) fn list_array<'a>(vt: &ValueType, lists: impl Iterator<Item = Result<&'a ValueList>>) -> Result<ArrayRef> {
    let lists = lists.collect::<Result<Vec<_>>>()?;
    let offsets = OffsetBuffer::from_lengths(lists.iter().map(|l| l.len()));
    let values = vt.decode(lists.iter().flat_map(|l| l.iter()))?;
    let field = Arc::new(Field::new("item", vt.data_type.clone(), true));
    Ok(Arc::new(ListArray::try_new(field, offsets, values, None)?))
}

pub(super) struct Collect {
    lists: Vec<ValueList>,
    value_type: ValueType,
    distinct: bool,
    limit: usize,
    heap: usize,
    scratch: Vec<u8>,
}

impl Collect {
    pub fn new(value_type: ValueType, distinct: bool, limit: usize) -> Self {
        Self {
            lists: Vec::new(),
            value_type,
            distinct,
            limit,
            heap: 0,
            scratch: Vec::new(),
        }
    }

    fn name(&self) -> &'static str {
        if self.distinct { "COLLECT_SET" } else { "COLLECT_LIST" }
    }
}

impl GroupsAccumulator for Collect {
    fn resize(&mut self, n: usize) {
        for l in self.lists.iter().skip(n) {
            self.heap -= l.heap_size();
        }
        self.lists.resize_with(n, ValueList::default);
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        check_batch(args, 1, slots)?;
        let col = self.value_type.column(&args[0])?;
        for (i, s) in live_rows(slots) {
            let list = get_mut(&mut self.lists, s)?;
            if list.len() >= self.limit {
                continue;
            }
            let before = list.heap_size();
            if self.distinct {
                self.scratch.clear();
                col.encode(i, &mut self.scratch);
                if list.iter().any(|v| v == self.scratch.as_slice()) {
                    continue;
                }
                list.push(&self.scratch);
            } else {
                list.push_encoded(&col, i);
            }
            self.heap = self.heap + list.heap_size() - before;
        }
        Ok(())
    }

    fn retract(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        if self.distinct {
            return Err(DataFusionError::Execution(
                "internal error: COLLECT_SET cannot remove rows (it does not support tables)".into(),
            ));
        }
        check_batch(args, 1, slots)?;
        let col = self.value_type.column(&args[0])?;
        for (i, s) in live_rows(slots) {
            self.scratch.clear();
            col.encode(i, &mut self.scratch);
            let list = get_mut(&mut self.lists, s)?;
            let found = list.iter().rposition(|v| v == self.scratch.as_slice());
            if let Some(pos) = found {
                list.remove(pos);
            }
        }
        Ok(())
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.lists.len(), into, from)?;
        let source = std::mem::take(&mut self.lists[from as usize]);
        self.heap -= source.heap_size();
        let target = &mut self.lists[into as usize];
        let before = target.heap_size();
        for v in source.iter() {
            if target.len() >= self.limit {
                break;
            }
            if self.distinct && target.iter().any(|t| t == v) {
                continue;
            }
            target.push(v);
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
        if list.len() > self.limit {
            return Err(super::common::corrupt(self.name(), "more entries than the limit"));
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
