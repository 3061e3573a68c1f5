//! The report: the violation, the minimal schedule as a numbered timeline, and the
//! replay string that turns it into a regression test; and the journal it is read
//! from, the events of one run as the engine records them.

pub(crate) mod journal;
pub(crate) mod summary;

use std::fmt::{self, Write as _};

use crate::detect::violation::{Violation, ViolationKind};
use crate::report::journal::{ActionOrigin, Event, PollResult, WakerCall};
use crate::spec::schedule::{Schedule, Step};

/// Which part of the checker found the violation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FoundBy {
    /// The systematic phase, after this many schedules.
    Systematic {
        /// Schedules run until the violation showed.
        schedules: u64,
    },
    /// The random phase, in this case (rerun it alone with the same seed).
    Random {
        /// The random case, from 0.
        case: u64,
        /// The phase's seed.
        seed: u64,
    },
    /// A schedule given with [`Checker::replay`](crate::Checker::replay).
    Replay,
    /// `pollcheck::proptest` (feature `proptest`), in this case (from 1), its schedule
    /// shrunk by proptest. The same seed finds it again.
    Proptest {
        /// The failing case, counted from 1.
        case: u64,
        /// The runner's seed.
        seed: u64,
    },
    /// Another explorer (proptest, a fuzzer), named here.
    Other(&'static str),
}

impl fmt::Display for FoundBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FoundBy::Systematic { schedules } => {
                write!(f, "the systematic phase, schedule {schedules}")
            }
            FoundBy::Random { case, seed } => {
                write!(f, "the random phase, case {case} of seed {seed:#x}")
            }
            FoundBy::Replay => f.write_str("the replayed schedule"),
            FoundBy::Proptest { case, seed } => write!(f, "proptest, case {case} of seed {seed:#x}"),
            FoundBy::Other(name) => f.write_str(name),
        }
    }
}

/// A violation with everything needed to understand and reproduce it.
///
/// `Display` renders the full report; [`Checker::try_run`](crate::Checker::try_run)
/// returns it and [`check`](crate::check) panics with it.
#[derive(Clone, PartialEq, Eq)]
pub struct Report(Box<ReportData>);

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ReportData {
    pub(crate) violation: Violation,
    pub(crate) schedule: Schedule,
    pub(crate) timeline: Vec<String>,
    pub(crate) found_by: FoundBy,
    pub(crate) shrunk_from: usize,
    pub(crate) seed: u64,
    /// Lines printed after the replay line (how a hang ended, what was not done).
    pub(crate) notes: Vec<String>,
}

impl Report {
    pub(crate) fn new(data: ReportData) -> Self {
        Report(Box::new(data))
    }

    /// A report from a check that runs no schedule (the executor kit, the waker
    /// check): `steps` is what the check did, numbered like a timeline; there is no
    /// replay string.
    pub(crate) fn from_check(violation: Violation, steps: &[String], check: &'static str) -> Self {
        let timeline = steps.iter().enumerate().map(|(i, s)| format!("{:>3}  {s}", i + 1)).collect();
        Report::new(ReportData {
            violation,
            schedule: Schedule::new(Vec::new()),
            timeline,
            found_by: FoundBy::Other(check),
            shrunk_from: 0,
            seed: 0,
            notes: Vec::new(),
        })
    }

    /// The report of a check that did not run: its configuration is invalid
    /// ([`ViolationKind::InvalidConfig`]); `detail` names what and what is allowed.
    pub(crate) fn invalid_config(detail: impl Into<String>) -> Self {
        Report::from_check(Violation::new(ViolationKind::InvalidConfig, None, detail), &[], "the configuration")
    }

    /// The same report with `notes` printed at its end.
    pub(crate) fn with_notes(mut self, notes: Vec<String>) -> Self {
        self.0.notes = notes;
        self
    }

    /// Whether this report came from a check that runs no schedule.
    fn is_scheduleless(&self) -> bool {
        self.0.schedule.is_empty() && self.0.shrunk_from == 0 && matches!(self.0.found_by, FoundBy::Other(_))
    }

    /// The violation's kind.
    pub fn kind(&self) -> ViolationKind {
        self.0.violation.kind()
    }

    /// The violation.
    pub fn violation(&self) -> &Violation {
        &self.0.violation
    }

    /// The minimal schedule: every action up to the detection.
    pub fn schedule(&self) -> &Schedule {
        &self.0.schedule
    }

    /// The builder call that replays this schedule, e.g. `.replay("p0 w0 s0 d")`
    /// (empty for the executor kit's and the waker check's reports, which run no
    /// schedule: their [`timeline`](Report::timeline) says what the check did).
    pub fn replay(&self) -> String {
        format!(".replay(\"{}\")", self.0.schedule)
    }

    /// The numbered timeline, one line per action.
    pub fn timeline(&self) -> &[String] {
        &self.0.timeline
    }

    /// Who found it.
    pub fn found_by(&self) -> &FoundBy {
        &self.0.found_by
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.0.violation;
        write!(f, "pollcheck: {}", v.kind())?;
        if let (Some(t), Some(name)) = (v.task(), v.task_type()) {
            write!(f, " in task {t} ({name})")?;
        }
        writeln!(f)?;
        writeln!(f, "  {}", v.detail())?;
        if v.kind() == ViolationKind::InvalidConfig {
            return f.write_str("  nothing was checked");
        }
        if self.is_scheduleless() {
            writeln!(f, "  what the check did:")?;
            for line in &self.0.timeline {
                writeln!(f, "    {line}")?;
            }
            write!(f, "  found by {}", self.0.found_by)?;
            return self.write_notes(f);
        }
        let n = self.0.schedule.len();
        writeln!(f, "  minimal schedule ({n} step{}): {}", if n == 1 { "" } else { "s" }, self.0.schedule)?;
        for line in &self.0.timeline {
            writeln!(f, "    {line}")?;
        }
        write!(f, "  replay: {}   seed: {:#x}   found by {}", self.replay(), self.0.seed, self.0.found_by)?;
        if self.0.shrunk_from > n {
            write!(f, " (shrunk from {} steps)", self.0.shrunk_from)?;
        }
        self.write_notes(f)
    }
}

impl Report {
    fn write_notes(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for note in &self.0.notes {
            write!(f, "\n  note: {note}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Result::unwrap` prints the Debug form: make it the readable report.
        write!(f, "\n{self}")
    }
}

impl std::error::Error for Report {}

/// Renders a journal as timeline lines.
pub(crate) fn timeline(events: &[Event]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line: Option<Line> = None;
    let mut number = 0;
    for event in events {
        match event {
            Event::Action(step, origin) => {
                flush(&mut lines, line.take());
                number += 1;
                line = Some(Line::new(format!("{number:>3}  {:<3} {}", step.to_string(), describe(*step)), *origin));
            }
            Event::Skipped(step, why) => {
                flush(&mut lines, line.take());
                lines.push(format!("  -  {:<3} skipped: {why}", step.to_string()));
            }
            Event::Probe { task, result } => {
                flush(&mut lines, line.take());
                let mut l = Line::new(format!("  =  quiescent: extra poll of task {task}"), ActionOrigin::Schedule);
                l.result = Some(result_text(result));
                line = Some(l);
            }
            other => {
                let l = line.get_or_insert_with(|| Line::new("  .".into(), ActionOrigin::Schedule));
                l.effect(other);
            }
        }
    }
    flush(&mut lines, line.take());
    fold_repeats(lines)
}

/// Folds runs of actions that differ only in their number (a spinning task, or a
/// round of tasks waking each other) into their first and last round and a count.
fn fold_repeats(lines: Vec<String>) -> Vec<String> {
    /// Longest round folded: a livelock of up to this many actions.
    const ROUND: usize = 4;
    let body = |l: &str| l.get(5..).map(str::to_owned);
    let bodies: Vec<Option<String>> = lines.iter().map(|l| body(l)).collect();
    // How many whole rounds of `k` lines repeat from `i`.
    let rounds = |i: usize, k: usize| {
        let mut m = 0;
        while i + m < lines.len() && bodies[i + m].is_some() && bodies[i + m] == bodies[i + m % k] {
            m += 1;
        }
        m / k
    };
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        match (1..=ROUND).find_map(|k| Some((k, rounds(i, k))).filter(|&(_, r)| r > 3)) {
            Some((k, r)) => {
                out.extend(lines[i..i + k].iter().cloned());
                if k == 1 {
                    out.push(format!("  ... {} more of the same", r - 2));
                } else {
                    out.push(format!("  ... {} more rounds of the same {k} actions", r - 2));
                }
                out.extend(lines[i + (r - 1) * k..i + r * k].iter().cloned());
                i += r * k;
            }
            None => {
                out.push(lines[i].clone());
                i += 1;
            }
        }
    }
    out
}

struct Line {
    head: String,
    result: Option<String>,
    effects: Vec<(String, u32)>,
    drain: bool,
}

impl Line {
    fn new(head: String, origin: ActionOrigin) -> Self {
        Line { head, result: None, effects: Vec::new(), drain: origin == ActionOrigin::Drain }
    }

    fn effect(&mut self, event: &Event) {
        let text = match event {
            Event::Polled { task, waker, inside_wake, result, .. } => {
                if *inside_wake {
                    format!("inside that wake: polled task {task} with #{waker} -> {}", result_text(result))
                } else {
                    let _ = write!(self.head, " with waker #{waker}");
                    self.result = Some(result_text(result));
                    return;
                }
            }
            Event::NewWaker { task, waker } => {
                format!("task {task} gets waker #{waker} at its next poll")
            }
            Event::Clone { waker } => format!("cloned #{waker}"),
            Event::Wake { waker, by_ref, thread } => format!(
                "{}woke #{waker}{}",
                thread.as_ref().map(|t| format!("{t}: ")).unwrap_or_default(),
                if *by_ref { " by ref" } else { "" },
            ),
            Event::Drop { waker } => format!("dropped #{waker}"),
            Event::Note(text) => text.clone(),
            Event::DriverStep { index, location, inside_waker: Some(WakerCall::Wake(w)) } => {
                format!("inside that call on #{w}: driver step {index} ({location})")
            }
            Event::DriverStep { index, location, inside_waker: Some(WakerCall::Clone(w)) } => {
                format!("inside the clone of #{w}: driver step {index} ({location})")
            }
            Event::DriverStep { index, location, inside_waker: Some(WakerCall::Drop(w)) } => {
                format!("inside the drop of #{w}: driver step {index} ({location})")
            }
            Event::DriverStep { index, location, inside_waker: None } => {
                let _ = write!(self.head, " {index} ({location})");
                return;
            }
            Event::Items { items, .. } => {
                let moved = (items.count > 0).then(|| format!("{} {}", items.verb, items.items.join(", ")));
                match (&mut self.result, items.end) {
                    (Some(result), Some(end)) if result.starts_with("Ready") => {
                        // "Ready([1, 2])" -> "Ready(None) (yielded 2) => [1, 2]"
                        let out = result.strip_prefix("Ready(").map(|o| o.strip_suffix(')').unwrap_or(o).to_owned());
                        let mut text = end.to_owned();
                        if let Some(m) = moved {
                            let _ = write!(text, " ({m})");
                        }
                        if let Some(out) = out {
                            let _ = write!(text, " => {out}");
                        }
                        *result = text;
                        return;
                    }
                    (Some(result), _) => {
                        if let Some(m) = moved {
                            let _ = write!(result, " ({m})");
                        }
                        return;
                    }
                    (None, _) => match moved {
                        Some(m) => m,
                        None => return,
                    },
                }
            }
            Event::Action(..) | Event::Skipped(..) | Event::Probe { .. } => return,
        };
        // Fold repeats ("dropped #1 x3") to keep the line short.
        match self.effects.last_mut() {
            Some((last, count)) if *last == text => *count += 1,
            _ => self.effects.push((text, 1)),
        }
    }
}

fn flush(lines: &mut Vec<String>, line: Option<Line>) {
    let Some(l) = line else { return };
    let mut text = l.head;
    if let Some(r) = l.result {
        let _ = write!(text, " -> {r}");
    }
    for (i, (effect, count)) in l.effects.iter().enumerate() {
        text.push_str(if i == 0 { "; " } else { ", " });
        text.push_str(effect);
        if *count > 1 {
            let _ = write!(text, " x{count}");
        }
    }
    if l.drain {
        text.push_str("  (drain)");
    }
    lines.push(text);
}

pub(crate) fn describe(step: Step) -> String {
    match step {
        Step::Poll(t) => format!("poll task {t}"),
        Step::SpuriousPoll(t) => format!("spurious poll of task {t}"),
        Step::NewWaker(t) => format!("new waker for task {t}"),
        Step::Driver => "driver step".into(),
        Step::ReentrantDriver => "re-entrant driver step".into(),
        Step::Cancel(t) => format!("cancel (drop) task {t}"),
        Step::Abandon(t) => format!("abandon task {t} (never polled again)"),
        Step::Move(t) => format!("move task {t} to a new address"),
        Step::PollInsideWake(t) => {
            format!("arm a poll of task {t} inside the next wake of its waker")
        }
        Step::DriverInsideDrop => "arm the next driver step inside the next drop of a retired waker".into(),
        Step::ShortIo => "the next read or write of an I/O probe moves at most one byte".into(),
        Step::DriverInsideClone(t) => format!("arm the next driver step inside the next clone of task {t}'s waker"),
    }
}

fn result_text(result: &PollResult) -> String {
    let clip = |s: &str| {
        if s.chars().count() > 60 {
            format!("{}...", s.chars().take(57).collect::<String>())
        } else {
            s.to_owned()
        }
    };
    match result {
        PollResult::Pending => "Pending".into(),
        PollResult::Ready(Some(out)) => format!("Ready({})", clip(out)),
        PollResult::Ready(None) => "Ready".into(),
        PollResult::Panicked(msg) => format!("panicked: {}", clip(msg)),
    }
}
