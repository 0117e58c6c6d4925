//! One segment file: `<base offset, 20 digits>.log`, a run of batch frames starting at that offset.
//!
//! A [`Segment`] owns the file handle (shared by the writer and all readers, used only with positioned I/O), the
//! number of bytes of complete frames, and the sparse index. Loading comes in two flavours:
//! - the **active** (last) segment may end in a torn or damaged frame after a crash, so [`Segment::recover`]
//!   validates every frame (header, offsets, CRC) and truncates the file at the first invalid one;
//! - **sealed** segments are trusted: [`Segment::load_sealed`] takes their `.index` sidecar when it matches the
//!   file, and otherwise rebuilds it by scanning, where a bad frame is `TopicError::Corrupt`.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::RwLock;

use super::batch::{self, Frame, FrameHeader, HEADER_LEN};
use super::fsutil;
use super::index::{Sidecar, SparseIndex};
use crate::topics::{Result, TopicError};

const LOG_SUFFIX: &str = ".log";
const INDEX_SUFFIX: &str = ".index";
/// Read size when scanning a segment at open: large enough that small frames cost no syscall each.
const SCAN_CHUNK: usize = 1 << 20;

/// The kind of file found in a partition directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SegmentFile {
    Log(i64),
    Index(i64),
}

impl SegmentFile {
    /// Recognizes `<20 digits>.log` and `<20 digits>.index`; anything else is not ours.
    pub fn parse(file_name: &str) -> Option<SegmentFile> {
        let (stem, make): (&str, fn(i64) -> SegmentFile) = if let Some(s) = file_name.strip_suffix(LOG_SUFFIX) {
            (s, SegmentFile::Log)
        } else {
            (file_name.strip_suffix(INDEX_SUFFIX)?, SegmentFile::Index)
        };
        if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        stem.parse::<i64>().ok().map(make)
    }
}

pub(super) fn log_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}{LOG_SUFFIX}"))
}

pub(super) fn index_path(dir: &Path, base: i64) -> PathBuf {
    dir.join(format!("{base:020}{INDEX_SUFFIX}"))
}

/// One segment file of a partition.
pub(super) struct Segment {
    base: i64,
    path: PathBuf,
    /// Opened eagerly (read-write) for the active segment, lazily (read-only) for sealed ones, so a long log does
    /// not hold a descriptor per segment until it is read.
    file: OnceLock<File>,
    /// Bytes of complete frames. The writer stores it inside the partition's publish lock, together with the end
    /// offset, so a reader's snapshot of both agrees.
    size: AtomicU64,
    index: RwLock<SparseIndex>,
}

impl Segment {
    /// Creates a new, empty segment file; fails if it exists.
    pub fn create(dir: &Path, base: i64) -> Result<Segment> {
        let path = log_path(dir, base);
        let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
        Ok(Segment::with_file(base, path, Some(file), 0, SparseIndex::default()))
    }

    fn with_file(base: i64, path: PathBuf, file: Option<File>, size: u64, index: SparseIndex) -> Segment {
        let cell = OnceLock::new();
        if let Some(file) = file {
            let _ = cell.set(file);
        }
        Segment {
            base,
            path,
            file: cell,
            size: AtomicU64::new(size),
            index: RwLock::new(index),
        }
    }

    /// Opens the last segment of a partition after a possible crash: validates every frame and truncates the file
    /// at the first invalid one. Returns the segment and the offset after its last valid record.
    pub fn recover(dir: &Path, base: i64) -> Result<(Segment, i64)> {
        let path = log_path(dir, base);
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let file_len = file.metadata()?.len();
        // A sidecar next to the active segment is stale (it is rewritten when the segment is sealed again).
        remove_if_exists(&index_path(dir, base))?;
        let scan = scan(&file, file_len, base)?;
        if let Some(problem) = &scan.problem {
            tracing::warn!(
                path = %path.display(),
                kept_bytes = scan.valid_len,
                truncated_bytes = file_len - scan.valid_len,
                end_offset = scan.end_offset,
                "truncating the log after an unclean shutdown: {problem}"
            );
            file.set_len(scan.valid_len)?;
            file.sync_all()?;
        }
        let segment = Segment::with_file(base, path, Some(file), scan.valid_len, scan.index);
        Ok((segment, scan.end_offset))
    }

    /// Opens a sealed segment, preferring its sidecar index and otherwise rebuilding it (and the sidecar) by
    /// scanning. Returns the segment and its end offset.
    pub fn load_sealed(dir: &Path, base: i64) -> Result<(Segment, i64)> {
        let path = log_path(dir, base);
        let file_len = fs::metadata(&path)?.len();
        let sidecar_path = index_path(dir, base);
        match fs::read(&sidecar_path) {
            Ok(bytes) => match Sidecar::decode(&bytes, base) {
                Ok(sidecar) if sidecar.log_size == file_len => {
                    let segment = Segment::with_file(base, path, None, file_len, sidecar.index);
                    return Ok((segment, sidecar.end_offset));
                }
                Ok(_) => {
                    tracing::warn!(path = %sidecar_path.display(), "stale index sidecar; rebuilding it")
                }
                Err(why) => {
                    tracing::warn!(path = %sidecar_path.display(), "unusable index sidecar ({why}); rebuilding it")
                }
            },
            Err(e) if e.kind() == ErrorKind::NotFound => {
                tracing::info!(path = %path.display(), "sealed segment without index sidecar; rebuilding it");
            }
            Err(e) => return Err(e.into()),
        }
        let file = File::open(&path)?;
        let scan = scan(&file, file_len, base)?;
        if let Some(problem) = scan.problem {
            return Err(TopicError::Corrupt {
                path: path.display().to_string(),
                reason: problem,
            });
        }
        let segment = Segment::with_file(base, path, Some(file), file_len, scan.index);
        segment.write_sidecar(file_len, scan.end_offset);
        Ok((segment, scan.end_offset))
    }

    pub fn base(&self) -> i64 {
        self.base
    }

    /// Bytes of complete frames; see the field doc for the ordering contract.
    pub fn size(&self) -> u64 {
        self.size.load(Ordering::Acquire)
    }

    pub fn set_size(&self, size: u64) {
        self.size.store(size, Ordering::Release);
    }

    pub fn index(&self) -> &RwLock<SparseIndex> {
        &self.index
    }

    /// Writes the sidecar of a segment being sealed. Best effort: a missing sidecar is rebuilt at the next open.
    pub fn write_sidecar(&self, log_size: u64, end_offset: i64) {
        let sidecar = Sidecar {
            index: self.index.read().clone(),
            log_size,
            end_offset,
        };
        let path = self.path.with_extension(&INDEX_SUFFIX[1..]);
        if let Err(e) = fsutil::write_atomically(&path, &sidecar.encode(), false) {
            tracing::warn!(path = %path.display(), error = %e, "could not write the index sidecar");
        }
    }

    fn file(&self) -> Result<&File> {
        if let Some(file) = self.file.get() {
            return Ok(file);
        }
        let file = File::open(&self.path)?;
        // Two readers may race to open; the loser's handle is dropped.
        Ok(self.file.get_or_init(|| file))
    }

    /// Writes a whole frame at `pos` with one positioned write.
    pub fn write_at(&self, bytes: &[u8], pos: u64) -> Result<()> {
        Ok(self.file()?.write_all_at(bytes, pos)?)
    }

    /// Cuts the file back to `len` bytes after a failed write, so no partial frame lingers behind the end.
    pub fn truncate(&self, len: u64) -> Result<()> {
        Ok(self.file()?.set_len(len)?)
    }

    pub fn sync(&self) -> Result<()> {
        Ok(self.file()?.sync_data()?)
    }

    /// Reads and checks the header of the frame at `pos`, which must lie within the first `bound` bytes.
    pub fn read_header(&self, pos: u64, bound: u64) -> Result<FrameHeader> {
        let available = bound.saturating_sub(pos);
        if available < HEADER_LEN as u64 {
            return Err(self.corrupt(
                pos,
                format!("frame header cut off by the segment end ({available} bytes)"),
            ));
        }
        let mut head = [0u8; HEADER_LEN];
        self.read_exact_at(&mut head, pos)?;
        let header = FrameHeader::parse(&head).map_err(|e| self.corrupt(pos, e))?;
        if u64::from(header.len) > available {
            return Err(self.corrupt(pos, format!("frame of {} bytes overruns the segment end", header.len)));
        }
        Ok(header)
    }

    /// Reads the whole frame at `pos` (whose header was read with [`Segment::read_header`]) into one buffer and
    /// verifies it.
    pub fn read_frame(&self, pos: u64, header: &FrameHeader) -> Result<Frame> {
        let mut buf = vec![0u8; header.len as usize];
        self.read_exact_at(&mut buf, pos)?;
        Frame::new(Bytes::from(buf)).map_err(|e| self.corrupt(pos, e))
    }

    /// Reads only the producer metadata of the frame at `pos`.
    pub fn read_metadata(&self, pos: u64, header: &FrameHeader) -> Result<Option<Vec<u8>>> {
        let Some(range) = header.metadata_range() else {
            return Ok(None);
        };
        let mut buf = vec![0u8; range.len()];
        self.read_exact_at(&mut buf, pos + range.start as u64)?;
        Ok(Some(buf))
    }

    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> Result<()> {
        match self.file()?.read_exact_at(buf, pos) {
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                Err(self.corrupt(pos, format!("file ends inside a frame ({} bytes wanted)", buf.len())))
            }
            other => Ok(other?),
        }
    }

    pub fn corrupt(&self, pos: u64, reason: impl std::fmt::Display) -> TopicError {
        TopicError::Corrupt {
            path: self.path.display().to_string(),
            reason: format!("frame at byte {pos}: {reason}"),
        }
    }
}

fn remove_if_exists(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The outcome of validating a segment file from its start.
struct Scan {
    /// Bytes of valid frames from the start of the file.
    valid_len: u64,
    end_offset: i64,
    index: SparseIndex,
    /// Why scanning stopped before the end of the file, if it did.
    problem: Option<String>,
}

/// Validates the frames of a segment in order: header, expected base offset (offsets are dense across frames),
/// length within the file, CRC. Stops at the first frame that fails.
fn scan(file: &File, file_len: u64, base: i64) -> Result<Scan> {
    let mut reader = ChunkReader {
        file,
        file_len,
        buf: Vec::new(),
        start: 0,
    };
    let mut index = SparseIndex::default();
    let (mut pos, mut next) = (0u64, base);
    let problem = loop {
        if pos == file_len {
            break None;
        }
        let Some(head) = reader.get(pos, HEADER_LEN)? else {
            break Some(format!("torn frame header ({} bytes) at byte {pos}", file_len - pos));
        };
        let header = match FrameHeader::parse(head) {
            Ok(header) => header,
            Err(e) => break Some(format!("frame at byte {pos}: {e}")),
        };
        if header.base_offset != next {
            break Some(format!(
                "frame at byte {pos} has base offset {}, expected {next}",
                header.base_offset
            ));
        }
        let Some(frame) = reader.get(pos, header.len as usize)? else {
            break Some(format!(
                "torn frame at byte {pos}: {} bytes of {}",
                file_len - pos,
                header.len
            ));
        };
        if let Err(e) = batch::check_crc(&header, frame) {
            break Some(format!("frame at byte {pos}: {e}"));
        }
        index.observe(next - base, pos);
        next = header.end_offset();
        pos += u64::from(header.len);
    };
    Ok(Scan {
        valid_len: pos,
        end_offset: next,
        index,
        problem,
    })
}

/// Sequential reads of a file in large chunks, handing out slices that may span a chunk boundary.
struct ChunkReader<'a> {
    file: &'a File,
    file_len: u64,
    buf: Vec<u8>,
    /// File position of `buf[0]`.
    start: u64,
}

impl ChunkReader<'_> {
    /// The `len` bytes at `pos`, or `None` when the file ends first.
    fn get(&mut self, pos: u64, len: usize) -> Result<Option<&[u8]>> {
        let Some(end) = pos.checked_add(len as u64).filter(|&end| end <= self.file_len) else {
            return Ok(None);
        };
        let buffered_end = self.start + self.buf.len() as u64;
        if pos < self.start || end > buffered_end {
            // `end <= file_len`, so this is at least `len` and never past the end of the file.
            let want = (len.max(SCAN_CHUNK) as u64).min(self.file_len - pos) as usize;
            self.buf.resize(want, 0);
            self.file.read_exact_at(&mut self.buf, pos)?;
            self.start = pos;
        }
        let from = (pos - self.start) as usize;
        Ok(Some(&self.buf[from..from + len]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::Record;

    fn frame(base: i64, n: usize) -> Vec<u8> {
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                timestamp: i as i64,
                value: Some(Bytes::from(vec![b'x'; 100])),
                ..Record::default()
            })
            .collect();
        let mut buf = Vec::new();
        batch::encode(&mut buf, base, &records, None).unwrap();
        buf
    }

    #[test]
    fn file_names() {
        assert_eq!(
            SegmentFile::parse("00000000000000000042.log"),
            Some(SegmentFile::Log(42))
        );
        assert_eq!(
            SegmentFile::parse("00000000000000000042.index"),
            Some(SegmentFile::Index(42))
        );
        assert_eq!(SegmentFile::parse("42.log"), None);
        assert_eq!(SegmentFile::parse("99999999999999999999.log"), None);
        assert_eq!(SegmentFile::parse("0000000000000000004x.log"), None);
        assert_eq!(SegmentFile::parse("00000000000000000042.log.tmp"), None);
        assert_eq!(log_path(Path::new("p"), 7), Path::new("p/00000000000000000007.log"));
    }

    #[test]
    fn scan_spans_chunks_and_builds_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = Vec::new();
        let mut next = 10;
        // Frames of varying size, crossing many 1 MiB chunk boundaries.
        for i in 0..400 {
            let n = 1 + i % 50;
            data.extend(frame(next, n));
            next += n as i64;
        }
        let path = log_path(dir.path(), 10);
        fs::write(&path, &data).unwrap();
        let (segment, end) = Segment::recover(dir.path(), 10).unwrap();
        assert_eq!(end, next);
        assert_eq!(segment.size(), data.len() as u64);
        assert!(segment.index().read().len() > 100);
        assert_eq!(fs::metadata(&path).unwrap().len(), data.len() as u64);
    }

    #[test]
    fn recover_truncates_at_an_offset_gap() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = frame(0, 3);
        let good = data.len() as u64;
        data.extend(frame(5, 1)); // should have been 3
        fs::write(log_path(dir.path(), 0), &data).unwrap();
        let (segment, end) = Segment::recover(dir.path(), 0).unwrap();
        assert_eq!((segment.size(), end), (good, 3));
    }

    #[test]
    fn sealed_segment_sidecar_is_used_and_stale_one_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..100).flat_map(|i| frame(i * 2, 2)).collect();
        fs::write(log_path(dir.path(), 0), &data).unwrap();
        let (first, end) = Segment::load_sealed(dir.path(), 0).unwrap();
        assert_eq!(end, 200);
        assert!(index_path(dir.path(), 0).exists(), "rebuilt sidecar written");
        let (second, end) = Segment::load_sealed(dir.path(), 0).unwrap();
        assert_eq!(end, 200);
        assert_eq!(*first.index().read(), *second.index().read());
        assert!(second.file.get().is_none(), "sidecar path opens the log lazily");
        // A sidecar describing another file size is ignored.
        fs::write(log_path(dir.path(), 0), &data[..data.len() / 2 + 7]).unwrap();
        assert!(
            Segment::load_sealed(dir.path(), 0).is_err(),
            "half a frame is corrupt in a sealed segment"
        );
    }
}
