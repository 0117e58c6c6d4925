//! Small file-system helpers: atomic replacement of small files and directory fsync.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Replaces `path` with `bytes` via a temporary file and a rename, so readers (and a restart after a crash) see the
/// old content or the new one, never a mix. With `durable`, the data and the directory entry are fsynced too.
pub(super) fn write_atomically(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    let tmp = tmp_path(path);
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    if durable {
        file.sync_all()?;
    }
    drop(file);
    fs::rename(&tmp, path)?;
    if durable && let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// The temporary name [`write_atomically`] uses; leftovers with this suffix are removed at open.
pub(super) fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TMP_SUFFIX);
    PathBuf::from(name)
}

pub(super) const TMP_SUFFIX: &str = ".tmp";

/// Makes a directory's entries (created, renamed or removed files) durable.
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}
