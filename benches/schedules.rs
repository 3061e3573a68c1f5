//! Schedules per second for three passing scenarios, in the systematic phase and in
//! the random phase, on one thread and on two (`Checker::threads(2)`).
//!
//! ```sh
//! cargo bench --bench schedules
//! ```
//!
//! - systematic: `.cases(0)`, default bounds (depth 7): the whole phase, no random case;
//! - random: `.depth(1).cases(20_000)`: the systematic phase shrinks to its first level (the
//!   honest run and its one-step children, a handful of schedules; depth 0 is no longer a
//!   valid bound) and 20,000 random walks follow.
//!
//! Every run checks the whole phase through the public API (`try_run`), with the
//! default watchdog, as `check()` runs it. The counter is the number of schedules the
//! run explored (its `Summary`), so divan's `item/s` line is schedules per second.

use divan::counter::ItemsCount;
use divan::Bencher;
use pollcheck::{Checker, Scenario, Summary};

#[path = "../tests/buggy/mod.rs"]
mod buggy;

mod common;

use common::{countdown_3, notifier_two_waiters, oneshot_receive};

const RANDOM_CASES: u64 = 20_000;

fn main() {
    divan::main();
}

const SCENARIOS: [&str; 3] = ["oneshot", "notifier", "countdown"];

fn factory(name: &str) -> fn() -> Scenario {
    match name {
        "oneshot" => oneshot_receive,
        "notifier" => notifier_two_waiters,
        "countdown" => countdown_3,
        _ => unreachable!("unknown scenario {name}"),
    }
}

fn systematic(name: &str, threads: usize) -> Summary {
    Checker::new(factory(name)).cases(0).threads(threads).try_run().expect("the scenario passes")
}

fn random(name: &str, threads: usize) -> Summary {
    Checker::new(factory(name)).depth(1).cases(RANDOM_CASES).threads(threads).try_run().expect("the scenario passes")
}

/// The systematic phase alone (`.cases(0)`).
#[divan::bench(args = SCENARIOS, consts = [1, 2])]
fn systematic_phase<const THREADS: usize>(bencher: Bencher, name: &str) {
    let schedules = systematic(name, THREADS).schedules();
    bencher.counter(ItemsCount::new(schedules)).bench_local(|| systematic(name, THREADS));
}

/// The random phase (`.depth(1).cases(20_000)`: the first level, then 20,000 walks).
#[divan::bench(args = SCENARIOS, consts = [1, 2])]
fn random_phase<const THREADS: usize>(bencher: Bencher, name: &str) {
    let summary = random(name, THREADS);
    assert_eq!(summary.random, RANDOM_CASES);
    bencher.counter(ItemsCount::new(summary.schedules())).bench_local(|| random(name, THREADS));
}
