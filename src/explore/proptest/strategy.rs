//! The strategy of schedules and its value tree: how proptest generates a schedule
//! and shrinks it (deleting steps first, then simplifying them).

use crate::explore::random::Rng;
use crate::explore::single::{clip, step_of, within};
use crate::spec::config::{Bounds, Config};
use crate::spec::schedule::{Schedule, Step, MAX_TASKS};
use ::proptest::strategy::{NewTree, Strategy, ValueTree};
use ::proptest::test_runner::TestRunner;

/// A strategy of schedules for a scenario with `tasks` tasks: every step names a
/// task below `tasks`, a schedule is at most 24 steps long (see
/// [`Schedules::max_len`]), and it stays within the [`Bounds`] of the `POLLCHECK_*`
/// variables (see [`Schedules::bounds`]). Any sequence is valid: steps that are not
/// enabled when their turn comes are skipped.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
///
/// let strategy = pollcheck::proptest::schedules(2).max_len(8);
/// let schedule = strategy.new_tree(&mut TestRunner::deterministic()).unwrap().current();
/// assert!(schedule.len() <= 8);
/// assert!(schedule.steps().iter().all(|s| s.task().is_none_or(|t| t < 2)));
/// ```
pub fn schedules(tasks: usize) -> Schedules {
    let bounds = Config::from_env().map(|c| c.bounds).unwrap_or_default();
    Schedules { tasks: tasks.min(MAX_TASKS), max_len: 24, bounds, lateral: false }
}

/// The [`Strategy`] of [`schedules`].
#[derive(Clone, Debug)]
#[must_use = "a strategy does nothing until a test runner draws from it"]
pub struct Schedules {
    pub(super) tasks: usize,
    pub(super) max_len: usize,
    pub(super) bounds: Bounds,
    /// Whether shrinking also tries inserting and replacing steps (see
    /// [`ScheduleTree`]): only for a property that accepts a candidate just when its
    /// report gets shorter, or those moves could go on forever.
    pub(super) lateral: bool,
}

impl Schedules {
    /// Schedules of at most `max_len` steps (lengths are drawn uniformly from
    /// `0..=max_len`). Every schedule is completed by an honest drain, so this bounds
    /// only the adversarial prefix.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Schedules within these bounds (counting each kind of step from the start,
    /// as the random phase does; `depth` is not used). With the defaults, polls inside
    /// wakes (`i`) are off and up to two one-byte I/O actions (`b`) are allowed, as in
    /// [`Checker`](crate::Checker).
    ///
    /// ```
    /// use pollcheck::Bounds;
    /// use proptest::strategy::{Strategy, ValueTree};
    /// use proptest::test_runner::TestRunner;
    ///
    /// let only_polls_and_spurious = Bounds {
    ///     spurious: 64, new_wakers: 0, cancels: 0, abandons: 0, moves: 0, reentrant: 0, polls_inside_wake: 0,
    ///     reentrant_drops: 0, short_io: 0, ..Bounds::default()
    /// };
    /// let strategy = pollcheck::proptest::schedules(1).bounds(only_polls_and_spurious);
    /// let mut runner = TestRunner::deterministic();
    /// for _ in 0..20 {
    ///     let schedule = strategy.new_tree(&mut runner).unwrap().current();
    ///     assert!(schedule.to_string().split_whitespace().all(|t| ["p0", "s0", "d"].contains(&t)));
    /// }
    /// ```
    pub fn bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    /// A default length for a scenario: room for a few actions per task and driver
    /// step, between 8 and 64.
    pub(super) fn max_len_for(tasks: usize, steps: usize) -> usize {
        (4 * (tasks + steps) + 4).clamp(8, 64)
    }
}

impl Strategy for Schedules {
    type Tree = ScheduleTree;
    type Value = Schedule;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        // Draw one seed through proptest (so the runner's RNG and seed decide
        // everything), then walk it with pollcheck's own tiny generator.
        let seed = ::proptest::num::u64::ANY.new_tree(runner)?.current();
        let mut rng = Rng::new(seed);
        let len = rng.below(self.max_len + 1);
        let steps = (0..len)
            .map(|_| {
                let kind = rng.below(16) as u8;
                if self.tasks == 0 {
                    return match kind % 4 {
                        0 => Step::Driver,
                        1 => Step::ReentrantDriver,
                        2 => Step::DriverInsideDrop,
                        _ => Step::ShortIo,
                    };
                }
                step_of(kind, rng.below(self.tasks))
            })
            .collect::<Vec<_>>();
        let mut alphabet = if self.lateral { alphabet(self.tasks) } else { Vec::new() };
        alphabet.retain(|&s| within(&self.bounds, &[s]));
        Ok(ScheduleTree::new(clip(&self.bounds, &steps), alphabet, self.bounds))
    }
}

/// The [`ValueTree`] of [`Schedules`]: a generated schedule and its shrinking (see
/// the [module docs](crate::proptest#shrinking)).
///
/// `simplify` (the current schedule failed) keeps it and moves to the next candidate;
/// `complicate` (it passed) goes back to the last failing schedule and on to the next
/// candidate. Once no candidate is left, the current schedule is the last failing one
/// and `simplify` returns false.
#[derive(Clone, Debug)]
pub struct ScheduleTree {
    /// The smallest schedule known to fail (the generated one until a shrink works).
    failing: Vec<Step>,
    /// The schedule under test: `failing`, or a candidate derived from it.
    current: Vec<Step>,
    /// Whether `current` is a candidate (not yet known to fail).
    trying: bool,
    cursor: Cursor,
    /// Whether a deletion or simplification worked in this round (then another runs).
    progressed: bool,
    /// Steps to insert and substitute once deleting and simplifying are stuck; empty
    /// unless the strategy is `lateral`.
    alphabet: Vec<Step>,
    /// What inserting and replacing must stay within.
    bounds: Bounds,
}

/// The next candidate to derive from `failing`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cursor {
    /// Delete `chunk` steps from `start`.
    Delete {
        chunk: usize,
        start: usize,
    },
    /// Replace the step at `index` by its `variant`-th simpler step.
    Simplify {
        index: usize,
        variant: usize,
    },
    /// Insert `alphabet[x]` before step `at`.
    Insert {
        x: usize,
        at: usize,
    },
    /// Replace the step at `index` by `alphabet[x]`.
    Replace {
        x: usize,
        index: usize,
    },
    Done,
}

impl ScheduleTree {
    fn new(steps: Vec<Step>, alphabet: Vec<Step>, bounds: Bounds) -> Self {
        let cursor = first_round(&steps);
        ScheduleTree {
            current: steps.clone(),
            failing: steps,
            trying: false,
            cursor,
            progressed: false,
            alphabet,
            bounds,
        }
    }

    /// The candidate at the cursor (moving the cursor past exhausted positions), or
    /// `None` when the schedule is as small as this shrinker gets it.
    fn candidate(&mut self) -> Option<Vec<Step>> {
        let len = self.failing.len();
        let mut c = self.failing.clone();
        loop {
            match self.cursor {
                Cursor::Delete { chunk: 0, .. } => self.cursor = Cursor::Simplify { index: 0, variant: 0 },
                Cursor::Delete { chunk, start } if start >= len => {
                    self.cursor = Cursor::Delete { chunk: chunk / 2, start: 0 };
                }
                Cursor::Delete { chunk, start } => {
                    c.drain(start..(start + chunk).min(len));
                    return Some(c);
                }
                Cursor::Simplify { index, .. } if index >= len => {
                    self.cursor = if std::mem::take(&mut self.progressed) {
                        first_round(&self.failing)
                    } else if self.alphabet.is_empty() {
                        Cursor::Done
                    } else {
                        Cursor::Insert { x: 0, at: 0 }
                    };
                }
                Cursor::Simplify { index, variant } => match simpler(c[index]).nth(variant) {
                    Some(step) => {
                        c[index] = step;
                        return Some(c);
                    }
                    None => self.cursor = Cursor::Simplify { index: index + 1, variant: 0 },
                },
                Cursor::Insert { x, .. } if x >= self.alphabet.len() => {
                    self.cursor = Cursor::Replace { x: 0, index: 0 }
                }
                Cursor::Insert { x, at } if at > len => self.cursor = Cursor::Insert { x: x + 1, at: 0 },
                Cursor::Insert { x, at } => {
                    c.insert(at, self.alphabet[x]);
                    if within(&self.bounds, &c) {
                        return Some(c);
                    }
                    c.remove(at);
                    self.cursor = Cursor::Insert { x, at: at + 1 };
                }
                Cursor::Replace { x, .. } if x >= self.alphabet.len() => self.cursor = Cursor::Done,
                Cursor::Replace { x, index } if index >= len => self.cursor = Cursor::Replace { x: x + 1, index: 0 },
                Cursor::Replace { x, index } => {
                    let (step, old) = (self.alphabet[x], c[index]);
                    // Skipped: the same step, one simplifying already tried, or one the
                    // bounds do not allow.
                    if old != step && !simpler(old).any(|s| s == step) {
                        c[index] = step;
                        if within(&self.bounds, &c) {
                            return Some(c);
                        }
                        c[index] = old;
                    }
                    self.cursor = Cursor::Replace { x, index: index + 1 };
                }
                Cursor::Done => return None,
            }
        }
    }

    /// Moves to the next candidate; leaves `current` at `failing` if there is none.
    fn try_next(&mut self) -> bool {
        match self.candidate() {
            Some(c) => {
                self.current = c;
                self.trying = true;
            }
            None => {
                self.current.clone_from(&self.failing);
                self.trying = false;
            }
        }
        self.trying
    }
}

/// Where a round of shrinking starts: deleting half of the schedule.
fn first_round(steps: &[Step]) -> Cursor {
    Cursor::Delete { chunk: (steps.len() / 2).max(1), start: 0 }
}

/// Steps simpler than `step`, to try in its place: the plain form of an adversarial
/// step first, then the same step on each lower task. Each is smaller in a
/// well-founded order ([`rank`]), so simplifying terminates.
fn simpler(step: Step) -> impl Iterator<Item = Step> {
    let plain = match step {
        Step::SpuriousPoll(t) | Step::PollInsideWake(t) => Some(Step::Poll(t)),
        Step::ReentrantDriver | Step::DriverInsideDrop | Step::DriverInsideClone(_) => Some(Step::Driver),
        _ => None,
    };
    let lower_tasks = step.task().unwrap_or(0);
    plain.into_iter().chain((0..lower_tasks).map(move |t| with_task(step, t)))
}

fn with_task(step: Step, t: usize) -> Step {
    match step {
        Step::Poll(_) => Step::Poll(t),
        Step::SpuriousPoll(_) => Step::SpuriousPoll(t),
        Step::NewWaker(_) => Step::NewWaker(t),
        Step::Cancel(_) => Step::Cancel(t),
        Step::Abandon(_) => Step::Abandon(t),
        Step::Move(_) => Step::Move(t),
        Step::PollInsideWake(_) => Step::PollInsideWake(t),
        Step::DriverInsideClone(_) => Step::DriverInsideClone(t),
        Step::Driver | Step::ReentrantDriver | Step::DriverInsideDrop | Step::ShortIo => step,
    }
}

/// How simple a step is: plain polls and driver steps first, then the adversarial
/// steps; lower tasks first.
fn rank(step: Step) -> (u8, usize) {
    let kind = match step {
        Step::Poll(_) => 0,
        Step::Driver => 1,
        Step::SpuriousPoll(_) => 2,
        Step::NewWaker(_) => 3,
        Step::ReentrantDriver => 4,
        Step::PollInsideWake(_) => 5,
        Step::Abandon(_) => 6,
        Step::Cancel(_) => 7,
        Step::Move(_) => 8,
        Step::DriverInsideDrop => 9,
        Step::ShortIo => 10,
        Step::DriverInsideClone(_) => 11,
    };
    (kind, step.task().unwrap_or(0))
}

/// Whether schedule `a` is simpler than `b`: shorter, or as long with simpler steps
/// (compared in order).
pub(super) fn simpler_schedule(a: &[Step], b: &[Step]) -> bool {
    a.len() < b.len() || (a.len() == b.len() && a.iter().map(|&s| rank(s)).lt(b.iter().map(|&s| rank(s))))
}

/// Every step of a scenario with `tasks` tasks, simplest first.
fn alphabet(tasks: usize) -> Vec<Step> {
    let mut steps = vec![Step::Driver, Step::ReentrantDriver, Step::DriverInsideDrop, Step::ShortIo];
    for t in 0..tasks {
        steps.extend([
            Step::Poll(t),
            Step::SpuriousPoll(t),
            Step::NewWaker(t),
            Step::PollInsideWake(t),
            Step::Abandon(t),
            Step::Cancel(t),
            Step::Move(t),
            Step::DriverInsideClone(t),
        ]);
    }
    steps.sort_by_key(|&s| rank(s));
    steps
}

impl ValueTree for ScheduleTree {
    type Value = Schedule;

    fn current(&self) -> Schedule {
        Schedule::new(self.current.clone())
    }

    fn simplify(&mut self) -> bool {
        if self.trying {
            self.failing.clone_from(&self.current);
            match self.cursor {
                Cursor::Delete { .. } => self.progressed = true,
                // The new step may simplify further.
                Cursor::Simplify { index, .. } => {
                    self.progressed = true;
                    self.cursor = Cursor::Simplify { index, variant: 0 };
                }
                // The report got shorter: start over with the cheap moves.
                Cursor::Insert { .. } | Cursor::Replace { .. } => {
                    self.progressed = false;
                    self.cursor = first_round(&self.failing);
                }
                Cursor::Done => {}
            }
        }
        self.try_next()
    }

    fn complicate(&mut self) -> bool {
        if !self.trying {
            return false;
        }
        self.cursor = match self.cursor {
            Cursor::Delete { chunk, start } => Cursor::Delete { chunk, start: start + chunk },
            Cursor::Simplify { index, variant } => Cursor::Simplify { index, variant: variant + 1 },
            Cursor::Insert { x, at } => Cursor::Insert { x, at: at + 1 },
            Cursor::Replace { x, index } => Cursor::Replace { x, index: index + 1 },
            Cursor::Done => Cursor::Done,
        };
        self.try_next();
        // Even with no candidate left (`current` is the last failing schedule again),
        // report a change, so tuple strategies go on to shrink their other members.
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(s: &str) -> ScheduleTree {
        ScheduleTree::new(s.parse::<Schedule>().unwrap().steps().to_vec(), Vec::new(), Bounds::default())
    }

    /// Shrinks `start` against "fails iff `fails`", the way proptest's runner drives a
    /// value tree; returns the result and the number of runs.
    fn shrink(start: &str, fails: impl Fn(&Schedule) -> bool) -> (String, usize) {
        let mut t = tree(start);
        assert!(fails(&t.current()));
        let mut runs = 0;
        if t.simplify() {
            loop {
                runs += 1;
                if fails(&t.current()) {
                    if !t.simplify() {
                        break;
                    }
                } else if !t.complicate() {
                    break;
                }
            }
        }
        (t.current().to_string(), runs)
    }

    fn has_subsequence(s: &Schedule, want: &str) -> bool {
        let want: Schedule = want.parse().unwrap();
        let mut it = s.steps().iter();
        want.steps().iter().all(|w| it.any(|s| s == w))
    }

    #[test]
    fn deletes_steps_down_to_the_needed_ones() {
        let (min, runs) = shrink("d p1 p0 w0 s1 p0 d c1 s0 d r p0", |s| has_subsequence(s, "p0 w0 d"));
        assert_eq!(min, "p0 w0 d");
        assert!(runs < 60, "{runs} runs");
    }

    #[test]
    fn simplifies_steps_after_deleting() {
        let (min, _) = shrink("w1 s2 r i1", |s| s.len() >= 2 && s.steps().iter().any(|s| s.task().is_some()));
        assert_eq!(min, "d p0");
        let (min, _) = shrink("s3", |s| s.steps().iter().any(|s| matches!(s, Step::Poll(_) | Step::SpuriousPoll(_))));
        assert_eq!(min, "p0");
    }

    #[test]
    fn complicate_ends_on_the_last_failing_schedule() {
        let mut t = tree("p0 d");
        assert!(t.simplify());
        assert_eq!(t.current().to_string(), "d");
        // Everything passes from here on: the tree must come back to "p0 d".
        while t.complicate() {}
        assert_eq!(t.current().to_string(), "p0 d");
        assert!(!t.simplify());
    }

    #[test]
    fn schedules_respect_the_task_count() {
        let mut runner = TestRunner::deterministic();
        for tasks in [0, 1, 3] {
            for _ in 0..50 {
                let s = schedules(tasks).max_len(10).new_tree(&mut runner).unwrap().current();
                assert!(s.len() <= 10);
                assert!(s.steps().iter().all(|step| step.task().is_none_or(|t| t < tasks)), "{s}");
            }
        }
    }
}
