//! `COUNT(*)` and `COUNT(col)`: one `i64` per group.
//!
//! ksqlDB (`CountKudaf`): starts at 0, adds 1 per row whose argument is not null (every row for `COUNT(*)`),
//! subtracts on undo, merges by addition; Java `long` arithmetic, so it wraps rather than failing.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array};
use datafusion::error::Result;

use super::common::{Reader, check_batch, check_merge, get, get_mut, put_i64, valid_rows};
use crate::exec::aggregate::accumulator::{GroupsAccumulator, UpdateContext};

pub(super) struct Count {
    /// `COUNT(*)`: counts rows, reads no argument.
    star: bool,
    counts: Vec<i64>,
}

impl Count {
    pub fn new(star: bool) -> Self {
        Self {
            star,
            counts: Vec::new(),
        }
    }

    fn apply(&mut self, args: &[ArrayRef], slots: &[u32], delta: i64) -> Result<()> {
        if self.star {
            for (_, s) in valid_rows(slots, None) {
                let c = get_mut(&mut self.counts, s)?;
                *c = c.wrapping_add(delta);
            }
            return Ok(());
        }
        check_batch(args, 1, slots)?;
        for (_, s) in valid_rows(slots, args[0].logical_nulls().as_ref()) {
            let c = get_mut(&mut self.counts, s)?;
            *c = c.wrapping_add(delta);
        }
        Ok(())
    }
}

impl GroupsAccumulator for Count {
    fn resize(&mut self, n: usize) {
        self.counts.resize(n, 0);
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, 1)
    }

    fn retract(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, -1)
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.counts.len(), into, from)?;
        let f = std::mem::take(&mut self.counts[from as usize]);
        let i = &mut self.counts[into as usize];
        *i = i.wrapping_add(f);
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        if let Some(c) = self.counts.get_mut(slot as usize) {
            *c = 0;
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        let values = slots
            .iter()
            .map(|&s| get(&self.counts, s).copied())
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(Int64Array::from(values)))
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        put_i64(out, self.counts.get(slot as usize).copied().unwrap_or(0));
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, "COUNT");
        let v = r.i64()?;
        r.finish()?;
        *get_mut(&mut self.counts, slot)? = v;
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.counts.capacity() * 8
    }
}
