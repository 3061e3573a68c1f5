//! The journal: every event of one run, in order, for the report's timeline.
//!
//! Exploration runs with the journal off (detectors work on counters); the minimal
//! failing schedule is run once more with it on to render the report.

use crate::sync::{lock, Arc, Mutex};

/// What happened, as the report tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A scheduled action started.
    Action(crate::spec::schedule::Step, ActionOrigin),
    /// A scheduled action was skipped because it was not enabled.
    Skipped(crate::spec::schedule::Step, &'static str),
    /// A poll finished.
    Polled {
        task: usize,
        waker: u32,
        spurious: bool,
        /// Polled inside a wake of its waker (`i` in the schedule).
        inside_wake: bool,
        result: PollResult,
    },
    /// The engine gave a task a new waker identity.
    NewWaker { task: usize, waker: u32 },
    /// A waker (or a clone) was cloned by user code.
    Clone { waker: u32 },
    /// `wake` (by value) was called.
    Wake {
        waker: u32,
        by_ref: bool,
        /// The waking thread, when it is not the one that polls.
        thread: Option<String>,
    },
    /// A clone was dropped without waking.
    Drop { waker: u32 },
    /// A driver step ran (inside a waker call, for `r` and `u`).
    DriverStep { index: usize, location: &'static std::panic::Location<'static>, inside_waker: Option<WakerCall> },
    /// What the poll just recorded yielded (a stream task) or sent (a sink task).
    Items { task: usize, items: crate::spec::task::Items },
    /// What a helper inside the scenario did (an I/O probe's byte counts).
    Note(String),
    /// The extra poll made at quiescence to see whether a stranded task could finish.
    Probe { task: usize, result: PollResult },
}

/// The waker call a re-entrant driver step ran inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WakerCall {
    /// A `wake` or `wake_by_ref` of this waker (`r`).
    Wake(u32),
    /// The drop of a retired clone of this waker (`u`).
    Drop(u32),
    /// A clone of this waker (`k`).
    Clone(u32),
}

/// Who chose an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ActionOrigin {
    /// Part of the schedule.
    Schedule,
    /// Chosen by the honest drain that completes every schedule.
    Drain,
}

/// How a poll ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PollResult {
    Pending,
    Ready(Option<String>),
    Panicked(String),
}

/// A journal that records only when asked to.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    recording: bool,
    events: Mutex<Vec<Event>>,
}

impl Journal {
    pub(crate) fn new(recording: bool) -> Self {
        Journal { recording, events: Mutex::new(Vec::new()) }
    }

    pub(crate) fn is_recording(&self) -> bool {
        self.recording
    }

    /// Records an event built lazily, so a journal that is off costs one branch.
    #[inline]
    pub(crate) fn record(&self, event: impl FnOnce() -> Event) {
        if self.recording {
            self.push(event());
        }
    }

    #[cold]
    #[inline(never)]
    fn push(&self, event: Event) {
        lock(&self.events).push(event);
    }

    pub(crate) fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *lock(&self.events))
    }

    /// A journal that records nothing, shared by every run on this thread: most runs
    /// are exploration, and a fresh one would cost an allocation each.
    pub(crate) fn off() -> Arc<Journal> {
        thread_local! {
            static OFF: Arc<Journal> = Arc::new(Journal::new(false));
        }
        OFF.with(Arc::clone)
    }
}
