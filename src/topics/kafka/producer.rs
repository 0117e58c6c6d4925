//! Appending: one idempotent producer for the store, and an append that waits for every record's delivery.
//!
//! An append enqueues its records in order (under a lock, so two appends to one partition do not interleave and
//! its offsets are consecutive), then waits for all their delivery reports and returns the first offset. librdkafka
//! retries what can be retried (broker restarts, leader changes) until `message.timeout.ms`; whatever still fails
//! is a [`TopicError::Delivery`]. When the idempotent producer hits a fatal error (its sequence state is broken) it
//! cannot be used again, so the next append builds a new one.
//!
//! Timestamps: librdkafka reads a timestamp of 0 as "now", so epoch 0 cannot be written as it is. It is written as
//! Kafka's "no timestamp" (-1) instead, and read back as 0 (see `reader`), so records at epoch 0 (common in tests)
//! keep their timestamp. The only casualty is a record timestamped -1, which reads back as 0.

use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};

use super::errors::{LogContext, kafka_error};
use super::settings::Settings;
use crate::topics::{Record, Result, TopicError};

/// The timestamp to hand librdkafka for a record's timestamp.
pub(super) fn wire_timestamp(timestamp: i64) -> i64 {
    if timestamp == 0 { -1 } else { timestamp }
}

pub(super) struct Producer {
    settings: Settings,
    current: RwLock<FutureProducer<LogContext>>,
    /// Held while enqueueing one append's records.
    enqueue: Mutex<()>,
}

impl Producer {
    pub fn connect(settings: &Settings) -> Result<Producer> {
        let producer = settings
            .producer()
            .create_with_context(LogContext)
            .map_err(kafka_error)?;
        Ok(Producer {
            settings: settings.clone(),
            current: RwLock::new(producer),
            enqueue: Mutex::new(()),
        })
    }

    /// Appends `records` to `topic`-`partition` (the cluster's name) and returns the offsets of the first and the
    /// last. `records` must not be empty.
    pub fn append(&self, topic: &str, partition: u32, records: &[Record]) -> Result<(i64, i64)> {
        let producer = self.current.read().clone();
        let kafka_partition = i32::try_from(partition).map_err(|_| TopicError::UnknownPartition {
            topic: topic.to_owned(),
            partition,
            partitions: 0,
        })?;
        let mut pending = Vec::with_capacity(records.len());
        {
            let _order = self.enqueue.lock();
            for record in records {
                let mut message = FutureRecord::<[u8], [u8]>::to(topic)
                    .partition(kafka_partition)
                    .timestamp(wire_timestamp(record.timestamp));
                if let Some(key) = &record.key {
                    message = message.key(key.as_ref());
                }
                if let Some(value) = &record.value {
                    message = message.payload(value.as_ref());
                }
                if !record.headers.is_empty() {
                    let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
                    for h in &record.headers {
                        headers = headers.insert(KafkaHeader {
                            key: &h.key,
                            value: h.value.as_deref(),
                        });
                    }
                    message = message.headers(headers);
                }
                loop {
                    match producer.send_result(message) {
                        Ok(delivery) => {
                            pending.push(delivery);
                            break;
                        }
                        Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                            // The local queue is full: wait for deliveries to drain it.
                            message = back;
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err((e, _)) => {
                            return Err(self.failure(topic, partition, &producer, e));
                        }
                    }
                }
            }
        }
        let mut range: Option<(i64, i64)> = None;
        let mut failure = None;
        for delivery in pending {
            match futures::executor::block_on(delivery) {
                Ok(Ok(delivered)) => {
                    let o = delivered.offset;
                    range = Some(range.map_or((o, o), |(first, last)| (first.min(o), last.max(o))));
                }
                Ok(Err((e, _))) => {
                    failure.get_or_insert(e);
                }
                Err(_canceled) => {
                    failure.get_or_insert(KafkaError::Canceled);
                }
            }
        }
        if let Some(e) = failure {
            return Err(self.failure(topic, partition, &producer, e));
        }
        range.ok_or_else(|| TopicError::Kafka("append of no records".into()))
    }

    /// Turns a produce error into a [`TopicError`], replacing the producer if it is no longer usable.
    fn failure(&self, topic: &str, partition: u32, producer: &FutureProducer<LogContext>, e: KafkaError) -> TopicError {
        if let Some((code, reason)) = producer.client().fatal_error() {
            tracing::error!(%code, reason, "the Kafka producer failed fatally; starting a new one");
            match self.settings.producer().create_with_context(LogContext) {
                Ok(fresh) => *self.current.write() = fresh,
                Err(e) => tracing::error!("cannot start a new Kafka producer: {e}"),
            }
        }
        match e.rdkafka_error_code() {
            Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => {
                TopicError::UnknownTopic(topic.to_owned())
            }
            // The caller knows the partition count; it fills it in.
            Some(RDKafkaErrorCode::UnknownPartition) => TopicError::UnknownPartition {
                topic: topic.to_owned(),
                partition,
                partitions: 0,
            },
            _ => TopicError::Delivery {
                topic: topic.to_owned(),
                partition,
                reason: e.to_string(),
            },
        }
    }

    /// Waits for every enqueued record to be delivered.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        let producer = self.current.read().clone();
        producer.flush(timeout).map_err(kafka_error)
    }
}
