//! Helper threads for explorations whose factory can move (`Send + Sync + 'static`):
//! the caller waits for the result or for a hang, and a stuck helper is simply left
//! behind. Helpers are kept between checks, so a check costs no thread spawn.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::Hang;
use crate::sync::{lock, wait_briefly};

type Job = Box<dyn FnOnce() + Send>;

/// Idle helpers, each waiting on its own channel for a job.
static IDLE: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

/// Idle helpers kept; more than this end when their job does.
const MAX_IDLE: usize = 8;

/// How long a helper waits for its next job, and a caller for its result, before
/// blocking (see [`wait_briefly`]).
const HELPER_WAIT: Duration = Duration::from_micros(50);
const CALLER_WAIT: Duration = Duration::from_micros(250);

/// What a helper's job delivers to the caller.
pub(crate) enum Delivery<T> {
    /// The job returned, or panicked (a pollcheck bug: user panics are caught inside).
    Done(thread::Result<T>),
    /// The watchdog found the job stuck.
    Hang(Hang),
}

/// Where the first delivery of a job waits for its caller; later ones are dropped (a
/// stuck job that returns after its hang was delivered, a second hang).
pub(crate) struct Mailbox<T> {
    /// The delivery, until it is taken.
    slot: Mutex<Option<Delivery<T>>>,
    ready: Condvar,
    /// Whether anything was posted yet (set under `slot`'s lock): what a waiting
    /// caller looks at before blocking.
    posted: AtomicBool,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        Mailbox { slot: Mutex::new(None), ready: Condvar::new(), posted: AtomicBool::new(false) }
    }
}

impl<T> Mailbox<T> {
    pub(crate) fn post(&self, delivery: Delivery<T>) {
        let mut slot = lock(&self.slot);
        if !self.posted.load(Ordering::Relaxed) {
            *slot = Some(delivery);
            self.posted.store(true, Ordering::Release);
            self.ready.notify_all();
        }
    }

    /// Waits for the delivery, at most `limit` when one is given.
    pub(crate) fn wait(&self, limit: Option<Duration>) -> Option<Delivery<T>> {
        let deadline = limit.map(|l| Instant::now() + l);
        if limit.is_none_or(|l| l >= CALLER_WAIT) {
            wait_briefly(CALLER_WAIT, || self.posted.load(Ordering::Acquire));
        }
        let mut slot = lock(&self.slot);
        loop {
            if let Some(delivery) = slot.take() {
                return Some(delivery);
            }
            slot = match deadline {
                None => self.ready.wait(slot).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let left = deadline.checked_duration_since(Instant::now())?;
                    self.ready.wait_timeout(slot, left).unwrap_or_else(|e| e.into_inner()).0
                }
            };
        }
    }
}

/// Runs `job` on a helper thread and posts its result (or its panic) to `mailbox`.
/// Returns `false` if no helper thread could be started (the caller then runs it).
pub(crate) fn spawn<T: Send + 'static>(
    mailbox: std::sync::Arc<Mailbox<T>>,
    job: impl FnOnce() -> T + Send + 'static,
) -> bool {
    let mut job: Job = Box::new(move || {
        let result = panic::catch_unwind(AssertUnwindSafe(job));
        mailbox.post(Delivery::Done(result));
    });
    loop {
        let Some(helper) = lock(&IDLE).pop() else { break };
        match helper.send(job) {
            Ok(()) => return true,
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    thread::Builder::new().name("pollcheck-explorer".into()).spawn(move || helper(job)).is_ok()
}

fn helper(first: Job) {
    let (tx, rx) = mpsc::channel::<Job>();
    let mut job = first;
    loop {
        job();
        {
            let mut idle = lock(&IDLE);
            if idle.len() >= MAX_IDLE {
                return;
            }
            idle.push(tx.clone());
        }
        let mut next = None;
        wait_briefly(HELPER_WAIT, || {
            next = rx.try_recv().ok();
            next.is_some()
        });
        match next.map_or_else(|| rx.recv(), Ok) {
            Ok(next) => job = next,
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    #[cfg_attr(miri, ignore = "helper threads outlive the test; under miri checks explore on the calling thread")]
    fn a_job_delivers_its_result_and_helpers_are_reused() {
        // Other tests of this process use helpers too, so which helper runs a job is
        // not fixed; but without reuse, every job would get a thread of its own.
        let mut threads = std::collections::HashSet::new();
        for _ in 0..50 {
            let mailbox = Arc::new(Mailbox::default());
            assert!(spawn(Arc::clone(&mailbox), || thread::current().id()));
            let Some(Delivery::Done(Ok(id))) = mailbox.wait(None) else { panic!("no result") };
            threads.insert(id);
            // The helper goes back to the idle list right after posting.
            thread::sleep(Duration::from_millis(1));
        }
        assert!(threads.len() <= 2 * MAX_IDLE, "50 jobs ran on {} threads", threads.len());
    }

    #[test]
    #[cfg_attr(miri, ignore = "helper threads outlive the test; under miri checks explore on the calling thread")]
    fn a_panicking_job_delivers_its_panic_and_a_late_delivery_is_dropped() {
        let mailbox: Arc<Mailbox<()>> = Arc::new(Mailbox::default());
        assert!(spawn(Arc::clone(&mailbox), || std::panic::resume_unwind(Box::new("boom"))));
        match mailbox.wait(None) {
            Some(Delivery::Done(Err(payload))) => assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom")),
            _ => panic!("expected the job's panic"),
        }
        let late: Arc<Mailbox<u32>> = Arc::new(Mailbox::default());
        late.post(Delivery::Done(Ok(1)));
        late.post(Delivery::Done(Ok(2)));
        assert!(matches!(late.wait(Some(Duration::ZERO)), Some(Delivery::Done(Ok(1)))));
        assert!(late.wait(Some(Duration::from_millis(1))).is_none());
    }
}
