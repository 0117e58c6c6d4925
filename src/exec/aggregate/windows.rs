//! Window assignment on event time, with ksqlDB's (Kafka Streams') semantics.
//!
//! Time windows are `[start, end)` and aligned to the epoch: a tumbling window of size `s` holds `t` when
//! `start = t - t.rem_euclid(s)`; hopping windows of size `s` advancing by `a` are every `[k·a, k·a + s)` that
//! contains `t`. A record is late for a time window when `end + grace <= stream time` (stream time includes the
//! record itself). Session windows are `[start, end]` (inclusive), per key, and merge when a record falls within
//! the inactivity gap of existing sessions.

use crate::sql::ast::WindowSpec;

/// A window's bounds in epoch milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Window {
    pub start: i64,
    pub end: i64,
}

/// The resolved window definition of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    Tumbling { size: i64 },
    Hopping { size: i64, advance: i64 },
    Session { gap: i64 },
}

/// A window definition with its grace period and retention, all in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowDef {
    pub kind: WindowKind,
    pub grace: i64,
    /// How long a window's state is kept after it starts (time windows) or ends (sessions).
    pub retention: i64,
}

/// Why a window definition is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("Window size must be positive, got {0} ms.")]
    NonPositiveSize(i64),
    #[error(
        "Invalid window: ADVANCE BY ({advance} ms) must be positive and not larger than the window SIZE ({size} ms)."
    )]
    BadAdvance { size: i64, advance: i64 },
    #[error(
        "Retention must be at least the window size plus the grace period: {retention} ms < {size} ms + {grace} ms. Increase RETENTION or reduce the grace period."
    )]
    RetentionTooShort { retention: i64, size: i64, grace: i64 },
    #[error("Duration of {0} ms is too large.")]
    TooLarge(u64),
}

fn ms(v: u64) -> Result<i64, WindowError> {
    i64::try_from(v).map_err(|_| WindowError::TooLarge(v))
}

impl WindowDef {
    /// Resolves a parsed `WINDOW` clause; `default_grace` applies when the clause has no `GRACE PERIOD`.
    pub fn from_spec(spec: &WindowSpec, default_grace: u64) -> Result<WindowDef, WindowError> {
        let (kind, retention, grace) = match *spec {
            WindowSpec::Tumbling {
                size_ms,
                retention_ms,
                grace_ms,
            } => (WindowKind::Tumbling { size: ms(size_ms)? }, retention_ms, grace_ms),
            WindowSpec::Hopping {
                size_ms,
                advance_ms,
                retention_ms,
                grace_ms,
            } => (
                WindowKind::Hopping {
                    size: ms(size_ms)?,
                    advance: ms(advance_ms)?,
                },
                retention_ms,
                grace_ms,
            ),
            WindowSpec::Session {
                gap_ms,
                retention_ms,
                grace_ms,
            } => (WindowKind::Session { gap: ms(gap_ms)? }, retention_ms, grace_ms),
        };
        let grace = ms(grace.unwrap_or(default_grace))?;
        let size = match kind {
            WindowKind::Tumbling { size } => size,
            WindowKind::Hopping { size, advance } => {
                if advance <= 0 || advance > size {
                    return Err(WindowError::BadAdvance { size, advance });
                }
                size
            }
            WindowKind::Session { gap } => gap,
        };
        if size <= 0 {
            return Err(WindowError::NonPositiveSize(size));
        }
        let minimum = size.saturating_add(grace);
        let retention = match retention {
            Some(r) => {
                let r = ms(r)?;
                if r < minimum {
                    return Err(WindowError::RetentionTooShort {
                        retention: r,
                        size,
                        grace,
                    });
                }
                r
            }
            None => minimum,
        };
        Ok(WindowDef { kind, grace, retention })
    }

    pub fn is_session(&self) -> bool {
        matches!(self.kind, WindowKind::Session { .. })
    }

    /// The time windows holding `t` (not for sessions), oldest first.
    pub fn time_windows(&self, t: i64, out: &mut Vec<Window>) {
        out.clear();
        match self.kind {
            WindowKind::Tumbling { size } => {
                let start = t - t.rem_euclid(size);
                out.push(Window {
                    start,
                    end: start.saturating_add(size),
                });
            }
            WindowKind::Hopping { size, advance } => {
                // As Kafka Streams: windows start at multiples of `advance`, never before 0, and contain t.
                let first = (t.saturating_sub(size).saturating_add(advance)).max(0);
                let mut start = first - first.rem_euclid(advance);
                if start.saturating_add(size) <= t {
                    start = start.saturating_add(advance);
                }
                while start <= t {
                    out.push(Window {
                        start,
                        end: start.saturating_add(size),
                    });
                    start = start.saturating_add(advance);
                }
            }
            WindowKind::Session { .. } => {}
        }
    }

    /// Whether `window` is closed for new records at `stream_time` (so a record for it is late).
    pub fn is_closed(&self, window: Window, stream_time: i64) -> bool {
        match self.kind {
            WindowKind::Session { gap } => window.end < stream_time.saturating_sub(self.grace).saturating_sub(gap),
            _ => window.end.saturating_add(self.grace) <= stream_time,
        }
    }

    /// Whether `window`'s state can be dropped at `stream_time`.
    pub fn is_expired(&self, window: Window, stream_time: i64) -> bool {
        match self.kind {
            WindowKind::Session { .. } => window.end.saturating_add(self.retention) < stream_time,
            _ => window.start.saturating_add(self.retention) <= stream_time,
        }
    }

    /// `TUMBLING`, `HOPPING` or `SESSION`, as `DESCRIBE` shows it.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            WindowKind::Tumbling { .. } => "TUMBLING",
            WindowKind::Hopping { .. } => "HOPPING",
            WindowKind::Session { .. } => "SESSION",
        }
    }
}

/// Session bookkeeping for one key: its sessions, by start.
#[derive(Debug, Default, Clone)]
pub struct Sessions {
    pub windows: Vec<(Window, u32)>,
}

impl Sessions {
    /// The sessions a record at `t` joins: those with `start - gap <= t <= end + gap`.
    pub fn overlapping(&self, t: i64, gap: i64) -> Vec<usize> {
        self.windows
            .iter()
            .enumerate()
            .filter(|(_, (w, _))| w.start.saturating_sub(gap) <= t && t <= w.end.saturating_add(gap))
            .map(|(i, _)| i)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(spec: WindowSpec) -> WindowDef {
        WindowDef::from_spec(&spec, 0).unwrap()
    }

    fn windows(d: &WindowDef, t: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        d.time_windows(t, &mut out);
        out.iter().map(|w| (w.start, w.end)).collect()
    }

    #[test]
    fn tumbling_windows_are_epoch_aligned() {
        let d = def(WindowSpec::Tumbling {
            size_ms: 30_000,
            retention_ms: None,
            grace_ms: None,
        });
        assert_eq!(windows(&d, 0), vec![(0, 30_000)]);
        assert_eq!(windows(&d, 29_999), vec![(0, 30_000)]);
        assert_eq!(windows(&d, 30_000), vec![(30_000, 60_000)]);
        assert_eq!(windows(&d, -1), vec![(-30_000, 0)]);
    }

    #[test]
    fn hopping_windows_cover_every_start_within_size() {
        let d = def(WindowSpec::Hopping {
            size_ms: 30_000,
            advance_ms: 10_000,
            retention_ms: None,
            grace_ms: None,
        });
        assert_eq!(
            windows(&d, 45_000),
            vec![(20_000, 50_000), (30_000, 60_000), (40_000, 70_000)]
        );
        assert_eq!(
            windows(&d, 40_000),
            vec![(20_000, 50_000), (30_000, 60_000), (40_000, 70_000)]
        );
        // As ksqlDB (Kafka Streams): no window starts before the epoch, so early records are in fewer windows.
        assert_eq!(windows(&d, 0), vec![(0, 30_000)]);
        assert_eq!(windows(&d, 15_000), vec![(0, 30_000), (10_000, 40_000)]);
    }

    #[test]
    fn lateness_uses_end_plus_grace() {
        let d = WindowDef::from_spec(
            &WindowSpec::Tumbling {
                size_ms: 10,
                retention_ms: None,
                grace_ms: Some(5),
            },
            0,
        )
        .unwrap();
        let w = Window { start: 0, end: 10 };
        assert!(!d.is_closed(w, 14));
        assert!(d.is_closed(w, 15));
    }

    #[test]
    fn session_overlap_uses_the_gap() {
        let s = Sessions {
            windows: vec![(Window { start: 0, end: 10 }, 0), (Window { start: 100, end: 100 }, 1)],
        };
        assert_eq!(s.overlapping(15, 5), vec![0]);
        assert_eq!(s.overlapping(16, 5), Vec::<usize>::new());
        assert_eq!(s.overlapping(95, 5), vec![1]);
        assert_eq!(s.overlapping(50, 50), vec![0, 1]);
    }

    #[test]
    fn invalid_definitions_are_rejected() {
        assert!(matches!(
            WindowDef::from_spec(
                &WindowSpec::Hopping {
                    size_ms: 10,
                    advance_ms: 20,
                    retention_ms: None,
                    grace_ms: None
                },
                0
            ),
            Err(WindowError::BadAdvance { .. })
        ));
        assert!(matches!(
            WindowDef::from_spec(
                &WindowSpec::Tumbling {
                    size_ms: 10,
                    retention_ms: Some(5),
                    grace_ms: Some(0)
                },
                0
            ),
            Err(WindowError::RetentionTooShort { .. })
        ));
        assert!(matches!(
            WindowDef::from_spec(
                &WindowSpec::Tumbling {
                    size_ms: 0,
                    retention_ms: None,
                    grace_ms: None
                },
                0
            ),
            Err(WindowError::NonPositiveSize(0))
        ));
    }
}
