//! A model against the equivalent `Scenario`: the zoo's fixed notifier with two
//! waiters and one notification, as a scenario (two tasks and a driver step) and as a
//! model (a body, two spawned waiters and a spawned notifier task). Schedules per
//! second of the systematic phase (`.cases(0)`, default bounds), one thread, default
//! watchdog: the counter is the schedules each check explored, so divan's `item/s`
//! compares the time per schedule.
//!
//! ```sh
//! cargo bench --bench models
//! ```

use divan::counter::ItemsCount;
use divan::Bencher;
use pollcheck::{Checker, Scenario};

#[path = "../tests/buggy/mod.rs"]
mod buggy;

use buggy::{notifier, Flavor};

fn main() {
    divan::main();
}

fn scenario() -> Scenario {
    notifier::scenario(Flavor::Fixed)
}

fn model() -> Scenario {
    Scenario::model(buggy::models::notifier(Flavor::Fixed))
}

/// The scenario as a model, one for one: the body spawns the two waiters and, as the
/// driver step, notifies at its second poll (it yields once in between, so that poll,
/// like the step, may come before, between or after the waiters' polls).
fn model_one_for_one() -> Scenario {
    Scenario::model(async {
        let notify = notifier::Notify::new(Flavor::Fixed);
        pollcheck::spawn(notify.notified());
        pollcheck::spawn(notify.notified());
        buggy::models::yield_now().await;
        notify.notify_one();
    })
}

fn bench(bencher: Bencher, factory: fn() -> Scenario) {
    let schedules = Checker::new(factory).cases(0).try_run().expect("passes").schedules();
    bencher.counter(ItemsCount::new(schedules)).bench(|| Checker::new(factory).cases(0).try_run().expect("passes"));
}

#[divan::bench(sample_count = 20)]
fn notifier_scenario(bencher: Bencher) {
    bench(bencher, scenario);
}

#[divan::bench(sample_count = 20)]
fn notifier_model(bencher: Bencher) {
    bench(bencher, model);
}

#[divan::bench(sample_count = 20)]
fn notifier_model_one_for_one(bencher: Bencher) {
    bench(bencher, model_one_for_one);
}
