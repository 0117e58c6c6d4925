//! Topics on a Kafka cluster through rdkafka (librdkafka), with the embedded log's semantics.
//!
//! [`KafkaStore`] implements [`TopicStore`] from a handful of librdkafka clients:
//! - `admin`: the admin API for creating and deleting topics, and a metadata client for describing and listing
//!   them, watermarks and group listing (librdkafka's mock cluster, which has no admin API, is handled there);
//! - `producer`: one idempotent producer; an append waits for the delivery of every record it wrote;
//! - `reader`: a pool of consumers, each assigned one partition, serving the contract's random-access reads;
//! - `groups`: committing each query's consumer-group positions and reading any group's committed offsets.
//!
//! What differs from the embedded log:
//! - **Batch metadata** cannot be stored with records, so [`TopicStore::batch_metadata`] is empty and a query
//!   writing to Kafka is at-least-once: after a crash it re-produces what it wrote after its last checkpoint.
//! - **[`TopicStore::subscribe`]** is best effort: it changes on this process's own appends at once, and on other
//!   producers' appends when a background poll of the watermarks (every 500 ms) notices them.
//! - **Timestamps**: epoch 0 is written as "no timestamp" and read back as 0, because librdkafka reads 0 as "now".
//! - With `bootstrap_servers = "mock://"` the store starts librdkafka's in-process mock cluster ([`MockKafka`]),
//!   which the case runner uses to run every case on Kafka.

mod admin;
mod errors;
mod groups;
mod mock;
mod producer;
mod reader;
mod settings;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::watch;

pub use mock::MockKafka;

use self::admin::Admin;
use self::errors::{is_unknown_partition, is_unknown_topic, kafka_error};
use self::groups::Groups;
use self::producer::Producer;
use self::reader::{EndHints, ReadContext, ReaderPool, out_of_range};
use self::settings::Settings;
use super::{
    ConsumedRecord, ConsumerGroupInfo, Created, PartitionOffsets, Record, Result, TopicError, TopicInfo, TopicSpec,
    TopicStore, validate_topic_name,
};
use crate::config::KafkaConfig;

/// The `bootstrap_servers` value that starts an in-process mock cluster.
pub const MOCK_BOOTSTRAP: &str = "mock://";

/// How long `/healthcheck` waits for the cluster to answer before calling it unhealthy.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

/// How often the background poll looks for other producers' appends to subscribed topics.
const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// A [`TopicStore`] over a Kafka cluster. Cheap to share (`Arc<KafkaStore>`); all methods take `&self` and block.
///
/// # Example
/// ```
/// use weir::config::KafkaConfig;
/// use weir::topics::kafka::KafkaStore;
/// use weir::topics::{Record, TopicSpec, TopicStore};
///
/// let config = KafkaConfig { bootstrap_servers: "mock://".into(), ..KafkaConfig::default() };
/// let store = KafkaStore::connect(&config).unwrap();
/// store.create_topic("clicks", TopicSpec { partitions: 2, replicas: 1 }).unwrap();
/// let click = Record { timestamp: 1_700_000_000_000, value: Some("{}".into()), ..Record::default() };
/// assert_eq!(store.append("clicks", 1, &[click.clone(), click], None).unwrap(), 0);
/// let read = store.read("clicks", 1, 1, 10).unwrap();
/// assert_eq!((read.len(), read[0].offset), (1, 1));
/// ```
pub struct KafkaStore {
    inner: Arc<Inner>,
    watcher: Mutex<Option<Watcher>>,
}

struct Inner {
    settings: Settings,
    admin: Admin,
    producer: Producer,
    readers: ReaderPool,
    ends: EndHints,
    groups: Groups,
    /// Partition counts of topics known to exist (by the name users see), so appends and reads need not ask.
    partitions: Mutex<HashMap<String, u32>>,
    /// Per subscribed topic: the sender and the last total of its partitions' end offsets the poll saw.
    watches: Mutex<HashMap<String, (watch::Sender<u64>, i64)>>,
    /// Keeps an in-process mock cluster alive; declared last so the clients above close first.
    mock: Option<Arc<MockKafka>>,
}

/// The background poll behind [`TopicStore::subscribe`].
struct Watcher {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl KafkaStore {
    /// Connects to the cluster in `config` (or starts a mock cluster for `mock://`) and checks that it answers.
    pub fn connect(config: &KafkaConfig) -> Result<KafkaStore> {
        let bootstrap = config.bootstrap_servers.trim();
        if bootstrap.starts_with(MOCK_BOOTSTRAP) {
            tracing::warn!("using an in-process mock Kafka cluster: topic data is lost when the process exits");
            let mock = Arc::new(MockKafka::start(1)?);
            return Self::connect_mock(config, mock);
        }
        Self::open(config, bootstrap.to_owned(), None)
    }

    /// Connects to a mock cluster, using its API for what its protocol lacks (creating topics).
    pub fn connect_mock(config: &KafkaConfig, mock: Arc<MockKafka>) -> Result<KafkaStore> {
        Self::open(config, mock.bootstrap_servers().to_owned(), Some(mock))
    }

    fn open(config: &KafkaConfig, bootstrap: String, mock: Option<Arc<MockKafka>>) -> Result<KafkaStore> {
        let settings = Settings::new(config, bootstrap);
        let admin = Admin::connect(&settings, mock.clone())?;
        admin
            .ping()
            .map_err(|e| TopicError::Kafka(format!("cannot reach Kafka at {}: {e}", settings.bootstrap_servers)))?;
        let inner = Inner {
            producer: Producer::connect(&settings)?,
            readers: ReaderPool::new(&settings),
            ends: EndHints::default(),
            groups: Groups::new(&settings),
            partitions: Mutex::new(HashMap::new()),
            watches: Mutex::new(HashMap::new()),
            admin,
            settings,
            mock,
        };
        tracing::info!(bootstrap = %inner.settings.bootstrap_servers, "connected to Kafka");
        Ok(KafkaStore {
            inner: Arc::new(inner),
            watcher: Mutex::new(None),
        })
    }

    /// The brokers this store talks to.
    pub fn bootstrap_servers(&self) -> &str {
        &self.inner.settings.bootstrap_servers
    }

    /// The mock cluster this store runs on, if any.
    pub fn mock(&self) -> Option<&Arc<MockKafka>> {
        self.inner.mock.as_ref()
    }

    /// Creates a compacted topic (Kafka keeps the latest record per key), or reports the one already there.
    pub fn create_compacted_topic(&self, name: &str, spec: TopicSpec) -> Result<Created> {
        self.inner.create(name, spec, &[("cleanup.policy", "compact")])
    }

    fn start_watcher(&self) {
        let mut watcher = self.watcher.lock();
        if watcher.is_some() {
            return;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let inner = Arc::downgrade(&self.inner);
        let flag = Arc::clone(&stop);
        let spawned = std::thread::Builder::new()
            .name("kafka-watch".into())
            .spawn(move || watch_loop(inner, flag));
        match spawned {
            Ok(thread) => *watcher = Some(Watcher { stop, thread }),
            Err(e) => tracing::warn!("cannot start the topic watcher: {e}; subscriptions see only local appends"),
        }
    }
}

impl Drop for KafkaStore {
    fn drop(&mut self) {
        if let Some(watcher) = self.watcher.lock().take() {
            watcher.stop.store(true, Ordering::SeqCst);
            let _ = watcher.thread.join();
        }
        if let Err(e) = self.inner.producer.flush(self.inner.admin.timeout()) {
            tracing::warn!("flushing the Kafka producer at close failed: {e}");
        }
    }
}

/// Bumps subscribed topics whose end offsets moved, until the store goes away.
fn watch_loop(inner: Weak<Inner>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(WATCH_INTERVAL);
        let Some(inner) = inner.upgrade() else { return };
        let topics: Vec<String> = {
            let mut watches = inner.watches.lock();
            watches.retain(|_, (tx, _)| tx.receiver_count() > 0);
            watches.keys().cloned().collect()
        };
        for topic in topics {
            let Ok(total) = inner.total_end(&topic) else { continue };
            if let Some((tx, seen)) = inner.watches.lock().get_mut(&topic)
                && *seen != total
            {
                *seen = total;
                tx.send_modify(|v| *v = v.wrapping_add(1));
            }
        }
    }
}

impl Inner {
    fn resolve<'a>(&self, topic: &'a str) -> Result<Cow<'a, str>> {
        self.admin.resolve(topic)
    }

    /// The partition count of an existing topic, from the cache or the cluster.
    fn partition_count(&self, topic: &str) -> Result<u32> {
        if let Some(&n) = self.partitions.lock().get(topic) {
            return Ok(n);
        }
        let info = self
            .admin
            .describe(topic)?
            .ok_or_else(|| TopicError::UnknownTopic(topic.to_owned()))?;
        self.partitions.lock().insert(topic.to_owned(), info.partitions);
        Ok(info.partitions)
    }

    fn check_partition(&self, topic: &str, partition: u32) -> Result<()> {
        let partitions = self.partition_count(topic)?;
        if partition >= partitions {
            return Err(TopicError::UnknownPartition {
                topic: topic.to_owned(),
                partition,
                partitions,
            });
        }
        Ok(())
    }

    fn create(&self, name: &str, spec: TopicSpec, configs: &[(&str, &str)]) -> Result<Created> {
        validate_topic_name(name)?;
        if spec.partitions == 0 {
            return Err(TopicError::InvalidSpec("a topic needs at least one partition".into()));
        }
        let created = self.admin.create(name, spec, configs)?;
        let partitions = match created {
            Created::Created => {
                tracing::info!(topic = name, partitions = spec.partitions, "created Kafka topic");
                spec.partitions
            }
            Created::AlreadyExists { partitions } => partitions,
        };
        self.partitions.lock().insert(name.to_owned(), partitions);
        Ok(created)
    }

    /// Watermarks of a partition, with the contract's errors for unknown topics and partitions.
    fn watermarks(&self, topic: &str, physical: &str, partition: u32) -> Result<(i64, i64)> {
        self.check_partition(topic, partition)?;
        match self.admin.watermarks(physical, partition) {
            Ok(range) => {
                self.ends.raise(physical, partition, range.1);
                Ok(range)
            }
            Err(e) if is_unknown_topic(&e) || is_unknown_partition(&e) => {
                // The cache was stale (deleted elsewhere, or recreated smaller): ask again.
                self.partitions.lock().remove(topic);
                self.check_partition(topic, partition)?;
                Err(kafka_error(e))
            }
            Err(e) => Err(kafka_error(e)),
        }
    }

    fn total_end(&self, topic: &str) -> Result<i64> {
        let physical = self.resolve(topic)?;
        let mut total = 0;
        for p in 0..self.partition_count(topic)? {
            total += self.watermarks(topic, &physical, p)?.1;
        }
        Ok(total)
    }

    fn notify(&self, topic: &str) {
        if let Some((tx, _)) = self.watches.lock().get(topic) {
            tx.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    fn read_context(&self) -> ReadContext<'_> {
        ReadContext {
            ends: &self.ends,
            admin: &self.admin,
        }
    }
}

impl TopicStore for KafkaStore {
    fn kind(&self) -> &'static str {
        "kafka"
    }

    fn healthy(&self) -> Result<()> {
        self.inner
            .admin
            .ping_within(HEALTH_TIMEOUT.min(self.inner.admin.timeout()))
            .map_err(|e| TopicError::Kafka(format!("cannot reach Kafka at {}: {e}", self.bootstrap_servers())))
    }

    fn create_topic(&self, name: &str, spec: TopicSpec) -> Result<Created> {
        self.inner.create(name, spec, &[])
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        let inner = &self.inner;
        let physical = inner.resolve(name)?.into_owned();
        inner.admin.delete(name)?;
        inner.partitions.lock().remove(name);
        inner.ends.forget_topic(&physical);
        inner.readers.forget_topic(&physical);
        inner.watches.lock().remove(name);
        tracing::info!(topic = name, "deleted Kafka topic");
        Ok(())
    }

    fn describe_topic(&self, name: &str) -> Result<Option<TopicInfo>> {
        let info = self.inner.admin.describe(name)?;
        let mut cache = self.inner.partitions.lock();
        match &info {
            Some(info) => cache.insert(name.to_owned(), info.partitions),
            None => cache.remove(name),
        };
        Ok(info)
    }

    fn list_topics(&self) -> Result<Vec<TopicInfo>> {
        self.inner.admin.list()
    }

    fn append(&self, topic: &str, partition: u32, records: &[Record], _batch_metadata: Option<&[u8]>) -> Result<i64> {
        let inner = &self.inner;
        let physical = inner.resolve(topic)?;
        inner.check_partition(topic, partition)?;
        if records.is_empty() {
            return Ok(inner.watermarks(topic, &physical, partition)?.1);
        }
        match inner.producer.append(&physical, partition, records) {
            Ok((first, last)) => {
                inner.ends.raise(&physical, partition, last + 1);
                inner.notify(topic);
                Ok(first)
            }
            Err(TopicError::UnknownTopic(_)) => {
                inner.partitions.lock().remove(topic);
                Err(TopicError::UnknownTopic(topic.to_owned()))
            }
            Err(TopicError::UnknownPartition { .. }) => {
                inner.partitions.lock().remove(topic);
                inner.check_partition(topic, partition)?;
                Err(TopicError::Kafka(format!(
                    "{topic}-{partition} is not available for producing"
                )))
            }
            Err(TopicError::Delivery { reason, .. }) => Err(TopicError::Delivery {
                topic: topic.to_owned(),
                partition,
                reason,
            }),
            Err(e) => Err(e),
        }
    }

    fn read(&self, topic: &str, partition: u32, offset: i64, max_records: usize) -> Result<Vec<ConsumedRecord>> {
        let inner = &self.inner;
        let physical = inner.resolve(topic)?;
        inner.check_partition(topic, partition)?;
        let mut reader = inner.readers.checkout(topic, &physical, partition, offset, || {
            // Below the earliest offset is an error, as on the embedded log. Past the reported end is left to the
            // consumer (it reports an offset the broker does not have): a broker's reported end can lag behind
            // what it serves (Tansu 0.6 reports the last batch's base offset + 1).
            let range = inner.watermarks(topic, &physical, partition)?;
            if offset < range.0 {
                return Err(out_of_range(topic, partition, offset, range));
            }
            Ok(())
        })?;
        let records = reader.read(max_records, &inner.read_context())?;
        inner.readers.give_back(reader);
        Ok(records)
    }

    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets> {
        let physical = self.inner.resolve(topic)?;
        let (earliest, end) = self.inner.watermarks(topic, &physical, partition)?;
        Ok(PartitionOffsets { earliest, end })
    }

    fn batch_metadata(&self, _topic: &str, _partition: u32, _from_offset: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        Ok(vec![])
    }

    fn wait_for_data(&self, topic: &str, partition: u32, offset: i64, timeout: Duration) -> bool {
        let inner = &self.inner;
        let waited = (|| {
            let physical = inner.resolve(topic)?;
            inner.check_partition(topic, partition)?;
            // An offset out of range shows up as an error of the consumer; no need to ask first.
            let mut reader = inner.readers.checkout(topic, &physical, partition, offset, || Ok(()))?;
            let ready = reader.wait(timeout, &inner.read_context())?;
            inner.readers.give_back(reader);
            Ok::<bool, TopicError>(ready)
        })();
        match waited {
            Ok(ready) => ready,
            Err(e) => {
                tracing::debug!(topic, partition, "waiting for data: {e}");
                false
            }
        }
    }

    fn subscribe(&self, topic: &str) -> Option<watch::Receiver<u64>> {
        if self.inner.partition_count(topic).is_err() {
            return None;
        }
        let receiver = {
            let mut watches = self.inner.watches.lock();
            let (tx, _) = watches
                .entry(topic.to_owned())
                .or_insert_with(|| (watch::channel(0).0, -1));
            tx.subscribe()
        };
        self.start_watcher();
        Some(receiver)
    }

    fn flush(&self) -> Result<()> {
        self.inner.producer.flush(self.inner.admin.timeout())
    }

    fn commit_offsets(&self, group: &str, offsets: &[(String, u32, i64)]) -> Result<()> {
        let mut on_cluster = Vec::with_capacity(offsets.len());
        for (topic, partition, offset) in offsets {
            on_cluster.push((self.inner.resolve(topic)?.into_owned(), *partition, *offset));
        }
        self.inner.groups.commit(group, &on_cluster)
    }

    fn consumer_groups(&self, topic: &str) -> Result<Vec<ConsumerGroupInfo>> {
        let inner = &self.inner;
        let Some(info) = self.describe_topic(topic)? else {
            return Ok(vec![]);
        };
        let physical = inner.resolve(topic)?;
        let mut names = inner.groups.known();
        match inner.admin.groups() {
            Ok(listed) => names.extend(listed),
            // The mock cluster: only the groups this process commits for are known.
            Err(TopicError::Unsupported(_)) => {}
            Err(e) => tracing::warn!("cannot list consumer groups: {e}"),
        }
        let mut out = Vec::new();
        for group in names {
            match inner
                .groups
                .committed(&group, &physical, info.partitions, inner.admin.timeout())
            {
                Ok(offsets) if !offsets.is_empty() => out.push(ConsumerGroupInfo { group, offsets }),
                Ok(_) => {}
                Err(e) => tracing::warn!(group, "cannot read committed offsets: {e}"),
            }
        }
        Ok(out)
    }
}
