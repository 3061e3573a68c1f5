//! One check in progress and what it can do to the executor and its tasks.

use std::panic::Location;

use super::task::{ExecutorTask, Script};
use super::{watched, Executor, Runner};
use crate::detect::violation::{Violation, ViolationKind};
use crate::engine::panic_capture;
use crate::instrument::probe::{probe_in, Mode, ProbeHandle};
use crate::liveness::{ExecutorCall, Heartbeat};

/// Most `step` calls of a [stepped](Executor::stepped) executor per run before it
/// counts as never idle.
pub(super) const STEP_BOUND: usize = if cfg!(miri) { 200 } else { 10_000 };

/// One task spawned by a check, and its handle.
pub(super) struct Spawned {
    pub(super) handle: ProbeHandle<()>,
    pub(super) script: Script,
}

/// One check in progress: the executor, its tasks, and what was done so far.
pub(super) struct Kit {
    pub(super) executor: Option<Executor>,
    pub(super) tasks: Vec<Spawned>,
    pub(super) steps: Vec<String>,
    pub(super) heartbeat: Option<std::sync::Arc<Heartbeat>>,
}

pub(super) type Checked = Result<(), Violation>;

impl Kit {
    pub(super) fn violation(&self, task: usize, kind: ViolationKind, detail: String) -> Violation {
        Violation::new(kind, Some((task, self.tasks[task].script.label())), detail)
    }

    pub(super) fn spawn(&mut self, script: Script) -> Result<usize, Violation> {
        let (probe, handle) = probe_in(Mode::Kit, "task", Location::caller());
        if script == Script::ReadyAtOnce || script == Script::WakeThenReady {
            handle.fill(());
        }
        let index = self.tasks.len();
        self.tasks.push(Spawned { handle, script });
        self.steps.push(format!("spawn task {index} ({})", script.label()));
        let executor = self.executor.as_mut().expect("the executor is alive while tasks are spawned");
        let task = ExecutorTask { probe, script, polled: false };
        watched(&self.heartbeat, ExecutorCall::Spawn, || panic_capture::catch(|| (executor.spawn)(task)))
            .map_err(|p| Violation::new(ViolationKind::Panic, None, format!("spawn panicked: {p}")))?;
        Ok(index)
    }

    pub(super) fn run(&mut self) -> Checked {
        let executor = self.executor.as_mut().expect("the executor is alive while it runs");
        let idle = watched(&self.heartbeat, ExecutorCall::Run, || match &mut executor.run {
            Runner::UntilIdle(run) => panic_capture::catch(run).map(|()| true),
            Runner::Stepped(step) => panic_capture::catch(|| (0..STEP_BOUND).any(|_| !step())),
        });
        let idle = idle
            .map_err(|p| Violation::new(ViolationKind::Panic, None, format!("running the executor panicked: {p}")))?;
        self.steps.push(format!("run until idle -> {}", self.status()));
        self.collect()?;
        if !idle {
            return Err(Violation::new(
                ViolationKind::Spin,
                None,
                format!("the executor was still busy after {STEP_BOUND} steps, with every task finished or waiting"),
            ));
        }
        Ok(())
    }

    pub(super) fn status(&self) -> String {
        let tasks: Vec<String> = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let h = &t.handle;
                let state = if h.is_finished() {
                    "Ready"
                } else if h.polls() > 0 {
                    "Pending"
                } else {
                    "never polled"
                };
                let polls = h.polls();
                let dropped = if h.is_dropped() { ", dropped" } else { "" };
                format!("task {i}: {polls} poll{}, {state}{dropped}", if polls == 1 { "" } else { "s" })
            })
            .collect();
        tasks.join("; ")
    }

    /// What the tasks saw the executor do to them.
    pub(super) fn collect(&self) -> Checked {
        for (i, t) in self.tasks.iter().enumerate() {
            if let Some(v) = t.handle.take_violations().into_iter().next() {
                return Err(self.violation(i, v.kind(), v.detail().to_owned()));
            }
        }
        Ok(())
    }

    pub(super) fn drop_executor(&mut self) -> Checked {
        let executor = self.executor.take();
        watched(&self.heartbeat, ExecutorCall::Drop, || panic_capture::catch(move || drop(executor)))
            .map_err(|p| Violation::new(ViolationKind::Panic, None, format!("dropping the executor panicked: {p}")))?;
        self.steps.push(format!("drop the executor -> {}", self.status()));
        self.collect()
    }

    /// Fails unless task `t` returned `Ready`.
    pub(super) fn expect_ready(&self, t: usize, after: &str) -> Checked {
        let h = &self.tasks[t].handle;
        if h.is_finished() {
            return Ok(());
        }
        let detail = if h.polls() == 0 {
            format!("the task was spawned and the executor ran until idle, but it never polled it{after}")
        } else {
            let polls = h.polls();
            let s = if polls == 1 { "" } else { "s" };
            format!("{after}; the executor ran until idle without polling it again (polled {polls} time{s} in all)")
        };
        Err(self.violation(t, ViolationKind::LostWakeup, detail))
    }

    pub(super) fn expect_dropped(&self, t: usize, detail: &str) -> Checked {
        if self.tasks[t].handle.is_dropped() {
            return Ok(());
        }
        Err(self.violation(t, ViolationKind::LeakedFuture, detail.to_owned()))
    }

    /// Completes task `t` without waking it and returns a clone of its waker.
    pub(super) fn complete_silently(&mut self, t: usize) -> Result<std::task::Waker, Violation> {
        let h = &self.tasks[t].handle;
        if h.polls() == 0 {
            return Err(self.violation(
                t,
                ViolationKind::LostWakeup,
                "the task was spawned and the executor ran until idle, but it never polled it".into(),
            ));
        }
        h.fill(());
        h.registered_waker().ok_or_else(|| {
            self.violation(t, ViolationKind::LostWakeup, "the task returned Pending, yet holds no waker".into())
        })
    }

    pub(super) fn note(&mut self, what: impl Into<String>) {
        self.steps.push(what.into());
    }
}
