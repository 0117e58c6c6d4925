//! Tuning knobs of the embedded log.

use std::time::Duration;

/// When appended data is forced to disk. Without an fsync, data survives a process crash (it is in the page
/// cache) but not a power loss or kernel crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// fsync after every append, before it becomes visible to readers: nothing acknowledged is ever lost, at the
    /// cost of one disk flush per batch.
    Always,
    /// A background thread fsyncs every partition with unsynced data once per interval, so at most about one
    /// interval of acknowledged data is at risk; appends never wait for the disk. Intervals below 1 ms count as 1 ms.
    Interval(Duration),
    /// fsync only on [`TopicStore::flush`](crate::topics::TopicStore::flush) and when the store is dropped.
    Never,
}

impl Default for FsyncPolicy {
    /// One second, the usual compromise of log stores between throughput and exposure.
    fn default() -> Self {
        FsyncPolicy::Interval(Duration::from_secs(1))
    }
}

/// Options of [`EmbeddedStore::open`](super::EmbeddedStore::open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedOptions {
    /// A partition starts a new segment file when the next batch would make the active one larger than this
    /// (a batch larger than this gets a segment of its own). Default 64 MiB.
    pub segment_bytes: u64,
    /// Default: [`FsyncPolicy::Interval`] of one second.
    pub fsync: FsyncPolicy,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        EmbeddedOptions {
            segment_bytes: 64 * 1024 * 1024,
            fsync: FsyncPolicy::default(),
        }
    }
}
