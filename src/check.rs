//! `check()` and the `Checker` builder: the one place that runs the phases in order.

use std::ops::ControlFlow;
use std::time::Duration;

use crate::config::{Bounds, Config, ConfigError};
use crate::engine::Replay;
use crate::judge::{Found, Judge};
use crate::report::{self, FoundBy, Report, ReportData};
use crate::scenario::Scenario;
use crate::schedule::{random, systematic, Schedule, Step};
use crate::watchdog;

/// How many schedules a shrink may run.
/// Small under miri, where a run costs milliseconds: exploration finds schedules
/// shortest first anyway, so shrinking mostly confirms.
const SHRINK_BUDGET: usize = if cfg!(miri) { 16 } else { 4096 };

/// Checks the scenarios `factory` builds under every schedule of the default
/// exploration, and panics with the [`Report`] of the first violation.
///
/// ```
/// use futures_channel::oneshot;
/// use pollcheck::Scenario;
///
/// pollcheck::check(|| {
///     let (tx, rx) = oneshot::channel::<u32>();
///     Scenario::new().task(rx).step(move || { let _ = tx.send(7); })
/// });
/// ```
#[track_caller]
pub fn check<F: Fn() -> Scenario>(factory: F) {
    Checker::new(factory).run();
}

/// What a passing run explored.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Schedules of the systematic phase.
    pub systematic: u64,
    /// Schedules of the random phase.
    pub random: u64,
    /// Every run, including honest twins of spurious schedules.
    pub runs: u64,
}

impl Summary {
    /// All schedules explored.
    pub fn schedules(&self) -> u64 {
        self.systematic + self.random
    }
}

/// A configurable checker.
///
/// ```
/// use pollcheck::{Checker, Scenario, ViolationKind};
/// use std::task::Poll;
///
/// // Returns Pending once without keeping or waking its waker: a lost wakeup.
/// let report = Checker::new(|| {
///     let mut first = true;
///     Scenario::new().task(std::future::poll_fn(move |_| {
///         if std::mem::take(&mut first) { Poll::Pending } else { Poll::Ready(()) }
///     }))
/// })
/// .seed(7)
/// .try_run()
/// .unwrap_err();
/// assert_eq!(report.kind(), ViolationKind::LostWakeup);
/// assert_eq!(report.schedule().to_string(), "p0");
/// ```
pub struct Checker<F> {
    factory: F,
    config: Result<Config, ConfigError>,
    replay: Option<Schedule>,
    /// Set by [`Checker::threads`], which knows the factory is `Sync`.
    parallel: Option<(usize, ParallelExplore<F>)>,
}

type ParallelExplore<F> = fn(&F, &Config, usize) -> Result<Summary, Report>;

impl<F: Fn() -> Scenario + Sync> Checker<F> {
    /// Explores on `threads` threads (1: on the calling thread, the default). Every
    /// thread builds its own scenarios with the factory, which must therefore be
    /// `Sync`; the scenarios themselves need not be `Send`. The verdict and the
    /// report are the same as on one thread.
    ///
    /// ```
    /// use futures_channel::oneshot;
    /// use pollcheck::{Checker, Scenario};
    ///
    /// let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    /// Checker::new(|| {
    ///     let (tx, rx) = oneshot::channel::<u32>();
    ///     Scenario::new().task(rx).step(move || { let _ = tx.send(7); })
    /// })
    /// .threads(threads)
    /// .run();
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.parallel = (threads > 1).then_some((threads, crate::parallel::explore::<F> as ParallelExplore<F>));
        self
    }
}

impl<F: Fn() -> Scenario> Checker<F> {
    /// A checker with the defaults and the `POLLCHECK_*` environment variables.
    pub fn new(factory: F) -> Self {
        Checker { factory, config: Config::from_env(), replay: None, parallel: None }
    }

    fn tweak(mut self, f: impl FnOnce(&mut Config)) -> Self {
        if let Ok(c) = &mut self.config {
            f(c);
        }
        self
    }

    /// Replaces the whole configuration (environment variables included).
    pub fn config(mut self, config: Config) -> Self {
        self.config = Ok(config);
        self
    }

    /// The systematic phase's bounds.
    pub fn bounds(self, bounds: Bounds) -> Self {
        self.tweak(|c| c.bounds = bounds)
    }

    /// The systematic phase's depth.
    pub fn depth(self, depth: usize) -> Self {
        self.tweak(|c| c.bounds.depth = depth)
    }

    /// Random schedules after the systematic phase (0 for none).
    pub fn cases(self, cases: u64) -> Self {
        self.tweak(|c| c.random_cases = cases)
    }

    /// The random phase's seed.
    pub fn seed(self, seed: u64) -> Self {
        self.tweak(|c| c.seed = seed)
    }

    /// See [`Config::spin_bound`].
    pub fn spin_bound(self, bound: u32) -> Self {
        self.tweak(|c| c.spin_bound = bound)
    }

    /// See [`Config::poll_timeout`].
    pub fn poll_timeout(self, timeout: Option<Duration>) -> Self {
        self.tweak(|c| c.poll_timeout = timeout)
    }

    /// Runs exactly this schedule (as printed in a report) instead of exploring.
    ///
    /// # Panics
    /// If `schedule` does not parse; the message names the bad token.
    #[track_caller]
    pub fn replay(mut self, schedule: &str) -> Self {
        match schedule.parse::<Schedule>() {
            Ok(s) => self.replay = Some(s),
            Err(e) => panic!("pollcheck: cannot replay {schedule:?}: {e}"),
        }
        self
    }

    /// Like [`replay`](Checker::replay) with a parsed schedule.
    pub fn replay_schedule(mut self, schedule: Schedule) -> Self {
        self.replay = Some(schedule);
        self
    }

    /// Explores, and panics with the report of the first violation.
    #[track_caller]
    pub fn run(self) -> Summary {
        match self.try_run() {
            Ok(summary) => summary,
            Err(report) => panic!("{report}"),
        }
    }

    /// Explores; returns what was explored, or the report of the first violation.
    ///
    /// # Panics
    /// If a `POLLCHECK_*` environment variable is invalid; the message names it and
    /// what it allows.
    #[track_caller]
    pub fn try_run(self) -> Result<Summary, Report> {
        let config = match self.config {
            Ok(c) => c,
            Err(e) => panic!("pollcheck: {e}"),
        };
        let factory = &self.factory;
        let replay = self.replay;
        if let (None, Some((threads, explore))) = (&replay, self.parallel) {
            return explore(factory, &config, threads);
        }
        watchdog::watch(config.poll_timeout, |heartbeat| {
            let judge = Judge::new(factory, config.spin_bound, heartbeat);
            match replay {
                Some(schedule) => match judge.judge_steps(schedule.steps()) {
                    Some(found) => Err(finish(&judge, found, FoundBy::Replay, &config, false)),
                    None => Ok(Summary { systematic: 0, random: 0, runs: 1 }),
                },
                None => explore(&judge, &config),
            }
        })
    }
}

fn explore(judge: &Judge<'_>, config: &Config) -> Result<Summary, Report> {
    let mut summary = Summary { systematic: 0, random: 0, runs: 0 };
    let mut found = None;
    let _ = systematic::explore(&config.bounds, |prefix, chooser| {
        summary.systematic += 1;
        let capture = prefix.iter().any(|s| matches!(s, Step::SpuriousPoll(_)));
        match judge.judge(chooser, capture) {
            Some(f) => {
                found = Some((f, FoundBy::Systematic { schedules: summary.systematic }));
                ControlFlow::Break(())
            }
            None => ControlFlow::Continue(()),
        }
    });
    if found.is_none() {
        for case in 0..config.random_cases {
            summary.random += 1;
            let mut walk =
                random::RandomWalk::new(random::case_seed(config.seed, case), &config.bounds, config.random_depth);
            if let Some(f) = judge.judge(&mut walk, true) {
                found = Some((f, FoundBy::Random { case, seed: config.seed }));
                break;
            }
        }
    }
    summary.runs = summary.systematic + summary.random;
    match found {
        Some((f, by)) => Err(finish(judge, f, by, config, true)),
        None => Ok(summary),
    }
}

/// Shrinks (unless replaying) and renders the report.
pub(crate) fn finish(judge: &Judge<'_>, found: Found, found_by: FoundBy, config: &Config, shrink: bool) -> Report {
    let shrunk_from = found.schedule.len();
    let found = if shrink { crate::shrink::shrink(judge, found, SHRINK_BUDGET).0 } else { found };
    let journal = judge.run(&mut Replay::new(&found.schedule), true, true).map(|o| o.journal).unwrap_or_default();
    Report::new(ReportData {
        violation: found.violation,
        schedule: Schedule::new(found.schedule),
        timeline: report::timeline(&journal),
        found_by,
        shrunk_from,
        seed: config.seed,
    })
}
