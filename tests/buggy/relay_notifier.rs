//! A multi-waiter notifier (`notify_one` notifies one waiter or stores a permit) whose
//! registered waiters check only their own `notified` flag, never the stored permits
//! (a permit is only for a waiter's first poll). Bug: a waiter that was notified but
//! is dropped before it is polled turns its notification into a permit instead of
//! passing it to the next waiter, so a waiter already registered never sees it.
//!
//! The existing detectors cannot see it: the other waiter's waker stays registered
//! (so something *could* wake it) and an extra poll returns `Pending` (it checks its
//! own flag). Only a declaration that the waiter must finish
//! ([`Scenario::must_finish`]) makes its stranding a violation (`StuckTask`).
//!
//! The scenario sends one notification to two tasks; task 0 relays it (once
//! notified, it notifies again), so with a correct notifier task 1 finishes under
//! every schedule that neither cancels nor abandons it.

use super::notifier;
use super::Flavor;
use pollcheck::Scenario;

/// The notifier of `super::notifier` whose registered waiters look only at their own
/// notification.
pub fn notify(flavor: Flavor) -> notifier::Notify {
    notifier::Notify::own_notification_only(flavor)
}

/// Task 0 relays the notification to task 1; nothing is declared.
pub fn scenario(flavor: Flavor) -> Scenario {
    let notify = notify(flavor);
    let relay = notify.clone();
    Scenario::new()
        .task(async move {
            relay.notified().await;
            relay.notify_one();
        })
        .task(notify.notified())
        .step(move || notify.notify_one())
}

/// The same, with task 1 declared to finish.
pub fn must_finish(flavor: Flavor) -> Scenario {
    scenario(flavor).must_finish()
}

/// Two plain waiters and one notification: either may rightly be the one left waiting.
pub fn two_waiters(flavor: Flavor) -> Scenario {
    let notify = notify(flavor);
    Scenario::new().task(notify.notified()).task(notify.notified()).step(move || notify.notify_one())
}

/// The same, where at least one of them must finish (a quorum of 1).
pub fn quorum(flavor: Flavor) -> Scenario {
    two_waiters(flavor).quorum(1)
}
