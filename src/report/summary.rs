//! What a passing check explored, and how far a budget let it get.

use std::time::Duration;

/// What a passing run explored.
///
/// Under a [budget](crate::Checker::budget) it also says how far the check got:
///
/// ```
/// use pollcheck::{Checker, Scenario};
/// use std::time::Duration;
///
/// let summary = Checker::new(|| Scenario::new().task(std::future::ready(1)))
///     .budget(Duration::from_secs(60))
///     .run();
/// assert!(!summary.stopped_by_budget(), "a tiny scenario takes a fraction of it");
/// assert_eq!(summary.depth_completed(), 7); // the default depth, all of it
/// assert_eq!(summary.next_depth_share(), 0.0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Schedules of the systematic phase.
    pub systematic: u64,
    /// Schedules of the random phase (random cases run).
    pub random: u64,
    /// Every run of the scenario the check made, on every thread: each schedule
    /// explored, plus the honest twins its spurious schedules were compared with (a
    /// twin shared by several schedules runs once), the reruns of spurious schedules
    /// to capture their outputs, and, in a [shard](crate::Checker::shard), the schedules of
    /// the first levels it runs without judging them. That is how many scenarios the
    /// factory built, so at least [`schedules`](Summary::schedules) outside a shard.
    pub runs: u64,
    /// How far the systematic phase got.
    pub(crate) reached: Reached,
    /// Whether the budget stopped the random phase.
    pub(crate) random_stopped: bool,
    /// The budget the check ran under.
    pub(crate) budget: Option<Duration>,
}

impl Summary {
    /// Nothing explored yet, under `budget`.
    pub(crate) fn start(budget: Option<Duration>) -> Self {
        Summary { systematic: 0, random: 0, runs: 0, reached: Reached::default(), random_stopped: false, budget }
    }

    /// Records how far the systematic phase got.
    pub(crate) fn reached(&mut self, reached: Reached) {
        self.reached = reached;
    }

    /// Records that the budget stopped the random phase.
    pub(crate) fn random_stopped(&mut self) {
        self.random_stopped = true;
    }

    /// All schedules explored.
    pub fn schedules(&self) -> u64 {
        self.systematic + self.random
    }

    /// Whether the [budget](crate::Checker::budget) cut the check short: the systematic
    /// phase before its last schedule, or the random phase before its last case.
    /// Always `false` without a budget.
    pub fn stopped_by_budget(&self) -> bool {
        self.reached.stopped || self.random_stopped
    }

    /// The systematic phase's completed depth: every schedule of at most this many
    /// scheduled steps was explored. The whole [`depth`](crate::Checker::depth) unless the
    /// [budget](crate::Checker::budget) stopped the phase, 0 for a
    /// [replay](crate::Checker::replay).
    pub fn depth_completed(&self) -> usize {
        self.reached.depth
    }

    /// The share, from 0 to 1, of the schedules one step longer than
    /// [`depth_completed`](Summary::depth_completed) that were explored before the
    /// [budget](crate::Checker::budget) stopped the systematic phase (in a
    /// [shard](crate::Checker::shard), of the shard's part of them); 0 when the phase
    /// finished.
    pub fn next_depth_share(&self) -> f64 {
        let (explored, total) = self.reached.next;
        if total == 0 {
            0.0
        } else {
            explored as f64 / total as f64
        }
    }

    /// The line [`Checker::run`](crate::Checker::run) prints to stderr when the budget cut the check short.
    pub(crate) fn budget_note(&self) -> Option<String> {
        if !self.stopped_by_budget() {
            return None;
        }
        let budget = self.budget.map_or(0, |b| b.as_millis());
        let Reached { depth, next: (explored, total), stopped } = self.reached;
        let (at, advice) = if stopped {
            // Rounded down: 100% only when the level is whole.
            let percent = (u128::from(explored) * 100).checked_div(u128::from(total)).unwrap_or(0);
            (format!("depth {depth} complete, {percent}% of depth {}", depth + 1), "lower the depth")
        } else {
            (format!("depth {depth} complete (the whole systematic phase)"), "lower the cases")
        };
        let random = self.random;
        Some(format!(
            "pollcheck: the {budget} ms budget stopped the check at {at}, {random} random case{}; raise it or {advice}",
            if random == 1 { "" } else { "s" }
        ))
    }
}

/// How far a systematic phase got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reached {
    /// Every schedule of at most this many steps was explored.
    pub(crate) depth: usize,
    /// Schedules of the next level explored, and how many it holds (the shard's
    /// share): 0 of 0 when the phase finished.
    pub(crate) next: (u64, u64),
    /// Whether the budget stopped the phase.
    pub(crate) stopped: bool,
}

impl Reached {
    /// The whole phase within `depth`.
    pub(crate) fn whole(depth: usize) -> Reached {
        Reached { depth, next: (0, 0), stopped: false }
    }

    /// Stopped by the budget in level `level` (at least 1) of `total` prefixes, after
    /// `explored` of them.
    pub(crate) fn cut(level: usize, explored: u64, total: u64) -> Reached {
        Reached { depth: level - 1, next: (explored, total), stopped: true }
    }
}
