//! Parallel speedup of `Checker::threads(2)` over one thread, measured so that it means
//! something on a shared, loaded machine: the one- and two-thread runs alternate (both
//! see the same background load), and besides wall time each side's CPU time (user +
//! system, all threads, from `/proc/self/stat`) is measured.
//!
//! ```sh
//! cargo bench --bench parallel
//! ```
//!
//! Columns: schedules/s (wall) on 1 and 2 threads and their ratio (the speedup as
//! measured, which on a loaded machine also reflects the scheduler giving two threads a
//! larger share of the cores); CPU µs per schedule on 1 and 2 threads; and
//! `2 × cpu(1) / cpu(2)`, the speedup two idle cores would give if the work split
//! evenly (CPU time does not grow with the load, so this one compares across runs);
//! and the cores the two-thread side got (its CPU time over its wall time: near 1 when
//! the load leaves one core, and then no wall-clock speedup is possible; a check small
//! enough to stay on one thread also shows about 1).
//! Scenarios and phases as in benches/schedules.rs. `PARALLEL_SECONDS` (default 1)
//! is the time per side per round; 3 rounds, medians reported.

use std::time::Instant;

use pollcheck::{Checker, Scenario};

#[path = "../tests/buggy/mod.rs"]
mod buggy;

mod common;

use common::{countdown_3, notifier_two_waiters, oneshot_receive};

/// CPU seconds (user + system) of this process so far, all threads included.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15 (1-based).
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// Something with a name for the table.
type Named<T> = (&'static str, T);

struct Side {
    schedules: u64,
    wall: f64,
    cpu: f64,
}

/// Runs `phase` with `threads` for about `seconds`.
fn run(phase: &dyn Fn(usize) -> u64, threads: usize, seconds: f64) -> Side {
    let (start, cpu0) = (Instant::now(), cpu_seconds().unwrap_or(f64::NAN));
    let mut schedules = 0;
    while start.elapsed().as_secs_f64() < seconds {
        schedules += phase(threads);
    }
    Side { schedules, wall: start.elapsed().as_secs_f64(), cpu: cpu_seconds().unwrap_or(f64::NAN) - cpu0 }
}

fn ratio(x: f64) -> String {
    if x < 0.1 {
        format!("{x:.4}x")
    } else {
        format!("{x:.2}x")
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let seconds: f64 = std::env::var("PARALLEL_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    let scenarios: [Named<fn() -> Scenario>; 3] =
        [("oneshot", oneshot_receive), ("notifier", notifier_two_waiters), ("countdown", countdown_3)];
    println!(
        "| scenario | phase | schedules per run | 1 thread: schedules/s | 2 threads: schedules/s | measured speedup \
         | CPU µs/schedule, 1 thread | CPU µs/schedule, 2 threads | 2 × cpu(1)/cpu(2) | cores used, 2 threads |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, factory) in scenarios {
        let systematic = move |threads: usize| -> u64 {
            Checker::new(factory).cases(0).threads(threads).try_run().expect("passes").schedules()
        };
        let random = move |threads: usize| -> u64 {
            Checker::new(factory).depth(1).cases(20_000).threads(threads).try_run().expect("passes").schedules()
        };
        let phases: [Named<&dyn Fn(usize) -> u64>; 2] = [("systematic", &systematic), ("random", &random)];
        for (phase_name, phase) in phases {
            let per_run = phase(1);
            let (mut rate, mut cpu, mut cores) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()], Vec::new());
            for _round in 0..3 {
                for (i, threads) in [1, 2].into_iter().enumerate() {
                    let side = run(phase, threads, seconds);
                    rate[i].push(side.schedules as f64 / side.wall);
                    cpu[i].push(side.cpu / side.schedules as f64 * 1e6);
                    if threads == 2 {
                        cores.push(side.cpu / side.wall);
                    }
                }
            }
            let [r1, r2] = rate.map(median);
            let [c1, c2] = cpu.map(median);
            println!(
                "| {name} | {phase_name} | {per_run} | {r1:.0} | {r2:.0} | {} | {c1:.2} | {c2:.2} | {} | {:.2} |",
                ratio(r2 / r1),
                ratio(2.0 * c1 / c2),
                median(cores)
            );
        }
    }
}
