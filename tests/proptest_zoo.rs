//! The proptest entry point against the zoo: every buggy future of
//! tests/detectors.rs and tests/combinators.rs is found with the right kind and
//! shrunk to a schedule no longer than the systematic phase's minimal one, and every
//! fixed flavor passes.
//!
//! Too slow for miri (hundreds of cases per future); tests/proptest_miri.rs is the
//! miri test.
#![cfg(all(feature = "proptest", not(miri)))]

mod buggy;

use buggy::{
    bad_join, countdown, early_drop, first_waker, flag, forgetful_select, leaky, locked_wake, moving_combinator,
    noop_select, notifier, second_poll, spinner, spurious, swapping_select, wake_before_store, Flavor,
};
use pollcheck::proptest::PropChecker;
use pollcheck::{Bounds, Checker, Config, FoundBy, Scenario, ViolationKind};

/// Finds the bug with proptest, checks kind and length against the systematic phase,
/// checks that the replay string reproduces it, and that the fixed flavor passes.
/// Returns the case that found it and the shrunk length.
fn found_and_shrunk(scenario: fn(Flavor) -> Scenario, kind: ViolationKind) -> (u64, usize) {
    found_and_shrunk_with(Config::default(), scenario, kind)
}

/// The same, with this configuration for both checkers.
fn found_and_shrunk_with(config: Config, scenario: fn(Flavor) -> Scenario, kind: ViolationKind) -> (u64, usize) {
    let systematic =
        Checker::new(move || scenario(Flavor::Buggy)).config(config.clone()).try_run().expect_err("systematic phase");
    let report = match PropChecker::new(move || scenario(Flavor::Buggy)).config(config.clone()).try_run() {
        Ok(summary) => panic!("proptest passed the buggy flavor in {} cases", summary.cases),
        Err(report) => report,
    };
    println!("{report}");
    assert_eq!(report.kind(), kind, "{report}");
    assert!(
        report.schedule().len() <= systematic.schedule().len(),
        "proptest shrunk to {} steps ({}), the systematic phase to {} ({})",
        report.schedule().len(),
        report.schedule(),
        systematic.schedule().len(),
        systematic.schedule(),
    );
    let FoundBy::Proptest { case, .. } = *report.found_by() else {
        panic!("found by {}", report.found_by());
    };
    let replayed = Checker::new(move || scenario(Flavor::Buggy))
        .config(config.clone())
        .replay_schedule(report.schedule().clone())
        .try_run()
        .expect_err("the replay string reproduces the violation");
    assert_eq!(replayed.kind(), kind, "{replayed}");
    if let Err(report) = PropChecker::new(move || scenario(Flavor::Fixed)).config(config).try_run() {
        panic!("the fixed flavor failed under proptest:\n{report}");
    }
    println!(
        "cases needed: {case}; shrunk to {} steps ({}); systematic: {} steps ({})",
        report.schedule().len(),
        report.schedule(),
        systematic.schedule().len(),
        systematic.schedule()
    );
    (case, report.schedule().len())
}

#[test]
fn dropped_waker() {
    found_and_shrunk(flag::scenario, ViolationKind::LostWakeup);
}

#[test]
fn countdown_without_wake_by_ref() {
    found_and_shrunk(countdown::scenario, ViolationKind::LostWakeup);
}

#[test]
fn keeping_the_first_waker() {
    found_and_shrunk(first_waker::scenario, ViolationKind::StaleWaker);
}

#[test]
fn waking_before_storing() {
    // Polls inside wakes are opt-in (see `Step::PollInsideWake`).
    let config = Config { bounds: Bounds { polls_inside_wake: 1, ..Bounds::default() }, ..Config::default() };
    found_and_shrunk_with(config, wake_before_store::scenario, ViolationKind::LostWakeup);
}

#[test]
fn completing_on_any_second_poll() {
    found_and_shrunk(second_poll::scenario, ViolationKind::SpuriousPoll);
}

#[test]
fn panicking_on_a_spurious_poll() {
    found_and_shrunk(spurious::panicking, ViolationKind::SpuriousPoll);
}

#[test]
fn an_output_that_counts_polls() {
    found_and_shrunk(spurious::counting, ViolationKind::SpuriousPoll);
}

#[test]
fn a_cancelled_waiter_swallowing_the_notification() {
    found_and_shrunk(notifier::scenario, ViolationKind::LostWakeup);
}

#[test]
fn busy_waiting_on_a_closed_channel() {
    found_and_shrunk(spinner::scenario, ViolationKind::Spin);
}

#[test]
fn a_join_that_polls_a_finished_child() {
    found_and_shrunk(bad_join::scenario, ViolationKind::PollAfterReady);
}

#[test]
fn a_combinator_moving_its_pinned_child() {
    found_and_shrunk(moving_combinator::scenario, ViolationKind::MovedWhilePinned);
}

#[test]
fn waking_while_holding_the_lock() {
    // Re-entrant steps are opt-in (see `Step::ReentrantDriver`).
    let config = Config { bounds: Bounds { reentrant: 1, ..Bounds::default() }, ..Config::default() };
    found_and_shrunk_with(config, locked_wake::scenario, ViolationKind::Panic);
}

#[test]
fn a_timer_that_never_deregisters() {
    found_and_shrunk(leaky::scenario, ViolationKind::LeakedWaker);
}

// tests/combinators.rs

#[test]
fn a_join_over_probes_that_polls_a_finished_child() {
    found_and_shrunk(bad_join::over_probes, ViolationKind::PollAfterReady);
}

#[test]
fn a_select_that_drops_its_childs_wakes() {
    found_and_shrunk(noop_select::scenario, ViolationKind::LostWakeup);
}

#[test]
fn a_select_that_swaps_its_pinned_children() {
    found_and_shrunk(swapping_select::scenario, ViolationKind::MovedWhilePinned);
}

#[test]
fn a_select_that_forgets_a_child() {
    found_and_shrunk(forgetful_select::scenario, ViolationKind::LostWakeup);
}

#[test]
fn a_combinator_dropping_its_child_twice() {
    found_and_shrunk(early_drop::double_drop, ViolationKind::DoubleDrop);
}

#[test]
fn a_combinator_that_never_drops_its_child() {
    found_and_shrunk(early_drop::leak, ViolationKind::LeakedFuture);
    early_drop::clear_graveyard();
}

#[cfg(feature = "stream")]
#[test]
fn a_chain_that_polls_an_ended_stream() {
    found_and_shrunk(buggy::chain::scenario, ViolationKind::PollAfterReady);
}
