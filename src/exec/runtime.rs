//! Drivers for query tasks: one thread per persistent query for the server, or a synchronous driver that runs
//! every task until no input is left (tests and the case runner, where each input must be fully processed before
//! the next one is fed).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use super::ExecError;
use super::task::{QueryStats, QueryTask};

/// What a running query is doing, for `SHOW QUERIES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    Running,
    /// Stopped on an error it cannot route to the dead letters; the message says why.
    Error(String),
}

struct ThreadedQuery {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    status: Arc<Mutex<QueryStatus>>,
    stats: Arc<QueryStats>,
}

enum Mode {
    Threaded(BTreeMap<String, ThreadedQuery>),
    /// Tasks kept in creation order and stepped by [`QueryRuntime::run_until_idle`].
    Synchronous(Vec<(QueryTask, Arc<Mutex<QueryStatus>>)>),
}

/// The set of running persistent queries.
pub struct QueryRuntime {
    mode: Mutex<Mode>,
}

impl QueryRuntime {
    /// Each query runs on its own thread.
    pub fn threaded() -> Self {
        QueryRuntime {
            mode: Mutex::new(Mode::Threaded(BTreeMap::new())),
        }
    }

    /// Queries run only inside [`QueryRuntime::run_until_idle`].
    pub fn synchronous() -> Self {
        QueryRuntime {
            mode: Mutex::new(Mode::Synchronous(Vec::new())),
        }
    }

    /// Whether queries run only inside [`QueryRuntime::run_until_idle`].
    pub fn is_synchronous(&self) -> bool {
        matches!(&*self.mode.lock(), Mode::Synchronous(_))
    }

    /// Starts running `task`.
    pub fn start(&self, task: QueryTask) {
        let id = task.id().to_string();
        let stats = task.stats().clone();
        let status = Arc::new(Mutex::new(QueryStatus::Running));
        let mut mode = self.mode.lock();
        match &mut *mode {
            Mode::Synchronous(tasks) => tasks.push((task, status)),
            Mode::Threaded(queries) => {
                let stop = Arc::new(AtomicBool::new(false));
                let handle = spawn_query_thread(task, stop.clone(), status.clone());
                queries.insert(
                    id,
                    ThreadedQuery {
                        stop,
                        handle: Some(handle),
                        status,
                        stats,
                    },
                );
            }
        }
    }

    /// Stops a query after a final checkpoint. Unknown ids are ignored.
    pub fn stop(&self, id: &str) {
        let mut mode = self.mode.lock();
        match &mut *mode {
            Mode::Synchronous(tasks) => {
                if let Some(pos) = tasks.iter().position(|(t, _)| &**t.id() == id) {
                    let (mut task, _) = tasks.remove(pos);
                    if let Err(e) = task.checkpoint_and_wait() {
                        tracing::warn!(query = id, "final checkpoint failed: {e}");
                    }
                }
            }
            Mode::Threaded(queries) => {
                if let Some(mut q) = queries.remove(id) {
                    drop(mode);
                    q.stop.store(true, Ordering::SeqCst);
                    if let Some(h) = q.handle.take() {
                        let _ = h.join();
                    }
                }
            }
        }
    }

    /// Stops every query (shutdown).
    pub fn stop_all(&self) {
        for id in self.ids() {
            self.stop(&id);
        }
    }

    pub fn ids(&self) -> Vec<String> {
        match &*self.mode.lock() {
            Mode::Synchronous(tasks) => tasks.iter().map(|(t, _)| t.id().to_string()).collect(),
            Mode::Threaded(q) => q.keys().cloned().collect(),
        }
    }

    pub fn status(&self, id: &str) -> Option<QueryStatus> {
        match &*self.mode.lock() {
            Mode::Synchronous(tasks) => tasks
                .iter()
                .find(|(t, _)| &**t.id() == id)
                .map(|(_, s)| s.lock().clone()),
            Mode::Threaded(q) => q.get(id).map(|q| q.status.lock().clone()),
        }
    }

    pub fn stats(&self, id: &str) -> Option<Arc<QueryStats>> {
        match &*self.mode.lock() {
            Mode::Synchronous(tasks) => tasks
                .iter()
                .find(|(t, _)| &**t.id() == id)
                .map(|(t, _)| t.stats().clone()),
            Mode::Threaded(q) => q.get(id).map(|q| q.stats.clone()),
        }
    }

    /// Synchronous mode: steps every task until none has input left. The first error stops the loop and is
    /// returned (tests want to see it). Threaded mode: does nothing.
    pub fn run_until_idle(&self) -> Result<(), ExecError> {
        let mut mode = self.mode.lock();
        let Mode::Synchronous(tasks) = &mut *mode else {
            return Ok(());
        };
        loop {
            let mut progressed = false;
            for (task, status) in tasks.iter_mut() {
                if *status.lock() != QueryStatus::Running {
                    continue;
                }
                match task.step() {
                    Ok(n) => progressed |= n > 0,
                    Err(e) => {
                        *status.lock() = QueryStatus::Error(e.to_string());
                        return Err(e);
                    }
                }
            }
            if !progressed {
                return Ok(());
            }
        }
    }
}

fn spawn_query_thread(mut task: QueryTask, stop: Arc<AtomicBool>, status: Arc<Mutex<QueryStatus>>) -> JoinHandle<()> {
    let name = format!("query-{}", task.id());
    let builder = std::thread::Builder::new().name(name.chars().take(15).collect());
    let spawned = builder.spawn(move || {
        let mut backoff = Duration::from_millis(100);
        while !stop.load(Ordering::SeqCst) {
            match task.step().and_then(|n| {
                task.maybe_checkpoint()?;
                Ok(n)
            }) {
                Ok(0) => task.wait_for_data(Duration::from_millis(100)),
                Ok(_) => backoff = Duration::from_millis(100),
                Err(e) => {
                    // Not a record-level problem (those are dead letters): storage or an invariant. Report it and
                    // retry with backoff, so a transient failure does not end the query.
                    tracing::error!(query = %task.id(), "query failed: {e}; retrying in {:?}", backoff);
                    *status.lock() = QueryStatus::Error(e.to_string());
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            }
            if *status.lock() != QueryStatus::Running {
                *status.lock() = QueryStatus::Running;
            }
        }
        if let Err(e) = task.checkpoint_and_wait() {
            tracing::warn!(query = %task.id(), "final checkpoint failed: {e}");
        }
    });
    match spawned {
        Ok(h) => h,
        Err(e) => {
            // Thread creation only fails when the OS is out of resources; run nothing and report it.
            let message = format!("cannot start query thread: {e}");
            std::thread::spawn(move || tracing::error!("{message}"))
        }
    }
}
