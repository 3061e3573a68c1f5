//! The engine: runs one schedule against one fresh scenario, asks the detectors at
//! the right moments, and returns what happened.
//!
//! A schedule is a prefix chosen by an explorer; after it the engine completes the
//! run honestly (the *drain*: poll every woken task, then run one driver step, until
//! nothing is left), so every schedule ends at quiescence and every detector applies.
//!
//! With it, what a run needs: the instrumented wakers, the re-entrant actions, the
//! short-I/O switch, panic capture, and the hooks through which the instruments in
//! user code (checked futures, probes) reach the run.

mod abort;
mod act;
pub(crate) mod hooks;
mod idle;
pub(crate) mod panic_capture;
mod poll;
mod quiescence;
pub(crate) mod raised;
pub(crate) mod reentry;
pub(crate) mod short_io;
mod spare;
pub(crate) mod spawned;
mod strict;
mod teardown;
pub(crate) mod waker;

pub(crate) use spare::recycle_trace;
use spare::spare_trace;
pub(crate) use strict::StrictReplay;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::detect::violation::Violation;
use crate::detect::WakerHistory;
use crate::engine::panic_capture::CaughtPanic;
use crate::engine::waker::Slot;
use crate::liveness::{Activity, Heartbeat, Watched};
use crate::report::journal::{ActionOrigin, Event, Journal};
use crate::spec::scenario::Scenario;
use crate::spec::schedule::Step;
use crate::spec::task::{DriverStep, TaskFuture};
use crate::sync::Arc;

/// Chooses the schedule's steps one at a time, seeing the run so far.
pub(crate) trait Chooser {
    /// The next step, or `None` to hand over to the drain.
    fn next(&mut self, run: &Run) -> Option<Step>;

    /// `step`, the last one [`Chooser::next`] gave, was not enabled, so the run did
    /// not act on it (the run as it was when it refused).
    fn skipped(&mut self, _step: Step, _run: &Run) {}
}

/// Plays a fixed list of steps; steps that are not enabled are skipped.
pub(crate) struct Replay<'a> {
    pub(crate) steps: &'a [Step],
    pub(crate) at: usize,
}

impl<'a> Replay<'a> {
    pub(crate) fn new(steps: &'a [Step]) -> Self {
        Replay { steps, at: 0 }
    }
}

impl Chooser for Replay<'_> {
    fn next(&mut self, _: &Run) -> Option<Step> {
        let step = self.steps.get(self.at).copied();
        self.at += 1;
        step
    }
}

/// How to run.
#[derive(Clone, Debug)]
pub(crate) struct RunOptions {
    /// Keep a journal for the report.
    pub(crate) record: bool,
    /// Format task outputs (needed to compare with an honest twin).
    pub(crate) capture_outputs: bool,
    pub(crate) spin_bound: u32,
}

/// What one run produced.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The first violation, and how many trace entries had run when it was found.
    pub(crate) violation: Option<(Violation, usize)>,
    /// Every action that ran, schedule and drain alike (skipped steps left out):
    /// replaying it reproduces the run.
    pub(crate) trace: Vec<Step>,
    /// A spurious poll ran (and no driver step ran inside one): compare the outputs
    /// with the honest twin's.
    pub(crate) compare_outputs: bool,
    pub(crate) outputs: Vec<Option<String>>,
    pub(crate) journal: Vec<Event>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    NotStarted,
    Pending,
    Ready,
    Cancelled,
    Panicked,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PollKind {
    /// A scheduled poll, whose step said whether the task was woken.
    Scheduled {
        spurious: bool,
    },
    InsideWake,
    Probe,
}

struct Task {
    future: Option<TaskFuture>,
    type_name: &'static str,
    /// Whether the schedule may cancel or abandon it.
    fate: crate::spec::task::Fate,
    state: State,
    abandoned: bool,
    /// Declared with `Scenario::must_finish` or `all_must_finish`.
    must_finish: bool,
    slots: Vec<Slot>,
    seen: Vec<u32>,
    /// Slot of the most recent poll, and of the next one (they differ after `w`).
    latest: usize,
    next: usize,
    polls: u32,
    world_at_pending: u64,
    spin: u32,
    /// Trace length at the first poll of the current spin streak.
    spin_start: usize,
    output: Option<String>,
    /// Idle polls since the run's last progress (see `idle`).
    idle: idle::Idle,
}

impl Task {
    fn new(spec: crate::spec::task::TaskSpec, all_must_finish: bool, slot: Slot) -> Self {
        let (mut slots, mut seen) = spare::history();
        slots.push(slot);
        seen.push(0);
        Task {
            future: Some(spec.future),
            type_name: spec.type_name,
            fate: spec.fate,
            state: State::NotStarted,
            abandoned: false,
            must_finish: all_must_finish || spec.must_finish,
            slots,
            seen,
            latest: 0,
            next: 0,
            polls: 0,
            world_at_pending: 0,
            spin: 0,
            spin_start: 0,
            output: None,
            idle: idle::Idle::default(),
        }
    }

    #[inline]
    fn history(&self) -> WakerHistory<'_, Slot> {
        WakerHistory { slots: &self.slots, seen: &self.seen, latest: self.latest }
    }

    /// The id of the waker the task was last polled with (or will be first polled with).
    fn slots_latest_id(&self) -> u32 {
        self.slots[self.latest].id
    }

    #[inline]
    fn woken(&self) -> bool {
        self.polls == 0 || self.history().latest_woken()
    }

    /// Whether this task's `step` would do something now (`PollInsideWake` also needs
    /// no poll armed already; the run's steps are never this task's).
    #[inline]
    fn enables(&self, step: Step) -> bool {
        match step {
            Step::Poll(_) => self.live() && self.woken(),
            Step::SpuriousPoll(_) => self.live() && !self.woken(),
            Step::NewWaker(_) => self.live() && self.polls > 0 && self.next == self.latest,
            Step::PollInsideWake(_) => self.live() && self.polls > 0 && !self.woken(),
            Step::DriverInsideClone(_) => self.live(),
            Step::Cancel(_) => {
                self.fate.cancel && self.future.is_some() && matches!(self.state, State::NotStarted | State::Pending)
            }
            Step::Abandon(_) => self.fate.abandon && self.live() && self.polls > 0,
            Step::Move(_) => self.live() && self.polls > 0 && matches!(self.future, Some(TaskFuture::Movable(_))),
            Step::Driver | Step::ReentrantDriver | Step::DriverInsideDrop | Step::ShortIo => false,
        }
    }

    /// Alive and still expected to make progress.
    #[inline]
    fn live(&self) -> bool {
        matches!(self.state, State::NotStarted | State::Pending) && !self.abandoned && self.future.is_some()
    }
}

/// One run in progress. Shared (`Rc`) with the closures armed inside wakers.
pub(crate) struct Run {
    /// The tasks; spawned ones are added between actions (see `spawn`).
    task_list: RefCell<Vec<RefCell<Task>>>,
    steps: RefCell<Vec<Option<DriverStep>>>,
    next_step: Cell<usize>,
    journal: Arc<Journal>,
    /// This run's id ([`crate::engine::hooks::run_id`]), carried by its waker slots and by
    /// what it arms.
    id: u64,
    next_waker: Cell<u32>,
    /// Bumped by everything that can change what a task sees: driver steps, polls,
    /// drops.
    world: Cell<u64>,
    /// Bumped by what ends idleness: a task finishing or dropped, a driver step, an
    /// item a stream or sink task moved.
    progress: Cell<u64>,
    /// `idle::Run::idle_snapshot`'s buffer.
    idle_wakes: RefCell<Vec<u32>>,
    violation: RefCell<Option<(Violation, usize)>>,
    trace: RefCell<Vec<Step>>,
    had_spurious: Cell<bool>,
    spurious_reentered: Cell<bool>,
    /// A panic unwound through user code during this run.
    user_panicked: Cell<bool>,
    opts: RunOptions,
    heartbeat: Option<Arc<Heartbeat>>,
    /// `Scenario::strict_abandonment`: an abandoned task's pending wake excuses nothing.
    strict_abandonment: bool,
    /// `Scenario::quorum`.
    quorum: Option<usize>,
    /// The task an armed `k` step waits on, and the id of its latest waker, which the
    /// armed step compares each clone with (kept current at each poll of the task).
    clone_target: RefCell<Option<(usize, Rc<Cell<u32>>)>>,
    /// `Scenario::hold`: dropped at teardown, after the driver.
    held: RefCell<Vec<Box<dyn std::any::Any>>>,
    /// `Scenario::tasks`: the groups of interchangeable tasks (see [`Run::task_order`]).
    groups: Vec<std::ops::Range<usize>>,
}

/// Runs `scenario` with the steps `chooser` picks, then drains, then checks.
pub(crate) fn execute(
    scenario: Scenario,
    chooser: &mut dyn Chooser,
    opts: &RunOptions,
    watched: Option<&Watched>,
) -> Outcome {
    let heartbeat = watched.map(|w| Arc::clone(&w.heartbeat));
    if let Some(hb) = &heartbeat {
        hb.reset();
    }
    let run = Rc::new(Run::new(scenario, opts.clone(), heartbeat));
    abort::running(&run);
    while !run.violated() {
        run.adopt_spawned();
        let Some(step) = chooser.next(&run) else {
            break;
        };
        if !run.act(step, ActionOrigin::Schedule) {
            chooser.skipped(step, &run);
        }
    }
    run.drain();
    if !run.violated() {
        run.adopt_spawned();
        run.check_quiescence();
    }
    run.adopt_spawned();
    run.teardown();
    spawned::close();
    abort::ended();
    crate::engine::hooks::end_run();
    run.finish()
}

/// Runs `steps` with the journal on and stops there: no drain, no checks, and the
/// scenario is leaked rather than dropped. This renders a hang's timeline: what comes
/// after `steps` is the action that never returned, and dropping may hang as well.
pub(crate) fn journal_of(scenario: Scenario, steps: &[(Step, ActionOrigin)]) -> Vec<Event> {
    let opts = RunOptions { record: true, capture_outputs: true, spin_bound: u32::MAX };
    let run = Rc::new(Run::new(scenario, opts, None));
    for &(step, origin) in steps {
        if run.violated() {
            break;
        }
        run.act(step, origin);
    }
    std::mem::forget(reentry::disarm());
    for cell in run.tasks().iter() {
        std::mem::forget(cell.borrow_mut().future.take());
    }
    std::mem::forget(std::mem::take(&mut *run.steps.borrow_mut()));
    std::mem::forget(std::mem::take(&mut *run.held.borrow_mut()));
    spawned::take(std::mem::forget);
    spawned::close();
    crate::engine::hooks::end_run();
    run.journal.take()
}

impl Run {
    fn new(scenario: Scenario, opts: RunOptions, heartbeat: Option<Arc<Heartbeat>>) -> Self {
        let id = crate::engine::hooks::begin_run();
        crate::engine::hooks::set_recording(opts.record);
        let journal = if opts.record { Arc::new(Journal::new(true)) } else { Journal::off() };
        let next_waker = Cell::new(1);
        let Scenario { tasks: mut specs, steps: mut driver, all_must_finish, strict_abandonment, quorum, held, groups } =
            scenario;
        let mut tasks = spare::tasks();
        tasks.extend(
            specs.drain(..).enumerate().map(|(t, spec)| {
                RefCell::new(Task::new(spec, all_must_finish, new_slot(&next_waker, id, t, &journal)))
            }),
        );
        spawned::open();
        let mut steps = spare::steps();
        steps.extend(driver.drain(..).map(Some));
        Scenario::recycle(specs, driver);
        Run {
            task_list: RefCell::new(tasks),
            steps: RefCell::new(steps),
            next_step: Cell::new(0),
            journal,
            id,
            next_waker,
            world: Cell::new(0),
            progress: Cell::new(0),
            idle_wakes: RefCell::default(),
            violation: RefCell::new(None),
            trace: RefCell::new(spare_trace()),
            had_spurious: Cell::new(false),
            spurious_reentered: Cell::new(false),
            user_panicked: Cell::new(false),
            opts,
            heartbeat,
            strict_abandonment,
            quorum,
            clone_target: RefCell::new(None),
            held: RefCell::new(held),
            groups,
        }
    }

    /// The tasks (a spawned task joins the list only between actions, when no task is
    /// borrowed).
    #[inline]
    fn tasks(&self) -> std::cell::Ref<'_, Vec<RefCell<Task>>> {
        self.task_list.borrow()
    }

    /// Takes in the tasks spawned since the last call, numbered after the others.
    /// Called between actions, where no task is borrowed.
    #[inline]
    fn adopt_spawned(&self) {
        if spawned::pending() {
            self.adopt_spawned_now();
        }
    }

    #[cold]
    fn adopt_spawned_now(&self) {
        let Ok(mut tasks) = self.task_list.try_borrow_mut() else {
            return;
        };
        spawned::take(|spec| {
            let t = tasks.len();
            let slot = new_slot(&self.next_waker, self.id, t, &self.journal);
            let name = spec.type_name;
            tasks.push(RefCell::new(Task::new(spec, false, slot)));
            if let Some(hb) = &self.heartbeat {
                hb.publish_task_name(t, name);
            }
            self.journal.record(|| Event::Note(format!("new task {t}: {name}")));
            // A new task is progress: it may finish what the others wait for.
            self.progressed();
        });
    }

    /// Whether the scenario came with driver steps (a model has none).
    fn has_driver(&self) -> bool {
        self.steps.try_borrow().map_or(true, |s| !s.is_empty())
    }

    fn violated(&self) -> bool {
        self.violation.borrow().is_some()
    }

    fn violate(&self, v: Violation) {
        self.violate_at(v, self.trace.borrow().len());
    }

    /// Records `v`, shown by the first `at` actions of the trace.
    fn violate_at(&self, v: Violation, at: usize) {
        let mut slot = self.violation.borrow_mut();
        if slot.is_none() {
            *slot = Some((v, at));
        }
    }

    #[inline]
    fn steps_left(&self) -> bool {
        self.next_step.get() < self.steps.borrow().len() || reentry::step_is_armed()
    }

    /// Whether `step` would do something now.
    #[inline]
    pub(crate) fn enabled(&self, step: Step) -> bool {
        let tasks = self.tasks();
        let task = |t: usize| tasks.get(t).and_then(|c| c.try_borrow().ok());
        match step {
            Step::Driver => self.steps_left(),
            Step::ReentrantDriver | Step::DriverInsideDrop => {
                !reentry::is_armed() && self.next_step.get() < self.steps.borrow().len()
            }
            Step::DriverInsideClone(t) => {
                !reentry::is_armed()
                    && self.next_step.get() < self.steps.borrow().len()
                    && task(t).is_some_and(|k| k.enables(step))
            }
            Step::ShortIo => crate::engine::short_io::has_probes() && !crate::engine::short_io::is_armed(),
            Step::PollInsideWake(t) => !reentry::is_armed() && task(t).is_some_and(|k| k.enables(step)),
            Step::Poll(t)
            | Step::SpuriousPoll(t)
            | Step::NewWaker(t)
            | Step::Cancel(t)
            | Step::Abandon(t)
            | Step::Move(t) => task(t).is_some_and(|k| k.enables(step)),
        }
    }

    /// Every enabled step, in a fixed order.
    pub(crate) fn enabled_steps(&self, out: &mut Vec<Step>) {
        out.clear();
        // Each task borrowed once for all its steps.
        for (t, cell) in self.tasks().iter().enumerate() {
            let Ok(k) = cell.try_borrow() else { continue };
            for step in [
                Step::Poll(t),
                Step::SpuriousPoll(t),
                Step::NewWaker(t),
                Step::Cancel(t),
                Step::Abandon(t),
                Step::Move(t),
            ] {
                if k.enables(step) {
                    out.push(step);
                }
            }
        }
        for step in [Step::Driver, Step::ReentrantDriver, Step::DriverInsideDrop, Step::ShortIo] {
            if self.enabled(step) {
                out.push(step);
            }
        }
        if !reentry::is_armed() {
            for (t, cell) in self.tasks().iter().enumerate() {
                if cell.try_borrow().is_ok_and(|k| k.enables(Step::PollInsideWake(t))) {
                    out.push(Step::PollInsideWake(t));
                }
            }
            if self.next_step.get() < self.steps.borrow().len() {
                for (t, cell) in self.tasks().iter().enumerate() {
                    if cell.try_borrow().is_ok_and(|k| k.enables(Step::DriverInsideClone(t))) {
                        out.push(Step::DriverInsideClone(t));
                    }
                }
            }
        }
    }

    /// The order the drain, the checks at quiescence and the teardown visit the tasks
    /// in: by index, except that the members of each group of interchangeable tasks
    /// come in the order the run first named them (in its trace), then the others by
    /// index. `None` (no group): by index.
    ///
    /// Renaming the members of a group in a schedule renames this order with them,
    /// so a renamed schedule runs as the renaming of the original: what makes the
    /// systematic phase's reduction sound (see `explore::systematic`). Where the
    /// members were first named in index order, as in every schedule the reduced
    /// phase runs, it is the index order.
    #[inline]
    pub(crate) fn task_order(&self) -> Option<Vec<usize>> {
        if self.groups.is_empty() {
            None
        } else {
            Some(self.group_order())
        }
    }

    #[cold]
    fn group_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.tasks().len()).collect();
        let trace = self.trace.borrow();
        for group in &self.groups {
            let mut placed = vec![false; group.len()];
            let mut at = group.start;
            let named = trace.iter().filter_map(|s| s.task()).chain(group.clone());
            for t in named.filter(|t| group.contains(t)) {
                if !std::mem::replace(&mut placed[t - group.start], true) {
                    order[at] = t;
                    at += 1;
                }
            }
        }
        order
    }

    /// Keeps, of the `enabled` steps at the end of `prefix`, those that name no member
    /// of a group of interchangeable tasks, or one that `prefix` named already, or
    /// the lowest-numbered member it has not named yet: the children that stay
    /// canonical (see `explore::systematic`).
    #[inline]
    pub(crate) fn keep_canonical(&self, prefix: &[Step], enabled: &mut Vec<Step>) {
        if !self.groups.is_empty() {
            self.keep_canonical_in_groups(prefix, enabled);
        }
    }

    #[cold]
    fn keep_canonical_in_groups(&self, prefix: &[Step], enabled: &mut Vec<Step>) {
        let mut named = vec![false; self.tasks().len()];
        for t in prefix.iter().filter_map(|s| s.task()) {
            if let Some(n) = named.get_mut(t) {
                *n = true;
            }
        }
        let fresh: Vec<Option<usize>> =
            self.groups.iter().map(|g| g.clone().find(|&t| !named.get(t).copied().unwrap_or(true))).collect();
        enabled.retain(|step| {
            let Some(t) = step.task() else { return true };
            match self.groups.iter().position(|g| g.contains(&t)) {
                Some(g) => named[t] || fresh[g] == Some(t),
                None => true,
            }
        });
    }

    /// Runs user code, catching a panic (and remembering that one unwound).
    fn guard<T>(&self, f: impl FnOnce() -> T) -> Result<T, CaughtPanic> {
        let result = panic_capture::catch(f);
        if result.is_err() {
            self.user_panicked.set(true);
        }
        result
    }

    fn beat_start(&self, activity: Activity) {
        if let Some(hb) = &self.heartbeat {
            hb.start(activity);
        }
    }

    fn beat_end(&self) {
        if let Some(hb) = &self.heartbeat {
            hb.end();
        }
    }
}

/// The run's next waker identity (`#1`, `#2`... in every run), for task `task` of
/// run `run`.
fn new_slot(next: &Cell<u32>, run: u64, task: usize, journal: &Arc<Journal>) -> Slot {
    let id = next.get();
    next.set(id + 1);
    spare::slot(id, run, task, journal)
}

/// Position `i` of a visiting order from [`Run::task_order`] (`None`: by index; a
/// task spawned since the order was taken comes at its own index).
#[inline]
pub(super) fn nth(order: Option<&[usize]>, i: usize) -> usize {
    match order {
        Some(order) => order.get(i).copied().unwrap_or(i),
        None => i,
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        spare::recycle(std::mem::take(self.task_list.get_mut()));
    }
}
