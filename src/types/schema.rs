//! [`LogicalSchema`]: the columns of a stream or table, split into key and value columns as ksqlDB does.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::SqlType;

/// Where a column's data lives in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ColumnKind {
    /// Part of the record key (`KEY` on streams, `PRIMARY KEY` on tables).
    Key,
    /// Part of the record value.
    Value,
}

/// One declared column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    /// Canonical name: upper-cased unless it was quoted.
    pub name: String,
    pub ty: SqlType,
    pub kind: ColumnKind,
}

impl Column {
    pub fn key(name: impl Into<String>, ty: SqlType) -> Self {
        Column {
            name: name.into(),
            ty,
            kind: ColumnKind::Key,
        }
    }

    pub fn value(name: impl Into<String>, ty: SqlType) -> Self {
        Column {
            name: name.into(),
            ty,
            kind: ColumnKind::Value,
        }
    }
}

/// Columns every record has without being declared. `SELECT *` leaves them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PseudoColumn {
    /// The record timestamp in epoch milliseconds (or the `TIMESTAMP` column's value).
    RowTime,
    /// The partition the record was read from.
    RowPartition,
    /// The record's offset in its partition.
    RowOffset,
}

impl PseudoColumn {
    pub const ALL: [PseudoColumn; 3] = [
        PseudoColumn::RowTime,
        PseudoColumn::RowPartition,
        PseudoColumn::RowOffset,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PseudoColumn::RowTime => "ROWTIME",
            PseudoColumn::RowPartition => "ROWPARTITION",
            PseudoColumn::RowOffset => "ROWOFFSET",
        }
    }

    pub fn sql_type(self) -> SqlType {
        match self {
            PseudoColumn::RowTime | PseudoColumn::RowOffset => SqlType::BigInt,
            PseudoColumn::RowPartition => SqlType::Int,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        PseudoColumn::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// Names ksqlDB reserves for windowed results.
pub const WINDOWSTART: &str = "WINDOWSTART";
pub const WINDOWEND: &str = "WINDOWEND";

/// The declared columns of a source, keys first, in declaration order within each group.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogicalSchema {
    columns: Vec<Column>,
}

impl LogicalSchema {
    /// Builds a schema, putting key columns before value columns (ksqlDB's order) and keeping the
    /// relative order within each group.
    pub fn new(columns: Vec<Column>) -> Self {
        let (mut keys, values): (Vec<_>, Vec<_>) = columns.into_iter().partition(|c| c.kind == ColumnKind::Key);
        keys.extend(values);
        LogicalSchema { columns: keys }
    }

    /// Builds a result schema in the given order, key columns wherever they are: a pull query's projection decides
    /// where its columns go, and its header still marks which ones are a table's key.
    pub fn in_order(columns: Vec<Column>) -> Self {
        LogicalSchema { columns }
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn key_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Key)
    }

    pub fn value_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Value)
    }

    pub fn key_count(&self) -> usize {
        self.key_columns().count()
    }

    pub fn find(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Arrow schema of the declared columns only.
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.ty.to_arrow(), true))
                .collect::<Vec<_>>(),
        ))
    }

    /// Arrow schema of a decoded source batch: declared columns, then `ROWTIME`, `ROWPARTITION`, `ROWOFFSET`.
    /// Every operator downstream of a source sees this layout.
    pub fn source_batch_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.to_arrow(), true))
            .collect();
        for p in PseudoColumn::ALL {
            fields.push(Field::new(p.name(), p.sql_type().to_arrow(), false));
        }
        Arc::new(Schema::new(fields))
    }

    /// Renders the schema the way ksqlDB's REST API does: `` `ID` BIGINT KEY, `NAME` STRING ``.
    pub fn to_ksql_string(&self) -> String {
        self.columns
            .iter()
            .map(|c| {
                let suffix = match c.kind {
                    ColumnKind::Key => " KEY",
                    ColumnKind::Value => "",
                };
                format!("`{}` {}{}", c.name, c.ty, suffix)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The Arrow type of `ROWTIME`, for code that builds the pseudo-columns.
pub fn rowtime_arrow_type() -> DataType {
    DataType::Int64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_first() {
        let s = LogicalSchema::new(vec![
            Column::value("A", SqlType::Int),
            Column::key("K", SqlType::String),
            Column::value("B", SqlType::String),
        ]);
        let names: Vec<_> = s.columns().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["K", "A", "B"]);
        assert_eq!(s.to_ksql_string(), "`K` STRING KEY, `A` INTEGER, `B` STRING");
        assert_eq!(s.source_batch_schema().fields().len(), 6);
    }
}
