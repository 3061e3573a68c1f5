//! Catching panics from user code without letting the default hook print a backtrace
//! for every schedule explored, while keeping the message and location for the report.

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

/// A panic caught from user code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CaughtPanic {
    pub(crate) message: String,
    pub(crate) location: Option<String>,
}

impl std::fmt::Display for CaughtPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{} (at {loc})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    static LAST: RefCell<Option<CaughtPanic>> = const { RefCell::new(None) };
    /// Panics that started inside [`catch`] and were not caught yet: one more while
    /// one is unwinding is a panic in a `Drop` during unwinding, which aborts.
    static IN_FLIGHT: Cell<u32> = const { Cell::new(0) };
    static ABORT_TOLD: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Renders the report so far of the run on this thread, given the two panics (set by
/// the engine, which knows the run).
static ABORT_REPORT: std::sync::OnceLock<fn(&CaughtPanic, &CaughtPanic) -> Option<String>> = std::sync::OnceLock::new();

/// Sets what [`catch`]'s hook prints when a panic starts while another unwinds.
pub(crate) fn on_abort(report: fn(&CaughtPanic, &CaughtPanic) -> Option<String>) {
    let _ = ABORT_REPORT.set(report);
}

fn install_hook() {
    HOOK.call_once(wrap_current_hook);
}

/// Times the hook was put back after something replaced it (see [`catch`]): a bound,
/// since a panic resumed with `resume_unwind` (no hook runs) looks the same, and each
/// reinstall wraps whatever hook is current, pollcheck's own included.
static REINSTALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
const MAX_REINSTALLS: u32 = 16;

/// Puts pollcheck's hook back in front, once a caught panic showed it was not called:
/// a test or a framework set its own hook after pollcheck's (`set_hook` replaces, it
/// does not chain). Without it every panic a check explores would reach that hook
/// (the default one prints a backtrace each time: thousands while shrinking).
#[cold]
fn reinstall_hook() {
    if REINSTALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < MAX_REINSTALLS {
        wrap_current_hook();
    }
}

/// Installs pollcheck's hook in front of the current one, which it calls for panics
/// outside [`catch`].
fn wrap_current_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let quiet = DEPTH.try_with(|d| d.get() > 0).unwrap_or(false);
        if !quiet {
            return previous(info);
        }
        let caught =
            CaughtPanic { message: payload_text(info.payload()), location: info.location().map(|l| l.to_string()) };
        let unwinding = IN_FLIGHT.try_with(|n| n.replace(n.get() + 1)).unwrap_or(0) > 0;
        if unwinding {
            // The process aborts once this panic reaches the frame that was
            // unwinding: the report so far goes to stderr first, once.
            previous(info);
            let first = LAST.try_with(|last| last.borrow().clone()).ok().flatten();
            if !ABORT_TOLD.try_with(|t| t.replace(true)).unwrap_or(true) {
                let first = first.unwrap_or(CaughtPanic { message: "?".into(), location: None });
                if let Some(report) = ABORT_REPORT.get().and_then(|r| r(&first, &caught)) {
                    eprintln!("{report}");
                }
            }
            return;
        }
        let _ = LAST.try_with(|last| *last.borrow_mut() = Some(caught));
    }));
}

/// Runs `f`, turning a panic into `Err` with its message and location.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, CaughtPanic> {
    install_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    // A panic that `f` catches itself stays counted until `f` returns.
    let in_flight = IN_FLIGHT.with(Cell::get);
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    IN_FLIGHT.with(|n| n.set(in_flight));
    DEPTH.with(|d| d.set(d.get() - 1));
    result.map_err(|payload| {
        let fallback = CaughtPanic { message: payload_text(&*payload), location: None };
        // Dropping the payload can itself panic; never let that escape.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
        LAST.with(|last| last.borrow_mut().take()).unwrap_or_else(|| {
            // Our hook did not see this panic: another one replaced it.
            reinstall_hook();
            fallback
        })
    })
}

pub(crate) fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}
