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

/// Yields to the executor once (wakes itself and returns `Pending`).
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}

/// The body takes two items from the zoo's lazy stream; a spawned task sends them,
/// yielding in between.
#[cfg(feature = "stream")]
pub async fn lazy_stream(flavor: Flavor) -> Vec<u32> {
    use futures_util::StreamExt;
    let (tx, rx) = super::lazy_stream::channel(flavor);
    pollcheck::spawn(async move {
        tx.send(1);
        yield_now().await;
        tx.send(2);
    });
    rx.take(2).collect().await
}

/// The body sends three items into the zoo's lossy sink; a spawned receiver takes
/// three, and the body waits for it.
#[cfg(feature = "sink")]
pub async fn lossy_sink(flavor: Flavor) -> Vec<u32> {
    use futures_util::{SinkExt, StreamExt};
    let (mut tx, rx) = super::lossy_sink::channel(flavor);
    let received = pollcheck::spawn(rx.take(3).collect::<Vec<u32>>());
    for v in 1..=3 {
        let _ = tx.send(v).await;
    }
    received.await
}
