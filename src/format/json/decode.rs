//! JSON records straight into Arrow builders, without building a `serde_json::Value`.
//!
//! A serde [`DeserializeSeed`] walks each record with `serde_json::Deserializer::from_slice` and writes every
//! field into its column builder as it is parsed. Scalars take one of two paths with identical results:
//! the fast path receives values already parsed (strings borrowed from the input when they have no escapes,
//! integers exact); the exact path captures the value's JSON text as a borrowed `RawValue` and converts the
//! literal in [`super::scalar`], which keeps every digit (DOUBLE and DECIMAL always use it; `42.000` read into a
//! STRING stays `42.000`). When the fast path meets a value only the exact path converts faithfully, the
//! record is decoded again in exact mode, which then stays on for the decoder.
//!
//! Object keys are matched against the schema like ksqlDB does: an exact match wins, otherwise the key
//! upper-cased must equal the field name (so `itemid` fills `ITEMID` but not a quoted `caseField`); the field
//! after the previous match is tried first because records usually repeat one key order. Unknown keys are
//! skipped, missing fields are null, and a repeated key overwrites the earlier value (Jackson's behaviour)
//! by rolling that column back. Maps with a repeated key (or very many keys) are decoded again through a
//! slow path that keeps each key's last value.
//!
//! Coercion errors are recorded in [`Ctx`] with their path (`$.ORDER.ITEMS[2]`) and surface as ksqlDB's
//! messages; serde_json's own errors describe malformed JSON.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::scalar;
use super::text::Node;
use crate::format::builder::{ColumnBuilder, Data, StructData};

const UNSET: u8 = 0;
const SET_BY_UPPER: u8 = 1;
const SET_EXACT: u8 = 2;

/// Maps with more entries than this are checked for repeated keys by the slow path.
const FAST_MAP_ENTRIES: usize = 64;

/// One step of the path to a failing value, innermost last.
#[derive(Debug, Clone)]
enum Segment {
    Field(String),
    Index(usize),
    MapValue(String),
}

/// A coercion failure: ksqlDB's message and where it happened.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    message: String,
    /// Innermost first (segments are added while the error unwinds).
    path: Vec<Segment>,
}

impl Failure {
    pub(crate) fn render(&self) -> String {
        let mut path = String::from("$");
        for s in self.path.iter().rev() {
            match s {
                Segment::Field(n) => {
                    path.push('.');
                    path.push_str(n);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
                Segment::MapValue(k) => path.push_str(&format!(".{k}.value")),
            }
        }
        format!("{}, path: {path}", self.message)
    }
}

/// Per-decoder scratch state, reused across records so decoding does not allocate per record.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub(crate) failure: Option<Failure>,
    /// Which fields of the objects being decoded are set (a stack: nested objects push their fields).
    states: Vec<u8>,
    /// Unescaped string content for non-STRING targets.
    scratch: Vec<u8>,
    /// Decode maps through the slow path that resolves repeated keys (for one record).
    pub(crate) slow_maps: bool,
    /// Convert every scalar from its exact JSON text. Starts off and, once a value needed it (a fraction
    /// for an INT, an object for a STRING, ...), stays on for this decoder: streams that need it once
    /// usually need it again, and the result is the same either way, only the speed differs.
    pub(crate) raw_scalars: bool,
    /// The record must be decoded again: a fast path met a value it cannot represent exactly.
    pub(crate) retry: bool,
    /// The retry needs the slow map path.
    pub(crate) retry_slow_maps: bool,
    /// The top-level value was JSON `null`.
    pub(crate) null_record: bool,
}

impl Ctx {
    pub(crate) fn reset(&mut self) {
        self.failure = None;
        self.states.clear();
        self.retry = false;
        self.retry_slow_maps = false;
        self.null_record = false;
    }

    fn fail<E: de::Error>(&mut self, message: String) -> E {
        self.failure = Some(Failure {
            message,
            path: Vec::new(),
        });
        E::custom("value could not be converted")
    }

    fn push_path(&mut self, segment: impl FnOnce() -> Segment) {
        if let Some(f) = self.failure.as_mut() {
            f.path.push(segment());
        }
    }

    fn retry_slow_maps<E: de::Error>(&mut self) -> E {
        self.retry = true;
        self.retry_slow_maps = true;
        E::custom("map needs the slow path")
    }

    fn retry_raw<E: de::Error>(&mut self) -> E {
        self.retry = true;
        self.raw_scalars = true;
        E::custom("value needs its exact text")
    }
}

/// Decodes one JSON value into one column builder, appending exactly one row.
pub(crate) struct Seed<'a> {
    pub(crate) b: &'a mut ColumnBuilder,
    pub(crate) ctx: &'a mut Ctx,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let Seed { b, ctx } = self;
        match &b.data {
            Data::List { .. } | Data::Struct(_) => d.deserialize_any(ContainerVisitor { b, ctx }),
            Data::Map { .. } if !ctx.slow_maps => d.deserialize_any(ContainerVisitor { b, ctx }),
            Data::Map { .. } => {
                let raw = <&'de RawValue>::deserialize(d)?;
                decode_map_slow(raw.get(), b, ctx)
            }
            Data::F64(_) | Data::Decimal { .. } => raw_scalar(d, b, ctx),
            _ if ctx.raw_scalars => raw_scalar(d, b, ctx),
            _ => d.deserialize_any(ScalarVisitor { b, ctx }),
        }
    }
}

/// Captures a scalar's JSON text and converts it exactly (DOUBLE and DECIMAL always come this way, so their
/// digits are never rounded twice).
fn raw_scalar<'de, D: Deserializer<'de>>(d: D, b: &mut ColumnBuilder, ctx: &mut Ctx) -> Result<(), D::Error> {
    let raw = <&'de RawValue>::deserialize(d)?;
    scalar::append(raw.get(), b, &mut ctx.scratch).map_err(|m| ctx.fail(m))
}

/// The fast path for BOOLEAN, INT, BIGINT, STRING, BYTES, TIMESTAMP, DATE and TIME: values arrive already
/// parsed (strings borrowed from the input when unescaped). Anything this path cannot convert exactly
/// asks for the record to be decoded again in raw mode.
struct ScalarVisitor<'a> {
    b: &'a mut ColumnBuilder,
    ctx: &'a mut Ctx,
}

impl<'de> Visitor<'de> for ScalarVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a JSON value for {}", self.b.ty)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.b.append_null();
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        scalar::append_bool(v, self.b).map_err(|m| self.ctx.fail(m))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        scalar::append_integer(i128::from(v), self.b).map_err(|m| self.ctx.fail(m))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        scalar::append_integer(i128::from(v), self.b).map_err(|m| self.ctx.fail(m))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        // A fraction, an exponent or an integer beyond u64: only the literal gives ksqlDB's exact answer.
        Err(self.ctx.retry_raw())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        scalar::append_text(v, self.b).map_err(|m| self.ctx.fail(m))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.container(Node::Array))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.container(Node::Object))
    }
}

impl ScalarVisitor<'_> {
    /// A STRING column stores the container's text, which needs its exact JSON; other columns reject it.
    fn container<E: de::Error>(self, node: Node<'_>) -> E {
        if matches!(self.b.data, Data::Bytes { utf8: true, .. }) {
            return self.ctx.retry_raw();
        }
        let message = format!(
            "Can't convert type. sourceType: {}, requiredType: {}",
            node.jackson_name(),
            self.b.ty
        );
        self.ctx.fail(message)
    }
}

/// Decodes a captured JSON value into a builder (used when one value feeds two fields, and by slow maps).
fn decode_raw<E: de::Error>(raw: &str, b: &mut ColumnBuilder, ctx: &mut Ctx) -> Result<(), E> {
    let mut de = serde_json::Deserializer::from_str(raw);
    Seed { b, ctx }.deserialize(&mut de).map_err(E::custom)
}

/// Visits arrays, objects and `null` for ARRAY, MAP and STRUCT columns; every other node is a type error.
struct ContainerVisitor<'a> {
    b: &'a mut ColumnBuilder,
    ctx: &'a mut Ctx,
}

impl ContainerVisitor<'_> {
    fn mismatch<E: de::Error>(self, node: Node<'_>) -> E {
        let message = format!(
            "Can't convert type. sourceType: {}, requiredType: {}",
            node.jackson_name(),
            self.b.ty
        );
        self.ctx.fail(message)
    }
}

/// Node names for values that arrive through visitor callbacks rather than as text.
fn number_node(text: &str) -> Node<'_> {
    Node::classify(text)
}

impl<'de> Visitor<'de> for ContainerVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a JSON value for {}", self.b.ty)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.b.append_null();
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.mismatch(Node::Bool(true)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        let text = v.to_string();
        Err(self.mismatch(number_node(&text)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let text = v.to_string();
        Err(self.mismatch(number_node(&text)))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.mismatch(number_node("0.5")))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.mismatch(Node::Str("")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ContainerVisitor { b, ctx } = self;
        let Data::List { child, .. } = &mut b.data else {
            return Err(ContainerVisitor { b, ctx }.mismatch(Node::Array));
        };
        let mut index = 0;
        loop {
            match seq.next_element_seed(Seed {
                b: child,
                ctx: &mut *ctx,
            }) {
                Ok(Some(())) => index += 1,
                Ok(None) => break,
                Err(e) => {
                    ctx.push_path(|| Segment::Index(index));
                    return Err(e);
                }
            }
        }
        b.close_nested_row().map_err(|e| ctx.fail(e.to_string()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let ContainerVisitor { b, ctx } = self;
        let row = b.len();
        match &mut b.data {
            Data::Struct(s) => {
                decode_object(map, s, row, ctx)?;
                b.close_struct_row();
                Ok(())
            }
            Data::Map { .. } => decode_map_fast(map, b, ctx),
            _ => Err(ContainerVisitor { b, ctx }.mismatch(Node::Object)),
        }
    }
}

/// The outcome of matching an object key against a struct's field names.
enum KeyMatch {
    None,
    One {
        field: usize,
        exact: bool,
    },
    /// The key is one field's exact name and another field's name upper-cased (`a` with fields `a` and `A`).
    Two {
        exact: usize,
        upper: usize,
    },
}

/// True when `key` upper-cased is `name` (Java's `toUpperCase`). ASCII is compared byte by byte in one pass;
/// from the first non-ASCII character on, the rest is upper-cased the Unicode way (which may change its
/// length, e.g. `ß` becomes `SS`).
fn upper_eq(key: &str, name: &str) -> bool {
    let n = name.as_bytes();
    for (i, &k) in key.as_bytes().iter().enumerate() {
        if !k.is_ascii() {
            return match (key.get(i..), name.get(i..)) {
                (Some(rest), Some(name_rest)) => rest.to_uppercase() == name_rest,
                _ => false,
            };
        }
        if n.get(i) != Some(&k.to_ascii_uppercase()) {
            return false;
        }
    }
    key.len() == n.len()
}

/// Matches object keys to field names; deserializes the key without allocating.
struct KeySeed<'a> {
    names: &'a [String],
    hint: usize,
    case_collision: bool,
}

impl KeySeed<'_> {
    fn lookup(&self, key: &str) -> KeyMatch {
        if let Some(name) = self.names.get(self.hint).filter(|_| !self.case_collision) {
            if name == key {
                return KeyMatch::One {
                    field: self.hint,
                    exact: true,
                };
            }
            if upper_eq(key, name) {
                return KeyMatch::One {
                    field: self.hint,
                    exact: false,
                };
            }
        }
        let mut exact = None;
        let mut upper = None;
        for (i, name) in self.names.iter().enumerate() {
            if name == key {
                exact = Some(i);
            } else if upper.is_none() && upper_eq(key, name) {
                upper = Some(i);
            }
        }
        match (exact, upper) {
            (Some(exact), Some(upper)) => KeyMatch::Two { exact, upper },
            (Some(field), None) => KeyMatch::One { field, exact: true },
            (None, Some(field)) => KeyMatch::One { field, exact: false },
            (None, None) => KeyMatch::None,
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = KeyMatch;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<KeyMatch, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = KeyMatch;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<KeyMatch, E> {
        Ok(self.lookup(key))
    }
}

/// Decodes a JSON object into the fields of a struct (a STRUCT column, or the columns of a wrapped record),
/// appending one row to every field builder. `row` is the row index the fields are filling.
pub(crate) fn decode_object<'de, A: MapAccess<'de>>(
    mut map: A,
    s: &mut StructData,
    row: usize,
    ctx: &mut Ctx,
) -> Result<(), A::Error> {
    let StructData {
        names,
        case_collision,
        children,
    } = s;
    let base = ctx.states.len();
    ctx.states.resize(base + children.len(), UNSET);
    let mut hint = 0;
    while let Some(m) = map.next_key_seed(KeySeed {
        names,
        hint,
        case_collision: *case_collision,
    })? {
        match m {
            KeyMatch::None => {
                map.next_value::<IgnoredAny>()?;
            }
            KeyMatch::One { field, exact } => {
                hint = field + 1;
                let state = ctx.states.get(base + field).copied().unwrap_or(UNSET);
                let Some(child) = children.get_mut(field) else {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                };
                if !exact && state == SET_EXACT {
                    // An exact-case key already filled this field; Jackson's exact lookup wins.
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                if state != UNSET {
                    child.truncate(row);
                }
                if let Err(e) = map.next_value_seed(Seed {
                    b: child,
                    ctx: &mut *ctx,
                }) {
                    ctx.push_path(|| Segment::Field(names.get(field).cloned().unwrap_or_default()));
                    return Err(e);
                }
                if let Some(st) = ctx.states.get_mut(base + field) {
                    *st = if exact { SET_EXACT } else { SET_BY_UPPER };
                }
            }
            KeyMatch::Two { exact, upper } => {
                hint = exact + 1;
                let raw: &RawValue = map.next_value()?;
                for (field, is_exact) in [(exact, true), (upper, false)] {
                    let state = ctx.states.get(base + field).copied().unwrap_or(UNSET);
                    if !is_exact && state == SET_EXACT {
                        continue;
                    }
                    let Some(child) = children.get_mut(field) else {
                        continue;
                    };
                    if state != UNSET {
                        child.truncate(row);
                    }
                    if let Err(e) = decode_raw::<A::Error>(raw.get(), child, ctx) {
                        ctx.push_path(|| Segment::Field(names.get(field).cloned().unwrap_or_default()));
                        return Err(e);
                    }
                    if let Some(st) = ctx.states.get_mut(base + field) {
                        *st = if is_exact { SET_EXACT } else { SET_BY_UPPER };
                    }
                }
            }
        }
    }
    for (i, child) in children.iter_mut().enumerate() {
        if ctx.states.get(base + i).copied().unwrap_or(UNSET) == UNSET {
            child.append_null();
        }
    }
    ctx.states.truncate(base);
    Ok(())
}

/// Appends one map key (always a JSON object key, i.e. text) to the key column.
struct MapKeySeed<'a> {
    keys: &'a mut ColumnBuilder,
}

impl<'de> DeserializeSeed<'de> for MapKeySeed<'_> {
    type Value = Result<(), String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MapKeySeed<'_> {
    type Value = Result<(), String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.keys.push_bytes(key.as_bytes()).map_err(|e| e.to_string()))
    }
}

/// The key at `index` of a STRING key column.
fn key_at(keys: &ColumnBuilder, index: usize) -> Option<&[u8]> {
    let Data::Bytes { offsets, values, .. } = &keys.data else {
        return None;
    };
    let start = usize::try_from(*offsets.get(index)?).ok()?;
    let end = usize::try_from(*offsets.get(index + 1)?).ok()?;
    values.get(start..end)
}

/// The common case: a map whose keys are all different and not too many. Anything else asks for the record
/// to be decoded again with [`decode_map_slow`].
fn decode_map_fast<'de, A: MapAccess<'de>>(mut map: A, b: &mut ColumnBuilder, ctx: &mut Ctx) -> Result<(), A::Error> {
    let Data::Map { keys, values, .. } = &mut b.data else {
        return Err(ctx.fail("internal error: not a map".into()));
    };
    let row_start = keys.len();
    while let Some(pushed) = map.next_key_seed(MapKeySeed { keys })? {
        pushed.map_err(|m| ctx.fail(m))?;
        let last = keys.len().saturating_sub(1);
        if last - row_start >= FAST_MAP_ENTRIES {
            return Err(ctx.retry_slow_maps());
        }
        let key = key_at(keys, last).unwrap_or_default();
        if (row_start..last).any(|i| key_at(keys, i) == Some(key)) {
            return Err(ctx.retry_slow_maps());
        }
        if let Err(e) = map.next_value_seed(Seed {
            b: values,
            ctx: &mut *ctx,
        }) {
            let key = String::from_utf8_lossy(key_at(keys, last).unwrap_or_default()).into_owned();
            ctx.push_path(|| Segment::MapValue(key));
            return Err(e);
        }
    }
    b.close_nested_row().map_err(|e| ctx.fail(e.to_string()))
}

/// Collects a JSON object's entries in order, borrowing from the input.
struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
            entries.push(entry);
        }
        Ok(entries)
    }
}

/// Any map: a repeated key keeps its first position and its last value (Jackson's `ObjectNode`).
fn decode_map_slow<E: de::Error>(raw: &str, b: &mut ColumnBuilder, ctx: &mut Ctx) -> Result<(), E> {
    let node = Node::classify(raw);
    match node {
        Node::Null => {
            b.append_null();
            return Ok(());
        }
        Node::Object => {}
        other => {
            let message = format!(
                "Can't convert type. sourceType: {}, requiredType: {}",
                other.jackson_name(),
                b.ty
            );
            return Err(ctx.fail(message));
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    let entries = de.deserialize_map(EntriesVisitor).map_err(E::custom)?;
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    let mut unique: Vec<(&str, &RawValue)> = Vec::with_capacity(entries.len());
    for (key, value) in &entries {
        match index.get(key.as_str()) {
            Some(&i) => {
                if let Some(slot) = unique.get_mut(i) {
                    slot.1 = value;
                }
            }
            None => {
                index.insert(key, unique.len());
                unique.push((key, value));
            }
        }
    }
    let Data::Map { keys, values, .. } = &mut b.data else {
        return Err(ctx.fail("internal error: not a map".into()));
    };
    for (key, value) in unique {
        keys.push_bytes(key.as_bytes()).map_err(|e| ctx.fail(e.to_string()))?;
        if let Err(e) = decode_raw::<E>(value.get(), values, ctx) {
            ctx.push_path(|| Segment::MapValue(key.to_string()));
            return Err(e);
        }
    }
    b.close_nested_row().map_err(|e| ctx.fail(e.to_string()))
}

/// The columns of a wrapped record: a top-level JSON object (or `null` for a null record).
pub(crate) struct RowSeed<'a> {
    pub(crate) row: &'a mut StructData,
    pub(crate) row_type: &'a crate::types::SqlType,
    pub(crate) index: usize,
    pub(crate) ctx: &'a mut Ctx,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl RowSeed<'_> {
    fn mismatch<E: de::Error>(self, node: Node<'_>) -> E {
        let message = format!(
            "Can't convert type. sourceType: {}, requiredType: {}",
            node.jackson_name(),
            self.row_type
        );
        self.ctx.fail(message)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.ctx.null_record = true;
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self.mismatch(Node::Bool(true)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        let text = v.to_string();
        Err(self.mismatch(number_node(&text)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let text = v.to_string();
        Err(self.mismatch(number_node(&text)))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self.mismatch(number_node("0.5")))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self.mismatch(Node::Str("")))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self.mismatch(Node::Array))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        decode_object(map, self.row, self.index, self.ctx)
    }
}
