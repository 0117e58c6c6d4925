//! [`MigrationHistory`]: applied migrations, durable in the catalog's sled database.

use super::{AppliedMigration, MigrationError};

/// The record of applied migrations, by version.
#[derive(Clone)]
pub struct MigrationHistory {
    tree: sled::Tree,
}

impl MigrationHistory {
    pub fn open(db: &sled::Db) -> Result<Self, MigrationError> {
        let tree = db
            .open_tree("migrations")
            .map_err(|e| MigrationError::Store(e.to_string()))?;
        Ok(MigrationHistory { tree })
    }

    /// Applied migrations, oldest version first.
    pub fn applied(&self) -> Result<Vec<AppliedMigration>, MigrationError> {
        self.tree
            .iter()
            .values()
            .map(|v| {
                let v = v.map_err(|e| MigrationError::Store(e.to_string()))?;
                serde_json::from_slice(&v).map_err(|e| MigrationError::Store(e.to_string()))
            })
            .collect()
    }

    /// Records a migration and makes the record durable.
    pub fn record(&self, m: &AppliedMigration) -> Result<(), MigrationError> {
        let bytes = serde_json::to_vec(m).map_err(|e| MigrationError::Store(e.to_string()))?;
        self.tree
            .insert(m.version.to_be_bytes(), bytes)
            .and_then(|_| self.tree.flush().map(|_| ()))
            .map_err(|e| MigrationError::Store(e.to_string()))
    }
}
