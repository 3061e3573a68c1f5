//! A loom model with and without pollcheck's instrumentation: iterations (executions
//! loom explores) and time per iteration. Builds only with `--cfg loom`:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" cargo bench --target-dir target/loom --bench loom_overhead
//! ```
//!
//! Both sides run the same model with loom's `Builder` at preemption bound 2 (what
//! `pollcheck::loom::model` uses): a fixed flag + `AtomicWaker` (tests/loom_primitives.rs,
//! primitive 1) and a fixed mutex-guarded oneshot (primitive 2), a setter thread
//! against a waiting task. Plain loom: `loom::thread::spawn` + `loom::future::block_on`.
//! pollcheck: `pollcheck::loom::spawn` + `pollcheck::loom::block_on` (a fresh
//! instrumented waker per poll, counters on loom atomics, a running-thread count).
//! Instrumentation adds loom-visible operations, so loom explores more executions:
//! the table shows both the count and the cost per execution.

#[cfg(not(loom))]
fn main() {
    println!("loom_overhead: skipped; run with RUSTFLAGS=\"--cfg loom\" (see the file's header)");
}

#[cfg(loom)]
fn main() {
    model::main();
}

#[cfg(loom)]
#[path = "../tests/common/loom_prims.rs"]
mod loom_prims;

#[cfg(loom)]
mod model {
    use std::future::Future;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    use std::time::Instant;

    use super::loom_prims::{Flag, Oneshot};

    /// Executions of the model closure in the current check.
    static EXECUTIONS: AtomicU64 = AtomicU64::new(0);

    /// A model's name and body.
    type Model = (&'static str, fn(Driver));

    #[derive(Clone, Copy)]
    enum Driver {
        Loom,
        Pollcheck,
    }

    fn spawn(driver: Driver, f: impl FnOnce() + Send + 'static) -> loom::thread::JoinHandle<()> {
        match driver {
            Driver::Loom => loom::thread::spawn(f),
            Driver::Pollcheck => pollcheck::loom::spawn(f),
        }
    }

    fn block_on<F: Future>(driver: Driver, f: F) -> F::Output {
        match driver {
            Driver::Loom => loom::future::block_on(f),
            Driver::Pollcheck => pollcheck::loom::block_on(f),
        }
    }

    fn flag(driver: Driver) {
        let flag = Flag::new(true);
        let setter = flag.clone();
        let t = spawn(driver, move || setter.set());
        block_on(driver, flag.wait());
        t.join().unwrap();
    }

    fn oneshot(driver: Driver) {
        let chan = Oneshot::new(true);
        let tx = chan.clone();
        let t = spawn(driver, move || tx.send(7));
        assert_eq!(block_on(driver, chan.recv()), 7);
        t.join().unwrap();
    }

    /// Runs one check of `model`; returns (executions, seconds).
    fn check(model: fn(Driver), driver: Driver) -> (u64, f64) {
        EXECUTIONS.store(0, Relaxed);
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(pollcheck::loom::DEFAULT_PREEMPTIONS);
        let start = Instant::now();
        builder.check(move || {
            EXECUTIONS.fetch_add(1, Relaxed);
            model(driver);
        });
        (EXECUTIONS.load(Relaxed), start.elapsed().as_secs_f64())
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    /// Checks `model` `repeats` times with each driver, alternating so that both see
    /// the same background load; returns (executions, median seconds) for each.
    fn measure(model: fn(Driver), repeats: usize) -> [(u64, f64); 2] {
        let (mut loom, mut ours) = ((0, Vec::new()), (0, Vec::new()));
        for _ in 0..repeats {
            for (driver, into) in [(Driver::Loom, &mut loom), (Driver::Pollcheck, &mut ours)] {
                let (n, t) = check(model, driver);
                into.0 = n;
                into.1.push(t);
            }
        }
        [(loom.0, median(loom.1)), (ours.0, median(ours.1))]
    }

    pub(crate) fn main() {
        let repeats = std::env::var("LOOM_BENCH_REPEATS").ok().and_then(|v| v.parse().ok()).unwrap_or(51);
        println!("median of {repeats} checks each, preemption bound {}\n", pollcheck::loom::DEFAULT_PREEMPTIONS);
        println!(
            "| model | loom: executions | loom: time / execution | pollcheck: executions | pollcheck: time / \
             execution | executions ratio | time / execution ratio | whole-check ratio |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
        let models: [Model; 2] = [("flag + AtomicWaker", flag), ("mutex oneshot", oneshot)];
        for (name, model) in models {
            let [(n_loom, t_loom), (n_pc, t_pc)] = measure(model, repeats);
            let (per_loom, per_pc) = (t_loom / n_loom as f64, t_pc / n_pc as f64);
            println!(
                "| {name} | {n_loom} | {:.1} µs | {n_pc} | {:.1} µs | {:.2}x | {:.2}x | {:.2}x |",
                per_loom * 1e6,
                per_pc * 1e6,
                n_pc as f64 / n_loom as f64,
                per_pc / per_loom,
                t_pc / t_loom
            );
        }
    }
}
