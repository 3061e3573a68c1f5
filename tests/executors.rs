//! The executor kit on a small executor with switchable bugs (each caught with the
//! exact violation, the fixed flavor passing) and on futures-executor's `LocalPool`.

mod buggy;

use buggy::{toy_executor, Flavor};
use futures_executor::LocalPool;
use futures_util::task::LocalSpawnExt;
use std::future::Future;

use pollcheck::{Executor, FoundBy, Report, ViolationKind};

fn caught(executor: fn(Flavor) -> Executor, kind: ViolationKind, check: &'static str) -> Report {
    let report = pollcheck::try_check_executor(move || executor(Flavor::Buggy)).expect_err("the buggy flavor passed");
    println!("{report}");
    assert_eq!(report.kind(), kind, "{report}");
    assert_eq!(report.found_by(), &FoundBy::Other(check), "{report}");
    if let Err(report) = pollcheck::try_check_executor(move || executor(Flavor::Fixed)) {
        panic!("the fixed flavor failed:\n{report}");
    }
    report
}

#[test]
fn an_executor_clearing_the_woken_flag_after_polling_loses_a_self_wake() {
    let report = caught(
        toy_executor::loses_self_wake,
        ViolationKind::LostWakeup,
        "executor check: re-polls after a self-wake during poll",
    );
    assert_eq!(report.violation().task(), Some(0), "{report}");
    assert!(report.to_string().contains("what the check did:"), "{report}");
    assert!(!report.to_string().contains("replay:"), "{report}");
}

#[test]
fn an_executor_that_never_drops_finished_tasks_leaks_them() {
    caught(toy_executor::keeps_finished, ViolationKind::LeakedFuture, "executor check: drops finished tasks");
}

#[test]
fn the_toy_executor_passes() {
    pollcheck::check_executor(|| toy_executor::executor(toy_executor::Bugs::default()));
}

#[test]
fn futures_executor_local_pool_passes() {
    pollcheck::check_executor(|| {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        Executor::new(move |task| spawner.spawn_local(task).unwrap(), move || pool.run_until_stalled())
    });
}

#[test]
fn futures_executor_local_pool_passes_one_step_at_a_time() {
    pollcheck::check_executor(|| {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        Executor::stepped(move |task| spawner.spawn_local(task).unwrap(), move || pool.try_run_one())
    });
}

#[test]
fn an_executor_that_re_polls_finished_tasks_is_poll_after_ready() {
    // Keeps every task queued forever and polls all of them on every run.
    let report = pollcheck::try_check_executor(|| {
        let tasks = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let spawned = std::rc::Rc::clone(&tasks);
        Executor::new(
            move |task| spawned.borrow_mut().push(Box::pin(task)),
            move || {
                let waker = futures_util::task::noop_waker();
                for task in tasks.borrow_mut().iter_mut() {
                    let _ = task.as_mut().poll(&mut std::task::Context::from_waker(&waker));
                }
            },
        )
    })
    .expect_err("polling finished tasks is caught");
    assert_eq!(report.kind(), ViolationKind::PollAfterReady, "{report}");
}

#[test]
fn a_panicking_executor_is_reported() {
    let report = pollcheck::try_check_executor(|| Executor::new(|_task| {}, || panic!("the run queue is on fire")))
        .expect_err("a panic is caught");
    assert_eq!(report.kind(), ViolationKind::Panic, "{report}");
    assert!(report.violation().detail().contains("the run queue is on fire"), "{report}");
}
