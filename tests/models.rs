//! Models: the zoo's bugs written as async tests with `spawn` (caught with the same
//! kind, the fixed twin passes), and real crates as models (no false positive).
//! Under `--cfg loom` models run on loom threads, which need `Send` futures: these
//! single-threaded ones are for the engine (tests/loom_models.rs runs both).
#![cfg(not(loom))]

mod buggy;

use std::future::Future;
use std::sync::Arc;

use buggy::{first_waker, flag, relay_notifier, spinner, Flavor};
use futures_util::future::{select, Either};
use pollcheck::{Checker, Report, Scenario, ViolationKind};

/// A model checker (shallower under miri, where every run is slow).
fn model<B, F>(body: B) -> Checker<impl Fn() -> Scenario + Send + Sync + 'static>
where
    B: Fn() -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: std::fmt::Debug,
{
    let checker = Checker::new(move || Scenario::model(body()));
    if cfg!(miri) {
        checker.depth(2).cases(1)
    } else {
        checker
    }
}

/// The buggy model is caught with `kind` and the minimal `schedule`, the fixed one
/// passes. Under miri the buggy model replays `schedule` and the fixed one replays it
/// and explores (shallower), as tests/common/mod.rs does for scenarios.
fn proven<F>(body: fn(Flavor) -> F, kind: ViolationKind, schedule: &str) -> Report
where
    F: Future + 'static,
    F::Output: std::fmt::Debug,
{
    let buggy = model(move || body(Flavor::Buggy));
    let buggy = if cfg!(miri) { buggy.replay(schedule) } else { buggy };
    let report = buggy.try_run().expect_err("the buggy model passed");
    println!("{report}");
    assert_eq!(report.kind(), kind, "{report}");
    assert_eq!(report.schedule().to_string(), schedule, "{report}");
    if cfg!(miri) {
        model(move || body(Flavor::Fixed)).replay(schedule).run();
    }
    if let Err(report) = model(move || body(Flavor::Fixed)).try_run() {
        panic!("the fixed model failed:\n{report}");
    }
    report
}

/// A receiver and a task that sends to it.
async fn first_waker_model(flavor: Flavor) -> u32 {
    let (tx, rx) = first_waker::channel(flavor);
    pollcheck::spawn(async move { tx.send(7) });
    rx.await
}

#[test]
fn a_receiver_that_keeps_its_first_waker_is_a_stale_waker() {
    let report = proven(first_waker_model, ViolationKind::StaleWaker, "p0 w0 s0 p1");
    assert_eq!(report.violation().task(), Some(0), "{report}");
}

async fn flag_model(flavor: Flavor) {
    let (flag, wait) = buggy::flag::Flag::new(flavor);
    pollcheck::spawn(async move { flag.set() });
    wait.await
}

#[test]
fn a_flag_that_drops_the_waker_is_a_lost_wakeup() {
    let _ = flag::scenario; // the same primitive as the scenario zoo's
    proven(flag_model, ViolationKind::LostWakeup, "p0");
}

#[test]
fn a_cancelled_waiter_swallowing_the_notification_is_caught_in_a_model() {
    proven(buggy::models::notifier, ViolationKind::LostWakeup, "p0 p1 p2 p3 c1 p0");
}

async fn relay_model(flavor: Flavor) {
    let notify = relay_notifier::notify(flavor);
    let a = pollcheck::spawn_cancellable(notify.notified());
    let b = pollcheck::spawn(notify.notified());
    pollcheck::spawn(async move { notify.notify_one() });
    if let Either::Left((None, b)) = select(a, b).await {
        b.await;
    }
}

#[test]
fn a_cancelled_waiter_hiding_the_notification_strands_the_body() {
    // The other waiter keeps its waker registered and an extra poll returns Pending:
    // only the body's obligation to finish shows it.
    proven(relay_model, ViolationKind::StuckTask, "p0 p1 p2 p3 c1 p0");
}

async fn spinner_model(flavor: Flavor) -> Option<u32> {
    let (rx, close) = spinner::parts(flavor);
    pollcheck::spawn(async move { close() });
    rx.await
}

#[test]
fn busy_waiting_on_a_closed_channel_is_a_spin_in_a_model() {
    proven(spinner_model, ViolationKind::Spin, "p0");
}

#[cfg(feature = "stream")]
#[test]
fn a_stream_that_stops_registering_is_a_lost_wakeup_in_a_model() {
    proven(buggy::models::lazy_stream, ViolationKind::LostWakeup, "p0 p1 p0");
}

#[cfg(feature = "sink")]
#[test]
fn a_sink_that_drops_what_it_accepted_strands_the_body() {
    proven(buggy::models::lossy_sink, ViolationKind::StuckTask, "p0 p1");
}

#[test]
fn the_body_must_finish() {
    // A body that waits for something nobody sends hangs under any runtime.
    let report = model(|| async {
        let (_tx, rx) = futures_channel::oneshot::channel::<u32>();
        rx.await
    })
    .try_run()
    .expect_err("a body that never finishes");
    assert_eq!(report.kind(), ViolationKind::StuckTask, "{report}");
    assert_eq!(report.violation().task(), Some(0), "{report}");
    // A model has no driver steps: the detail does not speak of them.
    let detail = report.violation().detail();
    assert!(detail.contains("still Pending: nothing is left to happen") && !detail.contains("driver"), "{report}");
}

#[test]
fn a_spawned_task_is_named_by_where_it_was_spawned() {
    let report = model(|| first_waker_model(Flavor::Buggy)).replay("p0 w0 s0 p1").try_run().unwrap_err();
    let text = report.to_string();
    assert!(text.contains("new task 1: spawned at tests/models.rs:"), "{text}");
}

#[test]
fn spawn_outside_a_check_is_a_clear_panic() {
    let err = std::panic::catch_unwind(|| pollcheck::spawn(async {})).unwrap_err();
    let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("no check is running on this thread"), "{text}");
}

#[test]
fn a_cancelled_task_resolves_its_handle_to_none() {
    // Only spawn_cancellable tasks are cancelled; the body sees `None`, not a panic.
    model(|| async {
        let (tx, rx) = futures_channel::oneshot::channel::<u32>();
        let h = pollcheck::spawn_cancellable(async move { rx.await.ok() });
        pollcheck::spawn(async move {
            let _ = tx.send(1);
        });
        matches!(h.await, None | Some(Some(1)))
    })
    .replay("p0 c1")
    .run();
}

// ---------------------------------------------------------------------------------
// Real crates as models: no false positives.
// ---------------------------------------------------------------------------------

fn passes<B, F>(body: B)
where
    B: Fn() -> F + Send + Sync + 'static,
    F: Future + 'static,
    F::Output: std::fmt::Debug,
{
    match model(body).try_run() {
        Ok(summary) => println!("{} schedules", summary.schedules()),
        Err(report) => panic!("{report}"),
    }
}

/// A oneshot channel: a spawned task sends 7, the body awaits the receiver.
macro_rules! spawned_sender_sends_seven {
    ($channel:expr) => {
        passes(|| async {
            let (tx, rx) = $channel;
            pollcheck::spawn(async move {
                let _ = tx.send(7);
            });
            rx.await.ok()
        })
    };
}

#[test]
fn futures_oneshot_model() {
    spawned_sender_sends_seven!(futures_channel::oneshot::channel::<u32>());
}

#[test]
fn futures_mpsc_model() {
    use futures_util::{SinkExt, StreamExt};
    passes(|| async {
        let (mut tx, rx) = futures_channel::mpsc::channel::<u32>(1);
        let received = pollcheck::spawn(rx.collect::<Vec<u32>>());
        for v in 0..3 {
            let _ = tx.send(v).await;
        }
        drop(tx);
        received.await
    });
}

#[test]
fn tokio_oneshot_model() {
    spawned_sender_sends_seven!(tokio::sync::oneshot::channel::<u32>());
}

#[test]
fn tokio_notify_model() {
    passes(|| async {
        let notify = Arc::new(tokio::sync::Notify::new());
        let waiter = pollcheck::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        pollcheck::spawn(async move { notify.notify_one() });
        waiter.await
    });
}

#[test]
fn tokio_semaphore_model() {
    passes(|| async {
        let sem = Arc::new(tokio::sync::Semaphore::new(1));
        let acquirer = |sem: Arc<tokio::sync::Semaphore>| async move { sem.acquire().await.is_ok() };
        let a = pollcheck::spawn(acquirer(sem.clone()));
        let b = pollcheck::spawn(acquirer(sem.clone()));
        (a.await, b.await)
    });
}

/// An async mutex: two spawned tasks add one each, then the body reads the total.
macro_rules! two_adders_then_total {
    ($mutex:ty) => {
        passes(|| async {
            let lock = Arc::new(<$mutex>::new(0));
            let adder = |lock: Arc<$mutex>| async move {
                *lock.lock().await += 1;
            };
            let a = pollcheck::spawn(adder(lock.clone()));
            let b = pollcheck::spawn(adder(lock.clone()));
            a.await;
            b.await;
            let total = *lock.lock().await;
            total
        })
    };
}

#[test]
fn tokio_mutex_model() {
    two_adders_then_total!(tokio::sync::Mutex<u32>);
}

#[test]
fn tokio_mpsc_model() {
    passes(|| async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
        pollcheck::spawn(async move {
            for v in 0..2 {
                let _ = tx.send(v).await;
            }
        });
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got
    });
}

/// A channel of capacity 1: the body sends two values and drops its sender while a
/// spawned task receives until the channel closes (what it got is the body's output,
/// compared across schedules).
#[cfg(not(loom))]
macro_rules! sends_two_then_closes {
    ($channel:expr, $recv:ident, $send:ident) => {
        passes(|| async {
            let (tx, rx) = $channel;
            let received = pollcheck::spawn(async move {
                let mut got = Vec::new();
                while let Ok(v) = rx.$recv().await {
                    got.push(v);
                }
                got
            });
            for v in 0..2 {
                let _ = tx.$send(v).await;
            }
            drop(tx);
            received.await
        })
    };
}

// Outside `--cfg loom` builds, as its dev-dependency is.
#[cfg(not(loom))]
#[test]
fn async_channel_model() {
    sends_two_then_closes!(async_channel::bounded::<u32>(1), recv, send);
}

// Outside `--cfg loom` builds, as its dev-dependency is.
#[cfg(not(loom))]
#[test]
fn event_listener_model() {
    passes(|| async {
        let event = Arc::new(event_listener::Event::new());
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let waiter = pollcheck::spawn({
            let (event, flag) = (event.clone(), flag.clone());
            async move {
                use std::sync::atomic::Ordering::SeqCst;
                loop {
                    if flag.load(SeqCst) {
                        return;
                    }
                    let listener = event.listen();
                    if flag.load(SeqCst) {
                        return;
                    }
                    listener.await;
                }
            }
        });
        pollcheck::spawn(async move {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            event.notify(1);
        });
        waiter.await
    });
}

// Outside `--cfg loom` builds, as its dev-dependency is.
#[cfg(not(loom))]
#[test]
fn flume_model() {
    sends_two_then_closes!(flume::bounded::<u32>(1), recv_async, send_async);
}

// Outside `--cfg loom` builds, as its dev-dependency is.
#[cfg(not(loom))]
#[test]
fn async_lock_mutex_model() {
    two_adders_then_total!(async_lock::Mutex<u32>);
}

// ---------------------------------------------------------------------------------
// proptest and fuzz entry points take a model as they take a scenario factory.
// ---------------------------------------------------------------------------------

#[cfg(feature = "proptest")]
#[test]
fn proptest_finds_a_model_bug_and_passes_its_fix() {
    let buggy = || Scenario::model(first_waker_model(Flavor::Buggy));
    let fixed = || Scenario::model(first_waker_model(Flavor::Fixed));
    let report = if cfg!(miri) {
        // A handful of cases under miri is too few to find it: its schedule instead.
        let schedule: pollcheck::Schedule = "p0 w0 s0 p1".parse().unwrap();
        pollcheck::proptest::try_check_schedule(&schedule, buggy).expect_err("the stale waker")
    } else {
        pollcheck::proptest::PropChecker::new(buggy).cases(64).try_run().expect_err("proptest missed the stale waker")
    };
    assert_eq!(report.kind(), ViolationKind::StaleWaker, "{report}");
    pollcheck::proptest::PropChecker::new(fixed).cases(if cfg!(miri) { 2 } else { 64 }).run();
}

#[cfg(feature = "arbitrary")]
#[test]
fn a_fuzzer_schedule_runs_a_model() {
    let schedule: pollcheck::Schedule = "p0 w0 s0 p1".parse().unwrap();
    let report =
        pollcheck::arbitrary::try_check_schedule(&schedule, || Scenario::model(first_waker_model(Flavor::Buggy)))
            .expect_err("the stale waker");
    assert_eq!(report.kind(), ViolationKind::StaleWaker, "{report}");
    pollcheck::arbitrary::check_schedule(&schedule, || Scenario::model(first_waker_model(Flavor::Fixed)));
}

/// An `Unpin` future that (wrongly) relies on its address staying put: it remembers
/// where it was first polled, wakes itself, and panics if polled elsewhere.
struct RemembersItsAddress(Option<usize>);

impl Future for RemembersItsAddress {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let here = std::ptr::addr_of!(*self).addr();
        match self.0 {
            None => {
                self.0 = Some(here);
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
            Some(there) => {
                assert_eq!(there, here, "registered at one address, polled at another");
                std::task::Poll::Ready(())
            }
        }
    }
}

#[test]
fn an_unpin_spawned_task_that_relies_on_its_address_is_caught_when_moved() {
    let moved = model(|| async {
        pollcheck::spawn_unpin(RemembersItsAddress(None));
    });
    // Three steps deep: under miri (two by default there) the schedule is replayed.
    let moved = if cfg!(miri) { moved.replay("p0 p1 m1 p1") } else { moved };
    let report = moved.try_run().expect_err("moving it breaks it");
    assert_eq!(report.kind(), ViolationKind::Panic, "{report}");
    assert_eq!(report.schedule().to_string(), "p0 p1 m1 p1", "{report}");
    // The same future spawned as `!Unpin` is never moved.
    model(|| async {
        pollcheck::spawn(RemembersItsAddress(None));
    })
    .run();
}

#[test]
fn an_unpin_spawned_receiver_survives_every_move() {
    model(|| async {
        let (tx, rx) = futures_channel::oneshot::channel::<u32>();
        let receiver = pollcheck::spawn_unpin(rx);
        pollcheck::spawn(async move {
            let _ = tx.send(7);
        });
        assert_eq!(receiver.await, Ok(7));
    })
    .run();
}
