//! Topic administration and cluster metadata: create, delete, describe and list topics, watermarks, group listing.
//!
//! Against a broker, topics are created and deleted through the Kafka admin API (which is asynchronous on the
//! broker side, so both wait until metadata agrees). librdkafka's mock cluster has no admin API: topics are created
//! through [`MockKafka`], and a deleted topic is emulated. The mock cannot delete, so the deleted topic stays on the
//! cluster, hidden, and a later create of the same name makes a fresh topic under an internal name
//! (`__weir_mock_<generation>_<name>`); [`Admin::resolve`] maps the name users see to the one on the cluster.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::metadata::MetadataTopic;

use super::errors::{LogContext, is_unknown_topic, kafka_error};
use super::mock::MockKafka;
use super::settings::Settings;
use crate::topics::{Created, Result, TopicError, TopicInfo, TopicSpec};

const MOCK_PREFIX: &str = "__weir_mock_";

/// How topics are created and deleted on this cluster.
enum Backend {
    Broker(AdminClient<LogContext>),
    Mock {
        cluster: Arc<MockKafka>,
        names: Mutex<MockNames>,
    },
}

/// The mock's emulation of deleted topics.
#[derive(Default)]
struct MockNames {
    /// Times each name was re-created after a delete (0 when absent): the cluster name of generation g > 0 is
    /// `__weir_mock_<g>_<name>`.
    generation: HashMap<String, u32>,
    /// Names whose current topic was deleted.
    deleted: HashSet<String>,
}

impl MockNames {
    fn physical(&self, name: &str) -> String {
        match self.generation.get(name).copied().unwrap_or(0) {
            0 => name.to_owned(),
            g => format!("{MOCK_PREFIX}{g}_{name}"),
        }
    }

    /// The name users see for a cluster topic, if it is the live generation of that name.
    fn logical(&self, physical: &str) -> Option<String> {
        let (generation, name) = match physical.strip_prefix(MOCK_PREFIX) {
            Some(rest) => {
                let (g, name) = rest.split_once('_')?;
                (g.parse::<u32>().ok()?, name)
            }
            None => (0, physical),
        };
        let live = self.generation.get(name).copied().unwrap_or(0) == generation && !self.deleted.contains(name);
        live.then(|| name.to_owned())
    }
}

/// Admin and metadata access to one cluster.
pub(super) struct Admin {
    backend: Backend,
    /// A consumer-type client (it never auto-creates topics) for metadata, watermarks and group listing.
    meta: BaseConsumer<LogContext>,
    timeout: Duration,
    replication_factor: i16,
}

impl Admin {
    pub fn connect(settings: &Settings, mock: Option<Arc<MockKafka>>) -> Result<Admin> {
        let meta: BaseConsumer<LogContext> = settings
            .metadata()
            .create_with_context(LogContext)
            .map_err(kafka_error)?;
        let backend = match mock {
            Some(cluster) => Backend::Mock {
                cluster,
                names: Mutex::new(MockNames::default()),
            },
            None => Backend::Broker(settings.admin().create_with_context(LogContext).map_err(kafka_error)?),
        };
        Ok(Admin {
            backend,
            meta,
            timeout: settings.request_timeout,
            replication_factor: settings.replication_factor,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The cluster's name for topic `name`; unknown-topic for a topic the mock emulation deleted.
    pub fn resolve<'a>(&self, name: &'a str) -> Result<Cow<'a, str>> {
        match &self.backend {
            Backend::Broker(_) => Ok(Cow::Borrowed(name)),
            Backend::Mock { names, .. } => {
                let names = names.lock();
                if names.deleted.contains(name) {
                    return Err(TopicError::UnknownTopic(name.to_owned()));
                }
                Ok(Cow::Owned(names.physical(name)))
            }
        }
    }

    /// Checks that the brokers answer (metadata of no topic in particular).
    pub fn ping(&self) -> Result<()> {
        self.ping_within(self.timeout)
    }

    /// Whether the cluster answers a metadata request within `timeout`.
    pub fn ping_within(&self, timeout: Duration) -> Result<()> {
        self.meta
            .fetch_metadata(Some("__weir_ping"), timeout)
            .map(|_| ())
            .map_err(kafka_error)
    }

    pub fn describe(&self, name: &str) -> Result<Option<TopicInfo>> {
        let physical = match self.resolve(name) {
            Ok(p) => p,
            Err(TopicError::UnknownTopic(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(self.describe_physical(&physical)?.map(|mut info| {
            info.name = name.to_owned();
            info
        }))
    }

    fn describe_physical(&self, physical: &str) -> Result<Option<TopicInfo>> {
        let metadata = match self.meta.fetch_metadata(Some(physical), self.timeout) {
            Ok(m) => m,
            Err(e) if is_unknown_topic(&e) => return Ok(None),
            Err(e) => return Err(kafka_error(e)),
        };
        let Some(topic) = metadata.topics().iter().find(|t| t.name() == physical) else {
            return Ok(None);
        };
        match topic.error().map(RDKafkaErrorCode::from) {
            None => {}
            Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => return Ok(None),
            // Being created or moved: it exists; the partition list may still be incomplete.
            Some(RDKafkaErrorCode::LeaderNotAvailable) => {}
            Some(code) => {
                return Err(TopicError::Kafka(format!("metadata of topic '{physical}': {code}")));
            }
        }
        if topic.partitions().is_empty() {
            return Ok(None);
        }
        Ok(Some(info(physical, topic)))
    }

    /// Every topic users see, sorted by name; Kafka's internal `__*` topics are left out.
    pub fn list(&self) -> Result<Vec<TopicInfo>> {
        let metadata = self.meta.fetch_metadata(None, self.timeout).map_err(kafka_error)?;
        let mut out = Vec::new();
        for topic in metadata.topics() {
            if topic.error().is_some() && topic.partitions().is_empty() {
                continue;
            }
            let name = match &self.backend {
                Backend::Broker(_) => Some(topic.name().to_owned()),
                Backend::Mock { names, .. } => names.lock().logical(topic.name()),
            };
            let Some(name) = name else { continue };
            if name.starts_with("__") {
                continue;
            }
            out.push(info(&name, topic));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Creates a topic with `configs` (e.g. `cleanup.policy=compact`), or reports the one already there.
    ///
    /// An existing topic is reported without asking the admin API, so a cluster that lacks it (librdkafka's mock
    /// cluster reached over the network) or a principal without the right to create topics still works with
    /// topics made beforehand.
    pub fn create(&self, name: &str, spec: TopicSpec, configs: &[(&str, &str)]) -> Result<Created> {
        let replicas = spec.replicas.max(self.replication_factor);
        if let Some(existing) = self.describe(name)? {
            return Ok(Created::AlreadyExists {
                partitions: existing.partitions,
            });
        }
        match &self.backend {
            Backend::Broker(admin) => self.create_on_broker(admin, name, spec.partitions, replicas, configs),
            Backend::Mock { cluster, names } => {
                let mut names = names.lock();
                if names.deleted.remove(name) {
                    *names.generation.entry(name.to_owned()).or_insert(0) += 1;
                }
                let physical = names.physical(name);
                drop(names);
                // The mock's brokers cannot hold more replicas than there are brokers; it has one by default.
                cluster.create_topic(&physical, spec.partitions, 1)?;
                self.await_topic(&physical, true);
                Ok(Created::Created)
            }
        }
    }

    fn create_on_broker(
        &self,
        admin: &AdminClient<LogContext>,
        name: &str,
        partitions: u32,
        replicas: i16,
        configs: &[(&str, &str)],
    ) -> Result<Created> {
        let count =
            i32::try_from(partitions).map_err(|_| TopicError::InvalidSpec(format!("{partitions} partitions")))?;
        let mut topic = NewTopic::new(name, count, TopicReplication::Fixed(i32::from(replicas)));
        for (key, value) in configs {
            topic = topic.set(key, value);
        }
        let options = self.admin_options();
        let deadline = Instant::now() + self.timeout;
        loop {
            let results = futures::executor::block_on(admin.create_topics([&topic], &options)).map_err(kafka_error)?;
            let outcome = results
                .into_iter()
                .next()
                .ok_or_else(|| TopicError::Kafka(format!("no result for creating topic '{name}'")))?;
            match outcome {
                Ok(_) => {
                    self.await_topic(name, true);
                    return Ok(Created::Created);
                }
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {
                    if let Some(existing) = self.describe_physical(name)? {
                        return Ok(Created::AlreadyExists {
                            partitions: existing.partitions,
                        });
                    }
                    // A topic of that name is still being deleted; the broker accepts the name once it is gone.
                    if Instant::now() >= deadline {
                        return Err(TopicError::Kafka(format!(
                            "topic '{name}' is still being deleted; try again later"
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err((_, RDKafkaErrorCode::InvalidPartitions | RDKafkaErrorCode::InvalidReplicationFactor)) => {
                    return Err(TopicError::InvalidSpec(format!(
                        "{partitions} partitions with {replicas} replicas for topic '{name}'"
                    )));
                }
                Err((_, RDKafkaErrorCode::InvalidTopic)) => return Err(TopicError::InvalidName(name.to_owned())),
                Err((_, code @ (RDKafkaErrorCode::UnsupportedVersion | RDKafkaErrorCode::UnsupportedFeature))) => {
                    return Err(TopicError::Unsupported(format!("creating topic '{name}' ({code})")));
                }
                Err((_, code)) => return Err(TopicError::Kafka(format!("creating topic '{name}': {code}"))),
            }
        }
    }

    pub fn delete(&self, name: &str) -> Result<()> {
        match &self.backend {
            Backend::Broker(admin) => {
                let results = futures::executor::block_on(admin.delete_topics(&[name], &self.admin_options()))
                    .map_err(kafka_error)?;
                match results.into_iter().next() {
                    Some(Ok(_)) => {
                        self.await_topic(name, false);
                        Ok(())
                    }
                    Some(Err((_, RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic))) => {
                        Err(TopicError::UnknownTopic(name.to_owned()))
                    }
                    Some(Err((_, code))) => Err(TopicError::Kafka(format!("deleting topic '{name}': {code}"))),
                    None => Err(TopicError::Kafka(format!("no result for deleting topic '{name}'"))),
                }
            }
            Backend::Mock { names, .. } => {
                if self.describe(name)?.is_none() {
                    return Err(TopicError::UnknownTopic(name.to_owned()));
                }
                names.lock().deleted.insert(name.to_owned());
                Ok(())
            }
        }
    }

    /// `(low, high)` watermarks of a partition of a cluster topic.
    pub fn watermarks(&self, physical: &str, partition: u32) -> std::result::Result<(i64, i64), KafkaError> {
        let partition = i32::try_from(partition).unwrap_or(i32::MAX);
        self.meta.fetch_watermarks(physical, partition, self.timeout)
    }

    /// Names of the cluster's consumer groups. The mock cluster cannot list groups: [`TopicError::Unsupported`].
    pub fn groups(&self) -> Result<Vec<String>> {
        if matches!(self.backend, Backend::Mock { .. }) {
            return Err(TopicError::Unsupported("listing consumer groups (ListGroups)".into()));
        }
        let list = self.meta.fetch_group_list(None, self.timeout).map_err(kafka_error)?;
        Ok(list
            .groups()
            .iter()
            .filter(|g| matches!(g.protocol_type(), "consumer" | ""))
            .map(|g| g.name().to_owned())
            .collect())
    }

    fn admin_options(&self) -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout))
    }

    /// Waits (at most the request timeout) until metadata shows the topic with a leader for every partition, or
    /// shows it gone: creation and deletion finish asynchronously on the brokers.
    fn await_topic(&self, physical: &str, present: bool) {
        let deadline = Instant::now() + self.timeout;
        loop {
            let ready = match self.meta.fetch_metadata(Some(physical), self.timeout) {
                Ok(metadata) => {
                    let topic = metadata.topics().iter().find(|t| t.name() == physical);
                    let exists = topic.is_some_and(|t| t.error().is_none() && !t.partitions().is_empty());
                    let led = topic.is_some_and(|t| t.partitions().iter().all(|p| p.leader() >= 0));
                    if present { exists && led } else { !exists }
                }
                Err(e) => !present && is_unknown_topic(&e),
            };
            if ready || Instant::now() >= deadline {
                if !ready {
                    tracing::warn!(topic = physical, present, "metadata did not settle in time");
                }
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn info(name: &str, topic: &MetadataTopic) -> TopicInfo {
    let replicas = topic
        .partitions()
        .first()
        .map_or(1, |p| i16::try_from(p.replicas().len()).unwrap_or(i16::MAX));
    TopicInfo {
        name: name.to_owned(),
        partitions: u32::try_from(topic.partitions().len()).unwrap_or(u32::MAX),
        replicas,
    }
}

#[cfg(test)]
mod tests {
    use super::MockNames;

    #[test]
    fn mock_names_hide_deleted_generations() {
        let mut names = MockNames::default();
        assert_eq!(names.physical("t"), "t");
        assert_eq!(names.logical("t").as_deref(), Some("t"));
        names.deleted.insert("t".into());
        assert_eq!(names.logical("t"), None);
        names.deleted.remove("t");
        names.generation.insert("t".into(), 1);
        assert_eq!(names.physical("t"), "__weir_mock_1_t");
        assert_eq!(names.logical("t"), None);
        assert_eq!(names.logical("__weir_mock_1_t").as_deref(), Some("t"));
        assert_eq!(names.logical("__weir_mock_1_a_b").as_deref(), None);
        assert_eq!(
            names.logical("__consumer_offsets").as_deref(),
            Some("__consumer_offsets")
        );
    }
}
