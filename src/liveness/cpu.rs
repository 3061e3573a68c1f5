//! Another thread's CPU time, read from `/proc` on Linux: what tells a busy loop (the
//! stuck thread burns a core) from a deadlock (it is blocked and burns nothing).
//! Elsewhere it is unknown, and reports say so rather than guess.

use std::path::PathBuf;
use std::time::Duration;

/// A handle on one thread's CPU clock, readable from any thread.
#[derive(Clone, Debug)]
pub(crate) struct ThreadClock {
    /// `/proc/<pid>/task/<tid>/`
    dir: PathBuf,
}

impl ThreadClock {
    /// The calling thread's clock, if this platform exposes one.
    pub(crate) fn current() -> Option<ThreadClock> {
        if cfg!(miri) || !cfg!(target_os = "linux") {
            return None;
        }
        // "<pid>/task/<tid>", relative to /proc.
        let link = std::fs::read_link("/proc/thread-self").ok()?;
        let clock = ThreadClock { dir: PathBuf::from("/proc").join(link) };
        clock.cpu().map(|_| clock)
    }

    /// CPU time the thread has used so far (user and system).
    pub(crate) fn cpu(&self) -> Option<Duration> {
        // schedstat: nanoseconds on the CPU, first field; exact where the kernel has it.
        if let Ok(text) = std::fs::read_to_string(self.dir.join("schedstat")) {
            if let Some(ns) = text.split_whitespace().next().and_then(|f| f.parse::<u64>().ok()) {
                return Some(Duration::from_nanos(ns));
            }
        }
        // stat: utime and stime in clock ticks (fields 14 and 15; the name in field 2
        // may hold spaces, so count from the closing parenthesis).
        let text = std::fs::read_to_string(self.dir.join("stat")).ok()?;
        let rest = &text[text.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // USER_HZ is 100 on every Linux architecture Rust supports.
        Some(Duration::from_millis(ticks * 10))
    }
}

/// How a stuck thread spent the time it was watched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It used most of a core: a loop that never yields.
    BusyLoop,
    /// It used (almost) no CPU: blocked on a lock, a channel, a join.
    Blocked,
    /// No CPU clock on this platform.
    Unknown,
}

/// Below this share of one core over the watched interval a thread counts as blocked.
/// A blocked thread uses none; a spinning one gets a core, or at least a fair share of
/// one on a loaded machine (half of it with four runnable threads on two cores).
const BUSY_SHARE: f64 = 0.1;

/// Classifies `cpu` used over `wall`.
pub(crate) fn verdict(cpu: Option<Duration>, wall: Duration) -> Verdict {
    match cpu {
        None => Verdict::Unknown,
        Some(_) if wall.is_zero() => Verdict::Unknown,
        Some(cpu) if cpu.as_secs_f64() / wall.as_secs_f64() >= BUSY_SHARE => Verdict::BusyLoop,
        Some(_) => Verdict::Blocked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_of_a_core_classify_the_stuck_thread() {
        let s = Duration::from_secs;
        assert_eq!(verdict(Some(Duration::from_millis(950)), s(1)), Verdict::BusyLoop);
        assert_eq!(verdict(Some(Duration::from_millis(300)), s(1)), Verdict::BusyLoop);
        assert_eq!(verdict(Some(Duration::ZERO), s(1)), Verdict::Blocked);
        assert_eq!(verdict(Some(Duration::from_millis(20)), s(1)), Verdict::Blocked);
        assert_eq!(verdict(None, s(1)), Verdict::Unknown);
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads /proc, which miri's isolation forbids")]
    fn a_spinning_thread_burns_cpu_and_a_sleeping_one_does_not() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let sleeper = std::thread::spawn(move || {
            tx.send(ThreadClock::current()).unwrap();
            std::thread::sleep(Duration::from_millis(200));
        });
        let clock = rx.recv().unwrap().expect("a thread clock on linux");
        let before = clock.cpu().unwrap();
        sleeper.join().unwrap();
        let me = ThreadClock::current().unwrap();
        let start = me.cpu().unwrap();
        let t = std::time::Instant::now();
        while t.elapsed() < Duration::from_millis(100) {
            std::hint::spin_loop();
        }
        let spun = me.cpu().unwrap() - start;
        assert!(spun >= Duration::from_millis(20), "spinning for 100 ms used {spun:?} of CPU");
        // The sleeper's clock is gone with it; its reading before the sleep was small.
        assert!(before < Duration::from_millis(100), "{before:?}");
    }
}
