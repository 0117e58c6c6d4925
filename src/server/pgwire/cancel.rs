//! Cancel requests (psql's Ctrl-C): a client opens a second connection and sends its backend key; the statement
//! running on the first connection stops with `57014 canceling statement due to user request`.
//!
//! Every connection registers a [`CancelSignal`] under its (pid, secret key). A statement takes a
//! [`CancelListener`] when it starts; a cancel request bumps the connection's generation, which wakes exactly the
//! statements started before it (a cancel that arrives while nothing runs is ignored, as in Postgres).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use tokio::sync::watch;

/// The cancel side of one connection.
#[derive(Debug)]
pub struct CancelSignal {
    generation: watch::Sender<u64>,
}

impl CancelSignal {
    fn new() -> Self {
        CancelSignal {
            generation: watch::channel(0).0,
        }
    }

    /// Cancels the statements running now.
    pub fn cancel(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// A listener for the statement starting now.
    pub fn listen(&self) -> CancelListener {
        let mut rx = self.generation.subscribe();
        rx.borrow_and_update();
        CancelListener { rx }
    }
}

/// Resolves when the statement it was taken for is cancelled.
pub struct CancelListener {
    rx: watch::Receiver<u64>,
}

impl CancelListener {
    /// Waits for a cancel request (forever if the connection's signal is gone without one).
    pub async fn cancelled(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Whether a cancel request arrived since the listener was taken.
    pub fn is_cancelled(&self) -> bool {
        self.rx.has_changed().unwrap_or(false)
    }
}

type Key = (i32, Bytes);

/// Open connections by backend key.
#[derive(Debug, Default)]
pub struct CancelRegistry {
    connections: Mutex<HashMap<Key, Arc<CancelSignal>>>,
}

impl CancelRegistry {
    /// Registers a connection; it stays registered until the returned guard is dropped.
    pub fn register(self: &Arc<Self>, pid: i32, secret: &SecretKey) -> (Arc<CancelSignal>, Registration) {
        let key = (pid, secret.to_bytes());
        let signal = Arc::new(CancelSignal::new());
        self.connections.lock().insert(key.clone(), signal.clone());
        (
            signal,
            Registration {
                key,
                registry: self.clone(),
            },
        )
    }

    fn cancel(&self, pid: i32, secret: &SecretKey) -> bool {
        let key = (pid, secret.to_bytes());
        match self.connections.lock().get(&key) {
            Some(signal) => {
                signal.cancel();
                true
            }
            None => false,
        }
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.connections.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Unregisters its connection when dropped (with the connection).
pub struct Registration {
    key: Key,
    registry: Arc<CancelRegistry>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.connections.lock().remove(&self.key);
    }
}

/// pgwire's hook for cancel requests.
pub struct Canceller {
    pub registry: Arc<CancelRegistry>,
}

#[async_trait]
impl CancelHandler for Canceller {
    async fn on_cancel_request(&self, request: CancelRequest) {
        if self.registry.cancel(request.pid, &request.secret_key) {
            tracing::debug!(pid = request.pid, "cancel request");
        } else {
            tracing::debug!(pid = request.pid, "cancel request for an unknown connection ignored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_cancel_wakes_running_statements_only() {
        let registry = Arc::new(CancelRegistry::default());
        let key = SecretKey::I32(7);
        let (signal, guard) = registry.register(1, &key);
        // A cancel while idle is ignored by the next statement.
        assert!(registry.cancel(1, &key));
        let mut listener = signal.listen();
        assert!(!listener.is_cancelled());
        assert!(registry.cancel(1, &key));
        assert!(listener.is_cancelled());
        listener.cancelled().await;
        drop(guard);
        assert!(!registry.cancel(1, &key));
        assert!(registry.is_empty());
    }
}
