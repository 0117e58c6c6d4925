//! The Postgres wire protocol server (pgwire): psql, drivers (psycopg, asyncpg, JDBC, ...) and dashboards run
//! every Weir statement, pull queries over streams and tables, and push queries, over a Postgres connection.
//!
//! A statement's way through: [`lexer`] splits a simple query into statements, [`command`] classifies each one,
//! [`exec`] runs it (Weir statements through the engine, pull queries through [`crate::serve`], push queries as
//! transient queries, session commands against [`session::Connection`]), and [`encode`] writes the rows in the
//! text or binary format each column was asked in. [`simple`] and [`extended`] are the two query protocols;
//! [`auth`] the startup phase; [`cancel`] the cancel requests; [`errors`] maps every failure to a SQLSTATE.

pub mod auth;
pub mod cancel;
pub mod command;
pub mod encode;
pub mod errors;
pub mod exec;
pub mod extended;
pub mod lexer;
pub mod params;
pub mod results;
pub mod session;
pub mod simple;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use pgwire::api::PgWireServerHandlers;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::engine::Engine;
use crate::serve::Serving;
use cancel::{CancelRegistry, Canceller};
use errors::{CANNOT_CONNECT_NOW, PgError};

/// How long a push query waits without rows before checking that its client is still connected.
pub const KEEPALIVE: Duration = Duration::from_secs(2);

/// State shared by every connection.
pub struct PgServer {
    engine: RwLock<Option<Arc<Engine>>>,
    serving: RwLock<Option<Arc<Serving>>>,
    pub cancels: Arc<CancelRegistry>,
    stop: watch::Sender<bool>,
}

impl PgServer {
    pub fn new() -> Arc<Self> {
        Arc::new(PgServer {
            engine: RwLock::new(None),
            serving: RwLock::new(None),
            cancels: Arc::default(),
            stop: watch::channel(false).0,
        })
    }

    /// Makes the engine available once its catalog is replayed; until then clients are told the server is starting.
    pub fn set_engine(&self, engine: Arc<Engine>) {
        *self.serving.write() = Some(Arc::new(Serving::new(engine.clone())));
        *self.engine.write() = Some(engine);
    }

    pub fn engine(&self) -> Result<Arc<Engine>, PgError> {
        self.engine
            .read()
            .clone()
            .ok_or_else(|| PgError::new(CANNOT_CONNECT_NOW, "the database system is starting up"))
    }

    pub fn serving(&self) -> Result<Arc<Serving>, PgError> {
        self.serving
            .read()
            .clone()
            .ok_or_else(|| PgError::new(CANNOT_CONNECT_NOW, "the database system is starting up"))
    }

    /// Ends running push queries and stops accepting connections.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    pub fn shutdown_receiver(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }
}

/// pgwire's handler set for one server.
pub struct Handlers {
    startup: Arc<auth::Startup>,
    query: Arc<extended::QueryHandler>,
    canceller: Arc<Canceller>,
}

impl Handlers {
    pub fn new(server: Arc<PgServer>, config: &Config) -> Self {
        Handlers {
            startup: Arc::new(auth::Startup::new(server.clone(), &config.pgwire)),
            query: Arc::new(extended::QueryHandler::new(server.clone())),
            canceller: Arc::new(Canceller {
                registry: server.cancels.clone(),
            }),
        }
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl pgwire::api::query::SimpleQueryHandler> {
        self.query.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl pgwire::api::query::ExtendedQueryHandler> {
        self.query.clone()
    }

    fn startup_handler(&self) -> Arc<impl pgwire::api::auth::StartupHandler> {
        self.startup.clone()
    }

    fn cancel_handler(&self) -> Arc<impl pgwire::api::cancel::CancelHandler> {
        self.canceller.clone()
    }
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum PgServeError {
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// The TLS acceptor the configuration asks for, if any (checked at startup, before anything listens).
pub fn tls_acceptor(config: &Config) -> Result<Option<pgwire::tokio::TlsAcceptor>, PgServeError> {
    Ok(match (&config.pgwire.tls_cert, &config.pgwire.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    })
}

/// Accepts connections on `listener` until [`PgServer::stop`], serving each on its own task. Connections still
/// open at the stop are dropped (their push queries have already ended with `57P01`).
pub async fn serve(
    listener: TcpListener,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    server: Arc<PgServer>,
    config: &Config,
) {
    if config.pgwire.users.is_empty() {
        tracing::warn!(
            "Postgres wire protocol: no [pgwire] users configured, so any client connects without a password (trust)"
        );
    }
    let handlers = Arc::new(Handlers::new(server.clone(), config));
    let mut stop = server.shutdown_receiver();
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    let handlers = handlers.clone();
                    let tls = tls.clone();
                    connections.spawn(async move {
                        if let Err(e) = pgwire::tokio::process_socket(socket, tls, handlers).await {
                            tracing::debug!(%peer, "Postgres connection ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("Postgres listener: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = session::wait_true(&mut stop) => break,
        }
    }
    // Give running statements a moment to send their shutdown error, then drop what is left.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}
