//! Running one classified statement for a connection — the single dispatch point both protocols share. Each
//! command kind goes to its handler here: Weir statements to the engine, pull queries to DataFusion
//! ([`crate::serve`]), push queries to a transient query, session commands to the connection's state.

use std::fmt::Debug;
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::scalar::ScalarValue;
use futures::{Sink, SinkExt};
use pgwire::error::PgWireError;
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::startup::ParameterStatus;

use super::PgServer;
use super::cancel::CancelListener;
use super::command::{Command, Count};
use super::encode::{PgColumn, columns_of};
use super::errors::{
    DUPLICATE_CURSOR, INVALID_CURSOR_NAME, INVALID_PARAMETER_VALUE, NOT_SUPPORTED, PgError, SYNTAX_ERROR,
    UNDEFINED_OBJECT,
};
use super::lexer::{self, Token};
use super::params::Param;
use super::results::{self, Reply};
use super::session::{Connection, Cursor, Step};
use crate::engine::EngineError;
use crate::serve::{Labels, PreparedPull, PullOptions};
use crate::sql::ast::Statement;

/// What running a statement produced. Push queries are returned unstarted-to-the-client so each protocol streams
/// them its own way.
pub enum Outcome {
    Rows {
        columns: Vec<PgColumn>,
        batches: Vec<RecordBatch>,
        /// `SELECT` / `FETCH` tags carry the row count; `SHOW`, `DESCRIBE`, `EXPLAIN` do not.
        tag: &'static str,
        notices: Vec<String>,
    },
    Command {
        tag: String,
        notices: Vec<String>,
        /// Parameters whose new values the client must be told (`ParameterStatus`).
        reports: Vec<(String, String)>,
    },
    Push {
        columns: Vec<PgColumn>,
        cursor: Cursor,
    },
    Transaction {
        tag: String,
        change: TxChange,
    },
}

/// How a transaction command changes the connection's transaction status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxChange {
    Begin,
    /// COMMIT or ROLLBACK: back to idle.
    End,
    /// `ROLLBACK TO SAVEPOINT`: out of the failed state, still in the transaction.
    Recover,
    /// `SAVEPOINT`, `RELEASE`: no change.
    None,
}

impl Outcome {
    fn command(tag: impl Into<String>) -> Self {
        Outcome::Command {
            tag: tag.into(),
            notices: vec![],
            reports: vec![],
        }
    }

    /// The command tag for `rows` rows.
    pub fn rows_tag(tag: &str, rows: usize) -> String {
        match tag {
            "SELECT" | "FETCH" | "MOVE" => format!("{tag} {rows}"),
            other => other.to_string(),
        }
    }
}

/// Runs statements for one connection.
pub struct Runner<'a> {
    pub server: &'a PgServer,
    pub conn: &'a Arc<Connection>,
}

impl Runner<'_> {
    /// Runs a statement given as text (simple protocol, `DECLARE`'s query).
    pub async fn run_text<C>(
        &self,
        client: &mut C,
        text: &str,
        tokens: &[Token],
        command: Command,
        cancel: &mut CancelListener,
    ) -> Result<Outcome, PgError>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        match command {
            Command::Weir | Command::Push => self.weir(text, tokens, &[], cancel).await,
            Command::Pull => {
                if lexer::max_placeholder(tokens) > 0 {
                    return Err(PgError::new(
                        INVALID_PARAMETER_VALUE,
                        "there is no parameter $1: parameters need the extended query protocol",
                    ));
                }
                let prepared = self.prepare_pull(text).await?;
                self.pull(&prepared, vec![], cancel).await
            }
            Command::Declare { name, query } => self.declare(client, name, &query, cancel).await,
            Command::Fetch { name, count, skip } => self.fetch(client, &name, count, skip, cancel).await,
            other => self.session(other),
        }
    }

    /// Runs a Weir statement, with `$n` replaced by the literals of `params`.
    pub async fn weir(
        &self,
        text: &str,
        tokens: &[Token],
        params: &[Param],
        cancel: &mut CancelListener,
    ) -> Result<Outcome, PgError> {
        let needed = lexer::max_placeholder(tokens);
        let text = if needed == 0 {
            text.to_string()
        } else {
            super::params::check_count(params.len(), needed)?;
            let literals: Vec<String> = params.iter().map(Param::to_literal).collect();
            lexer::substitute(text, tokens, &literals).map_err(|e| PgError::new(SYNTAX_ERROR, e))?
        };
        let engine = self.server.engine()?;
        let mut statements = crate::sql::parse(&text).map_err(|e| PgError::from(EngineError::from(e)))?;
        if statements.len() != 1 {
            return Err(PgError::new(SYNTAX_ERROR, "expected exactly one statement"));
        }
        let statement = statements.remove(0);
        if let Statement::Select(query) = &statement.statement {
            if query.emit.is_none() {
                return Err(PgError::not_supported(
                    "this query is in ksqlDB's dialect only; pull queries are Postgres SQL (add EMIT CHANGES for a push query)",
                ));
            }
            let session = self.conn.weir_session();
            let started = engine.clone();
            let handle = tokio::task::spawn_blocking(move || started.start_transient(&statement, &session))
                .await
                .map_err(|e| PgError::internal(e.to_string()))??;
            let columns = push_columns(&handle.schema);
            return Ok(Outcome::Push {
                columns: columns.clone(),
                cursor: Cursor::push(columns, handle),
            });
        }
        let mut session = self.conn.weir_session();
        let job = tokio::task::spawn_blocking(move || {
            let result = engine.execute_statement(&statement, &mut session);
            (result, session, statement)
        });
        let (result, session, statement) = tokio::select! {
            r = job => r.map_err(|e| PgError::internal(e.to_string()))?,
            _ = cancel.cancelled() => return Err(PgError::canceled()),
        };
        self.conn.set_weir_session(session);
        let result = result?;
        Ok(match results::render(&result, &statement.statement)? {
            Reply::Rows { batch, tag, notices } => Outcome::Rows {
                columns: columns_of(&batch.schema()),
                batches: vec![batch],
                tag,
                notices,
            },
            Reply::Command { tag, notices } => Outcome::Command {
                tag,
                notices,
                reports: vec![],
            },
        })
    }

    /// Plans a pull query for this connection.
    pub async fn prepare_pull(&self, text: &str) -> Result<PreparedPull, PgError> {
        let serving = self.server.serving()?;
        let options = PullOptions {
            labels: Labels::Postgres,
            session: self.conn.session_info(),
        };
        Ok(serving.prepare(text, &options).await?)
    }

    /// Runs a planned pull query (planning it again first if the catalog changed since).
    pub async fn pull(
        &self,
        prepared: &PreparedPull,
        params: Vec<ScalarValue>,
        cancel: &mut CancelListener,
    ) -> Result<Outcome, PgError> {
        let serving = self.server.serving()?;
        let result = tokio::select! {
            r = serving.execute(prepared, params) => r?,
            _ = cancel.cancelled() => return Err(PgError::canceled()),
        };
        Ok(Outcome::Rows {
            columns: columns_of(&result.schema),
            batches: result.batches,
            tag: pull_tag(prepared),
            notices: vec![],
        })
    }

    /// `DECLARE name CURSOR FOR query`: a pull query's rows, or a running push query.
    async fn declare<C>(
        &self,
        client: &mut C,
        name: String,
        query: &str,
        cancel: &mut CancelListener,
    ) -> Result<Outcome, PgError>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        if self.conn.has_cursor(&name) {
            return Err(PgError::new(
                DUPLICATE_CURSOR,
                format!("cursor \"{name}\" already exists"),
            ));
        }
        let tokens = lexer::tokenize(query).map_err(|e| PgError::new(SYNTAX_ERROR, e.to_string()))?;
        let command = super::command::classify(query, &tokens)?;
        let cursor = match command {
            Command::Push | Command::Pull => {
                match Box::pin(self.run_text(client, query, &tokens, command, cancel)).await? {
                    Outcome::Push { cursor, .. } => cursor,
                    Outcome::Rows { columns, batches, .. } => Cursor::rows(columns, batches),
                    _ => return Err(PgError::internal("a cursor query returned no rows")),
                }
            }
            _ => {
                return Err(PgError::new(
                    SYNTAX_ERROR,
                    "DECLARE CURSOR needs a SELECT (a pull query, or a push query with EMIT CHANGES)",
                ));
            }
        };
        self.conn.add_cursor(name, cursor);
        Ok(Outcome::command("DECLARE CURSOR"))
    }

    /// `FETCH` / `MOVE`: the next rows of a cursor, waiting for a push query's rows.
    async fn fetch<C>(
        &self,
        client: &mut C,
        name: &str,
        count: Count,
        skip: bool,
        cancel: &mut CancelListener,
    ) -> Result<Outcome, PgError>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<C::Error>,
    {
        let mut cursor = self
            .conn
            .take_cursor(name)
            .ok_or_else(|| PgError::new(INVALID_CURSOR_NAME, format!("cursor \"{name}\" does not exist")))?;
        let mut shutdown = self.server.shutdown_receiver();
        let mut left = match count {
            Count::Rows(n) => usize::try_from(n).unwrap_or(usize::MAX),
            Count::All => usize::MAX,
        };
        let mut batches = Vec::new();
        let mut result = Ok(());
        while left > 0 {
            match cursor.next(left, cancel, &mut shutdown).await {
                Ok(Step::Rows(b)) => {
                    left -= b.num_rows();
                    batches.push(b);
                }
                Ok(Step::Idle) => {
                    if let Err(e) = keepalive(client, self.conn).await {
                        result = Err(e);
                        break;
                    }
                }
                Ok(Step::End) => break,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        let columns = cursor.columns.clone();
        // A failed FETCH aborts the transaction in Postgres, and the cursor with it.
        if result.is_ok() {
            self.conn.add_cursor(name.to_string(), cursor);
        }
        result?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        if skip {
            return Ok(Outcome::command(Outcome::rows_tag("MOVE", rows)));
        }
        Ok(Outcome::Rows {
            columns,
            batches,
            tag: "FETCH",
            notices: vec![],
        })
    }

    /// The session commands: transactions, parameters, cursors.
    pub fn session(&self, command: Command) -> Result<Outcome, PgError> {
        Ok(match command {
            Command::Begin => Outcome::Transaction {
                tag: "BEGIN".into(),
                change: TxChange::Begin,
            },
            Command::Commit | Command::Rollback => {
                // Cursors end with their transaction (none is WITH HOLD); their push queries stop.
                self.conn.close_cursor(None);
                Outcome::Transaction {
                    tag: if command == Command::Commit {
                        "COMMIT"
                    } else {
                        "ROLLBACK"
                    }
                    .into(),
                    change: TxChange::End,
                }
            }
            Command::Savepoint(tag) => Outcome::Transaction {
                tag: tag.into(),
                change: if tag == "ROLLBACK" {
                    TxChange::Recover
                } else {
                    TxChange::None
                },
            },
            Command::Set { name, value } => {
                check_parameter(&name, value.as_deref())?;
                let reported = self.conn.set_parameter(&name, value);
                let current = self.conn.parameter(&reported).map(|(_, v)| v).unwrap_or_default();
                Outcome::Command {
                    tag: "SET".into(),
                    notices: vec![],
                    reports: reported_parameter(&reported)
                        .then(|| (reported.clone(), current))
                        .into_iter()
                        .collect(),
                }
            }
            Command::SetIgnored => Outcome::command("SET"),
            Command::Show { name } => {
                let (reported, value) = self.conn.parameter(&name).ok_or_else(|| {
                    PgError::new(
                        UNDEFINED_OBJECT,
                        format!("unrecognized configuration parameter \"{name}\""),
                    )
                })?;
                let column = reported.to_ascii_lowercase();
                text_rows(&[column.as_str()], vec![vec![value]], "SHOW")?
            }
            Command::ShowAll => text_rows(
                &["name", "setting", "description"],
                self.conn
                    .parameters()
                    .into_iter()
                    .map(|(n, v)| vec![n, v, String::new()])
                    .collect(),
                "SHOW",
            )?,
            Command::Reset { name } => {
                match name {
                    Some(n) => {
                        self.conn.set_parameter(&n, None);
                    }
                    None => self.conn.reset_parameters(),
                }
                Outcome::command("RESET")
            }
            Command::Discard => {
                self.conn.reset_parameters();
                self.conn.close_cursor(None);
                Outcome::command("DISCARD ALL")
            }
            Command::Deallocate { .. } => Outcome::command("DEALLOCATE"),
            Command::Close { name } => {
                if !self.conn.close_cursor(name.as_deref()) {
                    let n = name.unwrap_or_default();
                    return Err(PgError::new(
                        INVALID_CURSOR_NAME,
                        format!("cursor \"{n}\" does not exist"),
                    ));
                }
                Outcome::command("CLOSE CURSOR")
            }
            Command::Unsupported(message) => return Err(PgError::new(NOT_SUPPORTED, message)),
            Command::Weir | Command::Push | Command::Pull | Command::Declare { .. } | Command::Fetch { .. } => {
                return Err(PgError::internal("statement routed to the wrong handler"));
            }
        })
    }
}

/// The tag of a pull query's result: `EXPLAIN` output is not a `SELECT`.
fn pull_tag(prepared: &PreparedPull) -> &'static str {
    let explain = prepared
        .schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .eq(["plan_type", "plan"]);
    if explain { "EXPLAIN" } else { "SELECT" }
}

/// A push query's result columns.
pub fn push_columns(schema: &crate::types::LogicalSchema) -> Vec<PgColumn> {
    schema
        .columns()
        .iter()
        .map(|c| {
            let (oid, typmod) = crate::serve::pg_types::pg_type_of(&c.ty.to_arrow());
            PgColumn {
                name: c.name.clone(),
                oid,
                typmod,
            }
        })
        .collect()
}

fn text_rows(names: &[&str], rows: Vec<Vec<String>>, tag: &'static str) -> Result<Outcome, PgError> {
    use datafusion::arrow::array::{ArrayRef, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let schema = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = (0..names.len())
        .map(|i| Arc::new(rows.iter().map(|r| r.get(i).cloned()).collect::<StringArray>()) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| PgError::internal(e.to_string()))?;
    Ok(Outcome::Rows {
        columns: columns_of(&schema),
        batches: vec![batch],
        tag,
        notices: vec![],
    })
}

/// Rejects settings Weir cannot honour (a client encoding other than UTF-8).
fn check_parameter(name: &str, value: Option<&str>) -> Result<(), PgError> {
    if name.eq_ignore_ascii_case("client_encoding")
        && let Some(v) = value
        && !matches!(
            v.trim_matches('\'').to_ascii_uppercase().replace('-', "").as_str(),
            "UTF8" | "UNICODE"
        )
    {
        return Err(PgError::new(
            NOT_SUPPORTED,
            format!("client encoding \"{v}\" is not supported: Weir sends and reads UTF8 only"),
        ));
    }
    Ok(())
}

/// Parameters Postgres reports to the client whenever they change.
fn reported_parameter(name: &str) -> bool {
    matches!(
        name,
        "client_encoding"
            | "DateStyle"
            | "TimeZone"
            | "application_name"
            | "IntervalStyle"
            | "search_path"
            | "standard_conforming_strings"
            | "integer_datetimes"
            | "is_superuser"
            | "server_encoding"
    )
}

/// Tells the client a parameter again, unchanged: a message clients accept at any time, which fails once the
/// client is gone, so an idle push query notices a disconnected client.
pub async fn keepalive<C>(client: &mut C, conn: &Connection) -> Result<(), PgError>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
{
    let value = conn.parameter("application_name").map(|(_, v)| v).unwrap_or_default();
    client
        .send(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
            "application_name".into(),
            value,
        )))
        .await
        .map_err(|e| PgError::new(super::errors::ADMIN_SHUTDOWN, format!("the client went away: {e:?}")).fatal())
}
