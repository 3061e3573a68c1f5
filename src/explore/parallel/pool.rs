//! The worker threads of one check: started the first time the work is large enough to
//! be worth them, then kept (each with its own judge, so its honest-twin cache lasts)
//! until the check ends, waiting between jobs on a board where the exploring thread
//! posts the next one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::{self, Scope};
use std::time::Duration;

use crate::sync::{lock, wait_briefly};

/// How long an idle worker waits for the next job before blocking: about the time
/// the exploring thread takes between two levels worth sharing.
const WORKER_WAIT: Duration = Duration::from_micros(200);

/// Where the exploring thread posts jobs and the workers wait for them.
pub(super) struct Board<J> {
    /// The latest job.
    job: Mutex<Option<J>>,
    posted: Condvar,
    /// The latest job's number (jobs are numbered from 1), `u64::MAX` once closed;
    /// written under `job`'s lock, and read without it by a worker about to block.
    latest: AtomicU64,
}

/// The board's number once closed.
const CLOSED: u64 = u64::MAX;

impl<J> Default for Board<J> {
    fn default() -> Self {
        Board { job: Mutex::new(None), posted: Condvar::new(), latest: AtomicU64::new(0) }
    }
}

impl<J> Board<J> {
    fn close(&self) {
        let _job = lock(&self.job);
        self.latest.store(CLOSED, Ordering::Release);
        self.posted.notify_all();
    }
}

impl<J: Clone> Board<J> {
    fn post(&self, job: J) {
        let mut slot = lock(&self.job);
        *slot = Some(job);
        self.latest.fetch_add(1, Ordering::Release);
        self.posted.notify_all();
    }

    /// Waits for a job newer than job `seen` (and makes it the one seen); `None` once
    /// the board is closed. A worker that slept through a job skips it: the exploring
    /// thread finishes every job it posts, with or without help.
    pub(super) fn next(&self, seen: &mut u64) -> Option<J> {
        wait_briefly(WORKER_WAIT, || self.latest.load(Ordering::Acquire) > *seen);
        let mut job = lock(&self.job);
        loop {
            match self.latest.load(Ordering::Acquire) {
                CLOSED => return None,
                number if number > *seen => {
                    *seen = number;
                    return job.clone();
                }
                _ => job = self.posted.wait(job).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }
}

/// A run of at least this many items (prefixes of a level, random cases) is worth
/// starting the workers; once they run, one of at least [`WAKE_AT`] is worth waking
/// them. Below that, the exploring thread is faster alone. Tiny under miri, so that its
/// few schedules still go through the workers.
const START_AT: u64 = if cfg!(miri) { 2 } else { 1024 };
const WAKE_AT: u64 = if cfg!(miri) { 2 } else { 256 };

/// The workers, started on demand in `scope`, each running `worker`.
pub(super) struct Pool<'scope, 'env, J> {
    scope: &'scope Scope<'scope, 'env>,
    board: &'env Board<J>,
    worker: &'env (dyn Fn() + Sync),
    /// Workers wanted, and whether they were started.
    wanted: usize,
    started: Option<usize>,
}

impl<'scope, 'env, J: Clone> Pool<'scope, 'env, J> {
    /// Up to `wanted` workers, none started yet.
    pub(super) fn new(
        scope: &'scope Scope<'scope, 'env>,
        board: &'env Board<J>,
        worker: &'env (dyn Fn() + Sync),
        wanted: usize,
    ) -> Self {
        Pool { scope, board, worker, wanted, started: None }
    }

    /// How many threads should share a run of `items` items, the exploring thread
    /// included; starts the workers the first time it says more than one.
    pub(super) fn threads_for(&mut self, items: u64) -> usize {
        if self.wanted == 0 || items < WAKE_AT || (self.started.is_none() && items < START_AT) {
            return 1;
        }
        let started = *self.started.get_or_insert_with(|| {
            let worker = self.worker;
            // A worker the system cannot give is one fewer: the exploring thread
            // does all the work anyway when nobody helps.
            (0..self.wanted)
                .filter(|i| {
                    let builder = thread::Builder::new().name(format!("pollcheck-worker-{}", i + 1));
                    builder.spawn_scoped(self.scope, worker).is_ok()
                })
                .count()
        });
        1 + started
    }

    /// Has the workers help with `job` (after [`Pool::threads_for`] said so).
    pub(super) fn post(&self, job: J) {
        self.board.post(job);
    }
}

impl<J> Drop for Pool<'_, '_, J> {
    /// The check is over, or unwinding: the workers end, and the scope can join them.
    fn drop(&mut self) {
        self.board.close();
    }
}
