//! Every detector proven both ways: a buggy future from the zoo it must catch (with
//! the exact violation kind and the minimal schedule) and the same future with the
//! bug fixed, which must pass.
//!
//! Under miri, where one run costs a good fraction of a second, the buggy flavor
//! replays its minimal schedule instead of exploring to find it, and the fixed flavor
//! replays that schedule and explores two steps deep: every detector still runs.

mod buggy;
mod common;

use buggy::{
    bad_join, check_then_register, countdown, double_notify, drop_under_lock, first_waker, flag, leaky, locked_wake,
    moving_combinator, notifier, ping_pong, relay_notifier, second_poll, spinner, spurious, wake_before_store, Flavor,
};
use std::task::{Poll, Waker};

use common::proven;
use pollcheck::{Bounds, Checker, Scenario, ViolationKind};

fn assert_caught(scenario: fn(Flavor) -> Scenario, kind: ViolationKind, schedule: &str) {
    proven(Bounds::default(), scenario, kind, schedule);
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
    proven(bounds, wake_before_store::scenario, ViolationKind::LostWakeup, "p0 i0 d");
    // Without the opt-in, the single-threaded checker cannot see this race (loom can).
    let depth = if cfg!(miri) { 1 } else { Bounds::default().depth };
    Checker::new(|| wake_before_store::scenario(Flavor::Buggy)).depth(depth).run();
}

#[test]
fn checking_then_registering_misses_a_wake_inside_the_clone() {
    // Steps inside a waker clone are opt-in (see `Step::DriverInsideClone`).
    let bounds = Bounds { reentrant_clones: 1, ..Bounds::default() };
    let report = proven(bounds, check_then_register::scenario, ViolationKind::LostWakeup, "k0 p0");
    assert!(report.to_string().contains("inside the clone of #1: driver step 0"), "{report}");
    // Without the opt-in no action lands between the check and the registration.
    let depth = if cfg!(miri) { 1 } else { Bounds::default().depth };
    Checker::new(|| check_then_register::scenario(Flavor::Buggy)).depth(depth).run();
}

#[test]
fn cloning_the_waker_under_a_held_borrow_meets_it_inside_the_clone() {
    let bounds = Bounds { reentrant_clones: 1, ..Bounds::default() };
    let report =
        common::caught(Checker::new(check_then_register::locked).bounds(bounds), ViolationKind::Panic, "k0 p0");
    assert!(report.violation().detail().contains("panicked inside a clone of waker #1"), "{report}");
    // The same flag passes without the opt-in.
    common::checker(check_then_register::locked).run();
}

#[test]
fn probes_register_outside_their_lock_so_combinators_over_them_pass_under_clones() {
    let bounds = Bounds { reentrant_clones: 2, ..Bounds::default() };
    common::checker(|| {
        let ((a, ha), (b, hb)) = (pollcheck::probe::<u32>(), pollcheck::probe::<u32>());
        Scenario::new().task(futures_util::future::join(a, b)).must_finish().step(ha.completes(1)).step(hb.completes(2))
    })
    .bounds(Bounds { depth: if cfg!(miri) { 2 } else { bounds.depth }, ..bounds })
    .run();
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
fn an_output_that_differs_between_honest_runs_proves_nothing() {
    // A correct future whose output is a `HashMap`: its order comes from a new
    // `RandomState` per map, so its `Debug` text differs between any two runs.
    let scenario = || {
        let (tx, rx) = futures_channel::oneshot::channel::<()>();
        let map = async move {
            let _ = rx.await;
            (0..16u32).map(|i| (i, i)).collect::<std::collections::HashMap<_, _>>()
        };
        Scenario::new().task(map).step(move || {
            let _ = tx.send(());
        })
    };
    Checker::new(scenario).replay("p0 s0 d p0").run();
    common::checker(scenario).run();
    // The zoo's output that counts polls is still caught (one run of a schedule gives
    // one output, every time).
    assert_caught(spurious::counting, ViolationKind::SpuriousPoll, "p0 s0 d p0");
}

#[test]
fn a_cancelled_waiter_swallowing_the_notification_is_a_lost_wakeup() {
    // It takes four scheduled steps (miri's default depth is 3; it replays anyway).
    let bounds = Bounds { depth: Bounds::default().depth.max(4), ..Bounds::default() };
    proven(bounds, notifier::scenario, ViolationKind::LostWakeup, "p0 p1 d c0");
}

#[test]
fn busy_waiting_on_a_closed_channel_is_a_spin() {
    let report = proven(Bounds::default(), spinner::scenario, ViolationKind::Spin, "d p0");
    assert!(report.violation().detail().contains("woke itself and returned Pending"), "{report}");
}

#[test]
fn waiters_that_wake_each_other_forever_are_a_spin_of_both() {
    let report = proven(Bounds::default(), ping_pong::scenario, ViolationKind::Spin, "p0");
    let detail = report.violation().detail();
    assert!(detail.contains("tasks 0 and 1 keep waking each other"), "{report}");
    assert!(detail.contains("task 0 by task 1; task 1 by task 0"), "{report}");
    // As first met: three steps deep, no random phase (a lower spin bound and two
    // steps under miri, where each poll is slow).
    let bound = if cfg!(miri) { 10 } else { 100 };
    let depth = if cfg!(miri) { 2 } else { 3 };
    let shallow = Checker::new(|| ping_pong::scenario(Flavor::Buggy)).depth(depth).cases(0).spin_bound(bound).try_run();
    assert_eq!(shallow.expect_err("the livelock passed").kind(), ViolationKind::Spin);
    // Two tasks that take turns, each waking the other, 90% of the spin bound times
    // each and then finish: no finding.
    let turns = bound * 9 / 10;
    Checker::new(move || ping_pong::relay(turns)).depth(if cfg!(miri) { 2 } else { 4 }).spin_bound(bound).run();
}

#[test]
fn a_join_that_polls_a_finished_child_is_poll_after_ready() {
    assert_caught(bad_join::scenario, ViolationKind::PollAfterReady, "d p0 d p0");
}

#[test]
fn a_combinator_moving_its_pinned_child_is_moved_while_pinned() {
    let report = proven(Bounds::default(), moving_combinator::scenario, ViolationKind::MovedWhilePinned, "p0 d p0");
    assert!(report.violation().detail().contains("tests/buggy/moving_combinator.rs"), "{report}");
}

#[test]
fn waking_while_holding_the_lock_panics_under_reentrancy() {
    // Re-entrant steps are opt-in (see `Step::ReentrantDriver`).
    let bounds = Bounds { reentrant: 1, ..Bounds::default() };
    proven(bounds, locked_wake::scenario, ViolationKind::Panic, "p0 r");
}

/// The schedule that shows `drop_under_lock`'s bug: poll with #1, swap in #2, arm the
/// notifier's step for the next retired-waker drop, poll (spuriously: nothing woke #2)
/// so the notifier drops #1 under its lock and the step meets that lock.
const DROP_UNDER_LOCK: &str = "p0 w0 u s0";

#[test]
fn dropping_a_replaced_waker_under_the_lock_panics_under_reentrant_drops() {
    // Steps inside waker drops are opt-in (see `Step::DriverInsideDrop`).
    let bounds = Bounds { reentrant_drops: 1, ..Bounds::default() };
    let report = proven(bounds, drop_under_lock::scenario, ViolationKind::Panic, DROP_UNDER_LOCK);
    let text = report.to_string();
    assert!(text.contains("driver step 0 (tests/buggy/drop_under_lock.rs:"), "{text}");
    assert!(text.contains("panicked inside the drop of waker #1"), "{text}");
    assert!(text.contains("already borrowed"), "{text}");
    assert!(
        text.contains("dropped #1, inside the drop of #1: driver step 0 (tests/buggy/drop_under_lock.rs:"),
        "{text}"
    );
}

#[test]
fn dropping_a_replaced_waker_under_the_lock_passes_without_reentrant_drops() {
    let buggy = || Checker::new(|| drop_under_lock::scenario(Flavor::Buggy));
    if cfg!(miri) {
        // A replay runs every step it names, `u` included: replay the rest.
        buggy().replay("p0 w0 s0").run();
        buggy().depth(2).run();
    } else {
        buggy().run();
    }
}

#[test]
fn a_mutex_notifier_that_drops_wakers_outside_its_lock_passes_reentrant_drops() {
    // Only the fixed flavor: the buggy one deadlocks on its `std` mutex.
    let fixed = || {
        Checker::new(|| drop_under_lock::scenario_mutex(Flavor::Fixed))
            .bounds(Bounds { reentrant_drops: 1, ..Bounds::default() })
    };
    if cfg!(miri) {
        fixed().replay(DROP_UNDER_LOCK).run();
        fixed().depth(2).run();
    } else {
        fixed().run();
    }
}

#[test]
fn each_reentrant_step_keeps_to_its_waker_call() {
    // `u` never runs its step inside a wake: locked_wake's buggy flavor wakes under
    // its lock, and drops its wakers outside it.
    let u = Bounds { reentrant_drops: 1, ..Bounds::default() };
    // `r` never runs its step inside a drop: drop_under_lock's buggy flavor drops
    // under its lock, and wakes outside it.
    let r = Bounds { reentrant: 1, ..Bounds::default() };
    let locked_wake = Checker::new(|| locked_wake::scenario(Flavor::Buggy)).bounds(u);
    let drop_under_lock = Checker::new(|| drop_under_lock::scenario(Flavor::Buggy)).bounds(r);
    if cfg!(miri) {
        locked_wake.replay("p0 u d").run();
        drop_under_lock.replay("p0 w0 r s0").run();
    } else {
        locked_wake.run();
        drop_under_lock.run();
    }
    // An armed `u` that no retired drop picks up runs at the next driver step.
    Checker::new(|| drop_under_lock::scenario(Flavor::Buggy)).bounds(u).replay("p0 u d p0").run();
}

#[test]
fn no_step_runs_inside_a_waker_drop_during_unwinding() {
    // Keeps its first waker; at its second poll takes it out and panics while
    // holding it, so the retired #1 is dropped during unwinding.
    let scenario = || {
        let mut kept: Option<Waker> = None;
        let task = std::future::poll_fn(move |cx| match kept.take() {
            None => {
                kept = Some(cx.waker().clone());
                Poll::<()>::Pending
            }
            Some(old) => {
                let _old = old;
                panic!("second poll")
            }
        });
        Scenario::new().task(task).step(|| panic!("the step must not run"))
    };
    let report = Checker::new(scenario)
        .bounds(Bounds { reentrant_drops: 1, ..Bounds::default() })
        .replay(DROP_UNDER_LOCK)
        .try_run()
        .unwrap_err();
    let text = report.to_string();
    assert!(text.contains("second poll"), "{text}");
    assert!(text.contains("dropped #1"), "{text}");
    assert!(!text.contains("inside the drop") && !text.contains("must not run"), "{text}");
}

#[test]
fn a_timer_that_never_deregisters_leaks_its_waker() {
    assert_caught(leaky::scenario, ViolationKind::LeakedWaker, "d p1 p0");
}

/// Runs the default exploration (two steps deep under miri) and expects no violation.
fn passes(scenario: fn(Flavor) -> Scenario, flavor: Flavor) {
    let checker = Checker::new(move || scenario(flavor));
    let checker = if cfg!(miri) { checker.depth(2) } else { checker };
    if let Err(report) = checker.try_run() {
        panic!("expected a pass:\n{report}");
    }
}

#[test]
fn a_cancelled_waiter_hiding_the_notification_passes_unless_the_waiter_must_finish() {
    // The gap: the other waiter's waker stays registered and an extra poll returns
    // Pending, so no other detector can prove anything.
    passes(relay_notifier::scenario, Flavor::Buggy);
    // Declared to finish, it is a stuck task; the fixed notifier passes the same way.
    let report = proven(Bounds::default(), relay_notifier::must_finish, ViolationKind::StuckTask, "p0 p1 d c0");
    assert_eq!(report.violation().task(), Some(1), "{report}");
    let detail = report.violation().detail();
    for part in [
        "every driver step ran and nothing is left to happen",
        "(1 clone) is still alive (registered somewhere)",
        "none of them will ever be woken",
        "the notification or permit it waited for was lost",
    ] {
        assert!(detail.contains(part), "{part:?} not in {report}");
    }
}

#[test]
fn a_stuck_task_is_excused_while_an_abandoned_task_holds_the_wake() {
    // One notification, the woken task abandoned: the other one waits forever, rightly
    // so for a notify-one primitive. Strict abandonment takes the excuse away, which is
    // why it needs as many notifications as waiters.
    let strict = || relay_notifier::must_finish(Flavor::Fixed).strict_abandonment();
    let report = Checker::new(strict).replay("p0 p1 d a0").try_run().expect_err("flagged under strict abandonment");
    assert_eq!(report.kind(), ViolationKind::StuckTask, "{report}");
    Checker::new(|| relay_notifier::must_finish(Flavor::Fixed)).replay("p0 p1 d a0").run();
}

#[test]
fn notifying_a_notified_receiver_is_caught_only_under_strict_abandonment() {
    // Only an abandoned receiver shows the bug, and by default it is excused.
    passes(double_notify::scenario, Flavor::Buggy);
    passes(double_notify::scenario, Flavor::Fixed);
    let report = proven(Bounds::default(), double_notify::strict, ViolationKind::LostWakeup, "p0 a0 p1 d d");
    assert_eq!(report.violation().task(), Some(1), "{report}");
}

#[test]
#[should_panic(expected = "Scenario::must_finish: no task was added yet")]
fn must_finish_before_any_task_panics() {
    let _ = Scenario::new().must_finish();
}

#[cfg(feature = "io")]
mod io {
    use super::*;
    use buggy::{buffered_writer, line_reader};

    #[test]
    fn a_frame_reader_that_waits_on_a_partial_frame_loses_the_wakeup() {
        // `b`: the next read moves one byte, a partial frame.
        assert_caught(line_reader::scenario, ViolationKind::LostWakeup, "b d p0");
        // Without short reads the honest schedules never show it.
        let bounds = Bounds { short_io: 0, ..Bounds::default() };
        let depth = if cfg!(miri) { 2 } else { bounds.depth };
        Checker::new(|| line_reader::scenario(Flavor::Buggy)).bounds(bounds).depth(depth).run();
    }

    #[test]
    fn a_buffered_writer_that_waits_after_a_short_write_loses_the_wakeup() {
        assert_caught(buffered_writer::scenario, ViolationKind::LostWakeup, "b p0");
    }
}

// ---------------------------------------------------------------------------------
// Wakers kept from an earlier run: waker ids restart at #1 every run, and a clone kept
// past its run (in a thread-local, say) must not fire what the current run armed.
// ---------------------------------------------------------------------------------

mod earlier_run {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use std::task::{Poll, Waker};

    use pollcheck::{Checker, Scenario, ViolationKind};

    thread_local! {
        /// A clone of waker #1 of an earlier run on this thread.
        static KEPT: RefCell<Option<Waker>> = const { RefCell::new(None) };
    }

    /// Runs a check on this thread whose task keeps a clone of its waker #1 in `KEPT`
    /// past the run's end (a leaked waker, which that check reports).
    fn keep_a_waker_of_an_earlier_run() {
        let keeper = || {
            Scenario::new().task(std::future::poll_fn(|cx| {
                KEPT.with(|k| *k.borrow_mut() = Some(cx.waker().clone()));
                Poll::Ready(())
            }))
        };
        let report = Checker::local(keeper).replay("p0").try_run().unwrap_err();
        assert_eq!(report.kind(), ViolationKind::LeakedWaker, "{report}");
        assert!(KEPT.with(|k| k.borrow().is_some()));
    }

    fn kept() -> Option<Waker> {
        KEPT.with(|k| k.borrow_mut().take())
    }

    /// Step 0 calls the kept waker (`call`); step 1 marks that it ran. Under `r`, step 1
    /// is armed to run inside the next wake of a waker of this run: not inside step 0's
    /// call of the earlier run's waker.
    fn armed_step_scenario(call: fn(Waker)) -> Scenario {
        let ran = Rc::new(Cell::new(false));
        let seen = Rc::clone(&ran);
        Scenario::new()
            .task(std::future::ready(()))
            .step(move || {
                if let Some(w) = kept() {
                    call(w);
                }
                assert!(!seen.get(), "the armed step ran inside a call of a waker from an earlier run");
            })
            .step(move || ran.set(true))
    }

    #[test]
    fn a_wake_of_an_earlier_runs_waker_does_not_run_the_armed_step() {
        keep_a_waker_of_an_earlier_run();
        let summary = Checker::local(|| armed_step_scenario(Waker::wake)).replay("r").run();
        assert_eq!(summary.runs, 1);
        assert!(kept().is_none(), "step 0 used the kept waker");
    }

    #[test]
    fn a_drop_of_an_earlier_runs_waker_does_not_run_the_armed_step() {
        keep_a_waker_of_an_earlier_run();
        // `u` arms step 0 to run inside the next drop of a retired waker clone of this
        // run; the task's poll drops the earlier run's (retired) clone.
        let factory = || {
            let ran = Rc::new(Cell::new(false));
            let seen = Rc::clone(&ran);
            Scenario::new()
                .task(std::future::poll_fn(move |_| {
                    drop(kept());
                    assert!(!seen.get(), "the armed step ran inside the drop of a waker from an earlier run");
                    Poll::Ready(())
                }))
                .step(move || ran.set(true))
        };
        Checker::local(factory).replay("u p0").run();
        assert!(kept().is_none(), "the task dropped the kept waker");
    }

    #[test]
    fn a_wake_of_an_earlier_runs_waker_does_not_run_the_armed_poll() {
        keep_a_waker_of_an_earlier_run();
        let factory = || {
            let polls = Rc::new(Cell::new(0));
            let registered: Rc<RefCell<Option<Waker>>> = Rc::default();
            let (p, r) = (Rc::clone(&polls), Rc::clone(&registered));
            Scenario::new()
                .task(std::future::poll_fn(move |cx| {
                    p.set(p.get() + 1);
                    if p.get() > 1 {
                        return Poll::Ready(());
                    }
                    *r.borrow_mut() = Some(cx.waker().clone());
                    Poll::Pending
                }))
                .step(move || {
                    let before = polls.get();
                    // Waker #1 of the earlier run: this run's task 0 was polled with
                    // its waker #1 too.
                    if let Some(w) = kept() {
                        w.wake();
                    }
                    assert_eq!(
                        polls.get(),
                        before,
                        "the armed poll ran inside the wake of a waker from an earlier run"
                    );
                    if let Some(w) = registered.borrow_mut().take() {
                        w.wake();
                    }
                })
        };
        Checker::local(factory).replay("p0 i0 d").run();
        assert!(kept().is_none(), "the step used the kept waker");
    }
}
