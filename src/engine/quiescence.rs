//! The drain after the schedule, and the checks that need nothing left to happen.

use std::rc::Rc;

use super::{nth, PollKind, Run, State};
use crate::detect;
use crate::detect::violation::{Violation, ViolationKind};
use crate::engine::reentry;
use crate::report::journal::ActionOrigin;
use crate::spec::schedule::Step;

impl Run {
    /// The first lost-wakeup proof (and its stale-waker special case), after every action.
    #[inline]
    pub(super) fn check_nothing_can_wake(&self) {
        let found = match self.task_order() {
            None => self.nothing_can_wake(0..self.tasks().len()),
            // Of several tasks proven at once, the first in the visiting order.
            Some(order) => self.nothing_can_wake(order.into_iter()),
        };
        if let Some(v) = found {
            self.violate(v);
        }
    }

    fn nothing_can_wake(&self, order: impl Iterator<Item = usize>) -> Option<Violation> {
        let tasks = self.tasks();
        for t in order {
            let Ok(task) = tasks[t].try_borrow() else {
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
                return Some(Violation::new(ViolationKind::StaleWaker, who, d));
            }
            if let Some(d) = detect::lost_wakeup::nothing_can_wake(&h) {
                return Some(Violation::new(ViolationKind::LostWakeup, who, d));
            }
        }
        None
    }

    pub(super) fn drain(self: &Rc<Self>) {
        while !self.violated() {
            self.adopt_spawned();
            let mut polled = false;
            let order = self.task_order();
            for i in 0..self.tasks().len() {
                let t = nth(order.as_deref(), i);
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
    pub(super) fn check_quiescence(&self) {
        // An armed poll that no wake picked up is simply not taken.
        drop(reentry::disarm());
        if let Some(v) = crate::engine::hooks::take_reported().or_else(crate::engine::hooks::at_quiescence) {
            return self.violate(v);
        }
        // An abandoned task with a pending wake holds what may be the only
        // notification (a notify-one primitive cannot know nobody will poll it): that
        // is not quiescence, and no task's extra poll proves anything. Under strict
        // abandonment the primitive promised to wake a task that is still polled, so
        // the excuse does not apply.
        let wake_pending = !self.strict_abandonment
            && self.tasks().iter().any(|cell| {
                let task = cell.borrow();
                task.abandoned
                    && matches!(task.state, State::Pending | State::NotStarted)
                    && task.polls > 0
                    && task.history().latest_woken()
            });
        let order = self.task_order();
        let tasks = self.tasks();
        for i in 0..tasks.len() {
            let t = nth(order.as_deref(), i);
            let (who, woken, stale) = {
                let task = tasks[t].borrow();
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
        if let Some(k) = self.quorum {
            drop(tasks);
            return self.check_quorum(k, order.as_deref());
        }
        for i in 0..tasks.len() {
            let t = nth(order.as_deref(), i);
            let task = tasks[t].borrow();
            if !task.must_finish || task.state != State::Pending || !task.live() {
                continue;
            }
            if let Some(d) = detect::stuck_task::never_finishes(&task.history(), self.has_driver()) {
                let who = Some((t, task.type_name));
                drop(task);
                return self.violate(Violation::new(ViolationKind::StuckTask, who, d));
            }
        }
    }

    /// At least `k` of the counted tasks finished, or every one the schedule left.
    fn check_quorum(&self, k: usize, order: Option<&[usize]>) {
        let tasks = self.tasks();
        let declared = tasks.iter().any(|c| c.borrow().must_finish);
        let (mut counted, mut finished, mut left, mut stuck, mut gone) = (0, 0, 0, None, Vec::new());
        for i in 0..tasks.len() {
            let t = nth(order, i);
            let task = tasks[t].borrow();
            if declared && !task.must_finish {
                continue;
            }
            counted += 1;
            match task.state {
                State::Ready => finished += 1,
                State::Cancelled => gone.push(format!("task {t} was cancelled")),
                _ if task.abandoned => gone.push(format!("task {t} was abandoned")),
                _ => {}
            }
            if task.state == State::Ready || task.live() {
                left += 1;
            }
            if stuck.is_none() && task.state == State::Pending && task.live() {
                stuck = detect::stuck_task::never_finishes(&task.history(), self.has_driver())
                    .map(|d| (t, task.type_name, d));
            }
        }
        if finished >= k.min(left) {
            return;
        }
        let Some((t, name, detail)) = stuck else { return };
        let detail = detect::stuck_task::short_of_quorum(k.min(counted), counted, finished, &gone, &detail);
        self.violate(Violation::new(ViolationKind::StuckTask, Some((t, name)), detail));
    }
}
