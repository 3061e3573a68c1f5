//! Time and schedules until the first detection, for every buggy future of
//! tests/detectors.rs: pollcheck's systematic phase, its random phase alone, its
//! proptest entry point (feature `proptest`), and the peer crate futures-testing 0.1.1
//! driven the way its README shows.
//!
//! ```sh
//! cargo bench --bench detection --features proptest 2>/dev/null
//! ```
//!
//! Prints a markdown table (BENCHMARKS.md keeps it). Without `--features proptest`
//! the proptest column says so. A plain-`main` bench: the figures are counts and
//! medians over seeds, not one timed closure. Environment knobs: `DETECT_SEEDS`
//! (seeds per randomized explorer, default 20), `DETECT_REPEATS` (timed repeats of the
//! deterministic systematic phase, default 20), `PEER_TRIALS` (futures-testing runs
//! per bug, default 10) and `PEER_BUDGET_MS` (arbtest's budget per run, default 1000).
//!
//! What each column runs:
//!
//! - systematic: `Checker::new(..).cases(0).try_run()`; schedules from
//!   `FoundBy::Systematic`; timed as `check()` runs it, and again with the watchdog
//!   thread off (`.poll_timeout(None)`).
//! - random alone: `Checker::new(..).depth(1).cases(100_000).seed(s)`: depth 1 (the
//!   least valid bound; depth 0 is refused since bounds are checked) leaves the
//!   systematic phase its first level, the honest run and its one-step children. Where
//!   the honest run already shows the bug, the random phase never starts and the cell
//!   says "honest run"; a bug one step deep is found by that level, not at random.
//! - proptest: `pollcheck::proptest::PropChecker::new(..).seed(s).try_run()`; schedules
//!   from `FoundBy::Proptest { case }` (from 1).
//! - futures-testing: `futures_testing::tests(testcase!(|| (driver, factory)))`
//!   `.budget_ms(b).run()` under `catch_unwind`; a panic is a detection; iterations are
//!   calls of the test case's `init` (one per arbtest input).
//!
//! Every pollcheck time is the whole `try_run`: exploration until the violation, then
//! shrinking and rendering the report, watchdog thread included; futures-testing's is
//! the search until its panic (arbtest minimizes only when asked to).

use std::future::Future;
use std::ops::ControlFlow;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_testing::{drive_poll_fn, testcase, Driver};
use pollcheck::{Bounds, Checker, FoundBy, FutureCheckExt, Report, Scenario, ViolationKind};

#[path = "../tests/buggy/mod.rs"]
mod buggy;

use buggy::{
    bad_join, countdown, first_waker, flag, leaky, locked_wake, moving_combinator, notifier, second_poll, spinner,
    spurious, wake_before_store, Flavor,
};

/// A futures-testing runner over `$parts()`; the string notes how it was expressed.
macro_rules! peer {
    ($parts:ident, $note:expr) => {{
        fn run(budget_ms: u64) -> bool {
            let test = || futures_testing::tests(testcase!(|| peer_pair($parts()))).budget_ms(budget_ms).run();
            match catch_unwind(AssertUnwindSafe(test)) {
                Ok(()) => false,
                Err(panic) => detection(&*panic),
            }
        }
        Peer::Runs(run, $note)
    }};
}

/// One buggy future of tests/detectors.rs.
struct Bug {
    name: &'static str,
    kind: ViolationKind,
    scenario: fn(Flavor) -> Scenario,
    /// Bounds other than the default (as tests/detectors.rs uses them).
    bounds: Option<Bounds>,
    peer: Peer,
}

/// How futures-testing runs the same future.
enum Peer {
    /// A runner: one arbtest search with this budget; `true` if it panicked.
    Runs(fn(u64) -> bool, &'static str),
    /// The bug needs something futures-testing has no way to say.
    NotExpressible(&'static str),
}

fn with_inside_wake() -> Bounds {
    Bounds { polls_inside_wake: 1, ..Bounds::default() }
}

fn with_reentrant_steps() -> Bounds {
    Bounds { reentrant: 1, ..Bounds::default() }
}

fn bugs() -> Vec<Bug> {
    use ViolationKind::*;
    vec![
        Bug { name: "flag", kind: LostWakeup, scenario: flag::scenario, bounds: None, peer: peer!(flag_parts, "") },
        Bug {
            name: "countdown",
            kind: LostWakeup,
            scenario: countdown::scenario,
            bounds: None,
            peer: peer!(countdown_parts, ""),
        },
        Bug {
            name: "first_waker",
            kind: StaleWaker,
            scenario: first_waker::scenario,
            bounds: None,
            peer: peer!(first_waker_parts, "swaps wakers only after a wake"),
        },
        Bug {
            name: "wake_before_store",
            kind: LostWakeup,
            scenario: wake_before_store::scenario,
            bounds: Some(with_inside_wake()),
            peer: peer!(wake_before_store_parts, "never polls inside a wake"),
        },
        Bug {
            name: "second_poll",
            kind: SpuriousPoll,
            scenario: second_poll::scenario,
            bounds: None,
            peer: peer!(second_poll_parts, "factory asserts the value"),
        },
        Bug {
            name: "spurious::panicking",
            kind: SpuriousPoll,
            scenario: spurious::panicking,
            bounds: None,
            peer: peer!(panicking_parts, ""),
        },
        Bug {
            name: "spurious::counting",
            kind: SpuriousPoll,
            scenario: spurious::counting,
            bounds: None,
            peer: peer!(counting_parts, "no honest twin to compare outputs with"),
        },
        Bug {
            name: "notifier",
            kind: LostWakeup,
            scenario: notifier::scenario,
            bounds: None,
            peer: Peer::NotExpressible(
                "two waiters must be pending at once and one cancelled alone: it runs one future at a time",
            ),
        },
        Bug {
            name: "spinner",
            kind: Spin,
            scenario: spinner::scenario,
            bounds: None,
            peer: peer!(spinner_parts, "no spin check: a run ends after 255 choices"),
        },
        Bug {
            name: "bad_join",
            kind: PollAfterReady,
            scenario: bad_join::scenario,
            bounds: None,
            peer: peer!(bad_join_parts, "the zoo's `.checked()` children panic"),
        },
        Bug {
            name: "moving_combinator",
            kind: MovedWhilePinned,
            scenario: moving_combinator::scenario,
            bounds: None,
            peer: peer!(moving_combinator_parts, "the zoo's `.checked()` child panics"),
        },
        Bug {
            name: "locked_wake",
            kind: Panic,
            scenario: locked_wake::scenario,
            bounds: Some(with_reentrant_steps()),
            peer: peer!(locked_wake_parts, "its waker runs no code (no re-entrant step)"),
        },
        Bug {
            name: "leaky",
            kind: LeakedWaker,
            scenario: leaky::scenario,
            bounds: None,
            peer: peer!(leaky_parts, "no leak check after teardown"),
        },
    ]
}

// ---------------------------------------------------------------------------------
// futures-testing: the same zoo futures as one future under test plus driver steps.

/// `init` calls of the running futures-testing test case: one per arbtest input.
static PEER_ITERATIONS: AtomicU64 = AtomicU64::new(0);

/// The future under test (its output checked inside, as a user's factory would) and
/// the driver's steps, run one per `Drive` choice.
type PeerParts = (Pin<Box<dyn Future<Output = ()>>>, Vec<Box<dyn FnOnce()>>);

/// The README's shape: a `drive_poll_fn` driver (a step made progress: `Ready`;
/// `Break` after the last; nothing left: `Pending`) and an async factory. The future
/// under test is consumed by value, so the factory awaits it by reference: a `Cancel`
/// drops that await, not the future (as `select!` over `&mut fut` does), and once the
/// future finished the factory returns at once instead of polling it again.
fn peer_pair<'a>((mut fut, steps): PeerParts) -> (impl Driver<'a>, impl AsyncFnMut(())) {
    PEER_ITERATIONS.fetch_add(1, Relaxed);
    let mut steps = steps.into_iter();
    let driver = drive_poll_fn(move |(): ()| match steps.next() {
        Some(step) => {
            step();
            Poll::Ready(if steps.len() == 0 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        }
        None => Poll::Pending,
    });
    let mut done = false;
    let factory = async move |(): ()| {
        if !done {
            fut.as_mut().await;
            done = true;
        }
    };
    (driver, factory)
}

/// Whether a panic out of arbtest is a detection: arbtest also panics when no input
/// at all ran to the end ("no fitting seeds"), which finds nothing.
fn detection(panic: &(dyn std::any::Any + Send)) -> bool {
    let text = panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied());
    if text.is_some_and(|t| t.starts_with("no fitting seeds")) {
        eprintln!("futures-testing: no input ran to the end: {text:?}");
        return false;
    }
    true
}

/// The flavor the futures-testing parts build: buggy, except for the sanity pass that
/// checks that every fixed flavor passes under futures-testing too.
static PEER_FIXED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn flavor() -> Flavor {
    if PEER_FIXED.load(Relaxed) {
        Flavor::Fixed
    } else {
        Flavor::Buggy
    }
}

fn step(f: impl FnOnce() + 'static) -> Box<dyn FnOnce()> {
    Box::new(f)
}

fn flag_parts() -> PeerParts {
    let (flag, wait) = flag::Flag::new(flavor());
    (Box::pin(wait), vec![step(move || flag.set())])
}

fn countdown_parts() -> PeerParts {
    let cd = countdown::Countdown { left: 3, flavor: flavor() };
    (Box::pin(async move { assert_eq!(cd.await, "liftoff") }), vec![])
}

fn first_waker_parts() -> PeerParts {
    let (tx, rx) = first_waker::channel(flavor());
    (Box::pin(async move { assert_eq!(rx.await, 7) }), vec![step(move || tx.send(7))])
}

fn wake_before_store_parts() -> PeerParts {
    let (tx, rx) = wake_before_store::channel(flavor());
    (Box::pin(async move { assert_eq!(rx.await, 7) }), vec![step(move || tx.send(7))])
}

fn second_poll_parts() -> PeerParts {
    let (rx, send) = second_poll::parts(flavor());
    (Box::pin(async move { assert_eq!(rx.await, Some(7)) }), vec![step(send)])
}

fn panicking_parts() -> PeerParts {
    let (rx, send) = spurious::panicking_parts(flavor());
    (Box::pin(async move { assert_eq!(rx.await, 7) }), vec![step(send)])
}

fn counting_parts() -> PeerParts {
    // The poll count in the output is the bug; a property cannot know the right one.
    let (rx, send) = spurious::counting_parts(flavor());
    (Box::pin(async move { assert_eq!(rx.await.0, 7) }), vec![step(send)])
}

fn spinner_parts() -> PeerParts {
    let (rx, close) = spinner::parts(flavor());
    (Box::pin(async move { assert_eq!(rx.await, None) }), vec![step(close)])
}

fn bad_join_parts() -> PeerParts {
    let (tx1, rx1) = first_waker::channel(Flavor::Fixed);
    let (tx2, rx2) = first_waker::channel(Flavor::Fixed);
    let join = bad_join::join(rx1.checked(), rx2.checked(), flavor());
    (
        Box::pin(async move { assert_eq!(join.await, (1, 2)) }),
        vec![step(move || tx1.send(1)), step(move || tx2.send(2))],
    )
}

fn moving_combinator_parts() -> PeerParts {
    let (tx, rx) = first_waker::channel(Flavor::Fixed);
    let inline = moving_combinator::inline(rx.checked(), flavor());
    (Box::pin(async move { assert_eq!(inline.await, 7) }), vec![step(move || tx.send(7))])
}

fn locked_wake_parts() -> PeerParts {
    let (tx, rx) = locked_wake::channel(flavor());
    let tx = std::rc::Rc::new(tx);
    let tx2 = tx.clone();
    (Box::pin(async move { assert_eq!(rx.await, 1) }), vec![step(move || tx.send(1)), step(move || tx2.send(2))])
}

fn leaky_parts() -> PeerParts {
    // One future under test: a race of the long timer (never fired) against the short
    // one (fired by the driver), so the long one is dropped unfired, as in the zoo.
    let (long, _never) = leaky::timer(flavor());
    let (short, fire) = leaky::timer(flavor());
    let race = futures_util::future::select(long, short);
    (Box::pin(async move { assert!(matches!(race.await, futures_util::future::Either::Right(_))) }), vec![step(fire)])
}

// ---------------------------------------------------------------------------------
// Measuring.

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn fmt_ms(ms: f64) -> String {
    if ms < 0.1 {
        format!("{:.1} µs", ms * 1e3)
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn checker(bug: &Bug) -> Checker<impl Fn() -> Scenario> {
    let scenario = bug.scenario;
    let c = Checker::new(move || scenario(Flavor::Buggy));
    match bug.bounds {
        Some(b) => c.bounds(b),
        None => c,
    }
}

fn expect_kind(bug: &Bug, result: Result<pollcheck::Summary, Report>, what: &str) -> Report {
    let report = match result {
        Ok(summary) => panic!("{}: {what} passed {} schedules", bug.name, summary.schedules()),
        Err(report) => report,
    };
    assert_eq!(report.kind(), bug.kind, "{}: {what}\n{report}", bug.name);
    report
}

/// The systematic phase: deterministic, so one count and the median of the timings,
/// with the default watchdog and without it (`.poll_timeout(None)`).
fn systematic(bug: &Bug, repeats: u64) -> String {
    let (mut times, mut times_off) = (Vec::new(), Vec::new());
    let mut schedules = 0;
    for _ in 0..repeats {
        for watchdog in [true, false] {
            let c = checker(bug).cases(0);
            let c = if watchdog { c } else { c.poll_timeout(None) };
            let start = Instant::now();
            let report = expect_kind(bug, c.try_run(), "systematic phase");
            if watchdog { &mut times } else { &mut times_off }.push(ms(start.elapsed()));
            match report.found_by() {
                FoundBy::Systematic { schedules: s } => schedules = *s,
                other => panic!("{}: found by {other}", bug.name),
            }
        }
    }
    format!("{schedules} / {} ({} without watchdog)", fmt_ms(median(times)), fmt_ms(median(times_off)))
}

/// The random phase behind a one-schedule systematic phase, over `seeds` seeds.
fn random_alone(bug: &Bug, seeds: u64) -> String {
    let (mut counts, mut times, mut honest) = (Vec::new(), Vec::new(), 0);
    for seed in 0..seeds {
        let start = Instant::now();
        let report = expect_kind(bug, checker(bug).depth(1).cases(100_000).seed(seed).try_run(), "random phase");
        times.push(ms(start.elapsed()));
        match report.found_by() {
            FoundBy::Systematic { schedules: 1 } => honest += 1,
            FoundBy::Random { case, .. } => counts.push((case + 2) as f64),
            other => panic!("{}: found by {other}", bug.name),
        }
    }
    if honest == seeds {
        return format!("honest run / {}", fmt_ms(median(times)));
    }
    let max = counts.iter().copied().fold(0.0, f64::max);
    let honest = if honest > 0 { format!(" ({honest} by the honest run)") } else { String::new() };
    format!("{} (max {max}){honest} / {}", median(counts), fmt_ms(median(times)))
}

#[cfg(feature = "proptest")]
fn proptest(bug: &Bug, seeds: u64) -> String {
    use pollcheck::proptest::PropChecker;
    let (mut counts, mut times) = (Vec::new(), Vec::new());
    let mut missed = 0;
    for seed in 0..seeds {
        let scenario = bug.scenario;
        let mut c = PropChecker::new(move || scenario(Flavor::Buggy));
        if let Some(bounds) = bug.bounds {
            c = c.config(pollcheck::Config { bounds, ..pollcheck::Config::default() });
        }
        let start = Instant::now();
        let result = c.seed(seed).try_run();
        let elapsed = ms(start.elapsed());
        let report = match result {
            Ok(_) => {
                missed += 1;
                continue;
            }
            Err(report) => report,
        };
        assert_eq!(report.kind(), bug.kind, "{}: proptest\n{report}", bug.name);
        times.push(elapsed);
        match report.found_by() {
            FoundBy::Proptest { case, .. } => counts.push(*case as f64),
            other => panic!("{}: found by {other}", bug.name),
        }
    }
    let max = counts.iter().copied().fold(0.0, f64::max);
    let missed = if missed > 0 { format!(", missed by {missed} of {seeds} seeds") } else { String::new() };
    format!("{} (max {max}){missed} / {}", median(counts), fmt_ms(median(times)))
}

#[cfg(not(feature = "proptest"))]
fn proptest(_: &Bug, _: u64) -> String {
    "(needs `--features proptest`)".to_owned()
}

fn peer(bug: &Bug, trials: u64, budget_ms: u64) -> String {
    let (run, note) = match bug.peer {
        Peer::NotExpressible(why) => return format!("not expressible: {why}"),
        Peer::Runs(run, note) => (run, note),
    };
    let (mut found, mut iterations, mut times) = (0, Vec::new(), Vec::new());
    let mut iterations_missed = Vec::new();
    // futures-testing reports by panicking; keep the panic messages off the output.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for _ in 0..trials {
        PEER_ITERATIONS.store(0, Relaxed);
        let start = Instant::now();
        let panicked = run(budget_ms);
        let elapsed = ms(start.elapsed());
        let n = PEER_ITERATIONS.load(Relaxed) as f64;
        if panicked {
            found += 1;
            iterations.push(n);
            times.push(elapsed);
        } else {
            iterations_missed.push(n);
        }
    }
    std::panic::set_hook(hook);
    let note = if note.is_empty() { String::new() } else { format!(" ({note})") };
    if found == 0 {
        return format!("not found in {trials} × {budget_ms} ms (~{:.0} runs each){note}", median(iterations_missed));
    }
    let max = iterations.iter().copied().fold(0.0, f64::max);
    let rate = if found < trials { format!(", found in {found} of {trials}") } else { String::new() };
    format!("{} (max {max}){rate} / {}{note}", median(iterations), fmt_ms(median(times)))
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters bugs by name.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let seeds = env("DETECT_SEEDS", 20);
    let repeats = env("DETECT_REPEATS", 20);
    let trials = env("PEER_TRIALS", 10);
    let budget = env("PEER_BUDGET_MS", 1000);
    println!(
        "Each cell: schedules (runs, for futures-testing) until the first detection / wall time of the run that \
         found it. systematic: median of {repeats} runs; random alone and proptest: median (and max) over seeds \
         0..{seeds}; futures-testing: median (and max) over {trials} searches of at most {budget} ms.\n"
    );
    println!("| buggy future | kind | systematic | random alone | proptest | futures-testing 0.1.1 |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let bugs: Vec<Bug> = bugs()
        .into_iter()
        .filter(|bug| filter.is_empty() || filter.iter().any(|f| bug.name.contains(f.as_str())))
        .collect();
    // Fairness: every fixed flavor must pass under futures-testing.
    PEER_FIXED.store(true, Relaxed);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for bug in &bugs {
        if let Peer::Runs(run, _) = bug.peer {
            PEER_ITERATIONS.store(0, Relaxed);
            assert!(!run(budget / 4), "futures-testing fails the fixed {}", bug.name);
            eprintln!("fixed {}: passes {} futures-testing runs", bug.name, PEER_ITERATIONS.load(Relaxed));
        }
    }
    std::panic::set_hook(hook);
    PEER_FIXED.store(false, Relaxed);
    // pollcheck first, futures-testing after: a `.checked()` child that panics under
    // futures-testing leaves its violation in a thread-local that the next pollcheck
    // run on this thread would take for its own (see BENCHMARKS.md).
    let ours: Vec<[String; 3]> =
        bugs.iter().map(|bug| [systematic(bug, repeats), random_alone(bug, seeds), proptest(bug, seeds)]).collect();
    for (bug, [systematic, random, proptest]) in bugs.iter().zip(ours) {
        let peer = peer(bug, trials, budget);
        println!("| {} | {} | {systematic} | {random} | {proptest} | {peer} |", bug.name, bug.kind);
    }
}
