//! Arbitrary schedules against correct futures: the fixed flavors of the zoo and
//! correct primitives from futures-channel and tokio::sync. Any violation pollcheck
//! reports here is a false positive, and crashes the target with the (shrunk) report.
#![no_main]

mod common;

use common::buggy::Flavor;
use common::real::REAL;
use common::{config, split, ZOO};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((which, schedule)) = split(data, ZOO.len() + REAL.len()) else { return };
    let (name, factory): (&str, Box<dyn Fn() -> pollcheck::Scenario>) = match ZOO.get(which) {
        Some(&(name, scenario, _)) => (name, Box::new(move || scenario(Flavor::Fixed))),
        None => {
            let (name, scenario) = REAL[which - ZOO.len()];
            (name, Box::new(scenario))
        }
    };
    let config = config();
    if pollcheck::arbitrary::try_check_schedule_with(&config, &schedule, &factory).is_err() {
        eprintln!("false positive on the correct {name}, schedule {schedule}");
        pollcheck::arbitrary::check_schedule_with(&config, &schedule, &factory);
    }
});
