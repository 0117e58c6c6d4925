//! A topic on disk: `<root>/<name>/topic.json` and one directory per partition (`<root>/<name>/<partition>/`).
//!
//! Creation and deletion are made crash-safe with renames: a topic is assembled under `+creating.<unique>` and
//! renamed into place, and deleted by renaming it to `+deleting.<unique>` before removing the files. `+` cannot occur
//! in a topic name, so these never collide with a topic, and [`is_leftover`] lets `open` clean them up. The staging
//! names do not contain the topic name because a 249-character name plus a prefix would exceed the 255-byte limit
//! of file names.
//!
//! A partition whose files are corrupt does not take the topic (or the store) down: it is kept as broken and every
//! operation on it returns `TopicError::Corrupt`.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::fsutil;
use super::options::{EmbeddedOptions, FsyncPolicy};
use super::partition::Partition;
use crate::topics::{Result, TopicError, TopicInfo, TopicSpec};

const META_FILE: &str = "topic.json";
const CREATING_PREFIX: &str = "+creating.";
const DELETING_PREFIX: &str = "+deleting.";
const META_VERSION: u32 = 1;

/// The content of `topic.json`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct TopicMeta {
    version: u32,
    partitions: u32,
    replicas: i16,
}

enum Slot {
    Ready(Arc<Partition>),
    Broken { path: String, reason: String },
}

pub(super) struct Topic {
    name: Arc<str>,
    dir: PathBuf,
    info: TopicInfo,
    partitions: Vec<Slot>,
    /// Bumped on every append to any partition; see `TopicStore::subscribe`.
    changes: watch::Sender<u64>,
}

/// A name part that no other staging directory of this store has: the time plus a per-process counter.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Whether a directory entry of the store root is the remains of an interrupted create or delete.
pub(super) fn is_leftover(file_name: &str) -> bool {
    file_name.starts_with(CREATING_PREFIX) || file_name.starts_with(DELETING_PREFIX)
}

impl Topic {
    /// Creates the topic's directories and `topic.json` under a staging name, then renames the whole directory
    /// into place, so a crash leaves either no topic or a complete one.
    pub fn create(root: &Path, name: &str, spec: TopicSpec, options: EmbeddedOptions) -> Result<Topic> {
        if spec.partitions == 0 {
            return Err(TopicError::InvalidSpec("a topic needs at least one partition".into()));
        }
        let dir = root.join(name);
        if dir.exists() {
            return Err(TopicError::Metadata(format!(
                "{} exists but is not a topic (it has no {META_FILE}); remove it or choose another name",
                dir.display()
            )));
        }
        let durable = options.fsync != FsyncPolicy::Never;
        let staging = root.join(format!("{CREATING_PREFIX}{}", unique_suffix()));
        fs::create_dir(&staging)?;
        for partition in 0..spec.partitions {
            fs::create_dir(staging.join(partition.to_string()))?;
        }
        let meta = TopicMeta {
            version: META_VERSION,
            partitions: spec.partitions,
            replicas: spec.replicas,
        };
        let json = serde_json::to_vec_pretty(&meta).map_err(|e| TopicError::Metadata(e.to_string()))?;
        fsutil::write_atomically(&staging.join(META_FILE), &json, durable)?;
        fs::rename(&staging, &dir)?;
        if durable {
            fsutil::sync_dir(root)?;
        }
        Topic::load(root, name, options)?
            .ok_or_else(|| TopicError::Metadata(format!("{} vanished while being created", dir.display())))
    }

    /// Loads `<root>/<name>`; `None` when it has no `topic.json` (not a topic).
    pub fn load(root: &Path, name: &str, options: EmbeddedOptions) -> Result<Option<Topic>> {
        let dir = root.join(name);
        let meta_path = dir.join(META_FILE);
        let bytes = match fs::read(&meta_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let corrupt = |reason: String| TopicError::Corrupt {
            path: meta_path.display().to_string(),
            reason,
        };
        let meta: TopicMeta = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        if meta.version != META_VERSION || meta.partitions == 0 {
            return Err(corrupt(format!(
                "unsupported version {} or zero partitions",
                meta.version
            )));
        }
        let name: Arc<str> = Arc::from(name);
        let mut partitions = Vec::with_capacity(meta.partitions as usize);
        for id in 0..meta.partitions {
            let slot = match Partition::load(dir.join(id.to_string()), Arc::clone(&name), id, options) {
                Ok(partition) => Slot::Ready(Arc::new(partition)),
                Err(TopicError::Corrupt { path, reason }) => {
                    tracing::error!(topic = %name, partition = id, path, reason, "partition is corrupt and unavailable");
                    Slot::Broken { path, reason }
                }
                Err(e) => return Err(e),
            };
            partitions.push(slot);
        }
        let info = TopicInfo {
            name: name.to_string(),
            partitions: meta.partitions,
            replicas: meta.replicas,
        };
        Ok(Some(Topic {
            name,
            dir,
            info,
            partitions,
            changes: watch::Sender::new(0),
        }))
    }

    pub fn info(&self) -> &TopicInfo {
        &self.info
    }

    /// The partition, or why it cannot be used.
    pub fn partition(&self, id: u32) -> Result<&Arc<Partition>> {
        match self.partitions.get(id as usize) {
            Some(Slot::Ready(partition)) => Ok(partition),
            Some(Slot::Broken { path, reason }) => Err(TopicError::Corrupt {
                path: path.clone(),
                reason: reason.clone(),
            }),
            None => Err(TopicError::UnknownPartition {
                topic: self.name.to_string(),
                partition: id,
                partitions: self.info.partitions,
            }),
        }
    }

    /// The usable partitions.
    pub fn ready_partitions(&self) -> impl Iterator<Item = &Arc<Partition>> {
        self.partitions.iter().filter_map(|slot| match slot {
            Slot::Ready(partition) => Some(partition),
            Slot::Broken { .. } => None,
        })
    }

    pub fn notify_append(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Stops appends, wakes waiters, and removes the files. The rename to a `+deleting.` name is the point of no
    /// return: once it happened the topic is gone even if removing the files is interrupted.
    pub fn delete(&self, root: &Path, durable: bool) -> Result<()> {
        for partition in self.ready_partitions() {
            partition.mark_deleted();
        }
        let grave = root.join(format!("{DELETING_PREFIX}{}", unique_suffix()));
        fs::rename(&self.dir, &grave)?;
        if durable {
            fsutil::sync_dir(root)?;
        }
        if let Err(e) = fs::remove_dir_all(&grave) {
            tracing::warn!(path = %grave.display(), error = %e, "could not remove a deleted topic's files; will retry at the next open");
        }
        Ok(())
    }
}
