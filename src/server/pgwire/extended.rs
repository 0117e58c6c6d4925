//! The extended query protocol: `Parse` classifies the statement and plans pull queries (so `Describe` can report
//! parameter and result types before anything runs), `Bind` keeps the parameters, `Execute` runs the statement
//! with them — streaming push queries with `Execute`'s row limit as a page size (`PortalSuspended` between pages).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{Sink, SinkExt, stream};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::ExtendedQueryHandler;
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldFormat, FieldInfo, QueryResponse, Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, Type};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::DataRow;
use pgwire::messages::data::RowDescription;
use pgwire::messages::extendedquery::{
    Close, Describe, Execute, PortalSuspended, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL,
};
use pgwire::messages::response::{CommandComplete, NoticeResponse, TransactionStatus};
use pgwire::messages::startup::ParameterStatus;

use super::PgServer;
use super::command::{Command, classify};
use super::encode::{PgColumn, columns_of, encode_batch, field_infos};
use super::errors::{IN_FAILED_TRANSACTION, PROTOCOL_VIOLATION, PgError, SYNTAX_ERROR};
use super::exec::{Outcome, Runner, TxChange, keepalive, push_columns};
use super::lexer::{self, Token};
use super::params::{self, Param};
use super::results;
use super::session::{Connection, Cursor, Step};
use crate::serve::PreparedPull;
use crate::serve::pg_types;

/// A statement parsed by `Parse`.
#[derive(Clone)]
pub struct Prepared(Arc<PreparedInner>);

pub struct PreparedInner {
    text: String,
    tokens: Vec<Token>,
    command: Command,
    kind: Kind,
}

enum Kind {
    Pull(PreparedPull),
    Push {
        columns: Vec<PgColumn>,
    },
    Weir {
        columns: Option<Vec<PgColumn>>,
        params: Vec<u32>,
    },
    Session,
}

impl Prepared {
    /// The parameter types the statement expects, where Weir knows them (text otherwise).
    fn parameter_oids(&self) -> Vec<u32> {
        let count = lexer::max_placeholder(&self.0.tokens);
        let mut oids = match &self.0.kind {
            Kind::Pull(p) => p
                .param_types
                .iter()
                .map(|t| params::oid_of_inferred(t.as_ref()))
                .collect(),
            Kind::Weir { params, .. } => params.clone(),
            _ => vec![],
        };
        if oids.len() < count {
            oids.resize(count, pg_types::TEXT);
        }
        oids
    }

    fn is_push(&self) -> bool {
        matches!(self.0.kind, Kind::Push { .. })
    }
}

/// Both query protocols' handler.
pub struct QueryHandler {
    pub(super) server: Arc<PgServer>,
    parser: Arc<Parser>,
}

impl QueryHandler {
    pub fn new(server: Arc<PgServer>) -> Self {
        QueryHandler {
            parser: Arc::new(Parser { server: server.clone() }),
            server,
        }
    }
}

/// The connection state of a client.
pub fn connection<C: ClientInfo + ?Sized>(client: &C) -> Result<Arc<Connection>, PgError> {
    client
        .session_extensions()
        .get::<Connection>()
        .ok_or_else(|| PgError::internal("the connection has no session state"))
}

/// Statements allowed in a failed transaction: the ones that end it.
pub fn allowed_when_failed(command: &Command) -> bool {
    matches!(
        command,
        Command::Commit | Command::Rollback | Command::Savepoint("ROLLBACK")
    )
}

pub fn failed_transaction() -> PgError {
    PgError::new(
        IN_FAILED_TRANSACTION,
        "current transaction is aborted, commands ignored until end of transaction block",
    )
}

/// Parses statements for the extended protocol.
pub struct Parser {
    server: Arc<PgServer>,
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Prepared;

    async fn parse_sql<C>(&self, client: &C, sql: &str, _types: &[Option<Type>]) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut statements = lexer::split_statements(sql).map_err(|e| PgError::new(SYNTAX_ERROR, e.to_string()))?;
        if statements.len() > 1 {
            return Err(PgError::new(
                SYNTAX_ERROR,
                "cannot insert multiple commands into a prepared statement",
            )
            .into());
        }
        let Some((text, tokens)) = statements.pop() else {
            return Ok(None);
        };
        let command = classify(&text, &tokens)?;
        let conn = connection(client)?;
        let runner = Runner {
            server: &self.server,
            conn: &conn,
        };
        let kind = match &command {
            Command::Pull => Kind::Pull(runner.prepare_pull(&text).await?),
            Command::Push | Command::Weir => describe_weir(&self.server, &text, &tokens),
            _ => Kind::Session,
        };
        Ok(Some(Prepared(Arc::new(PreparedInner {
            text,
            tokens,
            command,
            kind,
        }))))
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(stmt.parameter_oids().into_iter().map(super::encode::pg_type).collect())
    }

    fn get_result_schema(&self, stmt: &Prepared, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        let columns = static_columns(stmt).unwrap_or_default();
        let formats = result_formats(format, columns.len())?;
        Ok(field_infos(&columns, &formats))
    }
}

/// What `Describe` can tell about a Weir statement before it runs: its result columns and, for `INSERT ...
/// VALUES`, the types of the columns its parameters fill.
fn describe_weir(server: &PgServer, text: &str, tokens: &[Token]) -> Kind {
    // Markers that survive parsing, to find where each parameter went.
    let count = lexer::max_placeholder(tokens);
    let markers: Vec<String> = (1..=count)
        .map(|n| lexer::quote_literal(&format!("\u{1}weir_param_{n}")))
        .collect();
    let parsed = lexer::substitute(text, tokens, &markers)
        .ok()
        .and_then(|t| crate::sql::parse(&t).ok())
        .and_then(|mut v| (v.len() == 1).then(|| v.remove(0)));
    let Some(parsed) = parsed else {
        return Kind::Weir {
            columns: None,
            params: vec![],
        };
    };
    let engine = server.engine().ok();
    if let crate::sql::ast::Statement::Select(query) = &parsed.statement
        && query.emit.is_some()
        && let Some(engine) = &engine
    {
        let state = crate::plan::new_session_state();
        let catalog = engine.catalog();
        if let Ok(plan) = crate::plan::plan_transient(&state, &catalog, query) {
            return Kind::Push {
                columns: push_columns(&plan.schema),
            };
        }
    }
    let columns = results::columns_of_statement(&parsed.statement).map(|cols| {
        cols.into_iter()
            .map(|(name, dt)| {
                let (oid, typmod) = pg_types::pg_type_of(&dt);
                PgColumn { name, oid, typmod }
            })
            .collect()
    });
    let mut param_oids = vec![pg_types::TEXT; count];
    if let (
        crate::sql::ast::Statement::InsertValues {
            target,
            columns: named,
            values,
        },
        Some(engine),
    ) = (&parsed.statement, &engine)
        && let Some(source) = engine.catalog().source(target)
    {
        let targets: Vec<&crate::types::Column> = match named {
            Some(names) => names.iter().filter_map(|n| source.schema.find(n)).collect(),
            None => source.schema.columns().iter().collect(),
        };
        for (value, column) in values.iter().zip(targets) {
            if let datafusion::sql::sqlparser::ast::Expr::Value(v) = value
                && let datafusion::sql::sqlparser::ast::Value::SingleQuotedString(s) = &v.value
                && let Some(n) = s.strip_prefix("\u{1}weir_param_").and_then(|n| n.parse::<usize>().ok())
                && let Some(slot) = n.checked_sub(1).and_then(|i| param_oids.get_mut(i))
            {
                *slot = pg_types::pg_type_of(&column.ty.to_arrow()).0;
            }
        }
    }
    Kind::Weir {
        columns,
        params: param_oids,
    }
}

/// The result columns known without running the statement (or the connection).
fn static_columns(stmt: &Prepared) -> Option<Vec<PgColumn>> {
    match &stmt.0.kind {
        Kind::Pull(p) => Some(columns_of(&p.schema)),
        Kind::Push { columns } => Some(columns.clone()),
        Kind::Weir { columns, .. } => columns.clone(),
        Kind::Session => match &stmt.0.command {
            Command::Show { name } => Some(vec![PgColumn {
                name: crate::serve::settings::default_of(name)
                    .map(|(n, _)| n.to_ascii_lowercase())
                    .unwrap_or_else(|| name.to_ascii_lowercase()),
                oid: pg_types::TEXT,
                typmod: -1,
            }]),
            Command::ShowAll => Some(
                ["name", "setting", "description"]
                    .iter()
                    .map(|n| PgColumn {
                        name: n.to_string(),
                        oid: pg_types::TEXT,
                        typmod: -1,
                    })
                    .collect(),
            ),
            _ => None,
        },
    }
}

/// The result columns, asking the connection for a cursor's (`FETCH`).
fn columns_for(stmt: &Prepared, conn: &Connection) -> Option<Vec<PgColumn>> {
    match &stmt.0.command {
        Command::Fetch { name, skip: false, .. } => conn.cursor_columns(name),
        _ => static_columns(stmt),
    }
}

/// Result formats of a portal, checked against the column count.
fn result_formats(format: Option<&Format>, columns: usize) -> Result<Vec<FieldFormat>, PgError> {
    Ok(match format {
        None | Some(Format::UnifiedText) => vec![FieldFormat::Text; columns],
        Some(Format::UnifiedBinary) => vec![FieldFormat::Binary; columns],
        Some(Format::Individual(codes)) => {
            if codes.len() != columns {
                return Err(PgError::new(
                    PROTOCOL_VIOLATION,
                    format!(
                        "bind message has {} result formats but query has {columns} columns",
                        codes.len()
                    ),
                ));
            }
            codes.iter().map(|c| FieldFormat::from(*c)).collect()
        }
    })
}

/// Decodes a portal's parameters by the types the client declared, or the ones Weir described.
fn decode_params(portal: &Portal<Prepared>) -> Result<Vec<Param>, PgError> {
    let stmt = &portal.statement;
    let described = stmt.statement.parameter_oids();
    let needed = lexer::max_placeholder(&stmt.statement.0.tokens);
    params::check_count(portal.parameters.len(), needed)?;
    portal
        .parameters
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let declared = stmt
                .parameter_types
                .get(i)
                .and_then(|t| t.as_ref())
                .map(|t| t.oid())
                .filter(|oid| *oid != 0);
            let oid = declared.or_else(|| described.get(i).copied()).unwrap_or(pg_types::TEXT);
            let binary = match &portal.parameter_format {
                Format::UnifiedText => false,
                Format::UnifiedBinary => true,
                Format::Individual(codes) => match codes.get(i) {
                    Some(c) => *c == 1,
                    None => {
                        return Err(PgError::new(
                            PROTOCOL_VIOLATION,
                            format!(
                                "bind message has {} parameter formats for {} parameters",
                                codes.len(),
                                portal.parameters.len()
                            ),
                        ));
                    }
                },
            };
            params::decode(i + 1, value.as_deref(), oid, binary)
        })
        .collect()
}

#[async_trait]
impl ExtendedQueryHandler for QueryHandler {
    type Statement = Prepared;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn do_describe_statement<C>(
        &self,
        client: &mut C,
        target: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let conn = connection(client)?;
        let ours = target.statement.parameter_oids();
        let count = ours.len().max(target.parameter_types.len());
        let parameters = (0..count)
            .map(|i| {
                target
                    .parameter_types
                    .get(i)
                    .cloned()
                    .flatten()
                    .filter(|t| t.oid() != 0)
                    .unwrap_or_else(|| super::encode::pg_type(ours.get(i).copied().unwrap_or(pg_types::TEXT)))
            })
            .collect();
        let columns = columns_for(&target.statement, &conn).unwrap_or_default();
        let fields = field_infos(&columns, &vec![FieldFormat::Text; columns.len()]);
        Ok(DescribeStatementResponse::new(parameters, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let conn = connection(client)?;
        let columns = columns_for(&portal.statement.statement, &conn).unwrap_or_default();
        let formats = result_formats(Some(&portal.result_column_format), columns.len())?;
        Ok(DescribePortalResponse::new(field_infos(&columns, &formats)))
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.clone().unwrap_or_else(|| DEFAULT_NAME.to_string());
        let conn = connection(client)?;
        let max_rows = usize::try_from(message.max_rows).unwrap_or(0);
        if let Some(cursor) = conn.take_portal(&name) {
            return self.stream_portal(client, &conn, &name, cursor, max_rows).await;
        }
        let portal = match client.portal_store().get_portal(&name) {
            Some(Entry::Value(p)) if p.statement.statement.is_push() => p,
            _ => return self._on_execute(client, message).await,
        };
        if client.transaction_status() == TransactionStatus::Error {
            return Err(failed_transaction().into());
        }
        let params = decode_params(&portal)?;
        let runner = Runner {
            server: &self.server,
            conn: &conn,
        };
        let mut cancel = conn.listen_for_cancel();
        let stmt = &portal.statement.statement.0;
        match runner.weir(&stmt.text, &stmt.tokens, &params, &mut cancel).await? {
            Outcome::Push { cursor, .. } => self.stream_portal(client, &conn, &name, cursor, max_rows).await,
            _ => Err(PgError::internal("a push query did not start").into()),
        }
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // A cursor made with DECLARE is a portal too (psycopg describes its server-side cursors that way).
        if message.target_type == TARGET_TYPE_BYTE_PORTAL {
            let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
            if client.portal_store().get_portal(name).is_none()
                && let Some(columns) = connection(client)?.cursor_columns(name)
            {
                let fields = field_infos(&columns, &vec![FieldFormat::Text; columns.len()]);
                let description = RowDescription::new(fields.iter().map(Into::into).collect());
                client.send(PgWireBackendMessage::RowDescription(description)).await?;
                return Ok(());
            }
        }
        self._on_describe(client, message).await
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if message.target_type == TARGET_TYPE_BYTE_PORTAL
            && let Ok(conn) = connection(client)
        {
            conn.drop_portal(message.name.as_deref().unwrap_or(DEFAULT_NAME));
        }
        client
            .portal_store()
            .rm_portal(message.name.as_deref().unwrap_or(DEFAULT_NAME));
        if message.target_type != TARGET_TYPE_BYTE_PORTAL {
            client
                .portal_store()
                .rm_statement(message.name.as_deref().unwrap_or(DEFAULT_NAME));
        }
        client
            .send(PgWireBackendMessage::CloseComplete(
                pgwire::messages::extendedquery::CloseComplete::new(),
            ))
            .await?;
        Ok(())
    }

    async fn on_sync<C>(&self, client: &mut C, message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Ok(conn) = connection(client) {
            conn.drop_portal(DEFAULT_NAME);
        }
        // pgwire's own Sync: drop the unnamed portal, ReadyForQuery.
        client.portal_store().rm_portal(DEFAULT_NAME);
        let _ = message;
        client
            .send(PgWireBackendMessage::ReadyForQuery(
                pgwire::messages::response::ReadyForQuery::new(client.transaction_status()),
            ))
            .await?;
        client.flush().await?;
        Ok(())
    }

    async fn do_query<C>(&self, client: &mut C, portal: &Portal<Prepared>, _max_rows: usize) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let conn = connection(client)?;
        let stmt = &portal.statement.statement;
        if client.transaction_status() == TransactionStatus::Error && !allowed_when_failed(&stmt.0.command) {
            return Err(failed_transaction().into());
        }
        let runner = Runner {
            server: &self.server,
            conn: &conn,
        };
        let mut cancel = conn.listen_for_cancel();
        let outcome = match &stmt.0.kind {
            Kind::Pull(prepared) => {
                let params = decode_params(portal)?;
                let fresh;
                let prepared = if self.server.serving()?.is_current(prepared) {
                    prepared
                } else {
                    fresh = runner.prepare_pull(&stmt.0.text).await?;
                    &fresh
                };
                let scalars = params
                    .iter()
                    .enumerate()
                    .map(|(i, p)| p.to_scalar(prepared.param_types.get(i).and_then(|t| t.as_ref())))
                    .collect();
                runner.pull(prepared, scalars, &mut cancel).await?
            }
            Kind::Weir { .. } | Kind::Push { .. } => {
                let params = decode_params(portal)?;
                runner.weir(&stmt.0.text, &stmt.0.tokens, &params, &mut cancel).await?
            }
            Kind::Session => {
                runner
                    .run_text(
                        client,
                        &stmt.0.text,
                        &stmt.0.tokens,
                        stmt.0.command.clone(),
                        &mut cancel,
                    )
                    .await?
            }
        };
        Ok(match outcome {
            Outcome::Rows {
                columns,
                batches,
                tag,
                notices,
            } => {
                send_notices(client, notices).await?;
                let formats = result_formats(Some(&portal.result_column_format), columns.len())?;
                let mut rows = Vec::new();
                for b in &batches {
                    encode_batch(b, &columns, &formats, &mut rows)?;
                }
                let fields = Arc::new(field_infos(&columns, &formats));
                let mut response =
                    QueryResponse::new(fields, stream::iter(rows.into_iter().map(Ok::<DataRow, PgWireError>)));
                response.set_command_tag(tag);
                Response::Query(response)
            }
            Outcome::Command { tag, notices, reports } => {
                send_notices(client, notices).await?;
                for (name, value) in reports {
                    client
                        .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name, value)))
                        .await?;
                }
                Response::Execution(Tag::new(&tag))
            }
            Outcome::Transaction { tag, change } => match change {
                TxChange::Begin | TxChange::Recover => Response::TransactionStart(Tag::new(&tag)),
                TxChange::End => Response::TransactionEnd(Tag::new(&tag)),
                TxChange::None => Response::Execution(Tag::new(&tag)),
            },
            Outcome::Push { .. } => return Err(PgError::internal("a push query reached the row path").into()),
        })
    }
}

impl QueryHandler {
    /// Streams a push query into a portal: up to `max_rows` rows (0: until the query ends), then
    /// `PortalSuspended` (the query waits for the next `Execute`) or `CommandComplete`.
    async fn stream_portal<C>(
        &self,
        client: &mut C,
        conn: &Arc<Connection>,
        name: &str,
        mut cursor: Cursor,
        max_rows: usize,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let formats = match client.portal_store().get_portal(name) {
            Some(Entry::Value(p)) => result_formats(Some(&p.result_column_format), cursor.columns.len())?,
            _ => vec![FieldFormat::Text; cursor.columns.len()],
        };
        client.set_state(PgWireConnectionState::QueryInProgress);
        let mut cancel = conn.listen_for_cancel();
        let mut shutdown = self.server.shutdown_receiver();
        let limit = if max_rows == 0 { usize::MAX } else { max_rows };
        let mut sent = 0usize;
        let result: Result<bool, PgError> = async {
            while sent < limit {
                match cursor.next(limit - sent, &mut cancel, &mut shutdown).await? {
                    Step::Rows(batch) => {
                        let mut rows = Vec::new();
                        encode_batch(&batch, &cursor.columns, &formats, &mut rows)?;
                        sent += rows.len();
                        for row in rows {
                            client
                                .feed(PgWireBackendMessage::DataRow(row))
                                .await
                                .map_err(|e| PgError::internal(format!("{e:?}")))?;
                        }
                        client.flush().await.map_err(|e| PgError::internal(format!("{e:?}")))?;
                    }
                    Step::Idle => keepalive(client, conn).await?,
                    Step::End => return Ok(false),
                }
            }
            Ok(!cursor.is_exhausted())
        }
        .await;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        match result {
            Ok(true) => {
                conn.suspend_portal(name.to_string(), cursor);
                client
                    .send(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                    .await?;
            }
            Ok(false) => {
                let tag = Outcome::rows_tag("SELECT", sent);
                client
                    .send(PgWireBackendMessage::CommandComplete(CommandComplete::new(tag)))
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}

/// Sends notices (severity NOTICE) ahead of a statement's result.
pub async fn send_notices<C>(client: &mut C, notices: Vec<String>) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    for n in notices {
        let info = pgwire::error::ErrorInfo::new("NOTICE".into(), "00000".into(), n);
        client
            .feed(PgWireBackendMessage::NoticeResponse(NoticeResponse::from(info)))
            .await?;
    }
    Ok(())
}
