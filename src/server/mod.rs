//! The server: starts the engine and the protocol listeners, and shuts them down cleanly on SIGINT/SIGTERM.
//!
//! Protocol code lives here and only here; it converts requests into engine calls and engine results into
//! protocol responses (DESIGN.md §2: no engine logic in server code).

pub mod pgwire;
pub mod rest;

use std::path::Path;
use std::sync::Arc;

use crate::config::Config;
use crate::engine::{Engine, EngineOptions};

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot start the engine: {0}")]
    Engine(#[from] crate::engine::EngineError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot start the Postgres listener: {0}")]
    Pgwire(#[from] self::pgwire::PgServeError),
    #[error("cannot apply migrations at startup: {0}")]
    Migration(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Initializes logging from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sled=warn"));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// `weir serve`: runs until SIGINT or SIGTERM.
pub fn run(config_path: Option<&Path>) -> Result<(), ServerError> {
    init_tracing();
    let config = Config::load(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> Result<(), ServerError> {
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        data_dir = %config.storage.data_dir.display(),
        "starting Weir"
    );
    let rest_addr = config.server.rest_listen.clone();
    let listener = tokio::net::TcpListener::bind(&rest_addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: rest_addr.clone(),
            source,
        })?;
    let state = rest::AppState::new(config.clone());
    let app = rest::router(state.clone());
    let shutdown = state.shutdown_signal();
    tracing::info!("REST API listening on http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(shutdown).await });

    // Postgres clients connect right away too; until the engine is ready they are told the server is starting.
    let pg = self::pgwire::PgServer::new();
    let pg_task = match start_pgwire(&config, pg.clone()).await {
        Ok(task) => task,
        Err(e) => {
            state.stop();
            let _ = server.await;
            return Err(e);
        }
    };

    // The catalog replay can take a while; the REST API answers /healthcheck with "not ready" meanwhile.
    let engine_config = config.clone();
    let opened = tokio::task::spawn_blocking(move || {
        Engine::open(EngineOptions {
            config: engine_config,
            synchronous: false,
            fixed_clock: false,
        })
    })
    .await
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    let engine: Arc<Engine> = match opened {
        Ok(e) => e,
        Err(e) => {
            state.stop();
            pg.stop();
            let _ = pg_task.await;
            return Err(e.into());
        }
    };
    tracing::info!(
        topics = engine.topics().kind(),
        streams = engine.catalog().sources().count(),
        queries = engine.catalog().queries().count(),
        "engine ready"
    );
    if config.migrations.apply_on_start {
        let dir = config.migrations.dir.clone();
        let migrating = engine.clone();
        let outcome = tokio::task::spawn_blocking(move || -> Result<crate::engine::MigrationReport, String> {
            let files = crate::migrations::scan_dir(&dir).map_err(|e| e.to_string())?;
            migrating.apply_migrations(&files).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
        match outcome {
            Ok(report) => tracing::info!(applied = ?report.applied, "migrations applied at startup"),
            Err(e) => {
                state.stop();
                pg.stop();
                let _ = server.await;
                let _ = pg_task.await;
                engine.shutdown();
                return Err(ServerError::Migration(e));
            }
        }
    }
    state.set_engine(engine.clone());
    pg.set_engine(engine.clone());

    wait_for_signal().await;
    tracing::info!("shutting down");
    state.stop();
    pg.stop();
    let _ = server.await;
    let _ = pg_task.await;
    tokio::task::spawn_blocking(move || engine.shutdown())
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    tracing::info!("stopped");
    Ok(())
}

/// Binds `server.pg_listen` (with TLS when configured) and serves Postgres clients on a task.
async fn start_pgwire(
    config: &Config,
    pg: Arc<self::pgwire::PgServer>,
) -> Result<tokio::task::JoinHandle<()>, ServerError> {
    let tls = self::pgwire::tls_acceptor(config)?;
    let addr = config.server.pg_listen.clone();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    tracing::info!(
        tls = tls.is_some(),
        "Postgres wire protocol listening on {}",
        listener.local_addr()?
    );
    let config = config.clone();
    Ok(tokio::spawn(async move {
        self::pgwire::serve(listener, tls, pg, &config).await;
    }))
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
