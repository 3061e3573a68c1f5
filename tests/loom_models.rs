//! One test file, both engines: the same models run on pollcheck's single-threaded
//! engine under `cargo test` (and miri), and on loom threads under
//! `RUSTFLAGS="--cfg loom" cargo test --release --test loom_models`, where the race
//! between a check and a registration on another thread becomes visible.

use std::panic::{catch_unwind, AssertUnwindSafe};

#[path = "common/loom_prims.rs"]
mod loom_prims;

use loom_prims::Flag;

/// The body waits for a flag that a spawned task sets.
fn flag_model(recheck: bool) {
    pollcheck::model(move || async move {
        let flag = Flag::new(recheck);
        let setter = flag.clone();
        let set = pollcheck::spawn(async move { setter.set() });
        flag.wait().await;
        set.await;
    });
}

#[test]
fn a_flag_that_checks_again_after_registering_passes() {
    flag_model(true);
}

#[test]
fn a_flag_that_registers_after_its_only_check_loses_the_wakeup_across_threads() {
    let result = catch_unwind(AssertUnwindSafe(|| flag_model(false)));
    if cfg!(loom) {
        // Interleaving: the waiter sees `false`; the setter sets and wakes an empty
        // AtomicWaker; the waiter registers and returns Pending.
        let message = result.expect_err("loom found no interleaving that loses the wakeup");
        let text = message.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(text.contains("lost wakeup"), "{text}");
    } else {
        // On one thread no action lands between the check and the registration.
        assert!(result.is_ok(), "the single-threaded engine flagged the flag");
    }
}

#[test]
fn a_spawned_tasks_output_reaches_the_body_on_both_engines() {
    pollcheck::model(|| async {
        let flag = Flag::new(true);
        let waiter = flag.clone();
        let waited = pollcheck::spawn(async move {
            waiter.wait().await;
            7
        });
        pollcheck::spawn(async move { flag.set() }).await;
        assert_eq!(waited.await, 7);
    });
}
