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
//! Schedules stay within [`Bounds`](crate::Bounds) (from the `POLLCHECK_*` variables, or
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

use ::proptest::strategy::Strategy;
use ::proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::engine::panic_capture;
use crate::explore::finish::finish;
use crate::explore::judge::{Found, Judge};
use crate::explore::random::Rng;
use crate::explore::single::judge_one;
use crate::liveness::{self, OnHang, Session};
use crate::report::{FoundBy, Report};
use crate::spec::config::{Config, ConfigError};
use crate::spec::scenario::Scenario;
use crate::spec::schedule::{Schedule, Step};

mod strategy;
use strategy::simpler_schedule;
pub use strategy::{schedules, ScheduleTree, Schedules};

/// Cases run under miri unless `PROPTEST_CASES` is forwarded.
const MIRI_CASES: u32 = 4;

/// Cases [`PropChecker`] runs when `PROPTEST_CASES` is not set (outside miri): runs
/// are cheap, and the rarest bug of the crate's zoo shows in about 1 schedule of 200.
const CASES: u32 = 1024;

/// Shrink runs per failure when `PROPTEST_MAX_SHRINK_ITERS` is not set.
const SHRINK_ITERS: u32 = if cfg!(miri) { 256 } else { 4096 };

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
/// failure. Steps beyond the [`Bounds`](crate::Bounds) of the `POLLCHECK_*` variables are skipped.
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
/// An invalid `POLLCHECK_*` environment variable checks nothing: the report is an
/// [`InvalidConfig`](crate::ViolationKind::InvalidConfig) whose detail names it.
pub fn try_check_schedule<F: Fn() -> Scenario>(schedule: &Schedule, factory: F) -> Result<(), Report> {
    let config = Config::from_env().map_err(|e| Report::invalid_config(e.to_string()))?;
    judge_one(&config, &factory, schedule.steps(), FoundBy::Other("a proptest schedule"), false)
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
#[must_use = "a PropChecker checks nothing until `run` or `try_run` is called"]
pub struct PropChecker<F> {
    factory: F,
    config: Result<Config, ConfigError>,
    cases: Option<u32>,
    max_len: Option<usize>,
}

impl<F: Fn() -> Scenario> PropChecker<F> {
    /// A checker with the defaults and the environment variables.
    #[must_use = "a PropChecker checks nothing until `run` or `try_run` is called"]
    pub fn new(factory: F) -> Self {
        PropChecker { factory, config: Config::from_env(), cases: None, max_len: None }
    }

    /// Replaces pollcheck's configuration (its `POLLCHECK_*` variables included).
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn config(mut self, config: Config) -> Self {
        self.config = Ok(config);
        self
    }

    /// Cases (schedules) to run (default: `PROPTEST_CASES`, or 1024; 4 under miri).
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = Some(cases);
        self
    }

    /// The seed of proptest's runner (default: [`Config::seed`]).
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn seed(mut self, seed: u64) -> Self {
        if let Ok(c) = &mut self.config {
            c.seed = seed;
        }
        self
    }

    /// Longest schedule generated (default: 4 per task and driver step, plus 4,
    /// between 8 and 64). See [`Schedules::max_len`].
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
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
    /// An invalid `POLLCHECK_*` environment variable or bound checks nothing: the
    /// report is an [`InvalidConfig`](crate::ViolationKind::InvalidConfig) whose detail
    /// names it and what it allows.
    pub fn try_run(self) -> Result<ProptestSummary, Report> {
        let config = self.config.map_err(|e| Report::invalid_config(e.to_string()))?;
        crate::spec::config::check_bounds(&config.bounds).map_err(|e| Report::invalid_config(e.to_string()))?;
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
