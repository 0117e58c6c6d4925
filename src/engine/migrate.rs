//! Applying SQL migrations through the engine, each file exactly once, recorded in the migration history.

use crate::migrations::{AppliedMigration, MigrationFile, MigrationHistory, pending};

use super::{Engine, EngineError, Session};

/// What an apply run did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MigrationReport {
    /// Versions applied by this run, in order.
    pub applied: Vec<u64>,
    /// Versions that were already applied.
    pub already_applied: Vec<u64>,
}

impl Engine {
    /// The migration history.
    pub fn applied_migrations(&self) -> Result<Vec<AppliedMigration>, EngineError> {
        Ok(self.migration_history()?.applied()?)
    }

    fn migration_history(&self) -> Result<MigrationHistory, EngineError> {
        Ok(MigrationHistory::open(&self.db)?)
    }

    /// Applies the files that are not applied yet, in version order. A changed applied file, or a failing
    /// statement, stops the run with an error naming the migration; migrations applied before it stay applied.
    pub fn apply_migrations(&self, files: &[MigrationFile]) -> Result<MigrationReport, EngineError> {
        let _guard = self.migration_lock.lock();
        let history = self.migration_history()?;
        let applied = history.applied()?;
        let todo = pending(files, &applied)?;
        let mut report = MigrationReport {
            applied: vec![],
            already_applied: applied.iter().map(|a| a.version).collect(),
        };
        for file in todo {
            let mut session = Session::default();
            let statements = crate::sql::parse(&file.sql).map_err(|e| {
                EngineError::invalid(format!(
                    "Migration V{}__{} does not parse: {e}",
                    file.version, file.name
                ))
            })?;
            for stmt in &statements {
                self.execute_statement(stmt, &mut session).map_err(|e| {
                    EngineError::invalid(format!(
                        "Migration V{}__{} failed at `{}`: {e}. Statements before it in this file stay applied; fix the file and run again.",
                        file.version, file.name, stmt.text
                    ))
                })?;
            }
            history.record(&AppliedMigration {
                version: file.version,
                name: file.name.clone(),
                checksum: file.checksum,
                applied_at: self.now_ms(),
            })?;
            tracing::info!(version = file.version, name = %file.name, "applied migration");
            report.applied.push(file.version);
        }
        Ok(report)
    }
}
