//! The command log: every accepted DDL statement, in order, durable in sled.
//!
//! The log stores statement text plus the properties it ran with, not derived objects, so replaying it through the
//! same code path that accepted it rebuilds an identical catalog (the approach ksqlDB's command topic takes).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Failure to read or write the command log.
#[derive(Debug, thiserror::Error)]
pub enum CommandLogError {
    #[error("command log storage error: {0}")]
    Store(#[from] sled::Error),
    #[error("command log entry {seq} is unreadable: {message}")]
    Corrupt { seq: u64, message: String },
}

/// One accepted statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedCommand {
    /// Position in the log, starting at 0 (like a topic offset); query ids are derived from it, so they are the same after a replay.
    pub seq: u64,
    pub statement: String,
    /// Request and session properties in effect (e.g. `auto.offset.reset`).
    pub properties: BTreeMap<String, String>,
    /// Epoch milliseconds when it was accepted.
    pub accepted_at: i64,
}

/// The durable, ordered list of accepted commands.
#[derive(Clone)]
pub struct CommandLog {
    tree: sled::Tree,
}

impl CommandLog {
    /// Opens (or creates) the log in `db`.
    pub fn open(db: &sled::Db) -> Result<Self, CommandLogError> {
        Ok(CommandLog {
            tree: db.open_tree("command_log")?,
        })
    }

    /// Every command, oldest first.
    pub fn read_all(&self) -> Result<Vec<LoggedCommand>, CommandLogError> {
        let mut out = Vec::new();
        for item in self.tree.iter() {
            let (k, v) = item?;
            let seq = k
                .as_ref()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| CommandLogError::Corrupt {
                    seq: 0,
                    message: "key is not a sequence number".into(),
                })?;
            let cmd: LoggedCommand = serde_json::from_slice(&v).map_err(|e| CommandLogError::Corrupt {
                seq,
                message: e.to_string(),
            })?;
            out.push(cmd);
        }
        Ok(out)
    }

    /// The sequence number the next command will get.
    pub fn next_seq(&self) -> Result<u64, CommandLogError> {
        Ok(match self.tree.last()? {
            Some((k, _)) => {
                let last = k
                    .as_ref()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| CommandLogError::Corrupt {
                        seq: 0,
                        message: "key is not a sequence number".into(),
                    })?;
                last + 1
            }
            None => 0,
        })
    }

    /// Appends a command and makes it durable before returning.
    pub fn append(&self, cmd: &LoggedCommand) -> Result<(), CommandLogError> {
        let bytes = serde_json::to_vec(cmd).map_err(|e| CommandLogError::Corrupt {
            seq: cmd.seq,
            message: e.to_string(),
        })?;
        self.tree.insert(cmd.seq.to_be_bytes(), bytes)?;
        self.tree.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            let log = CommandLog::open(&db).unwrap();
            for i in 0..3 {
                let seq = log.next_seq().unwrap();
                log.append(&LoggedCommand {
                    seq,
                    statement: format!("stmt {i}"),
                    properties: BTreeMap::new(),
                    accepted_at: 0,
                })
                .unwrap();
            }
        }
        let db = sled::open(dir.path()).unwrap();
        let log = CommandLog::open(&db).unwrap();
        let all = log.read_all().unwrap();
        assert_eq!(all.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(all[2].statement, "stmt 2");
        assert_eq!(log.next_seq().unwrap(), 3);
    }
}
