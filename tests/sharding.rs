//! Sharding: `n` shards of a check run exactly the schedules of the whole check, each
//! once, in both phases and on any number of threads (counted on the zoo's fixed
//! flavors; src/explore/systematic.rs proves disjointness schedule by schedule).

mod buggy;

use buggy::{flag, notifier, relay_notifier, Flavor};
use pollcheck::{Checker, Scenario, Summary};

fn counts(summary: Summary) -> (u64, u64) {
    (summary.systematic, summary.random)
}

fn shards_add_up(factory: fn() -> Scenario, threads: usize) {
    // Under miri (a run costs milliseconds) two shards of a depth-2 exploration.
    let (depth, cases, shard_counts) = if cfg!(miri) { (2, 4, &[2][..]) } else { (6, 300, &[2, 3][..]) };
    let checker = || Checker::new(factory).depth(depth).cases(cases).threads(threads);
    let whole = counts(checker().run());
    for &count in shard_counts {
        let parts: Vec<(u64, u64)> = (1..=count).map(|i| counts(checker().shard(i, count).run())).collect();
        let sum = parts.iter().fold((0, 0), |(s, r), (ps, pr)| (s + ps, r + pr));
        assert_eq!(sum, whole, "{count} shards on {threads} thread(s): {parts:?}");
        assert!(parts.iter().all(|&(s, _)| s > 0), "every shard got schedules: {parts:?}");
    }
}

#[test]
fn shards_add_up_to_the_whole_check() {
    shards_add_up(|| notifier::scenario(Flavor::Fixed), 1);
    shards_add_up(|| relay_notifier::scenario(Flavor::Fixed), 1);
}

#[test]
fn shards_add_up_on_two_threads_too() {
    shards_add_up(|| notifier::scenario(Flavor::Fixed), 2);
}

#[test]
fn a_shard_finds_the_bug_in_its_part() {
    // The notifier's bug needs a cancel after a driver step (four steps): some shard
    // finds it, and its replay string reproduces it in the whole check. Under miri,
    // whose default depth is 3, the flag's (one step, found before the split, by
    // shard 1).
    let buggy: fn() -> Scenario =
        if cfg!(miri) { || flag::scenario(Flavor::Buggy) } else { || notifier::scenario(Flavor::Buggy) };
    let found: Vec<_> = (1..=3).filter_map(|i| Checker::new(buggy).shard(i, 3).try_run().err()).collect();
    assert!(!found.is_empty(), "no shard found the bug");
    for report in found {
        assert_eq!(report.kind(), pollcheck::ViolationKind::LostWakeup, "{report}");
        let again = Checker::new(buggy).replay_schedule(report.schedule().clone());
        assert_eq!(again.try_run().unwrap_err().kind(), report.kind());
    }
}

#[test]
#[should_panic(expected = "Checker::shard=\"3/2\" is not valid: expected 1 <= index <= count")]
fn a_shard_out_of_range_is_an_error() {
    Checker::new(|| notifier::scenario(Flavor::Fixed)).shard(3, 2).run();
}
