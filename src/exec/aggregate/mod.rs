//! Stateful aggregation: `GROUP BY` with ksqlDB's aggregate functions, over streams and tables, optionally in
//! tumbling, hopping or session windows on event time.

pub mod accumulator;
pub mod functions;
mod operator;
mod slot_set;
pub mod state;
pub mod windows;

pub use accumulator::{AggregateCall, AggregateSpec, GroupsAccumulator, SKIP, UpdateContext};
pub use operator::{AggregateCodecs, AggregateInput, AggregatePipeline, AggregateSpecs, windowed_key};
pub use windows::{Window, WindowDef, WindowError, WindowKind};
