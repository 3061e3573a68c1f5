//! Every detector proven both ways: a buggy future from the zoo it must catch (with
//! the exact violation kind and the minimal schedule's length) and the same future
//! with the bug fixed, which must pass.

mod buggy;

use buggy::{
    bad_join, countdown, first_waker, flag, leaky, locked_wake, moving_combinator, notifier, second_poll, spinner,
    spurious, wake_before_store, Flavor,
};
use pollcheck::{Bounds, Checker, Report, Scenario, ViolationKind};

fn caught(scenario: fn(Flavor) -> Scenario) -> Report {
    match Checker::new(move || scenario(Flavor::Buggy)).try_run() {
        Ok(summary) => panic!("the buggy flavor passed {} schedules", summary.schedules()),
        Err(report) => {
            println!("{report}");
            report
        }
    }
}

fn passes(scenario: fn(Flavor) -> Scenario) {
    if let Err(report) = Checker::new(move || scenario(Flavor::Fixed)).try_run() {
        panic!("the fixed flavor failed:\n{report}");
    }
}

fn assert_caught(scenario: fn(Flavor) -> Scenario, kind: ViolationKind, schedule: &str) {
    let report = caught(scenario);
    assert_eq!(report.kind(), kind, "{report}");
    assert_eq!(report.schedule().to_string(), schedule, "{report}");
    assert_eq!(report.schedule().len(), schedule.split_whitespace().count());
    passes(scenario);
}

#[test]
fn dropped_waker_is_a_lost_wakeup() {
    assert_caught(flag::scenario, ViolationKind::LostWakeup, "p0");
}

#[test]
fn countdown_without_wake_by_ref_is_a_lost_wakeup() {
    assert_caught(countdown::scenario, ViolationKind::LostWakeup, "p0");
}

#[test]
fn keeping_the_first_waker_is_a_stale_waker() {
    assert_caught(first_waker::scenario, ViolationKind::StaleWaker, "p0 w0 s0 d");
}

#[test]
fn waking_before_storing_loses_the_wakeup() {
    // Polls inside a wake are opt-in (see `Step::PollInsideWake`).
    let bounds = Bounds { polls_inside_wake: 1, ..Bounds::default() };
    let report = Checker::new(|| wake_before_store::scenario(Flavor::Buggy)).bounds(bounds).try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::LostWakeup, "{report}");
    assert_eq!(report.schedule().to_string(), "p0 i0 d");
    Checker::new(|| wake_before_store::scenario(Flavor::Fixed)).bounds(bounds).run();
    // Without the opt-in, the single-threaded checker cannot see this race (loom can).
    Checker::new(|| wake_before_store::scenario(Flavor::Buggy)).run();
}

#[test]
fn completing_on_any_second_poll_is_spurious_poll_intolerance() {
    assert_caught(second_poll::scenario, ViolationKind::SpuriousPoll, "p0 s0");
}

#[test]
fn panicking_on_a_spurious_poll_is_spurious_poll_intolerance() {
    assert_caught(spurious::panicking, ViolationKind::SpuriousPoll, "p0 s0");
}

#[test]
fn an_output_that_counts_polls_is_spurious_poll_intolerance() {
    assert_caught(spurious::counting, ViolationKind::SpuriousPoll, "p0 s0 d p0");
}

#[test]
fn a_cancelled_waiter_swallowing_the_notification_is_a_lost_wakeup() {
    // It takes four scheduled steps; miri's default depth is 3.
    let report = Checker::new(|| notifier::scenario(Flavor::Buggy)).depth(4).try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::LostWakeup, "{report}");
    assert_eq!(report.schedule().to_string(), "p0 p1 d c0");
    Checker::new(|| notifier::scenario(Flavor::Fixed)).depth(4).run();
}

#[test]
fn busy_waiting_on_a_closed_channel_is_a_spin() {
    let report = caught(spinner::scenario);
    assert_eq!(report.kind(), ViolationKind::Spin, "{report}");
    passes(spinner::scenario);
}

#[test]
fn a_join_that_polls_a_finished_child_is_poll_after_ready() {
    assert_caught(bad_join::scenario, ViolationKind::PollAfterReady, "d p0 d p0");
}

#[test]
fn a_combinator_moving_its_pinned_child_is_moved_while_pinned() {
    let report = caught(moving_combinator::scenario);
    assert_eq!(report.kind(), ViolationKind::MovedWhilePinned);
    assert!(report.violation().detail().contains("tests/buggy/moving_combinator.rs"), "{report}");
    passes(moving_combinator::scenario);
}

#[test]
fn waking_while_holding_the_lock_panics_under_reentrancy() {
    // Re-entrant steps are opt-in (see `Step::ReentrantDriver`).
    let bounds = Bounds { reentrant: 1, ..Bounds::default() };
    let report = Checker::new(|| locked_wake::scenario(Flavor::Buggy)).bounds(bounds).try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::Panic, "{report}");
    assert_eq!(report.schedule().to_string(), "p0 r");
    Checker::new(|| locked_wake::scenario(Flavor::Fixed)).bounds(bounds).run();
}

#[test]
fn a_timer_that_never_deregisters_leaks_its_waker() {
    assert_caught(leaky::scenario, ViolationKind::LeakedWaker, "d p1 p0");
}
