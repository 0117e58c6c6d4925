//! What a connection remembers between statements: its Weir properties (ksqlDB `SET 'p' = 'v'`), the run-time
//! parameters it set, its cursors, and the push queries of portals suspended by `Execute` with a row limit.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use parking_lot::Mutex;

use super::cancel::{CancelListener, CancelSignal, Registration};
use super::encode::PgColumn;
use super::errors::PgError;
use crate::engine::{Session, TransientHandle};
use crate::exec::{PushEnd, PushMessage};
use crate::serve::SessionInfo;

/// One connection's state, kept in pgwire's per-connection extensions.
pub struct Connection {
    pub user: String,
    pub database: String,
    pub pid: i32,
    pub cancel: Arc<CancelSignal>,
    inner: Mutex<Inner>,
    /// Unregisters the connection from cancel requests when the connection goes.
    _registration: Option<Registration>,
}

#[derive(Default)]
struct Inner {
    weir: Session,
    /// Parameters set with `SET`, by lower-case name: (name as reported, value).
    parameters: BTreeMap<String, (String, String)>,
    cursors: HashMap<String, Cursor>,
    portals: HashMap<String, Cursor>,
}

impl Connection {
    pub fn new(
        user: String,
        database: String,
        pid: i32,
        cancel: Arc<CancelSignal>,
        registration: Option<Registration>,
    ) -> Self {
        Connection {
            user,
            database,
            pid,
            cancel,
            inner: Mutex::new(Inner::default()),
            _registration: registration,
        }
    }

    /// A listener for the statement starting now.
    pub fn listen_for_cancel(&self) -> CancelListener {
        self.cancel.listen()
    }

    /// The Weir session (properties) for a statement; write it back with [`Connection::set_weir_session`].
    pub fn weir_session(&self) -> Session {
        self.inner.lock().weir.clone()
    }

    pub fn set_weir_session(&self, session: Session) {
        self.inner.lock().weir = session;
    }

    /// The value of a run-time parameter: what this connection set, or the default.
    pub fn parameter(&self, name: &str) -> Option<(String, String)> {
        if let Some(v) = self.inner.lock().parameters.get(&name.to_ascii_lowercase()) {
            return Some(v.clone());
        }
        match name.to_ascii_lowercase().as_str() {
            "session_authorization" => return Some(("session_authorization".into(), self.user.clone())),
            "application_name" => return Some(("application_name".into(), String::new())),
            _ => {}
        }
        crate::serve::settings::default_of(name).map(|(n, v)| (n.to_string(), v.to_string()))
    }

    /// Every parameter with its current value (`SHOW ALL`).
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut out: BTreeMap<String, (String, String)> = crate::serve::settings::DEFAULTS
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), (n.to_string(), v.to_string())))
            .collect();
        for (k, v) in self.inner.lock().parameters.iter() {
            out.insert(k.clone(), v.clone());
        }
        out.into_values().collect()
    }

    /// Sets (or, with `None`, resets) a parameter. Returns the name as reported to the client.
    pub fn set_parameter(&self, name: &str, value: Option<String>) -> String {
        let key = name.to_ascii_lowercase();
        let reported = crate::serve::settings::default_of(name)
            .map(|(n, _)| n.to_string())
            .unwrap_or_else(|| key.clone());
        let mut inner = self.inner.lock();
        match value {
            Some(v) => {
                inner.parameters.insert(key, (reported.clone(), v));
            }
            None => {
                inner.parameters.remove(&key);
            }
        }
        reported
    }

    /// Forgets every `SET` and closes every cursor (`DISCARD ALL`, `RESET ALL` resets parameters only).
    pub fn reset_parameters(&self) {
        self.inner.lock().parameters.clear();
    }

    /// What the catalog functions see of this connection.
    pub fn session_info(&self) -> SessionInfo {
        let settings = self
            .inner
            .lock()
            .parameters
            .iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect();
        SessionInfo {
            user: self.user.clone(),
            database: self.database.clone(),
            pid: self.pid,
            settings,
        }
    }

    pub fn has_cursor(&self, name: &str) -> bool {
        self.inner.lock().cursors.contains_key(name)
    }

    pub fn add_cursor(&self, name: String, cursor: Cursor) {
        self.inner.lock().cursors.insert(name, cursor);
    }

    /// Takes a cursor out while a `FETCH` runs (put it back with [`Connection::add_cursor`]).
    pub fn take_cursor(&self, name: &str) -> Option<Cursor> {
        self.inner.lock().cursors.remove(name)
    }

    /// Closes one cursor (`None`: all). Returns whether it existed.
    pub fn close_cursor(&self, name: Option<&str>) -> bool {
        let mut inner = self.inner.lock();
        match name {
            Some(n) => inner.cursors.remove(n).is_some(),
            None => {
                inner.cursors.clear();
                true
            }
        }
    }

    /// The columns of a cursor, for describing a `FETCH`.
    pub fn cursor_columns(&self, name: &str) -> Option<Vec<PgColumn>> {
        self.inner.lock().cursors.get(name).map(|c| c.columns.clone())
    }

    /// Keeps a push query whose portal was suspended by an `Execute` row limit.
    pub fn suspend_portal(&self, portal: String, cursor: Cursor) {
        self.inner.lock().portals.insert(portal, cursor);
    }

    pub fn take_portal(&self, portal: &str) -> Option<Cursor> {
        self.inner.lock().portals.remove(portal)
    }

    /// Drops a suspended portal's push query (`Close` of the portal, `Sync` of the unnamed one).
    pub fn drop_portal(&self, portal: &str) {
        self.inner.lock().portals.remove(portal);
    }
}

/// Rows a cursor (or a suspended portal) hands out in pieces.
pub struct Cursor {
    pub columns: Vec<PgColumn>,
    pending: VecDeque<RecordBatch>,
    /// The push query feeding it; `None` for a pull query's rows (all in `pending`).
    push: Option<TransientHandle>,
    done: bool,
}

impl Cursor {
    /// A cursor over a pull query's result.
    pub fn rows(columns: Vec<PgColumn>, batches: Vec<RecordBatch>) -> Self {
        Cursor {
            columns,
            pending: batches.into_iter().filter(|b| b.num_rows() > 0).collect(),
            push: None,
            done: true,
        }
    }

    /// A cursor over a running push query.
    pub fn push(columns: Vec<PgColumn>, handle: TransientHandle) -> Self {
        Cursor {
            columns,
            pending: VecDeque::new(),
            push: Some(handle),
            done: false,
        }
    }

    /// Whether every row has been handed out.
    pub fn is_exhausted(&self) -> bool {
        self.done && self.pending.is_empty()
    }

    /// The next rows (at most `max`, at least one), waiting for a push query to produce them. Returns
    /// [`Step::Idle`] when nothing arrived for [`super::KEEPALIVE`] (so the caller can check the client is still
    /// there) and [`Step::End`] once the cursor is exhausted. A cancel request or the server shutting down ends the
    /// wait with that error.
    pub async fn next(
        &mut self,
        max: usize,
        cancel: &mut CancelListener,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<Step, PgError> {
        let max = max.max(1);
        loop {
            if let Some(batch) = self.pending.pop_front() {
                if batch.num_rows() > max {
                    self.pending.push_front(batch.slice(max, batch.num_rows() - max));
                    return Ok(Step::Rows(batch.slice(0, max)));
                }
                return Ok(Step::Rows(batch));
            }
            if self.done {
                // Stop the query thread as soon as its last rows are out.
                self.push = None;
                return Ok(Step::End);
            }
            let Some(handle) = self.push.as_mut() else {
                self.done = true;
                continue;
            };
            tokio::select! {
                message = handle.rows.recv() => match message {
                    Some(PushMessage::Rows(batch)) => {
                        if batch.num_rows() > 0 {
                            self.pending.push_back(batch);
                        }
                    }
                    Some(PushMessage::End(PushEnd::Error(e))) => {
                        self.done = true;
                        self.push = None;
                        return Err(PgError::new(super::errors::DATA_EXCEPTION, e));
                    }
                    Some(PushMessage::End(_)) | None => self.done = true,
                },
                _ = cancel.cancelled() => return Err(PgError::canceled()),
                _ = wait_true(shutdown) => return Err(PgError::shutting_down()),
                _ = tokio::time::sleep(super::KEEPALIVE) => return Ok(Step::Idle),
            }
        }
    }
}

/// What [`Cursor::next`] found.
pub enum Step {
    Rows(RecordBatch),
    /// Nothing for a while; call again.
    Idle,
    End,
}

/// Resolves once the flag is true (never if the sender is gone without setting it).
pub async fn wait_true(rx: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *rx.borrow_and_update() {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
