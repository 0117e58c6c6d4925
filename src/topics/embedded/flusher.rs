//! The background thread behind `FsyncPolicy::Interval`: it fsyncs unsynced partitions once per interval, so appends
//! never wait for the disk and data written just before a quiet period does not stay unsynced indefinitely.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Runs `flush` every interval until dropped. Dropping stops and joins the thread (a flush in progress finishes).
pub(super) struct Flusher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Flusher {
    pub fn start(interval: Duration, flush: impl Fn() + Send + 'static) -> std::io::Result<Flusher> {
        let interval = interval.max(MIN_INTERVAL);
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("weir-topic-fsync".into())
            .spawn(move || {
                let (lock, wake) = &*thread_stop;
                let mut stopped = lock.lock();
                loop {
                    let deadline = Instant::now() + interval;
                    while !*stopped && !wake.wait_until(&mut stopped, deadline).timed_out() {}
                    if *stopped {
                        return;
                    }
                    MutexGuard::unlocked(&mut stopped, &flush);
                }
            })?;
        Ok(Flusher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock() = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the topic fsync thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_periodically_and_stops_on_drop() {
        let count = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&count);
        let flusher = Flusher::start(Duration::from_millis(5), move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while count.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(flusher);
        let after_drop = count.load(Ordering::SeqCst);
        assert!(after_drop >= 3);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(count.load(Ordering::SeqCst), after_drop);
    }
}
