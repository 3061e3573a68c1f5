//! What the targets share: the zoo (tests/buggy, the crate's own fixed and buggy test
//! futures) and correct primitives from futures-channel and tokio::sync, each a
//! scenario factory; and the input format.
#![allow(dead_code)]

#[path = "../../../tests/buggy/mod.rs"]
pub mod buggy;
pub mod real;

use buggy::{
    bad_join, countdown, first_waker, flag, leaky, locked_wake, moving_combinator, notifier, second_poll, spinner,
    spurious, wake_before_store, Flavor,
};
use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use pollcheck::{Bounds, Config, Scenario, Schedule, ViolationKind};

/// The checks' configuration: bounds well beyond the systematic phase's (a fuzzer is
/// for the schedules it does not reach), polls inside wakes included.
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

/// A zoo entry: its name, its scenario, and the violation its buggy flavor shows.
pub type ZooEntry = (&'static str, fn(Flavor) -> Scenario, ViolationKind);

/// The zoo of tests/detectors.rs.
pub const ZOO: &[ZooEntry] = &[
    ("flag", flag::scenario, ViolationKind::LostWakeup),
    ("countdown", countdown::scenario, ViolationKind::LostWakeup),
    ("first_waker", first_waker::scenario, ViolationKind::StaleWaker),
    ("wake_before_store", wake_before_store::scenario, ViolationKind::LostWakeup),
    ("second_poll", second_poll::scenario, ViolationKind::SpuriousPoll),
    ("spurious::panicking", spurious::panicking, ViolationKind::SpuriousPoll),
    ("spurious::counting", spurious::counting, ViolationKind::SpuriousPoll),
    ("notifier", notifier::scenario, ViolationKind::LostWakeup),
    ("spinner", spinner::scenario, ViolationKind::Spin),
    ("bad_join", bad_join::scenario, ViolationKind::PollAfterReady),
    ("moving_combinator", moving_combinator::scenario, ViolationKind::MovedWhilePinned),
    ("locked_wake", locked_wake::scenario, ViolationKind::Panic),
    ("leaky", leaky::scenario, ViolationKind::LeakedWaker),
];

/// A fuzz input: the first byte picks one of `n` scenarios, the rest is the schedule
/// (one byte per step, see `pollcheck::arbitrary`).
pub fn split(data: &[u8], n: usize) -> Option<(usize, Schedule)> {
    let (&which, rest) = data.split_first()?;
    let schedule = Schedule::arbitrary_take_rest(Unstructured::new(rest)).ok()?;
    Some((usize::from(which) % n, schedule))
}
