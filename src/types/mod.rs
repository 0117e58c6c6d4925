//! Weir's column types and logical schemas.
//!
//! SQL types follow ksqlDB's type system (`BOOLEAN`, `INT`, `BIGINT`, `DOUBLE`, `DECIMAL(p,s)`, `STRING`, `BYTES`,
//! `TIMESTAMP`, `DATE`, `TIME`, `ARRAY<T>`, `MAP<K,V>`, `STRUCT<...>`). Each maps to exactly one Arrow type, so the
//! formats, the planner and the operators agree on the in-memory representation without further conversion.

mod schema;
mod sql_type;

pub use schema::{Column, ColumnKind, LogicalSchema, PseudoColumn, WINDOWEND, WINDOWSTART, rowtime_arrow_type};
pub use sql_type::{SqlType, TypeError};
