//! `spawn` inside a check: a future becomes one more task of the run, numbered after
//! the tasks already there in spawn order, and its [`JoinHandle`] is a future of its
//! output. See [`model`](crate::model).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::spec::task::{Fate, TaskFuture, TaskSpec};

/// Spawns `future` as a task of the check running on this thread, and returns a
/// handle that is a future of its output.
///
/// Tasks are numbered in spawn order after the model's body (task 0), so a schedule
/// names them (`p1`, `s2`) and replays them deterministically. The explorer polls,
/// spuriously polls and re-wakers a spawned task like any other, but never cancels or
/// abandons it: something may await its handle. Use [`spawn_cancellable`] for a task
/// the explorer may also cancel.
///
/// ```
/// pollcheck::model(|| async {
///     let (tx, rx) = futures_channel::oneshot::channel::<u32>();
///     let receiver = pollcheck::spawn(async move { rx.await.unwrap() });
///     let _ = tx.send(7);
///     assert_eq!(receiver.await, 7);
/// });
/// ```
///
/// # Panics
///
/// If no check is running on this thread (outside [`model`](crate::model) or a
/// [`Scenario`](crate::Scenario)'s tasks).
///
/// Built with `--cfg loom`, inside [`model`](crate::model) the task runs on a loom
/// thread of its own (hence `Send` there), polled by pollcheck's instrumented
/// `pollcheck::loom::block_on`.
#[cfg(not(loom))]
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let name = name(Location::caller(), std::any::type_name::<F>());
    spawn_with(future, Fate::KEPT, None, name)
}

/// [`spawn`] under `--cfg loom`: on a loom thread when no engine run is going on.
#[cfg(loom)]
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if !running() {
        return JoinHandle::thread(crate::checks::loom::spawn(move || crate::checks::loom::block_on(future)));
    }
    let name = name(Location::caller(), std::any::type_name::<F>());
    spawn_with(future, Fate::KEPT, None, name)
}

/// Whether an engine run is going on on this thread.
#[cfg(loom)]
fn running() -> bool {
    crate::engine::spawned::is_open()
}

/// Like [`spawn`], for a task the explorer may also cancel (`c1`: drop it before it
/// finishes, as a `select!` or a timeout would). Its handle resolves to `None` then.
///
/// A body that awaits a cancelled task's handle gets `None`, never a panic of the
/// test's own making; a task spawned with [`spawn`] is simply never cancelled.
///
/// ```
/// pollcheck::model(|| async {
///     let (tx, rx) = futures_channel::oneshot::channel::<u32>();
///     let receiver = pollcheck::spawn_cancellable(async move { rx.await.ok() });
///     let _ = tx.send(7);
///     // Some(Some(7)), or None when the explorer cancelled the receiver.
///     assert!(matches!(receiver.await, Some(Some(7)) | None));
/// });
/// ```
///
/// # Panics
///
/// As [`spawn`].
#[cfg(not(loom))]
#[track_caller]
pub fn spawn_cancellable<F>(future: F) -> JoinHandle<Option<F::Output>>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let name = name(Location::caller(), std::any::type_name::<F>());
    spawn_with(async move { Some(future.await) }, Fate::CANCELLABLE, Some(None), name)
}

/// [`spawn_cancellable`] under `--cfg loom` (a loom thread is never cancelled).
#[cfg(loom)]
#[track_caller]
pub fn spawn_cancellable<F>(future: F) -> JoinHandle<Option<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if !running() {
        return JoinHandle::thread(crate::checks::loom::spawn(move || Some(crate::checks::loom::block_on(future))));
    }
    let name = name(Location::caller(), std::any::type_name::<F>());
    spawn_with(async move { Some(future.await) }, Fate::CANCELLABLE, Some(None), name)
}

fn spawn_with<F>(future: F, fate: Fate, on_cancel: Option<F::Output>, name: &'static str) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_as(future, fate, on_cancel, name, crate::spec::task::pinned)
}

/// A spawned task whose future `task` makes into a task future (pinned, or movable).
fn spawn_as<F>(
    future: F,
    fate: Fate,
    on_cancel: Option<F::Output>,
    name: &'static str,
    task: fn(Spawned<F>) -> TaskFuture,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let join = Rc::new(RefCell::new(Join { output: None, waker: None, on_cancel }));
    let spawned = Spawned { future, join: Some(Rc::clone(&join)) };
    let spec = TaskSpec { type_name: name, future: task(spawned), must_finish: false, fate };
    if let Err(spec) = crate::engine::spawned::push(spec) {
        drop(spec);
        panic!(
            "pollcheck::spawn ({name}): no check is running on this thread; spawn from inside \
             `pollcheck::model` (or a task of a `Scenario`)"
        );
    }
    JoinHandle { inner: Inner::Task(join) }
}

/// Like [`spawn`], for an `Unpin` future, which the explorer may also move to a new
/// address between polls (`m1`), as [`Scenario::unpin_task`](crate::Scenario::unpin_task)
/// does: moving an `Unpin` future is legal, so a future that breaks when moved has a
/// bug.
///
/// ```
/// pollcheck::model(|| async {
///     let (tx, rx) = futures_channel::oneshot::channel::<u32>();
///     let receiver = pollcheck::spawn_unpin(rx); // a oneshot receiver is Unpin
///     let _ = tx.send(7);
///     assert_eq!(receiver.await, Ok(7));
/// });
/// ```
///
/// # Panics
///
/// As [`spawn`].
#[cfg(not(loom))]
#[track_caller]
pub fn spawn_unpin<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Unpin + 'static,
    F::Output: 'static,
{
    let name = name(Location::caller(), std::any::type_name::<F>());
    spawn_as(future, Fate::KEPT, None, name, crate::spec::task::movable)
}

/// [`spawn_unpin`] under `--cfg loom`: on a loom thread when no engine run is going on.
#[cfg(loom)]
#[track_caller]
pub fn spawn_unpin<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Unpin + Send + 'static,
    F::Output: Send + 'static,
{
    if !running() {
        return JoinHandle::thread(crate::checks::loom::spawn(move || crate::checks::loom::block_on(future)));
    }
    let name = name(Location::caller(), std::any::type_name::<F>());
    spawn_as(future, Fate::KEPT, None, name, crate::spec::task::movable)
}

/// A spawned task's name in reports: where it was spawned, and its type. Interned:
/// one string per spawn site and type, for the whole process.
fn name(at: &'static Location<'static>, type_name: &'static str) -> &'static str {
    thread_local! {
        /// This thread's names so far: a test spawns from a few sites, every run.
        static SEEN: RefCell<Vec<(usize, usize, &'static str)>> = const { RefCell::new(Vec::new()) };
    }
    let key = (std::ptr::from_ref(at) as usize, type_name.as_ptr() as usize);
    if let Some(name) = SEEN.try_with(|s| s.borrow().iter().find(|e| (e.0, e.1) == key).map(|e| e.2)).ok().flatten() {
        return name;
    }
    let name = intern(at, type_name);
    let _ = SEEN.try_with(|s| s.borrow_mut().push((key.0, key.1, name)));
    name
}

fn intern(at: &'static Location<'static>, type_name: &'static str) -> &'static str {
    static NAMES: Mutex<Option<HashMap<(usize, &'static str), &'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let key = (std::ptr::from_ref(at) as usize, type_name);
    names
        .get_or_insert_with(HashMap::new)
        .entry(key)
        .or_insert_with(|| Box::leak(format!("spawned at {at}: {type_name}").into_boxed_str()))
}

struct Join<T> {
    output: Option<T>,
    waker: Option<Waker>,
    /// What the handle resolves to if the task is dropped before it finishes.
    on_cancel: Option<T>,
}

/// The task itself: runs the future and hands its output to the handle.
pub(crate) struct Spawned<F: Future> {
    /// Pinned with `Spawned` (structural).
    future: F,
    /// Until the output or the cancellation is handed over.
    join: Option<Rc<RefCell<Join<F::Output>>>>,
}

impl<F: Future> Spawned<F> {
    fn hand_over(&mut self, output: Option<F::Output>) {
        let Some(join) = self.join.take() else { return };
        let waker = {
            let mut j = join.borrow_mut();
            j.output = output.or_else(|| j.on_cancel.take());
            j.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<F: Future> Future for Spawned<F> {
    type Output = Finished;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Finished> {
        // SAFETY: structural pin projection of `future`: `Spawned` never moves it out,
        // its `Drop` touches only `join`, and it is not `Unpin` unless `F` is.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `this` is pinned (see above), so `this.future` is too.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        match future.poll(cx) {
            Poll::Ready(output) => {
                this.hand_over(Some(output));
                Poll::Ready(Finished)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future> Drop for Spawned<F> {
    fn drop(&mut self) {
        self.hand_over(None);
    }
}

/// A spawned task's output, as its task's output in reports (the value goes to the
/// [`JoinHandle`]).
pub(crate) struct Finished;

impl fmt::Debug for Finished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("output handed to its JoinHandle")
    }
}

/// A future of a spawned task's output (see [`spawn`]). Dropping it detaches the task,
/// which still runs.
pub struct JoinHandle<T> {
    inner: Inner<T>,
}

enum Inner<T> {
    /// A task of the engine's run.
    Task(Rc<RefCell<Join<T>>>),
    /// A loom thread (`--cfg loom`, inside `model`).
    #[cfg(loom)]
    Thread(Option<loom::thread::JoinHandle<T>>),
}

#[cfg(loom)]
impl<T> JoinHandle<T> {
    fn thread(handle: loom::thread::JoinHandle<T>) -> Self {
        JoinHandle { inner: Inner::Thread(Some(handle)) }
    }
}

impl<T> Unpin for JoinHandle<T> {}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    // One arm without `--cfg loom`.
    #[allow(clippy::infallible_destructuring_match)]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let join = match &mut self.inner {
            Inner::Task(join) => join,
            // A blocking join: loom runs the other threads meanwhile.
            #[cfg(loom)]
            Inner::Thread(handle) => {
                let handle = handle.take().expect("a JoinHandle polled after it returned Ready");
                return Poll::Ready(handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            }
        };
        let mut fresh = None;
        loop {
            let mut j = join.borrow_mut();
            if let Some(output) = j.output.take() {
                drop(j);
                drop(fresh);
                return Poll::Ready(output);
            }
            if j.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                return Poll::Pending;
            }
            if let Some(waker) = fresh.take() {
                let old = j.waker.replace(waker);
                drop(j);
                drop(old);
                return Poll::Pending;
            }
            // A waker's clone is arbitrary code (the checker runs driver steps inside
            // it): made outside the borrow, then the output is looked for again.
            drop(j);
            fresh = Some(cx.waker().clone());
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Task(join) => {
                let finished = join.try_borrow().map(|j| j.output.is_some());
                f.debug_struct("JoinHandle").field("finished", &finished.ok()).finish()
            }
            #[cfg(loom)]
            Inner::Thread(_) => f.debug_struct("JoinHandle").field("thread", &true).finish(),
        }
    }
}
