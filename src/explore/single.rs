//! Judging one schedule that an outside explorer chose (proptest, a fuzzer), and the
//! step table both of them draw steps from.

use crate::explore::finish::finish;
use crate::explore::judge::Judge;
use crate::explore::systematic::Usage;
use crate::liveness::{self, OnHang, Session};
use crate::report::{FoundBy, Report};
use crate::spec::config::{Bounds, Config};
use crate::spec::scenario::Scenario;
use crate::spec::schedule::{Step, MAX_TASKS};

/// The configuration from the `POLLCHECK_*` variables; panics naming a bad one.
#[cfg(feature = "arbitrary")]
#[track_caller]
pub(crate) fn env_config() -> Config {
    match Config::from_env() {
        Ok(c) => c,
        Err(e) => panic!("pollcheck: {e}"),
    }
}

/// Runs `steps` (those within `config.bounds`, see [`clip`]) on a fresh scenario from
/// `factory` and judges it; on a violation, renders the report (shrunk by pollcheck's
/// own shrinker when `shrink`).
///
/// Watched like a [`Checker::local`](crate::Checker::local) run: the factory may
/// borrow (a proptest case's inputs), so a hang prints its report and ends the
/// process (a fuzzer then keeps the input that did it).
pub(crate) fn judge_one(
    config: &Config,
    factory: &dyn Fn() -> Scenario,
    steps: &[Step],
    found_by: FoundBy,
    shrink: bool,
) -> Result<(), Report> {
    let session = config.poll_timeout.map(|t| Session::new(t, config.seed, OnHang::Exit));
    liveness::watch(session.as_ref(), |watched| {
        let judge = Judge::new(factory, config.spin_bound, watched);
        match judge.judge_steps(&clip(&config.bounds, steps)) {
            None => Ok(()),
            Some(found) => Err(finish(&judge, found, found_by, config, shrink)),
        }
    })
}

/// The steps of `steps` that stay within `bounds` (counting from the start), as the
/// random phase would pick them: with the default bounds, the re-entrant steps (`r`,
/// `i`, `u`) are dropped, and so is a third spurious poll. `bounds.depth` is not applied.
pub(crate) fn clip(bounds: &Bounds, steps: &[Step]) -> Vec<Step> {
    let mut usage = Usage::default();
    steps
        .iter()
        .copied()
        .filter(|&s| {
            let ok = usage.allows(bounds, s);
            if ok {
                usage.add(s);
            }
            ok
        })
        .collect()
}

/// Whether every step of `steps` stays within `bounds`.
#[cfg(feature = "proptest")]
pub(crate) fn within(bounds: &Bounds, steps: &[Step]) -> bool {
    let mut usage = Usage::default();
    steps.iter().all(|&s| {
        let ok = usage.allows(bounds, s);
        usage.add(s);
        ok
    })
}

/// The step kinds generated schedules draw from, indexed by a 4-bit number. Polls and
/// driver steps (what every bug needs) are the most frequent; the adversarial steps
/// appear often enough that a 10-step schedule usually holds one or two.
const KINDS: [u8; 16] =
    [b'p', b'p', b'b', b'u', b'd', b'd', b'd', b's', b's', b'w', b'w', b'r', b'i', b'c', b'a', b'm'];

/// The step of kind `KINDS[nibble % 16]` on `task` (ignored by `d`, `r`, `u` and `b`).
pub(crate) fn step_of(nibble: u8, task: usize) -> Step {
    let task = task % MAX_TASKS;
    match KINDS[usize::from(nibble % 16)] {
        b'p' => Step::Poll(task),
        b'd' => Step::Driver,
        b's' => Step::SpuriousPoll(task),
        b'w' => Step::NewWaker(task),
        b'r' => Step::ReentrantDriver,
        b'u' => Step::DriverInsideDrop,
        b'b' => Step::ShortIo,
        b'i' => Step::PollInsideWake(task),
        b'c' => Step::Cancel(task),
        b'a' => Step::Abandon(task),
        _ => Step::Move(task),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_reachable() {
        let mut seen: Vec<String> = (0..16).map(|n| step_of(n, 0).to_string()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["a0", "b", "c0", "d", "i0", "m0", "p0", "r", "s0", "u", "w0"]);
        assert_eq!(step_of(0, MAX_TASKS + 1), Step::Poll(1));
    }

    #[test]
    fn reentrant_drops_are_clipped_to_their_bound() {
        let steps: crate::spec::schedule::Schedule = "u p0 r u d i0".parse().unwrap();
        let clipped = |bounds: &Bounds| crate::spec::schedule::Schedule::new(clip(bounds, steps.steps())).to_string();
        assert_eq!(clipped(&Bounds::default()), "p0 d");
        let one = Bounds { reentrant_drops: 1, ..Bounds::default() };
        assert_eq!(clipped(&one), "u p0 d");
        let all = Bounds { reentrant_drops: 2, reentrant: 1, polls_inside_wake: 1, ..Bounds::default() };
        assert_eq!(clipped(&all), "u p0 r u d i0");
        #[cfg(feature = "proptest")]
        {
            assert!(!within(&one, steps.steps()));
            assert!(within(&one, &clip(&one, steps.steps())));
            assert!(within(&all, steps.steps()));
        }
    }

    #[test]
    fn short_io_is_clipped_to_its_bound() {
        let steps: crate::spec::schedule::Schedule = "b p0 b d b p0".parse().unwrap();
        let clipped = |bounds: &Bounds| crate::spec::schedule::Schedule::new(clip(bounds, steps.steps())).to_string();
        assert_eq!(clipped(&Bounds::default()), "b p0 b d p0");
        assert_eq!(clipped(&Bounds { short_io: 0, ..Bounds::default() }), "p0 d p0");
    }

    #[test]
    fn clipping_keeps_what_the_bounds_allow() {
        let steps: crate::spec::schedule::Schedule = "p0 i0 s0 s0 s0 w0 w0 d".parse().unwrap();
        let bounds = Bounds { spurious: 2, new_wakers: 1, polls_inside_wake: 0, ..Bounds::default() };
        assert_eq!(crate::spec::schedule::Schedule::new(clip(&bounds, steps.steps())).to_string(), "p0 s0 s0 w0 d");
        #[cfg(feature = "proptest")]
        {
            assert!(!within(&bounds, steps.steps()));
            assert!(within(&bounds, &clip(&bounds, steps.steps())));
        }
    }
}
