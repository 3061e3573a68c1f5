//! Helpers several zoo-based test files share. The including file declares
//! `mod buggy;` (the zoo) too.
// Each includer uses a part of it.
#![allow(dead_code)]

use pollcheck::{Bounds, Checker, Report, Scenario, ViolationKind};

use crate::buggy::Flavor;

/// Catches the buggy flavor with `kind` and `schedule`, and passes the fixed one.
/// Under miri the buggy flavor replays `schedule` instead of exploring to find it, and
/// the fixed flavor replays it and explores one step deep.
pub fn proven(bounds: Bounds, scenario: fn(Flavor) -> Scenario, kind: ViolationKind, schedule: &str) -> Report {
    let report = caught(Checker::new(move || scenario(Flavor::Buggy)).bounds(bounds), kind, schedule);
    let fixed = || Checker::new(move || scenario(Flavor::Fixed)).bounds(bounds);
    if cfg!(miri) {
        // The buggy schedule on the fixed flavor, then one step deep: each run is slow
        // under miri, and the fixed flavor is explored whole natively.
        fixed().replay(schedule).run();
        fixed().depth(1).run();
    } else if let Err(report) = fixed().try_run() {
        panic!("the fixed flavor failed:\n{report}");
    }
    report
}

/// Catches `checker`'s scenario with `kind` and the minimal `schedule`: explores, or
/// under miri replays `schedule`.
pub fn caught<F: Fn() -> Scenario + Send + Sync + 'static>(
    checker: Checker<F>,
    kind: ViolationKind,
    schedule: &str,
) -> Report {
    let checker = if cfg!(miri) { checker.replay(schedule) } else { checker };
    let report = match checker.try_run() {
        Ok(summary) => panic!("passed {} schedules", summary.schedules()),
        Err(report) => report,
    };
    println!("{report}");
    assert_eq!(report.kind(), kind, "{report}");
    assert_eq!(report.schedule().to_string(), schedule, "{report}");
    report
}

/// A checker, with a shallower exploration under miri (slow there: one step deep, then
/// the drain, and one random case): every detector still runs, on fewer schedules.
pub fn checker<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F) -> Checker<F> {
    let checker = Checker::new(factory);
    if cfg!(miri) {
        checker.depth(1).cases(1)
    } else {
        checker
    }
}
