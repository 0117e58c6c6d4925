//! The embedded topic log: Kafka-shaped, append-only, durable record storage in plain files, used when no Kafka is
//! configured.
//!
//! Layout under the store directory:
//!
//! ```text
//! <dir>/+lock                                   advisory lock: one store per directory
//! <dir>/<topic>/topic.json                      {"version":1,"partitions":N,"replicas":R}, replaced atomically
//! <dir>/<topic>/<partition>/<base:020>.log      segment: batch frames (see `batch`), offsets from <base>
//! <dir>/<topic>/<partition>/<base:020>.index    sparse offset index of a sealed segment (see `index`)
//! ```
//!
//! Each append is one frame with a CRC, written with one positioned write; offsets are dense per partition and
//! start at 0. Readers take a snapshot of the published end offset and read with positioned reads on shared file
//! handles, concurrently with the writer. At open, the last segment of every partition is validated and cut at the
//! first torn or damaged frame (a crash can leave one); sealed segments are trusted and indexed from their sidecars.
//!
//! The modules, bottom up: [`varint`] and [`batch`] (the frame codec), [`index`] (sparse index and sidecar),
//! [`segment`] (one file, recovery), [`partition`] (writer, readers, waiting), [`topic`] (directories and
//! metadata), [`flusher`] (interval fsync), and [`EmbeddedStore`] here, which implements [`TopicStore`].

mod batch;
mod flusher;
mod fsutil;
mod index;
mod options;
mod partition;
mod segment;
mod topic;
mod varint;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

pub use options::{EmbeddedOptions, FsyncPolicy};

use self::flusher::Flusher;
use self::partition::Partition;
use self::topic::Topic;
use super::{
    ConsumedRecord, Created, PartitionOffsets, Record, Result, TopicError, TopicInfo, TopicSpec, TopicStore,
    validate_topic_name,
};

const LOCK_FILE: &str = "+lock";

/// The embedded [`TopicStore`]. Cheap to share (`Arc<EmbeddedStore>`); all methods take `&self`.
///
/// Dropping the store stops the interval flusher and fsyncs everything not yet synced.
///
/// # Example
/// ```
/// use weir::topics::embedded::{EmbeddedOptions, EmbeddedStore};
/// use weir::topics::{Record, TopicSpec, TopicStore};
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = EmbeddedStore::open(dir.path(), EmbeddedOptions::default()).unwrap();
/// store.create_topic("clicks", TopicSpec { partitions: 1, replicas: 1 }).unwrap();
/// let click = Record { timestamp: 1_700_000_000_000, value: Some("{}".into()), ..Record::default() };
/// assert_eq!(store.append("clicks", 0, &[click.clone(), click], None).unwrap(), 0);
/// let read = store.read("clicks", 0, 1, 10).unwrap();
/// assert_eq!((read.len(), read[0].offset), (1, 1));
/// ```
pub struct EmbeddedStore {
    inner: Arc<Inner>,
    /// Present under [`FsyncPolicy::Interval`]. Dropped (stopped) before the final flush.
    flusher: Option<Flusher>,
}

struct Inner {
    dir: PathBuf,
    options: EmbeddedOptions,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Holds the advisory lock on `<dir>/+lock` for the store's lifetime.
    _lock: File,
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`, recovering every partition after a possible crash: torn or
    /// damaged frames at the end of a partition are truncated and logged. A partition with corrupt sealed data is
    /// logged and left unusable (its operations return [`TopicError::Corrupt`]) rather than failing the whole store.
    pub fn open(dir: &Path, options: EmbeddedOptions) -> Result<EmbeddedStore> {
        fs::create_dir_all(dir)?;
        let lock = lock_dir(dir)?;
        let mut topics = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            if topic::is_leftover(name) {
                tracing::info!(path = %entry.path().display(), "removing the remains of an interrupted create/delete");
                fs::remove_dir_all(entry.path())?;
                continue;
            }
            if !entry.file_type()?.is_dir() || validate_topic_name(name).is_err() {
                continue;
            }
            match Topic::load(dir, name, options)? {
                Some(topic) => {
                    topics.insert(name.to_owned(), Arc::new(topic));
                }
                None => {
                    tracing::warn!(path = %entry.path().display(), "directory without topic.json; ignoring it")
                }
            }
        }
        tracing::info!(dir = %dir.display(), topics = topics.len(), "opened the embedded topic store");
        let inner = Arc::new(Inner {
            dir: dir.to_owned(),
            options,
            topics: RwLock::new(topics),
            _lock: lock,
        });
        let flusher = match options.fsync {
            FsyncPolicy::Interval(interval) => {
                let inner = Arc::clone(&inner);
                Some(Flusher::start(interval, move || {
                    if let Err(e) = inner.flush() {
                        tracing::error!(error = %e, "periodic fsync of the topic log failed");
                    }
                })?)
            }
            FsyncPolicy::Always | FsyncPolicy::Never => None,
        };
        Ok(EmbeddedStore { inner, flusher })
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn options(&self) -> EmbeddedOptions {
        self.inner.options
    }

    /// Flushes and closes the store, reporting a failed fsync that dropping would only log.
    pub fn close(mut self) -> Result<()> {
        self.flusher.take();
        self.inner.flush()
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.inner
            .topics
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| TopicError::UnknownTopic(name.to_owned()))
    }

    fn partition(&self, topic: &str, partition: u32) -> Result<(Arc<Topic>, Arc<Partition>)> {
        let topic = self.topic(topic)?;
        let partition = Arc::clone(topic.partition(partition)?);
        Ok((topic, partition))
    }

    #[cfg(test)]
    fn segment_count(&self, topic: &str, partition: u32) -> usize {
        self.partition(topic, partition).map_or(0, |(_, p)| p.segment_count())
    }
}

impl Inner {
    /// fsyncs every partition with unsynced data; tries all of them and reports the first failure.
    fn flush(&self) -> Result<()> {
        let topics: Vec<Arc<Topic>> = self.topics.read().values().cloned().collect();
        let mut first_error = None;
        for topic in &topics {
            for partition in topic.ready_partitions() {
                if let Err(e) = partition.flush() {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.flusher.take();
        if let Err(e) = self.inner.flush() {
            tracing::error!(error = %e, "final fsync of the topic log failed");
        }
    }
}

/// Takes the advisory lock that keeps two stores (in this or another process) from writing the same files.
fn lock_dir(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(TopicError::Locked(dir.display().to_string())),
        Err(TryLockError::Error(e)) => {
            tracing::warn!(path = %path.display(), error = %e, "file locking unsupported here; not locking the store");
            Ok(file)
        }
    }
}

impl TopicStore for EmbeddedStore {
    fn kind(&self) -> &'static str {
        "embedded"
    }

    fn create_topic(&self, name: &str, spec: TopicSpec) -> Result<Created> {
        validate_topic_name(name)?;
        let mut topics = self.inner.topics.write();
        if let Some(existing) = topics.get(name) {
            return Ok(Created::AlreadyExists {
                partitions: existing.info().partitions,
            });
        }
        let topic = Topic::create(&self.inner.dir, name, spec, self.inner.options)?;
        tracing::info!(
            topic = name,
            partitions = spec.partitions,
            replicas = spec.replicas,
            "created topic"
        );
        topics.insert(name.to_owned(), Arc::new(topic));
        Ok(Created::Created)
    }

    fn delete_topic(&self, name: &str) -> Result<()> {
        // Held across the rename so a concurrent create of the same name waits for the directory to be free.
        let mut topics = self.inner.topics.write();
        let topic = topics
            .remove(name)
            .ok_or_else(|| TopicError::UnknownTopic(name.to_owned()))?;
        topic.delete(&self.inner.dir, self.inner.options.fsync != FsyncPolicy::Never)?;
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }

    fn describe_topic(&self, name: &str) -> Result<Option<TopicInfo>> {
        Ok(self.inner.topics.read().get(name).map(|t| t.info().clone()))
    }

    fn list_topics(&self) -> Result<Vec<TopicInfo>> {
        // A BTreeMap iterates in name order.
        Ok(self.inner.topics.read().values().map(|t| t.info().clone()).collect())
    }

    fn append(&self, topic: &str, partition: u32, records: &[Record], batch_metadata: Option<&[u8]>) -> Result<i64> {
        let (topic, partition) = self.partition(topic, partition)?;
        let base = partition.append(records, batch_metadata)?;
        if !records.is_empty() {
            topic.notify_append();
        }
        Ok(base)
    }

    fn read(&self, topic: &str, partition: u32, offset: i64, max_records: usize) -> Result<Vec<ConsumedRecord>> {
        self.partition(topic, partition)?.1.read(offset, max_records)
    }

    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets> {
        self.partition(topic, partition)?.1.offsets()
    }

    fn batch_metadata(&self, topic: &str, partition: u32, from_offset: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        self.partition(topic, partition)?.1.batch_metadata(from_offset)
    }

    fn wait_for_data(&self, topic: &str, partition: u32, offset: i64, timeout: Duration) -> bool {
        match self.partition(topic, partition) {
            Ok((_, partition)) => partition.wait_for_data(offset, timeout),
            Err(_) => false,
        }
    }

    fn subscribe(&self, topic: &str) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.topic(topic).ok().map(|t| t.subscribe())
    }

    fn flush(&self) -> Result<()> {
        self.inner.flush()
    }
}
