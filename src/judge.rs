//! One verdict for one schedule: run it, and when it polled spuriously and passed,
//! compare its outputs with its honest twin's (the same schedule without the
//! spurious polls).

use crate::detect::spurious_poll;
use crate::engine::{self, Chooser, Outcome, Replay, RunOptions};
use crate::panic_capture;
use crate::scenario::Scenario;
use crate::schedule::Step;
use crate::sync::Arc;
use crate::violation::{Violation, ViolationKind};
use crate::watchdog::Heartbeat;

/// A user's scenario factory.
pub(crate) type Factory<'f> = &'f dyn Fn() -> Scenario;

/// What judging needs besides the schedule.
pub(crate) struct Judge<'f> {
    pub(crate) factory: Factory<'f>,
    pub(crate) spin_bound: u32,
    pub(crate) heartbeat: Option<Arc<Heartbeat>>,
}

/// A violation and the schedule that shows it (every action up to its detection).
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub(crate) violation: Violation,
    pub(crate) schedule: Vec<Step>,
}

impl Judge<'_> {
    fn scenario(&self) -> Result<Scenario, Found> {
        panic_capture::catch(self.factory).map_err(|p| Found {
            violation: Violation::new(ViolationKind::Panic, None, format!("the scenario factory panicked: {p}")),
            schedule: Vec::new(),
        })
    }

    /// Runs one schedule; `capture` formats outputs so spurious schedules can be
    /// compared with their twins.
    pub(crate) fn run(&self, chooser: &mut dyn Chooser, capture: bool, record: bool) -> Result<Outcome, Found> {
        let opts = RunOptions { record, capture_outputs: capture, spin_bound: self.spin_bound };
        Ok(engine::execute(self.scenario()?, chooser, &opts, self.heartbeat.as_ref()))
    }

    /// The verdict on the schedule `chooser` picks.
    pub(crate) fn judge(&self, chooser: &mut dyn Chooser, capture: bool) -> Option<Found> {
        let outcome = match self.run(chooser, capture, false) {
            Ok(o) => o,
            Err(found) => return Some(found),
        };
        if let Some((violation, at)) = outcome.violation {
            let mut schedule = outcome.trace;
            schedule.truncate(at);
            return Some(Found { violation, schedule });
        }
        if !outcome.compare_outputs {
            return None;
        }
        let outcome = if capture { outcome } else { self.run(&mut Replay::new(&outcome.trace), true, false).ok()? };
        let twin: Vec<Step> = outcome.trace.iter().copied().filter(|s| !matches!(s, Step::SpuriousPoll(_))).collect();
        let honest = match self.run(&mut Replay::new(&twin), true, false) {
            Ok(o) => o,
            Err(found) => return Some(found),
        };
        if honest.violation.is_some() {
            // The twin fails on its own; the systematic phase reports it by itself.
            return None;
        }
        let (task, detail) = spurious_poll::different_output(&honest.outputs, &outcome.outputs)?;
        Some(Found {
            violation: Violation::new(ViolationKind::SpuriousPoll, Some((task, self.type_name(task))), detail),
            schedule: outcome.trace,
        })
    }

    /// Judges a fixed list of steps.
    pub(crate) fn judge_steps(&self, steps: &[Step]) -> Option<Found> {
        let capture = steps.iter().any(|s| matches!(s, Step::SpuriousPoll(_)));
        self.judge(&mut Replay::new(steps), capture)
    }

    fn type_name(&self, task: usize) -> &'static str {
        self.scenario().ok().and_then(|s| s.tasks.get(task).map(|t| t.type_name)).unwrap_or("?")
    }
}
