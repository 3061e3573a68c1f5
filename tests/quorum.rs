//! Quorum expectations (`Scenario::quorum`): with one notification and two waiters,
//! either waiter may rightly be the one left waiting, so neither can be declared to
//! finish, and declaring both flags a correct notifier; at least one of them must.

mod buggy;
mod common;

use std::sync::Arc;

use buggy::{relay_notifier, Flavor};
use common::{caught, proven};
use pollcheck::{Bounds, Checker, Scenario, ViolationKind};

#[test]
fn a_notification_erased_with_its_cancelled_waiter_falls_short_of_the_quorum() {
    let report = proven(Bounds::default(), relay_notifier::quorum, ViolationKind::StuckTask, "p0 p1 d c0");
    assert_eq!(report.violation().task(), Some(1), "{report}");
    let detail = report.violation().detail();
    assert!(
        detail.contains("at least 1 of the 2 tasks counted must finish, but 0 did (task 0 was cancelled)"),
        "{report}"
    );
    assert!(detail.contains("none of them will ever be woken"), "{report}");
}

#[test]
fn declaring_every_waiter_flags_a_correct_notifier_and_the_quorum_does_not() {
    // Why the quorum exists: the fixed notifier leaves one of two waiters waiting, rightly.
    let every = || relay_notifier::two_waiters(Flavor::Fixed).all_must_finish();
    caught(Checker::new(every), ViolationKind::StuckTask, "d p0 p1");
    // A quorum larger than the tasks counted asks for all of them.
    let all = || relay_notifier::two_waiters(Flavor::Fixed).quorum(3);
    let report = caught(Checker::new(all), ViolationKind::StuckTask, "d p0 p1");
    assert!(report.violation().detail().contains("at least 2 of the 2 tasks counted must finish, but 1 did"));
    // A quorum counts only the declared tasks when some are: task 1 alone, declared,
    // may be the one left waiting.
    let declared = || relay_notifier::two_waiters(Flavor::Fixed).must_finish().quorum(1);
    caught(Checker::new(declared), ViolationKind::StuckTask, "d p0 p1");
}

/// Two waiters, one notification: at least one finishes, whichever the schedule picks.
fn passes(factory: fn() -> Scenario) {
    let checker = common::checker(factory);
    if let Err(report) = checker.try_run() {
        panic!("expected a pass:\n{report}");
    }
}

#[test]
fn tokio_notify_one_notification_two_waiters() {
    passes(|| {
        let notify = Arc::new(tokio::sync::Notify::new());
        let waiter = |n: Arc<tokio::sync::Notify>| async move { n.notified().await };
        Scenario::new()
            .task(waiter(notify.clone()))
            .task(waiter(notify.clone()))
            .quorum(1)
            .step(move || notify.notify_one())
    });
}

// Outside `--cfg loom` builds, as its dev-dependency is.
#[cfg(not(loom))]
#[test]
fn event_listener_one_notification_two_listeners() {
    // Listeners made before the driver runs: a notification reaches only listeners
    // that exist when it is sent.
    passes(|| {
        let event = event_listener::Event::new();
        let (a, b) = (event.listen(), event.listen());
        Scenario::new().unpin_task(a).unpin_task(b).quorum(1).step(move || {
            event.notify(1);
        })
    });
}

// Outside `--cfg loom` builds, as its dev-dependency is.
#[cfg(not(loom))]
#[test]
fn flume_one_message_two_receivers() {
    passes(|| {
        let (tx, rx) = flume::unbounded::<u32>();
        let receiver = |rx: flume::Receiver<u32>| async move { rx.recv_async().await.ok() };
        Scenario::new().task(receiver(rx.clone())).task(receiver(rx)).quorum(1).step(move || {
            let _ = tx.send(7);
        })
    });
}
