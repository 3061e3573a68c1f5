//! The end of a run: dropping the futures and the driver, the checks after that, and the outcome.

use super::{nth, Outcome, Run};
use crate::detect;
use crate::detect::violation::{Violation, ViolationKind};
use crate::engine::reentry;
use crate::engine::waker::Slot;
use crate::liveness::{Activity, DropWhy};
use crate::spec::task::TaskFuture;

impl Run {
    pub(super) fn drop_future(&self, t: usize, future: Option<TaskFuture>, why: DropWhy) {
        let who = {
            let tasks = self.tasks();
            let task = tasks[t].borrow();
            if future.is_some() {
                retire_all(&task.slots);
            }
            Some((t, task.type_name))
        };
        self.drop_future_of(who, future, why);
    }

    pub(super) fn drop_future_of(&self, who: Option<(usize, &'static str)>, future: Option<TaskFuture>, why: DropWhy) {
        let Some(future) = future else { return };
        let Some((t, _)) = who else { return };
        self.progressed();
        crate::engine::hooks::task_gone(t);
        self.beat_start(Activity::DropTask { task: t, why });
        let result = self.guard(move || drop(future));
        self.beat_end();
        if let Err(p) = result {
            self.violate(panic_violation(who, || format!("dropping the task panicked: {p}")));
        }
    }

    pub(super) fn teardown(&self) {
        drop(reentry::disarm());
        if self.user_panicked.get() && !cfg!(miri) {
            // A panic unwound through the code under test: its state may be broken
            // (futures-channel's receiver spins forever in `drop` after a panic in
            // mid-update), so leak the scenario rather than hang. Under miri, which
            // counts leaks as errors, drop it.
            for cell in self.tasks().iter() {
                std::mem::forget(cell.borrow_mut().future.take());
            }
            std::mem::forget(std::mem::take(&mut *self.steps.borrow_mut()));
            std::mem::forget(std::mem::take(&mut *self.held.borrow_mut()));
            return;
        }
        let order = self.task_order();
        let tasks = self.tasks();
        for i in 0..tasks.len() {
            let t = nth(order.as_deref(), i);
            let future = tasks[t].borrow_mut().future.take();
            self.drop_future(t, future, DropWhy::Teardown);
        }
        drop(tasks);
        let mut steps = std::mem::take(&mut *self.steps.borrow_mut());
        self.beat_start(Activity::DropDriver);
        // A panicking drop leaves the list empty all the same (the others are dropped
        // as it unwinds).
        let held = std::mem::take(&mut *self.held.borrow_mut());
        let result = self.guard(|| {
            steps.clear();
            drop(held);
        });
        self.beat_end();
        super::spare::recycle_steps(steps);
        if let Err(p) = result {
            self.violate(Violation::new(ViolationKind::Panic, None, format!("dropping the driver panicked: {p}")));
        }
        if self.violated() {
            return;
        }
        if let Some(v) = crate::engine::hooks::take_reported().or_else(crate::engine::hooks::after_teardown) {
            return self.violate(v);
        }
        let tasks = self.tasks();
        for i in 0..tasks.len() {
            let t = nth(order.as_deref(), i);
            let task = tasks[t].borrow();
            if let Some(d) = detect::leaked_waker::still_alive(&task.history()) {
                #[cfg(miri)]
                crate::engine::waker::keep_leaked(&task.slots);
                return self.violate(Violation::new(ViolationKind::LeakedWaker, Some((t, task.type_name)), d));
            }
        }
    }

    pub(super) fn finish(&self) -> Outcome {
        Outcome {
            violation: self.violation.borrow_mut().take(),
            trace: std::mem::take(&mut *self.trace.borrow_mut()),
            // With several tasks, a spurious poll may legitimately let one barge in
            // on a value or a slot meant for another (async-channel does): the twin
            // is another history, so outputs are compared for one task only.
            compare_outputs: self.tasks().len() == 1 && self.had_spurious.get() && !self.spurious_reentered.get(),
            outputs: if self.opts.capture_outputs || self.opts.record {
                self.tasks().iter().map(|t| t.borrow_mut().output.take()).collect()
            } else {
                Vec::new()
            },
            journal: self.journal.take(),
        }
    }
}

/// A caught panic as a violation: what a `.checked()` wrapper reported, else a panic.
pub(super) fn panic_violation(who: Option<(usize, &'static str)>, describe: impl FnOnce() -> String) -> Violation {
    match crate::engine::raised::take() {
        Some((kind, detail)) => Violation::new(kind, who, detail),
        None => Violation::new(ViolationKind::Panic, who, describe()),
    }
}

/// The task's future is gone: none of its wakers is used any more.
pub(super) fn retire_all(slots: &[Slot]) {
    slots.iter().for_each(|s| s.retire());
}
