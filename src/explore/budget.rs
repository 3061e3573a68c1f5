//! A check's time budget ([`Config::budget`](crate::Config::budget)): a deadline the
//! phases look at every few schedules, shared by the threads of a check, and how far
//! the systematic phase got when it stopped.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// How many schedules run between two looks at the clock: a schedule costs a
/// microsecond or more, reading the clock a few dozen nanoseconds. Under miri, where a
/// schedule costs milliseconds, every schedule.
const EVERY: u32 = if cfg!(miri) { 1 } else { 8 };

/// When the budget is spent, once known by every thread that looks.
#[derive(Debug)]
pub(crate) struct Deadline {
    at: Instant,
    /// Set by the first look that finds the deadline passed.
    spent: AtomicBool,
}

impl Deadline {
    /// The deadline `budget` from now, or `None` for no budget (or one too large for
    /// the clock).
    pub(crate) fn after(budget: Option<Duration>) -> Option<Deadline> {
        let at = Instant::now().checked_add(budget?)?;
        Some(Deadline { at, spent: AtomicBool::new(false) })
    }

    /// Whether the budget is spent, called once per schedule by each loop with its
    /// own `count`: the clock is read every [`EVERY`] calls, the shared flag always.
    pub(crate) fn spent(&self, count: &mut u32) -> bool {
        if self.spent.load(Relaxed) {
            return true;
        }
        *count = count.wrapping_add(1);
        if !count.is_multiple_of(EVERY) || Instant::now() < self.at {
            return false;
        }
        self.spent.store(true, Relaxed);
        true
    }
}

/// Whether `deadline`, if any, is spent (see [`Deadline::spent`]). Without a budget,
/// one branch.
#[inline]
pub(crate) fn spent(deadline: Option<&Deadline>, count: &mut u32) -> bool {
    match deadline {
        None => false,
        Some(d) => d.spent(count),
    }
}
