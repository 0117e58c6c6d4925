//! Planning: from dialect statements to catalog definitions and streaming pipelines.
//!
//! Expressions are resolved, typed and compiled by DataFusion ([`expr`]); the streaming shape (source, filter,
//! projection, re-key, sink) is Weir's own ([`persistent`]). This layer does no I/O: whether topics exist is the
//! engine's concern.

mod aggregate;
mod create_source;
mod error;
pub mod expr;
mod ksql_rules;
mod persistent;
pub mod properties;
mod pull;
pub mod session;

pub use aggregate::{AggregatePlan, AggregateSink, plan_aggregate, uses_aggregates};
pub use create_source::plan_create_source;
pub use error::PlanError;
pub use persistent::{PersistentPlan, SinkTarget, TransientPlan, plan_persistent, plan_transient, result_batch_schema};
pub use pull::{PullPlan, needs_full_sql, plan_table_pull};
pub use session::new_session_state;
