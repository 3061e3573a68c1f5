//! A hang, as the watchdog found it, and the report it becomes.

use std::fmt::Write as _;
use std::time::Duration;

use super::cpu::Verdict;
use super::{Activity, DropWhy, ExecutorCall, Inside, Phase, PollKind, Snapshot};
use crate::detect::violation::{Violation, ViolationKind};
use crate::report::journal::ActionOrigin;
use crate::report::{self, FoundBy, Report, ReportData};
use crate::spec::schedule::{Schedule, Step};

/// One activity that did not return within the timeout.
#[derive(Clone, Debug)]
pub(crate) struct Hang {
    pub(crate) snapshot: Snapshot,
    /// How long the activity had been running when the watchdog gave up on it.
    pub(crate) waited: Duration,
    /// CPU time the stuck thread used, and the wall time over which it was measured.
    pub(crate) cpu: Option<(Duration, Duration)>,
    pub(crate) verdict: Verdict,
    pub(crate) timeout: Duration,
    pub(crate) seed: u64,
    /// What `Phase::Executor(i)` names ([`Session::check_names`](super::Session)).
    pub(crate) check_names: &'static [&'static str],
}

/// What became of the stuck exploration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It ran on a helper thread, left behind; the check returns the report.
    Returned,
    /// It ran on the caller's thread: the report is printed and the process ends.
    ProcessEnds,
}

impl Hang {
    /// How many of the snapshot's actions ran to completion (the rest, at most one,
    /// is the stuck one).
    pub(crate) fn completed_actions(&self) -> usize {
        let steps = self.snapshot.steps.len();
        match self.snapshot.stack.first() {
            Some(a) if a.is_action() => steps.saturating_sub(1),
            _ => steps,
        }
    }

    /// The steps that replay the hang: every action up to the stuck one, drain actions
    /// included (as other violations' schedules hold every action up to the detection).
    pub(crate) fn replay(&self) -> Schedule {
        Schedule::new(self.snapshot.steps.iter().map(|(step, _)| *step).collect())
    }

    /// The report. `timeline`: the completed actions rendered from a journaled replay,
    /// if one could be made; otherwise they are told from the heartbeat alone.
    pub(crate) fn into_report(self, timeline: Option<Vec<String>>, outcome: Outcome) -> Report {
        let names = &self.snapshot.names;
        let stack = &self.snapshot.stack;
        let who = stack.iter().rev().find_map(|a| match *a {
            Activity::Poll { task, .. } | Activity::DropTask { task, .. } => {
                Some((task, names.tasks.get(task).copied().unwrap_or("?")))
            }
            _ => None,
        });
        let what = describe_stack(stack, names);
        let how = match (self.verdict, self.cpu) {
            (Verdict::BusyLoop, Some((cpu, over))) => format!(
                "a busy loop: the stuck thread burned {} of CPU in the {} it was watched",
                secs(cpu),
                secs(over)
            ),
            (Verdict::Blocked, Some((cpu, over))) => format!(
                "a deadlock: the stuck thread is blocked (it used {} of CPU in the {} it was watched)",
                secs(cpu),
                secs(over)
            ),
            _ => "whether it spins or blocks is unknown (this platform does not give a thread's CPU time)".to_owned(),
        };
        let detail = format!("{what} has not returned after {}: {how}", secs(self.waited));
        let completed = self.completed_actions();
        let mut lines = timeline.unwrap_or_else(|| told(&self.snapshot.steps[..completed], names));
        lines.push(stuck_line(&self.snapshot, completed, &what));
        let mut notes = vec![match outcome {
            Outcome::Returned => format!(
                "the exploration ran on a helper thread, which is left behind, stuck{}; the check returned \
                 this report",
                if self.verdict == Verdict::BusyLoop {
                    " (spinning, it keeps a core busy until it returns)"
                } else {
                    ""
                }
            ),
            Outcome::ProcessEnds => format!(
                "the check ran on this test's own thread (as `Checker::local`, the proptest and arbitrary \
                 entry points and the executor kit do), which is stuck: pollcheck printed this report and ends \
                 the process with exit status {}. Under cargo nextest each test is its own \
                 process and only this one fails; under cargo test the rest of this test binary does not run",
                EXIT_STATUS
            ),
        }];
        notes.push(format!(
            "timeout {} (`Checker::poll_timeout`, POLLCHECK_POLL_TIMEOUT_MS); a hang is not shrunk: each \
             candidate that hangs would cost the timeout and a thread",
            secs(self.timeout)
        ));
        if self.snapshot.cut {
            notes.push(format!(
                "the run was longer than {} actions: the timeline shows its start",
                super::heartbeat::MAX_STEPS
            ));
        }
        let violation = Violation::new(ViolationKind::Hang, who, detail);
        if let Phase::Executor(check) = Phase::from_code(self.snapshot.phase) {
            // The executor kit runs no schedule: its report says what the check did.
            let check = check_name(self.check_names, check);
            return Report::from_check(violation, &[format!("{what} -> has not returned")], check).with_notes(notes);
        }
        let schedule = self.replay();
        Report::new(ReportData {
            violation,
            shrunk_from: schedule.len(),
            schedule,
            timeline: lines,
            found_by: found_by(Phase::from_code(self.snapshot.phase), self.seed, self.check_names),
            seed: self.seed,
            notes,
        })
    }
}

/// The exit status when a hang ends the process (that of a failed Rust test).
pub(crate) const EXIT_STATUS: i32 = 101;

fn found_by(phase: Phase, seed: u64, check_names: &'static [&'static str]) -> FoundBy {
    match phase {
        Phase::Systematic(schedules) => FoundBy::Systematic { schedules },
        Phase::Random(case) => FoundBy::Random { case, seed },
        Phase::Replay => FoundBy::Replay,
        Phase::Shrink => FoundBy::Other("the shrinker, while shrinking another violation's schedule"),
        Phase::Timeline => FoundBy::Other("the replay that renders a report's timeline"),
        Phase::Executor(check) => FoundBy::Other(check_name(check_names, check)),
        Phase::Unknown => FoundBy::Other("a single schedule (proptest or a fuzz target)"),
    }
}

fn check_name(names: &'static [&'static str], check: u64) -> &'static str {
    usize::try_from(check).ok().and_then(|i| names.get(i)).copied().unwrap_or("the executor kit")
}

/// The running activities, innermost first: "driver step 1 (at ...), run inside a
/// waker call during the poll of task 0".
fn describe_stack(stack: &[Activity], names: &super::Names) -> String {
    let mut parts = stack.iter().rev().map(|a| describe(*a, names));
    let mut text = parts.next().unwrap_or_else(|| "an action".to_owned());
    for outer in parts {
        let _ = write!(text, ", during {outer}");
        if text.len() > 400 {
            break;
        }
    }
    text
}

fn describe(activity: Activity, names: &super::Names) -> String {
    let task = |t: usize| match names.tasks.get(t) {
        Some(name) => format!("task {t} ({name})"),
        None => format!("task {t}"),
    };
    match activity {
        Activity::Factory => "the scenario factory".into(),
        Activity::Poll { task: t, kind } => match kind {
            PollKind::Woken => format!("the poll of {}", task(t)),
            PollKind::Spurious => format!("the spurious poll of {}", task(t)),
            PollKind::InsideWake => format!("the poll of {} inside a wake of its waker", task(t)),
            PollKind::Probe => format!("the extra poll of {} at quiescence", task(t)),
        },
        Activity::Driver { index, inside } => {
            let at = names.steps.get(index).map(|l| format!(" ({l})")).unwrap_or_default();
            match inside {
                Inside::Nothing => format!("driver step {index}{at}"),
                Inside::Wake(w) => format!("driver step {index}{at}, run inside a wake of waker #{w}"),
                Inside::Drop(w) => format!("driver step {index}{at}, run inside the drop of waker #{w}"),
                Inside::Clone(w) => format!("driver step {index}{at}, run inside a clone of waker #{w}"),
            }
        }
        Activity::DropTask { task: t, why } => {
            let why = match why {
                DropWhy::Finished => "after it finished",
                DropWhy::Cancelled => "to cancel it",
                DropWhy::Panicked => "after its poll panicked",
                DropWhy::Teardown => "at teardown",
            };
            format!("dropping {} {why}", task(t))
        }
        Activity::DropDriver => "dropping the driver's remaining steps at teardown".into(),
        Activity::Executor(call) => match call {
            ExecutorCall::Factory => "the executor factory",
            ExecutorCall::Spawn => "the executor's spawn",
            ExecutorCall::Run => "running the executor until idle",
            ExecutorCall::Drop => "dropping the executor",
        }
        .into(),
    }
}

/// Timeline lines for `steps` told from the heartbeat alone (no poll results, no waker
/// events: those need a journaled replay).
fn told(steps: &[(Step, ActionOrigin)], names: &super::Names) -> Vec<String> {
    let mut driver = 0;
    steps
        .iter()
        .enumerate()
        .map(|(i, (step, origin))| {
            let mut line = format!("{:>3}  {:<3} {}", i + 1, step.to_string(), report::describe(*step));
            if *step == Step::Driver {
                if let Some(l) = names.steps.get(driver) {
                    let _ = write!(line, " {driver} ({l})");
                }
                driver += 1;
            }
            if *origin == ActionOrigin::Drain {
                line.push_str("  (drain)");
            }
            line
        })
        .collect()
}

fn stuck_line(snapshot: &Snapshot, completed: usize, what: &str) -> String {
    match snapshot.steps.get(completed) {
        Some((step, origin)) => format!(
            "{:>3}  {:<3} {} -> has not returned: {what}{}",
            completed + 1,
            step.to_string(),
            report::describe(*step),
            if *origin == ActionOrigin::Drain { "  (drain)" } else { "" }
        ),
        None => format!("  =  {what} -> has not returned"),
    }
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
