//! `.checked()` inside real executors: futures-executor (`block_on`, `LocalPool`,
//! `ThreadPool`), tokio (current-thread and multi-thread) and async-executor.
//!
//! The zoo's buggy futures fail at once with the right kind and the line of their
//! `.checked()` instead of hanging (each check runs on a thread bounded by
//! `recv_timeout`, only as a guard), and correct real crates pass when awaited through
//! `.checked()` (and `.checked().spurious(seed)`) inside each executor. No real crate
//! was flagged.
#![cfg(not(loom))] // async-channel and async-executor are not built under --cfg loom (Cargo.toml)

mod buggy;
#[path = "common/panic_text.rs"]
mod panic_text;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use buggy::Flavor;
use futures_channel::{mpsc as fmpsc, oneshot as foneshot};
use futures_executor::{block_on, LocalPool, ThreadPool};
use futures_util::future::join;
use futures_util::task::LocalSpawnExt;
use futures_util::{FutureExt, SinkExt, StreamExt};
use panic_text::panic_text;
use pollcheck::{Checked, FutureCheckExt};

/// Messages per correct-crate test.
const N: usize = if cfg!(miri) { 4 } else { 200 };

/// How long a check may take before the guard calls it a hang (it should fail at once).
const GUARD: Duration = Duration::from_secs(if cfg!(miri) { 600 } else { 20 });

/// Runs `f` on its own thread: its result, or its panic message; panics if it hangs.
fn guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
    let (tx, rx) = std_mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_text(&*p)));
    });
    let result = rx.recv_timeout(GUARD).expect("the check hung instead of failing at once");
    thread.join().expect("the guard thread sends its result");
    result
}

/// Asserts `result` is pollcheck's panic of `kind` naming `at` (the `.checked()` line).
#[track_caller]
fn assert_violation<T: std::fmt::Debug>(result: Result<T, String>, kind: &str, at: u32) -> String {
    let message = result.expect_err("the buggy future passed");
    assert!(message.starts_with(&format!("pollcheck: {kind}:")), "expected a {kind}, got: {message}");
    let site = format!("created at {}:{at}:", file!());
    assert!(message.contains(&site), "expected {site} in: {message}");
    message
}

/// `.checked()`, and `.spurious(seed)` too when a seed is given.
#[track_caller]
fn checked<F: Future>(fut: F, seed: Option<u64>) -> Checked<F> {
    let checked = fut.checked();
    match seed {
        Some(seed) => checked.spurious(seed),
        None => checked,
    }
}

/// Returns `Pending` once after waking itself.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.0, true) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn yield_now() -> YieldNow {
    YieldNow(false)
}

/// Spawns `fut` on the pool; its output comes through the returned receiver.
fn spawn_on_pool<T: Send + 'static>(
    pool: &ThreadPool,
    fut: impl Future<Output = T> + Send + 'static,
) -> foneshot::Receiver<T> {
    let (tx, rx) = foneshot::channel();
    pool.spawn_ok(async move {
        let _ = tx.send(fut.await);
    });
    rx
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime")
}

fn tokio_panic(e: tokio::task::JoinError) -> String {
    panic_text(&*e.into_panic())
}

// ---------------------------------------------------------------------------------
// Send versions of two zoo bugs, for the multi-threaded executors.

#[derive(Default)]
struct SendState {
    value: Option<u32>,
    waker: Option<Waker>,
}

/// flag.rs and first_waker.rs over `Arc<Mutex>`: `Forgets` never stores its waker
/// (lost wakeup); `KeepsFirst` keeps the first one it saw (stale waker).
struct SendReceiver {
    state: Arc<Mutex<SendState>>,
    bug: SendBug,
}

#[derive(Clone, Copy, PartialEq)]
enum SendBug {
    Forgets,
    KeepsFirst,
}

fn send_channel(bug: SendBug) -> (impl FnOnce(u32) + Send, SendReceiver) {
    let state = Arc::new(Mutex::new(SendState::default()));
    let tx = {
        let state = state.clone();
        move |v| {
            let waker = {
                let mut s = state.lock().unwrap();
                s.value = Some(v);
                s.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    };
    (tx, SendReceiver { state, bug })
}

impl Future for SendReceiver {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut s = self.state.lock().unwrap();
        if let Some(v) = s.value.take() {
            return Poll::Ready(v);
        }
        match self.bug {
            SendBug::Forgets => {}
            SendBug::KeepsFirst if s.waker.is_some() => {}
            SendBug::KeepsFirst => s.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

// ---------------------------------------------------------------------------------
// Lost wakeup: flag.rs forgets its waker. Without `.checked()` each of these hangs.

/// The flag is set by the other half of a join, after the waiter's first poll.
fn forgotten_flag() -> (impl Future<Output = ((), ())>, u32) {
    let (flag, wait) = buggy::flag::Flag::new(Flavor::Buggy);
    let (wait, line) = (wait.checked(), line!());
    (join(wait, async move { flag.set() }), line)
}

#[test]
fn lost_wakeup_under_block_on() {
    let result = guarded(|| {
        let (fut, _) = forgotten_flag();
        block_on(fut)
    });
    let message = result.as_ref().expect_err("caught").clone();
    // Where it was created and polled.
    assert!(message.contains("poll #1 (from "), "{message}");
    assert!(message.contains("nothing can ever wake it"), "{message}");
    let line = guarded(|| forgotten_flag().1).unwrap();
    assert_violation(result, "lost wakeup", line);
}

#[test]
fn lost_wakeup_under_local_pool() {
    let line = guarded(|| forgotten_flag().1).unwrap();
    let result = guarded(|| {
        let mut pool = LocalPool::new();
        let (fut, _) = forgotten_flag();
        pool.run_until(fut)
    });
    assert_violation(result, "lost wakeup", line);
}

#[test]
fn lost_wakeup_under_tokio_current_thread() {
    let line = guarded(|| forgotten_flag().1).unwrap();
    let result = guarded(|| current_thread().block_on(async { forgotten_flag().0.await }));
    assert_violation(result, "lost wakeup", line);
}

#[test]
fn lost_wakeup_under_async_executor_local() {
    let line = guarded(|| forgotten_flag().1).unwrap();
    let result = guarded(|| {
        let ex = async_executor::LocalExecutor::new();
        let task = ex.spawn(forgotten_flag().0);
        block_on(ex.run(task))
    });
    assert_violation(result, "lost wakeup", line);
}

#[test]
fn lost_wakeup_under_thread_pool() {
    let result = guarded(|| {
        let pool = ThreadPool::builder().pool_size(2).create().expect("a pool");
        let (tx, rx) = send_channel(SendBug::Forgets);
        let (rx, line) = (rx.checked(), line!());
        let task = AssertUnwindSafe(join(rx, async move { tx(1) })).catch_unwind();
        let joined = spawn_on_pool(&pool, task);
        (block_on(joined).unwrap().map_err(|p| panic_text(&*p)), line)
    });
    let (result, line) = result.expect("the guard thread does not panic");
    assert_violation(result, "lost wakeup", line);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_wakeup_under_tokio_multi_thread() {
    let (tx, rx) = send_channel(SendBug::Forgets);
    let (rx, line) = (rx.checked(), line!());
    // The send comes only after the verdict: the waiter fails at its first `Pending`.
    let waiter = tokio::spawn(rx);
    let result = tokio::time::timeout(GUARD, waiter).await.expect("caught at once, no hang");
    tx(1);
    assert_violation(result.map_err(tokio_panic), "lost wakeup", line);
}

#[test]
fn lost_wakeup_under_async_executor_multi_thread() {
    let result = guarded(|| {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = foneshot::channel::<()>();
        let helper = {
            let ex = ex.clone();
            std::thread::spawn(move || block_on(ex.run(stopped)))
        };
        let (tx, rx) = send_channel(SendBug::Forgets);
        let (rx, line) = (rx.checked(), line!());
        let task = ex.spawn(AssertUnwindSafe(join(rx, async move { tx(1) })).catch_unwind());
        let result = block_on(ex.run(task)).map_err(|p| panic_text(&*p));
        drop(stop);
        let _ = helper.join();
        (result, line)
    });
    let (result, line) = result.expect("the guard thread does not panic");
    assert_violation(result, "lost wakeup", line);
}

/// The countdown without its `wake_by_ref` is caught at its first `Pending`.
#[test]
fn forgetful_countdown_is_a_lost_wakeup() {
    let result = guarded(|| {
        let (fut, line) = (buggy::countdown::Countdown { left: 3, flavor: Flavor::Buggy }.checked(), line!());
        (catch_unwind(AssertUnwindSafe(|| block_on(fut))).map_err(|p| panic_text(&*p)), line)
    });
    let (result, line) = result.unwrap();
    assert_violation(result, "lost wakeup", line);
}

// ---------------------------------------------------------------------------------
// Stale waker: first_waker.rs keeps the first waker it saw. The join re-polls the
// receiver after its sibling yields, so the receiver is polled twice before the send.

fn stale_receiver(yields: usize) -> (impl Future<Output = (u32, ())>, u32) {
    let (tx, rx) = buggy::first_waker::channel(Flavor::Buggy);
    let (rx, line) = (rx.checked(), line!());
    let sender = async move {
        for _ in 0..yields {
            yield_now().await;
        }
        tx.send(7)
    };
    (join(rx, sender), line)
}

#[test]
fn stale_waker_under_block_on() {
    let line = guarded(|| stale_receiver(1).1).unwrap();
    let result = guarded(|| block_on(stale_receiver(1).0));
    let message = assert_violation(result, "stale waker", line);
    assert!(message.contains("poll #2 (from "), "{message}");
    assert!(message.contains("the earlier poll #1 (from "), "{message}");
}

#[test]
fn stale_waker_under_local_pool() {
    let line = guarded(|| stale_receiver(1).1).unwrap();
    let result = guarded(|| LocalPool::new().run_until(stale_receiver(3).0));
    assert_violation(result, "stale waker", line);
}

#[test]
fn stale_waker_under_tokio_current_thread() {
    let line = guarded(|| stale_receiver(1).1).unwrap();
    let result = guarded(|| current_thread().block_on(stale_receiver(2).0));
    assert_violation(result, "stale waker", line);
}

#[test]
fn stale_waker_under_async_executor_local() {
    let line = guarded(|| stale_receiver(1).1).unwrap();
    let result = guarded(|| {
        let ex = async_executor::LocalExecutor::new();
        let task = ex.spawn(stale_receiver(1).0);
        block_on(ex.run(task))
    });
    assert_violation(result, "stale waker", line);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_waker_under_tokio_multi_thread() {
    let (tx, rx) = send_channel(SendBug::KeepsFirst);
    let (rx, line) = (rx.checked(), line!());
    let (poke, poked) = tokio::sync::oneshot::channel::<()>();
    // The receiver is polled, then polled again by the select when `poked` fires, then
    // the value is sent from this task (another worker, maybe).
    let waiter = tokio::spawn(async move {
        let mut rx = std::pin::pin!(rx);
        tokio::select! {
            biased;
            v = rx.as_mut() => v,
            _ = poked => rx.await,
        }
    });
    tokio::task::yield_now().await;
    poke.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    tx(1);
    let result = tokio::time::timeout(GUARD, waiter).await.expect("caught at once, no hang");
    assert_violation(result.map_err(tokio_panic), "stale waker", line);
}

#[test]
fn the_fixed_zoo_passes() {
    for seed in [None, Some(1), Some(2), Some(3)] {
        let got = guarded(move || {
            let (tx, rx) = buggy::first_waker::channel(Flavor::Fixed);
            let sender = async move {
                for _ in 0..3 {
                    yield_now().await;
                }
                tx.send(7)
            };
            let (flag, wait) = buggy::flag::Flag::new(Flavor::Fixed);
            let setter = async move {
                yield_now().await;
                flag.set()
            };
            let fut = join(join(checked(rx, seed), sender), join(checked(wait, seed), setter));
            LocalPool::new().run_until(fut)
        });
        assert_eq!(got.expect("the fixed zoo passes"), ((7, ()), ((), ())));
    }
}

// ---------------------------------------------------------------------------------
// Spurious polls: spurious.rs `Expecting` panics when polled without a wake.

/// A join sibling that yields re-polls the receiver with no wake of its own: under
/// `.checked()` that panic is reported as spurious-poll intolerance, naming both polls.
#[test]
fn spurious_poll_intolerance_from_a_join() {
    let result = guarded(|| {
        let (rx, send) = buggy::spurious::panicking_parts(Flavor::Buggy);
        let (rx, line) = (rx.checked(), line!());
        let fut = join(rx, async move {
            yield_now().await;
            send()
        });
        (catch_unwind(AssertUnwindSafe(|| block_on(fut))).map_err(|p| panic_text(&*p)), line)
    });
    let (result, line) = result.unwrap();
    let message = assert_violation(result, "spurious-poll intolerance", line);
    assert!(message.contains("woken, so the value must be there"), "{message}");
    assert!(message.contains("poll #1 (from "), "{message}");
}

/// `.spurious(seed)` polls the receiver again on its own, under any executor: with
/// nothing else in the task and no send ever coming, the correct receiver would wait
/// forever; this seed follows the first `Pending` with an extra poll, which the
/// intolerant receiver does not survive.
#[test]
fn spurious_mode_finds_the_intolerant_receiver() {
    for (name, run) in executors() {
        let result = guarded(move || {
            let (rx, _send) = buggy::spurious::panicking_parts(Flavor::Buggy);
            let (rx, line) = (rx.checked().spurious(SPURIOUS_SEED), line!());
            (run(Box::pin(rx)), line)
        });
        let (result, line) = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        let message = assert_violation(result, "spurious-poll intolerance", line);
        assert!(message.contains("woken, so the value must be there"), "{name}: {message}");
    }
}

/// A seed whose first choices are "no yield" then "extra poll" (asserted by
/// `spurious_mode_is_reproducible`).
const SPURIOUS_SEED: u64 = 2;

#[test]
fn spurious_mode_is_reproducible() {
    let counts = |seed| {
        let mut fut =
            Box::pin(buggy::countdown::Countdown { left: 50, flavor: Flavor::Fixed }.checked().spurious(seed));
        let waker = futures_util::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        while fut.as_mut().poll(&mut cx).is_pending() {}
        fut.spurious_counts()
    };
    assert_eq!(counts(7), counts(7));
    let (yields, extra) = counts(7);
    assert!(yields > 0, "{yields} yields");
    // The countdown wakes itself in every poll: never an extra poll.
    assert_eq!(extra, 0);

    // The first decisions of SPURIOUS_SEED: no yield, then an extra poll.
    let (_tx, rx) = foneshot::channel::<u32>();
    let mut fut = Box::pin(rx.checked().spurious(SPURIOUS_SEED));
    let waker = futures_util::task::noop_waker();
    assert!(fut.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    assert_eq!(fut.spurious_counts(), (0, 1));
}

type Run = fn(Pin<Box<dyn Future<Output = u32>>>) -> Result<u32, String>;

/// Single-threaded executors that run a `!Send` future to completion, a panic as `Err`.
fn executors() -> Vec<(&'static str, Run)> {
    fn catch(f: impl FnOnce() -> u32) -> Result<u32, String> {
        catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_text(&*p))
    }
    vec![
        ("block_on", |f| catch(|| block_on(f))),
        ("LocalPool", |f| catch(|| LocalPool::new().run_until(f))),
        ("tokio current-thread", |f| catch(|| current_thread().block_on(f))),
        ("async-executor", |f| {
            catch(|| {
                let ex = async_executor::LocalExecutor::new();
                let task = ex.spawn(f);
                block_on(ex.run(task))
            })
        }),
    ]
}

// ---------------------------------------------------------------------------------
// Correct real crates pass through `.checked()` (and `.spurious(seed)`).

const SEEDS: [Option<u64>; 3] = [None, Some(11), Some(12)];

/// futures-channel oneshot and mpsc, async-channel, fed from another thread and from
/// the same task: every receive goes through `.checked()`.
async fn channels(seed: Option<u64>) -> u32 {
    let mut got = 0;
    // oneshot, sent from another thread.
    let (tx, rx) = foneshot::channel::<u32>();
    let sender = std::thread::spawn(move || tx.send(1).unwrap());
    got += checked(rx, seed).await.unwrap();
    sender.join().unwrap();

    // futures-channel mpsc, a bounded channel fed by another thread.
    let (mut tx, mut rx) = fmpsc::channel::<usize>(1);
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            block_on(tx.send(i)).unwrap();
        }
    });
    for i in 0..N {
        assert_eq!(checked(rx.next(), seed).await, Some(i));
    }
    assert_eq!(checked(rx.next(), seed).await, None);
    sender.join().unwrap();

    // futures-channel mpsc fed by the same task (a join), both sides checked.
    let (mut tx, mut rx) = fmpsc::channel::<usize>(0);
    let producer = async move {
        for i in 0..N {
            checked(tx.send(i), seed).await.unwrap();
        }
    };
    let consumer = async move {
        for i in 0..N {
            assert_eq!(checked(rx.next(), seed).await, Some(i));
        }
    };
    join(producer, consumer).await;

    // async-channel, fed by another thread.
    let (tx, rx) = async_channel::bounded::<usize>(1);
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            tx.send_blocking(i).unwrap();
        }
    });
    for i in 0..N {
        assert_eq!(checked(rx.recv(), seed).await, Ok(i));
    }
    assert!(checked(rx.recv(), seed).await.is_err());
    sender.join().unwrap();
    got + 1
}

#[test]
fn channels_pass_under_block_on() {
    for seed in SEEDS {
        assert_eq!(guarded(move || block_on(channels(seed))), Ok(2));
    }
}

#[test]
fn channels_pass_under_local_pool() {
    for seed in SEEDS {
        let got = guarded(move || {
            let mut pool = LocalPool::new();
            let (tx, rx) = foneshot::channel();
            pool.spawner().spawn_local(channels(seed).map(move |got| tx.send(got).unwrap())).unwrap();
            let handle = async move { rx.await.unwrap() };
            pool.run_until(handle)
        });
        assert_eq!(got, Ok(2));
    }
}

#[test]
fn channels_pass_under_thread_pool() {
    let got = guarded(|| {
        let pool = ThreadPool::builder().pool_size(2).create().expect("a pool");
        let handles: Vec<_> =
            SEEDS.iter().map(|&seed| spawn_on_pool(&pool, channels(seed)).map(Result::unwrap)).collect();
        block_on(futures_util::future::join_all(handles))
    });
    assert_eq!(got, Ok(vec![2; SEEDS.len()]));
}

#[test]
fn channels_pass_under_async_executor() {
    let got = guarded(|| {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = foneshot::channel::<()>();
        let helper = {
            let ex = ex.clone();
            std::thread::spawn(move || block_on(ex.run(stopped)))
        };
        let tasks: Vec<_> = SEEDS.iter().map(|&seed| ex.spawn(channels(seed))).collect();
        let got = block_on(ex.run(futures_util::future::join_all(tasks)));
        drop(stop);
        helper.join().unwrap().unwrap_err();
        got
    });
    assert_eq!(got, Ok(vec![2; SEEDS.len()]));
}

#[tokio::test]
async fn channels_pass_under_tokio_current_thread() {
    for seed in SEEDS {
        assert_eq!(channels(seed).await, 2);
    }
}

/// tokio's own primitives: oneshot, mpsc, Notify, Mutex, Semaphore (and `sleep` when
/// `timers`), between tasks of one runtime; every await goes through `.checked()`.
async fn tokio_primitives(seed: Option<u64>, timers: bool) {
    use tokio::sync::{mpsc, oneshot, Mutex as TokioMutex, Notify, Semaphore};

    let (tx, rx) = oneshot::channel::<u32>();
    let sender = tokio::spawn(async move { tx.send(1).unwrap() });
    assert_eq!(checked(rx, seed).await, Ok(1));
    sender.await.unwrap();

    let (tx, mut rx) = mpsc::channel::<usize>(1);
    let sender = tokio::spawn(async move {
        for i in 0..N {
            checked(tx.send(i), seed).await.unwrap();
        }
    });
    for i in 0..N {
        assert_eq!(checked(rx.recv(), seed).await, Some(i));
    }
    assert_eq!(checked(rx.recv(), seed).await, None);
    sender.await.unwrap();

    let notify = Arc::new(Notify::new());
    let (done, mut acks) = mpsc::unbounded_channel::<()>();
    let waiter = {
        let notify = notify.clone();
        tokio::spawn(async move {
            for _ in 0..N {
                checked(notify.notified(), seed).await;
                done.send(()).unwrap();
            }
        })
    };
    for _ in 0..N {
        notify.notify_one();
        checked(acks.recv(), seed).await.unwrap();
    }
    waiter.await.unwrap();

    let counter = Arc::new(TokioMutex::new(0));
    let permits = Arc::new(Semaphore::new(1));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (counter, permits) = (counter.clone(), permits.clone());
            tokio::spawn(async move {
                for _ in 0..N {
                    let permit = checked(permits.acquire(), seed).await.unwrap();
                    let mut c = checked(counter.lock(), seed).await;
                    *c += 1;
                    tokio::task::yield_now().await;
                    drop(c);
                    drop(permit);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(*checked(counter.lock(), seed).await, 2 * N);

    if timers {
        for _ in 0..3 {
            checked(tokio::time::sleep(Duration::from_millis(2)), seed).await;
        }
        let late = checked(tokio::time::timeout(Duration::from_millis(2), std::future::pending::<()>()), seed).await;
        assert!(late.is_err());
    }
}

#[tokio::test]
async fn tokio_primitives_pass_on_current_thread() {
    for seed in SEEDS {
        tokio_primitives(seed, false).await;
    }
}

#[tokio::test]
async fn tokio_sleep_passes_on_current_thread() {
    for seed in SEEDS {
        for _ in 0..3 {
            checked(tokio::time::sleep(Duration::from_millis(2)), seed).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_primitives_pass_on_multi_thread() {
    let runs: Vec<_> = SEEDS.iter().map(|&seed| tokio::spawn(tokio_primitives(seed, true))).collect();
    for run in runs {
        run.await.unwrap();
    }
    // Tasks that migrate: channels fed from other threads, awaited on the workers.
    let runs: Vec<_> = SEEDS.iter().map(|&seed| tokio::spawn(channels(seed))).collect();
    for run in runs {
        assert_eq!(run.await.unwrap(), 2);
    }
}

// ---------------------------------------------------------------------------------
// The wrapper's other promises.

/// `Checked<F>` is `Send` and `Sync` whenever `F` is (also asserted inside the crate).
#[test]
fn checked_is_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let (_tx, rx) = foneshot::channel::<u32>();
    send_sync(&rx.checked());
    let (_tx, rx) = tokio::sync::oneshot::channel::<u32>();
    send_sync(&rx.checked().spurious(1));
    let (_tx, rx) = async_channel::bounded::<u32>(1);
    send_sync(&async move { rx.recv().await }.checked());
}

/// Per-poll identities: `will_wake` is false between the wakers of two polls (even
/// with the same executor waker), true between clones of one.
#[test]
fn each_poll_is_a_new_identity() {
    let seen: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let fut = {
        let seen = seen.clone();
        let mut polls = 0;
        std::future::poll_fn(move |cx| {
            polls += 1;
            let mut seen = seen.lock().unwrap();
            let clone = cx.waker().clone();
            // `will_wake` compares vtable addresses too, which miri does not keep unique:
            // under miri it may say false even between clones (correct futures then just
            // re-register), so only the per-poll rule below is asserted there.
            if !cfg!(miri) {
                assert!(clone.will_wake(cx.waker()), "clones of one identity will_wake each other");
            }
            seen.push(clone);
            if polls == 3 {
                return Poll::Ready(());
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        })
    };
    block_on(fut.checked());
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    assert!(!seen[0].will_wake(&seen[1]) && !seen[1].will_wake(&seen[2]) && !seen[0].will_wake(&seen[2]));
}

/// A future that keeps an earlier waker because `will_wake` said so is correct; with
/// per-poll identities `will_wake` says no, so it re-registers, and passes.
#[test]
fn will_wake_reregistration_passes() {
    for seed in SEEDS {
        let got = guarded(move || {
            let (tx, rx) = buggy::first_waker::channel(Flavor::Fixed);
            let sender = async move {
                for _ in 0..5 {
                    yield_now().await;
                }
                tx.send(3)
            };
            block_on(join(checked(rx, seed), sender)).0
        });
        assert_eq!(got, Ok(3));
    }
}

/// A panic inside the inner future unwinds through the wrapper without a second panic
/// from its drop (which would abort), even when a stale-waker verdict is pending.
#[test]
fn a_panicking_inner_future_does_not_double_panic() {
    let result = guarded(|| {
        let (tx, rx) = buggy::first_waker::channel(Flavor::Buggy);
        let fut = join(rx, async move {
            yield_now().await;
            tx.send(1);
            panic!("the sibling panics");
        });
        block_on(fut.checked())
    });
    assert_eq!(result.unwrap_err(), "the sibling panics");
}

/// Inside pollcheck's engine, `.checked()` keeps its engine behaviour: the engine
/// instruments the wakers and reports the lost wakeup itself (not the wrapper).
#[test]
fn inside_the_engine_the_engine_reports() {
    let report = pollcheck::Checker::local(|| {
        let (flag, wait) = buggy::flag::Flag::new(Flavor::Buggy);
        pollcheck::Scenario::new().task(wait.checked()).step(move || flag.set())
    })
    .try_run()
    .expect_err("the forgetful flag loses its wakeup");
    assert_eq!(report.kind(), pollcheck::ViolationKind::LostWakeup);
    assert!(!report.violation().detail().contains("created at"), "{report}");
}

/// "Polled from" names the `.await` that polled the future.
#[test]
fn poll_site_is_the_await() {
    let result = guarded(move || {
        let (_flag, wait) = buggy::flag::Flag::new(Flavor::Buggy);
        let line = line!() + 1;
        let fut = async move { wait.checked().await };
        (catch_unwind(AssertUnwindSafe(|| block_on(fut))).map_err(|p| panic_text(&*p)), line)
    });
    let (result, line) = result.unwrap();
    let message = assert_violation(result, "lost wakeup", line);
    assert!(message.contains(&format!("(from {}:{line}:", file!())), "{message}");
}
