//! Random access reads over Kafka: a pool of partition readers, each a librdkafka consumer assigned one partition.
//!
//! The topic contract reads a partition from any offset, but a consumer streams from where it was assigned. So a
//! read takes, from [`ReaderPool`], an idle reader already positioned at the requested offset (the common case:
//! queries read each partition sequentially), else one assigned to that partition elsewhere, else a new one (or the
//! least recently used one once the pool is full), and assigns it at the offset. Readers prefetch, so the next read
//! usually finds records waiting locally.
//!
//! A read must not come back empty while records it could return exist, or the synchronous driver (tests, the
//! case runner) would think a query idle before it is. [`EndHints`] keeps, per partition, the end offset this
//! process knows of (from its own appends and from watermark queries). Below it a read waits for the fetch to bring
//! the records; at or above it a read returns what is already fetched, without waiting: records from other
//! producers are noticed by the fetching itself and by [`Reader::wait`]. A partition whose end is made of control
//! records (transactions) or compacted-away offsets has no records to bring: librdkafka's end-of-partition event,
//! checked against the watermarks, ends such a wait.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::admin::Admin;
use super::errors::{LogContext, is_transient, is_unknown_topic, kafka_error};
use super::settings::Settings;
use crate::topics::{ConsumedRecord, Header, Record, Result, TopicError};

/// Longest a read waits for records it knows exist.
const READ_WAIT: Duration = Duration::from_secs(10);
/// After the end-of-partition event, how long to still wait for records the watermarks say exist.
const AFTER_EOF_WAIT: Duration = Duration::from_secs(1);
/// Idle readers unused for this long are closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// One poll of a consumer, so a long wait still notices its deadline.
const POLL_SLICE: Duration = Duration::from_millis(100);

/// The end offset of each partition as far as this process knows (by cluster topic name). A hint: it is never
/// above the true end, except for a topic deleted and created again, which [`EndHints::forget_topic`] clears.
#[derive(Default)]
pub(super) struct EndHints {
    ends: Mutex<HashMap<(String, u32), i64>>,
}

impl EndHints {
    pub fn get(&self, topic: &str, partition: u32) -> Option<i64> {
        self.ends.lock().get(&(topic.to_owned(), partition)).copied()
    }

    /// Records that the partition has at least `end`.
    pub fn raise(&self, topic: &str, partition: u32, end: i64) {
        let mut ends = self.ends.lock();
        let slot = ends.entry((topic.to_owned(), partition)).or_insert(end);
        *slot = (*slot).max(end);
    }

    /// Lowers the hint to `end`, unless someone raised it since it was `seen`.
    fn lower(&self, topic: &str, partition: u32, seen: i64, end: i64) {
        if let Some(slot) = self.ends.lock().get_mut(&(topic.to_owned(), partition))
            && *slot == seen
        {
            *slot = end;
        }
    }

    pub fn forget_topic(&self, topic: &str) {
        self.ends.lock().retain(|(t, _), _| t != topic);
    }
}

/// What one poll of the consumer produced.
enum Polled {
    Record,
    /// The consumer reached the end of the partition as of the broker's last answer.
    EndOfPartition,
    Nothing,
}

/// What a read needs besides the reader: the end hints, and the cluster for watermarks.
pub(super) struct ReadContext<'a> {
    pub ends: &'a EndHints,
    pub admin: &'a Admin,
}

/// A consumer assigned (at most) one partition, with the records it fetched and has not yet returned.
pub(super) struct Reader {
    consumer: BaseConsumer<LogContext>,
    /// The topic's name for records (what users see) and on the cluster.
    topic: Arc<str>,
    physical: String,
    partition: u32,
    /// The offset of the next record to return: where a caller continues.
    position: i64,
    /// Fetched, not yet returned, in offset order, all at or after `position`.
    buffer: VecDeque<ConsumedRecord>,
    last_used: Instant,
}

impl Reader {
    fn new(settings: &Settings) -> Result<Reader> {
        Ok(Reader {
            consumer: settings.reader().create_with_context(LogContext).map_err(kafka_error)?,
            topic: Arc::from(""),
            physical: String::new(),
            partition: 0,
            position: -1,
            buffer: VecDeque::new(),
            last_used: Instant::now(),
        })
    }

    fn reads(&self, physical: &str, partition: u32) -> bool {
        self.physical == physical && self.partition == partition
    }

    fn assign(&mut self, topic: &str, physical: &str, partition: u32, offset: i64) -> Result<()> {
        let mut assignment = TopicPartitionList::with_capacity(1);
        let kafka_partition = i32::try_from(partition).unwrap_or(i32::MAX);
        assignment
            .add_partition_offset(physical, kafka_partition, Offset::Offset(offset))
            .map_err(kafka_error)?;
        self.consumer.assign(&assignment).map_err(kafka_error)?;
        if &*self.topic != topic {
            self.topic = Arc::from(topic);
        }
        physical.clone_into(&mut self.physical);
        self.partition = partition;
        self.position = offset;
        self.buffer.clear();
        Ok(())
    }

    /// The offset the next fetched record must have at least; older ones are left over from an earlier assignment.
    fn fetched_up_to(&self) -> i64 {
        self.buffer.back().map_or(self.position, |r| r.offset + 1)
    }

    fn poll(&mut self, timeout: Duration, ctx: &ReadContext<'_>) -> Result<Polled> {
        match self.consumer.poll(timeout) {
            None => Ok(Polled::Nothing),
            Some(Ok(message)) => {
                let current = message.topic() == self.physical
                    && u32::try_from(message.partition()) == Ok(self.partition)
                    && message.offset() >= self.fetched_up_to();
                if current {
                    let record = self.convert(&message);
                    self.buffer.push_back(record);
                }
                Ok(Polled::Record)
            }
            Some(Err(KafkaError::PartitionEOF(_))) => Ok(Polled::EndOfPartition),
            Some(Err(e)) if is_transient(&e) => {
                tracing::debug!(topic = %self.topic, partition = self.partition, "reader: {e}");
                Ok(Polled::Nothing)
            }
            Some(Err(e)) if is_unknown_topic(&e) => Err(TopicError::UnknownTopic(self.topic.to_string())),
            // `auto.offset.reset=error`: the position is no longer in the log (retention or a recreated topic).
            Some(Err(e)) if is_offset_reset(&e) => {
                let range = ctx.admin.watermarks(&self.physical, self.partition).unwrap_or((-1, -1));
                Err(out_of_range(&self.topic, self.partition, self.position, range))
            }
            Some(Err(e)) => Err(TopicError::Kafka(format!(
                "reading {}-{} at offset {}: {e}",
                self.topic, self.partition, self.position
            ))),
        }
    }

    fn convert(&self, message: &BorrowedMessage<'_>) -> ConsumedRecord {
        let key = message.key();
        let value = message.payload();
        let key_len = key.map_or(0, <[u8]>::len);
        // One allocation holds key and value; both are slices of it.
        let mut data = Vec::with_capacity(key_len + value.map_or(0, <[u8]>::len));
        data.extend_from_slice(key.unwrap_or_default());
        data.extend_from_slice(value.unwrap_or_default());
        let data = Bytes::from(data);
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| Header {
                        key: h.key.to_owned(),
                        value: h.value.map(Bytes::copy_from_slice),
                    })
                    .collect()
            })
            .unwrap_or_default();
        ConsumedRecord {
            topic: Arc::clone(&self.topic),
            partition: self.partition,
            offset: message.offset(),
            record: Record {
                // "No timestamp" is how epoch 0 is written (see `producer`).
                timestamp: message.timestamp().to_millis().unwrap_or(0),
                key: key.map(|_| data.slice(..key_len)),
                value: value.map(|_| data.slice(key_len..)),
                headers,
            },
        }
    }

    fn drain(&mut self, max: usize, out: &mut Vec<ConsumedRecord>) {
        while out.len() < max {
            let Some(record) = self.buffer.pop_front() else { break };
            self.position = record.offset + 1;
            out.push(record);
        }
    }

    /// Takes what is buffered or fetched already, without waiting.
    fn take_ready(&mut self, max: usize, out: &mut Vec<ConsumedRecord>, ctx: &ReadContext<'_>) -> Result<()> {
        self.drain(max, out);
        while out.len() < max {
            match self.poll(Duration::ZERO, ctx)? {
                Polled::Record => self.drain(max, out),
                Polled::EndOfPartition | Polled::Nothing => break,
            }
        }
        Ok(())
    }

    /// Up to `max` records from the position; waits only for records the end hint says exist.
    pub fn read(&mut self, max: usize, ctx: &ReadContext<'_>) -> Result<Vec<ConsumedRecord>> {
        self.last_used = Instant::now();
        let mut out = Vec::new();
        self.take_ready(max, &mut out, ctx)?;
        if !out.is_empty() || max == 0 {
            return Ok(out);
        }
        let Some(hint) = ctx.ends.get(&self.physical, self.partition) else {
            return Ok(out);
        };
        if hint <= self.position {
            return Ok(out);
        }
        let started = Instant::now();
        let mut deadline = started + READ_WAIT;
        loop {
            let now = Instant::now();
            if now >= deadline {
                // Offsets below the end that hold no records (control records, compaction): stop expecting them.
                tracing::debug!(topic = %self.topic, partition = self.partition, position = self.position, hint,
                    "no records below the known end; treating the partition as read to its end");
                ctx.ends.lower(&self.physical, self.partition, hint, self.position);
                return Ok(out);
            }
            match self.poll(POLL_SLICE.min(deadline - now), ctx)? {
                Polled::Record => {
                    self.take_ready(max, &mut out, ctx)?;
                    if !out.is_empty() {
                        return Ok(out);
                    }
                }
                Polled::EndOfPartition => match ctx.admin.watermarks(&self.physical, self.partition) {
                    Ok((_, high)) if high <= self.position => {
                        ctx.ends.lower(&self.physical, self.partition, hint, high);
                        return Ok(out);
                    }
                    Ok(_) => deadline = deadline.min(Instant::now() + AFTER_EOF_WAIT),
                    Err(e) => tracing::debug!(topic = %self.topic, "watermarks after end of partition: {e}"),
                },
                Polled::Nothing => {}
            }
        }
    }

    /// Waits until a record is available at the position, or `timeout` passes.
    pub fn wait(&mut self, timeout: Duration, ctx: &ReadContext<'_>) -> Result<bool> {
        self.last_used = Instant::now();
        if !self.buffer.is_empty() {
            return Ok(true);
        }
        if ctx
            .ends
            .get(&self.physical, self.partition)
            .is_some_and(|end| end > self.position)
        {
            return Ok(true);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Polled::Record = self.poll(POLL_SLICE.min(left), ctx)?
                && !self.buffer.is_empty()
            {
                return Ok(true);
            }
            if left.is_zero() {
                return Ok(false);
            }
        }
    }
}

/// Idle readers, for reuse by the next read of their partition.
pub(super) struct ReaderPool {
    settings: Settings,
    idle: Mutex<Vec<Reader>>,
    capacity: usize,
}

impl ReaderPool {
    pub fn new(settings: &Settings) -> ReaderPool {
        ReaderPool {
            settings: settings.clone(),
            idle: Mutex::new(Vec::new()),
            capacity: settings.reader_pool_size,
        }
    }

    /// A reader positioned at `offset` of the partition. `check` validates an offset (and learns the end) before a
    /// reader is assigned anew; it gets the offset and returns an error when it is out of range.
    pub fn checkout(
        &self,
        topic: &str,
        physical: &str,
        partition: u32,
        offset: i64,
        check: impl FnOnce() -> Result<()>,
    ) -> Result<Reader> {
        let reusable = {
            let mut idle = self.idle.lock();
            if let Some(i) = idle
                .iter()
                .position(|r| r.reads(physical, partition) && r.position == offset)
            {
                return Ok(idle.swap_remove(i));
            }
            if let Some(i) = idle.iter().position(|r| r.reads(physical, partition)) {
                Some(idle.swap_remove(i))
            } else if idle.len() >= self.capacity {
                least_recently_used(&idle).map(|i| idle.swap_remove(i))
            } else {
                None
            }
        };
        if let Err(e) = check() {
            if let Some(reader) = reusable {
                self.give_back(reader);
            }
            return Err(e);
        }
        let mut reader = match reusable {
            Some(reader) => reader,
            None => Reader::new(&self.settings)?,
        };
        reader.assign(topic, physical, partition, offset)?;
        Ok(reader)
    }

    /// Returns a reader for reuse, closing readers idle too long and the least recently used beyond capacity.
    pub fn give_back(&self, mut reader: Reader) {
        reader.last_used = Instant::now();
        let closed: Vec<Reader> = {
            let mut idle = self.idle.lock();
            idle.push(reader);
            let mut closed = Vec::new();
            let mut i = 0;
            while i < idle.len() {
                if idle[i].last_used.elapsed() > IDLE_TIMEOUT {
                    closed.push(idle.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            while idle.len() > self.capacity {
                match least_recently_used(&idle) {
                    Some(i) => closed.push(idle.swap_remove(i)),
                    None => break,
                }
            }
            closed
        };
        // Closing a consumer waits for its threads; not under the lock.
        drop(closed);
    }

    /// Closes the readers of a cluster topic (deleted).
    pub fn forget_topic(&self, physical: &str) {
        let closed: Vec<Reader> = {
            let mut idle = self.idle.lock();
            let (gone, kept) = idle.drain(..).partition(|r| r.physical == physical);
            *idle = kept;
            gone
        };
        drop(closed);
    }
}

fn least_recently_used(readers: &[Reader]) -> Option<usize> {
    readers
        .iter()
        .enumerate()
        .min_by_key(|(_, r)| r.last_used)
        .map(|(i, _)| i)
}

/// The out-of-range error for an offset outside `low..=high`, as the embedded log reports it.
pub(super) fn out_of_range(topic: &str, partition: u32, offset: i64, (low, high): (i64, i64)) -> TopicError {
    TopicError::OffsetOutOfRange {
        topic: topic.to_owned(),
        partition,
        offset,
        earliest: low,
        end: high,
    }
}

/// Whether a consumer error means the assigned offset is gone (`auto.offset.reset=error`).
fn is_offset_reset(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::AutoOffsetReset | RDKafkaErrorCode::OffsetOutOfRange)
    )
}
