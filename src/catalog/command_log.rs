//! The command log: every accepted DDL statement, in order, durable in sled or, with Kafka, in a compacted topic.
//!
//! The log stores statement text plus the properties it ran with, not derived objects, so replaying it through the
//! same code path that accepted it rebuilds an identical catalog (the approach ksqlDB's command topic takes).
//!
//! With Kafka the log is the one-partition topic `_weir_<service_id>_command_topic` (see
//! [`CommandLog::open_topic`]): each command is a record keyed by its sequence number with the JSON of
//! [`LoggedCommand`] as value, so a server pointed at the same cluster with the same service id replays the same
//! catalog. The topic is compacted, which keeps every command because no two share a key.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::topics::{Record, TopicError, TopicStore};

/// Failure to read or write the command log.
#[derive(Debug, thiserror::Error)]
pub enum CommandLogError {
    #[error("command log storage error: {0}")]
    Store(#[from] sled::Error),
    #[error("command log topic error: {0}")]
    Topic(#[from] TopicError),
    #[error("command log entry {seq} is unreadable: {message}")]
    Corrupt { seq: u64, message: String },
}

/// One accepted statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedCommand {
    /// Position in the log, starting at 0 (like a topic offset); query ids are derived from it, so they are the same after a replay.
    pub seq: u64,
    pub statement: String,
    /// Request and session properties in effect (e.g. `auto.offset.reset`).
    pub properties: BTreeMap<String, String>,
    /// Epoch milliseconds when it was accepted.
    pub accepted_at: i64,
}

/// The durable, ordered list of accepted commands.
#[derive(Clone)]
pub struct CommandLog {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sled(sled::Tree),
    Topic(Arc<TopicLog>),
}

/// The log in partition 0 of a topic, with the commands read so far.
struct TopicLog {
    store: Arc<dyn TopicStore>,
    topic: String,
    state: Mutex<TopicLogState>,
}

struct TopicLogState {
    commands: Vec<LoggedCommand>,
    /// The offset to read next.
    next_offset: i64,
}

impl CommandLog {
    /// Opens (or creates) the log in `db`.
    pub fn open(db: &sled::Db) -> Result<Self, CommandLogError> {
        Ok(CommandLog {
            backend: Backend::Sled(db.open_tree("command_log")?),
        })
    }

    /// Opens the log kept in partition 0 of `topic`, which must exist, and reads what it holds.
    pub fn open_topic(store: Arc<dyn TopicStore>, topic: impl Into<String>) -> Result<Self, CommandLogError> {
        let topic = topic.into();
        let earliest = store.offsets(&topic, 0)?.earliest;
        let log = TopicLog {
            store,
            topic,
            state: Mutex::new(TopicLogState {
                commands: Vec::new(),
                next_offset: earliest,
            }),
        };
        log.catch_up(&mut log.state.lock())?;
        Ok(CommandLog {
            backend: Backend::Topic(Arc::new(log)),
        })
    }

    /// Every command, oldest first.
    pub fn read_all(&self) -> Result<Vec<LoggedCommand>, CommandLogError> {
        let tree = match &self.backend {
            Backend::Sled(tree) => tree,
            Backend::Topic(log) => {
                let mut state = log.state.lock();
                log.catch_up(&mut state)?;
                return Ok(state.commands.clone());
            }
        };
        let mut out = Vec::new();
        for item in tree.iter() {
            let (k, v) = item?;
            let seq = k
                .as_ref()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| CommandLogError::Corrupt {
                    seq: 0,
                    message: "key is not a sequence number".into(),
                })?;
            let cmd: LoggedCommand = serde_json::from_slice(&v).map_err(|e| CommandLogError::Corrupt {
                seq,
                message: e.to_string(),
            })?;
            out.push(cmd);
        }
        Ok(out)
    }

    /// The sequence number the next command will get.
    pub fn next_seq(&self) -> Result<u64, CommandLogError> {
        let tree = match &self.backend {
            Backend::Sled(tree) => tree,
            Backend::Topic(log) => {
                let mut state = log.state.lock();
                log.catch_up(&mut state)?;
                return Ok(state.commands.last().map_or(0, |c| c.seq + 1));
            }
        };
        Ok(match tree.last()? {
            Some((k, _)) => {
                let last = k
                    .as_ref()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| CommandLogError::Corrupt {
                        seq: 0,
                        message: "key is not a sequence number".into(),
                    })?;
                last + 1
            }
            None => 0,
        })
    }

    /// Appends a command and makes it durable before returning.
    pub fn append(&self, cmd: &LoggedCommand) -> Result<(), CommandLogError> {
        let bytes = serde_json::to_vec(cmd).map_err(|e| CommandLogError::Corrupt {
            seq: cmd.seq,
            message: e.to_string(),
        })?;
        match &self.backend {
            Backend::Sled(tree) => {
                tree.insert(cmd.seq.to_be_bytes(), bytes)?;
                tree.flush()?;
            }
            Backend::Topic(log) => log.append(cmd, bytes)?,
        }
        Ok(())
    }
}

impl TopicLog {
    /// Reads the commands appended since the last read (by this server or another one with the same service id).
    fn catch_up(&self, state: &mut TopicLogState) -> Result<(), CommandLogError> {
        loop {
            let records = self.store.read(&self.topic, 0, state.next_offset, 500)?;
            let Some(last) = records.last() else { return Ok(()) };
            state.next_offset = last.offset + 1;
            for r in records {
                // Compaction may leave a tombstone of a key that was never a command; skip it.
                let Some(value) = r.record.value else { continue };
                let cmd: LoggedCommand = serde_json::from_slice(&value).map_err(|e| CommandLogError::Corrupt {
                    seq: u64::try_from(r.offset).unwrap_or(0),
                    message: format!("{}-0 offset {}: {e}", self.topic, r.offset),
                })?;
                state.commands.push(cmd);
            }
        }
    }

    /// Appends a command and waits until the cluster has it.
    fn append(&self, cmd: &LoggedCommand, value: Vec<u8>) -> Result<(), CommandLogError> {
        let mut state = self.state.lock();
        let record = Record {
            timestamp: cmd.accepted_at,
            key: Some(Bytes::from(cmd.seq.to_string())),
            value: Some(Bytes::from(value)),
            headers: vec![],
        };
        let offset = self.store.append(&self.topic, 0, std::slice::from_ref(&record), None)?;
        if offset == state.next_offset {
            state.commands.push(cmd.clone());
            state.next_offset = offset + 1;
        } else {
            // Someone else appended in between: read everything up to and including this command.
            self.catch_up(&mut state)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KafkaConfig;
    use crate::topics::kafka::{KafkaStore, MockKafka};
    use crate::topics::{TopicSpec, TopicStore};

    fn command(seq: u64, statement: &str) -> LoggedCommand {
        LoggedCommand {
            seq,
            statement: statement.into(),
            properties: BTreeMap::from([("auto.offset.reset".to_string(), "earliest".to_string())]),
            accepted_at: 1_700_000_000_000 + seq as i64,
        }
    }

    #[test]
    fn lives_in_a_kafka_topic_and_is_rebuilt_by_another_store() {
        let mock = Arc::new(MockKafka::start(1).unwrap());
        let config = KafkaConfig::default();
        let topic = "_weir_test__command_topic";
        {
            let store = Arc::new(KafkaStore::connect_mock(&config, Arc::clone(&mock)).unwrap());
            store
                .create_compacted_topic(
                    topic,
                    TopicSpec {
                        partitions: 1,
                        replicas: 1,
                    },
                )
                .unwrap();
            let log = CommandLog::open_topic(store, topic).unwrap();
            assert_eq!(log.next_seq().unwrap(), 0);
            for i in 0..3 {
                let seq = log.next_seq().unwrap();
                log.append(&command(seq, &format!("stmt {i}"))).unwrap();
            }
            assert_eq!(log.read_all().unwrap().len(), 3);
        }
        // A new server on the same cluster (another store, as after a restart) sees the same log.
        let store: Arc<dyn TopicStore> = Arc::new(KafkaStore::connect_mock(&config, Arc::clone(&mock)).unwrap());
        let log = CommandLog::open_topic(Arc::clone(&store), topic).unwrap();
        let all = log.read_all().unwrap();
        assert_eq!(
            all,
            (0..3).map(|i| command(i, &format!("stmt {i}"))).collect::<Vec<_>>()
        );
        assert_eq!(log.next_seq().unwrap(), 3);
        // A second writer's commands are picked up on the next read.
        let other = CommandLog::open_topic(Arc::clone(&store), topic).unwrap();
        other.append(&command(3, "from another server")).unwrap();
        assert_eq!(log.next_seq().unwrap(), 4);
        assert_eq!(log.read_all().unwrap()[3].statement, "from another server");
        // Keys are the sequence numbers, so compaction keeps every command.
        let first = store.read(topic, 0, 0, 1).unwrap();
        assert_eq!(first[0].record.key.as_deref(), Some(&b"0"[..]));
    }

    #[test]
    fn survives_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            let log = CommandLog::open(&db).unwrap();
            for i in 0..3 {
                let seq = log.next_seq().unwrap();
                log.append(&LoggedCommand {
                    seq,
                    statement: format!("stmt {i}"),
                    properties: BTreeMap::new(),
                    accepted_at: 0,
                })
                .unwrap();
            }
        }
        let db = crate::state::reopen_for_test(dir.path());
        let log = CommandLog::open(&db).unwrap();
        let all = log.read_all().unwrap();
        assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(all[2].statement, "stmt 2");
        assert_eq!(log.next_seq().unwrap(), 3);
    }
}
