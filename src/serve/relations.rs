//! Weir's streams and tables as Postgres relations: stable OIDs, relation kinds and columns, the input of the
//! `pg_catalog` and `information_schema` tables.
//!
//! Streams are shown as **views** (`relkind 'v'`, `\dv`), tables as **tables** (`relkind 'r'`, `\dt`); both are in
//! schema `public`. A relation's declared columns have attribute numbers from 1; the pseudo-columns (`ROWTIME`,
//! `ROWPARTITION`, `ROWOFFSET`) are system columns with negative numbers, so `\d` and drivers' introspection
//! leave them out, as `SELECT *` does, while queries can still name them.

use std::collections::{BTreeMap, HashSet};

use datafusion::arrow::datatypes::DataType;

use crate::catalog::SourceDef;
use crate::sql::ast::SourceKind;
use crate::types::{ColumnKind, PseudoColumn};

/// `pg_namespace` OIDs.
pub const PG_CATALOG_NAMESPACE: i64 = 11;
pub const PUBLIC_NAMESPACE: i64 = 2200;
pub const INFORMATION_SCHEMA_NAMESPACE: i64 = 13_000;
/// The one role that owns everything (`pg_authid` OID 10, as the bootstrap superuser in Postgres).
pub const OWNER_OID: i64 = 10;
pub const OWNER_NAME: &str = "weir";
/// `pg_class`'s own OID, used as `classoid` in `pg_description`.
pub const PG_CLASS_OID: i64 = 1259;
/// Where Weir relations' OIDs start (Postgres' first user OID).
const FIRST_USER_OID: i64 = 16_384;

/// A relation column.
#[derive(Debug, Clone, PartialEq)]
pub struct RelColumn {
    pub name: String,
    pub data_type: DataType,
    /// `attnum`: from 1 for declared columns, negative for pseudo-columns.
    pub number: i16,
    /// `KEY` or `PRIMARY KEY`, shown as the column's comment.
    pub key: Option<&'static str>,
    pub not_null: bool,
}

/// A Weir source or a catalog table, as a Postgres relation.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub oid: i64,
    pub namespace: i64,
    pub name: String,
    /// `r` (table) or `v` (view).
    pub relkind: char,
    pub columns: Vec<RelColumn>,
    /// `obj_description`: what the relation is, over which topic, in which formats.
    pub description: Option<String>,
    /// The statement that created it (`pg_views.definition`).
    pub definition: Option<String>,
}

impl Relation {
    /// The relation of a Weir stream or table.
    pub fn of_source(def: &SourceDef, oid: i64) -> Relation {
        let mut columns: Vec<RelColumn> = def
            .schema
            .columns()
            .iter()
            .enumerate()
            .map(|(i, c)| RelColumn {
                name: c.name.clone(),
                data_type: c.ty.to_arrow(),
                number: i16::try_from(i + 1).unwrap_or(i16::MAX),
                key: match (c.kind, def.kind) {
                    (ColumnKind::Key, SourceKind::Table) => Some("PRIMARY KEY"),
                    (ColumnKind::Key, SourceKind::Stream) => Some("KEY"),
                    (ColumnKind::Value, _) => None,
                },
                not_null: false,
            })
            .collect();
        for (i, p) in PseudoColumn::ALL.iter().enumerate() {
            columns.push(RelColumn {
                name: p.name().to_string(),
                data_type: p.sql_type().to_arrow(),
                number: -(i as i16) - 1,
                key: None,
                not_null: true,
            });
        }
        let (relkind, what) = match def.kind {
            SourceKind::Stream => ('v', "STREAM"),
            SourceKind::Table => ('r', "TABLE"),
        };
        Relation {
            oid,
            namespace: PUBLIC_NAMESPACE,
            name: def.name.clone(),
            relkind,
            columns,
            description: Some(format!(
                "{what} over topic '{}' (key format {}, value format {})",
                def.topic, def.key_format.format, def.value_format.format
            )),
            definition: (!def.sql.is_empty()).then(|| def.sql.clone()),
        }
    }

    /// The relation of a table served from its materialized view: the view's columns (keys, then `WINDOWSTART` and
    /// `WINDOWEND` for a windowed table, then values), without pseudo-columns, which views do not keep.
    pub fn of_view(def: &SourceDef, oid: i64, schema: &datafusion::arrow::datatypes::Schema) -> Relation {
        let mut relation = Relation::of_source(def, oid);
        relation.columns = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let key = def
                    .schema
                    .key_columns()
                    .any(|c| &c.name == f.name())
                    .then_some("PRIMARY KEY");
                RelColumn {
                    name: f.name().clone(),
                    data_type: f.data_type().clone(),
                    number: i16::try_from(i + 1).unwrap_or(i16::MAX),
                    key,
                    not_null: false,
                }
            })
            .collect();
        relation
    }

    /// The declared (user-visible) columns, in order.
    pub fn visible_columns(&self) -> impl Iterator<Item = &RelColumn> {
        self.columns.iter().filter(|c| c.number > 0)
    }
}

/// Gives every source a stable OID: a hash of its name in the user range, probing past collisions in name order,
/// so an OID survives restarts and unrelated catalog changes (tools may cache them between two queries).
pub fn assign_oids<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, i64> {
    let mut sorted: Vec<&str> = names.into_iter().collect();
    sorted.sort_unstable();
    let mut used = HashSet::new();
    let mut out = BTreeMap::new();
    for name in sorted {
        let span = 1_000_000_000_i64;
        let mut oid = FIRST_USER_OID + i64::from(crc32fast::hash(name.as_bytes())) % span;
        while !used.insert(oid) {
            oid = FIRST_USER_OID + (oid - FIRST_USER_OID + 1) % span;
        }
        out.insert(name.to_string(), oid);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_are_stable_and_distinct() {
        let a = assign_oids(["PAGEVIEWS", "USERS"]);
        let b = assign_oids(["USERS", "OTHER", "PAGEVIEWS"]);
        assert_eq!(a["PAGEVIEWS"], b["PAGEVIEWS"]);
        assert_eq!(a["USERS"], b["USERS"]);
        assert_ne!(a["PAGEVIEWS"], a["USERS"]);
        assert!(a.values().all(|o| *o >= FIRST_USER_OID));
    }
}
