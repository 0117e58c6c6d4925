//! The JSON format: ksqlDB's `JSON` (and reading `JSON_SR` payloads, whose 5-byte Schema Registry prefix is
//! skipped as ksqlDB's JSON format does).
//!
//! Values with several columns, and keys with several columns, are JSON objects. A single key column is
//! always unwrapped (the bare value); a single value column is wrapped in an object unless
//! `WRAP_SINGLE_VALUE=false`. A top-level `null` is a null record, like a tombstone.

mod decode;
mod encode;
mod scalar;
pub(crate) mod text;

use serde::de::DeserializeSeed;

use super::builder::{ColumnBuilder, StructData};
use super::prepared::Prepared;
use super::{RowDecoder, RowEncoder, RowOutcome};
use crate::types::SqlType;
use decode::{Ctx, RowSeed, Seed};

/// Schema Registry framing: a zero magic byte and a 4-byte schema id.
const SR_PREFIX_LEN: usize = 5;

fn strip_schema_registry_prefix(payload: &[u8]) -> &[u8] {
    match payload.first() {
        Some(0) => payload.get(SR_PREFIX_LEN..).unwrap_or(payload),
        _ => payload,
    }
}

/// Decodes JSON records into one builder per column.
#[derive(Debug)]
pub(crate) struct JsonDecoder {
    row: StructData,
    row_type: SqlType,
    unwrapped: bool,
    ctx: Ctx,
}

impl JsonDecoder {
    pub(crate) fn new(fields: &[(String, SqlType)], unwrapped: bool) -> Self {
        JsonDecoder {
            row: StructData::new(fields),
            row_type: SqlType::Struct(fields.to_vec()),
            unwrapped: unwrapped && fields.len() == 1,
            ctx: Ctx::default(),
        }
    }

    fn try_decode(&mut self, row: usize, bytes: &[u8]) -> Result<RowOutcome, serde_json::Error> {
        self.ctx.reset();
        let mut de = serde_json::Deserializer::from_slice(bytes);
        if self.unwrapped {
            let Some(b) = self.row.children.first_mut() else {
                return Ok(RowOutcome::Row);
            };
            Seed { b, ctx: &mut self.ctx }.deserialize(&mut de)?;
            de.end()?;
            if !b.is_valid(row) {
                return Ok(RowOutcome::NullRecord);
            }
        } else {
            RowSeed {
                row: &mut self.row,
                row_type: &self.row_type,
                index: row,
                ctx: &mut self.ctx,
            }
            .deserialize(&mut de)?;
            de.end()?;
            if self.ctx.null_record {
                return Ok(RowOutcome::NullRecord);
            }
        }
        Ok(RowOutcome::Row)
    }

    fn describe(&mut self, e: &serde_json::Error) -> String {
        match self.ctx.failure.take() {
            Some(f) => f.render(),
            None => format!("Invalid JSON: {e}"),
        }
    }
}

impl RowDecoder for JsonDecoder {
    fn builders(&mut self) -> &mut [ColumnBuilder] {
        &mut self.row.children
    }

    fn decode_row(&mut self, row: usize, payload: &[u8]) -> Result<RowOutcome, String> {
        let bytes = strip_schema_registry_prefix(payload);
        // A fast path can ask for the record again: once for raw scalars, once for slow maps.
        let mut attempts = 0;
        let result = loop {
            attempts += 1;
            match self.try_decode(row, bytes) {
                Err(_) if self.ctx.retry && attempts < 3 => {
                    for b in &mut self.row.children {
                        b.truncate(row);
                    }
                    self.ctx.slow_maps |= self.ctx.retry_slow_maps;
                }
                Ok(outcome) => break Ok(outcome),
                Err(e) => break Err(self.describe(&e)),
            }
        };
        self.ctx.slow_maps = false;
        result
    }
}

/// Encodes rows as JSON.
#[derive(Debug)]
pub(crate) struct JsonEncoder {
    types: Vec<SqlType>,
    prefixes: Vec<Vec<u8>>,
    unwrapped: bool,
}

impl JsonEncoder {
    pub(crate) fn new(fields: &[(String, SqlType)], unwrapped: bool) -> Self {
        let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
        JsonEncoder {
            types: fields.iter().map(|(_, t)| t.clone()).collect(),
            prefixes: encode::field_prefixes(&names),
            unwrapped: unwrapped && fields.len() == 1,
        }
    }
}

impl RowEncoder for JsonEncoder {
    fn encode_row(&mut self, cols: &[Prepared], i: usize, out: &mut bytes::BytesMut) -> bool {
        encode::write_row(cols, &self.types, &self.prefixes, self.unwrapped, i, out)
    }
}
