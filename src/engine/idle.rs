//! Polls with nothing left to happen: a task, or a group of tasks waking each other,
//! that keeps returning `Pending` without any of them finishing would keep a
//! single-threaded executor busy forever, and the drain with it.
//!
//! Every `Pending` poll with no driver step left counts against the polled task,
//! until something makes progress (a task finishes or is dropped, a driver step runs,
//! a stream or sink task moves an item): then every count starts over. Who woke whom
//! is noted at each such poll, for the report.

use super::{Run, Task};
use crate::detect;
use crate::detect::violation::{Violation, ViolationKind};

/// A task's idle polls since the run's last progress.
#[derive(Clone, Copy, Default)]
pub(super) struct Idle {
    /// The run's progress count these figures belong to; older ones are stale.
    epoch: u64,
    polls: u32,
    /// Trace length at the first of those polls.
    start: usize,
    /// The tasks whose idle polls woke this one (bit `t`, task 63 and above in bit 63).
    woken_by: u64,
}

fn bit(t: usize) -> u64 {
    1 << t.min(63)
}

impl Idle {
    fn current(&mut self, epoch: u64) -> &mut Self {
        if self.epoch != epoch {
            *self = Idle { epoch, ..Idle::default() };
        }
        self
    }
}

impl Run {
    /// Something changed that a waiting task may be waiting for.
    #[inline]
    pub(super) fn progressed(&self) {
        self.progress.set(self.progress.get() + 1);
    }

    /// Before an idle poll of `t`: the wakes each task's latest waker had so far.
    pub(super) fn idle_snapshot(&self, t: usize) -> Vec<u32> {
        let mut before = std::mem::take(&mut *self.idle_wakes.borrow_mut());
        before.clear();
        before.extend(self.tasks().iter().enumerate().map(|(u, cell)| {
            if u == t {
                return 0;
            }
            cell.try_borrow().map_or(u32::MAX, |k| k.slots[k.latest].wakes())
        }));
        before
    }

    /// After an idle poll of `t` (`task`) that returned `Pending`: counts it, notes whom
    /// it woke (`before` from [`Run::idle_snapshot`], `self_woke` for itself), and
    /// reports a spin once the count passes the bound.
    pub(super) fn idle_poll(&self, t: usize, task: &mut Task, before: Vec<u32>, self_woke: bool) {
        let epoch = self.progress.get();
        for (u, cell) in self.tasks().iter().enumerate() {
            if u == t || before.get(u).is_none_or(|&w| w == u32::MAX) {
                continue;
            }
            if let Ok(mut other) = cell.try_borrow_mut() {
                if other.slots[other.latest].wakes() > before[u] {
                    other.idle.current(epoch).woken_by |= bit(t);
                }
            }
        }
        *self.idle_wakes.borrow_mut() = before;
        let trace_len = self.trace.borrow().len();
        let idle = task.idle.current(epoch);
        if self_woke {
            idle.woken_by |= bit(t);
        }
        idle.polls += 1;
        if idle.polls == 1 {
            idle.start = trace_len;
        }
        if idle.polls <= self.opts.spin_bound {
            return;
        }
        let idle = *idle;
        // The group: every task reachable from `t` through "woken by".
        let mut group = bit(t);
        loop {
            let mut grown = group;
            let mut start = idle.start;
            for (u, cell) in self.tasks().iter().enumerate() {
                if group & bit(u) == 0 {
                    continue;
                }
                let by = if u == t {
                    Some(idle)
                } else {
                    cell.try_borrow().ok().map(|k| k.idle).filter(|i| i.epoch == epoch)
                };
                if let Some(by) = by {
                    grown |= by.woken_by;
                    start = start.min(by.start);
                }
            }
            if grown == group {
                let d = self.describe_group(t, &idle, group);
                // Any prefix from the group's first idle poll on replays the spin.
                self.violate_at(Violation::new(ViolationKind::Spin, Some((t, task.type_name)), d), start);
                return;
            }
            group = grown;
        }
    }

    fn describe_group(&self, t: usize, idle: &Idle, group: u64) -> String {
        let tasks =
            |mask: u64| -> Vec<usize> { (0..self.tasks().len().min(64)).filter(|&u| mask & bit(u) != 0).collect() };
        let woken = tasks(group)
            .into_iter()
            .filter_map(|u| {
                let by = if u == t {
                    idle.woken_by
                } else {
                    self.tasks()[u]
                        .try_borrow()
                        .map_or(0, |k| if k.idle.epoch == idle.epoch { k.idle.woken_by } else { 0 })
                };
                (by != 0).then(|| (u, tasks(by)))
            })
            .collect::<Vec<_>>();
        detect::spin::group_spinning(&tasks(group), &woken, idle.polls)
    }
}
