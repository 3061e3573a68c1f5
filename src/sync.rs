//! One place that names the synchronisation types the crate uses.
//!
//! [`model`] holds what a loom model must see: the instrumented wakers' reference
//! counts and wake counters. Under `cfg(loom)` they are loom's types, so loom orders
//! every clone, wake and drop like the real thing: a real executor's `wake` happens
//! before the poll it causes (its run queue synchronises), and without that edge loom
//! would let the re-poll read stale memory and report bugs that cannot happen. loom
//! also reports a waker that outlives the model. The journal and the watchdog stay on
//! std types: they are instrumentation only.

/// Types the model must see: loom's under `cfg(loom)`, std's otherwise.
pub(crate) mod model {
    #[cfg(loom)]
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32};
    #[cfg(loom)]
    pub(crate) use loom::sync::Arc;
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU32};
    #[cfg(not(loom))]
    pub(crate) use std::sync::Arc;
}

pub(crate) use std::sync::Arc;

pub(crate) use std::sync::atomic::Ordering;
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, ignoring poisoning: the harness catches panics in user code, and a
/// poisoned journal is still a faithful record of what happened before the panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `done`, yielding the core between rounds, until it says so or `limit`
/// passes; returns whether it said so. For a thread about to block until another one
/// acts: waking a blocked thread costs 30 to 60 µs on an idle 2-core virtual machine
/// (its sleeping core must be woken first), more than a small check or a level of
/// one, so a thread that expects the other to act soon waits this way first. It
/// takes CPU only from idle cores: any runnable thread gets the core at each yield.
pub(crate) fn wait_briefly(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    loop {
        for _ in 0..32 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::yield_now();
    }
}

/// A thread as the model sees it (loom's threads share one OS thread).
#[cfg(loom)]
pub(crate) type ThreadId = loom::thread::ThreadId;
/// A thread.
#[cfg(not(loom))]
pub(crate) type ThreadId = std::thread::ThreadId;

/// The current thread, as the model sees it.
#[cfg(loom)]
pub(crate) fn current_thread() -> ThreadId {
    loom::thread::current().id()
}

/// The current thread.
#[cfg(not(loom))]
pub(crate) fn current_thread() -> ThreadId {
    std::thread::current().id()
}
