//! Liveness: an action that never returns is a `Hang` report within the poll timeout,
//! never a hung test. A busy loop and a deadlock are told apart by the stuck thread's
//! CPU time, and each buggy primitive has a fixed twin that passes.
//!
//! Every test here needs the watchdog, which measures real time and is off under miri
//! (there, a self-deadlock is miri's own "deadlock" error, and a busy loop runs until
//! the stage's timeout): they are ignored under miri. The detectors that need no hang
//! (stuck task, strict abandonment) run under miri in tests/detectors.rs.
#![cfg(not(miri))]

mod buggy;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use buggy::{busy_wait, drop_under_lock, mutex_wake, Flavor};
use pollcheck::{Bounds, Checker, FoundBy, Report, Scenario, ViolationKind};

/// Short, so the tests are quick; the hang shows at once anyway.
const TIMEOUT: Duration = Duration::from_millis(300);

/// Runs `checker` expecting a hang report (no assertion on time: a hang within the
/// timeout is the watchdog's job, and a test that cannot hang is the point).
fn hang<F: Fn() -> Scenario>(checker: Checker<F>) -> Report {
    let report = match checker.poll_timeout(Some(TIMEOUT)).try_run() {
        Ok(summary) => panic!("expected a hang, but {} schedules passed", summary.schedules()),
        Err(report) => report,
    };
    println!("{report}");
    assert_eq!(report.kind(), ViolationKind::Hang, "{report}");
    report
}

#[test]
fn a_poll_that_spins_until_another_task_runs_is_a_busy_loop() {
    let release = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&release);
    let report = hang(Checker::new(move || busy_wait::scenario_with_release(Flavor::Buggy, Arc::clone(&flag))));
    // Free the helper thread the report left behind (the checker never knew of it).
    release.store(true, Ordering::Relaxed);
    let detail = report.violation().detail();
    assert!(detail.starts_with("the poll of task 0 ("), "{detail}");
    assert!(detail.contains("has not returned after"), "{detail}");
    assert!(detail.contains("a busy loop: the stuck thread burned"), "{detail}");
    assert_eq!(report.violation().task(), Some(0));
    // The first schedule of the systematic phase: its drain's first poll spins.
    assert_eq!(report.schedule().to_string(), "p0");
    assert_eq!(report.found_by(), &FoundBy::Systematic { schedules: 1 });
    let text = report.to_string();
    assert!(text.contains("1  p0  poll task 0 -> has not returned: the poll of task 0"), "{text}");
    assert!(text.contains("left behind"), "{text}");
    Checker::new(|| busy_wait::scenario(Flavor::Fixed)).run();
}

#[test]
fn waking_under_a_mutex_that_the_wake_re_enters_is_a_deadlock() {
    let reentrant = Bounds { reentrant: 1, ..Bounds::default() };
    let report = hang(Checker::new(|| mutex_wake::scenario(Flavor::Buggy)).bounds(reentrant));
    let detail = report.violation().detail();
    assert!(
        detail.starts_with("driver step 1 (tests/buggy/mutex_wake.rs:"),
        "the innermost action comes first: {detail}"
    );
    assert!(detail.contains("run inside a wake of waker #1, during driver step 0 ("), "{detail}");
    assert!(detail.contains("a deadlock: the stuck thread is blocked"), "{detail}");
    assert_eq!(report.schedule().to_string(), "p0 r");
    // The timeline comes from a journaled replay of the actions before the stuck one.
    let timeline = report.timeline().join("\n");
    assert!(timeline.contains("1  p0  poll task 0 with waker #1 -> Pending; cloned #1"), "{timeline}");
    assert!(timeline.contains("2  r   re-entrant driver step -> has not returned"), "{timeline}");
    // Without `r` nothing re-enters the lock, and the fixed notifier wakes after
    // unlocking.
    Checker::new(|| mutex_wake::scenario(Flavor::Buggy)).run();
    Checker::new(|| mutex_wake::scenario(Flavor::Fixed)).bounds(reentrant).run();
}

#[test]
fn dropping_a_replaced_waker_under_the_lock_is_a_deadlock_under_reentrant_drops() {
    let drops = Bounds { reentrant_drops: 1, ..Bounds::default() };
    let report = hang(Checker::new(|| drop_under_lock::scenario_mutex(Flavor::Buggy)).bounds(drops));
    let detail = report.violation().detail();
    assert!(detail.starts_with("driver step 0 (tests/buggy/drop_under_lock.rs:"), "{detail}");
    assert!(detail.contains("run inside the drop of waker #1, during the spurious poll of task 0"), "{detail}");
    assert!(detail.contains("a deadlock"), "{detail}");
    assert_eq!(report.schedule().to_string(), "p0 w0 u s0");
    // Off by default; the fixed notifier drops the old waker after unlocking.
    Checker::new(|| drop_under_lock::scenario_mutex(Flavor::Buggy)).run();
    Checker::new(|| drop_under_lock::scenario_mutex(Flavor::Fixed)).bounds(drops).run();
}

/// Keeps a clone of its waker (so no lost-wakeup proof applies) and never finishes;
/// its `Drop` waits for a message that never comes.
struct BlocksInDrop {
    waker: Option<Waker>,
    never: Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>,
}

impl Future for BlocksInDrop {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for BlocksInDrop {
    fn drop(&mut self) {
        if let Some((_tx, rx)) = &self.never {
            let _ = rx.recv();
        }
    }
}

#[test]
fn a_task_whose_drop_blocks_at_teardown_is_a_hang() {
    let report = hang(
        Checker::new(|| Scenario::new().task(BlocksInDrop { waker: None, never: Some(mpsc::channel()) })).cases(0),
    );
    let detail = report.violation().detail();
    assert!(detail.starts_with("dropping task 0 ("), "{detail}");
    assert!(detail.contains(") at teardown has not returned"), "{detail}");
    assert!(detail.contains("a deadlock"), "{detail}");
    let timeline = report.timeline().join("\n");
    assert!(timeline.contains("=  dropping task 0"), "{timeline}");
    Checker::new(|| Scenario::new().task(BlocksInDrop { waker: None, never: None })).run();
}

#[test]
fn a_factory_that_never_returns_is_a_hang() {
    let report = hang(Checker::new(|| {
        let (_tx, rx) = mpsc::channel::<()>();
        let _ = rx.recv();
        Scenario::new()
    }));
    let detail = report.violation().detail();
    assert!(detail.starts_with("the scenario factory has not returned after"), "{detail}");
    assert_eq!(report.schedule().to_string(), "");
}

#[test]
fn parallel_exploration_reports_the_hang_too() {
    let release = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&release);
    let report =
        hang(Checker::new(move || busy_wait::scenario_with_release(Flavor::Buggy, Arc::clone(&flag))).threads(2));
    release.store(true, Ordering::Relaxed);
    assert!(report.violation().detail().contains("a busy loop"), "{report}");
}

/// Names the hang a child process of [`in_child`] runs.
const CHILD: &str = "POLLCHECK_TEST_HANG_CHILD";

/// Hangs that end the process: each runs in a child process (this test binary again,
/// running only [`hanging_child`]), and the parent reads its exit status and stderr.
#[test]
#[ignore = "run in a child process by the tests that call in_child"]
fn hanging_child() {
    match std::env::var(CHILD).as_deref() {
        Ok("local") => {
            // The factory borrows: a local checker, exploring on this thread.
            let flavor = Flavor::Buggy;
            let _ = Checker::local(|| mutex_wake::scenario(flavor))
                .bounds(Bounds { reentrant: 1, ..Bounds::default() })
                .poll_timeout(Some(TIMEOUT))
                .try_run();
        }
        Ok("executor") => {
            // An executor whose "run until idle" blocks until every task is done.
            let _ = pollcheck::try_check_executor(|| {
                let tasks = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
                let spawned = tasks.clone();
                pollcheck::Executor::new(
                    move |task| spawned.borrow_mut().push(task),
                    move || {
                        let all: Vec<_> = tasks.borrow_mut().drain(..).collect();
                        futures_executor::block_on(futures_util::future::join_all(all));
                    },
                )
            });
        }
        _ => return,
    }
    unreachable!("the watchdog ends the process");
}

/// Runs [`hanging_child`] as `which` in a child process; returns its stderr after
/// checking that it ended with a hang report and exit status 101.
fn in_child(which: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "hanging_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD, which)
        .env("POLLCHECK_POLL_TIMEOUT_MS", TIMEOUT.as_millis().to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(101), "{stderr}");
    assert!(stderr.contains("pollcheck: hang"), "{stderr}");
    assert!(stderr.contains("ends the process with exit status 101"), "{stderr}");
    assert!(stderr.contains("Under cargo nextest each test is its own process"), "{stderr}");
    stderr
}

#[test]
fn a_local_checker_ends_the_process_with_the_report() {
    let stderr = in_child("local");
    assert!(stderr.contains("pollcheck: hang\n  driver step 1"), "{stderr}");
    assert!(stderr.contains("a deadlock"), "{stderr}");
    assert!(stderr.contains("replay: .replay(\"p0 r\")"), "{stderr}");
}

#[test]
fn an_executor_that_blocks_in_run_until_idle_is_a_hang() {
    let stderr = in_child("executor");
    assert!(stderr.contains("running the executor until idle has not returned after"), "{stderr}");
    assert!(stderr.contains("a deadlock"), "{stderr}");
    assert!(stderr.contains("found by executor check: polls spawned tasks"), "{stderr}");
}

#[test]
fn a_spawned_task_that_spins_is_a_hang_named_by_where_it_was_spawned() {
    let release = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&release);
    let report = hang(Checker::new(move || {
        let flag = Arc::clone(&flag);
        Scenario::model(async move {
            pollcheck::spawn(std::future::poll_fn(move |_| {
                while !flag.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
                Poll::Ready(())
            }));
        })
    }));
    release.store(true, Ordering::Relaxed);
    let detail = report.violation().detail();
    assert!(detail.starts_with("the poll of task 1 (spawned at tests/liveness.rs:"), "{detail}");
    assert!(detail.contains("a busy loop"), "{detail}");
    assert_eq!(report.schedule().to_string(), "p0 p1", "{report}");
}
