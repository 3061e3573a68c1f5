//! Zoo primitives used from models (async test bodies with `pollcheck::spawn`).

use futures_util::future::{select, Either};

use super::{notifier, Flavor};

/// Two waiters on the zoo's notifier (the first one cancellable) and one
/// notification: whichever finishes first ends the test, unless it was the cancelled
/// one, whose notification must then reach the other.
pub async fn notifier(flavor: Flavor) {
    let notify = notifier::Notify::new(flavor);
    let a = pollcheck::spawn_cancellable(notify.notified());
    let b = pollcheck::spawn(notify.notified());
    pollcheck::spawn(async move { notify.notify_one() });
    if let Either::Left((None, b)) = select(a, b).await {
        b.await;
    }
}
