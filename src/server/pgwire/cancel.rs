//! Cancel requests (psql's Ctrl-C): a client opens a second connection and sends its backend key; the statement
//! running on the first connection stops with `57014 canceling statement due to user request`.
//!
//! Every connection registers a [`CancelSignal`] under its (pid, secret key). A statement takes a
//! [`CancelListener`] when it starts; a cancel request bumps the connection's generation, which wakes exactly the
//! statements started before it.
//!
//! Clients send a cancel only while they believe a statement runs, but the request travels on its own connection
//! and can overtake the statement's bytes (psql's Ctrl-C between two `FETCH`es of a paged push query). So a cancel
//! that finds nothing running is kept for [`EARLY_CANCEL_WINDOW`] and cancels a statement that starts within it;
//! an older one is ignored, as Postgres ignores a cancel that arrives while idle.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use parking_lot::Mutex;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use tokio::sync::watch;

/// How long a cancel that found no statement running still applies to the next statement.
pub const EARLY_CANCEL_WINDOW: Duration = Duration::from_secs(1);

/// The cancel side of one connection.
#[derive(Debug)]
pub struct CancelSignal {
    generation: watch::Sender<u64>,
    /// Statements listening now.
    running: Arc<AtomicUsize>,
    /// When a cancel arrived with nothing running, not yet claimed by a statement.
    early: Mutex<Option<Instant>>,
    window: Duration,
}

impl CancelSignal {
    fn new(window: Duration) -> Self {
        CancelSignal {
            generation: watch::channel(0).0,
            running: Arc::new(AtomicUsize::new(0)),
            early: Mutex::new(None),
            window,
        }
    }

    /// Cancels the statements running now, or (with none running) the next one to start soon.
    pub fn cancel(&self) {
        if self.running.load(Ordering::SeqCst) == 0 {
            *self.early.lock() = Some(Instant::now());
        }
        self.generation.send_modify(|g| *g += 1);
    }

    /// A listener for the statement starting now.
    pub fn listen(&self) -> CancelListener {
        let mut rx = self.generation.subscribe();
        rx.borrow_and_update();
        let early = self.early.lock().take().is_some_and(|at| at.elapsed() <= self.window);
        self.running.fetch_add(1, Ordering::SeqCst);
        CancelListener {
            rx,
            early,
            running: self.running.clone(),
        }
    }
}

/// Resolves when the statement it was taken for is cancelled.
pub struct CancelListener {
    rx: watch::Receiver<u64>,
    /// A cancel overtook the statement: it counts as cancelled from the start.
    early: bool,
    running: Arc<AtomicUsize>,
}

impl CancelListener {
    /// Waits for a cancel request (forever if the connection's signal is gone without one).
    pub async fn cancelled(&mut self) {
        if self.early {
            return;
        }
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Whether a cancel request arrived since the listener was taken.
    pub fn is_cancelled(&self) -> bool {
        self.early || self.rx.has_changed().unwrap_or(false)
    }
}

impl Drop for CancelListener {
    fn drop(&mut self) {
        self.running.fetch_sub(1, Ordering::SeqCst);
    }
}

type Key = (i32, Bytes);

/// Open connections by backend key.
#[derive(Debug, Default)]
pub struct CancelRegistry {
    connections: Mutex<HashMap<Key, Arc<CancelSignal>>>,
    /// [`EARLY_CANCEL_WINDOW`], shorter in tests.
    early_window: Option<Duration>,
}

impl CancelRegistry {
    /// Registers a connection; it stays registered until the returned guard is dropped.
    pub fn register(self: &Arc<Self>, pid: i32, secret: &SecretKey) -> (Arc<CancelSignal>, Registration) {
        let key = (pid, secret.to_bytes());
        let signal = Arc::new(CancelSignal::new(self.early_window.unwrap_or(EARLY_CANCEL_WINDOW)));
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
    async fn a_cancel_wakes_running_statements_and_one_it_overtook() {
        let registry = Arc::new(CancelRegistry {
            early_window: Some(Duration::from_millis(100)),
            ..CancelRegistry::default()
        });
        let key = SecretKey::I32(7);
        let (signal, guard) = registry.register(1, &key);
        // A cancel while idle applies to a statement that starts right after (its bytes were overtaken)...
        assert!(registry.cancel(1, &key));
        let early = signal.listen();
        assert!(early.is_cancelled());
        drop(early);
        // ...once, and not to a statement that starts long after.
        assert!(!signal.listen().is_cancelled());
        assert!(registry.cancel(1, &key));
        std::thread::sleep(Duration::from_millis(150));
        let mut listener = signal.listen();
        assert!(!listener.is_cancelled());
        // A cancel while it runs wakes it.
        assert!(registry.cancel(1, &key));
        assert!(listener.is_cancelled());
        listener.cancelled().await;
        drop(listener);
        drop(guard);
        assert!(!registry.cancel(1, &key));
        assert!(registry.is_empty());
    }
}
