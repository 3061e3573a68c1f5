//! The scenarios the `schedules` and `parallel` benches both measure.

use futures_channel::oneshot;
use pollcheck::Scenario;

use super::buggy::{countdown, notifier, Flavor};

/// A oneshot receiver and the driver step that sends to it.
pub fn oneshot_receive() -> Scenario {
    let (tx, rx) = oneshot::channel::<u32>();
    Scenario::new().task(rx).step(move || {
        let _ = tx.send(7);
    })
}

/// The zoo's fixed notifier: two waiters, one notification.
pub fn notifier_two_waiters() -> Scenario {
    notifier::scenario(Flavor::Fixed)
}

/// The zoo's fixed countdown of three.
pub fn countdown_3() -> Scenario {
    countdown::scenario(Flavor::Fixed)
}
