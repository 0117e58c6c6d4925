//! Weir's tables as [`ViewScan`]s: every table is read through [`Engine::table_rows`], which answers from the
//! table's materialized view in sled (tables created by a query, `CREATE SOURCE TABLE`) or compacts its topic
//! (a plain `CREATE TABLE`). So pull queries over the wire see the same rows as REST pull queries: the key
//! columns, `WINDOWSTART`/`WINDOWEND` for windowed tables, then the value columns.
//!
//! A table with one key column serves `key = v` and `key IN (...)` as point lookups (a prefix scan over the windows
//! of a windowed table), and key ranges (`key > v`, `BETWEEN`) as range scans where the key's bytes sort as its
//! values ([`Engine::table_key_range`]); other ranges read every row. DataFusion re-checks every predicate.

use std::sync::{Arc, Weak};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

use super::error::ServeError;
use super::view::{KeyLookup, ViewCatalog, ViewScan};
use crate::catalog::SourceDef;
use crate::engine::Engine;
use crate::sql::ast::SourceKind;

/// Serves every table of an engine from its view.
pub struct EngineViews {
    /// Weak, so the serving session (kept by the engine's servers) does not keep the engine alive.
    engine: Weak<Engine>,
}

impl EngineViews {
    pub fn new(engine: &Arc<Engine>) -> Self {
        EngineViews {
            engine: Arc::downgrade(engine),
        }
    }
}

impl ViewCatalog for EngineViews {
    fn view(&self, source: &SourceDef) -> Option<Arc<dyn ViewScan>> {
        if source.kind != SourceKind::Table {
            return None;
        }
        let engine = self.engine.upgrade()?;
        let mut keys = source.schema.key_columns();
        let key = match (keys.next(), keys.next()) {
            (Some(k), None) => Some(k.name.clone()),
            _ => None,
        };
        Some(Arc::new(TableView {
            schema: engine.table_schema(source),
            table: source.name.clone(),
            key,
            engine: self.engine.clone(),
        }))
    }
}

/// One table, read through the engine.
struct TableView {
    table: String,
    schema: SchemaRef,
    /// The key column, when the table has exactly one (lookups need every key column).
    key: Option<String>,
    engine: Weak<Engine>,
}

impl std::fmt::Debug for TableView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableView")
            .field("table", &self.table)
            .field("key", &self.key)
            .finish()
    }
}

impl ViewScan for TableView {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn key_column(&self) -> Option<&str> {
        self.key.as_deref()
    }

    fn scan(&self, lookup: &KeyLookup, _limit: Option<usize>) -> Result<Vec<RecordBatch>, ServeError> {
        let engine = self
            .engine
            .upgrade()
            .ok_or_else(|| ServeError::internal("the engine has shut down"))?;
        let read = |key: Option<&[datafusion::scalar::ScalarValue]>| {
            engine
                .table_rows(&self.table, key)
                .map(|(_, batches)| batches)
                .map_err(ServeError::from)
        };
        match lookup {
            KeyLookup::Nothing => Ok(vec![]),
            KeyLookup::All => read(None),
            KeyLookup::Range { lower, upper } => {
                match engine.table_key_range(&self.table, lower.as_ref(), upper.as_ref())? {
                    Some(batches) => Ok(batches),
                    None => read(None),
                }
            }
            KeyLookup::Points(points) => {
                let mut out = Vec::new();
                let mut seen = Vec::with_capacity(points.len());
                for p in points {
                    // `key IN (1, 1)` must not return the row twice.
                    if seen.contains(&p) {
                        continue;
                    }
                    seen.push(p);
                    out.extend(read(Some(std::slice::from_ref(p)))?);
                }
                Ok(out)
            }
        }
    }
}
