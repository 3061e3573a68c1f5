//! `check()` and the `Checker` builder: the one place that runs the phases in order.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use crate::explore::budget::{self, Deadline};
use crate::explore::finish::finish;
use crate::explore::judge::Judge;
use crate::explore::{random, systematic};
use crate::liveness::isolate::{self, Delivery, Mailbox};
use crate::liveness::{self, hang, Hang, OnHang, Phase, Session};
use crate::report::summary::Summary;
use crate::report::{FoundBy, Report};
use crate::spec::config::{Bounds, Config, ConfigError};
use crate::spec::scenario::Scenario;
use crate::spec::schedule::Schedule;

/// Checks the scenarios `factory` builds under every schedule of the default
/// exploration, and panics with the [`Report`] of the first violation.
///
/// The exploration runs on a helper thread, so that an action which never returns
/// (a busy loop, a deadlock) becomes a [`Hang`](crate::ViolationKind::Hang) report
/// within [`Config::poll_timeout`]; hence `Send + Sync + 'static`. A factory that
/// borrows or is not `Send` goes through [`Checker::local`].
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
pub fn check<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F) {
    Checker::new(factory).run();
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
///
/// A checker runs nothing until [`run`](Checker::run) or [`try_run`](Checker::try_run):
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// pollcheck::Checker::new(pollcheck::Scenario::new).seed(7); // error: unused `Checker`
/// ```
#[must_use = "a Checker checks nothing until `run` or `try_run` is called"]
pub struct Checker<F> {
    factory: F,
    config: Result<Config, ConfigError>,
    /// Set by [`Checker::depth`]: applied over the bounds whatever the order.
    depth: Option<usize>,
    /// The schedule to replay, or why the replay string does not parse.
    replay: Option<Result<Schedule, String>>,
    /// Set by [`Checker::threads`], which knows the factory is `Sync`.
    parallel: Option<(usize, ParallelExplore<F>)>,
    /// Set by [`Checker::new`], which knows the factory can move to a helper thread.
    isolate: Option<Isolate<F>>,
}

type ParallelExplore<F> = fn(&F, &Config, usize, Option<&Arc<Session>>) -> Result<Summary, Report>;
type Isolate<F> = fn(Checker<F>, Config) -> Result<Summary, Report>;

impl<F: Fn() -> Scenario + Send + Sync + 'static> Checker<F> {
    /// A checker with the defaults and the `POLLCHECK_*` environment variables.
    /// The variables are read once per process, at the first check: see
    /// [`Config::from_env`].
    ///
    /// It explores on a helper thread and waits for it, so that an action that never
    /// returns is reported as a [`Hang`](crate::ViolationKind::Hang) (the stuck thread
    /// is left behind) instead of hanging the test: hence the factory's bounds. For a
    /// factory that borrows from the test or is not `Send`, see [`Checker::local`].
    #[must_use = "a Checker checks nothing until `run` or `try_run` is called"]
    pub fn new(factory: F) -> Self {
        Checker {
            factory,
            config: Config::from_env(),
            depth: None,
            replay: None,
            parallel: None,
            isolate: Some(isolated::<F>),
        }
    }
}

impl<F: Fn() -> Scenario + Sync> Checker<F> {
    /// Explores on `threads` threads (1: on the calling thread, the default). Every
    /// thread builds its own scenarios with the factory, which must therefore be
    /// `Sync`; the scenarios themselves need not be `Send`. The verdict, the report
    /// and the summary's schedules are the same as on one thread (its
    /// [`runs`](Summary::runs) may be more: each thread remembers its own honest twins). The other threads start the first time
    /// a level of the systematic phase, or the random phase, holds about a thousand
    /// schedules, and stay until the check ends: a smaller check runs on the calling
    /// thread alone.
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
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn threads(mut self, threads: usize) -> Self {
        self.parallel =
            (threads > 1).then_some((threads, crate::explore::parallel::explore::<F> as ParallelExplore<F>));
        self
    }
}

impl<F: Fn() -> Scenario> Checker<F> {
    /// A checker for any factory, one that borrows from the test or builds `!Send`
    /// state included, exploring on the calling thread.
    ///
    /// The price: when an action does not return within the poll timeout, the
    /// calling thread is the stuck one, so pollcheck prints the full
    /// [`Hang`](crate::ViolationKind::Hang) report to stderr and ends the process
    /// with exit status 101 (under cargo nextest each test is its own process, so
    /// only that test fails). Prefer [`Checker::new`] where the factory allows it.
    ///
    /// ```
    /// use pollcheck::{Checker, Scenario};
    /// use std::cell::Cell;
    ///
    /// let runs = Cell::new(0); // borrowed by the factory: not 'static
    /// Checker::local(|| {
    ///     runs.set(runs.get() + 1);
    ///     Scenario::new().task(std::future::ready(1))
    /// })
    /// .run();
    /// assert!(runs.get() > 0);
    /// ```
    #[must_use = "a Checker checks nothing until `run` or `try_run` is called"]
    pub fn local(factory: F) -> Self {
        Checker { factory, config: Config::from_env(), depth: None, replay: None, parallel: None, isolate: None }
    }

    fn tweak(mut self, f: impl FnOnce(&mut Config)) -> Self {
        if let Ok(c) = &mut self.config {
            f(c);
        }
        self
    }

    /// Replaces the whole configuration (environment variables included), except a
    /// [`depth`](Checker::depth) given to the builder, which applies over it.
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn config(mut self, config: Config) -> Self {
        self.config = Ok(config);
        self
    }

    /// The systematic phase's bounds, every field included: a
    /// [`depth`](Checker::depth) given to the builder, before or after, applies over
    /// `bounds.depth`. Each bound must be within what its `POLLCHECK_*` variable
    /// allows ([`Bounds`] names them: `depth` from 1 to 64, the others from 0 to 64),
    /// else [`try_run`](Checker::try_run) returns an
    /// [`InvalidConfig`](crate::ViolationKind::InvalidConfig) report naming the field.
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn bounds(self, bounds: Bounds) -> Self {
        self.tweak(|c| c.bounds = bounds)
    }

    /// The systematic phase's depth (most scheduled steps per schedule), from 1 to 64
    /// as `POLLCHECK_DEPTH`. It wins over the depth of [`bounds`](Checker::bounds) and
    /// [`config`](Checker::config) whatever the order of the calls. Outside 1..=64,
    /// [`try_run`](Checker::try_run) returns an
    /// [`InvalidConfig`](crate::ViolationKind::InvalidConfig) report naming
    /// `Checker::depth`.
    ///
    /// The number of schedules grows exponentially with the depth. For a large
    /// scenario, rather than guess the depth that fits in the time a test may take,
    /// set a high depth and a [`budget`](Checker::budget): the check explores depth by
    /// depth, shortest schedules first, and stops when the time is spent, its
    /// [`Summary`] saying which depth it completed.
    ///
    /// ```
    /// use pollcheck::{Bounds, Checker, Scenario, ViolationKind};
    ///
    /// let factory = || Scenario::new().task(std::future::ready(1));
    /// let a = Checker::new(factory).depth(2).bounds(Bounds::default()).cases(0).run();
    /// let b = Checker::new(factory).bounds(Bounds::default()).depth(2).cases(0).run();
    /// assert_eq!(a, b);
    /// let report = Checker::new(factory).depth(0).try_run().unwrap_err();
    /// assert_eq!(report.kind(), ViolationKind::InvalidConfig);
    /// ```
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn depth(mut self, depth: usize) -> Self {
        self.depth = Some(depth);
        self
    }

    /// A time budget for the check (`POLLCHECK_BUDGET_MS`; none by default, see
    /// [`Config::budget`]). The systematic phase explores the shortest schedules first,
    /// one depth after the other, and stops when the budget is spent (it looks at the
    /// clock every few schedules, so it may run a little over); the random phase gets
    /// what is left, if anything. [`run`](Checker::run) prints one line to stderr when
    /// the budget cut the check short, and the [`Summary`] says how far it got:
    /// [`depth_completed`](Summary::depth_completed),
    /// [`next_depth_share`](Summary::next_depth_share), the
    /// [`random`](Summary::random) cases run and
    /// [`stopped_by_budget`](Summary::stopped_by_budget). With
    /// [`threads`](Checker::threads), every thread stops at the budget.
    ///
    /// With a high [`depth`](Checker::depth), this is what bounds a large scenario's
    /// check. The time taken to shrink and render a report for a violation found is
    /// not counted.
    ///
    /// ```
    /// use pollcheck::{Checker, Scenario};
    /// use std::time::Duration;
    ///
    /// let summary = Checker::new(|| {
    ///     let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    ///     Scenario::new().task(rx).step(move || drop(tx.send(7)))
    /// })
    /// .depth(40)
    /// .budget(Duration::from_millis(100))
    /// .run();
    /// // Within the budget, or stopped by it: either way the summary says how far.
    /// assert!(summary.depth_completed() >= 1 || summary.stopped_by_budget());
    /// ```
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn budget(self, budget: Duration) -> Self {
        self.tweak(|c| c.budget = Some(budget))
    }

    /// Random schedules after the systematic phase (0 for none).
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn cases(self, cases: u64) -> Self {
        self.tweak(|c| c.random_cases = cases)
    }

    /// The random phase's seed.
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn seed(self, seed: u64) -> Self {
        self.tweak(|c| c.seed = seed)
    }

    /// Allows one opt-in re-entrant action per schedule (see [`Mode`](crate::Mode)),
    /// on top of the other bounds.
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn mode(self, mode: crate::spec::config::Mode) -> Self {
        self.tweak(|c| c.bounds = c.bounds.with_mode(mode))
    }

    /// See `Config::reduce_interchangeable`: off only to measure or test the
    /// reduction of [`Scenario::tasks`].
    #[doc(hidden)]
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn reduce_interchangeable(self, on: bool) -> Self {
        self.tweak(|c| c.reduce_interchangeable = on)
    }

    /// See [`Config::spin_bound`].
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn spin_bound(self, bound: u32) -> Self {
        self.tweak(|c| c.spin_bound = bound)
    }

    /// Takes part `index` (from 1) of `count` of the exploration: see [`Shard`](crate::Shard)
    /// (`POLLCHECK_SHARD=index/count`).
    ///
    /// ```
    /// use futures_channel::oneshot;
    /// use pollcheck::{Checker, Scenario};
    ///
    /// let factory = || {
    ///     let (tx, rx) = oneshot::channel::<u32>();
    ///     Scenario::new().task(rx).step(move || { let _ = tx.send(7); })
    /// };
    /// let whole = Checker::new(factory).run().schedules();
    /// let parts: u64 = (1..=3).map(|i| Checker::new(factory).shard(i, 3).run().schedules()).sum();
    /// assert_eq!(parts, whole);
    /// ```
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn shard(mut self, index: u64, count: u64) -> Self {
        match crate::spec::config::Shard::new(index, count) {
            Some(shard) => self.tweak(|c| c.shard = shard),
            None => {
                self.config = Err(ConfigError {
                    var: "Checker::shard",
                    value: format!("{index}/{count}"),
                    expected: "1 <= index <= count".into(),
                });
                self
            }
        }
    }

    /// See [`Config::poll_timeout`].
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn poll_timeout(self, timeout: Option<Duration>) -> Self {
        self.tweak(|c| c.poll_timeout = timeout)
    }

    /// Runs exactly this schedule (as printed in a report) instead of exploring, then
    /// the honest drain and every check, as for an explored schedule.
    ///
    /// The replay is strict: a step that cannot run where it comes (`m0` on a task that
    /// is not `Unpin`, `p0` on a task that was not woken, `d` with no driver step left)
    /// fails the check, naming the step and why, so a regression test always runs what
    /// it names. (Schedules from proptest and fuzzers skip such steps instead.)
    ///
    /// If `schedule` does not parse, or a step cannot run where it comes,
    /// [`try_run`](Checker::try_run) returns an
    /// [`InvalidConfig`](crate::ViolationKind::InvalidConfig) report naming the bad
    /// token or step (and [`run`](Checker::run) panics with it).
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn replay(mut self, schedule: &str) -> Self {
        self.replay = Some(schedule.parse::<Schedule>().map_err(|e| format!("cannot replay {schedule:?}: {e}")));
        self
    }

    /// Like [`replay`](Checker::replay) with a parsed schedule.
    #[must_use = "a builder method returns the changed checker: chain it, then call `run` or `try_run`"]
    pub fn replay_schedule(mut self, schedule: Schedule) -> Self {
        self.replay = Some(Ok(schedule));
        self
    }

    /// Explores, and panics with the report of the first violation.
    #[track_caller]
    ///
    /// When the [budget](Checker::budget) cut the check short, it says so on stderr in
    /// one line, e.g. `pollcheck: the 500 ms budget stopped the check at depth 6
    /// complete, 40% of depth 7, 0 random cases; raise it or lower the depth`.
    pub fn run(self) -> Summary {
        match self.try_run() {
            Ok(summary) => {
                if let Some(note) = summary.budget_note() {
                    eprintln!("{note}");
                }
                summary
            }
            Err(report) => panic!("{report}"),
        }
    }

    /// Explores; returns what was explored, or the report of the first violation.
    ///
    /// An invalid `POLLCHECK_*` environment variable, builder setting or replay string
    /// checks nothing: the report is an
    /// [`InvalidConfig`](crate::ViolationKind::InvalidConfig) whose detail names it
    /// and what it allows.
    ///
    /// ```
    /// use pollcheck::{Checker, Scenario, ViolationKind};
    ///
    /// let report = Checker::new(Scenario::new).replay("p0 q0").try_run().unwrap_err();
    /// assert_eq!(report.kind(), ViolationKind::InvalidConfig);
    /// assert!(report.violation().detail().starts_with("cannot replay \"p0 q0\": bad schedule token `q0`"));
    /// ```
    pub fn try_run(self) -> Result<Summary, Report> {
        let config = self.valid_config().map_err(Report::invalid_config)?;
        match (self.isolate, config.poll_timeout) {
            (Some(isolate), Some(_)) if !cfg!(miri) => isolate(self, config),
            _ => {
                let session = config.poll_timeout.map(|t| Session::new(t, config.seed, OnHang::Exit));
                self.explore_here(&config, session.as_ref())
            }
        }
    }

    /// The configuration the builder settled on, or what is invalid in it.
    fn valid_config(&self) -> Result<Config, String> {
        let mut config = self.config.clone().map_err(|e| e.to_string())?;
        if let Some(depth) = self.depth {
            crate::spec::config::check_depth(depth).map_err(|e| e.to_string())?;
            config.bounds.depth = depth;
        }
        crate::spec::config::check_bounds(&config.bounds).map_err(|e| e.to_string())?;
        if let Some(Err(e)) = &self.replay {
            return Err(e.clone());
        }
        Ok(config)
    }

    /// Explores on this thread, watched for `session`.
    fn explore_here(&self, config: &Config, session: Option<&Arc<Session>>) -> Result<Summary, Report> {
        if let (None, Some((threads, explore))) = (&self.replay, self.parallel) {
            return explore(&self.factory, config, threads, session);
        }
        liveness::watch(session, |watched| {
            let judge = Judge::new(&self.factory, config.spin_bound, watched);
            match &self.replay {
                Some(Err(e)) => unreachable!("try_run returned the replay string's error: {e}"),
                Some(Ok(schedule)) => {
                    judge.set_phase(Phase::Replay);
                    match judge.judge_replay(schedule.steps()) {
                        Ok(Some(found)) => Err(finish(&judge, found, FoundBy::Replay, config, false)),
                        Ok(None) => Ok(Summary { runs: judge.runs(), ..Summary::start(None) }),
                        Err(refused) => Err(Report::invalid_config(format!("cannot replay \"{schedule}\": {refused}"))),
                    }
                }
                None => explore(&judge, config),
            }
        })
    }
}

/// Explores on a helper thread and waits for its verdict, or for the watchdog's word
/// that an action hangs; then the helper is left behind and the hang is the report.
fn isolated<F: Fn() -> Scenario + Send + Sync + 'static>(
    checker: Checker<F>,
    config: Config,
) -> Result<Summary, Report> {
    let timeout = config.poll_timeout.unwrap_or(Duration::MAX);
    let checker = Arc::new(checker);
    let mailbox: Arc<Mailbox<Result<Summary, Report>>> = Arc::default();
    let deliver = {
        let mailbox = Arc::clone(&mailbox);
        move |hang| mailbox.post(Delivery::Hang(hang))
    };
    let session = Session::new(timeout, config.seed, OnHang::Deliver(Box::new(deliver)));
    let job = {
        let (checker, config, session) = (Arc::clone(&checker), config.clone(), Arc::clone(&session));
        move || checker.explore_here(&config, Some(&session))
    };
    if !isolate::spawn(Arc::clone(&mailbox), job) {
        // No thread to be had: explore here; a hang then ends the process.
        let session = Session::new(timeout, config.seed, OnHang::Exit);
        return checker.explore_here(&config, Some(&session));
    }
    match mailbox.wait(None) {
        Some(Delivery::Done(Ok(verdict))) => verdict,
        Some(Delivery::Done(Err(panic))) => std::panic::resume_unwind(panic),
        Some(Delivery::Hang(hang)) => Err(hang_report(checker, hang, &config)),
        None => unreachable!("a wait without a limit returns a delivery"),
    }
}

/// How long a hang's timeline replay may take: it replays only actions that returned,
/// in microseconds, unless the scenario shares state with the stuck thread.
const TIMELINE_LIMIT: Duration = Duration::from_secs(1);

/// A hang's report, with the timeline of a journaled replay of the actions before the
/// stuck one (on another helper thread, given up after [`TIMELINE_LIMIT`]).
fn hang_report<F: Fn() -> Scenario + Send + Sync + 'static>(
    checker: Arc<Checker<F>>,
    hang: Hang,
    config: &Config,
) -> Report {
    let steps = hang.snapshot.steps[..hang.completed_actions()].to_vec();
    let spin_bound = config.spin_bound;
    let mailbox = Arc::default();
    let job = move || Judge::new(&checker.factory, spin_bound, None).journal_of(&steps);
    let timeline = if isolate::spawn(Arc::clone(&mailbox), job) {
        match mailbox.wait(Some(hang.timeout.min(TIMELINE_LIMIT))) {
            Some(Delivery::Done(Ok(timeline))) => timeline,
            _ => None,
        }
    } else {
        None
    };
    hang.into_report(timeline, hang::Outcome::Returned)
}

fn explore(judge: &Judge<'_>, config: &Config) -> Result<Summary, Report> {
    let deadline = Deadline::after(config.budget);
    let deadline = deadline.as_ref();
    let mut summary = Summary::start(config.budget);
    let mut found = None;
    let reached = systematic::explore(
        &config.bounds,
        config.reduce_interchangeable,
        config.shard,
        deadline,
        |prefix, chooser, owned| {
            if owned {
                summary.systematic += 1;
                judge.set_phase(Phase::Systematic(summary.systematic));
            }
            match systematic::judge_prefix(judge, prefix, chooser, owned) {
                Some(f) => {
                    found = Some((f, FoundBy::Systematic { schedules: summary.systematic }));
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            }
        },
    );
    if let ControlFlow::Continue(reached) = reached {
        summary.reached(reached);
    }
    if found.is_none() && !summary.stopped_by_budget() {
        let mut walk = random::RandomWalk::new(0, &config.bounds, config.random_depth);
        let mut clock = 0;
        for case in (0..config.random_cases).filter(|&c| config.shard.takes_case(c)) {
            if budget::spent(deadline, &mut clock) {
                summary.random_stopped();
                break;
            }
            summary.random += 1;
            judge.set_phase(Phase::Random(case));
            walk.restart(random::case_seed(config.seed, case));
            if let Some(f) = judge.judge(&mut walk, true) {
                found = Some((f, FoundBy::Random { case, seed: config.seed }));
                break;
            }
        }
    }
    summary.runs = judge.runs();
    match found {
        Some((f, by)) => Err(finish(judge, f, by, config, true)),
        None => Ok(summary),
    }
}
