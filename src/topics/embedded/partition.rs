//! One partition: an ordered list of segments, a single writer, and any number of concurrent readers.
//!
//! Two locks with different jobs:
//! - `writer` serializes appends, rolls and deletion. It is held while a batch is encoded and written, so appends
//!   to one partition happen one at a time and in order.
//! - `published` guards what readers may see: the end offset, the segment list and (through [`Segment::size`])
//!   the active segment's size. The writer updates them together, only after the frame is completely written
//!   (and fsynced, under [`FsyncPolicy::Always`]), so a reader's snapshot never includes a partial batch. Readers
//!   hold it only to take the snapshot; file reads happen outside any lock.
//!
//! `data_ready` is the condition variable of `published`, notified on every append, for [`Partition::wait_for_data`].

use std::cell::RefCell;
use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::batch;
use super::fsutil;
use super::options::{EmbeddedOptions, FsyncPolicy};
use super::segment::{self, Segment, SegmentFile};
use crate::topics::{ConsumedRecord, PartitionOffsets, Record, Result, TopicError};

/// Encode buffers larger than this are released after use instead of being kept for the next append.
const MAX_RETAINED_BUFFER: usize = 16 << 20;

thread_local! {
    /// The encode buffer of the appends made on this thread: one per thread rather than one per partition, so many
    /// idle partitions do not each pin a batch-sized allocation.
    static ENCODE_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

pub(super) struct Partition {
    topic: Arc<str>,
    id: u32,
    dir: PathBuf,
    options: EmbeddedOptions,
    writer: Mutex<Writer>,
    published: Mutex<Published>,
    data_ready: Condvar,
}

/// State only the appending thread touches.
struct Writer {
    deleted: bool,
    active: Arc<Segment>,
    /// The offset the next record gets.
    end: i64,
    /// Segments written since their last fsync (not used under [`FsyncPolicy::Always`]).
    unsynced: Vec<Arc<Segment>>,
    /// A segment file was created since the directory was last fsynced.
    dir_unsynced: bool,
}

/// What readers may see.
struct Published {
    end: i64,
    segments: Arc<Vec<Arc<Segment>>>,
    deleted: bool,
}

/// A reader's consistent view of the partition.
struct Snapshot {
    end: i64,
    segments: Arc<Vec<Arc<Segment>>>,
    /// Size of the last segment at the time of the snapshot (earlier segments are sealed and do not change).
    last_size: u64,
}

impl Snapshot {
    fn earliest(&self) -> i64 {
        self.segments.first().map_or(self.end, |s| s.base())
    }

    /// Bytes of segment `i` that belong to the snapshot.
    fn bound(&self, i: usize) -> u64 {
        if i + 1 == self.segments.len() {
            self.last_size
        } else {
            self.segments[i].size()
        }
    }

    /// Index of the segment holding `offset` (the last one starting at or before it).
    fn segment_for(&self, offset: i64) -> usize {
        self.segments.partition_point(|s| s.base() <= offset).saturating_sub(1)
    }
}

impl Partition {
    /// Opens (or initializes) the partition in `dir`: sealed segments from their sidecars, the last one with crash
    /// recovery. Offsets must continue from one segment to the next, or the partition is corrupt.
    pub fn load(dir: PathBuf, topic: Arc<str>, id: u32, options: EmbeddedOptions) -> Result<Partition> {
        fs::create_dir_all(&dir)?;
        let mut bases = Vec::new();
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.ends_with(fsutil::TMP_SUFFIX) {
                fs::remove_file(entry.path())?;
            } else if let Some(SegmentFile::Log(base)) = SegmentFile::parse(name) {
                bases.push(base);
            }
        }
        bases.sort_unstable();
        if bases.is_empty() {
            drop(Segment::create(&dir, 0)?);
            if options.fsync != FsyncPolicy::Never {
                fsutil::sync_dir(&dir)?;
            }
            bases.push(0);
        }

        let mut segments = Vec::with_capacity(bases.len());
        let mut end = None;
        for (i, &base) in bases.iter().enumerate() {
            if let Some(previous_end) = end
                && base != previous_end
            {
                return Err(TopicError::Corrupt {
                    path: segment::log_path(&dir, base).display().to_string(),
                    reason: format!("segment starts at offset {base} but the previous one ends at {previous_end}"),
                });
            }
            let (segment, segment_end) = if i + 1 == bases.len() {
                Segment::recover(&dir, base)?
            } else {
                Segment::load_sealed(&dir, base)?
            };
            segments.push(Arc::new(segment));
            end = Some(segment_end);
        }
        let (Some(end), Some(active)) = (end, segments.last().cloned()) else {
            unreachable!("a partition always has at least one segment");
        };
        Ok(Partition {
            topic,
            id,
            dir,
            options,
            writer: Mutex::new(Writer {
                deleted: false,
                active,
                end,
                unsynced: Vec::new(),
                dir_unsynced: false,
            }),
            published: Mutex::new(Published {
                end,
                segments: Arc::new(segments),
                deleted: false,
            }),
            data_ready: Condvar::new(),
        })
    }

    /// Appends `records` as one frame and returns the first offset. An append without records and without
    /// metadata writes nothing; one without records but with metadata writes an empty frame that only carries it.
    pub fn append(&self, records: &[Record], metadata: Option<&[u8]>) -> Result<i64> {
        let mut writer = self.writer.lock();
        if writer.deleted {
            return Err(TopicError::UnknownTopic(self.topic.to_string()));
        }
        if records.is_empty() && metadata.is_none() {
            return Ok(writer.end);
        }
        ENCODE_BUFFER.with_borrow_mut(|buf| {
            let result = self.write_batch(&mut writer, buf, records, metadata);
            if buf.capacity() > MAX_RETAINED_BUFFER {
                *buf = Vec::new();
            }
            result
        })
    }

    fn write_batch(
        &self,
        w: &mut Writer,
        buf: &mut Vec<u8>,
        records: &[Record],
        metadata: Option<&[u8]>,
    ) -> Result<i64> {
        let base = w.end;
        batch::encode(buf, base, records, metadata)?;
        let end = base
            .checked_add(records.len() as i64)
            .ok_or_else(|| TopicError::Metadata(format!("{}-{}: offsets exhausted", self.topic, self.id)))?;
        let frame_len = buf.len() as u64;

        let mut pos = w.active.size();
        // Roll only a segment that holds records, so two segments never share a base offset (and a file name).
        if pos > 0 && pos + frame_len > self.options.segment_bytes && w.end > w.active.base() {
            self.roll(w)?;
            pos = 0;
        }
        let active = Arc::clone(&w.active);
        let written = active.write_at(buf, pos).and_then(|()| match self.options.fsync {
            FsyncPolicy::Always => active.sync(),
            _ => Ok(()),
        });
        if let Err(e) = written {
            // Best effort: the next append overwrites from `pos` anyway, and recovery would cut a partial frame.
            let _ = active.truncate(pos);
            return Err(e);
        }
        if self.options.fsync != FsyncPolicy::Always && !w.unsynced.last().is_some_and(|s| Arc::ptr_eq(s, &active)) {
            w.unsynced.push(Arc::clone(&active));
        }
        active.index().write().observe(base - active.base(), pos);
        w.end = end;
        {
            let mut published = self.published.lock();
            active.set_size(pos + frame_len);
            published.end = end;
        }
        self.data_ready.notify_all();
        Ok(base)
    }

    /// Seals the active segment (writing its sidecar) and starts a new one at the current end offset.
    fn roll(&self, w: &mut Writer) -> Result<()> {
        w.active.write_sidecar(w.active.size(), w.end);
        let next = Arc::new(Segment::create(&self.dir, w.end)?);
        if self.options.fsync == FsyncPolicy::Always {
            fsutil::sync_dir(&self.dir)?;
        } else {
            w.dir_unsynced = true;
        }
        tracing::debug!(topic = %self.topic, partition = self.id, base = w.end, "rolled to a new segment");
        {
            let mut published = self.published.lock();
            let mut segments = Vec::with_capacity(published.segments.len() + 1);
            segments.extend(published.segments.iter().cloned());
            segments.push(Arc::clone(&next));
            published.segments = Arc::new(segments);
        }
        w.active = next;
        Ok(())
    }

    /// Reads up to `max` records from `offset`, which may point into the middle of a batch.
    pub fn read(&self, offset: i64, max: usize) -> Result<Vec<ConsumedRecord>> {
        let snap = self.snapshot()?;
        self.check_offset(&snap, offset)?;
        let want = usize::try_from(snap.end - offset).unwrap_or(usize::MAX).min(max);
        let mut out = Vec::with_capacity(want.min(64 * 1024));
        if want == 0 {
            return Ok(out);
        }
        let mut next = offset;
        let mut i = snap.segment_for(offset);
        let mut pos = snap.segments[i].index().read().floor(offset - snap.segments[i].base());
        while out.len() < want {
            let segment = &snap.segments[i];
            let bound = snap.bound(i);
            if pos >= bound {
                i += 1;
                if i == snap.segments.len() {
                    break;
                }
                pos = 0;
                continue;
            }
            let header = segment.read_header(pos, bound)?;
            if header.end_offset() <= next {
                pos += u64::from(header.len);
                continue;
            }
            if header.base_offset > next {
                return Err(segment.corrupt(pos, format!("expected offset {next}, found {}", header.base_offset)));
            }
            let frame = segment.read_frame(pos, &header)?;
            let mut records = frame.records();
            // `base <= next < end`, so the difference fits the frame's u32 count.
            records
                .skip((next - header.base_offset) as u32)
                .map_err(|e| segment.corrupt(pos, e))?;
            while out.len() < want && records.remaining() > 0 {
                let Some(record) = records.next_record().map_err(|e| segment.corrupt(pos, e))? else {
                    break;
                };
                out.push(ConsumedRecord {
                    topic: Arc::clone(&self.topic),
                    partition: self.id,
                    offset: next,
                    record,
                });
                next += 1;
            }
            pos += u64::from(header.len);
        }
        Ok(out)
    }

    /// The metadata of every frame whose base offset is `>= from`, oldest first. Reads only frame headers and
    /// metadata, never records.
    pub fn batch_metadata(&self, from: i64) -> Result<Vec<(i64, Vec<u8>)>> {
        let snap = self.snapshot()?;
        let mut out = Vec::new();
        // Start at a frame strictly below `from`, so empty frames that share a base offset are not skipped.
        let mut i = snap.segments.partition_point(|s| s.base() < from).saturating_sub(1);
        let mut pos = snap.segments[i]
            .index()
            .read()
            .below(from.saturating_sub(snap.segments[i].base()));
        loop {
            let segment = &snap.segments[i];
            let bound = snap.bound(i);
            if pos >= bound {
                i += 1;
                if i == snap.segments.len() {
                    return Ok(out);
                }
                pos = 0;
                continue;
            }
            let header = segment.read_header(pos, bound)?;
            if header.base_offset >= from
                && let Some(metadata) = segment.read_metadata(pos, &header)?
            {
                out.push((header.base_offset, metadata));
            }
            pos += u64::from(header.len);
        }
    }

    pub fn offsets(&self) -> Result<PartitionOffsets> {
        let snap = self.snapshot()?;
        Ok(PartitionOffsets {
            earliest: snap.earliest(),
            end: snap.end,
        })
    }

    /// Blocks until the end offset passes `offset`, the partition is deleted, or `timeout` elapses.
    pub fn wait_for_data(&self, offset: i64, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut published = self.published.lock();
        loop {
            if published.end > offset {
                return true;
            }
            if published.deleted {
                return false;
            }
            match deadline {
                Some(deadline) => {
                    if self.data_ready.wait_until(&mut published, deadline).timed_out() {
                        return published.end > offset;
                    }
                }
                None => self.data_ready.wait(&mut published),
            }
        }
    }

    /// fsyncs the segments (and the directory) written since the last sync. The writer lock is held only to take
    /// the list, so appends continue while the disk works.
    pub fn flush(&self) -> Result<()> {
        let (segments, dir) = {
            let mut w = self.writer.lock();
            if w.deleted {
                return Ok(());
            }
            (std::mem::take(&mut w.unsynced), std::mem::take(&mut w.dir_unsynced))
        };
        let mut failed = Vec::new();
        let mut first_error = None;
        for segment in segments {
            if let Err(e) = segment.sync() {
                first_error.get_or_insert(e);
                failed.push(segment);
            }
        }
        let mut dir_failed = false;
        if dir && let Err(e) = fsutil::sync_dir(&self.dir) {
            first_error.get_or_insert(e.into());
            dir_failed = true;
        }
        match first_error {
            None => Ok(()),
            Some(e) => {
                // Keep what failed, so a later flush retries it instead of reporting success.
                let mut w = self.writer.lock();
                w.unsynced.extend(failed);
                w.dir_unsynced |= dir_failed;
                Err(e)
            }
        }
    }

    /// Stops appends and wakes waiters before the files are removed.
    pub fn mark_deleted(&self) {
        let mut w = self.writer.lock();
        w.deleted = true;
        w.unsynced.clear();
        self.published.lock().deleted = true;
        self.data_ready.notify_all();
    }

    #[cfg(test)]
    pub fn segment_count(&self) -> usize {
        self.published.lock().segments.len()
    }

    fn snapshot(&self) -> Result<Snapshot> {
        let published = self.published.lock();
        if published.deleted {
            return Err(TopicError::UnknownTopic(self.topic.to_string()));
        }
        let last_size = published.segments.last().map_or(0, |s| s.size());
        Ok(Snapshot {
            end: published.end,
            segments: Arc::clone(&published.segments),
            last_size,
        })
    }

    fn check_offset(&self, snap: &Snapshot, offset: i64) -> Result<()> {
        if offset < snap.earliest() || offset > snap.end {
            return Err(TopicError::OffsetOutOfRange {
                topic: self.topic.to_string(),
                partition: self.id,
                offset,
                earliest: snap.earliest(),
                end: snap.end,
            });
        }
        Ok(())
    }
}
