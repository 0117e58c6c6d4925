//! [`AggregatePipeline`]: `GROUP BY` aggregation over a stream or a table, optionally windowed, emitting every
//! change (`EMIT CHANGES`) or each window once when it closes (`EMIT FINAL`).
//!
//! A batch is processed in three passes: expressions are evaluated over the whole batch; then each row, in
//! order, advances stream time and finds (or creates) its group slots — lateness, windows and session merges are
//! decided here; then every accumulator is updated once for the whole batch. Changed groups are emitted after
//! the batch (so a batch of one record emits each update, as ksqlDB does without caching).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, UInt32Array};
use datafusion::arrow::compute::{cast, filter_record_batch, take};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::physical_expr::PhysicalExpr;

use super::accumulator::{AggregateSpec, GroupsAccumulator, UpdateContext};
use super::slot_set::SlotSet;
use super::state::{GroupTable, SlotInfo, decode_slot_header, encode_slot_header, push_chunk, read_chunks, state_key};
use super::windows::{Window, WindowDef, WindowKind};
use crate::exec::ExecError;
use crate::exec::dead_letter::{DeadLetter, ErrorKind};
use crate::exec::eval::{evaluate_isolating, evaluate_predicate};
use crate::exec::pipeline::{OutputColumn, Pipeline, PipelineOutput, ViewUpdate};
use crate::exec::sink::SinkRecord;
use crate::exec::source::{SourceCounters, SourceDecoder};
use crate::format::{Decoder, Encoder};
use crate::state::StateDelta;
use crate::topics::{ConsumedRecord, Record, partition_for_key};

/// One aggregate call: its function and argument expressions over the source batch.
pub struct AggregateInput {
    pub spec: Arc<AggregateSpec>,
    pub args: Vec<(Arc<dyn PhysicalExpr>, DataType)>,
    /// As written, for error messages.
    pub text: String,
}

/// Everything an aggregation needs besides its codecs.
pub struct AggregateSpecs {
    pub query_id: Arc<str>,
    pub filter: Option<(Arc<dyn PhysicalExpr>, String)>,
    /// GROUP BY expressions over the source batch, with their (sink key) types.
    pub group_by: Vec<(Arc<dyn PhysicalExpr>, DataType, String)>,
    pub aggregates: Vec<AggregateInput>,
    pub window: Option<WindowDef>,
    pub emit_final: bool,
    /// Over `aggregate_schema`.
    pub having: Option<(Arc<dyn PhysicalExpr>, String)>,
    /// The sink's value columns, over `aggregate_schema`.
    pub values: Vec<OutputColumn>,
    /// Group key columns, aggregate results, then `WINDOWSTART`, `WINDOWEND`.
    pub aggregate_schema: SchemaRef,
    /// Partitions of the sink topic (output partitioning) and of stream time.
    pub partitions: u32,
    /// `EMIT CHANGES`: bytes of changed rows held back to coalesce updates of the same group (ksqlDB's
    /// `cache.max.bytes.buffering`); 0 emits every update after each batch.
    pub cache_bytes: usize,
}

/// Codecs an aggregation uses: the key format both to build group keys and to read them back.
pub struct AggregateCodecs {
    pub source: SourceDecoder,
    pub key_encoder: Encoder,
    pub key_decoder: Decoder,
    pub value_encoder: Encoder,
}

const META_KEY: &[u8] = b"m";
const GROUP_PREFIX: u8 = b'g';
const TABLE_ROW_PREFIX: u8 = b's';

/// A changed group to emit, or the removal of an old session.
enum Emission {
    Row(u32),
    /// Key bytes and window of a session that was replaced, with the timestamp of the record that replaced it.
    Tombstone {
        key: Box<[u8]>,
        window: Window,
        timestamp: i64,
        partition: u32,
        offset: i64,
    },
}

pub struct AggregatePipeline {
    spec: AggregateSpecs,
    codecs: AggregateCodecs,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    groups: GroupTable,
    stream_time: Vec<i64>,
    sequence: u64,
    /// EMIT FINAL: open windows per task partition, by (end, slot).
    open: Vec<BTreeSet<(i64, u32)>>,
    /// Windowed: groups by expiry time, per task partition.
    expiry: Vec<BTreeSet<(i64, u32)>>,
    windows_buffer: Vec<Window>,
    pub late_records: u64,
    /// The source is a table: its current rows by key, to retract a row's old contribution on update.
    table_source: bool,
    table_rows: HashMap<Box<[u8]>, Bytes>,
    table_dirty: BTreeSet<Vec<u8>>,
    null_keys: u64,
    cache: EmissionCache,
    /// The current batch's emissions (kept between batches to reuse its memory).
    pass: BatchEmissions,
}

/// Rows of one batch, ready to be grouped.
struct Prepared {
    rows: usize,
    origin: Vec<usize>,
    keys: Vec<Option<Bytes>>,
    args: Vec<Vec<ArrayRef>>,
    rowtime: Int64Array,
}

/// What one batch will emit: changed groups (once each, in the order they first changed) and session tombstones.
#[derive(Default)]
struct BatchEmissions {
    emissions: Vec<Emission>,
    /// Slots with a row in `emissions` (each slot gets at most one, even if it is freed and reused meanwhile).
    touched: SlotSet,
}

impl BatchEmissions {
    fn touch(&mut self, slot: u32, emit_final: bool) {
        if self.touched.insert(slot) && !emit_final {
            self.emissions.push(Emission::Row(slot));
        }
    }

    /// Takes the emissions, leaving the set empty (its memory is kept for the next batch); drops rows of groups
    /// that no longer exist (merged away or evicted).
    fn finish(&mut self, groups: &GroupTable) -> Vec<Emission> {
        self.touched.take();
        let mut emissions = std::mem::take(&mut self.emissions);
        emissions.retain(|e| match e {
            Emission::Row(s) => groups.slots.get(*s as usize).is_some_and(|i| i.live),
            Emission::Tombstone { .. } => true,
        });
        emissions
    }
}

/// `EMIT CHANGES` rows held back between batches, so a group that changes many times within a commit interval
/// is emitted once, with its latest value (ksqlDB's record cache). Emitted when full, before a held group is
/// evicted, and before every checkpoint.
#[derive(Default)]
struct EmissionCache {
    limit_bytes: usize,
    bytes: usize,
    held: BatchEmissions,
}

/// What a held row is counted as in the cache: its key plus a fixed estimate of the value and bookkeeping.
const HELD_ROW_OVERHEAD: usize = 64;

impl EmissionCache {
    fn enabled(&self) -> bool {
        self.limit_bytes > 0
    }

    fn hold(&mut self, emissions: Vec<Emission>, groups: &GroupTable) {
        for e in emissions {
            match e {
                Emission::Row(slot) => {
                    if self.held.touched.insert(slot) {
                        let key_len = groups.slots.get(slot as usize).map_or(0, |i| i.key.len());
                        self.bytes += key_len + HELD_ROW_OVERHEAD;
                        self.held.emissions.push(Emission::Row(slot));
                    }
                }
                Emission::Tombstone { .. } => {
                    self.bytes += HELD_ROW_OVERHEAD;
                    self.held.emissions.push(e);
                }
            }
        }
    }

    fn full(&self) -> bool {
        self.bytes >= self.limit_bytes
    }

    fn holds(&self, slot: u32) -> bool {
        self.held.touched.contains(slot)
    }

    fn take(&mut self, groups: &GroupTable) -> Vec<Emission> {
        self.bytes = 0;
        self.held.finish(groups)
    }
}

impl AggregatePipeline {
    pub fn new(spec: AggregateSpecs, codecs: AggregateCodecs) -> Self {
        let accumulators = spec.aggregates.iter().map(|a| (a.spec.create)()).collect();
        let n = spec.partitions.max(1) as usize;
        AggregatePipeline {
            accumulators,
            groups: GroupTable::default(),
            stream_time: vec![i64::MIN; n],
            sequence: 0,
            open: vec![BTreeSet::new(); n],
            expiry: vec![BTreeSet::new(); n],
            windows_buffer: Vec::new(),
            late_records: 0,
            table_source: codecs.source.kind() == crate::sql::ast::SourceKind::Table,
            table_rows: HashMap::new(),
            table_dirty: BTreeSet::new(),
            null_keys: 0,
            pass: BatchEmissions::default(),
            cache: EmissionCache {
                limit_bytes: if spec.emit_final { 0 } else { spec.cache_bytes },
                ..EmissionCache::default()
            },
            spec,
            codecs,
        }
    }

    fn grow(&mut self) {
        let n = self.groups.capacity();
        for acc in &mut self.accumulators {
            acc.resize(n);
        }
    }

    fn dead_letter(&self, kind: ErrorKind, message: String, record: &ConsumedRecord) -> DeadLetter {
        DeadLetter::for_record(&self.spec.query_id, kind, message, record)
    }

    /// Allocates a group slot and registers it for expiry / final emission.
    fn new_slot(&mut self, info: SlotInfo, indexed: bool) -> u32 {
        let tp = info.task_partition as usize;
        let window = info.window;
        let slot = self.groups.insert(info, indexed);
        self.grow();
        for acc in &mut self.accumulators {
            acc.reset(slot);
        }
        if let (Some(w), Some(def)) = (window, self.spec.window) {
            self.track_window(slot, w, tp, &def);
        }
        slot
    }

    fn track_window(&mut self, slot: u32, w: Window, tp: usize, def: &WindowDef) {
        let expires = match def.kind {
            WindowKind::Session { .. } => w.end.saturating_add(def.retention),
            _ => w.start.saturating_add(def.retention),
        };
        self.expiry[tp].insert((expires, slot));
        if self.spec.emit_final {
            self.open[tp].insert((w.end, slot));
        }
    }

    fn untrack_window(&mut self, slot: u32) {
        let Some(info) = self.groups.slots.get(slot as usize) else {
            return;
        };
        let (Some(w), Some(def)) = (info.window, self.spec.window) else {
            return;
        };
        let tp = info.task_partition as usize;
        let expires = match def.kind {
            WindowKind::Session { .. } => w.end.saturating_add(def.retention),
            _ => w.start.saturating_add(def.retention),
        };
        self.expiry[tp].remove(&(expires, slot));
        self.open[tp].remove(&(w.end, slot));
    }

    fn drop_slot(&mut self, slot: u32) {
        self.untrack_window(slot);
        if let Some(info) = self.groups.slots.get(slot as usize)
            && info.window.is_some()
            && self.spec.window.is_some_and(|d| d.is_session())
        {
            let key = info.key.clone();
            if let Some(s) = self.groups.sessions.get_mut(&*key) {
                s.windows.retain(|(_, sl)| *sl != slot);
                if s.windows.is_empty() {
                    self.groups.sessions.remove(&*key);
                }
            }
        }
        self.groups.remove(slot);
        for acc in &mut self.accumulators {
            acc.reset(slot);
        }
    }

    /// Builds the emitted rows: key, value (None for tombstones), timestamp and source position.
    fn emit(&mut self, emissions: Vec<Emission>, out: &mut PipelineOutput) -> Result<(), ExecError> {
        if emissions.is_empty() {
            return Ok(());
        }
        let slots: Vec<u32> = emissions
            .iter()
            .filter_map(|e| match e {
                Emission::Row(s) => Some(*s),
                Emission::Tombstone { .. } => None,
            })
            .collect();
        // Values of the changed groups, in `slots` order.
        let mut values: Vec<Option<Bytes>> = Vec::new();
        let mut passes: Vec<bool> = Vec::new();
        if !slots.is_empty() {
            let batch = self.aggregate_batch(&slots)?;
            passes = match &self.spec.having {
                None => vec![true; slots.len()],
                Some((expr, text)) => {
                    let (mask, failures) = evaluate_predicate(expr.as_ref(), &batch);
                    for f in failures {
                        tracing::debug!(query = %self.spec.query_id, "HAVING {text} failed: {}", f.message);
                    }
                    mask.iter().map(|m| m.unwrap_or(false)).collect()
                }
            };
            let mut columns = Vec::with_capacity(self.spec.values.len());
            for col in &self.spec.values {
                let (array, failures) = evaluate_isolating(col.expr.as_ref(), &batch, &col.data_type);
                for f in failures {
                    let slot = slots[f.row];
                    out.dead_letters.push(self.group_dead_letter(
                        slot,
                        format!(
                            "Error computing expression {} for column {}: {}",
                            col.text, col.name, f.message
                        ),
                    ));
                }
                columns.push(if array.data_type() == &col.data_type {
                    array
                } else {
                    cast(&array, &col.data_type)?
                });
            }
            values = self.codecs.value_encoder.encode(&columns, slots.len())?;
        }

        let mut row = 0;
        for e in emissions {
            match e {
                Emission::Tombstone {
                    key,
                    window,
                    timestamp,
                    partition,
                    offset,
                } => self.push_output(out, &key, Some(window), None, timestamp, partition, offset),
                Emission::Row(slot) => {
                    let (value, pass) = (
                        values.get(row).cloned().flatten(),
                        passes.get(row).copied().unwrap_or(false),
                    );
                    row += 1;
                    let info = &self.groups.slots[slot as usize];
                    let (key, window, ts, sp, so, visible) = (
                        info.key.clone(),
                        info.window,
                        info.timestamp,
                        info.source_partition,
                        info.source_offset,
                        info.visible,
                    );
                    if pass {
                        self.groups.slots[slot as usize].visible = true;
                        self.push_output(out, &key, window, value, ts, sp, so);
                    } else if visible {
                        // A group that stops passing HAVING is deleted from the table.
                        self.groups.slots[slot as usize].visible = false;
                        self.push_output(out, &key, window, None, ts, sp, so);
                    }
                    self.groups.dirty.insert(slot);
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn push_output(
        &self,
        out: &mut PipelineOutput,
        key: &[u8],
        window: Option<Window>,
        value: Option<Bytes>,
        timestamp: i64,
        source_partition: u32,
        source_offset: i64,
    ) {
        let record_key = windowed_key(key, window, self.spec.window.as_ref());
        let partition = partition_for_key(key, self.spec.partitions);
        out.view_updates.push(ViewUpdate {
            key: record_key.clone(),
            value: value.clone().map(|v| (timestamp, v)),
        });
        out.records.push(SinkRecord {
            partition,
            record: Record {
                timestamp,
                key: Some(Bytes::from(record_key)),
                value,
                headers: vec![],
            },
            source_partition,
            source_offset,
        });
    }

    fn group_dead_letter(&self, slot: u32, message: String) -> DeadLetter {
        let info = &self.groups.slots[slot as usize];
        DeadLetter {
            query_id: self.spec.query_id.clone(),
            kind: ErrorKind::Processing,
            message,
            topic: Arc::from(""),
            partition: info.source_partition,
            offset: info.source_offset,
            timestamp: info.timestamp,
            key: Some(Bytes::copy_from_slice(&info.key)),
            value: None,
            window: info.window.map(|w| (w.start, w.end)),
        }
    }

    /// The aggregate-schema batch for `slots`: group keys decoded from their bytes, results, window bounds.
    fn aggregate_batch(&mut self, slots: &[u32]) -> Result<RecordBatch, ExecError> {
        let keys: Vec<Option<&[u8]>> = slots
            .iter()
            .map(|s| Some(&*self.groups.slots[*s as usize].key))
            .collect();
        let decoded = self.codecs.key_decoder.decode(&keys);
        if let Some((_, e)) = decoded.errors.first() {
            return Err(ExecError::Internal(format!("group key does not decode: {e}")));
        }
        let mut columns: Vec<ArrayRef> = decoded.arrays;
        for acc in &self.accumulators {
            columns.push(acc.evaluate(slots)?);
        }
        let window = |f: fn(Window) -> i64| -> ArrayRef {
            Arc::new(Int64Array::from(
                slots
                    .iter()
                    .map(|s| self.groups.slots[*s as usize].window.map(f))
                    .collect::<Vec<_>>(),
            ))
        };
        columns.push(window(|w| w.start));
        columns.push(window(|w| w.end));
        // Aggregates may return a narrower/wider Arrow type than declared; align with the schema.
        let schema = self.spec.aggregate_schema.clone();
        let columns = columns
            .into_iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c)
                } else {
                    cast(&c, f.data_type())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RecordBatch::try_new(schema, columns)?)
    }

    /// EMIT FINAL: windows whose end + grace is at or before their partition's stream time.
    fn close_windows(&mut self, emissions: &mut Vec<Emission>) -> Vec<u32> {
        let Some(def) = self.spec.window else { return vec![] };
        let mut closed = Vec::new();
        for tp in 0..self.open.len() {
            let st = self.stream_time[tp];
            while let Some(&(end, slot)) = self.open[tp].first() {
                let Some(info) = self.groups.slots.get(slot as usize) else {
                    self.open[tp].pop_first();
                    continue;
                };
                let Some(w) = info.window else {
                    self.open[tp].pop_first();
                    continue;
                };
                if !def.is_closed(w, st) {
                    break;
                }
                self.open[tp].pop_first();
                let _ = end;
                closed.push(slot);
            }
        }
        closed.sort_by_key(|s| {
            let i = &self.groups.slots[*s as usize];
            (i.window.map(|w| (w.end, w.start)), i.key.to_vec())
        });
        emissions.extend(closed.iter().map(|s| Emission::Row(*s)));
        closed
    }

    /// Whether the next eviction would drop a group whose latest change is still held back.
    fn evicts_held_group(&self) -> bool {
        if self.spec.window.is_none() {
            return false;
        }
        self.expiry.iter().enumerate().any(|(tp, expiring)| {
            let st = self.stream_time[tp];
            expiring
                .iter()
                .take_while(|(expires, _)| *expires <= st)
                .any(|(_, slot)| self.cache.holds(*slot))
        })
    }

    /// Drops groups whose windows have passed retention.
    fn evict_expired(&mut self) {
        for tp in 0..self.expiry.len() {
            let st = self.stream_time[tp];
            while let Some(&(expires, slot)) = self.expiry[tp].first() {
                if expires > st {
                    break;
                }
                self.drop_slot(slot);
            }
        }
    }
}

/// The record key of a windowed group, as Kafka Streams serializes windowed keys: the key, then the window
/// start (time windows) or the window end and start (sessions), as 8-byte big-endian longs.
pub fn windowed_key(key: &[u8], window: Option<Window>, def: Option<&WindowDef>) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.len() + 16);
    out.extend_from_slice(key);
    if let (Some(w), Some(def)) = (window, def) {
        if def.is_session() {
            out.extend_from_slice(&w.end.to_be_bytes());
            out.extend_from_slice(&w.start.to_be_bytes());
        } else {
            out.extend_from_slice(&w.start.to_be_bytes());
        }
    }
    out
}

impl Pipeline for AggregatePipeline {
    fn process(&mut self, records: &[ConsumedRecord], out: &mut PipelineOutput) -> Result<(), ExecError> {
        let decoded = self.codecs.source.decode(records, &mut out.dead_letters)?;
        let mut batch = decoded.batch;
        let mut origin = decoded.origin;
        let mut pass = std::mem::take(&mut self.pass);

        if self.table_source {
            // A table's record replaces the previous row of its key: take that row's contribution out first.
            let (previous, keep) = self.changelog(records, &origin);
            if !previous.is_empty() {
                let mut scratch = PipelineOutput::default();
                let old = self.codecs.source.decode(&previous, &mut scratch.dead_letters)?;
                if let Some(prepared) = self.prepare(old.batch, old.origin, &previous, &mut scratch)? {
                    self.retract(prepared, &previous, &mut pass)?;
                }
            }
            if keep.iter().any(|k| !k) {
                batch = filter_record_batch(&batch, &BooleanArray::from(keep.clone()))?;
                origin = origin
                    .into_iter()
                    .zip(keep)
                    .filter(|(_, k)| *k)
                    .map(|(i, _)| i)
                    .collect();
            }
        }
        if let Some(prepared) = self.prepare(batch, origin, records, out)? {
            self.accumulate(prepared, records, out, &mut pass)?;
        }
        let emissions = pass.finish(&self.groups);
        self.pass = pass;
        self.after_batch(emissions, out)
    }

    fn flush(&mut self, out: &mut PipelineOutput) -> Result<(), ExecError> {
        let held = self.cache.take(&self.groups);
        self.emit(held, out)
    }

    fn holds_output(&self) -> bool {
        !self.cache.held.emissions.is_empty()
    }

    fn source_counters(&self) -> SourceCounters {
        let mut c = self.codecs.source.counters;
        c.dead_lettered += self.late_records;
        c.null_keys_skipped += self.null_keys;
        c
    }

    fn state_changes(&mut self, full: bool) -> StateDelta {
        let mut changes = StateDelta::default();
        let dirty = self.groups.dirty.take();
        let removed = std::mem::take(&mut self.groups.removed);
        let table_dirty = std::mem::take(&mut self.table_dirty);
        let slots: Box<dyn Iterator<Item = u32>> = if full {
            Box::new(0..self.groups.slots.len() as u32)
        } else {
            Box::new(dirty.into_iter())
        };
        let mut key = Vec::new();
        let mut value = Vec::new();
        let mut chunk = Vec::new();
        for slot in slots {
            let Some(info) = self.groups.slots.get(slot as usize) else {
                continue;
            };
            if !info.live {
                continue;
            }
            value.clear();
            encode_slot_header(info, &mut value);
            for acc in &self.accumulators {
                chunk.clear();
                acc.save(slot, &mut chunk);
                push_chunk(&mut value, &chunk);
            }
            key.clear();
            key.push(GROUP_PREFIX);
            key.extend_from_slice(&state_key(&info.key, info.window));
            changes.put(&key, &value);
        }
        if !full {
            for removed in removed {
                key.clear();
                key.push(GROUP_PREFIX);
                key.extend_from_slice(&removed);
                changes.delete(&key);
            }
        }
        let mut table_row = |row_key: &[u8], row: Option<&Bytes>| {
            key.clear();
            key.push(TABLE_ROW_PREFIX);
            key.extend_from_slice(row_key);
            match row {
                Some(v) => changes.put(&key, v),
                None => changes.delete(&key),
            }
        };
        if full {
            for (row_key, row) in &self.table_rows {
                table_row(row_key, Some(row));
            }
        } else {
            for row_key in table_dirty {
                table_row(&row_key, self.table_rows.get(row_key.as_slice()));
            }
        }
        let mut meta = Vec::new();
        meta.extend_from_slice(&self.sequence.to_be_bytes());
        for t in &self.stream_time {
            meta.extend_from_slice(&t.to_be_bytes());
        }
        changes.put(META_KEY, &meta);
        changes
    }

    fn restore(&mut self, entries: Vec<(Vec<u8>, Vec<u8>)>) -> Result<(), ExecError> {
        let corrupt = |what: &str| ExecError::Internal(format!("corrupt aggregation state: {what}"));
        for (key, value) in entries {
            if key == META_KEY {
                let (seq, rest) = value.split_at_checked(8).ok_or_else(|| corrupt("meta"))?;
                self.sequence = u64::from_be_bytes(seq.try_into().map_err(|_| corrupt("meta"))?);
                for (i, chunk) in rest.chunks_exact(8).enumerate() {
                    if let Some(t) = self.stream_time.get_mut(i) {
                        *t = i64::from_be_bytes(chunk.try_into().map_err(|_| corrupt("stream time"))?);
                    }
                }
                continue;
            }
            if let Some((&TABLE_ROW_PREFIX, row_key)) = key.split_first() {
                self.table_rows.insert(row_key.into(), Bytes::from(value));
                continue;
            }
            let Some((&GROUP_PREFIX, state_key_bytes)) = key.split_first() else {
                continue;
            };
            let (info, rest) = decode_slot_header(state_key_bytes, &value).ok_or_else(|| corrupt("group header"))?;
            let chunks = read_chunks(rest).ok_or_else(|| corrupt("accumulator states"))?;
            if chunks.len() != self.accumulators.len() {
                return Err(corrupt("accumulator count"));
            }
            let session = self.spec.window.is_some_and(|d| d.is_session());
            let window = info.window;
            let key_bytes: Box<[u8]> = (*info.key).into();
            let slot = self.new_slot(info, !session);
            if session && let Some(w) = window {
                self.groups
                    .sessions
                    .entry(key_bytes)
                    .or_default()
                    .windows
                    .push((w, slot));
            }
            for (acc, chunk) in self.accumulators.iter_mut().zip(chunks) {
                acc.load(slot, chunk)?;
            }
        }
        self.groups.dirty.take();
        Ok(())
    }
}

impl AggregatePipeline {
    /// WHERE, then the group keys (in the sink's key format) and aggregate arguments of every row.
    fn prepare(
        &mut self,
        batch: RecordBatch,
        origin: Vec<usize>,
        records: &[ConsumedRecord],
        out: &mut PipelineOutput,
    ) -> Result<Option<Prepared>, ExecError> {
        let mut batch = batch;
        let mut origin = origin;
        if batch.num_rows() == 0 {
            return Ok(None);
        }
        if let Some((filter, text)) = &self.spec.filter {
            let (mask, failures) = evaluate_predicate(filter.as_ref(), &batch);
            for f in failures {
                let dl = self.dead_letter(
                    ErrorKind::Processing,
                    format!("Error evaluating predicate {text}: {}", f.message),
                    &records[origin[f.row]],
                );
                out.dead_letters.push(dl);
            }
            if mask.true_count() < batch.num_rows() {
                batch = filter_record_batch(&batch, &mask)?;
                origin = origin
                    .into_iter()
                    .zip(mask.iter())
                    .filter(|(_, keep)| keep.unwrap_or(false))
                    .map(|(i, _)| i)
                    .collect();
            }
        }
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(None);
        }
        let mut key_arrays = Vec::with_capacity(self.spec.group_by.len());
        for (expr, ty, text) in &self.spec.group_by {
            let (array, failures) = evaluate_isolating(expr.as_ref(), &batch, ty);
            for f in failures {
                let dl = self.dead_letter(
                    ErrorKind::Processing,
                    format!("Error computing GROUP BY expression {text}: {}", f.message),
                    &records[origin[f.row]],
                );
                out.dead_letters.push(dl);
            }
            key_arrays.push(array);
        }
        let encoded = self.codecs.key_encoder.encode(&key_arrays, rows)?;
        let keys: Vec<Option<Bytes>> = encoded
            .into_iter()
            .enumerate()
            .map(|(row, k)| k.filter(|_| key_arrays.iter().all(|a| a.is_valid(row))))
            .collect();
        let mut args: Vec<Vec<ArrayRef>> = Vec::with_capacity(self.spec.aggregates.len());
        for agg in &self.spec.aggregates {
            let mut arrays = Vec::with_capacity(agg.args.len());
            for (expr, ty) in &agg.args {
                let (array, failures) = evaluate_isolating(expr.as_ref(), &batch, ty);
                for f in failures {
                    let dl = self.dead_letter(
                        ErrorKind::Processing,
                        format!("Error computing the argument of {}: {}", agg.text, f.message),
                        &records[origin[f.row]],
                    );
                    out.dead_letters.push(dl);
                }
                arrays.push(array);
            }
            args.push(arrays);
        }
        let n = batch.num_columns();
        let rowtime = batch
            .column(n - 3)
            .as_any()
            .downcast_ref::<Int64Array>()
            .cloned()
            .ok_or_else(|| ExecError::Internal("ROWTIME is not BIGINT".into()))?;
        Ok(Some(Prepared {
            rows,
            origin,
            keys,
            args,
            rowtime,
        }))
    }

    /// For a table source: the previous row of each record's key (as a record to retract, stamped with the new
    /// record's time and position) and whether the new record adds a row (it is not a delete). Updates the
    /// table's current rows.
    fn changelog(&mut self, records: &[ConsumedRecord], origin: &[usize]) -> (Vec<ConsumedRecord>, Vec<bool>) {
        let mut previous = Vec::new();
        let mut keep = Vec::with_capacity(origin.len());
        for &i in origin {
            let r = &records[i];
            let Some(key) = r.record.key.clone() else {
                self.null_keys += 1;
                keep.push(false);
                continue;
            };
            let old = match &r.record.value {
                Some(v) => self.table_rows.insert(key.to_vec().into_boxed_slice(), v.clone()),
                None => self.table_rows.remove(&*key),
            };
            self.table_dirty.insert(key.to_vec());
            if let Some(old) = old {
                previous.push(ConsumedRecord {
                    topic: r.topic.clone(),
                    partition: r.partition,
                    offset: r.offset,
                    record: Record {
                        timestamp: r.record.timestamp,
                        key: Some(key),
                        value: Some(old),
                        headers: vec![],
                    },
                });
            }
            keep.push(r.record.value.is_some());
        }
        (previous, keep)
    }

    /// Takes rows out of their groups (table sources only; the planner allows only retractable functions).
    fn retract(&mut self, p: Prepared, records: &[ConsumedRecord], pass: &mut BatchEmissions) -> Result<(), ExecError> {
        let mut rows: Vec<u32> = Vec::new();
        let mut slots: Vec<u32> = Vec::new();
        let mut seq: Vec<u64> = Vec::new();
        for row in 0..p.rows {
            let Some(key) = &p.keys[row] else { continue };
            let Some(slot) = self.groups.find(key, None) else {
                continue;
            };
            let record = &records[p.origin[row]];
            let info = &mut self.groups.slots[slot as usize];
            info.timestamp = info.timestamp.max(record.record.timestamp);
            info.source_partition = record.partition;
            info.source_offset = record.offset;
            self.groups.dirty.insert(slot);
            rows.push(row as u32);
            slots.push(slot);
            seq.push(self.sequence);
            self.sequence += 1;
            pass.touch(slot, self.spec.emit_final);
        }
        if rows.is_empty() {
            return Ok(());
        }
        let indices = UInt32Array::from(rows);
        let ctx = UpdateContext { sequence: &seq };
        for (acc, arrays) in self.accumulators.iter_mut().zip(&p.args) {
            let taken: Vec<ArrayRef> = arrays
                .iter()
                .map(|a| take(a.as_ref(), &indices, None))
                .collect::<Result<_, _>>()?;
            acc.retract(&taken, &slots, &ctx)?;
        }
        Ok(())
    }

    /// Adds rows to their groups: stream time, lateness, windows and session merges row by row; the
    /// accumulators once for the batch.
    fn accumulate(
        &mut self,
        p: Prepared,
        records: &[ConsumedRecord],
        out: &mut PipelineOutput,
        pass: &mut BatchEmissions,
    ) -> Result<(), ExecError> {
        let Prepared {
            rows,
            origin,
            keys,
            args,
            rowtime,
        } = p;
        let mut pending_rows: Vec<u32> = Vec::with_capacity(rows);
        let mut pending_slots: Vec<u32> = Vec::with_capacity(rows);
        let mut pending_seq: Vec<u64> = Vec::with_capacity(rows);
        let window_def = self.spec.window;
        let mut targets: Vec<u32> = Vec::new();
        for row in 0..rows {
            let record = &records[origin[row]];
            let Some(key) = keys[row].as_deref() else {
                let dl = self.dead_letter(
                    ErrorKind::Processing,
                    "Group-by column resolved to null. The source row will be excluded from the table.".into(),
                    record,
                );
                out.dead_letters.push(dl);
                continue;
            };
            let ts = rowtime.value(row);
            let tp = partition_for_key(key, self.spec.partitions) as usize;
            self.stream_time[tp] = self.stream_time[tp].max(ts);
            let st = self.stream_time[tp];
            let seq = self.sequence;
            self.sequence += 1;

            targets.clear();
            match window_def {
                None => {
                    let slot = match self.groups.find(key, None) {
                        Some(s) => s,
                        None => self.new_slot(new_info(key, None, ts, tp, record), true),
                    };
                    targets.push(slot);
                }
                Some(def) if def.is_session() => {
                    let WindowKind::Session { gap } = def.kind else {
                        continue;
                    };
                    let mut existing: Vec<(Window, u32)> = match self.groups.sessions.get(key) {
                        Some(s) => s
                            .overlapping(ts, gap)
                            .into_iter()
                            .filter_map(|i| s.windows.get(i).copied())
                            .collect(),
                        None => vec![],
                    };
                    // Sessions merge in time order (Kafka Streams reads them from its store by time).
                    existing.sort_by_key(|(w, slot)| (w.start, w.end, *slot));
                    let merged = existing
                        .iter()
                        .fold(Window { start: ts, end: ts }, |acc, (w, _)| Window {
                            start: acc.start.min(w.start),
                            end: acc.end.max(w.end),
                        });
                    if def.is_closed(merged, st) {
                        self.late(record, merged, out);
                        continue;
                    }
                    let target = match existing.first() {
                        None => {
                            let slot = self.new_slot(new_info(key, Some(merged), ts, tp, record), false);
                            self.groups
                                .sessions
                                .entry(key.to_vec().into_boxed_slice())
                                .or_default()
                                .windows
                                .push((merged, slot));
                            slot
                        }
                        Some(&(_, first)) => {
                            // Merging moves state between slots: apply the rows gathered so far first.
                            self.flush_updates(&args, &mut pending_rows, &mut pending_slots, &mut pending_seq)?;
                            for &(old_window, slot) in &existing {
                                // The replaced session is deleted downstream (stamped with its own time), if it
                                // was ever shown; EMIT FINAL shows only closed sessions, so it has nothing to delete.
                                // Kafka Streams removes the merged sessions unless the result is just the record's
                                // own point window (a record at the exact time of a single-point session).
                                let old = &self.groups.slots[slot as usize];
                                let replaced = merged != (Window { start: ts, end: ts });
                                if replaced && !self.spec.emit_final && old.visible {
                                    pass.emissions.push(Emission::Tombstone {
                                        key: key.to_vec().into_boxed_slice(),
                                        window: old_window,
                                        timestamp: old.timestamp,
                                        partition: record.partition,
                                        offset: record.offset,
                                    });
                                }
                                if slot == first && replaced {
                                    self.groups.slots[slot as usize].visible = false;
                                }
                                if old_window != merged {
                                    self.groups.removed.push(state_key(key, Some(old_window)));
                                }
                                if slot != first {
                                    for acc in &mut self.accumulators {
                                        acc.merge(first, slot)?;
                                    }
                                    let ts_other = self.groups.slots[slot as usize].timestamp;
                                    let info = &mut self.groups.slots[first as usize];
                                    info.timestamp = info.timestamp.max(ts_other);
                                    self.drop_slot(slot);
                                }
                            }
                            self.untrack_window(first);
                            self.groups.slots[first as usize].window = Some(merged);
                            if let Some(s) = self.groups.sessions.get_mut(key) {
                                s.windows.retain(|(_, sl)| *sl != first);
                                s.windows.push((merged, first));
                            }
                            self.track_window(first, merged, tp, &def);
                            first
                        }
                    };
                    targets.push(target);
                }
                Some(def) => {
                    let mut windows = std::mem::take(&mut self.windows_buffer);
                    def.time_windows(ts, &mut windows);
                    for w in &windows {
                        if def.is_closed(*w, st) {
                            self.late(record, *w, out);
                            continue;
                        }
                        let slot = match self.groups.find(key, Some(*w)) {
                            Some(s) => s,
                            None => self.new_slot(new_info(key, Some(*w), ts, tp, record), true),
                        };
                        targets.push(slot);
                    }
                    self.windows_buffer = windows;
                }
            }
            for &slot in &targets {
                let info = &mut self.groups.slots[slot as usize];
                info.timestamp = info.timestamp.max(ts);
                info.source_partition = record.partition;
                info.source_offset = record.offset;
                self.groups.dirty.insert(slot);
                pending_rows.push(row as u32);
                pending_slots.push(slot);
                pending_seq.push(seq);
                pass.touch(slot, self.spec.emit_final);
            }
        }
        self.flush_updates(&args, &mut pending_rows, &mut pending_slots, &mut pending_seq)
    }

    fn late(&mut self, record: &ConsumedRecord, window: Window, out: &mut PipelineOutput) {
        self.late_records += 1;
        let mut dl = self.dead_letter(
            ErrorKind::Late,
            format!(
                "Record with timestamp {} is late for window [{}, {}) (grace period {} ms): it was dropped",
                record.record.timestamp,
                window.start,
                window.end,
                self.spec.window.map(|d| d.grace).unwrap_or(0)
            ),
            record,
        );
        dl.window = Some((window.start, window.end));
        out.dead_letters.push(dl);
    }

    /// Applies the rows gathered so far to the accumulators.
    fn flush_updates(
        &mut self,
        args: &[Vec<ArrayRef>],
        rows: &mut Vec<u32>,
        slots: &mut Vec<u32>,
        seq: &mut Vec<u64>,
    ) -> Result<(), ExecError> {
        if rows.is_empty() {
            return Ok(());
        }
        let identity = rows.iter().enumerate().all(|(i, r)| *r as usize == i)
            && args
                .first()
                .and_then(|a| a.first())
                .is_none_or(|a| a.len() == rows.len());
        let indices = UInt32Array::from(std::mem::take(rows));
        let ctx = UpdateContext { sequence: seq };
        for (acc, arrays) in self.accumulators.iter_mut().zip(args) {
            let taken: Vec<ArrayRef> = if identity {
                arrays.clone()
            } else {
                arrays
                    .iter()
                    .map(|a| take(a.as_ref(), &indices, None))
                    .collect::<Result<_, _>>()?
            };
            acc.update(&taken, slots, &ctx)?;
        }
        slots.clear();
        seq.clear();
        Ok(())
    }

    /// Emission, EMIT FINAL closing and eviction after a batch.
    fn after_batch(&mut self, mut emissions: Vec<Emission>, out: &mut PipelineOutput) -> Result<(), ExecError> {
        let closed = if self.spec.emit_final {
            self.close_windows(&mut emissions)
        } else {
            vec![]
        };
        if self.cache.enabled() {
            self.cache.hold(emissions, &self.groups);
            if self.cache.full() || self.evicts_held_group() {
                let held = self.cache.take(&self.groups);
                self.emit(held, out)?;
            }
        } else {
            self.emit(emissions, out)?;
        }
        for slot in closed {
            // A closed window can never change again: emitted once, its state goes.
            self.drop_slot(slot);
        }
        if self.spec.window.is_some() {
            self.evict_expired();
        }
        Ok(())
    }
}

fn new_info(key: &[u8], window: Option<Window>, ts: i64, tp: usize, record: &ConsumedRecord) -> SlotInfo {
    SlotInfo {
        key: key.into(),
        window,
        timestamp: ts,
        task_partition: tp as u32,
        source_partition: record.partition,
        source_offset: record.offset,
        visible: false,
        live: true,
    }
}
