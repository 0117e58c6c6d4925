//! librdkafka client configurations: Weir's defaults for each kind of client, then `[kafka.properties]`.
//!
//! The user's properties always win, so security settings (`security.protocol`, SASL, TLS) and tuning reach every
//! client. A property prefixed `producer.`, `consumer.` or `admin.` goes to that kind of client only, without the
//! prefix.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

use crate::config::KafkaConfig;

/// The kind of client a configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    Producer,
    /// Partition readers, the metadata client and consumer-group committers.
    Consumer,
    Admin,
}

impl Role {
    fn prefix(self) -> &'static str {
        match self {
            Role::Producer => "producer.",
            Role::Consumer => "consumer.",
            Role::Admin => "admin.",
        }
    }
}

/// Where the cluster is and how to talk to it.
#[derive(Debug, Clone)]
pub(super) struct Settings {
    pub bootstrap_servers: String,
    properties: BTreeMap<String, String>,
    /// Timeout of one admin, metadata or offset request.
    pub request_timeout: Duration,
    pub reader_pool_size: usize,
    pub replication_factor: i16,
}

impl Settings {
    pub fn new(config: &KafkaConfig, bootstrap_servers: String) -> Settings {
        Settings {
            bootstrap_servers,
            properties: config.properties.clone(),
            request_timeout: Duration::from_millis(config.request_timeout_ms),
            reader_pool_size: config.reader_pool_size,
            replication_factor: config.replication_factor,
        }
    }

    /// A configuration for `role` with Weir's `defaults` under the user's properties.
    pub fn client(&self, role: Role, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap_servers);
        config.set("client.id", "weir");
        // Weir creates topics explicitly; a typo must not create one with the broker's default partition count.
        config.set("allow.auto.create.topics", "false");
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        let prefixes = [Role::Producer, Role::Consumer, Role::Admin].map(Role::prefix);
        for (key, value) in &self.properties {
            if !prefixes.iter().any(|p| key.starts_with(p)) {
                config.set(key, value);
            }
        }
        for (key, value) in &self.properties {
            if let Some(key) = key.strip_prefix(role.prefix()) {
                config.set(key, value);
            }
        }
        config
    }

    /// The idempotent producer that appends records.
    pub fn producer(&self) -> ClientConfig {
        self.client(
            Role::Producer,
            &[
                ("enable.idempotence", "true"),
                ("acks", "all"),
                // Appends wait for their delivery, so a long linger only adds latency; a short one still batches
                // the records of one append together.
                ("linger.ms", "2"),
                // How long a record is retried (broker restarts, leader changes) before its append fails: long
                // enough to ride out a broker restart, short enough that a query stuck on a dead cluster reports it.
                ("message.timeout.ms", "120000"),
                ("allow.auto.create.topics", "false"),
            ],
        )
    }

    /// A partition reader: assigned one partition at an explicit offset, never committing.
    pub fn reader(&self) -> ClientConfig {
        self.client(
            Role::Consumer,
            &[
                // librdkafka only assigns partitions in a consumer with a group; this one never joins or commits.
                ("group.id", "weir-partition-readers"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "true"),
                // An offset that is gone (retention) is reported, not silently replaced by another.
                ("auto.offset.reset", "error"),
                // Bounds the wait for a fetch that was sent before new data arrived on brokers that do not answer
                // a waiting fetch early (librdkafka's mock cluster).
                ("fetch.wait.max.ms", "100"),
                // Prefetch per reader (a pool holds up to `reader_pool_size` of them): a few batches, not 64 MB.
                ("queued.max.messages.kbytes", "4096"),
            ],
        )
    }

    /// The client used for metadata and watermark queries and group listing.
    pub fn metadata(&self) -> ClientConfig {
        self.client(Role::Consumer, &[("enable.auto.commit", "false")])
    }

    /// A client that commits (and reads back) the offsets of consumer group `group`.
    pub fn group(&self, group: &str) -> ClientConfig {
        let mut config = self.client(
            Role::Consumer,
            &[("enable.auto.commit", "false"), ("enable.auto.offset.store", "false")],
        );
        config.set("group.id", group);
        config
    }

    pub fn admin(&self) -> ClientConfig {
        self.client(Role::Admin, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_properties_override_defaults_and_prefixes_select_a_role() {
        let mut config = KafkaConfig::default();
        config.properties.insert("security.protocol".into(), "SASL_SSL".into());
        config.properties.insert("producer.linger.ms".into(), "50".into());
        config
            .properties
            .insert("consumer.fetch.wait.max.ms".into(), "10".into());
        let settings = Settings::new(&config, "h:9092".into());
        let producer = settings.producer();
        assert_eq!(producer.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(producer.get("linger.ms"), Some("50"));
        assert_eq!(producer.get("fetch.wait.max.ms"), None);
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        let reader = settings.reader();
        assert_eq!(reader.get("fetch.wait.max.ms"), Some("10"));
        assert_eq!(reader.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(reader.get("bootstrap.servers"), Some("h:9092"));
        assert_eq!(settings.group("g").get("group.id"), Some("g"));
    }
}
