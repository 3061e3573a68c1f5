//! The engine: runs one schedule against one fresh scenario, asks the detectors at
//! the right moments, and returns what happened.
//!
//! A schedule is a prefix chosen by an explorer; after it the engine completes the
//! run honestly (the *drain*: poll every woken task, then run one driver step, until
//! nothing is left), so every schedule ends at quiescence and every detector applies.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::detect::{self, WakerHistory};
use crate::journal::{ActionOrigin, Event, Journal, PollResult, WakerCall};
use crate::liveness::{self, Activity, DropWhy, Heartbeat, Inside, Watched};
use crate::panic_capture::{self, CaughtPanic};
use crate::reentry::{self, Armed, Trigger};
use crate::scenario::{DriverStep, Scenario, TaskFuture};
use crate::schedule::Step;
use crate::sync::Arc;
use crate::violation::{Violation, ViolationKind};
use crate::waker::{self, Slot, WakerSlot};

/// Chooses the schedule's steps one at a time, seeing the run so far.
pub(crate) trait Chooser {
    /// The next step, or `None` to hand over to the drain.
    fn next(&mut self, run: &Run) -> Option<Step>;
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
    Scheduled,
    InsideWake,
    Probe,
}

struct Task {
    future: Option<TaskFuture>,
    type_name: &'static str,
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
}

impl Task {
    fn history(&self) -> WakerHistory<'_> {
        WakerHistory { slots: &self.slots, seen: &self.seen, latest: self.latest }
    }

    fn woken(&self) -> bool {
        self.polls == 0 || self.history().latest_woken()
    }

    /// Alive and still expected to make progress.
    fn live(&self) -> bool {
        matches!(self.state, State::NotStarted | State::Pending) && !self.abandoned && self.future.is_some()
    }
}

/// One run in progress. Shared (`Rc`) with the closures armed inside wakers.
pub(crate) struct Run {
    tasks: Vec<RefCell<Task>>,
    steps: RefCell<Vec<Option<DriverStep>>>,
    next_step: Cell<usize>,
    journal: Arc<Journal>,
    next_waker: Cell<u32>,
    /// Bumped by everything that can change what a task sees: driver steps, polls,
    /// drops.
    world: Cell<u64>,
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
    while !run.violated() {
        let Some(step) = chooser.next(&run) else {
            break;
        };
        run.act(step, ActionOrigin::Schedule);
    }
    run.drain();
    if !run.violated() {
        run.check_quiescence();
    }
    run.teardown();
    crate::hooks::end_run();
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
    for cell in &run.tasks {
        std::mem::forget(cell.borrow_mut().future.take());
    }
    std::mem::forget(std::mem::take(&mut *run.steps.borrow_mut()));
    crate::hooks::end_run();
    run.journal.take()
}

impl Run {
    fn new(scenario: Scenario, opts: RunOptions, heartbeat: Option<Arc<Heartbeat>>) -> Self {
        crate::hooks::begin_run();
        crate::hooks::set_recording(opts.record);
        let journal = if opts.record { Arc::new(Journal::new(true)) } else { Journal::off() };
        let next_waker = Cell::new(1);
        let all_must_finish = scenario.all_must_finish;
        let strict_abandonment = scenario.strict_abandonment;
        let tasks = scenario
            .tasks
            .into_iter()
            .map(|spec| {
                let slot = new_slot(&next_waker, &journal);
                RefCell::new(Task {
                    future: Some(spec.future),
                    type_name: spec.type_name,
                    state: State::NotStarted,
                    abandoned: false,
                    must_finish: all_must_finish || spec.must_finish,
                    slots: vec![slot],
                    seen: vec![0],
                    latest: 0,
                    next: 0,
                    polls: 0,
                    world_at_pending: 0,
                    spin: 0,
                    spin_start: 0,
                    output: None,
                })
            })
            .collect();
        Run {
            tasks,
            steps: RefCell::new(scenario.steps.into_iter().map(Some).collect()),
            next_step: Cell::new(0),
            journal,
            next_waker,
            world: Cell::new(0),
            violation: RefCell::new(None),
            trace: RefCell::new(spare_trace()),
            had_spurious: Cell::new(false),
            spurious_reentered: Cell::new(false),
            user_panicked: Cell::new(false),
            opts,
            heartbeat,
            strict_abandonment,
        }
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

    fn steps_left(&self) -> bool {
        self.next_step.get() < self.steps.borrow().len() || reentry::step_is_armed()
    }

    /// Whether `step` would do something now.
    pub(crate) fn enabled(&self, step: Step) -> bool {
        let task = |t: usize| self.tasks.get(t).and_then(|c| c.try_borrow().ok());
        match step {
            Step::Driver => self.steps_left(),
            Step::ReentrantDriver | Step::DriverInsideDrop => {
                !reentry::is_armed() && self.next_step.get() < self.steps.borrow().len()
            }
            Step::ShortIo => crate::short_io::has_probes() && !crate::short_io::is_armed(),
            Step::Poll(t) => task(t).is_some_and(|k| k.live() && k.woken()),
            Step::SpuriousPoll(t) => task(t).is_some_and(|k| k.live() && !k.woken()),
            Step::NewWaker(t) => task(t).is_some_and(|k| k.live() && k.polls > 0 && k.next == k.latest),
            Step::PollInsideWake(t) => {
                !reentry::is_armed() && task(t).is_some_and(|k| k.live() && k.polls > 0 && !k.woken())
            }
            Step::Cancel(t) => {
                task(t).is_some_and(|k| k.future.is_some() && matches!(k.state, State::NotStarted | State::Pending))
            }
            Step::Abandon(t) => task(t).is_some_and(|k| k.live() && k.polls > 0),
            Step::Move(t) => {
                task(t).is_some_and(|k| k.live() && k.polls > 0 && matches!(k.future, Some(TaskFuture::Movable(_))))
            }
        }
    }

    /// Every enabled step, in a fixed order.
    pub(crate) fn enabled_steps(&self, out: &mut Vec<Step>) {
        out.clear();
        for t in 0..self.tasks.len() {
            for step in [
                Step::Poll(t),
                Step::SpuriousPoll(t),
                Step::NewWaker(t),
                Step::Cancel(t),
                Step::Abandon(t),
                Step::Move(t),
            ] {
                if self.enabled(step) {
                    out.push(step);
                }
            }
        }
        for step in [Step::Driver, Step::ReentrantDriver, Step::DriverInsideDrop, Step::ShortIo] {
            if self.enabled(step) {
                out.push(step);
            }
        }
        for t in 0..self.tasks.len() {
            if self.enabled(Step::PollInsideWake(t)) {
                out.push(Step::PollInsideWake(t));
            }
        }
    }

    fn act(self: &Rc<Self>, step: Step, origin: ActionOrigin) {
        if !self.enabled(step) {
            self.journal.record(|| Event::Skipped(step, "not enabled"));
            return;
        }
        self.journal.record(|| Event::Action(step, origin));
        self.trace.borrow_mut().push(step);
        if let Some(hb) = &self.heartbeat {
            hb.record(step, origin);
        }
        match step {
            Step::Poll(t) | Step::SpuriousPoll(t) => {
                self.poll_task(t, PollKind::Scheduled);
            }
            Step::NewWaker(t) => {
                let slot = new_slot(&self.next_waker, &self.journal);
                let id = slot.id;
                let mut task = self.tasks[t].borrow_mut();
                task.slots.push(slot);
                task.seen.push(0);
                task.next = task.slots.len() - 1;
                self.journal.record(|| Event::NewWaker { task: t, waker: id });
            }
            Step::Driver => self.run_driver_step(),
            Step::ReentrantDriver => {
                // Arm the step after the next one, then run the next one: its waker
                // calls are where the armed step runs. With one step left, just arm it.
                let first = self.next_step.get();
                let two_left = first + 1 < self.steps.borrow().len();
                let armed = if two_left { first + 1 } else { first };
                self.next_step.set(armed + 1);
                let step = self.steps.borrow_mut()[armed].take().expect("each step runs once");
                reentry::arm(Armed::Step {
                    index: armed,
                    location: step.location,
                    step: self.count_world(armed, step.run),
                    journal: Arc::clone(&self.journal),
                    trigger: Trigger::Wake,
                });
                if two_left {
                    let step = self.steps.borrow_mut()[first].take().expect("each step runs once");
                    self.journal.record(|| Event::DriverStep {
                        index: first,
                        location: step.location,
                        inside_waker: None,
                    });
                    self.guarded_step(first, step.location, step.run, Inside::Nothing);
                }
            }
            Step::DriverInsideDrop => {
                // Arm the next step; the next drop of a retired waker clone runs it
                // (see `reentry::fire_drop`), or the next driver step does, in order.
                let index = self.next_step.get();
                self.next_step.set(index + 1);
                let step = self.steps.borrow_mut()[index].take().expect("each step runs once");
                reentry::arm(Armed::Step {
                    index,
                    location: step.location,
                    step: self.count_world(index, step.run),
                    journal: Arc::clone(&self.journal),
                    trigger: Trigger::RetiredDrop,
                });
            }
            Step::PollInsideWake(t) => {
                let run = Rc::downgrade(self);
                reentry::arm(Armed::Poll {
                    // Only a wake of the waker the task was last polled with leads to
                    // it; a wake of a stale one must not.
                    poll: Rc::new(move |waker| {
                        run.upgrade().is_some_and(|run| {
                            let latest = run.tasks[t].try_borrow().ok().map(|k| k.slots[k.latest].id);
                            latest == Some(waker) && run.poll_task(t, PollKind::InsideWake).is_some()
                        })
                    }),
                });
            }
            Step::Cancel(t) => {
                let future = self.tasks[t].borrow_mut().future.take();
                self.tasks[t].borrow_mut().state = State::Cancelled;
                self.drop_future(t, future, DropWhy::Cancelled);
                self.world.set(self.world.get() + 1);
            }
            Step::Abandon(t) => self.tasks[t].borrow_mut().abandoned = true,
            Step::ShortIo => crate::short_io::arm(),
            Step::Move(t) => {
                if let Some(f) = self.tasks[t].borrow_mut().future.as_mut() {
                    f.relocate();
                }
            }
        }
        if reentry::take_drop_step_panicked() {
            self.user_panicked.set(true);
        }
        self.check_nothing_can_wake();
        if let Some(v) = crate::hooks::take_reported() {
            self.violate(v);
        }
    }

    /// Wraps an armed driver step so that running it counts as a change of the world
    /// and, inside a waker call (not through [`Run::guarded_step`]), shows on the
    /// heartbeat.
    fn count_world(self: &Rc<Self>, index: usize, step: Box<dyn FnOnce()>) -> Box<dyn FnOnce(Option<WakerCall>)> {
        let run = Rc::downgrade(self);
        Box::new(move |call| {
            let heartbeat = run.upgrade().and_then(|run| {
                run.world.set(run.world.get() + 1);
                call.and(run.heartbeat.clone())
            });
            if let (Some(hb), Some(call)) = (&heartbeat, call) {
                let inside = match call {
                    WakerCall::Wake(waker) => Inside::Wake(waker),
                    WakerCall::Drop(waker) => Inside::Drop(waker),
                };
                hb.start(Activity::Driver { index, inside });
            }
            /// Ends the activity even when the step unwinds.
            struct End(Option<Arc<Heartbeat>>);
            impl Drop for End {
                fn drop(&mut self) {
                    if let Some(hb) = &self.0 {
                        hb.end();
                    }
                }
            }
            let _end = End(heartbeat);
            step()
        })
    }

    fn run_driver_step(&self) {
        if let Some(Armed::Step { index, location, step, journal, .. }) = reentry::disarm_step() {
            // An armed step that no waker call picked up runs now, in order.
            journal.record(|| Event::DriverStep { index, location, inside_waker: None });
            return self.guarded_step(index, location, Box::new(move || step(None)), Inside::Nothing);
        }
        let index = self.next_step.get();
        self.next_step.set(index + 1);
        let step = self.steps.borrow_mut()[index].take().expect("each step runs once");
        self.journal.record(|| Event::DriverStep { index, location: step.location, inside_waker: None });
        self.guarded_step(index, step.location, step.run, Inside::Nothing);
    }

    fn guarded_step(
        &self,
        index: usize,
        location: &std::panic::Location<'static>,
        step: Box<dyn FnOnce()>,
        inside: Inside,
    ) {
        // The world changes as soon as the step starts: a task polled inside a wake
        // it makes may already see its effects.
        self.world.set(self.world.get() + 1);
        self.beat_start(Activity::Driver { index, inside });
        let result = self.guard(step);
        self.beat_end();
        self.world.set(self.world.get() + 1);
        if let Err(p) = result {
            self.violate(panic_violation(None, || format!("driver step {index} ({location}) panicked: {p}")));
        }
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

    /// Polls task `t`. Returns `None` if it could not (the task is being polled
    /// already, further up this stack, or is gone), else whether it returned `Ready`
    /// and with what (formatted when outputs are captured).
    fn poll_task(&self, t: usize, kind: PollKind) -> Option<Poll<Option<String>>> {
        let Ok(mut task) = self.tasks[t].try_borrow_mut() else {
            return None;
        };
        let task = &mut *task;
        task.future.as_ref()?;
        let spurious = !task.woken();
        let probe = kind == PollKind::Probe;
        if spurious && !probe {
            self.had_spurious.set(true);
        }
        task.latest = task.next;
        // Every older identity is now one the task no longer uses.
        task.slots[..task.latest].iter().for_each(|s| s.retire());
        for (seen, slot) in task.seen.iter_mut().zip(&task.slots) {
            *seen = slot.wakes();
        }
        let slot = &task.slots[task.latest];
        let wakes_before = slot.wakes();
        let lent = waker::lend(slot);
        let mut cx = Context::from_waker(&lent);
        let capture = self.opts.capture_outputs || self.opts.record || probe;
        let inside_wake = kind == PollKind::InsideWake;
        let future = task.future.as_mut().expect("checked above");
        crate::hooks::count_poll(t);
        self.beat_start(Activity::Poll {
            task: t,
            kind: match kind {
                PollKind::Scheduled if spurious => liveness::PollKind::Spurious,
                PollKind::Scheduled => liveness::PollKind::Woken,
                PollKind::InsideWake => liveness::PollKind::InsideWake,
                PollKind::Probe => liveness::PollKind::Probe,
            },
        });
        let fired_before = reentry::steps_fired();
        let outer = crate::hooks::enter_poll(t);
        let result = self.guard(|| future.poll(&mut cx, capture));
        crate::hooks::exit_poll(t, outer);
        self.beat_end();
        // A stream or sink task: what this poll yielded or sent.
        let items = future.take_items();
        // What a stream or sink task moved, as the quiescence probe tells it.
        let progressed = items.as_ref().filter(|i| i.count > 0).map(|i| {
            if i.items.is_empty() {
                format!("{} {}", i.verb, i.count)
            } else {
                format!("{} {}", i.verb, i.items.join(", "))
            }
        });
        for note in crate::hooks::take_notes() {
            self.journal.record(|| Event::Note(note));
        }
        // A driver step that ran inside this poll changed the world mid-poll; the
        // honest twin (without spurious polls) cannot replay that, so compare nothing.
        let reentered = reentry::steps_fired() != fired_before;
        if (spurious && reentered) || kind == PollKind::InsideWake {
            // The honest twin cannot replay a step inside a spurious poll, nor a poll
            // inside a wake whose timing the spurious polls shifted.
            self.spurious_reentered.set(true);
        }
        task.polls += 1;
        let world_at_pending = task.world_at_pending;
        let who = Some((t, task.type_name));
        let polled = |result: PollResult| Event::Polled { task: t, waker: slot.id, spurious, inside_wake, result };
        let poll = match result {
            Ok(Poll::Pending) => {
                self.journal.record(|| {
                    if probe {
                        Event::Probe { task: t, result: PollResult::Pending }
                    } else {
                        polled(PollResult::Pending)
                    }
                });
                self.record_items(t, items);
                task.state = State::Pending;
                let self_woke = slot.wakes() > wakes_before;
                task.spin = if self_woke && !self.steps_left() { task.spin + 1 } else { 0 };
                if task.spin == 1 {
                    task.spin_start = self.trace.borrow().len();
                }
                if let Some(d) = detect::spin::spinning(task.spin, self.opts.spin_bound) {
                    // Any prefix from the first spinning poll on replays the spin.
                    self.violate_at(Violation::new(ViolationKind::Spin, who, d), task.spin_start);
                }
                match progressed {
                    // A stream that yields at the extra poll (a sink that accepts) could
                    // have made progress: its `poll_next` returned `Ready(Some(..))`.
                    Some(moved) if probe => Poll::Ready(Some(moved)),
                    _ => Poll::Pending,
                }
            }
            Ok(Poll::Ready(output)) => {
                self.journal.record(|| {
                    let result = PollResult::Ready(output.clone());
                    if probe {
                        Event::Probe { task: t, result }
                    } else {
                        polled(result)
                    }
                });
                self.record_items(t, items);
                if !probe {
                    task.state = State::Ready;
                    task.output = output.clone();
                    let future = task.future.take();
                    retire_all(&task.slots);
                    if let Some(d) =
                        detect::spurious_poll::ready_without_cause(spurious, self.world.get(), world_at_pending)
                    {
                        self.violate(Violation::new(ViolationKind::SpuriousPoll, who, d));
                    }
                    self.drop_future_of(who, future, DropWhy::Finished);
                }
                Poll::Ready(output)
            }
            Err(panic) => {
                self.journal.record(|| polled(PollResult::Panicked(panic.to_string())));
                self.record_items(t, items);
                task.state = State::Panicked;
                let future = task.future.take();
                retire_all(&task.slots);
                self.violate(self.classify_poll_panic(who, spurious && !reentered, &panic));
                self.drop_future_of(who, future, DropWhy::Panicked);
                Poll::Pending
            }
        };
        self.world.set(self.world.get() + 1);
        if task.state == State::Pending {
            task.world_at_pending = self.world.get();
        }
        Some(poll)
    }

    fn record_items(&self, task: usize, items: Option<crate::scenario::Items>) {
        if let Some(items) = items {
            self.journal.record(|| Event::Items { task, items });
        }
    }

    fn classify_poll_panic(
        &self,
        who: Option<(usize, &'static str)>,
        spurious: bool,
        panic: &CaughtPanic,
    ) -> Violation {
        match crate::checked::take_violation() {
            Some((kind, detail)) => Violation::new(kind, who, detail),
            None if spurious => Violation::new(
                ViolationKind::SpuriousPoll,
                who,
                format!("a poll that no wake preceded panicked: {panic}"),
            ),
            None => Violation::new(ViolationKind::Panic, who, format!("poll panicked: {panic}")),
        }
    }

    fn drop_future(&self, t: usize, future: Option<TaskFuture>, why: DropWhy) {
        let who = {
            let task = self.tasks[t].borrow();
            if future.is_some() {
                retire_all(&task.slots);
            }
            Some((t, task.type_name))
        };
        self.drop_future_of(who, future, why);
    }

    fn drop_future_of(&self, who: Option<(usize, &'static str)>, future: Option<TaskFuture>, why: DropWhy) {
        let Some(future) = future else { return };
        let Some((t, _)) = who else { return };
        crate::hooks::task_gone(t);
        self.beat_start(Activity::DropTask { task: t, why });
        let result = self.guard(move || drop(future));
        self.beat_end();
        if let Err(p) = result {
            self.violate(panic_violation(who, || format!("dropping the task panicked: {p}")));
        }
    }

    /// The first lost-wakeup proof (and its stale-waker special case), after every action.
    fn check_nothing_can_wake(&self) {
        for (t, cell) in self.tasks.iter().enumerate() {
            let Ok(task) = cell.try_borrow() else {
                continue;
            };
            if task.state != State::Pending || !task.live() {
                continue;
            }
            let h = task.history();
            if h.live_clones() > 0 || h.latest_woken() {
                continue;
            }
            let who = Some((t, task.type_name));
            if let Some(d) = detect::stale_waker::woke_only_older(&h) {
                return self.violate(Violation::new(ViolationKind::StaleWaker, who, d));
            }
            if let Some(d) = detect::lost_wakeup::nothing_can_wake(&h) {
                return self.violate(Violation::new(ViolationKind::LostWakeup, who, d));
            }
        }
    }

    fn drain(self: &Rc<Self>) {
        while !self.violated() {
            let mut polled = false;
            for t in 0..self.tasks.len() {
                if self.violated() {
                    return;
                }
                if self.enabled(Step::Poll(t)) {
                    self.act(Step::Poll(t), ActionOrigin::Drain);
                    polled = true;
                }
            }
            if self.violated() {
                return;
            }
            if self.steps_left() {
                self.act(Step::Driver, ActionOrigin::Drain);
            } else if !polled {
                return;
            }
        }
    }

    /// Stale waker and the second lost-wakeup proof, once nothing is left to happen;
    /// then, if they found nothing, the stuck-task check.
    fn check_quiescence(&self) {
        // An armed poll that no wake picked up is simply not taken.
        drop(reentry::disarm());
        if let Some(v) = crate::hooks::take_reported().or_else(crate::hooks::at_quiescence) {
            return self.violate(v);
        }
        // An abandoned task with a pending wake holds what may be the only
        // notification (a notify-one primitive cannot know nobody will poll it): that
        // is not quiescence, and no task's extra poll proves anything. Under strict
        // abandonment the primitive promised to wake a task that is still polled, so
        // the excuse does not apply.
        let wake_pending = !self.strict_abandonment
            && self.tasks.iter().any(|cell| {
                let task = cell.borrow();
                task.abandoned
                    && matches!(task.state, State::Pending | State::NotStarted)
                    && task.polls > 0
                    && task.history().latest_woken()
            });
        for (t, cell) in self.tasks.iter().enumerate() {
            let (who, woken, stale) = {
                let task = cell.borrow();
                if task.state != State::Pending || !task.live() {
                    continue;
                }
                let h = task.history();
                (
                    Some((t, task.type_name)),
                    h.latest_woken() || h.older_woken().is_some(),
                    detect::stale_waker::woke_only_older(&h),
                )
            };
            if let Some(d) = stale {
                return self.violate(Violation::new(ViolationKind::StaleWaker, who, d));
            }
            if woken || wake_pending {
                continue;
            }
            let probe = self.poll_task(t, PollKind::Probe);
            if self.violated() {
                return;
            }
            if let Some(d) = detect::lost_wakeup::could_finish_unwoken(woken, probe) {
                return self.violate(Violation::new(ViolationKind::LostWakeup, who, d));
            }
        }
        if wake_pending {
            return;
        }
        for (t, cell) in self.tasks.iter().enumerate() {
            let task = cell.borrow();
            if !task.must_finish || task.state != State::Pending || !task.live() {
                continue;
            }
            if let Some(d) = detect::stuck_task::never_finishes(&task.history()) {
                let who = Some((t, task.type_name));
                drop(task);
                return self.violate(Violation::new(ViolationKind::StuckTask, who, d));
            }
        }
    }

    /// Runs user code, catching a panic (and remembering that one unwound).
    fn guard<T>(&self, f: impl FnOnce() -> T) -> Result<T, CaughtPanic> {
        let result = panic_capture::catch(f);
        if result.is_err() {
            self.user_panicked.set(true);
        }
        result
    }

    fn teardown(&self) {
        drop(reentry::disarm());
        if self.user_panicked.get() && !cfg!(miri) {
            // A panic unwound through the code under test: its state may be broken
            // (futures-channel's receiver spins forever in `drop` after a panic in
            // mid-update), so leak the scenario rather than hang. Under miri, which
            // counts leaks as errors, drop it.
            for cell in &self.tasks {
                std::mem::forget(cell.borrow_mut().future.take());
            }
            std::mem::forget(std::mem::take(&mut *self.steps.borrow_mut()));
            return;
        }
        for (t, cell) in self.tasks.iter().enumerate() {
            let future = cell.borrow_mut().future.take();
            self.drop_future(t, future, DropWhy::Teardown);
        }
        let steps = std::mem::take(&mut *self.steps.borrow_mut());
        self.beat_start(Activity::DropDriver);
        let result = self.guard(move || drop(steps));
        self.beat_end();
        if let Err(p) = result {
            self.violate(Violation::new(ViolationKind::Panic, None, format!("dropping the driver panicked: {p}")));
        }
        if self.violated() {
            return;
        }
        if let Some(v) = crate::hooks::take_reported().or_else(crate::hooks::after_teardown) {
            return self.violate(v);
        }
        for (t, cell) in self.tasks.iter().enumerate() {
            let task = cell.borrow();
            if let Some(d) = detect::leaked_waker::still_alive(&task.history()) {
                return self.violate(Violation::new(ViolationKind::LeakedWaker, Some((t, task.type_name)), d));
            }
        }
    }

    fn finish(&self) -> Outcome {
        Outcome {
            violation: self.violation.borrow_mut().take(),
            trace: std::mem::take(&mut *self.trace.borrow_mut()),
            // With several tasks, a spurious poll may legitimately let one barge in
            // on a value or a slot meant for another (async-channel does): the twin
            // is another history, so outputs are compared for one task only.
            compare_outputs: self.tasks.len() == 1 && self.had_spurious.get() && !self.spurious_reentered.get(),
            outputs: if self.opts.capture_outputs || self.opts.record {
                self.tasks.iter().map(|t| t.borrow_mut().output.take()).collect()
            } else {
                Vec::new()
            },
            journal: self.journal.take(),
        }
    }
}

/// A caught panic as a violation: what a `.checked()` wrapper reported, else a panic.
fn panic_violation(who: Option<(usize, &'static str)>, describe: impl FnOnce() -> String) -> Violation {
    match crate::checked::take_violation() {
        Some((kind, detail)) => Violation::new(kind, who, detail),
        None => Violation::new(ViolationKind::Panic, who, describe()),
    }
}

/// The task's future is gone: none of its wakers is used any more.
fn retire_all(slots: &[Slot]) {
    slots.iter().for_each(|s| s.retire());
}

thread_local! {
    /// A trace buffer handed back by [`recycle_trace`], for the next run on this thread.
    static SPARE_TRACE: Cell<Vec<Step>> = const { Cell::new(Vec::new()) };
}

/// An empty trace, reusing the last one recycled on this thread (one allocation less
/// per schedule).
fn spare_trace() -> Vec<Step> {
    let spare = SPARE_TRACE.try_with(Cell::take).unwrap_or_default();
    if spare.capacity() == 0 {
        Vec::with_capacity(32)
    } else {
        spare
    }
}

/// Hands a finished run's trace back for the next run on this thread.
pub(crate) fn recycle_trace(mut trace: Vec<Step>) {
    trace.clear();
    let _ = SPARE_TRACE.try_with(|s| s.set(trace));
}

fn new_slot(next: &Cell<u32>, journal: &Arc<Journal>) -> Slot {
    let id = next.get();
    next.set(id + 1);
    WakerSlot::new(id, journal)
}
