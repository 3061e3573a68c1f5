//! Acting out one step: what each step does, and the driver steps it runs.

use std::rc::Rc;

use super::teardown::panic_violation;
use super::{new_slot, PollKind, Run, State};
use crate::engine::reentry::{self, Armed, Trigger};
use crate::liveness::{Activity, DropWhy, Heartbeat, Inside};
use crate::report::journal::{ActionOrigin, Event, WakerCall};
use crate::spec::schedule::Step;
use crate::sync::Arc;

impl Run {
    /// Acts on `step` if it is enabled; says whether it was.
    pub(super) fn act(self: &Rc<Self>, step: Step, origin: ActionOrigin) -> bool {
        self.adopt_spawned();
        if !self.enabled(step) {
            self.journal.record(|| Event::Skipped(step, "not enabled"));
            return false;
        }
        self.journal.record(|| Event::Action(step, origin));
        self.trace.borrow_mut().push(step);
        if let Some(hb) = &self.heartbeat {
            hb.record(step, origin);
        }
        match step {
            // `enabled` above read the waker history: a woken task for `p`, an
            // unwoken one for `s`.
            Step::Poll(t) => {
                self.poll_task(t, PollKind::Scheduled { spurious: false });
            }
            Step::SpuriousPoll(t) => {
                self.poll_task(t, PollKind::Scheduled { spurious: true });
            }
            Step::NewWaker(t) => {
                let slot = new_slot(&self.next_waker, self.id, t, &self.journal);
                let id = slot.id;
                let tasks = self.tasks();
                let mut task = tasks[t].borrow_mut();
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
                    run: self.id,
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
                    run: self.id,
                });
            }
            Step::DriverInsideClone(t) => {
                // Arm the next step; the next clone of task t's latest waker runs it,
                // or the next driver step does, in order.
                let index = self.next_step.get();
                self.next_step.set(index + 1);
                let step = self.steps.borrow_mut()[index].take().expect("each step runs once");
                let latest = Rc::new(std::cell::Cell::new(self.tasks()[t].borrow().slots_latest_id()));
                *self.clone_target.borrow_mut() = Some((t, Rc::clone(&latest)));
                reentry::arm(Armed::Step {
                    index,
                    location: step.location,
                    step: self.count_world(index, step.run),
                    journal: Arc::clone(&self.journal),
                    trigger: Trigger::Clone(latest),
                    run: self.id,
                });
            }
            Step::PollInsideWake(t) => {
                let run = Rc::downgrade(self);
                reentry::arm(Armed::Poll {
                    // Only a wake of the waker the task was last polled with leads to
                    // it; a wake of a stale one must not.
                    poll: Rc::new(move |waker| {
                        run.upgrade().is_some_and(|run| {
                            let latest = run.tasks()[t].try_borrow().ok().map(|k| k.slots[k.latest].id);
                            latest == Some(waker) && run.poll_task(t, PollKind::InsideWake).is_some()
                        })
                    }),
                    run: self.id,
                });
            }
            Step::Cancel(t) => {
                let future = self.tasks()[t].borrow_mut().future.take();
                self.tasks()[t].borrow_mut().state = State::Cancelled;
                self.drop_future(t, future, DropWhy::Cancelled);
                self.world.set(self.world.get() + 1);
            }
            Step::Abandon(t) => self.tasks()[t].borrow_mut().abandoned = true,
            Step::ShortIo => crate::engine::short_io::arm(),
            Step::Move(t) => {
                if let Some(f) = self.tasks()[t].borrow_mut().future.as_mut() {
                    f.relocate();
                }
            }
        }
        if reentry::take_nested_step_panicked() {
            self.user_panicked.set(true);
        }
        self.check_nothing_can_wake();
        if let Some(v) = crate::engine::hooks::take_reported() {
            self.violate(v);
        }
        true
    }

    /// Wraps an armed driver step so that running it counts as a change of the world
    /// and, inside a waker call (not through [`Run::guarded_step`]), shows on the
    /// heartbeat.
    pub(super) fn count_world(
        self: &Rc<Self>,
        index: usize,
        step: Box<dyn FnOnce()>,
    ) -> Box<dyn FnOnce(Option<WakerCall>)> {
        let run = Rc::downgrade(self);
        Box::new(move |call| {
            let heartbeat = run.upgrade().and_then(|run| {
                run.world.set(run.world.get() + 1);
                run.progressed();
                call.and(run.heartbeat.clone())
            });
            if let (Some(hb), Some(call)) = (&heartbeat, call) {
                let inside = match call {
                    WakerCall::Wake(waker) => Inside::Wake(waker),
                    WakerCall::Drop(waker) => Inside::Drop(waker),
                    WakerCall::Clone(waker) => Inside::Clone(waker),
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

    pub(super) fn run_driver_step(&self) {
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

    pub(super) fn guarded_step(
        &self,
        index: usize,
        location: &std::panic::Location<'static>,
        step: Box<dyn FnOnce()>,
        inside: Inside,
    ) {
        // The world changes as soon as the step starts: a task polled inside a wake
        // it makes may already see its effects.
        self.world.set(self.world.get() + 1);
        self.progressed();
        self.beat_start(Activity::Driver { index, inside });
        let result = self.guard(step);
        self.beat_end();
        self.world.set(self.world.get() + 1);
        if let Err(p) = result {
            self.violate(panic_violation(None, || format!("driver step {index} ({location}) panicked: {p}")));
        }
    }
}
