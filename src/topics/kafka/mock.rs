//! librdkafka's in-process mock cluster, for tests and demos without a broker.
//!
//! The mock cluster speaks the Kafka protocol on 127.0.0.1 (produce, fetch, offsets, metadata, consumer groups and
//! offset commits) but has no admin API: topics are created through its C API, and it can neither delete topics,
//! list consumer groups nor keep topic configs. [`MockKafka`] owns one cluster on a thread of its own (the handle is
//! not thread-safe to move) and takes requests over a channel; the store's mock admin (see `admin`) emulates the
//! missing operations on top of it.

use std::sync::mpsc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use rdkafka::mocking::MockCluster;

use crate::topics::{Result, TopicError};

enum Request {
    CreateTopic {
        name: String,
        partitions: u32,
        replicas: i16,
        reply: mpsc::Sender<Result<()>>,
    },
    /// Takes every broker down (connections closed, new ones refused; data kept) or brings them back up.
    SetBrokersUp { up: bool, reply: mpsc::Sender<Result<()>> },
}

/// A running mock cluster. Dropping it shuts the cluster down (clients still connected see the brokers go away).
///
/// # Example
/// ```
/// use weir::topics::kafka::MockKafka;
///
/// let mock = MockKafka::start(1).unwrap();
/// mock.create_topic("clicks", 2, 1).unwrap();
/// assert!(mock.bootstrap_servers().starts_with("127.0.0.1:"));
/// ```
pub struct MockKafka {
    bootstrap_servers: String,
    requests: Mutex<Option<mpsc::Sender<Request>>>,
    thread: Option<JoinHandle<()>>,
}

impl MockKafka {
    /// Starts a cluster of `brokers` brokers listening on free ports of 127.0.0.1.
    pub fn start(brokers: i32) -> Result<MockKafka> {
        let (requests, inbox) = mpsc::channel::<Request>();
        let (ready, started) = mpsc::channel::<Result<String>>();
        let thread = std::thread::Builder::new()
            .name("kafka-mock".into())
            .spawn(move || {
                let cluster = match MockCluster::new(brokers) {
                    Ok(cluster) => cluster,
                    Err(e) => {
                        let _ = ready.send(Err(TopicError::Kafka(format!("cannot start the mock cluster: {e}"))));
                        return;
                    }
                };
                if ready.send(Ok(cluster.bootstrap_servers())).is_err() {
                    return;
                }
                // Ends when the owner drops its sender.
                for request in inbox {
                    match request {
                        Request::CreateTopic {
                            name,
                            partitions,
                            replicas,
                            reply,
                        } => {
                            let result = i32::try_from(partitions)
                                .map_err(|_| TopicError::InvalidSpec(format!("{partitions} partitions")))
                                .and_then(|p| {
                                    cluster
                                        .create_topic(&name, p, i32::from(replicas))
                                        .map_err(|e| TopicError::Kafka(format!("mock cluster: {e}")))
                                });
                            let _ = reply.send(result);
                        }
                        Request::SetBrokersUp { up, reply } => {
                            let result = (1..=brokers).try_for_each(|id| {
                                if up {
                                    cluster.broker_up(id)
                                } else {
                                    cluster.broker_down(id)
                                }
                                .map_err(|e| TopicError::Kafka(format!("mock cluster broker {id}: {e}")))
                            });
                            let _ = reply.send(result);
                        }
                    }
                }
            })
            .map_err(TopicError::Io)?;
        let bootstrap_servers = started
            .recv()
            .map_err(|_| TopicError::Kafka("the mock cluster thread ended before starting".into()))??;
        Ok(MockKafka {
            bootstrap_servers,
            requests: Mutex::new(Some(requests)),
            thread: Some(thread),
        })
    }

    /// `host:port,...` of the brokers, for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap_servers
    }

    /// Creates a topic (the mock ignores topic configs such as `cleanup.policy`).
    pub fn create_topic(&self, name: &str, partitions: u32, replicas: i16) -> Result<()> {
        self.ask(|reply| Request::CreateTopic {
            name: name.to_owned(),
            partitions,
            replicas,
            reply,
        })
    }

    /// Stops every broker (clients see connections refused; the data stays) or starts them again, to test outages.
    pub fn set_brokers_up(&self, up: bool) -> Result<()> {
        self.ask(|reply| Request::SetBrokersUp { up, reply })
    }

    fn ask(&self, request: impl FnOnce(mpsc::Sender<Result<()>>) -> Request) -> Result<()> {
        let (reply, answer) = mpsc::channel();
        let sent = self
            .requests
            .lock()
            .as_ref()
            .is_some_and(|tx| tx.send(request(reply)).is_ok());
        if !sent {
            return Err(TopicError::Kafka("the mock cluster has stopped".into()));
        }
        answer
            .recv()
            .map_err(|_| TopicError::Kafka("the mock cluster has stopped".into()))?
    }
}

impl Drop for MockKafka {
    fn drop(&mut self) {
        self.requests.lock().take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
