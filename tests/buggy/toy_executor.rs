//! A small single-threaded executor, correct in its fixed flavor, with two switchable
//! bugs found in real executors:
//!
//! - `loses_self_wake`: it clears a task's "woken" flag *after* polling it, so a wake
//!   that arrives during the poll sees the flag still set, does not queue the task,
//!   and is then wiped out (lost wakeup).
//! - `keeps_finished`: it never drops a task's future when it finishes, only when the
//!   executor is dropped (leaked future).
//!
//! Wakers hold the task (`Arc`) and only a `Weak` to the run queue, so a waker that
//! outlives the executor wakes nothing; dropping the executor drops every future,
//! finished or not, even while wakers keep their tasks alive.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Wake, Waker};

use super::Flavor;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

struct Task {
    future: Mutex<Option<BoxFuture>>,
    woken: AtomicBool,
    queue: Weak<Queue>,
}

#[derive(Default)]
struct Queue {
    ready: Mutex<VecDeque<Arc<Task>>>,
    /// Every task whose future is alive, so dropping the executor can drop them.
    all: Mutex<Vec<Arc<Task>>>,
    /// Finished futures the buggy flavor keeps.
    hoard: Mutex<Vec<BoxFuture>>,
}

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, SeqCst) {
            if let Some(queue) = self.queue.upgrade() {
                queue.ready.lock().unwrap().push_back(Arc::clone(self));
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Bugs {
    pub loses_self_wake: bool,
    pub keeps_finished: bool,
}

pub struct ToyExecutor {
    queue: Arc<Queue>,
    bugs: Bugs,
}

impl ToyExecutor {
    pub fn new(bugs: Bugs) -> Self {
        ToyExecutor { queue: Arc::default(), bugs }
    }

    pub fn spawn(&self, future: impl Future<Output = ()> + Send + 'static) {
        let task = Arc::new(Task {
            future: Mutex::new(Some(Box::pin(future))),
            woken: AtomicBool::new(true),
            queue: Arc::downgrade(&self.queue),
        });
        self.queue.all.lock().unwrap().push(Arc::clone(&task));
        self.queue.ready.lock().unwrap().push_back(task);
    }

    /// Polls queued tasks until none is queued.
    pub fn run_until_idle(&self) {
        loop {
            let Some(task) = self.queue.ready.lock().unwrap().pop_front() else {
                return;
            };
            if !self.bugs.loses_self_wake {
                task.woken.store(false, SeqCst);
            }
            let waker = Waker::from(Arc::clone(&task));
            let mut slot = task.future.lock().unwrap();
            let Some(future) = slot.as_mut() else {
                continue;
            };
            let ready = future.as_mut().poll(&mut Context::from_waker(&waker)).is_ready();
            if self.bugs.loses_self_wake {
                task.woken.store(false, SeqCst);
            }
            if !ready {
                continue;
            }
            let finished = slot.take();
            drop(slot);
            self.queue.all.lock().unwrap().retain(|t| !Arc::ptr_eq(t, &task));
            if self.bugs.keeps_finished {
                // Never polled again, but kept until the executor goes.
                self.queue.hoard.lock().unwrap().extend(finished);
            } else {
                drop(finished);
            }
        }
    }
}

impl Drop for ToyExecutor {
    fn drop(&mut self) {
        let tasks = std::mem::take(&mut *self.queue.all.lock().unwrap());
        for task in tasks {
            // Dropped outside the lock: a future's drop may wake (and so lock) anything.
            let future = task.future.lock().unwrap().take();
            drop(future);
        }
        let hoard = std::mem::take(&mut *self.queue.hoard.lock().unwrap());
        drop(hoard);
    }
}

/// The executor as pollcheck's kit drives it.
pub fn executor(bugs: Bugs) -> pollcheck::Executor {
    let executor = Arc::new(ToyExecutor::new(bugs));
    let spawner = Arc::clone(&executor);
    pollcheck::Executor::new(move |task| spawner.spawn(task), move || executor.run_until_idle())
}

pub fn loses_self_wake(flavor: Flavor) -> pollcheck::Executor {
    executor(Bugs { loses_self_wake: flavor.buggy(), ..Bugs::default() })
}

pub fn keeps_finished(flavor: Flavor) -> pollcheck::Executor {
    executor(Bugs { keeps_finished: flavor.buggy(), ..Bugs::default() })
}
