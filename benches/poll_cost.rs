//! Per-poll cost: the same poll with pollcheck's instrumented waker inside the engine,
//! with `futures_test::task::noop_context()`, with a counting waker
//! (`futures_test::task::new_count_waker`) and with tokio-test's `task::spawn`; plus
//! the floors of issue 6 (a pending futures-channel oneshot receiver, a fresh `Arc`
//! waker per poll, the bare oneshot scenario).
//!
//! ```sh
//! cargo bench --bench poll_cost
//! ```
//!
//! The future is the zoo's fixed countdown (tests/buggy/countdown.rs): it calls
//! `wake_by_ref` and returns `Pending` `N` times, then `Ready`, so a run is `N + 1`
//! polls and `N` wakes. Through pollcheck it runs as one replayed schedule (`""`: the
//! honest drain alone) with the watchdog off and the spin bound out of the way, so the
//! run is the engine's poll loop plus a fixed cost per schedule (factory, scenario,
//! teardown); the per-poll cost is the slope between `N = 0` and `N = 10_000`.
//! BENCHMARKS.md derives the table from this output.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use futures_channel::oneshot;
use futures_test::task::{new_count_waker, noop_context};
use pollcheck::{Checker, Scenario, Schedule};

#[path = "../tests/buggy/mod.rs"]
mod buggy;

use buggy::countdown::Countdown;
use buggy::Flavor;

/// Polls per countdown run, minus the last (`Ready`) one.
const NS: [u32; 3] = [0, 100, 10_000];

fn countdown(n: u32) -> Countdown {
    Countdown { left: n, flavor: Flavor::Fixed }
}

fn main() {
    divan::main();
}

/// Polls `fut` to completion with `cx`.
fn drive<F: Future>(fut: F, cx: &mut Context<'_>) -> F::Output {
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return out;
        }
    }
}

/// `futures_test::task::noop_context()`.
#[divan::bench(args = NS)]
fn countdown_noop_context(bencher: Bencher, n: u32) {
    bencher.counter(ItemsCount::new(n + 1)).bench_local(|| {
        let mut cx = noop_context();
        drive(countdown(black_box(n)), &mut cx)
    });
}

/// `futures_test::task::new_count_waker()` (an `Arc` with an atomic counter).
#[divan::bench(args = NS)]
fn countdown_count_waker(bencher: Bencher, n: u32) {
    bencher.counter(ItemsCount::new(n + 1)).bench_local(|| {
        let (waker, count) = new_count_waker();
        let mut cx = Context::from_waker(&waker);
        let out = drive(countdown(black_box(n)), &mut cx);
        assert_eq!(count.get(), n as usize);
        out
    });
}

/// tokio-test: `task::spawn(fut)` then `.poll()` until `Ready` (its waker takes a
/// mutex and signals a condvar on every wake).
#[divan::bench(args = NS)]
fn countdown_tokio_test(bencher: Bencher, n: u32) {
    bencher.counter(ItemsCount::new(n + 1)).bench_local(|| {
        let mut task = tokio_test::task::spawn(countdown(black_box(n)));
        loop {
            if let Poll::Ready(out) = task.poll() {
                return out;
            }
        }
    });
}

/// pollcheck: one replayed schedule (the honest drain), watchdog off, no spin bound.
#[divan::bench(args = NS)]
fn countdown_pollcheck_replay(bencher: Bencher, n: u32) {
    bencher.counter(ItemsCount::new(n + 1)).bench_local(|| {
        Checker::new(move || Scenario::new().task(countdown(black_box(n))))
            .replay("")
            .cases(0)
            .spin_bound(u32::MAX)
            .poll_timeout(None)
            .try_run()
            .expect("the fixed countdown passes")
    });
}

/// As above with the default watchdog (a thread per `try_run`), as `check()` runs it.
#[divan::bench(args = NS)]
fn countdown_pollcheck_replay_watchdog(bencher: Bencher, n: u32) {
    bencher.counter(ItemsCount::new(n + 1)).bench_local(|| {
        Checker::new(move || Scenario::new().task(countdown(black_box(n))))
            .replay("")
            .cases(0)
            .spin_bound(u32::MAX)
            .try_run()
            .expect("the fixed countdown passes")
    });
}

// ---------------------------------------------------------------------------------
// Floors (issue 6): a futures-channel oneshot receiver.

struct NoopArc;

impl Wake for NoopArc {
    fn wake(self: Arc<Self>) {}
}

/// A pending receiver polled again with the same noop waker.
#[divan::bench]
fn floor_oneshot_pending_noop(bencher: Bencher) {
    let (_tx, rx) = oneshot::channel::<u32>();
    let mut rx = pin!(rx);
    let mut cx = noop_context();
    bencher.bench_local(|| black_box(rx.as_mut().poll(&mut cx)).is_pending());
}

/// A pending receiver polled with a fresh `Arc` waker each time (it replaces the one
/// it stored).
#[divan::bench]
fn floor_oneshot_pending_fresh_arc_waker(bencher: Bencher) {
    let (_tx, rx) = oneshot::channel::<u32>();
    let mut rx = pin!(rx);
    bencher.bench_local(|| {
        let waker = Waker::from(Arc::new(NoopArc));
        let mut cx = Context::from_waker(&waker);
        black_box(rx.as_mut().poll(&mut cx)).is_pending()
    });
}

/// The bare scenario: create the channel, poll (pending), send, poll (ready).
#[divan::bench]
fn floor_oneshot_bare_scenario(bencher: Bencher) {
    bencher.bench_local(|| {
        let mut cx = noop_context();
        let (tx, rx) = oneshot::channel::<u32>();
        let mut rx = pin!(rx);
        assert!(rx.as_mut().poll(&mut cx).is_pending());
        tx.send(black_box(7)).unwrap();
        rx.as_mut().poll(&mut cx)
    });
}

/// The same scenario as one pollcheck schedule (honest drain), watchdog off.
#[divan::bench]
fn oneshot_pollcheck_one_schedule(bencher: Bencher) {
    bencher.bench_local(|| {
        Checker::new(oneshot_scenario).replay("").cases(0).poll_timeout(None).try_run().expect("the oneshot passes")
    });
}

/// `p0`, `n` spurious polls `s0`, then `d`: every `s0` polls the pending receiver again
/// with the same waker identity (what `floor_oneshot_pending_noop` does with a noop
/// waker). Spurious schedules are judged against their honest twin (`p0 d p0`), which
/// runs once per `try_run`: a fixed cost, like the factory's.
fn spurious_polls(n: u32) -> Schedule {
    let text: String =
        std::iter::once("p0").chain((0..n).map(|_| "s0")).chain(std::iter::once("d")).collect::<Vec<_>>().join(" ");
    text.parse().expect("a valid schedule")
}

fn oneshot_scenario() -> Scenario {
    let (tx, rx) = oneshot::channel::<u32>();
    Scenario::new().task(rx).step(move || {
        let _ = tx.send(7);
    })
}

/// A pending oneshot receiver polled `n` extra times inside the engine (watchdog off);
/// per poll: the slope between `n = 0` and `n = 10_000`.
#[divan::bench(args = [0, 10_000])]
fn oneshot_pollcheck_spurious_polls(bencher: Bencher, n: u32) {
    let schedule = spurious_polls(n);
    bencher.counter(ItemsCount::new(n + 2)).with_inputs(|| schedule.clone()).bench_local_values(|schedule| {
        Checker::new(oneshot_scenario)
            .replay_schedule(schedule)
            .poll_timeout(None)
            .try_run()
            .expect("the oneshot passes")
    });
}

/// As above with the default watchdog.
#[divan::bench(args = [0, 10_000])]
fn oneshot_pollcheck_spurious_polls_watchdog(bencher: Bencher, n: u32) {
    let schedule = spurious_polls(n);
    bencher.counter(ItemsCount::new(n + 2)).with_inputs(|| schedule.clone()).bench_local_values(|schedule| {
        Checker::new(oneshot_scenario).replay_schedule(schedule).try_run().expect("the oneshot passes")
    });
}
