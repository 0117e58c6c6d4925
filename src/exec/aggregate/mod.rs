//! Aggregation: the contract of an aggregate function's per-group state ([`accumulator`]) and ksqlDB's aggregate
//! functions implemented against it ([`functions`]).

pub mod accumulator;
pub mod functions;
