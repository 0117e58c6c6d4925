//! The simple query protocol: one message with any number of statements, run in order until one fails. Results go
//! out as soon as each statement finishes; a push query's rows go out (and are flushed) as they come, until its
//! `LIMIT`, a cancel request, the client going away, or the server shutting down.

use std::fmt::Debug;

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::query::SimpleQueryHandler;
use pgwire::api::results::{FieldFormat, Response};
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::RowDescription;
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse, ReadyForQuery, TransactionStatus};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::ParameterStatus;

use super::command::classify;
use super::encode::{PgColumn, encode_batch, field_infos};
use super::errors::{PgError, SYNTAX_ERROR};
use super::exec::{Outcome, Runner, TxChange, keepalive};
use super::extended::{QueryHandler, allowed_when_failed, connection, failed_transaction, send_notices};
use super::lexer;
use super::session::{Connection, Cursor, Step};

#[async_trait]
impl SimpleQueryHandler for QueryHandler {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let status = self.run_simple(client, &query.query).await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status)))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // `on_query` runs statements itself, so that results stream and cancel requests reach them.
        Err(PgError::internal("simple queries are handled by on_query").into())
    }
}

impl QueryHandler {
    /// Runs every statement of a simple query; returns the transaction status to report. Errors are sent to the
    /// client here; only a failure to write to the client is returned.
    async fn run_simple<C>(&self, client: &mut C, sql: &str) -> PgWireResult<TransactionStatus>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut status = client.transaction_status();
        let conn = match connection(client) {
            Ok(c) => c,
            Err(e) => return fail(client, e, status).await,
        };
        let statements = match lexer::split_statements(sql) {
            Ok(s) => s,
            Err(e) => return fail(client, PgError::new(SYNTAX_ERROR, e.to_string()), status).await,
        };
        if statements.is_empty() {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()))
                .await?;
            return Ok(status);
        }
        for (text, tokens) in statements {
            let command = match classify(&text, &tokens) {
                Ok(c) => c,
                Err(e) => return fail(client, e, status).await,
            };
            if status == TransactionStatus::Error && !allowed_when_failed(&command) {
                return fail(client, failed_transaction(), status).await;
            }
            let mut cancel = conn.listen_for_cancel();
            let runner = Runner {
                server: &self.server,
                conn: &conn,
            };
            let outcome = match runner.run_text(client, &text, &tokens, command, &mut cancel).await {
                Ok(o) => o,
                Err(e) => return fail(client, e, status).await,
            };
            match self.send_outcome(client, &conn, outcome, &mut cancel, status).await? {
                Ok(new_status) => status = new_status,
                Err(e) => return fail(client, e, status).await,
            }
        }
        Ok(status)
    }

    /// Sends one statement's result. The outer error is a failure to write; the inner one a statement error
    /// (a push query cancelled or failing mid-stream) to report to the client.
    async fn send_outcome<C>(
        &self,
        client: &mut C,
        conn: &Connection,
        outcome: Outcome,
        cancel: &mut super::cancel::CancelListener,
        status: TransactionStatus,
    ) -> PgWireResult<Result<TransactionStatus, PgError>>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match outcome {
            Outcome::Rows {
                columns,
                batches,
                tag,
                notices,
            } => {
                send_notices(client, notices).await?;
                let formats = vec![FieldFormat::Text; columns.len()];
                describe(client, &columns, &formats).await?;
                let mut rows = Vec::new();
                for b in &batches {
                    if let Err(e) = encode_batch(b, &columns, &formats, &mut rows) {
                        return Ok(Err(e));
                    }
                }
                let n = rows.len();
                for row in rows {
                    client.feed(PgWireBackendMessage::DataRow(row)).await?;
                }
                complete(client, &Outcome::rows_tag(tag, n)).await?;
                Ok(Ok(status))
            }
            Outcome::Command { tag, notices, reports } => {
                send_notices(client, notices).await?;
                complete(client, &tag).await?;
                for (name, value) in reports {
                    client
                        .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name, value)))
                        .await?;
                }
                Ok(Ok(status))
            }
            Outcome::Transaction { tag, change } => {
                let (tag, status) = match change {
                    TxChange::Begin => {
                        if status != TransactionStatus::Idle {
                            send_notices(client, vec!["there is already a transaction in progress".into()]).await?;
                        }
                        (tag, TransactionStatus::Transaction)
                    }
                    // COMMIT of a failed transaction rolls it back, and says so.
                    TxChange::End if status == TransactionStatus::Error => {
                        ("ROLLBACK".to_string(), TransactionStatus::Idle)
                    }
                    TxChange::End => (tag, TransactionStatus::Idle),
                    TxChange::Recover => (tag, TransactionStatus::Transaction),
                    TxChange::None => (tag, status),
                };
                complete(client, &tag).await?;
                Ok(Ok(status))
            }
            Outcome::Push { columns, cursor } => self.stream_push(client, conn, columns, cursor, cancel, status).await,
        }
    }

    /// Streams a push query's rows as they come, flushing after each batch.
    async fn stream_push<C>(
        &self,
        client: &mut C,
        conn: &Connection,
        columns: Vec<PgColumn>,
        mut cursor: Cursor,
        cancel: &mut super::cancel::CancelListener,
        status: TransactionStatus,
    ) -> PgWireResult<Result<TransactionStatus, PgError>>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let formats = vec![FieldFormat::Text; columns.len()];
        describe(client, &columns, &formats).await?;
        client.flush().await?;
        let mut shutdown = self.server.shutdown_receiver();
        let mut sent = 0usize;
        loop {
            match cursor.next(usize::MAX, cancel, &mut shutdown).await {
                Ok(Step::Rows(batch)) => {
                    let mut rows = Vec::new();
                    if let Err(e) = encode_batch(&batch, &columns, &formats, &mut rows) {
                        return Ok(Err(e));
                    }
                    sent += rows.len();
                    for row in rows {
                        client.feed(PgWireBackendMessage::DataRow(row)).await?;
                    }
                    client.flush().await?;
                }
                Ok(Step::Idle) => {
                    if let Err(e) = keepalive(client, conn).await {
                        return Ok(Err(e));
                    }
                }
                Ok(Step::End) => break,
                Err(e) => return Ok(Err(e)),
            }
        }
        complete(client, &Outcome::rows_tag("SELECT", sent)).await?;
        Ok(Ok(status))
    }
}

async fn describe<C>(client: &mut C, columns: &[PgColumn], formats: &[FieldFormat]) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let fields = field_infos(columns, formats);
    let description = RowDescription::new(fields.iter().map(Into::into).collect());
    client.feed(PgWireBackendMessage::RowDescription(description)).await?;
    Ok(())
}

async fn complete<C>(client: &mut C, tag: &str) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    client
        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
            tag.to_string(),
        )))
        .await?;
    Ok(())
}

/// Reports a statement error; the rest of the query is skipped and an open transaction fails.
async fn fail<C>(client: &mut C, error: PgError, status: TransactionStatus) -> PgWireResult<TransactionStatus>
where
    C: Sink<PgWireBackendMessage> + Unpin,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if error.fatal {
        // The connection ends: pgwire reports the error and closes the socket.
        return Err(error.into());
    }
    client
        .feed(PgWireBackendMessage::ErrorResponse(error.into_info().into()))
        .await?;
    Ok(match status {
        TransactionStatus::Idle => TransactionStatus::Idle,
        _ => TransactionStatus::Error,
    })
}
