//! Environment variables are read in one place; a bad one is a clear error. This is
//! its own test binary because it sets process-wide variables.

use pollcheck::{Checker, Scenario};

#[test]
fn env_variables_apply_and_a_bad_one_names_itself() {
    std::env::set_var("POLLCHECK_CASES", "7");
    std::env::set_var("POLLCHECK_DEPTH", "2");
    let summary = Checker::new(|| Scenario::new().task(std::future::ready(()))).run();
    assert_eq!(summary.random, 7);
    // Builder settings override the environment.
    let summary = Checker::new(|| Scenario::new().task(std::future::ready(()))).cases(3).run();
    assert_eq!(summary.random, 3);

    std::env::set_var("POLLCHECK_SEED", "not-a-number");
    let err = std::panic::catch_unwind(|| Checker::new(Scenario::new).try_run()).unwrap_err();
    let message = err.downcast_ref::<String>().unwrap();
    assert_eq!(
        message,
        "pollcheck: POLLCHECK_SEED=\"not-a-number\" is not valid: expected an integer from 0 to 18446744073709551615 (decimal or 0x hex)"
    );
    std::env::remove_var("POLLCHECK_SEED");
}
