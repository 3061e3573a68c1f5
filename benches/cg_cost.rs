//! Instruction counts under callgrind (repeatable on a loaded machine):
//! `valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/cg_cost-<hash> MODE N`
//! and take the difference of two N to get a per-poll or per-schedule slope.
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;

use futures_channel::oneshot;
use futures_test::task::noop_context;
use pollcheck::{Checker, Scenario, Schedule};

#[path = "../tests/buggy/mod.rs"]
mod buggy;

fn oneshot_scenario() -> Scenario {
    let (tx, rx) = oneshot::channel::<u32>();
    Scenario::new().task(rx).step(move || {
        let _ = tx.send(7);
    })
}

fn spurious(n: u64) -> Schedule {
    let text: String =
        std::iter::once("p0").chain((0..n).map(|_| "s0")).chain(std::iter::once("d")).collect::<Vec<_>>().join(" ");
    text.parse().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` runs every bench target with `--bench`: nothing to time here.
    let (Some(mode), Some(Ok(n))) = (args.get(1).map(String::as_str), args.get(2).map(|n| n.parse::<u64>())) else {
        println!("cg_cost: run under callgrind as `cg_cost MODE N` (see BENCHMARKS.md)");
        return;
    };
    match mode {
        "noop" => {
            let (_tx, rx) = oneshot::channel::<u32>();
            let mut rx = pin!(rx);
            let mut cx = noop_context();
            for _ in 0..n {
                assert!(black_box(rx.as_mut().poll(&mut cx)).is_pending());
            }
        }
        "bare" => {
            for _ in 0..n {
                let mut cx = noop_context();
                let (tx, rx) = oneshot::channel::<u32>();
                let mut rx = pin!(rx);
                assert!(rx.as_mut().poll(&mut cx).is_pending());
                tx.send(black_box(7)).unwrap();
                black_box(rx.as_mut().poll(&mut cx)).is_ready();
            }
        }
        "spurious" | "spurious_wd" => {
            let c = Checker::new(oneshot_scenario).replay_schedule(spurious(n));
            let c = if mode == "spurious" { c.poll_timeout(None) } else { c };
            c.try_run().unwrap();
        }
        "one" => {
            for _ in 0..n {
                Checker::new(oneshot_scenario).replay("").cases(0).poll_timeout(None).try_run().unwrap();
            }
        }
        "sys" | "sys_notifier" => {
            let f: fn() -> Scenario =
                if mode == "sys" { oneshot_scenario } else { || buggy::notifier::scenario(buggy::Flavor::Fixed) };
            for _ in 0..n {
                let s = Checker::new(f).cases(0).poll_timeout(None).try_run().unwrap();
                black_box(s);
            }
        }
        "rand" => {
            let s = Checker::new(oneshot_scenario).depth(1).cases(n).poll_timeout(None).try_run().unwrap();
            black_box(s);
        }
        _ => panic!("mode"),
    }
}
