//! Schedules from [proptest](https://docs.rs/proptest) (feature `proptest`).
//!
//! Two ways in:
//!
//! - [`check`] (or the [`PropChecker`] builder) runs your scenario factory on random
//!   schedules under proptest's `TestRunner`, lets proptest shrink the first failing
//!   one, and returns the same [`Report`] as [`Checker`](crate::Checker), replay
//!   string included.
//! - [`schedules`] is a `Strategy` to use in your own `proptest! {}` block, next to
//!   the inputs you generate yourself; [`try_check_schedule`] judges one schedule and
//!   returns a `Result` that `?` turns into a proptest failure.
//!
//! ```
//! use futures_channel::oneshot;
//! use pollcheck::Scenario;
//!
//! pollcheck::proptest::check(|| {
//!     let (tx, rx) = oneshot::channel::<u32>();
//!     Scenario::new().task(rx).step(move || { let _ = tx.send(7); })
//! });
//! ```
//!
//! Inside your own property, combined with generated values:
//!
//! ```
//! use futures_channel::mpsc;
//! use futures_util::StreamExt;
//! use pollcheck::Scenario;
//! use proptest::prelude::*;
//!
//! fn scenario(values: Vec<u8>) -> Scenario {
//!     let (tx, rx) = mpsc::unbounded::<u8>();
//!     let mut s = Scenario::new().task(rx.collect::<Vec<u8>>());
//!     for v in values {
//!         let tx = tx.clone();
//!         s = s.step(move || { let _ = tx.unbounded_send(v); });
//!     }
//!     s.step(move || drop(tx))
//! }
//!
//! proptest! {
//!     #![proptest_config(pollcheck::proptest::config())]
//!     // #[test]
//!     fn every_value_arrives(
//!         values in prop::collection::vec(any::<u8>(), 0..4),
//!         schedule in pollcheck::proptest::schedules(1),
//!     ) {
//!         pollcheck::proptest::try_check_schedule(&schedule, || scenario(values.clone()))?;
//!     }
//! }
//! # every_value_arrives();
//! ```
//!
//! # Shrinking
//!
//! A failing schedule shrinks toward the minimal one: first by deleting steps (halves,
//! then quarters, down to single steps), then by simplifying the steps left (`s0` to
//! `p0`, `r` to `d`, `i0` to `p0`, higher task numbers to lower ones), round after
//! round until nothing changes. A step that is not enabled when its turn comes is
//! skipped by the engine, so every candidate is a valid schedule, and the shrunk one
//! holds no skipped steps.
//!
//! [`check`] goes further, because what the report shows is not the schedule proptest
//! generated but the actions that ran, the honest drain that completes every schedule
//! included: a shorter schedule can make a longer report (delete the `d` of `d` and
//! the drain runs `p0 d p0`). So it accepts a candidate only if it fails with the kind
//! of violation first found and a report no longer than the best so far (shorter, or
//! as long from a simpler schedule), and once deleting and simplifying are stuck, it
//! also tries inserting a step and replacing one, which that rule keeps finite. On the
//! crate's zoo of buggy futures this shrinks to the systematic phase's minimal
//! schedule or a shorter one.
//!
//! # Bounds
//!
//! Schedules stay within [`Bounds`] (from the `POLLCHECK_*` variables, or
//! [`Schedules::bounds`], or [`PropChecker::config`]), counting each kind of step as
//! the random phase does: polls inside wakes (`i`) are off by default, as in
//! [`Checker`](crate::Checker). [`try_check_schedule`] skips steps beyond them.
//!
//! # Under miri
//!
//! [`check`] never persists failures (its runs are seeded: the seed and the replay
//! string reproduce them) and never forks or times out. Under `cfg(miri)` it runs 4
//! cases unless `PROPTEST_CASES` is forwarded (`MIRIFLAGS=-Zmiri-env-forward=PROPTEST_CASES`).
//! [`config`] gives your own `proptest!` blocks the same treatment.

use std::cell::RefCell;

use ::proptest::strategy::{NewTree, Strategy, ValueTree};
use ::proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::check::finish;
use crate::config::{Bounds, Config, ConfigError};
use crate::judge::{Found, Judge};
use crate::liveness::{self, OnHang, Session};
use crate::panic_capture;
use crate::report::{FoundBy, Report};
use crate::scenario::Scenario;
use crate::schedule::random::Rng;
use crate::schedule::{Schedule, Step, MAX_TASKS};
use crate::single::{clip, env_config, judge_one, step_of, within};

/// Cases run under miri unless `PROPTEST_CASES` is forwarded.
const MIRI_CASES: u32 = 4;

/// Cases [`PropChecker`] runs when `PROPTEST_CASES` is not set (outside miri): runs
/// are cheap, and the rarest bug of the crate's zoo shows in about 1 schedule of 200.
const CASES: u32 = 1024;

/// Shrink runs per failure when `PROPTEST_MAX_SHRINK_ITERS` is not set.
const SHRINK_ITERS: u32 = if cfg!(miri) { 256 } else { 4096 };

/// A strategy of schedules for a scenario with `tasks` tasks: every step names a
/// task below `tasks`, a schedule is at most 24 steps long (see
/// [`Schedules::max_len`]), and it stays within the [`Bounds`] of the `POLLCHECK_*`
/// variables (see [`Schedules::bounds`]). Any sequence is valid: steps that are not
/// enabled when their turn comes are skipped.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let strategy = pollcheck::proptest::schedules(2).max_len(8);
/// let schedule = strategy.new_tree(&mut TestRunner::deterministic()).unwrap().current();
/// assert!(schedule.len() <= 8);
/// assert!(schedule.steps().iter().all(|s| s.task().is_none_or(|t| t < 2)));
/// ```
pub fn schedules(tasks: usize) -> Schedules {
    let bounds = Config::from_env().map(|c| c.bounds).unwrap_or_default();
    Schedules { tasks: tasks.min(MAX_TASKS), max_len: 24, bounds, lateral: false }
}

/// The [`Strategy`] of [`schedules`].
#[derive(Clone, Debug)]
#[must_use = "a strategy does nothing until a test runner draws from it"]
pub struct Schedules {
    tasks: usize,
    max_len: usize,
    bounds: Bounds,
    /// Whether shrinking also tries inserting and replacing steps (see
    /// [`ScheduleTree`]): only for a property that accepts a candidate just when its
    /// report gets shorter, or those moves could go on forever.
    lateral: bool,
}

impl Schedules {
    /// Schedules of at most `max_len` steps (lengths are drawn uniformly from
    /// `0..=max_len`). Every schedule is completed by an honest drain, so this bounds
    /// only the adversarial prefix.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Schedules within these bounds (counting each kind of step from the start,
    /// as the random phase does; `depth` is not used). With the defaults, polls inside
    /// wakes (`i`) are off and up to two one-byte I/O actions (`b`) are allowed, as in
    /// [`Checker`](crate::Checker).
    ///
    /// ```
    /// use pollcheck::Bounds;
    /// use proptest::strategy::{Strategy, ValueTree};
    /// use proptest::test_runner::TestRunner;
    ///
    /// let only_polls_and_spurious = Bounds {
    ///     spurious: 64, new_wakers: 0, cancels: 0, abandons: 0, moves: 0, reentrant: 0, polls_inside_wake: 0,
    ///     reentrant_drops: 0, short_io: 0, ..Bounds::default()
    /// };
    /// let strategy = pollcheck::proptest::schedules(1).bounds(only_polls_and_spurious);
    /// let mut runner = TestRunner::deterministic();
    /// for _ in 0..20 {
    ///     let schedule = strategy.new_tree(&mut runner).unwrap().current();
    ///     assert!(schedule.to_string().split_whitespace().all(|t| ["p0", "s0", "d"].contains(&t)));
    /// }
    /// ```
    pub fn bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// A default length for a scenario: room for a few actions per task and driver
    /// step, between 8 and 64.
    fn max_len_for(tasks: usize, steps: usize) -> usize {
        (4 * (tasks + steps) + 4).clamp(8, 64)
    }
}

impl Strategy for Schedules {
    type Tree = ScheduleTree;
    type Value = Schedule;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        // Draw one seed through proptest (so the runner's RNG and seed decide
        // everything), then walk it with pollcheck's own tiny generator.
        let seed = ::proptest::num::u64::ANY.new_tree(runner)?.current();
        let mut rng = Rng::new(seed);
        let len = rng.below(self.max_len + 1);
        let steps = (0..len)
            .map(|_| {
                let kind = rng.below(16) as u8;
                if self.tasks == 0 {
                    return match kind % 4 {
                        0 => Step::Driver,
                        1 => Step::ReentrantDriver,
                        2 => Step::DriverInsideDrop,
                        _ => Step::ShortIo,
                    };
                }
                step_of(kind, rng.below(self.tasks))
            })
            .collect::<Vec<_>>();
        let mut alphabet = if self.lateral { alphabet(self.tasks) } else { Vec::new() };
        alphabet.retain(|&s| within(&self.bounds, &[s]));
        Ok(ScheduleTree::new(clip(&self.bounds, &steps), alphabet, self.bounds))
    }
}

/// The [`ValueTree`] of [`Schedules`]: a generated schedule and its shrinking (see
/// the [module docs](self#shrinking)).
///
/// `simplify` (the current schedule failed) keeps it and moves to the next candidate;
/// `complicate` (it passed) goes back to the last failing schedule and on to the next
/// candidate. Once no candidate is left, the current schedule is the last failing one
/// and `simplify` returns false.
#[derive(Clone, Debug)]
pub struct ScheduleTree {
    /// The smallest schedule known to fail (the generated one until a shrink works).
    failing: Vec<Step>,
    /// The schedule under test: `failing`, or a candidate derived from it.
    current: Vec<Step>,
    /// Whether `current` is a candidate (not yet known to fail).
    trying: bool,
    cursor: Cursor,
    /// Whether a deletion or simplification worked in this round (then another runs).
    progressed: bool,
    /// Steps to insert and substitute once deleting and simplifying are stuck; empty
    /// unless the strategy is `lateral`.
    alphabet: Vec<Step>,
    /// What inserting and replacing must stay within.
    bounds: Bounds,
}

/// The next candidate to derive from `failing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cursor {
    /// Delete `chunk` steps from `start`.
    Delete {
        chunk: usize,
        start: usize,
    },
    /// Replace the step at `index` by its `variant`-th simpler step.
    Simplify {
        index: usize,
        variant: usize,
    },
    /// Insert `alphabet[x]` before step `at`.
    Insert {
        x: usize,
        at: usize,
    },
    /// Replace the step at `index` by `alphabet[x]`.
    Replace {
        x: usize,
        index: usize,
    },
    Done,
}

impl ScheduleTree {
    fn new(steps: Vec<Step>, alphabet: Vec<Step>, bounds: Bounds) -> Self {
        let cursor = first_round(&steps);
        ScheduleTree {
            current: steps.clone(),
            failing: steps,
            trying: false,
            cursor,
            progressed: false,
            alphabet,
            bounds,
        }
    }

    /// The candidate at the cursor (moving the cursor past exhausted positions), or
    /// `None` when the schedule is as small as this shrinker gets it.
    fn candidate(&mut self) -> Option<Vec<Step>> {
        let len = self.failing.len();
        let mut c = self.failing.clone();
        loop {
            match self.cursor {
                Cursor::Delete { chunk: 0, .. } => self.cursor = Cursor::Simplify { index: 0, variant: 0 },
                Cursor::Delete { chunk, start } if start >= len => {
                    self.cursor = Cursor::Delete { chunk: chunk / 2, start: 0 };
                }
                Cursor::Delete { chunk, start } => {
                    c.drain(start..(start + chunk).min(len));
                    return Some(c);
                }
                Cursor::Simplify { index, .. } if index >= len => {
                    self.cursor = if std::mem::take(&mut self.progressed) {
                        first_round(&self.failing)
                    } else if self.alphabet.is_empty() {
                        Cursor::Done
                    } else {
                        Cursor::Insert { x: 0, at: 0 }
                    };
                }
                Cursor::Simplify { index, variant } => match simpler(c[index]).nth(variant) {
                    Some(step) => {
                        c[index] = step;
                        return Some(c);
                    }
                    None => self.cursor = Cursor::Simplify { index: index + 1, variant: 0 },
                },
                Cursor::Insert { x, .. } if x >= self.alphabet.len() => {
                    self.cursor = Cursor::Replace { x: 0, index: 0 }
                }
                Cursor::Insert { x, at } if at > len => self.cursor = Cursor::Insert { x: x + 1, at: 0 },
                Cursor::Insert { x, at } => {
                    c.insert(at, self.alphabet[x]);
                    if within(&self.bounds, &c) {
                        return Some(c);
                    }
                    c.remove(at);
                    self.cursor = Cursor::Insert { x, at: at + 1 };
                }
                Cursor::Replace { x, .. } if x >= self.alphabet.len() => self.cursor = Cursor::Done,
                Cursor::Replace { x, index } if index >= len => self.cursor = Cursor::Replace { x: x + 1, index: 0 },
                Cursor::Replace { x, index } => {
                    let (step, old) = (self.alphabet[x], c[index]);
                    // Skipped: the same step, one simplifying already tried, or one the
                    // bounds do not allow.
                    if old != step && !simpler(old).any(|s| s == step) {
                        c[index] = step;
                        if within(&self.bounds, &c) {
                            return Some(c);
                        }
                        c[index] = old;
                    }
                    self.cursor = Cursor::Replace { x, index: index + 1 };
                }
                Cursor::Done => return None,
            }
        }
    }

    /// Moves to the next candidate; leaves `current` at `failing` if there is none.
    fn try_next(&mut self) -> bool {
        match self.candidate() {
            Some(c) => {
                self.current = c;
                self.trying = true;
            }
            None => {
                self.current.clone_from(&self.failing);
                self.trying = false;
            }
        }
        self.trying
    }
}

/// Where a round of shrinking starts: deleting half of the schedule.
fn first_round(steps: &[Step]) -> Cursor {
    Cursor::Delete { chunk: (steps.len() / 2).max(1), start: 0 }
}

/// Steps simpler than `step`, to try in its place: the plain form of an adversarial
/// step first, then the same step on each lower task. Each is smaller in a
/// well-founded order ([`rank`]), so simplifying terminates.
fn simpler(step: Step) -> impl Iterator<Item = Step> {
    let plain = match step {
        Step::SpuriousPoll(t) | Step::PollInsideWake(t) => Some(Step::Poll(t)),
        Step::ReentrantDriver | Step::DriverInsideDrop => Some(Step::Driver),
        _ => None,
    };
    let lower_tasks = step.task().unwrap_or(0);
    plain.into_iter().chain((0..lower_tasks).map(move |t| with_task(step, t)))
}

fn with_task(step: Step, t: usize) -> Step {
    match step {
        Step::Poll(_) => Step::Poll(t),
        Step::SpuriousPoll(_) => Step::SpuriousPoll(t),
        Step::NewWaker(_) => Step::NewWaker(t),
        Step::Cancel(_) => Step::Cancel(t),
        Step::Abandon(_) => Step::Abandon(t),
        Step::Move(_) => Step::Move(t),
        Step::PollInsideWake(_) => Step::PollInsideWake(t),
        Step::Driver | Step::ReentrantDriver | Step::DriverInsideDrop | Step::ShortIo => step,
    }
}

/// How simple a step is: plain polls and driver steps first, then the adversarial
/// steps; lower tasks first.
fn rank(step: Step) -> (u8, usize) {
    let kind = match step {
        Step::Poll(_) => 0,
        Step::Driver => 1,
        Step::SpuriousPoll(_) => 2,
        Step::NewWaker(_) => 3,
        Step::ReentrantDriver => 4,
        Step::PollInsideWake(_) => 5,
        Step::Abandon(_) => 6,
        Step::Cancel(_) => 7,
        Step::Move(_) => 8,
        Step::DriverInsideDrop => 9,
        Step::ShortIo => 10,
    };
    (kind, step.task().unwrap_or(0))
}

/// Whether schedule `a` is simpler than `b`: shorter, or as long with simpler steps
/// (compared in order).
fn simpler_schedule(a: &[Step], b: &[Step]) -> bool {
    a.len() < b.len() || (a.len() == b.len() && a.iter().map(|&s| rank(s)).lt(b.iter().map(|&s| rank(s))))
}

/// Every step of a scenario with `tasks` tasks, simplest first.
fn alphabet(tasks: usize) -> Vec<Step> {
    let mut steps = vec![Step::Driver, Step::ReentrantDriver, Step::DriverInsideDrop, Step::ShortIo];
    for t in 0..tasks {
        steps.extend([
            Step::Poll(t),
            Step::SpuriousPoll(t),
            Step::NewWaker(t),
            Step::PollInsideWake(t),
            Step::Abandon(t),
            Step::Cancel(t),
            Step::Move(t),
        ]);
    }
    steps.sort_by_key(|&s| rank(s));
    steps
}

impl ValueTree for ScheduleTree {
    type Value = Schedule;

    fn current(&self) -> Schedule {
        Schedule::new(self.current.clone())
    }

    fn simplify(&mut self) -> bool {
        if self.trying {
            self.failing.clone_from(&self.current);
            match self.cursor {
                Cursor::Delete { .. } => self.progressed = true,
                // The new step may simplify further.
                Cursor::Simplify { index, .. } => {
                    self.progressed = true;
                    self.cursor = Cursor::Simplify { index, variant: 0 };
                }
                // The report got shorter: start over with the cheap moves.
                Cursor::Insert { .. } | Cursor::Replace { .. } => {
                    self.progressed = false;
                    self.cursor = first_round(&self.failing);
                }
                Cursor::Done => {}
            }
        }
        self.try_next()
    }

    fn complicate(&mut self) -> bool {
        if !self.trying {
            return false;
        }
        self.cursor = match self.cursor {
            Cursor::Delete { chunk, start } => Cursor::Delete { chunk, start: start + chunk },
            Cursor::Simplify { index, variant } => Cursor::Simplify { index, variant: variant + 1 },
            Cursor::Insert { x, at } => Cursor::Insert { x, at: at + 1 },
            Cursor::Replace { x, index } => Cursor::Replace { x, index: index + 1 },
            Cursor::Done => Cursor::Done,
        };
        self.try_next();
        // Even with no candidate left (`current` is the last failing schedule again),
        // report a change, so tuple strategies go on to shrink their other members.
        true
    }
}

/// A proptest configuration for your own `proptest!` blocks that also works under
/// miri: proptest's defaults with its `PROPTEST_*` variables, and under `cfg(miri)`
/// no failure persistence (it calls `getcwd`, which miri's isolation forbids) and 4
/// cases unless `PROPTEST_CASES` is forwarded. Forking and timeouts stay off (they are
/// off by default, and their variables are invisible under miri).
///
/// ```
/// let config = pollcheck::proptest::config();
/// if cfg!(miri) {
///     assert!(config.failure_persistence.is_none());
/// }
/// ```
pub fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if cfg!(miri) {
        config.failure_persistence = None;
        if std::env::var_os("PROPTEST_CASES").is_none() {
            config.cases = MIRI_CASES;
        }
    }
    config
}

/// Runs the scenarios `factory` builds on random schedules under proptest, and
/// panics with the [`Report`] of the first violation, its schedule shrunk by
/// proptest. See [`PropChecker`] for the settings.
///
/// ```
/// use futures_channel::oneshot;
/// use pollcheck::Scenario;
///
/// pollcheck::proptest::check(|| {
///     let (tx, rx) = oneshot::channel::<u32>();
///     Scenario::new().task(rx).step(move || { let _ = tx.send(7); })
/// });
/// ```
#[track_caller]
pub fn check<F: Fn() -> Scenario>(factory: F) -> ProptestSummary {
    PropChecker::new(factory).run()
}

/// Like [`check`], returning the report instead of panicking.
///
/// ```
/// use pollcheck::{Scenario, ViolationKind};
/// use std::task::Poll;
///
/// // Returns Pending once without keeping its waker: a lost wakeup.
/// let report = pollcheck::proptest::try_check(|| {
///     let mut first = true;
///     Scenario::new().task(std::future::poll_fn(move |_| {
///         if std::mem::take(&mut first) { Poll::Pending } else { Poll::Ready(()) }
///     }))
/// })
/// .unwrap_err();
/// assert_eq!(report.kind(), ViolationKind::LostWakeup);
/// assert_eq!(report.schedule().to_string(), "p0");
/// ```
#[track_caller]
pub fn try_check<F: Fn() -> Scenario>(factory: F) -> Result<ProptestSummary, Report> {
    PropChecker::new(factory).try_run()
}

/// Judges one schedule, as in a `proptest!` block: `Err` carries the report (not
/// shrunk: proptest shrinks the schedule itself), and `?` turns it into a proptest
/// failure. Steps beyond the [`Bounds`] of the `POLLCHECK_*` variables are skipped.
/// See the [module docs](self) for an example.
///
/// ```
/// use futures_channel::oneshot;
/// use pollcheck::Scenario;
///
/// let schedule = "p0 s0 d".parse().unwrap();
/// pollcheck::proptest::try_check_schedule(&schedule, || {
///     let (tx, rx) = oneshot::channel::<u32>();
///     Scenario::new().task(rx).step(move || { let _ = tx.send(7); })
/// })
/// .unwrap();
/// ```
///
/// # Panics
/// If a `POLLCHECK_*` environment variable is invalid.
#[track_caller]
pub fn try_check_schedule<F: Fn() -> Scenario>(schedule: &Schedule, factory: F) -> Result<(), Report> {
    judge_one(&env_config(), &factory, schedule.steps(), FoundBy::Other("a proptest schedule"), false)
}

/// What a passing [`PropChecker`] run explored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProptestSummary {
    /// Passing cases (schedules) run.
    pub cases: u32,
}

/// Runs a scenario factory on proptest-generated schedules.
///
/// Settings come from proptest's `PROPTEST_CASES` (1024 cases when unset) and
/// `PROPTEST_MAX_SHRINK_ITERS` (4096 shrink runs when unset) and pollcheck's [`Config`] (`POLLCHECK_SEED`,
/// `POLLCHECK_SPIN_BOUND`, `POLLCHECK_POLL_TIMEOUT_MS`); the builder overrides both.
/// The runner is seeded with the config's seed, so a run is reproducible, and failures
/// are not persisted to files: the report's replay string is the regression test.
///
/// ```
/// use pollcheck::proptest::PropChecker;
/// use pollcheck::{Scenario, ViolationKind};
/// use std::{cell::RefCell, rc::Rc, task::{Poll, Waker}};
///
/// // Waits for the driver's flag, but takes any second poll for the driver's wake:
/// // spurious-poll intolerance.
/// let report = PropChecker::new(|| {
///     let flag: Rc<RefCell<(bool, Option<Waker>)>> = Rc::default();
///     let seen = Rc::clone(&flag);
///     let mut polled = false;
///     let task = std::future::poll_fn(move |cx| {
///         let mut flag = seen.borrow_mut();
///         if flag.0 || std::mem::replace(&mut polled, true) { return Poll::Ready(()) }
///         flag.1 = Some(cx.waker().clone());
///         Poll::Pending
///     });
///     Scenario::new().task(task).step(move || {
///         let waker = { let mut f = flag.borrow_mut(); f.0 = true; f.1.take() };
///         if let Some(w) = waker { w.wake() }
///     })
/// })
/// .cases(64)
/// .seed(1)
/// .try_run()
/// .unwrap_err();
/// assert_eq!(report.kind(), ViolationKind::SpuriousPoll, "{report}");
/// assert_eq!(report.schedule().to_string(), "p0 s0");
/// ```
pub struct PropChecker<F> {
    factory: F,
    config: Result<Config, ConfigError>,
    cases: Option<u32>,
    max_len: Option<usize>,
}

impl<F: Fn() -> Scenario> PropChecker<F> {
    /// A checker with the defaults and the environment variables.
    pub fn new(factory: F) -> Self {
        PropChecker { factory, config: Config::from_env(), cases: None, max_len: None }
    }

    /// Replaces pollcheck's configuration (its `POLLCHECK_*` variables included).
    pub fn config(mut self, config: Config) -> Self {
        self.config = Ok(config);
        self
    }

    /// Cases (schedules) to run (default: `PROPTEST_CASES`, or 1024; 4 under miri).
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = Some(cases);
        self
    }

    /// The seed of proptest's runner (default: [`Config::seed`]).
    pub fn seed(mut self, seed: u64) -> Self {
        if let Ok(c) = &mut self.config {
            c.seed = seed;
        }
        self
    }

    /// Longest schedule generated (default: 4 per task and driver step, plus 4,
    /// between 8 and 64). See [`Schedules::max_len`].
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = Some(max_len);
        self
    }

    /// Runs, and panics with the report of the first violation.
    #[track_caller]
    pub fn run(self) -> ProptestSummary {
        match self.try_run() {
            Ok(summary) => summary,
            Err(report) => panic!("{report}"),
        }
    }

    /// Runs; returns what was explored, or the report of the first violation with its
    /// schedule shrunk by proptest.
    ///
    /// # Panics
    /// If a `POLLCHECK_*` environment variable is invalid.
    #[track_caller]
    pub fn try_run(self) -> Result<ProptestSummary, Report> {
        let config = match self.config {
            Ok(c) => c,
            Err(e) => panic!("pollcheck: {e}"),
        };
        let factory = &self.factory;
        let mut runner_config = config_for_check();
        if let Some(cases) = self.cases {
            runner_config.cases = cases;
        }
        let cases = runner_config.cases;
        // One scenario up front, to learn its shape; if the factory panics, the first
        // case reports it.
        let (tasks, steps) = panic_capture::catch(factory).map(|s| (s.task_count(), s.step_count())).unwrap_or((1, 1));
        let max_len = self.max_len.unwrap_or_else(|| Schedules::max_len_for(tasks, steps));
        let strategy = Schedules { lateral: true, ..schedules(tasks).max_len(max_len).bounds(config.bounds) };
        let mut runner = TestRunner::new_with_rng(runner_config, seeded_rng(config.seed));
        let session = config.poll_timeout.map(|t| Session::new(t, config.seed, OnHang::Exit));
        liveness::watch(session.as_ref(), |watched| {
            let judge = Judge::new(factory, config.spin_bound, watched);
            let test = Property::new(&judge);
            for case in 1..=cases {
                let tree = match strategy.new_tree(&mut runner) {
                    Ok(tree) => tree,
                    Err(reason) => panic!("pollcheck: cannot generate a schedule: {reason}"),
                };
                match runner.run_one(tree, |schedule| test.run(&schedule)) {
                    Ok(_) => {}
                    Err(TestError::Fail(_, minimal)) => {
                        let found = test.found(&minimal);
                        let by = FoundBy::Proptest { case: u64::from(case), seed: config.seed };
                        return Err(finish(&judge, found, by, &config, false));
                    }
                    Err(TestError::Abort(reason)) => panic!("pollcheck: proptest aborted: {reason}"),
                }
            }
            Ok(ProptestSummary { cases })
        })
    }
}

/// proptest's settings for [`PropChecker`]: [`config`], without file persistence, and
/// with a shrink budget.
fn config_for_check() -> ProptestConfig {
    let mut c = config();
    c.failure_persistence = None;
    if !cfg!(miri) && std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = CASES;
    }
    if std::env::var_os("PROPTEST_MAX_SHRINK_ITERS").is_none() {
        c.max_shrink_iters = SHRINK_ITERS;
    }
    c
}

/// proptest's ChaCha RNG, seeded from pollcheck's 64-bit seed.
fn seeded_rng(seed: u64) -> TestRng {
    let mut rng = Rng::new(seed);
    let bytes: Vec<u8> = (0..4).flat_map(|_| rng.next_u64().to_le_bytes()).collect();
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// The property [`PropChecker`] tests: "no violation", where once one is found, a
/// candidate only counts as failing if it shows a violation of the same kind with a
/// shorter report, or as short a report from a simpler schedule. Shrinking cannot
/// wander off to another bug, deleting a step never buys a shorter schedule with a
/// longer report (the honest drain that completes every schedule may add back more
/// than was deleted), and every accepted candidate is smaller in a well-founded order,
/// so inserting and replacing steps ([`Schedules::lateral`]) terminates.
struct Property<'j, 'f> {
    judge: &'j Judge<'f>,
    best: RefCell<Option<Best>>,
}

/// The smallest failing schedule so far.
struct Best {
    input: Vec<Step>,
    found: Found,
}

impl<'j, 'f> Property<'j, 'f> {
    fn new(judge: &'j Judge<'f>) -> Self {
        Property { judge, best: RefCell::new(None) }
    }

    fn run(&self, schedule: &Schedule) -> Result<(), TestCaseError> {
        let Some(found) = self.judge.judge_steps(schedule.steps()) else { return Ok(()) };
        let mut best = self.best.borrow_mut();
        if let Some(b) = &*best {
            let (len, best_len) = (found.schedule.len(), b.found.schedule.len());
            let smaller = len < best_len || (len == best_len && simpler_schedule(schedule.steps(), &b.input));
            if found.violation.kind() != b.found.violation.kind() || !smaller {
                return Ok(());
            }
        }
        let reason = format!("{} with schedule {schedule}", found.violation.kind());
        *best = Some(Best { input: schedule.steps().to_vec(), found });
        Err(TestCaseError::fail(reason))
    }

    /// The violation of the minimal schedule proptest settled on.
    fn found(&self, minimal: &Schedule) -> Found {
        let best = self.best.borrow_mut().take().expect("proptest reported a failure that no run produced");
        if best.input == minimal.steps() {
            return best.found;
        }
        self.judge.judge_steps(minimal.steps()).unwrap_or(best.found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(s: &str) -> ScheduleTree {
        ScheduleTree::new(s.parse::<Schedule>().unwrap().steps().to_vec(), Vec::new(), Bounds::default())
    }

    /// Shrinks `start` against "fails iff `fails`", the way proptest's runner drives a
    /// value tree; returns the result and the number of runs.
    fn shrink(start: &str, fails: impl Fn(&Schedule) -> bool) -> (String, usize) {
        let mut t = tree(start);
        assert!(fails(&t.current()));
        let mut runs = 0;
        if t.simplify() {
            loop {
                runs += 1;
                if fails(&t.current()) {
                    if !t.simplify() {
                        break;
                    }
                } else if !t.complicate() {
                    break;
                }
            }
        }
        (t.current().to_string(), runs)
    }

    fn has_subsequence(s: &Schedule, want: &str) -> bool {
        let want: Schedule = want.parse().unwrap();
        let mut it = s.steps().iter();
        want.steps().iter().all(|w| it.any(|s| s == w))
    }

    #[test]
    fn deletes_steps_down_to_the_needed_ones() {
        let (min, runs) = shrink("d p1 p0 w0 s1 p0 d c1 s0 d r p0", |s| has_subsequence(s, "p0 w0 d"));
        assert_eq!(min, "p0 w0 d");
        assert!(runs < 60, "{runs} runs");
    }

    #[test]
    fn simplifies_steps_after_deleting() {
        let (min, _) = shrink("w1 s2 r i1", |s| s.len() >= 2 && s.steps().iter().any(|s| s.task().is_some()));
        assert_eq!(min, "d p0");
        let (min, _) = shrink("s3", |s| s.steps().iter().any(|s| matches!(s, Step::Poll(_) | Step::SpuriousPoll(_))));
        assert_eq!(min, "p0");
    }

    #[test]
    fn complicate_ends_on_the_last_failing_schedule() {
        let mut t = tree("p0 d");
        assert!(t.simplify());
        assert_eq!(t.current().to_string(), "d");
        // Everything passes from here on: the tree must come back to "p0 d".
        while t.complicate() {}
        assert_eq!(t.current().to_string(), "p0 d");
        assert!(!t.simplify());
    }

    #[test]
    fn schedules_respect_the_task_count() {
        let mut runner = TestRunner::deterministic();
        for tasks in [0, 1, 3] {
            for _ in 0..50 {
                let s = schedules(tasks).max_len(10).new_tree(&mut runner).unwrap().current();
                assert!(s.len() <= 10);
                assert!(s.steps().iter().all(|step| step.task().is_none_or(|t| t < tasks)), "{s}");
            }
        }
    }
}
