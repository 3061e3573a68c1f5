//! Schedules from fuzzers (feature `arbitrary`): [`Schedule`] and [`Step`] implement
//! [`Arbitrary`], so a cargo-fuzz target can take a schedule as its input, and
//! [`check_schedule`] runs a scenario on it and panics (the fuzzer's crash) with the
//! report on any violation.
//!
//! ```no_run
//! # use pollcheck::Scenario;
//! # fn my_scenario() -> Scenario { Scenario::new() }
//! // fuzz/fuzz_targets/my_channel.rs
//! # macro_rules! fuzz_target { (|$s:ident: $t:ty| $body:block) => { fn f($s: $t) $body }; }
//! fuzz_target!(|schedule: pollcheck::Schedule| {
//!     pollcheck::arbitrary::check_schedule(&schedule, my_scenario);
//! });
//! ```
//!
//! # Encoding
//!
//! One byte per step, so fuzzers' byte mutations are step mutations: the low four bits
//! choose the kind (polls and driver steps most often), the high four the task (0 for
//! half of the values, then 1, 2, 3; `0xf_` reads one more byte for tasks 4 to 63).
//! `Schedule::arbitrary_take_rest` (what `fuzz_target!` calls) turns every byte
//! into steps; `Schedule::arbitrary` reads a length first, like `Vec`.
//!
//! # Bounds
//!
//! The checks run the steps that stay within the configuration's
//! [`Bounds`](crate::Bounds) (counting from the start) and skip the others, as the
//! random phase would: with the defaults, a third spurious poll is skipped, and so
//! are the re-entrant steps (`r`, `i0`, `u`, off by default, see
//! [`Step::PollInsideWake`](crate::Step::PollInsideWake)). The `POLLCHECK_MAX_*`
//! variables raise them, or pass a [`Config`] to [`check_schedule_with`].

use arbitrary::{Arbitrary, Result, Unstructured};

use crate::explore::single::{env_config, judge_one, step_of};
use crate::report::{FoundBy, Report};
use crate::spec::config::Config;
use crate::spec::scenario::Scenario;
use crate::spec::schedule::{Schedule, Step, MAX_TASKS};

const FOUND_BY: FoundBy = FoundBy::Other("an arbitrary schedule");

impl<'a> Arbitrary<'a> for Step {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let byte = u8::arbitrary(u)?;
        let kind = byte & 0x0f;
        let probe = step_of(kind, 0);
        if probe.task().is_none() {
            return Ok(probe);
        }
        let task = match byte >> 4 {
            0..=7 => 0,
            8..=11 => 1,
            12..=13 => 2,
            14 => 3,
            _ => 4 + usize::from(u8::arbitrary(u)?) % (MAX_TASKS - 4),
        };
        Ok(step_of(kind, task))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (1, Some(2))
    }
}

impl<'a> Arbitrary<'a> for Schedule {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        u.arbitrary_iter::<Step>()?.collect::<Result<Vec<_>>>().map(Schedule::new)
    }

    fn arbitrary_take_rest(mut u: Unstructured<'a>) -> Result<Self> {
        let mut steps = Vec::with_capacity(u.len());
        while !u.is_empty() {
            steps.push(Step::arbitrary(&mut u)?);
        }
        Ok(Schedule::new(steps))
    }

    fn size_hint(_depth: usize) -> (usize, Option<usize>) {
        (0, None)
    }
}

/// Runs `schedule` on a fresh scenario from `factory` and panics with the
/// [`Report`] (its schedule shrunk first) if it shows a violation: in a fuzz target,
/// any violation becomes a crash whose message is the report.
///
/// ```
/// use futures_channel::oneshot;
/// use pollcheck::{Scenario, Schedule};
///
/// let schedule: Schedule = arbitrary::Arbitrary::arbitrary_take_rest(
///     arbitrary::Unstructured::new(&[0x00, 0x07, 0x04, 0x00]),
/// )
/// .unwrap();
/// assert_eq!(schedule.to_string(), "p0 s0 d p0");
/// pollcheck::arbitrary::check_schedule(&schedule, || {
///     let (tx, rx) = oneshot::channel::<u32>();
///     Scenario::new().task(rx).step(move || { let _ = tx.send(7); })
/// });
/// ```
///
/// # Panics
/// On a violation, with the report; if a `POLLCHECK_*` environment variable is invalid.
#[track_caller]
pub fn check_schedule<F: Fn() -> Scenario>(schedule: &Schedule, factory: F) {
    check_schedule_with(&env_config(), schedule, factory);
}

/// Like [`check_schedule`], with this configuration instead of the environment's.
///
/// ```
/// use pollcheck::{Bounds, Config, Scenario};
/// use futures_channel::oneshot;
///
/// // Polls inside wakes are off by default; this run allows two.
/// let config = Config { bounds: Bounds { polls_inside_wake: 2, ..Bounds::default() }, ..Config::default() };
/// pollcheck::arbitrary::check_schedule_with(&config, &"p0 i0 d".parse().unwrap(), || {
///     let (tx, rx) = oneshot::channel::<u32>();
///     Scenario::new().task(rx).step(move || { let _ = tx.send(7); })
/// });
/// ```
///
/// # Panics
/// On a violation, with the report.
#[track_caller]
pub fn check_schedule_with<F: Fn() -> Scenario>(config: &Config, schedule: &Schedule, factory: F) {
    if let Err(report) = judge_one(config, &factory, schedule.steps(), FOUND_BY, true) {
        panic!("{report}");
    }
}

/// Like [`check_schedule`], returning the report (not shrunk, so a fuzz target that
/// expects violations stays fast) instead of panicking.
///
/// ```
/// use pollcheck::{Scenario, ViolationKind};
/// use std::task::Poll;
///
/// // Returns Pending once without keeping its waker: a lost wakeup.
/// let report = pollcheck::arbitrary::try_check_schedule(&"p0 d".parse().unwrap(), || {
///     let mut first = true;
///     Scenario::new().task(std::future::poll_fn(move |_| {
///         if std::mem::take(&mut first) { Poll::Pending } else { Poll::Ready(()) }
///     }))
/// })
/// .unwrap_err();
/// assert_eq!(report.kind(), ViolationKind::LostWakeup);
/// ```
///
/// An invalid `POLLCHECK_*` environment variable checks nothing: the report is an
/// [`InvalidConfig`](crate::ViolationKind::InvalidConfig) whose detail names it.
pub fn try_check_schedule<F: Fn() -> Scenario>(schedule: &Schedule, factory: F) -> std::result::Result<(), Report> {
    let config = Config::from_env().map_err(|e| Report::invalid_config(e.to_string()))?;
    try_check_schedule_with(&config, schedule, factory)
}

/// Like [`try_check_schedule`], with this configuration instead of the environment's.
pub fn try_check_schedule_with<F: Fn() -> Scenario>(
    config: &Config,
    schedule: &Schedule,
    factory: F,
) -> std::result::Result<(), Report> {
    judge_one(config, &factory, schedule.steps(), FOUND_BY, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> String {
        Schedule::arbitrary_take_rest(Unstructured::new(bytes)).unwrap().to_string()
    }

    #[test]
    fn one_byte_per_step() {
        assert_eq!(decode(&[]), "");
        assert_eq!(decode(&[0x00, 0x80, 0xc7, 0xe9, 0x04, 0xfb]), "p0 p1 s2 w3 d r");
        assert_eq!(decode(&[0xf0, 0x00, 0xf0, 0x3b, 0xf0]), "p4 p63 p4");
    }

    #[test]
    fn every_step_can_be_generated() {
        let mut seen = std::collections::BTreeSet::new();
        for b in 0..=255u8 {
            let extras = if b >> 4 == 0xf { 0..60 } else { 0..1 };
            for extra in extras {
                seen.insert(Step::arbitrary(&mut Unstructured::new(&[b, extra])).unwrap());
            }
        }
        // Seven kinds on each task, plus `d`, `r`, `u` and `b`.
        assert_eq!(seen.len(), 7 * MAX_TASKS + 4);
        assert!(seen.iter().all(|s| s.task().is_none_or(|t| t < MAX_TASKS)));
    }
}
