//! What a probe shares with its handles: the contract bookkeeping every probe kind
//! needs (pin address, polls, finish, the registered waker, wakes, drops) around a
//! payload that says what the probe yields (a value, a queue of items).
//!
//! A probe in [`Mode::Test`] (made by [`crate::probe`]) panics on a violation it sees
//! during a poll or a drop, through the same thread-local [`crate::instrument::checked`] uses so
//! the engine classifies the panic; what it sees elsewhere goes to [`crate::engine::hooks`]
//! inside a checker run and is a panic outside one. A probe in [`Mode::Kit`] (the
//! executor kit's tasks) never panics into the executor under test: it records.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::detect::violation::{Violation, ViolationKind};
use crate::engine::hooks::{self, Watcher};
use crate::instrument::probe::WakerId;

/// How a probe reports what it sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Panics (poll, drop) or reports to the checker run on this thread.
    Test,
    /// Records, for the executor kit to collect.
    Kit,
}

/// The state behind one probe and all its handles.
pub(crate) struct Shared<P> {
    /// "probe", "stream probe", "task": how messages name it.
    what: &'static str,
    /// What a finished poll returned, for messages: "Ready", "None".
    finish_word: &'static str,
    pub(crate) created_at: &'static Location<'static>,
    mode: Mode,
    /// Takes out what the payload holds for the probe (a value, queued items), to be
    /// dropped once the probe is gone.
    empty: fn(&mut P) -> P,
    /// 1 once the probe was dropped (its later drops are counted by the probe alone).
    drops: AtomicU32,
    state: Mutex<State<P>>,
}

pub(crate) struct State<P> {
    pub(crate) payload: P,
    /// Address at the first poll, and where that poll came from.
    first_poll: Option<(usize, &'static Location<'static>)>,
    polls: u32,
    /// Looks at the payload again within a poll, after cloning the waker outside the
    /// lock (a step may have run inside that clone).
    rechecks: u32,
    finished_at: Option<&'static Location<'static>>,
    /// The waker registered by the latest `Pending`, until a wake takes it.
    waker: Option<Waker>,
    last_waker: Option<WakerId>,
    /// Woken by its handle since its last poll.
    woken: Option<Woken>,
    /// Inside a checker run: the task whose poll last polled this probe, and the
    /// checker's wake count when that poll started.
    polled_by: Option<(usize, u64)>,
    watched: bool,
    /// Kit mode: what was seen.
    violations: Vec<Violation>,
}

struct Woken {
    at: &'static Location<'static>,
    /// The task that last polled the probe (inside a checker run), and its polls so
    /// far (every task's, outside one) when the wake happened.
    task: Option<usize>,
    task_polls: u64,
}

impl<P> Shared<P> {
    pub(crate) fn new(
        what: &'static str,
        finish_word: &'static str,
        created_at: &'static Location<'static>,
        mode: Mode,
        payload: P,
        empty: fn(&mut P) -> P,
    ) -> Arc<Self> {
        Arc::new(Shared {
            what,
            finish_word,
            created_at,
            mode,
            empty,
            drops: AtomicU32::new(0),
            state: Mutex::new(State {
                payload,
                first_poll: None,
                polls: 0,
                rechecks: 0,
                finished_at: None,
                waker: None,
                last_waker: None,
                woken: None,
                polled_by: None,
                watched: false,
                violations: Vec::new(),
            }),
        })
    }

    /// Locks the state, ignoring poisoning: a panic reported by a probe must not
    /// turn every later query into another panic.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<P>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn polls(&self) -> u32 {
        self.lock().polls
    }

    pub(crate) fn drops(&self) -> u32 {
        self.drops.load(SeqCst)
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.lock().finished_at.is_some()
    }

    pub(crate) fn is_woken(&self) -> bool {
        self.lock().woken.is_some()
    }

    pub(crate) fn last_waker(&self) -> Option<WakerId> {
        self.lock().last_waker
    }

    /// A clone of the registered waker (kit mode: to wake it from elsewhere).
    pub(crate) fn registered_waker(&self) -> Option<Waker> {
        self.lock().waker.clone()
    }

    /// Updates the payload without waking anything.
    pub(crate) fn update(&self, update: impl FnOnce(&mut P)) {
        update(&mut self.lock().payload);
    }

    /// Kit mode: what the probe saw so far.
    pub(crate) fn take_violations(&self) -> Vec<Violation> {
        std::mem::take(&mut self.lock().violations)
    }

    /// A handle's driver step: `update` the payload and wake, as if at `at`.
    pub(crate) fn step(
        self: &Arc<Self>,
        at: &'static Location<'static>,
        update: impl FnOnce(&mut P) + 'static,
    ) -> impl FnOnce() + 'static
    where
        P: 'static,
    {
        let shared = Arc::clone(self);
        move || shared.update_and_wake(at, update)
    }

    /// A probe's `Debug`: its type `name` and where it was created.
    pub(crate) fn fmt_probe(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name).field("created_at", &self.created_at).finish_non_exhaustive()
    }

    /// A handle's `Debug`: its type `name`, where its probe was created, its polls and
    /// whether it was dropped.
    pub(crate) fn fmt_handle(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("created_at", &self.created_at)
            .field("polls", &self.polls())
            .field("dropped", &(self.drops() > 0))
            .finish_non_exhaustive()
    }

    /// "the probe created at tests/x.rs:3" (the kit names its tasks itself: "the task").
    fn name(&self) -> String {
        match self.mode {
            Mode::Test => format!("the {} created at {}", self.what, self.created_at),
            Mode::Kit => format!("the {}", self.what),
        }
    }

    fn describe(&self, st: &State<P>) -> String {
        let polled = match st.first_poll {
            Some((_, at)) => format!(", first polled from {at}"),
            None => String::new(),
        };
        format!("{}{polled}", self.name())
    }

    /// Polls: checks the pin and the finish, then asks `take` for an output (and
    /// whether it finishes the probe), else registers the waker, cloned outside the
    /// lock (a waker's clone is arbitrary code: the checker runs driver steps inside
    /// it, `k`), and asks `take` again, as a correct primitive checks after it
    /// registers.
    pub(crate) fn poll<R>(
        self: &Arc<Self>,
        address: usize,
        at: &'static Location<'static>,
        cx: &mut Context<'_>,
        mut take: impl FnMut(&mut P) -> Option<(R, bool)>,
    ) -> Poll<R>
    where
        P: 'static,
    {
        let mut st = self.lock();
        if let Some((kind, detail)) = self.poll_problem(&st, address, at) {
            match self.mode {
                Mode::Test => {
                    drop(st);
                    crate::engine::raised::raise(kind, detail)
                }
                Mode::Kit => {
                    st.violations.push(Violation::new(kind, None, detail));
                    return Poll::Pending;
                }
            }
        }
        self.watch_if_active(&mut st);
        st.first_poll.get_or_insert((address, at));
        st.polls += 1;
        st.woken = None;
        st.polled_by =
            (self.mode == Mode::Test && hooks::active()).then(|| (hooks::current_task(), hooks::wakes_at_poll_start()));
        st.last_waker = Some(WakerId::of(cx.waker()));
        let mut fresh = None;
        let (old, out) = loop {
            match take(&mut st.payload) {
                Some((output, finished)) => {
                    if finished {
                        st.finished_at = Some(at);
                    }
                    break (st.waker.take(), Poll::Ready(output));
                }
                None if st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) => break (None, Poll::Pending),
                None => match fresh.take() {
                    Some(fresh) => break (st.waker.replace(fresh), Poll::Pending),
                    None => {
                        drop(st);
                        fresh = Some(cx.waker().clone());
                        st = self.lock();
                        // What a wake inside that clone announced, this poll now sees.
                        st.woken = None;
                        st.rechecks += 1;
                    }
                },
            }
        };
        // Unused when a step inside the clone made the probe ready.
        let unused = fresh;
        // A waker's drop is arbitrary code (the checker runs driver steps inside it).
        drop(st);
        drop(old);
        drop(unused);
        out
    }

    fn poll_problem(
        &self,
        st: &State<P>,
        address: usize,
        at: &'static Location<'static>,
    ) -> Option<(ViolationKind, String)> {
        if let Some((first, first_at)) = st.first_poll {
            if first != address {
                return Some((
                    ViolationKind::MovedWhilePinned,
                    format!(
                        "{} was first polled at {first:#x} (from {first_at}) and is now polled at \
                         {address:#x} (from {at}): it moved while pinned",
                        self.name()
                    ),
                ));
            }
        }
        let finished_at = st.finished_at?;
        Some((
            ViolationKind::PollAfterReady,
            format!(
                "{} returned {} to a poll from {finished_at} and was polled again from {at}",
                self.name(),
                self.finish_word
            ),
        ))
    }

    /// Inside a checker run, joins its quiescence and teardown checks (once).
    fn watch_if_active(self: &Arc<Self>, st: &mut State<P>)
    where
        P: 'static,
    {
        if self.mode == Mode::Test && !st.watched && hooks::active() {
            st.watched = true;
            hooks::watch(Box::new(Watch(Arc::clone(self))));
        }
    }

    /// The handle's side: `update` the payload, then wake the registered waker (by
    /// value: a leaf that fires gives its registration up). Inside a checker run,
    /// a wake that reaches none of the task's wakers is reported (unless that task is
    /// gone: a probe shared by several tasks outlives the one that polled it).
    pub(crate) fn update_and_wake(self: &Arc<Self>, at: &'static Location<'static>, update: impl FnOnce(&mut P))
    where
        P: 'static,
    {
        let (waker, polled_by, polls_at_wake) = {
            let mut st = self.lock();
            update(&mut st.payload);
            self.watch_if_active(&mut st);
            if self.drops() > 0 {
                // Nobody will ever take it: drop it now, as a closed channel would.
                let orphans = (self.empty)(&mut st.payload);
                drop(st);
                drop(orphans);
                return;
            }
            if st.finished_at.is_some() {
                return;
            }
            let Some(waker) = st.waker.take() else {
                return;
            };
            let task = st.polled_by.map(|(t, _)| t);
            st.woken = Some(Woken { at, task, task_polls: polls_of(task) });
            (waker, st.polled_by, st.polls + st.rechecks)
        };
        waker.wake();
        let Some((task, before)) = polled_by else {
            return;
        };
        if !hooks::active() || hooks::is_task_gone(task) {
            return;
        }
        if hooks::polling_task() == Some(task) {
            // The handle ran inside the task's own poll (a driver step run inside a
            // waker call there, `r` or `u`): the combinator may still pass the wake on
            // before its poll returns, as futures' `AtomicWaker` does when a wake races
            // with `register` (it wakes the new waker as `register` ends), or poll
            // the probe again itself before its poll returns, as futures-buffered's
            // `FuturesUnorderedBounded` does: its `DiatomicWaker::register` drops the
            // old waker (where `u` runs the step), so the child's wake finds no task
            // waker registered, and the poll then drains its ready queue and polls the
            // probe. Work done within the poll needs no task wake. Judge when that
            // poll ends: led back if a waker of the task was woken, or the probe was
            // polled again (it may have finished) or dropped since the wake.
            let shared = Arc::clone(self);
            hooks::after_poll(
                task,
                Box::new(move || {
                    if hooks::wakes_of(task) == before
                        && !hooks::is_task_gone(task)
                        && !shared.seen_since(polls_at_wake)
                    {
                        shared.report_not_led_back(at);
                    }
                }),
            );
        } else if hooks::wakes_of(task) == before {
            self.report_not_led_back(at);
        }
    }

    /// Whether the probe was polled (polls counted past `polls`) or dropped since.
    fn seen_since(&self, polls: u32) -> bool {
        self.drops() > 0 || {
            let st = self.lock();
            st.polls + st.rechecks > polls
        }
    }

    fn report_not_led_back(&self, at: &'static Location<'static>) {
        let st = self.lock();
        hooks::report(Violation::new(
            ViolationKind::LostWakeup,
            None,
            format!(
                "the combinator's child waker does not lead back to the task: {} was woken by its handle \
                 at {at}, and no waker of the task was woken since the task's poll that last polled it \
                 (the combinator polls it with a waker that wakes something else, e.g. a no-op waker)",
                self.describe(&st)
            ),
        ));
    }

    /// The probe's first drop happened (its later drops are counted and reported by
    /// the probe alone: see [`super::leaf::Hold`]).
    pub(crate) fn mark_dropped(&self) {
        self.drops.store(1, SeqCst);
    }

    /// How messages name the probe kind ("probe", "stream probe", "task").
    pub(crate) fn what(&self) -> &'static str {
        self.what
    }

    pub(crate) fn mode(&self) -> Mode {
        self.mode
    }

    /// The first drop, at `address`: gives the waker up and checks the pin. Returns
    /// the message a test-mode probe panics with (after releasing what it owns).
    pub(crate) fn on_drop(&self, address: usize) -> Option<String> {
        let (waker, moved, orphans) = {
            let mut st = self.lock();
            let moved = match st.first_poll {
                Some((first, first_at)) if first != address => Some(format!(
                    "{} was first polled at {first:#x} (from {first_at}) and is now dropped at {address:#x}: \
                     it moved while pinned",
                    self.name()
                )),
                _ => None,
            };
            (st.waker.take(), moved, (self.empty)(&mut st.payload))
        };
        drop(waker);
        drop(orphans);
        let moved = moved?;
        match self.mode {
            Mode::Test => Some(moved),
            Mode::Kit => {
                self.lock().violations.push(Violation::new(ViolationKind::MovedWhilePinned, None, moved));
                None
            }
        }
    }
}

/// Polls of `task` so far, or of every task on this thread without one.
fn polls_of(task: Option<usize>) -> u64 {
    match task {
        Some(t) => hooks::polls_of(t),
        None => hooks::polls_on_this_thread(),
    }
}

/// The checks a probe joins inside a checker run.
struct Watch<P>(Arc<Shared<P>>);

impl<P> Watcher for Watch<P> {
    fn at_quiescence(&self) -> Option<Violation> {
        let shared = &self.0;
        let st = shared.lock();
        if shared.drops() > 0 || st.finished_at.is_some() {
            return None;
        }
        let woken = st.woken.as_ref()?;
        // Polls of the task since the wake: zero when the task was abandoned (other
        // tasks' polls do not count).
        let since = polls_of(woken.task).saturating_sub(woken.task_polls);
        (since > 0).then(|| {
            Violation::new(
                ViolationKind::LostWakeup,
                None,
                format!(
                    "{} was woken by its handle at {} after its last poll; the task was polled {since} time{} \
                     since, but its combinator never polled the {} again",
                    shared.describe(&st),
                    woken.at,
                    if since == 1 { "" } else { "s" },
                    shared.what
                ),
            )
        })
    }

    fn after_teardown(&self) -> Option<Violation> {
        let shared = &self.0;
        if shared.drops() > 0 {
            return None;
        }
        let st = shared.lock();
        Some(Violation::new(
            ViolationKind::LeakedFuture,
            None,
            format!(
                "{} (polled {} time{}) is still alive after the task and the driver were dropped: its \
                 combinator never dropped it",
                shared.describe(&st),
                st.polls,
                if st.polls == 1 { "" } else { "s" }
            ),
        ))
    }
}

/// Declares a probe's handle: the type, a `Clone` that controls the same probe, its
/// `Debug`, and
/// the methods every handle has (`created_at`, `polls`, `is_dropped`, `last_waker`,
/// `wake`, `wakes`), each documented with an example that makes a probe with `make`.
macro_rules! probe_handle {
    (
        $(#[$doc:meta])*
        pub struct $handle:ident $(<$t:ident>)? (Shared<$payload:ty>);
        what: $what:literal,
        make: $make:literal,
        polled: $polled:literal $(,)?
    ) => {
        $(#[$doc])*
        pub struct $handle $(<$t>)? {
            shared: std::sync::Arc<$crate::instrument::probe::Shared<$payload>>,
        }

        impl $(<$t>)? Clone for $handle $(<$t>)? {
            fn clone(&self) -> Self {
                $handle { shared: std::sync::Arc::clone(&self.shared) }
            }
        }

        impl $(<$t>)? std::fmt::Debug for $handle $(<$t>)? {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.shared.fmt_handle(stringify!($handle), f)
            }
        }

        impl $(<$t>)? $handle $(<$t>)? {
            #[doc = concat!("Where the ", $what, " was created.")]
            ///
            /// ```
            #[doc = concat!("let (_probe, h) = ", $make, ";")]
            /// assert!(h.created_at().file().ends_with(".rs"));
            /// ```
            pub fn created_at(&self) -> &'static std::panic::Location<'static> {
                self.shared.created_at
            }

            #[doc = concat!("How many times the ", $what, " was polled ", $polled, ".")]
            ///
            /// ```
            #[doc = concat!("let (_probe, h) = ", $make, ";")]
            /// assert_eq!(h.polls(), 0);
            /// ```
            pub fn polls(&self) -> u32 {
                self.shared.polls()
            }

            #[doc = concat!("Whether the ", $what, " was dropped.")]
            ///
            /// ```
            #[doc = concat!("let (probe, h) = ", $make, ";")]
            /// drop(probe);
            /// assert!(h.is_dropped());
            /// ```
            pub fn is_dropped(&self) -> bool {
                self.shared.drops() > 0
            }

            #[doc = concat!("The identity of the waker the ", $what, " was last polled with: compare it")]
            /// with [`WakerId::of`](crate::WakerId::of) a waker you hold, or between polls.
            ///
            /// ```
            #[doc = concat!("let (_probe, h) = ", $make, ";")]
            /// assert_eq!(h.last_waker(), None); // not polled yet
            /// ```
            pub fn last_waker(&self) -> Option<$crate::instrument::probe::WakerId> {
                self.shared.last_waker()
            }
        }

        impl $(<$t: 'static>)? $handle $(<$t>)? {
            #[doc = concat!("Wakes the waker the ", $what, " registered at its latest `Pending` (by value:")]
            /// the registration is used up, as a real leaf's would be) without giving it
            /// anything. A no-op when it holds no waker (not polled yet, already woken,
            /// finished or dropped).
            ///
            /// ```
            #[doc = concat!("let (_probe, h) = ", $make, ";")]
            /// h.wake(); // nothing registered yet: a no-op
            /// ```
            #[track_caller]
            pub fn wake(&self) {
                self.shared.update_and_wake(std::panic::Location::caller(), |_| ());
            }

            /// A driver step that calls [`wake`](Self::wake):
            /// `.step(h.wakes())` is `.step({ let h = h.clone(); move || h.wake() })`.
            ///
            /// ```
            #[doc = concat!("let (_probe, h) = ", $make, ";")]
            /// let step = h.wakes();
            /// step();
            /// ```
            #[track_caller]
            #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
            pub fn wakes(&self) -> impl FnOnce() + 'static {
                self.shared.step(std::panic::Location::caller(), |_| ())
            }
        }
    };
}
pub(crate) use probe_handle;
