//! What made scenarios hard to write over 21 published crates, each made easy:
//! `Scenario::hold`, `StepState`, probes that keep draining, and modes per check.

mod buggy;

use buggy::{check_then_register, Flavor};
#[cfg(feature = "io")]
use futures_util::AsyncWriteExt;
use futures_util::StreamExt;
use pollcheck::{Checker, Mode, Scenario, StepState, ViolationKind};

/// Shallower under miri.
fn checker<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F) -> Checker<F> {
    let checker = Checker::new(factory);
    if cfg!(miri) {
        checker.depth(2).cases(1)
    } else {
        checker
    }
}

/// A receiver waiting for a second item that never comes, the channel kept open.
fn open_channel(keep: fn(Scenario, futures_channel::mpsc::UnboundedSender<u32>) -> Scenario) -> Scenario {
    let (tx, mut rx) = futures_channel::mpsc::unbounded::<u32>();
    let kept = tx.clone();
    let scenario = Scenario::new()
        .task(async move { (rx.next().await, rx.next().await) })
        .step(move || drop(tx.unbounded_send(1)));
    keep(scenario, kept)
}

#[test]
fn a_held_sender_keeps_the_channel_open_without_a_leak() {
    checker(|| open_channel(|s, kept| s.hold(kept))).run();
    // The old way: the forgotten sender keeps the channel, and with it the task's
    // waker, alive past teardown.
    let forgot = || {
        open_channel(|s, kept| {
            std::mem::forget(kept);
            s
        })
    };
    if cfg!(miri) {
        return; // miri counts the forgotten channel as a leak of the test itself
    }
    let report = Checker::new(forgot).try_run().expect_err("the forgotten sender leaks the waker");
    assert_eq!(report.kind(), ViolationKind::LeakedWaker, "{report}");
}

/// Two sends and the close through one `StepState`.
fn shared_sender() -> Scenario {
    let (tx, rx) = futures_channel::mpsc::unbounded::<u32>();
    let tx = StepState::new(tx);
    Scenario::new()
        .task(rx.collect::<Vec<u32>>())
        .must_finish()
        .step(tx.step(|tx| drop(tx.unbounded_send(1))))
        .step(tx.step(|tx| drop(tx.unbounded_send(2))))
        .step(tx.take_step(drop))
}

#[test]
fn steps_share_state_and_a_nested_step_finding_it_lent_out_says_so() {
    checker(shared_sender).run();
    // Under `r` the second send runs inside the wake the first one makes, while the
    // first still holds the sender.
    let report = Checker::new(shared_sender).mode(Mode::ReentrantWakes).replay("p0 r").try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::Panic, "{report}");
    let detail = report.violation().detail();
    assert!(detail.contains("is lent out to the step made at tests/papercuts.rs:"), "{report}");
    assert!(detail.contains("inside a waker call"), "{report}");
}

#[test]
fn a_step_after_the_state_was_taken_says_so() {
    let report = Checker::new(|| {
        let (tx, rx) = futures_channel::oneshot::channel::<u32>();
        let tx = StepState::new(Some(tx));
        Scenario::new().task(rx).step(tx.take_step(drop)).step(tx.step(|_| {}))
    })
    .replay("d d")
    .try_run()
    .unwrap_err();
    assert_eq!(report.kind(), ViolationKind::Panic, "{report}");
    assert!(report.violation().detail().contains("was taken by the step made at tests/papercuts.rs:"), "{report}");
}

/// A writer task over a writer probe, declared to finish; `drain` is its driver step.
#[cfg(feature = "io")]
fn writer(drain: fn(&pollcheck::io::WriteHandle) -> Box<dyn FnOnce()>) -> Scenario {
    let (mut writer, h) = pollcheck::io::probe_writer(4);
    Scenario::new()
        .task(async move {
            writer.write_all(b"hello, world").await.map_err(|e| e.kind())?;
            writer.flush().await.map_err(|e| e.kind())
        })
        .must_finish()
        .step(drain(&h))
}

#[cfg(feature = "io")]
#[test]
fn a_writer_over_a_probe_that_keeps_draining_can_be_declared_to_finish() {
    checker(|| writer(|h| Box::new(h.keeps_draining()))).run();
    // A one-shot drain can run before anything was written: the flush then rightly
    // waits forever, and the declaration flags it.
    let once = Checker::new(|| writer(|h| Box::new(h.drains(usize::MAX)))).replay("d").try_run();
    assert_eq!(once.expect_err("a one-shot drain strands the writer").kind(), ViolationKind::StuckTask);
}

#[cfg(feature = "sink")]
#[test]
fn a_sink_over_a_probe_that_keeps_draining_can_be_declared_to_finish() {
    use futures_util::SinkExt;
    checker(|| {
        let (sink, h) = pollcheck::probe_sink::<u32>();
        Scenario::new()
            .task(async move {
                let mut sink = std::pin::pin!(sink);
                sink.send(1).await?;
                sink.send(2).await?;
                sink.close().await
            })
            .must_finish()
            .step(h.keeps_draining())
    })
    .run();
}

#[test]
fn one_test_runs_a_scenario_in_every_mode() {
    for mode in Mode::ALL {
        let report = checker(|| check_then_register::scenario(Flavor::Buggy)).mode(mode).try_run();
        match mode {
            // Only a step inside the registering clone lands between check and register.
            Mode::ReentrantClones => assert_eq!(report.unwrap_err().kind(), ViolationKind::LostWakeup),
            _ => assert!(report.is_ok(), "{mode:?}: {}", report.unwrap_err()),
        }
        checker(|| check_then_register::scenario(Flavor::Fixed)).mode(mode).run();
    }
}
