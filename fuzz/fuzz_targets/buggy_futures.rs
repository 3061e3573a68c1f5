//! Arbitrary schedules against the buggy flavors of the zoo. A schedule may well pass
//! (not every schedule shows a bug), but a violation must be of a kind the future is
//! known for (common/mod.rs lists them), and nothing may panic out of the harness:
//! either crashes the target.

#![no_main]

mod common;

use common::buggy::Flavor;
use common::{clean_up, config, split, ZOO};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((which, schedule)) = split(data, ZOO.len()) else { return };
    let (name, scenario, kinds) = ZOO[which];
    if let Err(report) = pollcheck::arbitrary::try_check_schedule_with(&config(), &schedule, || scenario(Flavor::Buggy))
    {
        if !kinds.contains(&report.kind()) {
            panic!("the buggy {name} showed another violation than its own ({kinds:?}):\n{report}");
        }
    }
    clean_up();
});
