//! A poll (or driver step) that does not return is a deadlock inside user code; the
//! checker cannot interrupt it, but it can say so. A watchdog thread samples a
//! heartbeat and prints the schedule so far to stderr when one action runs too long.

use std::thread;
use std::time::Duration;

use crate::schedule::{Schedule, Step};
use crate::sync::{
    Arc, AtomicBool, AtomicU32, AtomicU64, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};

/// Written by the engine, read by the watchdog: lock-free, a few relaxed atomic
/// writes per action, so it can stay on during exploration.
#[derive(Debug)]
pub(crate) struct Heartbeat {
    /// Bumped on every start and end.
    beat: AtomicU64,
    /// Actions running (they nest: a driver step inside a wake inside a poll).
    depth: AtomicU32,
    /// The current schedule's actions so far (encoded steps); the last one is running.
    steps: Box<[AtomicU32]>,
    len: AtomicUsize,
    stop: AtomicBool,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            beat: AtomicU64::new(0),
            depth: AtomicU32::new(0),
            steps: (0..512).map(|_| AtomicU32::new(0)).collect(),
            len: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        }
    }
}

impl Heartbeat {
    /// A new schedule starts.
    pub(crate) fn reset(&self) {
        self.len.store(0, Relaxed);
    }

    /// The schedule goes on with `step`.
    pub(crate) fn record(&self, step: Step) {
        let len = self.len.load(Relaxed);
        if let Some(slot) = self.steps.get(len) {
            slot.store(step.code(), Relaxed);
            self.len.store(len + 1, Relaxed);
        }
    }

    /// User code (a poll, a driver step, a drop) starts running.
    pub(crate) fn start(&self) {
        // One writer (the engine's thread): plain stores, no locked instructions.
        self.depth.store(self.depth.load(Relaxed) + 1, Relaxed);
        self.beat.store(self.beat.load(Relaxed) + 1, Relaxed);
    }

    /// The running step returned.
    pub(crate) fn end(&self) {
        self.depth.store(self.depth.load(Relaxed).saturating_sub(1), Relaxed);
        self.beat.store(self.beat.load(Relaxed) + 1, Relaxed);
    }

    fn schedule_so_far(&self) -> String {
        let len = self.len.load(Relaxed).min(self.steps.len());
        let steps = self.steps[..len].iter().filter_map(|s| Step::from_code(s.load(Relaxed))).collect();
        Schedule::new(steps).to_string()
    }
}

/// Runs `body` with a watchdog watching `heartbeat`, if a timeout is set.
pub(crate) fn watch<T>(timeout: Option<Duration>, body: impl FnOnce(Option<Arc<Heartbeat>>) -> T) -> T {
    let Some(timeout) = timeout else {
        return body(None);
    };
    let heartbeat = Arc::new(Heartbeat::default());
    let watcher = {
        let hb = Arc::clone(&heartbeat);
        thread::Builder::new()
            .name("pollcheck-watchdog".into())
            .spawn(move || watchdog(&hb, timeout, &mut std::io::stderr()))
    };
    let result = body(Some(Arc::clone(&heartbeat)));
    heartbeat.stop.store(true, SeqCst);
    if let Ok(handle) = watcher {
        handle.thread().unpark();
        let _ = handle.join();
    }
    result
}

fn watchdog(hb: &Heartbeat, timeout: Duration, out: &mut dyn std::io::Write) {
    let tick = (timeout / 4).max(Duration::from_millis(1));
    let mut last = u64::MAX;
    let mut stuck_for = Duration::ZERO;
    let mut warned = false;
    while !hb.stop.load(SeqCst) {
        thread::park_timeout(tick);
        let beat = hb.beat.load(Relaxed);
        if beat != last || hb.depth.load(Relaxed) == 0 {
            last = beat;
            stuck_for = Duration::ZERO;
            warned = false;
            continue;
        }
        stuck_for += tick;
        if stuck_for >= timeout && !warned {
            warned = true;
            let _ = writeln!(
                out,
                "pollcheck: the last action of the schedule `{}` has not returned after {:?}: a deadlock \
                 inside poll or a driver step? (a lock held while waking or dropping a waker, with `r` \
                 in the schedule, is the usual cause)",
                hb.schedule_so_far(),
                stuck_for
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "the watchdog is off under miri; it sleeps in real time")]
    fn a_stuck_action_gets_a_diagnostic_naming_the_schedule() {
        let hb = Arc::new(Heartbeat::default());
        for step in [Step::Poll(0), Step::ReentrantDriver, Step::Driver] {
            hb.record(step);
        }
        hb.start();
        let hb2 = Arc::clone(&hb);
        let out = thread::spawn(move || {
            let mut out = Vec::new();
            watchdog(&hb2, Duration::from_millis(20), &mut out);
            out
        });
        thread::sleep(Duration::from_millis(120));
        hb.stop.store(true, SeqCst);
        let text = String::from_utf8(out.join().unwrap()).unwrap();
        assert!(text.contains("the last action of the schedule `p0 r d` has not returned"), "{text}");
    }

    #[test]
    #[cfg_attr(miri, ignore = "the watchdog is off under miri; it sleeps in real time")]
    fn a_busy_engine_gets_no_diagnostic() {
        let hb = Arc::new(Heartbeat::default());
        let hb2 = Arc::clone(&hb);
        let out = thread::spawn(move || {
            let mut out = Vec::new();
            watchdog(&hb2, Duration::from_millis(20), &mut out);
            out
        });
        for _ in 0..100 {
            hb.record(Step::Poll(0));
            hb.start();
            thread::sleep(Duration::from_millis(1));
            hb.end();
        }
        hb.stop.store(true, SeqCst);
        assert!(out.join().unwrap().is_empty());
    }
}
