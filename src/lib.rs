//! Weir: a streaming SQL server in the ksqlDB dialect.
//!
//! The crate is laid out in layers (see `DESIGN.md`): [`sql`] parses the dialect, [`catalog`] keeps streams,
//! tables and queries as a replayable command log, [`plan`] turns statements into streaming pipelines,
//! [`exec`] runs them over Arrow batches, [`state`] checkpoints, [`topics`] stores records, [`format`] converts
//! between bytes and Arrow, [`functions`] holds ksqlDB's scalar functions, [`engine`] dispatches statements, and
//! [`server`] speaks REST and the Postgres wire protocol. [`cases`] runs ksqlDB-style test case files.

pub mod bench;
pub mod cases;
pub mod catalog;
pub mod config;
pub mod engine;
pub mod exec;
pub mod format;
pub mod functions;
pub mod migrations;
pub mod plan;
pub mod serve;
pub mod server;
pub mod sql;
pub mod state;
pub mod topics;
pub mod types;
