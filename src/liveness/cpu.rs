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
        // A sleeping thread's clock stands still, however loaded the machine is.
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let sleeper = std::thread::spawn(move || {
            tx.send(ThreadClock::current()).unwrap();
            let _ = done_rx.recv();
        });
        let clock = rx.recv().unwrap().expect("a thread clock on linux");
        let before = clock.cpu().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let blocked = clock.cpu().unwrap() - before;
        drop(done_tx);
        sleeper.join().unwrap();
        assert!(blocked < Duration::from_millis(10), "a blocked thread used {blocked:?} of CPU");
        // A spinning thread's clock advances (however slowly it is scheduled: no
        // wall-clock bound but a generous one that only stops a broken clock).
        let me = ThreadClock::current().unwrap();
        let start = me.cpu().unwrap();
        let give_up = std::time::Instant::now() + Duration::from_secs(60);
        while me.cpu().unwrap() - start < Duration::from_millis(20) {
            assert!(std::time::Instant::now() < give_up, "spinning for a minute used no CPU");
            for _ in 0..10_000 {
                std::hint::spin_loop();
            }
        }
    }
}
