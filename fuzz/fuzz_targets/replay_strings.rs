//! Arbitrary text into the schedule parser: it must return a schedule or an error,
//! never panic. What parses must print back to a string that parses to the same
//! schedule, and must replay (on a correct and on a buggy scenario) into a verdict
//! whose report renders and whose replay string parses again.
#![no_main]

mod common;

use common::buggy::{first_waker, Flavor};
use common::config;
use common::real::REAL;
use libfuzzer_sys::fuzz_target;
use pollcheck::{Schedule, Step};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for token in text.split_whitespace() {
        let _ = token.parse::<Step>();
    }
    let schedule = match text.parse::<Schedule>() {
        Ok(schedule) => schedule,
        Err(e) => {
            // The error names a token of the input.
            assert!(text.split_whitespace().any(|t| t == e.token()), "{e}");
            let _ = e.to_string();
            return;
        }
    };
    let printed = schedule.to_string();
    assert_eq!(printed.parse::<Schedule>().as_ref(), Ok(&schedule), "{printed:?}");
    // Replays are cheap only while short; the parser is what is fuzzed.
    if schedule.len() > 64 {
        return;
    }
    let correct = REAL[usize::from(data.first().copied().unwrap_or(0)) % REAL.len()].1;
    let buggy = || first_waker::scenario(Flavor::Buggy);
    let config = config();
    for result in [
        pollcheck::arbitrary::try_check_schedule_with(&config, &schedule, correct),
        pollcheck::arbitrary::try_check_schedule_with(&config, &schedule, buggy),
    ] {
        if let Err(report) = result {
            let _ = report.to_string();
            let replay = report.schedule().to_string();
            assert_eq!(replay.parse::<Schedule>().as_ref(), Ok(report.schedule()), "{report}");
        }
    }
});
