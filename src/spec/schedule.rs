//! Schedules: the interleaving of polls, wakes, driver steps and other actions that
//! the checker chose, as data. A schedule prints as a short string (`p0 w0 s0 d`) that
//! parses back, so a failure found once becomes a regression test.

use std::fmt;
use std::str::FromStr;

/// One action of a schedule.
///
/// Tasks are numbered in the order they were added to the
/// [`Scenario`](crate::Scenario), from 0.
///
/// | token | step |
/// | --- | --- |
/// | `p0` | [`Step::Poll`] |
/// | `s0` | [`Step::SpuriousPoll`] |
/// | `w0` | [`Step::NewWaker`] |
/// | `d` | [`Step::Driver`] |
/// | `r` | [`Step::ReentrantDriver`] |
/// | `c0` | [`Step::Cancel`] |
/// | `a0` | [`Step::Abandon`] |
/// | `m0` | [`Step::Move`] |
/// | `i0` | [`Step::PollInsideWake`] |
/// | `u` | [`Step::DriverInsideDrop`] |
/// | `k0` | [`Step::DriverInsideClone`] |
/// | `b` | [`Step::ShortIo`] |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// Poll a task that was woken (or never polled), as an honest executor would.
    /// Skipped when the task was not woken.
    Poll(usize),
    /// Poll a task although nothing woke it.
    SpuriousPoll(usize),
    /// Give the task a new waker identity for its next poll, as when a future moves
    /// between executors or a combinator re-polls it from another context.
    NewWaker(usize),
    /// Run the next driver step.
    Driver,
    /// Run the next driver step, with the one after it armed to run inside the next
    /// `wake` or `wake_by_ref` of any instrumented waker on the checker's thread
    /// (with one step left, just arm it). A waker is arbitrary code: a primitive
    /// that wakes while holding its own lock meets that lock again.
    ///
    /// Off by default ([`Bounds::reentrant`](crate::Bounds::reentrant) is 0): waking
    /// under a lock is legal, and common (event-listener, flume, futures-channel do
    /// it), and a primitive whose nested step takes that `std` lock again deadlocks
    /// here on one thread, where the other party on its own thread would just wait.
    /// Turn it on for primitives that promise to wake outside their locks.
    ReentrantDriver,
    /// Drop the task (cancellation).
    Cancel(usize),
    /// Stop polling the task but keep it alive, like a `select!` branch that is never
    /// polled again.
    Abandon(usize),
    /// Move an `Unpin` task to a new address before its next poll.
    Move(usize),
    /// The next time the task's latest waker is woken on the checker's thread, poll
    /// the task right inside that `wake`, before it returns: what a multi-threaded
    /// executor's worker may do in parallel. A primitive that wakes before it stores
    /// the state the task will look for shows its bug here.
    ///
    /// Off by default ([`Bounds::polls_inside_wake`](crate::Bounds::polls_inside_wake)
    /// is 0): a primitive that wakes while holding a lock the task's poll also takes
    /// (futures-channel's bounded mpsc does) deadlocks here on one thread, where a
    /// real worker would just wait for the lock.
    PollInsideWake(usize),
    /// Arm the next driver step to run inside the next `drop` of a *retired* waker
    /// clone on the checker's thread: a clone of a waker its task no longer uses,
    /// because the task was polled since with a newer waker (after `w`) or is gone
    /// (finished, cancelled, panicked). If no such drop comes before the next driver
    /// step (`d`, or the drain's), that step runs then, in order. (`u` for "unused
    /// waker".)
    ///
    /// Dropping a waker can drop the last reference to its task, and with it the
    /// task's future, whose `Drop` may touch the primitive that dropped the waker: a
    /// primitive that drops a replaced or removed waker while holding its own lock
    /// meets that lock again. A waker dropped inside a consuming `wake` does not
    /// count, and a step never fires in a drop that runs during a panic. A panic of
    /// the nested step is reported as a [`Panic`](crate::ViolationKind::Panic)
    /// naming the step and the waker, without unwinding out of the drop.
    ///
    /// Off by default ([`Bounds::reentrant_drops`](crate::Bounds::reentrant_drops)
    /// is 0), like [`Step::ReentrantDriver`]: many correct primitives drop wakers
    /// under their own `std` lock, and the nested step deadlocks on it here, on one
    /// thread, where a real task's drop on another thread would just wait. Turn it on
    /// for primitives that promise to drop wakers outside their locks.
    DriverInsideDrop,
    /// Arm the next driver step to run inside the next `clone` of the task's latest
    /// waker on the checker's thread: the moment a primitive registers the task
    /// (`cx.waker().clone()`). If no such clone comes before the next driver step
    /// (`d`, or the drain's), that step runs then, in order. (`k` for "klone": `c` is
    /// taken by cancel.)
    ///
    /// A waker's `clone` is arbitrary code. Code that registers, then checks its flag
    /// sees the step's effect when it checks, and passes. Code that checks, then
    /// registers misses the step's wake (it lands between the two, where the waker is
    /// not stored yet) and returns `Pending` with nothing left to wake it: the
    /// quiescence proof reports the lost wakeup. A primitive that clones the waker
    /// while holding its own lock meets that lock again: a
    /// [`Hang`](crate::ViolationKind::Hang) (or a panic, for a `RefCell`). A panic of
    /// the nested step is reported as a [`Panic`](crate::ViolationKind::Panic) naming
    /// the step and the waker, without unwinding out of the clone.
    ///
    /// Off by default ([`Bounds::reentrant_clones`](crate::Bounds::reentrant_clones)
    /// is 0), like [`Step::ReentrantDriver`]: cloning a waker under a lock is legal,
    /// and on one thread the nested step deadlocks where another thread would wait.
    DriverInsideClone(usize),
    /// The next read or write of an I/O probe on the checker's thread (a
    /// `pollcheck::io::ReadProbe` or `WriteProbe`, feature `io` or `tokio-io`) moves at
    /// most one byte, however much it could move: a short read or write, which every
    /// caller of `poll_read` and `poll_write` must handle (by looping, or by waiting
    /// only after `Pending`). What futures-test's `limited` does by hand, chosen by
    /// the schedule. (`b` for "one byte".)
    ///
    /// Enabled only while an I/O probe was created for the run, and once at a time:
    /// a read or write that returns `Pending` leaves it armed.
    /// [`Bounds::short_io`](crate::Bounds::short_io) allows two by default.
    ShortIo,
}

impl Step {
    /// The task this step acts on, if any.
    pub fn task(self) -> Option<usize> {
        match self {
            Step::Poll(t)
            | Step::SpuriousPoll(t)
            | Step::NewWaker(t)
            | Step::Cancel(t)
            | Step::Abandon(t)
            | Step::Move(t)
            | Step::PollInsideWake(t)
            | Step::DriverInsideClone(t) => Some(t),
            Step::Driver | Step::ReentrantDriver | Step::DriverInsideDrop | Step::ShortIo => None,
        }
    }
}

impl Step {
    /// A compact encoding, for lock-free heartbeats.
    pub(crate) fn code(self) -> u32 {
        let (kind, task) = match self {
            Step::Poll(t) => (0, t),
            Step::SpuriousPoll(t) => (1, t),
            Step::NewWaker(t) => (2, t),
            Step::Driver => (3, 0),
            Step::ReentrantDriver => (4, 0),
            Step::Cancel(t) => (5, t),
            Step::Abandon(t) => (6, t),
            Step::Move(t) => (7, t),
            Step::PollInsideWake(t) => (8, t),
            Step::DriverInsideDrop => (9, 0),
            Step::ShortIo => (10, 0),
            Step::DriverInsideClone(t) => (11, t),
        };
        kind << 16 | task as u32
    }

    pub(crate) fn from_code(code: u32) -> Option<Step> {
        let t = (code & 0xffff) as usize;
        Some(match code >> 16 {
            0 => Step::Poll(t),
            1 => Step::SpuriousPoll(t),
            2 => Step::NewWaker(t),
            3 => Step::Driver,
            4 => Step::ReentrantDriver,
            5 => Step::Cancel(t),
            6 => Step::Abandon(t),
            7 => Step::Move(t),
            8 => Step::PollInsideWake(t),
            9 => Step::DriverInsideDrop,
            10 => Step::ShortIo,
            11 => Step::DriverInsideClone(t),
            _ => return None,
        })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Step::Poll(t) => write!(f, "p{t}"),
            Step::SpuriousPoll(t) => write!(f, "s{t}"),
            Step::NewWaker(t) => write!(f, "w{t}"),
            Step::Driver => f.write_str("d"),
            Step::ReentrantDriver => f.write_str("r"),
            Step::Cancel(t) => write!(f, "c{t}"),
            Step::Abandon(t) => write!(f, "a{t}"),
            Step::Move(t) => write!(f, "m{t}"),
            Step::PollInsideWake(t) => write!(f, "i{t}"),
            Step::DriverInsideDrop => f.write_str("u"),
            Step::ShortIo => f.write_str("b"),
            Step::DriverInsideClone(t) => write!(f, "k{t}"),
        }
    }
}

/// The largest task index a schedule string may name.
pub const MAX_TASKS: usize = 64;

impl FromStr for Step {
    type Err = ParseError;

    fn from_str(token: &str) -> Result<Self, ParseError> {
        let err = |reason: String| ParseError { token: token.to_owned(), index: 0, reason };
        let mut chars = token.chars();
        let Some(kind) = chars.next() else {
            return Err(err("empty token".into()));
        };
        let rest = chars.as_str();
        let task = || -> Result<usize, ParseError> {
            if rest.is_empty() {
                return Err(err(format!("`{kind}` needs a task number, as in `{kind}0`")));
            }
            if !rest.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err(format!("`{rest}` is not a task number")));
            }
            match rest.parse::<usize>() {
                Ok(t) if t < MAX_TASKS => Ok(t),
                _ => Err(err(format!("task number {rest} is out of range (0..{MAX_TASKS})"))),
            }
        };
        let no_task = |step: Step| {
            if rest.is_empty() {
                Ok(step)
            } else {
                Err(err(format!("`{kind}` takes no task number")))
            }
        };
        match kind {
            'p' => task().map(Step::Poll),
            's' => task().map(Step::SpuriousPoll),
            'w' => task().map(Step::NewWaker),
            'c' => task().map(Step::Cancel),
            'a' => task().map(Step::Abandon),
            'm' => task().map(Step::Move),
            'i' => task().map(Step::PollInsideWake),
            'k' => task().map(Step::DriverInsideClone),
            'd' => no_task(Step::Driver),
            'r' => no_task(Step::ReentrantDriver),
            'u' => no_task(Step::DriverInsideDrop),
            'b' => no_task(Step::ShortIo),
            _ => Err(err(format!(
                "unknown step `{kind}`: expected one of p s w c a m i k (with a task number) or d r u b"
            ))),
        }
    }
}

/// A sequence of [`Step`]s.
///
/// ```
/// use pollcheck::{Schedule, Step};
/// let s: Schedule = "p0 w0 s0 d".parse().unwrap();
/// assert_eq!(s.steps(), &[Step::Poll(0), Step::NewWaker(0), Step::SpuriousPoll(0), Step::Driver]);
/// assert_eq!(s.to_string(), "p0 w0 s0 d");
///
/// let err = "p0 x1".parse::<Schedule>().unwrap_err();
/// assert_eq!(err.token(), "x1");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Schedule {
    steps: Vec<Step>,
}

impl Schedule {
    /// A schedule of these steps.
    pub fn new(steps: Vec<Step>) -> Self {
        Schedule { steps }
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// How many steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the schedule has no steps (the honest run alone).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl From<Vec<Step>> for Schedule {
    fn from(steps: Vec<Step>) -> Self {
        Schedule { steps }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{step}")?;
        }
        Ok(())
    }
}

impl FromStr for Schedule {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        s.split_whitespace()
            .enumerate()
            .map(|(index, token)| token.parse::<Step>().map_err(|e| ParseError { index, ..e }))
            .collect::<Result<Vec<_>, _>>()
            .map(Schedule::new)
    }
}

/// A schedule string that does not parse. It names the offending token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    token: String,
    index: usize,
    reason: String,
}

impl ParseError {
    /// The token that did not parse.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Its position among the whitespace-separated tokens, from 0.
    pub fn index(&self) -> usize {
        self.index
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad schedule token `{}` (token {}): {}", self.token, self.index + 1, self.reason)
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u_parses_displays_and_encodes() {
        let s: Schedule = "p0 w0 u s0".parse().unwrap();
        assert_eq!(s.steps(), &[Step::Poll(0), Step::NewWaker(0), Step::DriverInsideDrop, Step::SpuriousPoll(0)]);
        assert_eq!(s.to_string(), "p0 w0 u s0");
        assert_eq!(Step::DriverInsideDrop.task(), None);
        assert_eq!(Step::from_code(Step::DriverInsideDrop.code()), Some(Step::DriverInsideDrop));
        assert_eq!(Step::from_code(Step::ReentrantDriver.code()), Some(Step::ReentrantDriver));
    }

    #[test]
    fn u_with_a_task_number_names_the_token() {
        let e = "p0 u0 d".parse::<Schedule>().unwrap_err();
        assert_eq!(e.token(), "u0");
        assert_eq!(e.index(), 1);
        assert_eq!(e.to_string(), "bad schedule token `u0` (token 2): `u` takes no task number");
        let e = "x".parse::<Step>().unwrap_err();
        assert!(e.to_string().ends_with("expected one of p s w c a m i k (with a task number) or d r u b"), "{e}");
    }

    #[test]
    fn k_parses_displays_and_encodes() {
        let s: Schedule = "p0 k1 d".parse().unwrap();
        assert_eq!(s.steps()[1], Step::DriverInsideClone(1));
        assert_eq!(s.to_string(), "p0 k1 d");
        assert_eq!(Step::from_code(Step::DriverInsideClone(3).code()), Some(Step::DriverInsideClone(3)));
        assert!("k".parse::<Step>().unwrap_err().to_string().contains("needs a task number"));
    }

    #[test]
    fn b_parses_displays_and_encodes() {
        let s: Schedule = "p0 b p0 d".parse().unwrap();
        assert_eq!(s.steps(), &[Step::Poll(0), Step::ShortIo, Step::Poll(0), Step::Driver]);
        assert_eq!(s.to_string(), "p0 b p0 d");
        assert_eq!(Step::ShortIo.task(), None);
        assert_eq!(Step::from_code(Step::ShortIo.code()), Some(Step::ShortIo));
        let e = "b1".parse::<Step>().unwrap_err();
        assert_eq!(e.to_string(), "bad schedule token `b1` (token 1): `b` takes no task number");
    }
}
