//! Shrinking: from a failing schedule to a minimal one that shows the same kind of
//! violation. Delete chunks of steps (halves, then quarters, down to single steps),
//! then turn spurious polls into honest ones where that still fails, until nothing
//! changes; finally keep only the actions up to the detection.

use crate::explore::judge::{Found, Judge};
use crate::spec::schedule::Step;

/// Shrinks `found`; also returns how many schedules it ran.
pub(crate) fn shrink(judge: &Judge<'_>, found: Found, budget: usize) -> (Found, usize) {
    let kind = found.violation.kind();
    let mut best = found;
    let runs = std::cell::Cell::new(0);
    // `shorter`: deletions must make the schedule strictly shorter, or they could
    // loop forever; rewrites may keep its length.
    let try_steps = |steps: &[Step], best: &mut Found, shorter: bool| -> bool {
        if runs.get() >= budget {
            return false;
        }
        runs.set(runs.get() + 1);
        match judge.judge_steps(steps) {
            Some(f)
                if f.violation.kind() == kind
                    && (f.schedule.len() < best.schedule.len()
                        || (!shorter && f.schedule.len() == best.schedule.len())) =>
            {
                *best = f;
                true
            }
            _ => false,
        }
    };
    loop {
        let before = best.schedule.clone();
        let mut chunk = (best.schedule.len() / 2).max(1);
        while chunk >= 1 {
            let mut start = 0;
            while start < best.schedule.len() {
                let mut candidate = best.schedule.clone();
                let end = (start + chunk).min(candidate.len());
                candidate.drain(start..end);
                if !try_steps(&candidate, &mut best, true) {
                    start += chunk;
                }
            }
            chunk /= 2;
        }
        for i in 0..best.schedule.len() {
            if let Some(&Step::SpuriousPoll(t)) = best.schedule.get(i) {
                let mut candidate = best.schedule.clone();
                candidate[i] = Step::Poll(t);
                try_steps(&candidate, &mut best, false);
            }
        }
        if best.schedule == before || runs.get() >= budget {
            return (best, runs.get());
        }
    }
}
