//! Per-poll cost of `.checked()` under a real executor (`futures_executor::block_on`),
//! against the same future unwrapped.
//!
//! ```sh
//! cargo bench --bench runtime_checks
//! ```
//!
//! Two countdowns, each `N` times `Pending` then `Ready` (`N + 1` polls, `N` wakes):
//! - `wake_by_ref`: the zoo's fixed countdown (tests/buggy/countdown.rs) wakes the
//!   waker it is polled with and keeps nothing, so the wrapper reuses one identity's
//!   allocation for every poll (the cheap path);
//! - `registering`: keeps a clone of its waker, replaced when `will_wake` says it
//!   changed, and wakes the kept one, as a channel or a timer does. Under `.checked()`
//!   every poll is a new identity, so every poll clones and allocates (the dear path).
//!
//! Per poll: the slope between `N = 0` and `N = 10_000`. BENCHMARKS.md derives the
//! table from this output.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use futures_executor::block_on;
use pollcheck::FutureCheckExt;

#[path = "../tests/buggy/mod.rs"]
mod buggy;

use buggy::countdown::Countdown;
use buggy::Flavor;

const NS: [u32; 3] = [0, 100, 10_000];

fn main() {
    divan::main();
}

fn countdown(n: u32) -> Countdown {
    Countdown { left: n, flavor: Flavor::Fixed }
}

/// A countdown that registers its waker like a channel: it keeps a clone (replaced
/// when `will_wake` says the waker changed) and wakes the kept one.
struct Registering {
    left: u32,
    kept: Option<Waker>,
}

impl Future for Registering {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        match &mut self.kept {
            Some(w) if w.will_wake(cx.waker()) => {}
            kept => *kept = Some(cx.waker().clone()),
        }
        self.kept.as_ref().expect("just kept").wake_by_ref();
        Poll::Pending
    }
}

fn registering(n: u32) -> Registering {
    Registering { left: n, kept: None }
}

#[divan::bench(args = NS)]
fn wake_by_ref_unwrapped(bencher: Bencher, n: u32) {
    bencher.counter(ItemsCount::new(n + 1)).bench_local(|| block_on(countdown(black_box(n))));
}

#[divan::bench(args = NS)]
fn wake_by_ref_checked(bencher: Bencher, n: u32) {
    bencher.counter(ItemsCount::new(n + 1)).bench_local(|| block_on(countdown(black_box(n)).checked()));
}

#[divan::bench(args = NS)]
fn registering_unwrapped(bencher: Bencher, n: u32) {
    bencher.counter(ItemsCount::new(n + 1)).bench_local(|| block_on(registering(black_box(n))));
}

#[divan::bench(args = NS)]
fn registering_checked(bencher: Bencher, n: u32) {
    bencher.counter(ItemsCount::new(n + 1)).bench_local(|| block_on(registering(black_box(n)).checked()));
}
