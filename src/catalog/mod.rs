//! Streams, tables and persistent queries, kept as a **command log**.
//!
//! Every accepted DDL statement is appended to the [`CommandLog`] (a sled tree, later a compacted Kafka topic);
//! the in-memory [`Catalog`] is what replaying that log produces. A restart replays the log, so the catalog after a
//! restart is the catalog before it. The catalog does not run anything: the engine starts queries from it.

mod command_log;
mod model;

pub use command_log::{CommandLog, CommandLogError, LoggedCommand};
pub use model::{
    Catalog, CatalogError, FormatSpec, QueryDef, QueryKind, QueryState, SourceDef, TimestampSpec, WindowInfo,
};
