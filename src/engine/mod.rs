//! The engine: one place that runs statements.
//!
//! [`Engine::execute`] parses a request and dispatches each statement to its handler module (`ddl`, `queries`,
//! `insert_values`, `inspect`, `print`), RisingWave-style. Statements that change the catalog are appended to the
//! command log *after* they are validated and *before* they take effect, so a failed statement changes nothing and
//! a restart replays exactly what was accepted.

mod ddl;
mod error;
mod insert_values;
mod inspect;
mod migrate;
mod print;
mod pull;
mod queries;
mod results;
mod route;
mod session;
mod transient;

#[cfg(test)]
mod emission_cache_tests;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use datafusion::execution::context::SessionState;
use parking_lot::{Mutex, RwLock, RwLockReadGuard};

pub use error::{EngineError, EngineErrorKind, ErrorClass};
pub use migrate::MigrationReport;
pub use print::{PrintHandle, format_print_line};
pub use results::*;
pub use route::{QueryRoute, full_sql_select};
pub use session::Session;
pub use transient::TransientHandle;

use crate::catalog::{Catalog, CommandLog, FormatSpec, LoggedCommand, SourceDef};
use crate::config::Config;
use crate::exec::{QueryRuntime, processing_log_schema};
use crate::plan::new_session_state;
use crate::sql::ast::{ParsedStatement, SourceKind, Statement};
use crate::state::CheckpointStore;
use crate::state::MaterializedView;
use crate::topics::embedded::{EmbeddedOptions, EmbeddedStore, FsyncPolicy};
use crate::topics::kafka::KafkaStore;
use crate::topics::{Created, TopicSpec, TopicStore};

/// How to run an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub config: Config,
    /// Run queries only inside [`Engine::run_until_idle`] (tests and the case runner).
    pub synchronous: bool,
    /// A fixed wall clock, so outputs that carry the current time are reproducible.
    pub fixed_clock: bool,
}

/// How a statement is being executed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExecContext {
    /// Replaying the command log at startup: do not log again, do not start queries yet.
    pub replaying: bool,
    /// The command's sequence number (its position in the log).
    pub seq: u64,
}

/// A Weir server's engine: catalog, topics, state and running queries.
pub struct Engine {
    config: Config,
    store: Arc<dyn TopicStore>,
    db: sled::Db,
    log: CommandLog,
    checkpoints: CheckpointStore,
    catalog: RwLock<Catalog>,
    session_state: SessionState,
    runtime: QueryRuntime,
    /// Compiled plans of the persistent queries, by query id.
    plans: Mutex<HashMap<String, Arc<queries::QueryPlan>>>,
    /// Materialized views of tables, by table name.
    views: Mutex<HashMap<String, Arc<MaterializedView>>>,
    /// Where each query starts when it has no checkpoint (`auto.offset.reset` when it was created).
    start_positions: Mutex<HashMap<String, crate::exec::StartPosition>>,
    /// Emission-cache size a query was created with (`cache.max.bytes.buffering`), when its statement set one.
    cache_bytes: Mutex<HashMap<String, usize>>,
    /// Serializes statements that change the catalog.
    ddl_lock: Mutex<()>,
    /// Serializes migration runs, so two clients cannot apply the same migration twice.
    migration_lock: Mutex<()>,
    clock: fn() -> i64,
    processing_log: SourceDef,
    transient: Arc<transient::TransientRegistry>,
}

fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn fixed_clock_ms() -> i64 {
    0
}

impl Engine {
    /// Opens the data directory, replays the command log and starts every persistent query.
    pub fn open(options: EngineOptions) -> Result<Arc<Engine>, EngineError> {
        let config = options.config;
        let data_dir = config.storage.data_dir.clone();
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| EngineError::invalid(format!("cannot create data directory {}: {e}", data_dir.display())))?;
        let db = sled::Config::new()
            .path(data_dir.join("state"))
            .cache_capacity(config.storage.cache_mb.saturating_mul(1024 * 1024))
            .open()?;
        let (store, log): (Arc<dyn TopicStore>, CommandLog) = if config.kafka.enabled() {
            // Topics and the command log on Kafka; state and checkpoints stay in the data directory.
            let kafka = Arc::new(KafkaStore::connect(&config.kafka)?);
            let command_topic = format!("_weir_{}_command_topic", config.server.service_id);
            kafka.create_compacted_topic(
                &command_topic,
                TopicSpec {
                    partitions: 1,
                    replicas: 1,
                },
            )?;
            tracing::info!(
                bootstrap = kafka.bootstrap_servers(),
                command_topic,
                "topic store: Kafka"
            );
            let store: Arc<dyn TopicStore> = kafka;
            let log = CommandLog::open_topic(Arc::clone(&store), command_topic)?;
            (store, log)
        } else {
            let dir = data_dir.join("topics");
            let store = Arc::new(open_embedded(&dir, &config)?);
            tracing::info!(dir = %dir.display(), "topic store: embedded log");
            (store, CommandLog::open(&db)?)
        };
        Self::open_with_log(config, options.synchronous, options.fixed_clock, db, store, log)
    }

    /// Opens an engine over an existing sled database and topic store, with the command log in the database.
    pub fn open_with(
        config: Config,
        synchronous: bool,
        fixed_clock: bool,
        db: sled::Db,
        store: Arc<dyn TopicStore>,
    ) -> Result<Arc<Engine>, EngineError> {
        let log = CommandLog::open(&db)?;
        Self::open_with_log(config, synchronous, fixed_clock, db, store, log)
    }

    /// Opens an engine over an existing sled database, topic store and command log.
    pub fn open_with_log(
        config: Config,
        synchronous: bool,
        fixed_clock: bool,
        db: sled::Db,
        store: Arc<dyn TopicStore>,
        log: CommandLog,
    ) -> Result<Arc<Engine>, EngineError> {
        let checkpoints = CheckpointStore::open(&db)?;
        let processing_log = processing_log_source(&config);
        let engine = Arc::new(Engine {
            store,
            log,
            checkpoints,
            catalog: RwLock::new(Catalog::default()),
            session_state: new_session_state(),
            runtime: if synchronous {
                QueryRuntime::synchronous()
            } else {
                QueryRuntime::threaded()
            },
            plans: Mutex::new(HashMap::new()),
            views: Mutex::new(HashMap::new()),
            start_positions: Mutex::new(HashMap::new()),
            cache_bytes: Mutex::new(HashMap::new()),
            ddl_lock: Mutex::new(()),
            migration_lock: Mutex::new(()),
            clock: if fixed_clock { fixed_clock_ms } else { wall_clock_ms },
            processing_log,
            transient: Arc::default(),
            db,
            config,
        });
        engine.install_processing_log()?;
        engine.replay()?;
        Ok(engine)
    }

    fn install_processing_log(&self) -> Result<(), EngineError> {
        let def = self.processing_log.clone();
        self.ensure_topic(&def.topic, 1, true)?;
        self.catalog.write().add_source(def, true)?;
        Ok(())
    }

    /// Replays the command log, then starts the queries it left running.
    fn replay(&self) -> Result<(), EngineError> {
        let commands = self.log.read_all()?;
        if !commands.is_empty() {
            tracing::info!("replaying {} catalog commands", commands.len());
        }
        for cmd in &commands {
            let mut session = Session::with_properties(cmd.properties.clone());
            let ctx = ExecContext {
                replaying: true,
                seq: cmd.seq,
            };
            let outcome = crate::sql::parse(&cmd.statement)
                .map_err(EngineError::from)
                .and_then(|stmts| {
                    for stmt in &stmts {
                        self.dispatch(stmt, &mut session, ctx)?;
                    }
                    Ok(())
                });
            if let Err(e) = outcome {
                tracing::error!(seq = cmd.seq, "could not replay command `{}`: {e}", cmd.statement);
            }
        }
        let ids: Vec<String> = self.catalog.read().queries().map(|q| q.id.clone()).collect();
        for id in ids {
            if let Err(e) = self.start_query(&id) {
                tracing::error!(query = %id, "could not start query: {e}");
            }
        }
        Ok(())
    }

    /// Runs every statement in `sql`, in order, stopping at the first failure (earlier statements stay applied).
    pub fn execute(&self, sql: &str, session: &mut Session) -> Result<Vec<StatementResult>, EngineError> {
        let statements = crate::sql::parse(sql)?;
        let mut results = Vec::with_capacity(statements.len());
        for stmt in &statements {
            results.push(self.execute_statement(stmt, session)?);
        }
        Ok(results)
    }

    /// Runs one parsed statement.
    pub fn execute_statement(
        &self,
        stmt: &ParsedStatement,
        session: &mut Session,
    ) -> Result<StatementResult, EngineError> {
        let _guard = self.ddl_lock.lock();
        let ctx = ExecContext {
            replaying: false,
            seq: self.log.next_seq()?,
        };
        self.dispatch(stmt, session, ctx)
            .map_err(|e| e.with_statement(&stmt.text))
    }

    fn dispatch(
        &self,
        stmt: &ParsedStatement,
        session: &mut Session,
        ctx: ExecContext,
    ) -> Result<StatementResult, EngineError> {
        match &stmt.statement {
            Statement::CreateSource(c) => self.create_source(c, stmt, session, ctx),
            Statement::CreateAsSelect(c) => self.create_as_select(c, stmt, session, ctx),
            Statement::InsertSelect { target, query } => self.insert_select(target, query, stmt, session, ctx),
            Statement::InsertValues {
                target,
                columns,
                values,
            } => self.insert_values(target, columns.as_deref(), values),
            Statement::Drop {
                kind,
                name,
                if_exists,
                delete_topic,
            } => self.drop_source(*kind, name, *if_exists, *delete_topic, stmt, session, ctx),
            Statement::Terminate(target) => self.terminate(target, stmt, session, ctx),
            Statement::Show { what, extended } => self.show(*what, *extended, session),
            Statement::Describe { name, extended } => self.describe(name, *extended),
            Statement::Explain(target) => self.explain(target),
            Statement::Print {
                topic,
                from_beginning,
                limit,
                ..
            } => self.print_bounded(topic, *from_beginning, *limit),
            Statement::Select(_) => Err(EngineError::invalid(
                "SELECT is a transient query: run it through the /query or /query-stream endpoints (REST) or as a query over the Postgres protocol.",
            )),
            Statement::Set { name, value } => {
                session.properties.insert(name.clone(), value.clone());
                Ok(StatementResult::Status(CommandStatus {
                    message: format!("Successfully changed local property '{name}' to '{value}'."),
                    command_seq: None,
                    query_id: None,
                    warnings: vec![],
                }))
            }
            Statement::Unset { name } => {
                let old = session.properties.remove(name);
                Ok(StatementResult::Status(CommandStatus {
                    message: match old {
                        Some(v) => format!("Successfully unset local property '{name}' (value was '{v}')."),
                        None => format!("Property '{name}' was not set."),
                    },
                    command_seq: None,
                    query_id: None,
                    warnings: vec![],
                }))
            }
        }
    }

    /// Appends an accepted statement to the command log (unless replaying it).
    fn log_command(&self, stmt: &ParsedStatement, session: &Session, ctx: ExecContext) -> Result<(), EngineError> {
        if ctx.replaying {
            return Ok(());
        }
        self.log.append(&LoggedCommand {
            seq: ctx.seq,
            statement: stmt.text.clone(),
            properties: session.properties.clone(),
            accepted_at: (self.clock)(),
        })?;
        Ok(())
    }

    /// Creates `topic` when missing (with `partitions`), or checks an existing one against an explicit request.
    fn ensure_topic(&self, topic: &str, partitions: u32, explicit_partitions: bool) -> Result<u32, EngineError> {
        crate::topics::validate_topic_name(topic)?;
        match self.store.create_topic(
            topic,
            TopicSpec {
                partitions,
                replicas: 1,
            },
        )? {
            Created::Created => {
                tracing::info!(topic, partitions, "created topic");
                Ok(partitions)
            }
            Created::AlreadyExists { partitions: actual } => {
                if explicit_partitions && actual != partitions {
                    return Err(EngineError::invalid(format!(
                        "A Kafka topic with the name '{topic}' already exists, with different partition/replica configuration than required. KSQL expects {partitions} partitions (topic has {actual})."
                    )));
                }
                Ok(actual)
            }
        }
    }

    /// Synchronous mode: processes all available input through every query, repeatedly, until none is left.
    pub fn run_until_idle(&self) -> Result<(), EngineError> {
        self.runtime.run_until_idle().map_err(EngineError::from)
    }

    /// Stops every query after a final checkpoint and flushes storage.
    pub fn shutdown(&self) {
        self.runtime.stop_all();
        if let Err(e) = self.store.flush() {
            tracing::warn!("flushing topics at shutdown failed: {e}");
        }
        if let Err(e) = self.db.flush() {
            tracing::warn!("flushing state at shutdown failed: {e}");
        }
    }

    pub fn topics(&self) -> &Arc<dyn TopicStore> {
        &self.store
    }

    pub fn catalog(&self) -> RwLockReadGuard<'_, Catalog> {
        self.catalog.read()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }

    /// Every statement accepted into the command log, oldest first.
    pub fn logged_statements(&self) -> Result<Vec<ParsedStatement>, EngineError> {
        let mut out = Vec::new();
        for cmd in self.log.read_all()? {
            if let Ok(stmts) = crate::sql::parse(&cmd.statement) {
                out.extend(stmts);
            }
        }
        Ok(out)
    }

    /// The processing-log (dead-letter) stream.
    pub fn processing_log(&self) -> &SourceDef {
        &self.processing_log
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn open_embedded(dir: &Path, config: &Config) -> Result<EmbeddedStore, EngineError> {
    use crate::config::FsyncMode;
    let fsync = match config.storage.fsync {
        FsyncMode::Always => FsyncPolicy::Always,
        FsyncMode::Interval => FsyncPolicy::Interval(Duration::from_millis(config.storage.fsync_interval_ms)),
        FsyncMode::Never => FsyncPolicy::Never,
    };
    let options = EmbeddedOptions {
        segment_bytes: config.storage.segment_bytes,
        fsync,
    };
    Ok(EmbeddedStore::open(dir, options)?)
}

fn processing_log_source(config: &Config) -> SourceDef {
    SourceDef {
        name: config.processing.processing_log_stream.clone(),
        kind: SourceKind::Stream,
        schema: processing_log_schema(),
        topic: format!("{}ksql_processing_log", config.server.service_id),
        partitions: 1,
        key_format: FormatSpec::named("NONE"),
        value_format: FormatSpec::named("JSON"),
        timestamp: None,
        is_source: true,
        sql: String::new(),
        created_by: None,
        window: None,
    }
}
