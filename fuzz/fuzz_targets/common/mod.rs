//! What the targets share: the zoo (tests/buggy, the crate's own fixed and buggy test
//! futures) and correct primitives from futures-channel and tokio::sync (tests/real,
//! which tests/real_crates.rs checks too), each a scenario factory; and the input
//! format.
#![allow(dead_code)]

#[path = "../../../tests/buggy/mod.rs"]
pub mod buggy;
#[path = "../../../tests/real/mod.rs"]
pub mod real;

use buggy::{
    bad_join, chain, countdown, early_drop, first_waker, flag, forgetful_select, leaky, locked_wake, moving_combinator,
    noop_select, notifier, second_poll, spinner, spurious, swapping_select, wake_before_store, Flavor,
};
use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use pollcheck::{Bounds, Config, Scenario, Schedule, ViolationKind};

/// The checks' configuration: bounds well beyond the systematic phase's (a fuzzer is
/// for the schedules it does not reach), polls inside wakes (`i`, opt-in in pollcheck)
/// included: they found two false positives, now fixed (tests/fuzz_findings.rs).
pub fn config() -> Config {
    let bounds = Bounds {
        spurious: 8,
        new_wakers: 4,
        cancels: 3,
        abandons: 3,
        moves: 4,
        reentrant: 4,
        polls_inside_wake: 2,
        ..Bounds::default()
    };
    Config { bounds, ..Config::default() }
}

/// A zoo entry: its name, its scenario, and the violations its buggy flavor may show:
/// first the one its test asserts, then other faces of the same bug (each explained
/// where it is listed).
pub type ZooEntry = (&'static str, fn(Flavor) -> Scenario, &'static [ViolationKind]);

use ViolationKind::*;

/// The zoo of tests/detectors.rs and tests/combinators.rs.
pub const ZOO: &[ZooEntry] = &[
    ("flag", flag::scenario, &[LostWakeup]),
    ("countdown", countdown::scenario, &[LostWakeup]),
    ("first_waker", first_waker::scenario, &[StaleWaker]),
    ("wake_before_store", wake_before_store::scenario, &[LostWakeup]),
    ("second_poll", second_poll::scenario, &[SpuriousPoll]),
    ("spurious::panicking", spurious::panicking, &[SpuriousPoll]),
    ("spurious::counting", spurious::counting, &[SpuriousPoll]),
    ("notifier", notifier::scenario, &[LostWakeup]),
    ("spinner", spinner::scenario, &[Spin]),
    ("bad_join", bad_join::scenario, &[PollAfterReady]),
    ("moving_combinator", moving_combinator::scenario, &[MovedWhilePinned]),
    ("locked_wake", locked_wake::scenario, &[Panic]),
    ("leaky", leaky::scenario, &[LeakedWaker]),
    ("bad_join::over_probes", bad_join::over_probes, &[PollAfterReady]),
    ("noop_select", noop_select::scenario, &[LostWakeup]),
    ("swapping_select", swapping_select::scenario, &[MovedWhilePinned]),
    // The select stops polling its second child, which keeps the waker of the first
    // poll: after a new waker (`w0`) and another poll, that child's wake reaches only
    // the old waker, a stale waker.
    ("forgetful_select", forgetful_select::scenario, &[LostWakeup, StaleWaker]),
    ("early_drop::double_drop", early_drop::double_drop, &[DoubleDrop]),
    ("early_drop::leak", early_drop::leak, &[LeakedFuture]),
    ("chain", chain::scenario, &[PollAfterReady]),
];

/// Frees what a buggy zoo future left behind on this thread (early_drop::leak's
/// children), so a long run does not grow.
pub fn clean_up() {
    early_drop::clear_graveyard();
}

/// A fuzz input: the first byte picks one of `n` scenarios, the rest is the schedule
/// (one byte per step, see `pollcheck::arbitrary`).
pub fn split(data: &[u8], n: usize) -> Option<(usize, Schedule)> {
    let (&which, rest) = data.split_first()?;
    let schedule = Schedule::arbitrary_take_rest(Unstructured::new(rest)).ok()?;
    Some((usize::from(which) % n, schedule))
}
