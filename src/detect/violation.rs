//! What pollcheck proves: the kinds of violation and one found instance.

use std::fmt;

/// The kinds of contract violation pollcheck proves. See the crate docs for when each
/// is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ViolationKind {
    /// The task returned `Pending` and nothing will ever wake it: every waker clone
    /// it was given was dropped unwoken, or at quiescence it could finish (an extra
    /// poll returns `Ready`) but none of its wakers was woken.
    LostWakeup,
    /// A wake reached an older waker of the task, never the one from its most recent
    /// poll, and the task was not polled since.
    StaleWaker,
    /// A poll that no wake preceded made the task panic, finish with another output
    /// than the same schedule without spurious polls, or finish although nothing
    /// happened since it returned `Pending`.
    SpuriousPoll,
    /// A checked future was polled after it returned `Ready`.
    PollAfterReady,
    /// A checked future's address changed while it was pinned.
    MovedWhilePinned,
    /// A poll, a driver step or a drop panicked.
    Panic,
    /// At quiescence the task kept waking itself and returning `Pending`.
    Spin,
    /// After the scenario was dropped, clones of a waker handed to a task were alive.
    LeakedWaker,
    /// A future was never dropped by what owned it: a [probe](crate::probe) still alive
    /// after the scenario's teardown, or a finished or cancelled task that an executor
    /// under [`check_executor`](crate::check_executor) kept.
    LeakedFuture,
    /// A [probe](crate::probe) was dropped a second time (an unsafe combinator that drops
    /// a child twice).
    DoubleDrop,
    /// A waker's `RawWakerVTable` breaks the `Waker` contract
    /// ([`check_waker`](crate::check_waker)): `clone` that takes no reference, `drop`
    /// or `wake` that does not release one, `wake_by_ref` that does, a clone with another
    /// data pointer (`will_wake` false between clones).
    BrokenWaker,
    /// A poll, a driver step, a waker call or a drop has not returned within
    /// [`Config::poll_timeout`](crate::Config::poll_timeout): a busy loop (the stuck
    /// thread burns CPU) or a deadlock (it is blocked), as its CPU time tells.
    Hang,
    /// A task declared with [`Scenario::must_finish`](crate::Scenario::must_finish) (or
    /// [`all_must_finish`](crate::Scenario::all_must_finish)) is still `Pending` at
    /// quiescence, neither cancelled nor abandoned: every driver step ran, nothing is
    /// left to happen, and none of its still-registered wakers will ever be woken, so
    /// the notification or permit it waited for was lost. Opt-in, because without the
    /// declaration a task left waiting with a registered waker is legal.
    StuckTask,
    /// A checked sink (`SinkCheckExt::checked_sink`) or a sink probe (`probe_sink`)
    /// (feature `sink`) was used against the `Sink`
    /// protocol by its caller: `start_send` without a `Ready(Ok)` from `poll_ready`
    /// since the last `start_send`, or any call after `poll_close` returned `Ready`.
    SinkProtocol,
    /// Not a violation: nothing was checked, because the checker's configuration is
    /// invalid: a `POLLCHECK_*` environment variable, a builder setting
    /// ([`Checker::depth`](crate::Checker::depth), [`Checker::bounds`](crate::Checker::bounds),
    /// [`Checker::shard`](crate::Checker::shard)) or a [replay](crate::Checker::replay)
    /// string. The detail names it and what it allows.
    InvalidConfig,
}

impl ViolationKind {
    /// A short name, as reports print it ("lost wakeup").
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::LostWakeup => "lost wakeup",
            ViolationKind::StaleWaker => "stale waker",
            ViolationKind::SpuriousPoll => "spurious-poll intolerance",
            ViolationKind::PollAfterReady => "poll after ready",
            ViolationKind::MovedWhilePinned => "moved while pinned",
            ViolationKind::Panic => "panic",
            ViolationKind::Spin => "spin",
            ViolationKind::LeakedWaker => "leaked waker",
            ViolationKind::LeakedFuture => "leaked future",
            ViolationKind::DoubleDrop => "double drop",
            ViolationKind::BrokenWaker => "broken waker",
            ViolationKind::Hang => "hang",
            ViolationKind::StuckTask => "stuck task",
            ViolationKind::SinkProtocol => "sink protocol",
            ViolationKind::InvalidConfig => "invalid configuration",
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One violation: its kind, the task it concerns and what exactly was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub(crate) kind: ViolationKind,
    pub(crate) task: Option<(usize, &'static str)>,
    pub(crate) detail: String,
}

impl Violation {
    pub(crate) fn new(kind: ViolationKind, task: Option<(usize, &'static str)>, detail: impl Into<String>) -> Self {
        Violation { kind, task, detail: detail.into() }
    }

    /// The same violation with `prefix` put before its detail.
    pub(crate) fn with_detail_prefix(mut self, prefix: &str) -> Self {
        self.detail.insert_str(0, prefix);
        self
    }

    /// The kind.
    pub fn kind(&self) -> ViolationKind {
        self.kind
    }

    /// The task's index in the scenario, when the violation concerns one task.
    pub fn task(&self) -> Option<usize> {
        self.task.map(|(t, _)| t)
    }

    /// The task's type name.
    pub fn task_type(&self) -> Option<&'static str> {
        self.task.map(|(_, name)| name)
    }

    /// What was seen, in a sentence.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some((t, name)) = self.task {
            write!(f, " in task {t} ({name})")?;
        }
        write!(f, ": {}", self.detail)
    }
}
