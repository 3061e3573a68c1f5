//! Environment variables are read in one place, once per process. This is its own
//! test binary because it sets process-wide variables, all of them before its first
//! check (a bad variable is tests/env_config_bad.rs, another process).

use pollcheck::{Checker, Config, Scenario};

#[test]
fn env_variables_apply_and_are_read_once() {
    std::env::set_var("POLLCHECK_CASES", "7");
    std::env::set_var("POLLCHECK_DEPTH", "2");
    let summary = Checker::new(|| Scenario::new().task(std::future::ready(()))).run();
    assert_eq!(summary.random, 7);
    // Builder settings override the environment.
    let summary = Checker::new(|| Scenario::new().task(std::future::ready(()))).cases(3).run();
    assert_eq!(summary.random, 3);

    // Read once: a variable set after the first check changes nothing.
    std::env::set_var("POLLCHECK_CASES", "9");
    let summary = Checker::new(|| Scenario::new().task(std::future::ready(()))).run();
    assert_eq!(summary.random, 7);
    assert_eq!(Config::from_env().unwrap().random_cases, 7);
}
