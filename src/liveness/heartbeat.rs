//! The heartbeat: what an exploring thread is doing right now, written by the engine
//! with plain relaxed stores (one writer) and read by the watchdog thread.
//!
//! Every thread that explores has one, for its whole life (a thread-local), so a
//! check costs no allocation and no thread of its own: the engine writes, and the
//! process-wide watchdog reads whenever it ticks.

use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use super::cpu::ThreadClock;
use super::{Activity, Session};
use crate::report::journal::ActionOrigin;
use crate::spec::schedule::Step;
use crate::sync::lock;

/// How deep nested activities are tracked (a driver step inside a wake inside a poll
/// is 2); deeper ones still count, but the report names the outer ones only.
const STACK: usize = 8;

/// Schedule actions remembered per run; a longer run's hang report says it is cut.
pub(crate) const MAX_STEPS: usize = 4096;

/// Bit set in a recorded step's code when the honest drain chose it.
const DRAIN: u32 = 1 << 31;

/// What the watchdog needs to name in a report and cannot read from the stuck thread:
/// the current scenario's driver step locations and task type names.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names {
    pub(crate) steps: Vec<&'static Location<'static>>,
    pub(crate) tasks: Vec<&'static str>,
}

thread_local! {
    /// What this thread last published, and to which heartbeat (its `id`).
    static PUBLISHED: RefCell<(u64, Names)> = RefCell::new((0, Names::default()));
}

/// Whether `names` are these (the same locations and type names). Tasks named past
/// `tasks` are those a model spawned in an earlier run, which a run spawning the same
/// ones names alike ([`Heartbeat::publish_task_name`]).
fn same_names<S, T>(names: &Names, steps: S, tasks: T) -> bool
where
    S: ExactSizeIterator<Item = &'static Location<'static>>,
    T: ExactSizeIterator<Item = &'static str>,
{
    names.steps.len() == steps.len()
        && names.steps.iter().zip(steps).all(|(a, b)| std::ptr::eq(*a, b))
        && names.tasks.len() >= tasks.len()
        && names.tasks.iter().zip(tasks).all(|(a, b)| std::ptr::eq(*a, b))
}

/// One exploring thread's heartbeat.
pub(crate) struct Heartbeat {
    /// Unique in the process, from 1 (an address could be reused).
    id: u64,
    /// Bumped whenever an activity starts: unchanged across two ticks of the watchdog
    /// while `depth > 0` means the running activity has been running all along.
    beat: AtomicU64,
    depth: AtomicUsize,
    stack: [AtomicU64; STACK],
    /// The current run's actions so far (encoded steps); the last one may be running.
    steps: Box<[AtomicU32]>,
    len: AtomicUsize,
    /// Which phase and schedule the exploration is at (see [`Phase`](super::Phase)).
    phase: AtomicU64,
    /// This thread's CPU clock, where the platform has one.
    pub(crate) clock: Option<ThreadClock>,
    names: Mutex<Names>,
    /// The check this thread works for, while it is watched.
    session: Mutex<Option<Arc<Session>>>,
    /// Whether a session is set (read by the watchdog without locking).
    watched: AtomicBool,
}

impl Heartbeat {
    pub(crate) fn new(clock: Option<ThreadClock>) -> Self {
        static IDS: AtomicU64 = AtomicU64::new(1);
        Heartbeat {
            id: IDS.fetch_add(1, Relaxed),
            beat: AtomicU64::new(0),
            depth: AtomicUsize::new(0),
            stack: Default::default(),
            steps: (0..MAX_STEPS).map(|_| AtomicU32::new(0)).collect(),
            len: AtomicUsize::new(0),
            phase: AtomicU64::new(0),
            clock,
            names: Mutex::default(),
            session: Mutex::new(None),
            watched: AtomicBool::new(false),
        }
    }

    /// A new run starts.
    pub(crate) fn reset(&self) {
        self.len.store(0, Relaxed);
    }

    /// The run goes on with `step`.
    #[inline]
    pub(crate) fn record(&self, step: Step, origin: ActionOrigin) {
        let len = self.len.load(Relaxed);
        if let Some(slot) = self.steps.get(len) {
            let drain = if origin == ActionOrigin::Drain { DRAIN } else { 0 };
            slot.store(step.code() | drain, Relaxed);
        }
        self.len.store(len + 1, Relaxed);
    }

    /// User code starts running.
    #[inline]
    pub(crate) fn start(&self, activity: Activity) {
        // One writer (the exploring thread): plain stores, no locked instructions.
        let depth = self.depth.load(Relaxed);
        if let Some(slot) = self.stack.get(depth) {
            slot.store(activity.code(), Relaxed);
        }
        self.depth.store(depth + 1, Relaxed);
        self.beat.store(self.beat.load(Relaxed).wrapping_add(1), Relaxed);
    }

    /// The user code started last returned.
    #[inline]
    pub(crate) fn end(&self) {
        // No beat: the activity below, if any, has been running since before the last
        // start, so "no start since the watchdog's last look" still means "stuck".
        self.depth.store(self.depth.load(Relaxed).saturating_sub(1), Relaxed);
    }

    pub(crate) fn set_phase(&self, phase: u64) {
        self.phase.store(phase, Relaxed);
    }

    /// Publishes the scenario's names, unless they are those published already (the
    /// common case: every scenario from one factory has the same). Only this thread
    /// publishes to its heartbeat, so it compares with its own copy of what it
    /// published last, and takes the lock only when the names change.
    pub(crate) fn publish_names<S, T>(&self, steps: S, tasks: T)
    where
        S: ExactSizeIterator<Item = &'static Location<'static>> + Clone,
        T: ExactSizeIterator<Item = &'static str> + Clone,
    {
        let me = self.id;
        let same = PUBLISHED
            .try_with(|p| {
                let p = p.borrow();
                p.0 == me && same_names(&p.1, steps.clone(), tasks.clone())
            })
            .unwrap_or(false);
        if same {
            return;
        }
        let mut names = lock(&self.names);
        if !same_names(&names, steps.clone(), tasks.clone()) {
            names.steps = steps.collect();
            names.tasks = tasks.collect();
        }
        let copy = names.clone();
        drop(names);
        let _ = PUBLISHED.try_with(|p| *p.borrow_mut() = (me, copy));
    }

    /// Names task `index`, spawned during the run (the tasks before it are named), so
    /// that a hang in it names it. Takes the lock only when the name changes.
    pub(crate) fn publish_task_name(&self, index: usize, name: &'static str) {
        let me = self.id;
        let same = PUBLISHED
            .try_with(|p| {
                let p = p.borrow();
                p.0 == me && p.1.tasks.get(index).is_some_and(|n| std::ptr::eq(*n, name))
            })
            .unwrap_or(false);
        if same {
            return;
        }
        let mut names = lock(&self.names);
        names.tasks.truncate(index);
        names.tasks.push(name);
        let copy = names.clone();
        drop(names);
        let _ = PUBLISHED.try_with(|p| *p.borrow_mut() = (me, copy));
    }

    /// Starts working for `session`; returns the session it worked for before (a
    /// check nested in a driver step), to be put back by [`Heartbeat::leave`].
    pub(crate) fn enter(&self, session: Arc<Session>) -> Option<Arc<Session>> {
        let previous = lock(&self.session).replace(session);
        self.watched.store(true, Relaxed);
        previous
    }

    pub(crate) fn leave(&self, previous: Option<Arc<Session>>) {
        self.watched.store(previous.is_some(), Relaxed);
        *lock(&self.session) = previous;
    }

    pub(crate) fn session(&self) -> Option<Arc<Session>> {
        lock(&self.session).clone()
    }

    /// What the watchdog samples each tick: (beat, running activities) when watched.
    pub(crate) fn sample(&self) -> Option<(u64, usize)> {
        if !self.watched.load(Relaxed) {
            return None;
        }
        Some((self.beat.load(Relaxed), self.depth.load(Relaxed)))
    }

    /// Everything the report needs, read while the thread is stuck (so it is stable).
    pub(crate) fn snapshot(&self) -> Snapshot {
        let depth = self.depth.load(Relaxed);
        let len = self.len.load(Relaxed);
        let steps = self.steps[..len.min(MAX_STEPS)]
            .iter()
            .filter_map(|s| {
                let code = s.load(Relaxed);
                let origin = if code & DRAIN != 0 { ActionOrigin::Drain } else { ActionOrigin::Schedule };
                Step::from_code(code & !DRAIN).map(|step| (step, origin))
            })
            .collect();
        Snapshot {
            steps,
            cut: len > MAX_STEPS,
            stack: self.stack[..depth.min(STACK)].iter().filter_map(|a| Activity::from_code(a.load(Relaxed))).collect(),
            phase: self.phase.load(Relaxed),
            names: lock(&self.names).clone(),
        }
    }
}

/// A stuck thread's heartbeat, read out.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    /// The run's actions so far, the running one last (when it is an action).
    pub(crate) steps: Vec<(Step, ActionOrigin)>,
    /// More actions ran than [`MAX_STEPS`]; only the first ones are here.
    pub(crate) cut: bool,
    /// Running activities, outermost first.
    pub(crate) stack: Vec<Activity>,
    pub(crate) phase: u64,
    pub(crate) names: Names,
}
