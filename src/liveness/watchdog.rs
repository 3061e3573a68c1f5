//! The one watchdog thread of the process. It starts with the first watched check,
//! ticks a few times per timeout while a check is watched (once a second otherwise),
//! and costs the engine nothing but the heartbeat's plain stores.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use super::heartbeat::Heartbeat;
use super::{cpu, Hang, OnHang};
use crate::sync::lock;

/// Heartbeats registered since the watchdog last looked.
static NEW: Mutex<Vec<Weak<Heartbeat>>> = Mutex::new(Vec::new());
static WATCHDOG: OnceLock<Option<Thread>> = OnceLock::new();

/// The slowest tick, when nothing is watched.
const IDLE_TICK: Duration = Duration::from_secs(1);

thread_local! {
    static HEARTBEAT: Arc<Heartbeat> = {
        let heartbeat = Arc::new(Heartbeat::new(super::cpu::ThreadClock::current()));
        lock(&NEW).push(Arc::downgrade(&heartbeat));
        heartbeat
    };
}

/// This thread's heartbeat (registered with the watchdog on first use).
pub(super) fn heartbeat() -> Arc<Heartbeat> {
    HEARTBEAT.with(Arc::clone)
}

/// Starts the watchdog if needed, and makes it look at once (a new check may have a
/// shorter timeout than its current tick).
pub(super) fn wake() {
    let watchdog = WATCHDOG.get_or_init(|| {
        thread::Builder::new().name("pollcheck-watchdog".into()).spawn(run).ok().map(|h| h.thread().clone())
    });
    if let Some(t) = watchdog {
        t.unpark();
    }
}

/// What the watchdog remembers of one heartbeat.
struct Watched {
    heartbeat: Weak<Heartbeat>,
    /// The beat last seen, and when it was first seen.
    beat: u64,
    since: Instant,
    /// The thread's CPU time when the same beat was seen a second time.
    cpu_since: Option<(Instant, Option<Duration>)>,
    reported: bool,
}

fn run() {
    let mut watched: Vec<Watched> = Vec::new();
    loop {
        let now = Instant::now();
        watched.extend(lock(&NEW).drain(..).map(|heartbeat| Watched {
            heartbeat,
            beat: u64::MAX,
            since: now,
            cpu_since: None,
            reported: false,
        }));
        let mut tick = IDLE_TICK;
        watched.retain_mut(|w| {
            let Some(heartbeat) = w.heartbeat.upgrade() else { return false };
            if let Some(t) = look(w, &heartbeat, now) {
                tick = tick.min(t);
            }
            true
        });
        thread::park_timeout(tick.max(Duration::from_millis(1)));
    }
}

/// Looks at one heartbeat; returns the tick its timeout asks for, if it is watched.
fn look(w: &mut Watched, heartbeat: &Heartbeat, now: Instant) -> Option<Duration> {
    let Some((beat, depth)) = heartbeat.sample() else {
        w.beat = u64::MAX;
        return None;
    };
    let session = heartbeat.session()?;
    let tick = session.timeout / 4;
    if depth == 0 || beat != w.beat {
        *w = Watched { heartbeat: w.heartbeat.clone(), beat, since: now, cpu_since: None, reported: false };
        return Some(tick);
    }
    // The same activity has been running since `w.since`.
    let (cpu_at, cpu_before) =
        *w.cpu_since.get_or_insert_with(|| (now, heartbeat.clock.as_ref().and_then(|c| c.cpu())));
    let waited = now - w.since;
    // Also wait until the CPU time was watched long enough to mean something.
    if w.reported || waited < session.timeout || now - cpu_at < session.timeout / 2 {
        return Some(tick);
    }
    w.reported = true;
    let watched_for = now - cpu_at;
    let used = cpu_before.and_then(|before| Some(heartbeat.clock.as_ref()?.cpu()?.saturating_sub(before)));
    let hang = Hang {
        snapshot: heartbeat.snapshot(),
        waited,
        cpu: used.map(|u| (u, watched_for)),
        verdict: cpu::verdict(used, watched_for),
        timeout: session.timeout,
        seed: session.seed,
        check_names: session.check_names,
    };
    match &session.on_hang {
        OnHang::Deliver(deliver) => {
            session.abandon();
            deliver(hang);
        }
        OnHang::Exit => {
            let report = hang.into_report(None, super::hang::Outcome::ProcessEnds);
            eprintln!("{report}");
            std::process::exit(101);
        }
    }
    Some(tick)
}
