//! Weir: a streaming SQL server in the ksqlDB dialect.
//!
//! The crate is laid out in layers (see `DESIGN.md`): [`sql`] parses the dialect, [`catalog`] keeps streams,
//! tables and queries as a replayable command log, [`plan`] turns statements into streaming pipelines,
//! [`exec`] runs them over Arrow batches, [`state`] checkpoints, [`topics`] stores records, [`format`] converts
//! between bytes and Arrow, and [`server`] speaks REST and the Postgres wire protocol.

pub mod sql;
pub mod types;
pub mod topics;
