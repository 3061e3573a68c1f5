//! `Checker::budget` and `POLLCHECK_BUDGET_MS`: a large scenario at a high depth stops
//! at the budget, shortest schedules first, and says how far it got; a bug within
//! reach is still found; `threads(2)` stops too; the variable parses with a clear
//! error for a bad value, and `run` prints one line when the budget cut the check.
//!
//! Under miri (a run costs milliseconds) a small scenario and a tiny budget, and no
//! wall-clock bound: miri's clock is not the machine's.

mod buggy;

use std::sync::Arc;
use std::time::{Duration, Instant};

use buggy::{notifier, Flavor};
use pollcheck::{Bounds, Checker, Config, Scenario, Summary, ViolationKind};
use tokio::sync::Semaphore;

/// The budget of the checks here. Under miri, whose clock advances with the
/// instructions run (the same in every run), about six schedules: level 1 is cut
/// short, on two threads by the workers too.
const BUDGET: Duration = if cfg!(miri) { Duration::from_secs(1) } else { Duration::from_millis(500) };

/// A generous wall-clock bound on a budgeted check: six times the budget.
const WITHIN: Duration = Duration::from_secs(3);

/// `waiters` tasks that each acquire a permit of an empty semaphore and drop it, and
/// as many driver steps that each add a permit: at depth 9, millions of schedules.
fn semaphore(waiters: usize) -> Scenario {
    let sem = Arc::new(Semaphore::new(0));
    let mut scenario = Scenario::new().all_must_finish();
    for _ in 0..waiters {
        let sem = Arc::clone(&sem);
        scenario = scenario.task(async move { drop(sem.acquire().await) });
    }
    for _ in 0..waiters {
        let sem = Arc::clone(&sem);
        scenario = scenario.step(move || sem.add_permits(1));
    }
    scenario
}

/// The large scenario: 4 waiters and 4 steps (2 and 2 under miri).
fn large() -> Scenario {
    semaphore(if cfg!(miri) { 2 } else { 4 })
}

/// Runs `checker`, checks that it stopped at the budget, within [`WITHIN`] outside
/// miri, having completed depth 1 at least; returns the summary and the time taken.
fn stops_at_the_budget<F: Fn() -> Scenario + Send + Sync + 'static>(checker: Checker<F>) -> (Summary, Duration) {
    let start = Instant::now();
    let summary = checker.run();
    let took = start.elapsed();
    eprintln!(
        "took {took:?}: depth {} complete, {:.0}% of the next, {} systematic, {} random, stopped: {}",
        summary.depth_completed(),
        summary.next_depth_share() * 100.0,
        summary.systematic,
        summary.random,
        summary.stopped_by_budget(),
    );
    if !cfg!(miri) {
        assert!(took < WITHIN, "a {BUDGET:?} budget took {took:?}");
    }
    assert!(summary.stopped_by_budget(), "{summary:?}");
    assert!(summary.depth_completed() < 9, "{summary:?}");
    assert!((0.0..1.0).contains(&summary.next_depth_share()), "{summary:?}");
    assert_eq!(summary.random, 0, "the systematic phase spent the budget: {summary:?}");
    if !cfg!(miri) {
        assert!(summary.depth_completed() >= 1, "{summary:?}");
    }
    (summary, took)
}

#[test]
fn a_large_scenario_at_depth_9_stops_at_the_budget() {
    stops_at_the_budget(Checker::new(large).depth(9).budget(BUDGET));
}

#[test]
fn threads_stop_at_the_budget_too() {
    stops_at_the_budget(Checker::new(large).depth(9).budget(BUDGET).threads(2));
}

#[test]
fn the_multi_waiter_bug_is_still_found_within_the_budget() {
    // Found at depth 4 (`p0 p1 d c0`), which the shortest-first search reaches early.
    // Under miri, whose clock runs with the instructions, a budget that fits depth 4,
    // and only the cancellation the bug needs.
    let checker = Checker::new(|| notifier::scenario(Flavor::Buggy));
    let checker = if cfg!(miri) {
        let bounds = Bounds { depth: 4, spurious: 0, new_wakers: 0, abandons: 0, moves: 0, ..Bounds::default() };
        checker.bounds(bounds).cases(0).budget(Duration::from_secs(3600))
    } else {
        checker.depth(9).budget(BUDGET)
    };
    let start = Instant::now();
    let report = checker.try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::LostWakeup, "{report}");
    if !cfg!(miri) {
        assert!(start.elapsed() < WITHIN, "took {:?}", start.elapsed());
    }
}

#[test]
fn without_a_budget_the_summary_says_the_whole_depth() {
    let depth = if cfg!(miri) { 2 } else { 3 };
    let summary = Checker::new(|| notifier::scenario(Flavor::Fixed)).depth(depth).cases(1).run();
    assert!(!summary.stopped_by_budget());
    assert_eq!(summary.depth_completed(), depth);
    assert_eq!(summary.next_depth_share(), 0.0);
    // A budget the check does not need changes nothing it explores.
    let budgeted = Checker::new(|| notifier::scenario(Flavor::Fixed))
        .depth(depth)
        .cases(1)
        .budget(Duration::from_secs(3600))
        .run();
    assert_eq!((budgeted.systematic, budgeted.random), (summary.systematic, summary.random));
    assert_eq!(budgeted.depth_completed(), depth);
    assert!(!budgeted.stopped_by_budget());
}

#[test]
fn the_random_phase_gets_what_is_left_of_the_budget() {
    // A small systematic phase, then far more random cases than the budget allows.
    // Under miri (its clock advances with the instructions run, the same in every
    // run) a tiny scenario at depth 1, whose few schedules fit in 1.5 s of it.
    let start = Instant::now();
    let summary = if cfg!(miri) {
        let tiny = || Scenario::new().task(std::future::ready(()));
        Checker::new(tiny).depth(1).cases(1_000).budget(Duration::from_millis(1500)).run()
    } else {
        Checker::new(|| semaphore(2)).depth(2).cases(u64::MAX).budget(BUDGET).run()
    };
    let (depth, cases) = if cfg!(miri) { (1, 1_000) } else { (2, u64::MAX) };
    if !cfg!(miri) {
        assert!(start.elapsed() < WITHIN, "took {:?}", start.elapsed());
    }
    assert!(summary.stopped_by_budget(), "{summary:?}");
    assert_eq!(summary.depth_completed(), depth, "{summary:?}");
    assert!(summary.random < cases, "{summary:?}");
}

const CHILD: &str = "POLLCHECK_TEST_BUDGET_CHILD";

/// Runs in a child process (this test binary again) with `POLLCHECK_BUDGET_MS` set by
/// the parent: variables are read once per process.
#[test]
#[ignore = "run in a child process by the tests that call in_child"]
fn budget_child() {
    match std::env::var(CHILD).as_deref() {
        Ok("valid") => {
            assert_eq!(Config::from_env().unwrap().budget, Some(Duration::from_millis(300)));
            let summary = Checker::new(large).depth(9).run();
            assert!(summary.stopped_by_budget(), "{summary:?}");
        }
        Ok("invalid") => {
            let report = Checker::new(large).try_run().unwrap_err();
            assert_eq!(report.kind(), ViolationKind::InvalidConfig);
            println!("detail: {}", report.violation().detail());
        }
        _ => {}
    }
}

/// Runs [`budget_child`] as `which` with `POLLCHECK_BUDGET_MS=value`; returns its
/// stdout and stderr after checking that it passed.
fn in_child(which: &str, value: &str) -> (String, String) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "budget_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD, which)
        .env("POLLCHECK_BUDGET_MS", value)
        .output()
        .unwrap();
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
#[cfg_attr(miri, ignore = "spawns a child process, which miri cannot")]
fn the_variable_sets_the_budget_and_run_says_when_it_cut_the_check() {
    let (_, stderr) = in_child("valid", "300");
    let line = stderr.lines().find(|l| l.starts_with("pollcheck: the 300 ms budget stopped the check at depth "));
    let line = line.unwrap_or_else(|| panic!("no budget line in:\n{stderr}"));
    assert!(line.contains(" complete, "), "{line}");
    assert!(line.ends_with(", 0 random cases; raise it or lower the depth"), "{line}");
    assert_eq!(stderr.matches("budget stopped").count(), 1, "{stderr}");
}

#[test]
#[cfg_attr(miri, ignore = "spawns a child process, which miri cannot")]
fn a_bad_variable_is_a_clear_error() {
    for bad in ["500ms", "-1", "0.5", "soon"] {
        let (stdout, _) = in_child("invalid", bad);
        let expected = format!(
            "detail: POLLCHECK_BUDGET_MS={bad:?} is not valid: expected a whole number of milliseconds, decimal or \
             0x hex (0: no budget)"
        );
        assert!(stdout.contains(&expected), "{expected:?} not in:\n{stdout}");
    }
}
