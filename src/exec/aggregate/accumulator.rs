//! The contract of an aggregate function's state: one object holds the state of **all groups** of one
//! aggregate call in a query, indexed by a group slot, and is updated a batch at a time (the shape DataFusion's
//! `GroupsAccumulator` uses), so the hot path never allocates or dispatches per row and group.

use datafusion::arrow::array::ArrayRef;
use datafusion::error::Result;
use datafusion::scalar::ScalarValue;

use crate::types::SqlType;

/// A slot that rows skip (filtered out, late, or null group key).
pub const SKIP: u32 = u32::MAX;

/// Per-row context some functions need.
pub struct UpdateContext<'a> {
    /// A sequence number per row, increasing in processing order across the whole query (what ksqlDB's
    /// `EARLIEST_BY_OFFSET` / `LATEST_BY_OFFSET` order by).
    pub sequence: &'a [u64],
}

/// The state of one aggregate call for every group.
pub trait GroupsAccumulator: Send {
    /// Makes slots `0..n` exist; new slots hold the function's initial state.
    fn resize(&mut self, n: usize);
    /// Adds each row `i` (values in `args[..][i]`) to group `slots[i]`; rows whose slot is [`SKIP`] are ignored.
    fn update(&mut self, args: &[ArrayRef], slots: &[u32], ctx: &UpdateContext<'_>) -> Result<()>;
    /// Removes rows previously added (a table source's old row); only called when the spec says
    /// `supports_retract`.
    fn retract(&mut self, args: &[ArrayRef], slots: &[u32], ctx: &UpdateContext<'_>) -> Result<()>;
    /// Folds slot `from` into slot `into` (session windows merging); `from` is reset afterwards.
    fn merge(&mut self, into: u32, from: u32) -> Result<()>;
    /// Returns a slot to its initial state, for reuse.
    fn reset(&mut self, slot: u32);
    /// The current results of `slots`, as one array of the function's return type.
    fn evaluate(&self, slots: &[u32]) -> Result<ArrayRef>;
    /// Appends slot's state to `out` (for checkpoints).
    fn save(&self, slot: u32, out: &mut Vec<u8>);
    /// Restores a slot from bytes written by `save` (after `resize`). Corrupt input is an error, never a panic.
    fn load(&mut self, slot: u32, bytes: &[u8]) -> Result<()>;
    /// Approximate heap bytes held, for memory reporting.
    fn memory_size(&self) -> usize;
}

/// A resolved aggregate call: its result type and how to make its state.
pub struct AggregateSpec {
    /// Upper-case ksqlDB name.
    pub name: String,
    pub return_type: SqlType,
    /// Whether rows can be removed again (needed to aggregate a table, whose rows change).
    pub supports_retract: bool,
    pub create: Box<dyn Fn() -> Box<dyn GroupsAccumulator> + Send + Sync>,
}

impl std::fmt::Debug for AggregateSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregateSpec")
            .field("name", &self.name)
            .field("return_type", &self.return_type)
            .field("supports_retract", &self.supports_retract)
            .finish()
    }
}

/// How a call looks at planning time: the argument types and, for each argument, its value when it is a literal
/// (TOPK's `k`, LATEST_BY_OFFSET's `n` and `ignoreNulls`).
pub struct AggregateCall<'a> {
    pub name: &'a str,
    /// `COUNT(*)` has no arguments.
    pub arg_types: &'a [SqlType],
    pub literals: &'a [Option<ScalarValue>],
}
