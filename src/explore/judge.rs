//! One verdict for one schedule: run it, and when it polled spuriously and passed,
//! compare its outputs with its honest twin's (the same schedule without the
//! spurious polls).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::rc::Rc;

use crate::detect::spurious_poll;
use crate::detect::violation::{Violation, ViolationKind};
use crate::engine::panic_capture;
use crate::engine::{self, Chooser, Outcome, Replay, RunOptions};
use crate::liveness::{Activity, Phase, Watched};
use crate::spec::scenario::Scenario;
use crate::spec::schedule::Step;

/// A user's scenario factory.
pub(crate) type Factory<'f> = &'f dyn Fn() -> Scenario;

/// What judging needs besides the schedule.
pub(crate) struct Judge<'f> {
    pub(crate) factory: Factory<'f>,
    pub(crate) spin_bound: u32,
    pub(crate) watched: Option<Watched>,
    /// Outputs of honest twins already run (`None`: the twin failed on its own).
    /// Many spurious schedules share a twin; running it once saves most reruns.
    twins: RefCell<TwinCache>,
    /// Tasks whose output's `Debug` text was seen to differ between two runs of one
    /// schedule (a `HashMap`'s order, an `Instant`): never compared again this check.
    incomparable: RefCell<Vec<usize>>,
    /// Runs of the scenario so far (each one scenario the factory built).
    runs: Cell<u64>,
}

/// A twin's outputs (`None`: it failed on its own), shared rather than cloned.
type TwinOutputs = Option<Rc<[Option<String>]>>;

/// The hash of a twin's schedule -> the twins with that hash and their outputs. Keyed
/// by the hash so that a lookup hashes and compares the schedule's honest steps in
/// place: only a twin run for the first time is collected into a `Vec`.
type TwinCache = HashMap<u64, Vec<(Vec<Step>, TwinOutputs)>, BuildHasherDefault<StepHasher>>;

/// The hash of a twin's steps, as the cache keys it.
fn twin_hash(twin: impl Iterator<Item = Step>) -> u64 {
    let mut h = StepHasher::default();
    for step in twin {
        step.hash(&mut h);
    }
    h.finish()
}

/// A fast hasher for short step lists (std's SipHash guards against adversarial
/// keys, which schedules are not).
#[derive(Default)]
struct StepHasher(u64);

impl Hasher for StepHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// Reruns of each side before a differing output counts: a `HashMap` of two entries
/// shows the same order on all of them with odds of 2^-16, and a task found
/// unstable once is never compared again.
const STABLE_RUNS: usize = 8;

/// The honest twin of `steps`: the same actions without the spurious polls.
fn twin_steps(steps: &[Step]) -> Vec<Step> {
    steps.iter().copied().filter(|s| !matches!(s, Step::SpuriousPoll(_))).collect()
}

/// Most twins remembered; past it the cache starts over, so memory stays bounded.
const TWIN_CACHE: usize = 1 << 16;

/// A violation and the schedule that shows it (every action up to its detection).
#[derive(Clone, Debug)]
pub(crate) struct Found {
    pub(crate) violation: Violation,
    pub(crate) schedule: Vec<Step>,
}

impl<'f> Judge<'f> {
    pub(crate) fn new(factory: Factory<'f>, spin_bound: u32, watched: Option<&Watched>) -> Self {
        Judge {
            factory,
            spin_bound,
            watched: watched.cloned(),
            twins: RefCell::default(),
            incomparable: RefCell::default(),
            runs: Cell::new(0),
        }
    }

    /// How many runs this judge made: schedules judged, reruns to capture outputs,
    /// honest twins, reruns that check an output is stable (see
    /// [`Summary::runs`](crate::Summary::runs)).
    pub(crate) fn runs(&self) -> u64 {
        self.runs.get()
    }

    /// Tells the watchdog where the exploration is (for a hang's "found by").
    pub(crate) fn set_phase(&self, phase: Phase) {
        if let Some(w) = &self.watched {
            w.heartbeat.set_phase(phase.code());
        }
    }

    /// The outputs of the schedule `twin`, run or remembered; `None` if it fails.
    fn twin_outputs<I>(&self, twin: I) -> Result<TwinOutputs, Found>
    where
        I: Iterator<Item = Step> + Clone,
    {
        let hash = twin_hash(twin.clone());
        if let Some(known) = self.twins.borrow().get(&hash).and_then(|same| {
            same.iter().find(|(steps, _)| steps.iter().copied().eq(twin.clone())).map(|(_, outputs)| outputs.clone())
        }) {
            return Ok(known);
        }
        let twin: Vec<Step> = twin.collect();
        let honest = self.run(&mut Replay::new(&twin), true, false)?;
        let outputs: TwinOutputs = honest.violation.is_none().then(|| honest.outputs.into());
        let mut twins = self.twins.borrow_mut();
        if twins.len() >= TWIN_CACHE {
            twins.clear();
        }
        twins.entry(hash).or_default().push((twin, outputs.clone()));
        Ok(outputs)
    }

    fn scenario(&self) -> Result<Scenario, Found> {
        let heartbeat = self.watched.as_ref().map(|w| &w.heartbeat);
        if let Some(hb) = heartbeat {
            hb.reset();
            hb.start(Activity::Factory);
        }
        let scenario = panic_capture::catch(self.factory);
        if let Some(hb) = heartbeat {
            hb.end();
        }
        let scenario = scenario.map_err(|p| Found {
            violation: Violation::new(ViolationKind::Panic, None, format!("the scenario factory panicked: {p}")),
            schedule: Vec::new(),
        })?;
        if let Some(hb) = heartbeat {
            hb.publish_names(scenario.steps.iter().map(|s| s.location), scenario.tasks.iter().map(|t| t.type_name));
        }
        Ok(scenario)
    }

    /// Runs one schedule; `capture` formats outputs so spurious schedules can be
    /// compared with their twins.
    pub(crate) fn run(&self, chooser: &mut dyn Chooser, capture: bool, record: bool) -> Result<Outcome, Found> {
        if let Some(w) = &self.watched {
            w.stop_if_abandoned();
        }
        self.runs.set(self.runs.get() + 1);
        let opts = RunOptions { record, capture_outputs: capture, spin_bound: self.spin_bound };
        Ok(engine::execute(self.scenario()?, chooser, &opts, self.watched.as_ref()))
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
        // With a poll inside a wake or a step inside a drop armed, the spurious polls
        // move where it fires, so the twin is not the same history: compare nothing.
        if !outcome.compare_outputs
            || outcome
                .trace
                .iter()
                .any(|s| matches!(s, Step::PollInsideWake(_) | Step::DriverInsideDrop | Step::DriverInsideClone(_)))
        {
            engine::recycle_trace(outcome.trace);
            return None;
        }
        let outcome = if capture {
            outcome
        } else {
            let again = self.run(&mut Replay::new(&outcome.trace), true, false).ok();
            engine::recycle_trace(outcome.trace);
            again?
        };
        let twin = outcome.trace.iter().copied().filter(|s| !matches!(s, Step::SpuriousPoll(_)));
        // A twin that fails on its own is reported as itself, not as this schedule.
        let honest = match self.twin_outputs(twin) {
            Ok(outputs) => outputs?,
            Err(found) => return Some(found),
        };
        let comparable = |t: usize| !self.incomparable.borrow().contains(&t);
        let Some((task, detail)) = spurious_poll::different_output(&honest, &outcome.outputs, comparable) else {
            engine::recycle_trace(outcome.trace);
            return None;
        };
        if !self.stable(task, &twin_steps(&outcome.trace), &honest, &outcome.trace, &outcome.outputs) {
            self.incomparable.borrow_mut().push(task);
            engine::recycle_trace(outcome.trace);
            return None;
        }
        Some(Found {
            violation: Violation::new(ViolationKind::SpuriousPoll, Some((task, self.type_name(task))), detail),
            schedule: outcome.trace,
        })
    }

    /// Whether task `t`'s output is the same on every run of one schedule, honest twin
    /// (`twin`, which gave `honest`) and spurious schedule (`spurious`, which gave `got`)
    /// alike: only then does a difference between the two prove anything. Asked only
    /// when they differ, so the reruns cost nothing on schedules that agree.
    fn stable(
        &self,
        t: usize,
        twin: &[Step],
        honest: &[Option<String>],
        spurious: &[Step],
        got: &[Option<String>],
    ) -> bool {
        [(twin, honest), (spurious, got)].into_iter().all(|(steps, first)| {
            (0..STABLE_RUNS).all(|_| {
                self.run(&mut Replay::new(steps), true, false).is_ok_and(|again| {
                    let same = again.violation.is_none() && again.outputs.get(t) == first.get(t);
                    engine::recycle_trace(again.trace);
                    same
                })
            })
        })
    }

    /// The timeline of `steps` (a hang's actions before the stuck one), from a
    /// journaled replay that stops there; `None` if the factory panics.
    pub(crate) fn journal_of(&self, steps: &[(Step, crate::report::journal::ActionOrigin)]) -> Option<Vec<String>> {
        let scenario = self.scenario().ok()?;
        Some(crate::report::timeline(&engine::journal_of(scenario, steps)))
    }

    /// Judges a fixed list of steps.
    pub(crate) fn judge_steps(&self, steps: &[Step]) -> Option<Found> {
        let capture = steps.iter().any(|s| matches!(s, Step::SpuriousPoll(_)));
        self.judge(&mut Replay::new(steps), capture)
    }

    /// Judges a user's replayed schedule strictly: a step that is not enabled where it
    /// comes is an error naming the step and why, whatever the run found after it.
    pub(crate) fn judge_replay(&self, steps: &[Step]) -> Result<Option<Found>, String> {
        let capture = steps.iter().any(|s| matches!(s, Step::SpuriousPoll(_)));
        let mut strict = engine::StrictReplay::new(steps);
        let found = self.judge(&mut strict, capture);
        match strict.refused {
            Some((at, step, why)) => Err(format!("step {} (`{step}`) cannot run there: {why}", at + 1)),
            None => Ok(found),
        }
    }

    fn type_name(&self, task: usize) -> &'static str {
        self.scenario().ok().and_then(|s| s.tasks.get(task).map(|t| t.type_name)).unwrap_or("?")
    }
}
