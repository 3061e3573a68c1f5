//! Strict replay: a regression test runs what its schedule names, or says why not.

use super::{Chooser, Run, State};
use crate::engine::reentry;
use crate::spec::schedule::Step;

/// Plays a fixed list of steps and stops at the first one that is not enabled where
/// it comes, noting which and why (a replayed schedule that silently skipped a step
/// would test something else than it names).
pub(crate) struct StrictReplay<'a> {
    steps: &'a [Step],
    at: usize,
    /// The first step that could not run: its position and the reason.
    pub(crate) refused: Option<(usize, Step, String)>,
}

impl<'a> StrictReplay<'a> {
    pub(crate) fn new(steps: &'a [Step]) -> Self {
        StrictReplay { steps, at: 0, refused: None }
    }
}

impl Chooser for StrictReplay<'_> {
    fn next(&mut self, _: &Run) -> Option<Step> {
        if self.refused.is_some() {
            return None;
        }
        let step = *self.steps.get(self.at)?;
        self.at += 1;
        Some(step)
    }

    // The run checks that a step is enabled before it acts (once per step, not here
    // and there again).
    fn skipped(&mut self, step: Step, run: &Run) {
        self.refused = Some((self.at - 1, step, run.why_not(step)));
    }
}

impl Run {
    /// Why `step` is not enabled now.
    pub(super) fn why_not(&self, step: Step) -> String {
        let no_steps = || format!("all {} driver steps have run", self.steps.borrow().len());
        let Some(t) = step.task() else {
            return match step {
                Step::Driver => no_steps(),
                Step::ShortIo if !crate::engine::short_io::has_probes() => "no I/O probe was made in this run".into(),
                Step::ShortIo => "a short read or write is armed already".into(),
                _ if reentry::is_armed() => "a re-entrant action is armed already".into(),
                _ => no_steps(),
            };
        };
        let tasks = self.tasks();
        let Some(cell) = tasks.get(t) else {
            return format!("the scenario has {} tasks (0..{})", self.tasks().len(), self.tasks().len());
        };
        let Ok(task) = cell.try_borrow() else {
            return format!("task {t} is being polled");
        };
        let gone = match task.state {
            State::Ready => Some("finished"),
            State::Cancelled => Some("was cancelled"),
            State::Panicked => Some("panicked"),
            _ if task.abandoned => Some("was abandoned"),
            _ => None,
        };
        if let Some(gone) = gone {
            return format!("task {t} {gone}");
        }
        match step {
            Step::Poll(_) => format!("task {t} was not woken since its last poll (`s{t}` polls it anyway)"),
            Step::SpuriousPoll(_) => format!("task {t} was woken (`p{t}` polls it)"),
            Step::PollInsideWake(_) | Step::DriverInsideClone(_) if reentry::is_armed() => {
                "a re-entrant action is armed already".into()
            }
            Step::DriverInsideClone(_) => no_steps(),
            Step::PollInsideWake(_) => format!("task {t} was woken already"),
            Step::NewWaker(_) if task.polls > 0 => format!("task {t} has a new waker already"),
            Step::Move(_) if task.polls > 0 => {
                format!("task {t} is not `Unpin` (only tasks added with `Scenario::unpin_task` move)")
            }
            _ => format!("task {t} was never polled"),
        }
    }
}
