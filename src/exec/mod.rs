//! Running queries: operators over Arrow batches, the query task that moves records from source partitions to
//! sinks with checkpoints, and the two drivers that run tasks — threads for the server, and a synchronous driver
//! that feeds records one at a time for tests and the case runner.

pub mod aggregate;
mod checkpoint_writer;
pub mod dead_letter;
pub mod eval;
mod materialize;
pub(crate) mod pipeline;
mod push;
mod runtime;
pub(crate) mod sink;
pub(crate) mod source;
mod task;

pub use dead_letter::{DeadLetter, ErrorKind, processing_log_schema};
pub use materialize::MaterializePipeline;
pub use pipeline::{
    OutputColumn, Pipeline, PipelineOutput, StatelessPipeline, StatelessSpec, StatelessTransform, ViewUpdate,
};
pub use push::{PushEnd, PushMessage, TransientQuery};
pub use runtime::{QueryRuntime, QueryStatus};
pub use sink::{SinkEncoder, SinkRecord};
pub use source::{SourceBatch, SourceCounters, SourceDecoder};
pub use task::{QueryStats, QueryTask, StartPosition, TaskConfig};

use crate::format::FormatError;
use crate::state::StateError;
use crate::topics::TopicError;

/// Failures while running a query that are not about one record (those become dead letters).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Topic(#[from] TopicError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("format error: {0}")]
    Format(#[from] FormatError),
    #[error("Arrow error: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("DataFusion error: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// A broken invariant: our bug, not the user's.
    #[error("internal error: {0}")]
    Internal(String),
}
