//! The proptest entry point with the settings it uses under miri: no failure file,
//! no fork, no timeout, 4 cases. Runs in `cargo test` too; under miri:
//!
//! ```text
//! cargo +nightly miri test --features proptest --test proptest_miri --test proptest_user
//! ```
#![cfg(feature = "proptest")]

mod buggy;

use buggy::{countdown, flag, Flavor};
use futures_channel::oneshot;
use pollcheck::proptest::{self as pp, PropChecker};
use pollcheck::{FoundBy, Scenario, ViolationKind};

#[test]
fn the_runner_config_is_miri_safe() {
    let config = pp::config();
    if cfg!(miri) {
        assert!(config.failure_persistence.is_none());
        if std::env::var_os("PROPTEST_CASES").is_none() {
            assert_eq!(config.cases, 4);
        }
    }
}

#[test]
fn a_correct_oneshot_passes() {
    let summary = pp::check(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        Scenario::new().task(rx).step(move || {
            let _ = tx.send(7);
        })
    });
    if cfg!(miri) && std::env::var_os("PROPTEST_CASES").is_none() {
        assert_eq!(summary.cases, 4);
    }
    assert!(summary.cases > 0);
}

#[test]
fn a_lost_wakeup_is_found_and_shrunk() {
    // Found in the first case with the default seed, so 4 cases are plenty.
    let report = pp::try_check(|| countdown::scenario(Flavor::Buggy)).unwrap_err();
    assert_eq!(report.kind(), ViolationKind::LostWakeup, "{report}");
    assert_eq!(report.schedule().to_string(), "p0");
    assert!(matches!(report.found_by(), FoundBy::Proptest { case: 1, seed: 0x5eed }), "{report}");
    assert_eq!(report.replay(), ".replay(\"p0\")");
}

#[test]
fn the_builder_overrides_the_case_count() {
    let report = PropChecker::new(|| flag::scenario(Flavor::Buggy)).cases(32).try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::LostWakeup, "{report}");
    assert_eq!(report.schedule().to_string(), "p0");
    let summary = PropChecker::new(|| flag::scenario(Flavor::Fixed)).cases(3).run();
    assert_eq!(summary.cases, 3);
}
