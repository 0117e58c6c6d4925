//! `HISTOGRAM(string)`: how often each distinct value occurs in a group, as MAP<STRING, BIGINT>.
//!
//! ksqlDB (`HistogramUdaf`): at most 1000 distinct keys per group — a new key beyond that is ignored while
//! existing keys keep counting; undo decrements and removes a key whose count drops below 1 (so it supports
//! tables); merge adds the second map into the first under the same limit. A Java `HashMap` has no order; we
//! emit keys sorted, so output is deterministic. Null values are skipped (an Arrow map cannot have a null key).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, MapArray, StringArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};

use super::common::{Reader, check_batch, check_merge, get, get_mut, put_bytes, put_i64, put_u32, valid_rows};
use crate::exec::aggregate::accumulator::{GroupsAccumulator, UpdateContext};
use crate::types::SqlType;

/// ksqlDB's fixed limit on distinct keys.
pub const HISTOGRAM_LIMIT: usize = 1000;

/// Rough heap cost of one entry beyond its key bytes (the key's box, the count, the table's slot).
const ENTRY_OVERHEAD: usize = 40;

pub(super) struct Histogram {
    maps: Vec<HashMap<Box<str>, i64>>,
    heap: usize,
}

impl Histogram {
    pub fn new() -> Self {
        Self {
            maps: Vec::new(),
            heap: 0,
        }
    }

    fn map_heap(m: &HashMap<Box<str>, i64>) -> usize {
        m.keys().map(|k| k.len() + ENTRY_OVERHEAD).sum()
    }

    fn apply(&mut self, args: &[ArrayRef], slots: &[u32], undo: bool) -> Result<()> {
        check_batch(args, 1, slots)?;
        if args[0].data_type() != &DataType::Utf8 {
            return Err(DataFusionError::Execution(format!(
                "internal error: HISTOGRAM expected a Utf8 argument, got {}",
                args[0].data_type()
            )));
        }
        let strings = args[0].as_string::<i32>();
        for (i, s) in valid_rows(slots, strings.nulls()) {
            let key = strings.value(i);
            let map = get_mut(&mut self.maps, s)?;
            if undo {
                if let Some(c) = map.get_mut(key) {
                    *c -= 1;
                    if *c < 1 {
                        map.remove(key);
                        self.heap -= key.len() + ENTRY_OVERHEAD;
                    }
                }
            } else if let Some(c) = map.get_mut(key) {
                *c = c.wrapping_add(1);
            } else if map.len() < HISTOGRAM_LIMIT {
                map.insert(key.into(), 1);
                self.heap += key.len() + ENTRY_OVERHEAD;
            }
        }
        Ok(())
    }
}

impl GroupsAccumulator for Histogram {
    fn resize(&mut self, n: usize) {
        for m in self.maps.iter().skip(n) {
            self.heap -= Self::map_heap(m);
        }
        self.maps.resize_with(n, HashMap::new);
    }

    fn update(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, false)
    }

    fn retract(&mut self, args: &[ArrayRef], slots: &[u32], _ctx: &UpdateContext<'_>) -> Result<()> {
        self.apply(args, slots, true)
    }

    fn merge(&mut self, into: u32, from: u32) -> Result<()> {
        check_merge(self.maps.len(), into, from)?;
        let source = std::mem::take(&mut self.maps[from as usize]);
        self.heap -= Self::map_heap(&source);
        let target = &mut self.maps[into as usize];
        // Sorted, so which keys make it under the limit does not depend on hash order.
        let mut entries: Vec<_> = source.into_iter().collect();
        entries.sort_unstable();
        for (k, v) in entries {
            if let Some(c) = target.get_mut(&k) {
                *c = c.wrapping_add(v);
            } else if target.len() < HISTOGRAM_LIMIT {
                self.heap += k.len() + ENTRY_OVERHEAD;
                target.insert(k, v);
            }
        }
        Ok(())
    }

    fn reset(&mut self, slot: u32) {
        if let Some(m) = self.maps.get_mut(slot as usize) {
            self.heap -= Self::map_heap(m);
            *m = HashMap::new();
        }
    }

    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef> {
        let DataType::Map(entries_field, sorted) =
            SqlType::Map(Box::new(SqlType::String), Box::new(SqlType::BigInt)).to_arrow()
        else {
            unreachable!("a MAP type is an Arrow map")
        };
        let DataType::Struct(fields) = entries_field.data_type().clone() else {
            unreachable!("map entries are a struct")
        };
        let mut lengths = Vec::with_capacity(slots.len());
        let (mut keys, mut counts) = (Vec::new(), Vec::new());
        for &s in slots {
            let map = get(&self.maps, s)?;
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_unstable();
            lengths.push(entries.len());
            for (k, v) in entries {
                keys.push(k.as_ref());
                counts.push(*v);
            }
        }
        let entries = StructArray::try_new(
            fields,
            vec![Arc::new(StringArray::from(keys)), Arc::new(Int64Array::from(counts))],
            None,
        )?;
        Ok(Arc::new(MapArray::try_new(
            entries_field,
            OffsetBuffer::from_lengths(lengths),
            entries,
            None,
            sorted,
        )?))
    }

    fn save(&self, slot: u32, out: &mut Vec<u8>) {
        let empty = HashMap::new();
        let map = self.maps.get(slot as usize).unwrap_or(&empty);
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort_unstable();
        put_u32(out, entries.len() as u32);
        for (k, v) in entries {
            put_bytes(out, k.as_bytes());
            put_i64(out, *v);
        }
    }

    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()> {
        let mut r = Reader::new(bytes, "HISTOGRAM");
        let n = r.count(12)?;
        if n > HISTOGRAM_LIMIT {
            return Err(r.err("too many keys"));
        }
        let mut map = HashMap::with_capacity(n);
        for _ in 0..n {
            let key = std::str::from_utf8(r.bytes()?).map_err(|_| r.err("invalid UTF-8 key"))?;
            let count = r.i64()?;
            if map.insert(Box::<str>::from(key), count).is_some() {
                return Err(r.err("duplicate key"));
            }
        }
        r.finish()?;
        let target = get_mut(&mut self.maps, slot)?;
        self.heap = self.heap + Self::map_heap(&map) - Self::map_heap(target);
        *target = map;
        Ok(())
    }

    fn memory_size(&self) -> usize {
        self.maps.capacity() * std::mem::size_of::<HashMap<Box<str>, i64>>() + self.heap
    }
}
