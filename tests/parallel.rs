//! `Checker::threads(n)`: the verdict, the rendered report and the summary are those
//! of one thread, on the zoo's buggy and fixed futures, whether the bug is found in a
//! level or a random phase the threads share or in one the calling thread runs alone;
//! and a small check never leaves the calling thread.
//!
//! Under miri (a run costs milliseconds) fewer futures and schedules; there, runs of
//! two items already go to the workers, so the shared path is the one miri checks.

mod buggy;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use buggy::{bad_join, countdown, double_notify, first_waker, flag, notifier, relay_notifier, second_poll, Flavor};
use pollcheck::{Checker, Report, Scenario, Summary};

/// A verdict as text: the rendered report and how it was found, or the schedules of
/// the summary (not its runs: each thread remembers its own honest twins, so more
/// threads may run more twins).
fn verdict(result: Result<Summary, Report>) -> String {
    match result {
        Ok(summary) => format!("passed: {} systematic, {} random", summary.systematic, summary.random),
        Err(report) => format!("found by {:?}:\n{report}", report.found_by()),
    }
}

/// The exploration's depth and random cases (`None`: the default).
#[derive(Clone, Copy)]
struct Setup {
    depth: Option<usize>,
    cases: Option<u64>,
}

const DEFAULT: Setup = Setup { depth: None, cases: None };

/// The verdict on `factory` with `threads` threads.
fn check<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F, setup: Setup, threads: usize) -> String {
    let mut checker = Checker::new(factory).threads(threads);
    if let Some(depth) = setup.depth {
        checker = checker.depth(depth);
    }
    if let Some(cases) = setup.cases {
        checker = checker.cases(cases);
    }
    verdict(checker.try_run())
}

/// Asserts the same verdict on 2 and 3 threads as on one; returns it.
fn same_on_threads<F: Fn() -> Scenario + Send + Sync + Clone + 'static>(factory: F, setup: Setup) -> String {
    let one = check(factory.clone(), setup, 1);
    // Under miri, two threads only.
    for threads in [2, 3].into_iter().take(if cfg!(miri) { 1 } else { 2 }) {
        assert_eq!(check(factory.clone(), setup, threads), one, "on {threads} threads");
    }
    one
}

/// A zoo future by name.
type Zoo = (&'static str, fn(Flavor) -> Scenario);

/// The zoo futures compared, each in the form that shows its bug; under miri, the
/// first (caught within miri's default bounds: first_waker's bug is four steps deep).
fn zoo() -> Vec<Zoo> {
    let all: Vec<Zoo> = vec![
        ("flag", flag::scenario),
        ("first_waker", first_waker::scenario),
        ("second_poll", second_poll::scenario),
        ("notifier", notifier::scenario),
        ("relay_notifier", relay_notifier::must_finish),
        ("double_notify", double_notify::strict),
        ("bad_join", bad_join::scenario),
        ("countdown", countdown::scenario),
    ];
    all.into_iter().take(if cfg!(miri) { 1 } else { usize::MAX }).collect()
}

#[test]
fn the_verdict_and_the_report_are_those_of_one_thread() {
    for (name, scenario) in zoo() {
        for flavor in [Flavor::Buggy, Flavor::Fixed] {
            let verdict = same_on_threads(move || scenario(flavor), DEFAULT);
            // Every buggy flavor is caught within the default bounds; every fixed one passes.
            assert_eq!(verdict.starts_with("found"), flavor == Flavor::Buggy, "{name} {flavor:?}: {verdict}");
        }
    }
}

#[test]
fn a_bug_only_the_random_phase_reaches_is_found_in_the_same_case() {
    // First-waker's bug needs three scheduled steps: one step deep, only random cases
    // reach it, and enough of them to be shared. (Under miri too few run to reach it:
    // the verdicts must still agree.)
    let setup = Setup { depth: Some(1), cases: Some(if cfg!(miri) { 6 } else { 3000 }) };
    for (name, scenario) in zoo() {
        let verdict = same_on_threads(move || scenario(Flavor::Buggy), setup);
        if name == "first_waker" {
            assert!(cfg!(miri) || verdict.contains("Random"), "{verdict}");
        }
    }
}

/// `factory`, recording the names of the threads that build its scenarios.
fn recording(
    factory: fn() -> Scenario,
) -> (impl Fn() -> Scenario + Send + Sync + Clone + 'static, Arc<Mutex<BTreeSet<String>>>) {
    let names: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let seen = Arc::clone(&names);
    let factory = move || {
        let name = std::thread::current().name().unwrap_or("").to_owned();
        seen.lock().unwrap().insert(name);
        factory()
    };
    (factory, names)
}

fn on_workers(names: &Mutex<BTreeSet<String>>) -> bool {
    names.lock().unwrap().iter().any(|n| n.starts_with("pollcheck-worker"))
}

/// The notifier with two more tasks: its bug (a cancel after a driver step) sits in a
/// level of thousands of prefixes.
fn wide_notifier() -> Scenario {
    notifier::scenario(Flavor::Buggy).task(std::future::ready(1)).task(std::future::ready(2))
}

#[test]
fn a_bug_in_a_shared_level_is_reported_as_on_one_thread() {
    let depth = if cfg!(miri) { 2 } else { 5 };
    let (factory, names) = recording(wide_notifier);
    let verdict = same_on_threads(factory, Setup { depth: Some(depth), cases: Some(0) });
    assert!(on_workers(&names), "the workers built scenarios");
    assert!(cfg!(miri) || verdict.contains("Systematic"), "{verdict}");
}

#[test]
fn a_small_check_stays_on_the_calling_thread() {
    let (factory, names) = recording(|| countdown::scenario(Flavor::Fixed));
    let summary = Checker::new(factory).threads(2).run();
    assert_eq!(summary.schedules(), Checker::new(|| countdown::scenario(Flavor::Fixed)).run().schedules());
    // Under miri every run of two items or more is shared, to be checked.
    assert_eq!(on_workers(&names), cfg!(miri), "{:?}", names.lock().unwrap());
}

#[test]
fn a_large_check_is_shared_and_counts_the_same() {
    let (factory, names) = recording(|| notifier::scenario(Flavor::Fixed));
    // Under miri (where every run of two items or more is shared) depth 2.
    let (depth, cases) = if cfg!(miri) { (Some(2), 4) } else { (None, 5000) };
    let verdict = same_on_threads(factory, Setup { depth, cases: Some(cases) });
    assert!(verdict.starts_with("passed"), "{verdict}");
    assert!(on_workers(&names), "the workers built scenarios");
}

#[test]
fn shards_share_their_part_and_count_as_on_one_thread() {
    // Under miri (a run costs milliseconds) depth 2: the shards still split a level
    // between the threads.
    let (depth, cases, count) = if cfg!(miri) { (2, 4, 2) } else { (7, 6000, 3) };
    let fixed = || notifier::scenario(Flavor::Fixed);
    let whole = Checker::new(fixed).depth(depth).cases(cases).run();
    let mut sum = (0, 0);
    for index in 1..=count {
        let shard = |threads| Checker::new(fixed).depth(depth).cases(cases).shard(index, count).threads(threads).run();
        let (one, two) = (shard(1), shard(2));
        assert_eq!(two, one, "shard {index}/{count}");
        sum = (sum.0 + two.systematic, sum.1 + two.random);
        // The notifier's bug, in whichever shard owns it: the same verdict there too.
        let buggy = move || notifier::scenario(Flavor::Buggy);
        let shard = |threads| {
            verdict(Checker::new(buggy).depth(depth).cases(cases).shard(index, count).threads(threads).try_run())
        };
        assert_eq!(shard(2), shard(1), "shard {index}/{count}, buggy");
    }
    assert_eq!(sum, (whole.systematic, whole.random));
}

/// `Summary::runs` counts every scenario built, the workers' included.
#[test]
fn runs_count_every_scenario_built_on_every_thread() {
    let built = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (factory, names) = recording(|| countdown::scenario(Flavor::Fixed).task(std::future::ready(1)));
    let counted = {
        let built = Arc::clone(&built);
        move || {
            built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            factory()
        }
    };
    let depth = if cfg!(miri) { 2 } else { 5 };
    let summary = Checker::new(counted).depth(depth).cases(if cfg!(miri) { 2 } else { 3000 }).threads(2).run();
    assert!(on_workers(&names), "the workers built scenarios");
    assert_eq!(summary.runs, built.load(std::sync::atomic::Ordering::Relaxed), "{summary:?}");
    assert!(summary.runs >= summary.schedules(), "{summary:?}");
}
