//! Liveness: a poll, driver step, waker call or drop that does not return is itself
//! the finding, never a hung test.
//!
//! The engine keeps a [`Heartbeat`] of what it is running; one watchdog thread per
//! process samples every heartbeat and, when one activity has run past the timeout,
//! measures the stuck thread's CPU time (a busy loop burns it, a deadlock does not)
//! and hands a [`Hang`] to the check's [`Session`]: either the caller waiting for an
//! exploration on a helper thread ([`isolate`]), which turns it into an ordinary
//! report, or, when the exploration runs on the caller's own thread, a report printed
//! before the process ends with a failing status.

pub(crate) mod cpu;
pub(crate) mod hang;
mod heartbeat;
pub(crate) mod isolate;
mod watchdog;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

pub(crate) use hang::Hang;
pub(crate) use heartbeat::{Heartbeat, Names, Snapshot};

/// Which poll the engine makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PollKind {
    /// A scheduled or drain poll after a wake.
    Woken,
    /// A poll that no wake preceded.
    Spurious,
    /// A poll inside a wake of the task's waker (`i`).
    InsideWake,
    /// The extra poll at quiescence.
    Probe,
}

/// Where a driver step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Inside {
    /// On its own, in order.
    Nothing,
    /// Inside a wake of this waker (`r`).
    Wake(u32),
    /// Inside the drop of a retired clone of this waker (`u`).
    Drop(u32),
    /// Inside a clone of this waker (`k`).
    Clone(u32),
}

/// Why a task's future is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropWhy {
    Finished,
    Cancelled,
    Panicked,
    Teardown,
}

/// A call into a user's executor under [`check_executor`](crate::check_executor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExecutorCall {
    Factory,
    Spawn,
    Run,
    Drop,
}

/// User code the engine runs, as the heartbeat records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activity {
    /// The scenario factory.
    Factory,
    Poll {
        task: usize,
        kind: PollKind,
    },
    Driver {
        index: usize,
        inside: Inside,
    },
    DropTask {
        task: usize,
        why: DropWhy,
    },
    /// Dropping the driver's remaining steps at teardown.
    DropDriver,
    /// The executor kit calls the user's executor.
    Executor(ExecutorCall),
}

impl Activity {
    /// Packs the activity in a word: kind, detail, and one 32-bit number.
    #[inline]
    pub(crate) fn code(self) -> u64 {
        let (kind, detail, n) = match self {
            Activity::Factory => (1u64, 0u64, 0usize),
            Activity::Poll { task, kind } => (2, kind as u64, task),
            Activity::Driver { index, inside } => {
                // The waker's id goes in the detail's upper bits (ids beyond 2^16 are cut).
                let (how, waker) = match inside {
                    Inside::Nothing => (0, 0),
                    Inside::Wake(w) => (1, w),
                    Inside::Drop(w) => (2, w),
                    Inside::Clone(w) => (3, w),
                };
                (3, how | u64::from(waker.min(0xffff)) << 8, index)
            }
            Activity::DropTask { task, why } => (4, why as u64, task),
            Activity::DropDriver => (5, 0, 0),
            Activity::Executor(call) => (6, call as u64, 0),
        };
        kind << 56 | detail << 32 | (n as u64 & 0xffff_ffff)
    }

    pub(crate) fn from_code(code: u64) -> Option<Activity> {
        let n = (code & 0xffff_ffff) as usize;
        let detail = (code >> 32) & 0xff_ffff;
        Some(match code >> 56 {
            1 => Activity::Factory,
            2 => Activity::Poll {
                task: n,
                kind: [PollKind::Woken, PollKind::Spurious, PollKind::InsideWake, PollKind::Probe]
                    .get(detail as usize)
                    .copied()?,
            },
            3 => Activity::Driver {
                index: n,
                inside: match (detail & 0xff, (detail >> 8) as u32) {
                    (0, _) => Inside::Nothing,
                    (1, w) => Inside::Wake(w),
                    (2, w) => Inside::Drop(w),
                    (3, w) => Inside::Clone(w),
                    _ => return None,
                },
            },
            4 => Activity::DropTask {
                task: n,
                why: [DropWhy::Finished, DropWhy::Cancelled, DropWhy::Panicked, DropWhy::Teardown]
                    .get(detail as usize)
                    .copied()?,
            },
            5 => Activity::DropDriver,
            6 => Activity::Executor(
                [ExecutorCall::Factory, ExecutorCall::Spawn, ExecutorCall::Run, ExecutorCall::Drop]
                    .get(detail as usize)
                    .copied()?,
            ),
            _ => return None,
        })
    }

    /// Whether this activity (as the outermost one) is part of the run's latest
    /// scheduled or drain action, rather than of what follows the actions (the extra
    /// poll at quiescence, teardown) or precedes them (the factory).
    pub(crate) fn is_action(self) -> bool {
        match self {
            Activity::Poll { kind, .. } => kind != PollKind::Probe,
            Activity::Driver { .. } => true,
            Activity::DropTask { why, .. } => why != DropWhy::Teardown,
            Activity::Factory | Activity::DropDriver | Activity::Executor(_) => false,
        }
    }
}

/// Where the exploration is, for the report's "found by".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    Unknown,
    Systematic(u64),
    Random(u64),
    Replay,
    Shrink,
    Timeline,
    /// The executor kit's check with this index.
    Executor(u64),
}

impl Phase {
    #[inline]
    pub(crate) fn code(self) -> u64 {
        let (kind, n) = match self {
            Phase::Unknown => (0, 0),
            Phase::Systematic(n) => (1, n),
            Phase::Random(n) => (2, n),
            Phase::Replay => (3, 0),
            Phase::Shrink => (4, 0),
            Phase::Timeline => (5, 0),
            Phase::Executor(n) => (6, n),
        };
        kind << 56 | (n & ((1 << 56) - 1))
    }

    pub(crate) fn from_code(code: u64) -> Phase {
        let n = code & ((1 << 56) - 1);
        match code >> 56 {
            1 => Phase::Systematic(n),
            2 => Phase::Random(n),
            3 => Phase::Replay,
            4 => Phase::Shrink,
            5 => Phase::Timeline,
            6 => Phase::Executor(n),
            _ => Phase::Unknown,
        }
    }
}

/// What a check does when the watchdog finds it stuck.
pub(crate) enum OnHang {
    /// Hand the hang to whoever waits for the exploration (it runs on a helper thread).
    Deliver(Box<dyn Fn(Hang) + Send + Sync>),
    /// The exploration runs on the caller's thread, which is stuck: print the report
    /// and end the process with a failing status.
    Exit,
}

/// One check, as the watchdog sees it.
pub(crate) struct Session {
    pub(crate) timeout: Duration,
    pub(crate) seed: u64,
    pub(crate) on_hang: OnHang,
    /// The names of the checks `Phase::Executor(i)` counts, given by the check that
    /// sets that phase (the executor kit), for its hang report.
    pub(crate) check_names: &'static [&'static str],
    /// Set once a hang was delivered: the exploration, should its stuck action ever
    /// return, stops at its next run (nobody waits for it any more).
    abandoned: AtomicBool,
}

impl Session {
    pub(crate) fn new(timeout: Duration, seed: u64, on_hang: OnHang) -> Arc<Session> {
        Session::naming(timeout, seed, on_hang, &[])
    }

    /// A session whose phases `Phase::Executor(i)` are the checks `check_names[i]`.
    pub(crate) fn naming(
        timeout: Duration,
        seed: u64,
        on_hang: OnHang,
        check_names: &'static [&'static str],
    ) -> Arc<Session> {
        Arc::new(Session { timeout, seed, on_hang, check_names, abandoned: AtomicBool::new(false) })
    }

    pub(crate) fn is_abandoned(&self) -> bool {
        self.abandoned.load(Relaxed)
    }

    pub(crate) fn abandon(&self) {
        self.abandoned.store(true, Relaxed);
    }
}

/// The panic payload that unwinds an abandoned exploration out of its helper thread.
pub(crate) struct Abandoned;

/// A watched exploring thread: its heartbeat and the check it works for.
#[derive(Clone)]
pub(crate) struct Watched {
    pub(crate) heartbeat: Arc<Heartbeat>,
    pub(crate) session: Arc<Session>,
}

impl Watched {
    /// Unwinds out of the exploration if its check was given up (see [`Abandoned`]).
    pub(crate) fn stop_if_abandoned(&self) {
        if self.session.is_abandoned() {
            std::panic::resume_unwind(Box::new(Abandoned));
        }
    }
}

/// Runs `body` with this thread's heartbeat watched for `session`, or unwatched when
/// there is no session (no timeout) or under miri, which has no real time to measure.
pub(crate) fn watch<T>(session: Option<&Arc<Session>>, body: impl FnOnce(Option<&Watched>) -> T) -> T {
    let Some(session) = session.filter(|_| !cfg!(miri)) else {
        return body(None);
    };
    let heartbeat = watchdog::heartbeat();
    let previous = heartbeat.enter(Arc::clone(session));
    watchdog::wake();
    struct Leave(Arc<Heartbeat>, Option<Option<Arc<Session>>>);
    impl Drop for Leave {
        fn drop(&mut self) {
            if let Some(previous) = self.1.take() {
                self.0.leave(previous);
            }
        }
    }
    let leave = Leave(Arc::clone(&heartbeat), Some(previous));
    let watched = Watched { heartbeat, session: Arc::clone(session) };
    let result = body(Some(&watched));
    drop(leave);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activities_and_phases_survive_their_encoding() {
        let activities = [
            Activity::Factory,
            Activity::Poll { task: 3, kind: PollKind::Probe },
            Activity::Poll { task: 0, kind: PollKind::InsideWake },
            Activity::Driver { index: 7, inside: Inside::Wake(3) },
            Activity::Driver { index: 0, inside: Inside::Drop(65535) },
            Activity::Driver { index: 1, inside: Inside::Clone(4) },
            Activity::Driver { index: 2, inside: Inside::Nothing },
            Activity::DropTask { task: 1, why: DropWhy::Teardown },
            Activity::DropDriver,
            Activity::Executor(ExecutorCall::Run),
        ];
        for a in activities {
            assert_eq!(Activity::from_code(a.code()), Some(a));
        }
        assert_eq!(Activity::from_code(0), None);
        for p in
            [Phase::Systematic(12), Phase::Random(0), Phase::Replay, Phase::Shrink, Phase::Timeline, Phase::Executor(3)]
        {
            assert_eq!(Phase::from_code(p.code()), p);
        }
    }
}
