//! Consumer groups: committing a query's positions and reading any group's committed offsets.
//!
//! A query's group never joins (Weir assigns partitions itself and its checkpoints are the source of truth); it
//! only commits, as a "simple" consumer group, so `kafka-consumer-groups --describe` and `SHOW TOPICS EXTENDED`
//! show its progress and lag. Commits are asynchronous: a failed commit is logged, and the next checkpoint commits
//! newer positions anyway.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::errors::{kafka_error, log_client_error};
use super::settings::Settings;
use crate::topics::Result;

/// Logs the outcome of asynchronous commits.
struct CommitContext {
    group: String,
}

impl ClientContext for CommitContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        log_client_error(&error, reason);
    }
}

impl ConsumerContext for CommitContext {
    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(e) = result {
            tracing::warn!(group = %self.group, "committing consumer group offsets failed: {e}");
        }
    }
}

type GroupClient = BaseConsumer<CommitContext>;

pub(super) struct Groups {
    settings: Settings,
    /// One client per group this process commits for.
    committers: Mutex<HashMap<String, Arc<GroupClient>>>,
    /// Groups this process committed offsets for (the mock cluster cannot list groups).
    known: Mutex<BTreeSet<String>>,
}

impl Groups {
    pub fn new(settings: &Settings) -> Groups {
        Groups {
            settings: settings.clone(),
            committers: Mutex::new(HashMap::new()),
            known: Mutex::new(BTreeSet::new()),
        }
    }

    fn client(&self, group: &str) -> Result<GroupClient> {
        self.settings
            .group(group)
            .create_with_context(CommitContext {
                group: group.to_owned(),
            })
            .map_err(kafka_error)
    }

    fn committer(&self, group: &str) -> Result<Arc<GroupClient>> {
        if let Some(client) = self.committers.lock().get(group) {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(self.client(group)?);
        self.committers.lock().insert(group.to_owned(), Arc::clone(&client));
        Ok(client)
    }

    /// Commits `offsets` (cluster topic name, partition, next offset to read) for `group`.
    pub fn commit(&self, group: &str, offsets: &[(String, u32, i64)]) -> Result<()> {
        if offsets.is_empty() {
            return Ok(());
        }
        let client = self.committer(group)?;
        let mut list = TopicPartitionList::with_capacity(offsets.len());
        for (topic, partition, offset) in offsets {
            let partition = i32::try_from(*partition).unwrap_or(i32::MAX);
            list.add_partition_offset(topic, partition, Offset::Offset(*offset))
                .map_err(kafka_error)?;
        }
        client.commit(&list, CommitMode::Async).map_err(kafka_error)?;
        // Serves the callbacks of earlier commits (and keeps their events from piling up).
        let _ = client.poll(Duration::ZERO);
        self.known.lock().insert(group.to_owned());
        Ok(())
    }

    /// Groups this process committed for.
    pub fn known(&self) -> BTreeSet<String> {
        self.known.lock().clone()
    }

    /// The committed next offset of `group` on each partition of a cluster topic that has one.
    pub fn committed(&self, group: &str, topic: &str, partitions: u32, timeout: Duration) -> Result<Vec<(u32, i64)>> {
        let own = self.committers.lock().get(group).cloned();
        let client = match own {
            Some(client) => client,
            None => Arc::new(self.client(group)?),
        };
        let mut list = TopicPartitionList::with_capacity(partitions as usize);
        for p in 0..partitions {
            list.add_partition(topic, i32::try_from(p).unwrap_or(i32::MAX));
        }
        let committed = client.committed_offsets(list, timeout).map_err(kafka_error)?;
        let mut out = Vec::new();
        for element in committed.elements() {
            if let (Some(offset), Ok(partition)) = (element.offset().to_raw(), u32::try_from(element.partition()))
                && offset >= 0
            {
                out.push((partition, offset));
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}
