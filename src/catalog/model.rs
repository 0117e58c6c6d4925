//! The catalog's objects and the rules that keep them consistent.

use std::collections::BTreeMap;

use crate::sql::ast::SourceKind;
use crate::types::LogicalSchema;

/// A violated catalog rule, phrased for the user.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CatalogError {
    #[error("{kind} {name} does not exist.")]
    UnknownSource { kind: &'static str, name: String },
    #[error("Cannot add {kind} '{name}': A {existing} with the same name already exists")]
    SourceExists {
        kind: &'static str,
        name: String,
        existing: &'static str,
    },
    #[error("Query {0} does not exist.")]
    UnknownQuery(String),
    #[error(
        "Cannot drop {name}. The following queries read from this source: [{readers}] and write into this source: [{writers}]. You need to terminate them before dropping {name}."
    )]
    InUse {
        name: String,
        readers: String,
        writers: String,
    },
    #[error("Incompatible data source type is {actual}, but statement was DROP {requested}")]
    WrongKind {
        actual: &'static str,
        requested: &'static str,
    },
}

/// How a source's key or value is serialized: the format name and its options, as declared.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FormatSpec {
    /// Upper-cased format name: `JSON`, `DELIMITED`, `KAFKA`, `NONE`.
    pub format: String,
    /// DELIMITED only: the delimiter as declared (`,`, `TAB`, `SPACE`, `|`, ...).
    pub delimiter: Option<String>,
    /// Values only: whether a single column is wrapped in an object.
    pub wrap_single_value: Option<bool>,
}

impl FormatSpec {
    pub fn named(format: &str) -> Self {
        FormatSpec {
            format: format.to_ascii_uppercase(),
            delimiter: None,
            wrap_single_value: None,
        }
    }
}

/// Event time taken from a column instead of the record timestamp.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimestampSpec {
    pub column: String,
    /// Java-style pattern for `STRING` columns (`TIMESTAMP_FORMAT`).
    pub format: Option<String>,
}

/// A stream or table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceDef {
    pub name: String,
    pub kind: SourceKind,
    pub schema: LogicalSchema,
    pub topic: String,
    pub partitions: u32,
    pub key_format: FormatSpec,
    pub value_format: FormatSpec,
    pub timestamp: Option<TimestampSpec>,
    /// Declared with `CREATE SOURCE`: read-only.
    pub is_source: bool,
    /// The statement that created it.
    pub sql: String,
    /// The persistent query that writes it, for sources created by `CREATE ... AS SELECT`.
    pub created_by: Option<String>,
    /// For windowed tables (the result of a windowed aggregation): the window type and size.
    #[serde(default)]
    pub window: Option<WindowInfo>,
}

/// The window of a windowed table, as `DESCRIBE` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowInfo {
    /// `TUMBLING`, `HOPPING` or `SESSION`.
    pub kind: String,
    /// Window size for time windows.
    pub size_ms: Option<i64>,
}

impl SourceDef {
    pub fn kind_name(&self) -> &'static str {
        self.kind.as_str()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum QueryKind {
    /// `CREATE STREAM|TABLE ... AS SELECT`
    CreateAsSelect,
    /// `INSERT INTO ... SELECT`
    InsertInto,
    /// Keeps the view of a `CREATE SOURCE TABLE` (ksqlDB's `CST_` queries).
    Materialize,
}

/// Whether a persistent query is running.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum QueryState {
    Running,
    /// Stopped by an error it could not route to the dead letters (e.g. the sink topic vanished).
    Error(String),
}

/// A persistent query.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QueryDef {
    /// `CSAS_<SINK>_<n>`, `CTAS_<SINK>_<n>` or `INSERTQUERY_<n>`, where `n` is the command's sequence number.
    pub id: String,
    pub kind: QueryKind,
    pub sql: String,
    pub sink: String,
    pub sources: Vec<String>,
}

/// The current streams, tables and queries.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    sources: BTreeMap<String, SourceDef>,
    queries: BTreeMap<String, QueryDef>,
}

impl Catalog {
    pub fn source(&self, name: &str) -> Option<&SourceDef> {
        self.sources.get(name)
    }

    /// Looks a source up, or explains that it does not exist.
    pub fn require_source(&self, name: &str) -> Result<&SourceDef, CatalogError> {
        self.sources.get(name).ok_or_else(|| CatalogError::UnknownSource {
            kind: "Source",
            name: name.to_string(),
        })
    }

    pub fn sources(&self) -> impl Iterator<Item = &SourceDef> {
        self.sources.values()
    }

    pub fn query(&self, id: &str) -> Option<&QueryDef> {
        self.queries.get(id)
    }

    pub fn queries(&self) -> impl Iterator<Item = &QueryDef> {
        self.queries.values()
    }

    /// Adds a source; with `replace`, an existing source of the same kind is replaced.
    pub fn add_source(&mut self, def: SourceDef, replace: bool) -> Result<(), CatalogError> {
        if let Some(existing) = self.sources.get(&def.name)
            && (!replace || existing.kind != def.kind)
        {
            return Err(CatalogError::SourceExists {
                kind: def.kind_name_lower(),
                name: def.name.clone(),
                existing: existing.kind_name_lower(),
            });
        }
        self.sources.insert(def.name.clone(), def);
        Ok(())
    }

    /// Removes a source that no running query reads or writes.
    pub fn drop_source(&mut self, name: &str, kind: SourceKind) -> Result<SourceDef, CatalogError> {
        let existing = self.require_source(name)?;
        if existing.kind != kind {
            return Err(CatalogError::WrongKind {
                actual: existing.kind_name(),
                requested: kind.as_str(),
            });
        }
        let readers: Vec<&str> = self
            .queries
            .values()
            .filter(|q| q.sources.iter().any(|s| s == name))
            .map(|q| q.id.as_str())
            .collect();
        let writers: Vec<&str> = self
            .queries
            .values()
            .filter(|q| q.sink == name)
            .map(|q| q.id.as_str())
            .collect();
        if !readers.is_empty() || !writers.is_empty() {
            return Err(CatalogError::InUse {
                name: name.to_string(),
                readers: readers.join(", "),
                writers: writers.join(", "),
            });
        }
        self.sources.remove(name).ok_or_else(|| CatalogError::UnknownSource {
            kind: "Source",
            name: name.to_string(),
        })
    }

    pub fn add_query(&mut self, query: QueryDef) {
        self.queries.insert(query.id.clone(), query);
    }

    pub fn remove_query(&mut self, id: &str) -> Result<QueryDef, CatalogError> {
        self.queries
            .remove(id)
            .ok_or_else(|| CatalogError::UnknownQuery(id.to_string()))
    }

    /// Queries reading `name`.
    pub fn readers_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a QueryDef> + 'a {
        self.queries
            .values()
            .filter(move |q| q.sources.iter().any(|s| s == name))
    }

    /// Queries writing `name`.
    pub fn writers_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a QueryDef> + 'a {
        self.queries.values().filter(move |q| q.sink == name)
    }
}

impl SourceDef {
    fn kind_name_lower(&self) -> &'static str {
        match self.kind {
            SourceKind::Stream => "stream",
            SourceKind::Table => "table",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Column, SqlType};

    fn stream(name: &str) -> SourceDef {
        SourceDef {
            name: name.into(),
            kind: SourceKind::Stream,
            schema: LogicalSchema::new(vec![Column::value("A", SqlType::Int)]),
            topic: name.to_lowercase(),
            partitions: 1,
            key_format: FormatSpec::named("KAFKA"),
            value_format: FormatSpec::named("JSON"),
            timestamp: None,
            is_source: false,
            sql: String::new(),
            created_by: None,
            window: None,
        }
    }

    #[test]
    fn duplicate_names_are_rejected_unless_replacing() {
        let mut c = Catalog::default();
        c.add_source(stream("S"), false).unwrap();
        assert!(matches!(
            c.add_source(stream("S"), false),
            Err(CatalogError::SourceExists { .. })
        ));
        c.add_source(stream("S"), true).unwrap();
    }

    #[test]
    fn sources_in_use_cannot_be_dropped() {
        let mut c = Catalog::default();
        c.add_source(stream("S"), false).unwrap();
        c.add_source(stream("T"), false).unwrap();
        c.add_query(QueryDef {
            id: "CSAS_T_1".into(),
            kind: QueryKind::CreateAsSelect,
            sql: String::new(),
            sink: "T".into(),
            sources: vec!["S".into()],
        });
        let err = c.drop_source("S", SourceKind::Stream).unwrap_err().to_string();
        assert!(err.contains("read from this source: [CSAS_T_1]"), "{err}");
        assert!(c.drop_source("T", SourceKind::Stream).is_err());
        c.remove_query("CSAS_T_1").unwrap();
        c.drop_source("T", SourceKind::Stream).unwrap();
        assert!(matches!(
            c.drop_source("S", SourceKind::Table),
            Err(CatalogError::WrongKind { .. })
        ));
    }
}
