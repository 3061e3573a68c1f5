//! Strict replay: a replayed schedule runs every step it names, or the check fails
//! naming the step and why it cannot run there.

#[path = "common/panic_text.rs"]
mod panic_text;

use std::panic::{catch_unwind, AssertUnwindSafe};

use futures_channel::oneshot;
use panic_text::panic_text;
use pollcheck::{Checker, Scenario};

/// A pinned (`!Unpin`) receiver and one send.
fn pinned() -> Scenario {
    let (tx, rx) = oneshot::channel::<u32>();
    Scenario::new().task(async move { rx.await.ok() }).step(move || {
        let _ = tx.send(1);
    })
}

/// An `Unpin` receiver and one send.
fn unpin() -> Scenario {
    let (tx, rx) = oneshot::channel::<u32>();
    Scenario::new().unpin_task(rx).step(move || {
        let _ = tx.send(1);
    })
}

/// The message a replay of `schedule` fails with.
fn refusal(factory: fn() -> Scenario, schedule: &str) -> String {
    let err = catch_unwind(AssertUnwindSafe(|| Checker::new(factory).replay(schedule).run()))
        .expect_err("the replay ran although a step cannot");
    panic_text(&*err)
}

#[test]
fn a_step_that_cannot_run_where_it_comes_is_an_error_naming_it() {
    for (factory, schedule, why) in [
        (pinned as fn() -> Scenario, "p0 m0", "step 2 (`m0`) cannot run there: task 0 is not `Unpin`"),
        (pinned, "p0 p0", "step 2 (`p0`) cannot run there: task 0 was not woken since its last poll (`s0`"),
        (pinned, "d p0 s0", "step 3 (`s0`) cannot run there: task 0 finished"),
        (pinned, "d d", "step 2 (`d`) cannot run there: all 1 driver steps have run"),
        (pinned, "p1", "step 1 (`p1`) cannot run there: the scenario has 1 tasks"),
        (pinned, "w0", "step 1 (`w0`) cannot run there: task 0 was never polled"),
        (pinned, "p0 c0 a0", "step 3 (`a0`) cannot run there: task 0 was cancelled"),
        (unpin, "m0", "step 1 (`m0`) cannot run there: task 0 was never polled"),
    ] {
        let message = refusal(factory, schedule);
        assert!(message.contains(&format!("cannot replay \"{schedule}\": {why}")), "{schedule}: {message}");
    }
}

#[test]
fn a_schedule_whose_steps_all_run_replays() {
    Checker::new(pinned).replay("p0 s0 w0 s0 d p0").run();
    Checker::new(unpin).replay("p0 m0 d p0").run();
}
