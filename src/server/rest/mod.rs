//! The ksqlDB-compatible REST API (axum).

mod entities;
mod errors;
mod inserts;
mod ksql;
mod migrations;
mod query;
mod rows;
mod status;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use parking_lot::RwLock;
use serde_json::json;
use tokio::sync::watch;

use crate::config::Config;
use crate::engine::Engine;
use crate::serve::Serving;

pub use errors::ApiError;

/// Shared state of the REST handlers. The engine arrives once the catalog has been replayed.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    engine: RwLock<Option<Arc<Engine>>>,
    /// Full SQL pull queries, planned by DataFusion (one planning session shared until the catalog changes).
    serving: RwLock<Option<Arc<Serving>>>,
    stop: watch::Sender<bool>,
}

impl AppState {
    pub fn new(config: Config) -> Self {
        let (stop, _) = watch::channel(false);
        AppState {
            inner: Arc::new(Inner {
                config,
                engine: RwLock::new(None),
                serving: RwLock::new(None),
                stop,
            }),
        }
    }

    pub fn set_engine(&self, engine: Arc<Engine>) {
        *self.inner.serving.write() = Some(Arc::new(Serving::new(engine.clone())));
        *self.inner.engine.write() = Some(engine);
    }

    /// The engine, or "server initializing" while the catalog is still being replayed.
    pub fn engine(&self) -> Result<Arc<Engine>, ApiError> {
        self.inner.engine.read().clone().ok_or_else(ApiError::initializing)
    }

    /// The pull-query planner over the engine, or "server initializing".
    pub fn serving(&self) -> Result<Arc<Serving>, ApiError> {
        self.inner.serving.read().clone().ok_or_else(ApiError::initializing)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Asks every open response and the listener to finish.
    pub fn stop(&self) {
        let _ = self.inner.stop.send(true);
    }

    /// Resolves when [`AppState::stop`] is called.
    pub fn shutdown_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.inner.stop.subscribe();
        async move {
            while !*rx.borrow() {
                if rx.changed().await.is_err() {
                    break;
                }
            }
        }
    }
}

/// All routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/info", get(info))
        .route("/healthcheck", get(healthcheck))
        .route("/ksql", post(ksql::handle))
        .route("/query", post(query::query))
        .route("/query-stream", post(query::query_stream))
        .route("/close-query", post(query::close_query))
        .route("/inserts-stream", post(inserts::inserts_stream))
        .route("/migrations", get(migrations::history).post(migrations::apply))
        .route("/status", get(status::all))
        .route("/status/{kind}/{entity}/{action}", get(status::one))
        .route("/is_valid_property/{name}", get(status::is_valid_property))
        .with_state(state)
}

async fn info(State(state): State<AppState>) -> Json<serde_json::Value> {
    let status = if state.engine().is_ok() {
        "RUNNING"
    } else {
        "INITIALIZING"
    };
    let topics =
        state
            .engine()
            .map(|e| e.topics().kind())
            .unwrap_or(if state.config().kafka.bootstrap_servers.is_empty() {
                "embedded"
            } else {
                "kafka"
            });
    Json(json!({
        "KsqlServerInfo": {
            "version": env!("CARGO_PKG_VERSION"),
            "kafkaClusterId": if topics == "embedded" { "weir-embedded" } else { "kafka" },
            "ksqlServiceId": state.config().server.service_id,
            "serverStatus": status,
            "topicStore": topics,
        }
    }))
}

/// Ready once the catalog is replayed, and healthy while the topic store answers (for Kafka: the cluster
/// answers a metadata request within a few seconds). 503 otherwise, as ksqlDB.
async fn healthcheck(State(state): State<AppState>) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    let engine = state.engine().ok();
    let ready = engine.is_some();
    let topics = match engine {
        Some(engine) => tokio::task::spawn_blocking(move || engine.topics().healthy())
            .await
            .unwrap_or_else(|e| Err(crate::topics::TopicError::Kafka(e.to_string()))),
        None => Ok(()),
    };
    let kafka_healthy = ready && topics.is_ok();
    let healthy = ready && kafka_healthy;
    let code = if healthy {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    let mut kafka = json!({"isHealthy": kafka_healthy});
    if let Err(e) = &topics {
        kafka["error"] = json!(e.to_string());
    }
    (
        code,
        Json(json!({
            "isHealthy": healthy,
            "details": {
                "metastore": {"isHealthy": ready},
                "kafka": kafka,
                "commandRunner": {"isHealthy": ready},
            },
            "serverState": if ready { "READY" } else { "INITIALIZING" },
        })),
    )
}
