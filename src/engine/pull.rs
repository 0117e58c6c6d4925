//! Reading a table's current rows for pull queries: from its materialized view (tables created by a query, and
//! `CREATE SOURCE TABLE`), or by compacting its topic (a plain `CREATE TABLE`, which no query keeps a view of).
//!
//! Rows come back as Arrow batches with the table's key columns, then `WINDOWSTART`/`WINDOWEND` for windowed
//! tables, then its value columns: the schema a pull query sees.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::scalar::ScalarValue;

use crate::catalog::SourceDef;
use crate::format::{Decoder, Encoder};
use crate::plan::properties::format_options;
use crate::sql::ast::SourceKind;
use crate::state::ViewRow;
use crate::types::{ColumnKind, SqlType, WINDOWEND, WINDOWSTART};

use super::{Engine, EngineError};

/// Rows decoded per batch.
const BATCH_ROWS: usize = 1024;

impl Engine {
    /// The schema pull queries see for a table.
    pub fn table_schema(&self, table: &SourceDef) -> SchemaRef {
        let mut fields = Vec::new();
        for c in table.schema.key_columns() {
            fields.push(Field::new(&c.name, c.ty.to_arrow(), true));
        }
        if table.window.is_some() {
            fields.push(Field::new(WINDOWSTART, DataType::Int64, true));
            fields.push(Field::new(WINDOWEND, DataType::Int64, true));
        }
        for c in table.schema.value_columns() {
            fields.push(Field::new(&c.name, c.ty.to_arrow(), true));
        }
        Arc::new(Schema::new(fields))
    }

    /// The current rows of `table`, optionally only those whose key columns equal `key` (all key columns, in
    /// declaration order): a point lookup, or a prefix scan over the windows of a windowed table.
    pub fn table_rows(
        &self,
        table: &str,
        key: Option<&[ScalarValue]>,
    ) -> Result<(SchemaRef, Vec<RecordBatch>), EngineError> {
        let def = self
            .catalog
            .read()
            .source(table)
            .cloned()
            .ok_or_else(|| EngineError::not_found(format!("Source `{table}` does not exist.")))?;
        if def.kind != SourceKind::Table {
            return Err(EngineError::invalid(format!("{table} is a stream, not a table.")));
        }
        let schema = self.table_schema(&def);
        let key_bytes = match key {
            Some(values) => Some(self.encode_key(&def, values)?),
            None => None,
        };
        let rows = if self.catalog.read().writers_of(table).next().is_some() {
            let view = self.view(table)?;
            match (&key_bytes, def.window.is_some()) {
                (Some(k), false) => view.get(k)?.into_iter().collect(),
                (Some(k), true) => view.scan_prefix(k)?,
                (None, _) => view.scan_prefix(&[])?,
            }
        } else {
            self.compact_topic(&def, key_bytes.as_deref())?
        };
        let batches = rows
            .chunks(BATCH_ROWS)
            .map(|chunk| self.decode_rows(&def, &schema, chunk))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((schema, batches))
    }

    /// The current rows of `table` whose key lies within the bounds: a range scan of its materialized view. Only
    /// when the key's bytes sort as its values do (one `STRING` key column in the `KAFKA` format, not windowed)
    /// and the table has a view; `None` otherwise, and the caller reads every row and filters.
    pub fn table_key_range(
        &self,
        table: &str,
        lower: Bound<&ScalarValue>,
        upper: Bound<&ScalarValue>,
    ) -> Result<Option<Vec<RecordBatch>>, EngineError> {
        let Some(def) = self.catalog.read().source(table).cloned() else {
            return Ok(None);
        };
        let mut keys = def.schema.key_columns();
        let sorted = matches!((keys.next(), keys.next()), (Some(k), None) if k.ty == SqlType::String)
            && def.key_format.format == "KAFKA"
            && def.window.is_none()
            && def.kind == SourceKind::Table
            && self.catalog.read().writers_of(table).next().is_some();
        if !sorted {
            return Ok(None);
        }
        let encode = |b: Bound<&ScalarValue>| -> Result<Bound<Vec<u8>>, EngineError> {
            Ok(match b {
                Bound::Included(v) => Bound::Included(self.encode_key(&def, std::slice::from_ref(v))?),
                Bound::Excluded(v) => Bound::Excluded(self.encode_key(&def, std::slice::from_ref(v))?),
                Bound::Unbounded => Bound::Unbounded,
            })
        };
        let (lower, upper) = (encode(lower)?, encode(upper)?);
        let rows = self
            .view(table)?
            .scan_range(lower.as_ref().map(Vec::as_slice), upper.as_ref().map(Vec::as_slice))?;
        let schema = self.table_schema(&def);
        let batches = rows
            .chunks(BATCH_ROWS)
            .map(|chunk| self.decode_rows(&def, &schema, chunk))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(batches))
    }

    /// The latest record of each key of a table's topic, without a view.
    fn compact_topic(&self, def: &SourceDef, only: Option<&[u8]>) -> Result<Vec<ViewRow>, EngineError> {
        let partitions = self
            .store
            .describe_topic(&def.topic)?
            .map(|t| t.partitions)
            .unwrap_or(0);
        let mut latest: HashMap<Bytes, Option<(i64, Bytes)>> = HashMap::new();
        for p in 0..partitions {
            let offsets = self.store.offsets(&def.topic, p)?;
            let mut offset = offsets.earliest;
            while offset < offsets.end {
                let batch = self.store.read(&def.topic, p, offset, 1000)?;
                let Some(last) = batch.last() else { break };
                offset = last.offset + 1;
                for r in batch {
                    let Some(k) = r.record.key else { continue };
                    if only.is_some_and(|o| !k.starts_with(o)) {
                        continue;
                    }
                    latest.insert(k, r.record.value.map(|v| (r.record.timestamp, v)));
                }
            }
        }
        let mut rows: Vec<ViewRow> = latest
            .into_iter()
            .filter_map(|(key, v)| {
                v.map(|(timestamp, value)| ViewRow {
                    key: key.to_vec(),
                    timestamp,
                    value,
                })
            })
            .collect();
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(rows)
    }

    fn encode_key(&self, def: &SourceDef, values: &[ScalarValue]) -> Result<Vec<u8>, EngineError> {
        let fields: Vec<(String, SqlType)> = def
            .schema
            .key_columns()
            .map(|c| (c.name.clone(), c.ty.clone()))
            .collect();
        if values.len() != fields.len() {
            return Err(EngineError::invalid(format!(
                "A key lookup on {} needs all {} key columns.",
                def.name,
                fields.len()
            )));
        }
        let arrays = values
            .iter()
            .zip(&fields)
            .map(|(v, (name, ty))| {
                let array = v.to_array_of_size(1).map_err(|e| EngineError::invalid(e.to_string()))?;
                datafusion::arrow::compute::cast(&array, &ty.to_arrow()).map_err(|_| {
                    EngineError::invalid(format!(
                        "The value {v} cannot be compared with the key column {name} ({ty})."
                    ))
                })
            })
            .collect::<Result<Vec<ArrayRef>, _>>()?;
        let mut encoder = Encoder::new(&format_options(&def.key_format)?, &fields, true)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let encoded = encoder
            .encode(&arrays, 1)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        Ok(encoded
            .into_iter()
            .next()
            .flatten()
            .map(|b| b.to_vec())
            .unwrap_or_default())
    }

    fn decode_rows(&self, def: &SourceDef, schema: &SchemaRef, rows: &[ViewRow]) -> Result<RecordBatch, EngineError> {
        let fields = |kind: ColumnKind| -> Vec<(String, SqlType)> {
            def.schema
                .columns()
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect()
        };
        let invalid = |e: crate::format::FormatError| EngineError::invalid(e.to_string());
        let mut key_decoder =
            Decoder::new(&format_options(&def.key_format)?, &fields(ColumnKind::Key), true).map_err(invalid)?;
        let mut value_decoder =
            Decoder::new(&format_options(&def.value_format)?, &fields(ColumnKind::Value), false).map_err(invalid)?;
        let mut windows: Vec<(Option<i64>, Option<i64>)> = Vec::with_capacity(rows.len());
        let keys: Vec<Option<&[u8]>> = rows
            .iter()
            .map(|r| {
                let (key, window) = split_window_suffix(&r.key, def);
                windows.push(window);
                Some(key)
            })
            .collect();
        let values: Vec<Option<&[u8]>> = rows.iter().map(|r| Some(&r.value[..])).collect();
        let decoded_keys = key_decoder.decode(&keys);
        let decoded_values = value_decoder.decode(&values);
        let mut columns: Vec<ArrayRef> = decoded_keys.arrays;
        if def.window.is_some() {
            columns.push(Arc::new(Int64Array::from(
                windows.iter().map(|w| w.0).collect::<Vec<_>>(),
            )));
            columns.push(Arc::new(Int64Array::from(
                windows.iter().map(|w| w.1).collect::<Vec<_>>(),
            )));
        }
        columns.extend(decoded_values.arrays);
        Ok(RecordBatch::try_new(schema.clone(), columns)?)
    }
}

/// Splits a windowed table's record key into the key bytes and its window bounds.
fn split_window_suffix<'a>(key: &'a [u8], def: &SourceDef) -> (&'a [u8], (Option<i64>, Option<i64>)) {
    let Some(window) = &def.window else {
        return (key, (None, None));
    };
    let long = |b: &[u8]| b.try_into().ok().map(i64::from_be_bytes);
    if window.kind == "SESSION" {
        match key.len().checked_sub(16) {
            Some(split) => (&key[..split], (long(&key[split + 8..]), long(&key[split..split + 8]))),
            None => (key, (None, None)),
        }
    } else {
        match key.len().checked_sub(8) {
            Some(split) => {
                let start = long(&key[split..]);
                (&key[..split], (start, start.map(|s| s + window.size_ms.unwrap_or(0))))
            }
            None => (key, (None, None)),
        }
    }
}
