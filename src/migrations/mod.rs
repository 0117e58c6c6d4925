//! SQL migrations: `V<version>__<name>.sql` files applied in version order, each exactly once.
//!
//! Like Flyway (and ksqlDB's ksql-migrations), each applied file is recorded with its version, name, checksum
//! (CRC32 of the file's bytes, as Flyway computes it) and time. Editing a file after it was applied is an error:
//! a migration history that no longer matches the files cannot be trusted. The history is kept in the catalog's
//! store by [`MigrationHistory`]; [`pending`] compares it with the files on disk.

mod history;
pub mod remote;

use std::path::{Path, PathBuf};

pub use history::MigrationHistory;

/// A migration problem, phrased for the user.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MigrationError {
    #[error("cannot read migrations from {path}: {message}")]
    Read { path: String, message: String },
    #[error("'{file}' is not a migration file name: use V<version>__<name>.sql, e.g. V1__create_pageviews.sql")]
    BadName { file: String },
    #[error("migrations {first} and {second} both have version {version}; each version must be unique")]
    DuplicateVersion {
        version: u64,
        first: String,
        second: String,
    },
    #[error(
        "migration V{version} ({name}) was changed after it was applied: its checksum was {applied:08x} and is now {current:08x}. Restore the file, or add a new migration with the change."
    )]
    ChecksumMismatch {
        version: u64,
        name: String,
        applied: u32,
        current: u32,
    },
    #[error("migration history error: {0}")]
    Store(String),
}

/// A migration file on disk.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MigrationFile {
    pub version: u64,
    /// The part after `__`, without `.sql`.
    pub name: String,
    pub sql: String,
    pub checksum: u32,
}

/// An applied migration, as recorded.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AppliedMigration {
    pub version: u64,
    pub name: String,
    pub checksum: u32,
    /// Epoch milliseconds.
    pub applied_at: i64,
}

/// Parses `V12__add_orders.sql` into (12, "add_orders").
pub fn parse_file_name(file: &str) -> Option<(u64, String)> {
    let rest = file.strip_prefix('V').or_else(|| file.strip_prefix('v'))?;
    let stem = rest.strip_suffix(".sql")?;
    let (version, name) = stem.split_once("__")?;
    let version = version.parse().ok()?;
    (!name.is_empty()).then(|| (version, name.to_string()))
}

/// CRC32 of the file's bytes.
pub fn checksum(sql: &str) -> u32 {
    crc32fast::hash(sql.as_bytes())
}

/// Every `*.sql` file in `dir`, sorted by version. Other files are ignored; a `.sql` file with a bad name is an
/// error so that a typo never silently skips a migration.
pub fn scan_dir(dir: &Path) -> Result<Vec<MigrationFile>, MigrationError> {
    let read_err = |e: std::io::Error| MigrationError::Read {
        path: dir.display().to_string(),
        message: e.to_string(),
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    paths.sort();
    let mut files: Vec<MigrationFile> = Vec::new();
    for path in paths {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        let (version, name) = parse_file_name(&file).ok_or(MigrationError::BadName { file: file.clone() })?;
        let sql = std::fs::read_to_string(&path).map_err(read_err)?;
        if let Some(other) = files.iter().find(|f| f.version == version) {
            return Err(MigrationError::DuplicateVersion {
                version,
                first: format!("V{}__{}.sql", other.version, other.name),
                second: file,
            });
        }
        files.push(MigrationFile {
            version,
            name,
            checksum: checksum(&sql),
            sql,
        });
    }
    files.sort_by_key(|f| f.version);
    Ok(files)
}

/// The files not applied yet, in order, after checking that applied files are unchanged.
pub fn pending(files: &[MigrationFile], applied: &[AppliedMigration]) -> Result<Vec<MigrationFile>, MigrationError> {
    for a in applied {
        if let Some(f) = files.iter().find(|f| f.version == a.version)
            && f.checksum != a.checksum
        {
            return Err(MigrationError::ChecksumMismatch {
                version: a.version,
                name: a.name.clone(),
                applied: a.checksum,
                current: f.checksum,
            });
        }
    }
    Ok(files
        .iter()
        .filter(|f| !applied.iter().any(|a| a.version == f.version))
        .cloned()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(parse_file_name("V1__init.sql"), Some((1, "init".into())));
        assert_eq!(parse_file_name("V0002__add_orders.sql"), Some((2, "add_orders".into())));
        assert_eq!(parse_file_name("V2_x.sql"), None);
        assert_eq!(parse_file_name("V__x.sql"), None);
        assert_eq!(parse_file_name("V3__.sql"), None);
        assert_eq!(parse_file_name("init.sql"), None);
    }

    #[test]
    fn scan_sorts_by_version_and_rejects_bad_names_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("V10__b.sql"), "SELECT 2;").unwrap();
        std::fs::write(dir.path().join("V2__a.sql"), "SELECT 1;").unwrap();
        std::fs::write(dir.path().join("README.md"), "not a migration").unwrap();
        let files = scan_dir(dir.path()).unwrap();
        assert_eq!(files.iter().map(|f| f.version).collect::<Vec<_>>(), vec![2, 10]);

        std::fs::write(dir.path().join("V10__c.sql"), "x").unwrap();
        assert!(matches!(
            scan_dir(dir.path()),
            Err(MigrationError::DuplicateVersion { version: 10, .. })
        ));
        std::fs::remove_file(dir.path().join("V10__c.sql")).unwrap();
        std::fs::write(dir.path().join("v3-oops.sql"), "x").unwrap();
        assert!(matches!(scan_dir(dir.path()), Err(MigrationError::BadName { .. })));
    }

    #[test]
    fn pending_skips_applied_and_rejects_changed_files() {
        let f = |v: u64, sql: &str| MigrationFile {
            version: v,
            name: format!("m{v}"),
            sql: sql.into(),
            checksum: checksum(sql),
        };
        let files = vec![f(1, "a"), f(2, "b"), f(3, "c")];
        let applied = vec![AppliedMigration {
            version: 1,
            name: "m1".into(),
            checksum: checksum("a"),
            applied_at: 0,
        }];
        let todo = pending(&files, &applied).unwrap();
        assert_eq!(todo.iter().map(|f| f.version).collect::<Vec<_>>(), vec![2, 3]);
        let changed = vec![f(1, "a changed"), f(2, "b")];
        assert!(matches!(
            pending(&changed, &applied),
            Err(MigrationError::ChecksumMismatch { version: 1, .. })
        ));
    }
}
