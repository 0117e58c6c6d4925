//! Topics shaped like Kafka: named, partitioned, append-only logs of timestamped key/value records with headers.
//!
//! Two implementations share the [`TopicStore`] trait: [`embedded`] (append-only segment files per partition, the
//! laptop default) and [`kafka`] (a Kafka cluster through rdkafka). Nothing here knows about formats or SQL: keys and values are
//! bytes.
//!
//! Producers may attach opaque *batch metadata* to an append. The embedded log stores it in the batch header and
//! hands it back through [`TopicStore::batch_metadata`]; persistent queries use it to record which source offsets
//! produced a sink batch, so that a restart after a crash neither loses nor duplicates sink records.

pub mod embedded;
pub mod kafka;
pub mod partitioner;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use partitioner::{murmur2, partition_for_key};

/// Errors of the topic layer.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("topic '{0}' does not exist")]
    UnknownTopic(String),
    #[error("topic '{topic}' has no partition {partition} (it has {partitions})")]
    UnknownPartition {
        topic: String,
        partition: u32,
        partitions: u32,
    },
    #[error("topic '{0}' already exists with {1} partitions")]
    PartitionMismatch(String, u32),
    #[error("invalid topic name '{0}': use letters, digits, '.', '_' and '-' (at most 249 characters)")]
    InvalidName(String),
    #[error("offset {offset} is out of range for {topic}-{partition} (valid: {earliest}..={end})")]
    OffsetOutOfRange {
        topic: String,
        partition: u32,
        offset: i64,
        earliest: i64,
        end: i64,
    },
    #[error("corrupt data in {path}: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("topic store I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("topic store metadata error: {0}")]
    Metadata(String),
    #[error("Kafka error: {0}")]
    Kafka(String),
    /// One append encodes to more bytes than a batch frame can hold; split it into smaller appends.
    #[error("batch of {bytes} bytes is larger than the maximum of {max} bytes")]
    BatchTooLarge { bytes: usize, max: usize },
    /// The topic specification cannot be honoured (for example zero partitions).
    #[error("invalid topic specification: {0}")]
    InvalidSpec(String),
    /// Another process (or another store in this process) already has the directory open.
    #[error("topic directory {0} is in use by another store")]
    Locked(String),
    /// The cluster did not accept records for good (after the producer's own retries): a production error.
    #[error("could not deliver records to {topic}-{partition}: {reason}")]
    Delivery {
        topic: String,
        partition: u32,
        reason: String,
    },
    /// The cluster does not offer an operation Weir needs (for example an admin API of a test broker).
    #[error("not supported by this Kafka cluster: {0}")]
    Unsupported(String),
}

pub type Result<T, E = TopicError> = std::result::Result<T, E>;

/// One record header, as in Kafka: a string key and optional bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub key: String,
    pub value: Option<Bytes>,
}

/// A record to append.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub key: Option<Bytes>,
    /// `None` is a tombstone.
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
}

/// A record read back from a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    pub topic: Arc<str>,
    pub partition: u32,
    pub offset: i64,
    pub record: Record,
}

/// How to create a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicSpec {
    pub partitions: u32,
    pub replicas: i16,
}

/// What a topic looks like now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: u32,
    pub replicas: i16,
}

/// A consumer group's committed position on one topic.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConsumerGroupInfo {
    pub group: String,
    /// (partition, committed next offset)
    pub offsets: Vec<(u32, i64)>,
}

/// Outcome of [`TopicStore::create_topic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Created,
    /// The topic was already there with the given partition count (which may differ from the request).
    AlreadyExists {
        partitions: u32,
    },
}

/// The offsets of one partition: the first readable offset and the offset the next append will get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PartitionOffsets {
    pub earliest: i64,
    pub end: i64,
}

/// A store of topics. Implementations are shared between threads (`Arc<dyn TopicStore>`).
pub trait TopicStore: Send + Sync {
    /// `"embedded"` or `"kafka"`, shown in `/info` and the startup log.
    fn kind(&self) -> &'static str;

    /// Whether the store can serve reads and appends now (for Kafka: the cluster answers), for `/healthcheck`.
    /// May block for a few seconds.
    fn healthy(&self) -> Result<()> {
        Ok(())
    }

    fn create_topic(&self, name: &str, spec: TopicSpec) -> Result<Created>;
    /// Deletes the topic and its data. Unknown topics are an error.
    fn delete_topic(&self, name: &str) -> Result<()>;
    fn describe_topic(&self, name: &str) -> Result<Option<TopicInfo>>;
    /// All topics, sorted by name.
    fn list_topics(&self) -> Result<Vec<TopicInfo>>;

    /// Appends records to one partition as one atomic batch and returns the offset of the first one.
    /// `batch_metadata` is stored with the batch and returned by [`TopicStore::batch_metadata`].
    fn append(&self, topic: &str, partition: u32, records: &[Record], batch_metadata: Option<&[u8]>) -> Result<i64>;

    /// Reads up to `max_records` records starting at `offset` (which may point into the middle of a batch).
    /// Returns an empty vector at the end of the partition. An offset below the earliest is an error.
    fn read(&self, topic: &str, partition: u32, offset: i64, max_records: usize) -> Result<Vec<ConsumedRecord>>;

    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets>;

    /// The metadata of every batch whose first offset is `>= from_offset`, with that first offset, oldest first.
    /// Stores that cannot keep metadata return an empty list.
    fn batch_metadata(&self, topic: &str, partition: u32, from_offset: i64) -> Result<Vec<(i64, Vec<u8>)>>;

    /// Blocks until the partition's end offset is greater than `offset`, or the timeout passes.
    /// Returns whether data is available.
    fn wait_for_data(&self, topic: &str, partition: u32, offset: i64, timeout: Duration) -> bool;

    /// A receiver whose value changes whenever records are appended to any partition of `topic`, so async code
    /// (push queries) can wait for data without blocking a thread. `None` for unknown topics.
    fn subscribe(&self, topic: &str) -> Option<tokio::sync::watch::Receiver<u64>>;

    /// Makes everything appended so far durable (fsync for the embedded log, producer flush for Kafka).
    fn flush(&self) -> Result<()>;

    /// Records a consumer group's position (the next offset to read, per partition), after the consumer's
    /// effects are checkpointed. Weir's own checkpoints are the source of truth for where a query resumes; this
    /// makes progress visible to other tools (Kafka consumer-group lag). The embedded log keeps it in memory.
    fn commit_offsets(&self, group: &str, offsets: &[(String, u32, i64)]) -> Result<()> {
        let _ = (group, offsets);
        Ok(())
    }

    /// Consumer groups and their committed positions, for `SHOW TOPICS EXTENDED`.
    fn consumer_groups(&self, topic: &str) -> Result<Vec<ConsumerGroupInfo>> {
        let _ = topic;
        Ok(vec![])
    }
}

/// Checks a topic name against Kafka's rules, so a name that works here also works on a broker.
pub fn validate_topic_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(TopicError::InvalidName(name.to_string()))
    }
}
