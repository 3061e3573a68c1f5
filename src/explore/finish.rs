//! The end of a failing exploration: the schedule shrunk (unless replaying), run once
//! more with the journal on, and rendered as the report.

use crate::engine::Replay;
use crate::explore::judge::{Found, Judge};
use crate::liveness::Phase;
use crate::report::{self, FoundBy, Report, ReportData};
use crate::spec::config::Config;
use crate::spec::schedule::Schedule;

/// How many schedules a shrink may run.
/// Small under miri, where a run costs milliseconds: exploration finds schedules
/// shortest first anyway, so shrinking mostly confirms.
const SHRINK_BUDGET: usize = if cfg!(miri) { 16 } else { 4096 };

/// Shrinks (unless replaying) and renders the report.
pub(crate) fn finish(judge: &Judge<'_>, found: Found, found_by: FoundBy, config: &Config, shrink: bool) -> Report {
    let shrunk_from = found.schedule.len();
    judge.set_phase(Phase::Shrink);
    let found = if shrink { crate::explore::shrink::shrink(judge, found, SHRINK_BUDGET).0 } else { found };
    judge.set_phase(Phase::Timeline);
    let journal = judge.run(&mut Replay::new(&found.schedule), true, true).map(|o| o.journal).unwrap_or_default();
    Report::new(ReportData {
        violation: found.violation,
        schedule: Schedule::new(found.schedule),
        timeline: report::timeline(&journal),
        found_by,
        shrunk_from,
        seed: config.seed,
        notes: Vec::new(),
    })
}
