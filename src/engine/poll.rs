//! Polling one task: the waker it is lent, what the poll returned, and what a panic in it means.

use std::task::{Context, Poll};

use super::teardown::retire_all;
use super::{PollKind, Run, State, Task};
use crate::detect;
use crate::detect::violation::{Violation, ViolationKind};
use crate::engine::panic_capture::CaughtPanic;
use crate::engine::reentry;
use crate::engine::waker;
use crate::liveness::{self, Activity, DropWhy};
use crate::report::journal::{Event, PollResult};
use crate::spec::task::Items;

impl Run {
    /// Polls task `t`. Returns `None` if it could not (the task is being polled
    /// already, further up this stack, or is gone), else whether it returned `Ready`
    /// and with what (formatted when outputs are captured).
    pub(super) fn poll_task(&self, t: usize, kind: PollKind) -> Option<Poll<Option<String>>> {
        let tasks = self.tasks();
        let Ok(mut task) = tasks[t].try_borrow_mut() else {
            return None;
        };
        let task = &mut *task;
        task.future.as_ref()?;
        let spurious = match kind {
            PollKind::Scheduled { spurious } => spurious,
            _ => !task.woken(),
        };
        let probe = kind == PollKind::Probe;
        if spurious && !probe {
            self.had_spurious.set(true);
        }
        task.latest = task.next;
        if let Some((target, latest)) = &*self.clone_target.borrow() {
            if *target == t {
                latest.set(task.slots[task.latest].id);
            }
        }
        // Every older identity is now one the task no longer uses.
        task.slots[..task.latest].iter().for_each(|s| s.retire());
        for (seen, slot) in task.seen.iter_mut().zip(&task.slots) {
            *seen = slot.wakes();
        }
        let slot = &task.slots[task.latest];
        let wakes_before = task.seen[task.latest];
        let lent = waker::lend(slot);
        let mut cx = Context::from_waker(&lent);
        // Outputs are compared with a twin's only in a run of one task (`finish`), and a
        // run's tasks only grow: with two, formatting would be wasted.
        let capture = self.opts.record || probe || (self.opts.capture_outputs && tasks.len() == 1);
        let inside_wake = kind == PollKind::InsideWake;
        let future = task.future.as_mut().expect("checked above");
        crate::engine::hooks::count_poll(t);
        self.beat_start(Activity::Poll {
            task: t,
            kind: match kind {
                PollKind::Scheduled { spurious: true } => liveness::PollKind::Spurious,
                PollKind::Scheduled { spurious: false } => liveness::PollKind::Woken,
                PollKind::InsideWake => liveness::PollKind::InsideWake,
                PollKind::Probe => liveness::PollKind::Probe,
            },
        });
        // With nothing left to happen, who this poll wakes is noted (see `idle`).
        let idle_before = (!probe && !inside_wake && !self.steps_left()).then(|| self.idle_snapshot(t));
        let fired_before = reentry::steps_fired();
        let outer = crate::engine::hooks::enter_poll(t);
        let result = self.guard(|| future.poll(&mut cx, capture));
        crate::engine::hooks::exit_poll(t, outer);
        self.beat_end();
        // A wake of an older waker that came while this poll ran (a primitive waking
        // what it had registered before this poll registered the new one, from a step
        // run inside a waker call) reached a task that was being polled: the poll
        // itself saw that state, so it is no stale waker. A wake of the latest waker
        // during the poll still counts: the task asked to be polled again.
        for (seen, slot) in task.seen[..task.latest].iter_mut().zip(&task.slots) {
            *seen = slot.wakes();
        }
        // A stream or sink task: what this poll yielded or sent.
        let items = future.take_items();
        if items.as_ref().is_some_and(|i| i.count > 0) {
            self.progressed();
        }
        // What a stream or sink task moved, as the quiescence probe tells it (formatted
        // for the probe only).
        let progressed = items.as_ref().filter(|i| probe && i.count > 0).map(|i| {
            if i.items.is_empty() {
                format!("{} {}", i.verb, i.count)
            } else {
                format!("{} {}", i.verb, i.items.join(", "))
            }
        });
        // Helpers make notes only for a run that keeps a journal.
        if self.opts.record {
            for note in crate::engine::hooks::take_notes() {
                self.journal.record(|| Event::Note(note));
            }
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
                } else if let Some(before) = idle_before.filter(|_| !self.steps_left()) {
                    self.idle_poll(t, task, before, self_woke);
                }
                match progressed {
                    // A stream that yields at the extra poll (a sink that accepts) could
                    // have made progress: its `poll_next` returned `Ready(Some(..))`.
                    Some(moved) if probe => Poll::Ready(Some(moved)),
                    _ => Poll::Pending,
                }
            }
            Ok(Poll::Ready(output)) => {
                let ended = Ended { t, waker: slot.id, probe, spurious, inside_wake, world_at_pending };
                self.poll_ready(task, ended, output, items)
            }
            Err(panic) => {
                let ended = Ended { t, waker: slot.id, probe, spurious, inside_wake, world_at_pending };
                self.poll_panicked(task, ended, panic, reentered, items)
            }
        };
        self.world.set(self.world.get() + 1);
        if task.state == State::Pending {
            task.world_at_pending = self.world.get();
        }
        Some(poll)
    }

    /// The task returned `Ready` (once per task and run: kept out of the pending path).
    #[cold]
    #[inline(never)]
    fn poll_ready(
        &self,
        task: &mut Task,
        e: Ended,
        output: Option<String>,
        items: Option<Items>,
    ) -> Poll<Option<String>> {
        let (t, who) = (e.t, Some((e.t, task.type_name)));
        self.journal.record(|| {
            let result = PollResult::Ready(output.clone());
            if e.probe {
                Event::Probe { task: t, result }
            } else {
                e.polled(result)
            }
        });
        self.record_items(t, items);
        if !e.probe {
            task.state = State::Ready;
            task.output = output.clone();
            let future = task.future.take();
            retire_all(&task.slots);
            if let Some(d) =
                detect::spurious_poll::ready_without_cause(e.spurious, self.world.get(), e.world_at_pending)
            {
                self.violate(Violation::new(ViolationKind::SpuriousPoll, who, d));
            }
            self.drop_future_of(who, future, DropWhy::Finished);
        }
        Poll::Ready(output)
    }

    /// The task's poll panicked.
    #[cold]
    #[inline(never)]
    fn poll_panicked(
        &self,
        task: &mut Task,
        e: Ended,
        panic: CaughtPanic,
        reentered: bool,
        items: Option<Items>,
    ) -> Poll<Option<String>> {
        let (t, who) = (e.t, Some((e.t, task.type_name)));
        self.journal.record(|| e.polled(PollResult::Panicked(panic.to_string())));
        self.record_items(t, items);
        task.state = State::Panicked;
        let future = task.future.take();
        retire_all(&task.slots);
        self.violate(self.classify_poll_panic(who, e.spurious && !reentered, &panic));
        self.drop_future_of(who, future, DropWhy::Panicked);
        Poll::Pending
    }

    pub(super) fn record_items(&self, task: usize, items: Option<crate::spec::task::Items>) {
        if let Some(items) = items {
            self.journal.record(|| Event::Items { task, items });
        }
    }

    pub(super) fn classify_poll_panic(
        &self,
        who: Option<(usize, &'static str)>,
        spurious: bool,
        panic: &CaughtPanic,
    ) -> Violation {
        match crate::engine::raised::take() {
            Some((kind, detail)) => Violation::new(kind, who, detail),
            None if spurious => Violation::new(
                ViolationKind::SpuriousPoll,
                who,
                format!("a poll that no wake preceded panicked: {panic}"),
            ),
            None => Violation::new(ViolationKind::Panic, who, format!("poll panicked: {panic}")),
        }
    }
}

/// What the end of a poll needs to know about it.
#[derive(Clone, Copy)]
struct Ended {
    t: usize,
    waker: u32,
    probe: bool,
    spurious: bool,
    inside_wake: bool,
    world_at_pending: u64,
}

impl Ended {
    fn polled(self, result: PollResult) -> Event {
        Event::Polled {
            task: self.t,
            waker: self.waker,
            spurious: self.spurious,
            inside_wake: self.inside_wake,
            result,
        }
    }
}
