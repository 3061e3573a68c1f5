//! A bad environment variable is a clear error that names it, on every check of the
//! process (the variables are read once, and so is the error). Its own test binary:
//! it sets a process-wide variable before its first check.

use pollcheck::{Checker, Config, Scenario};

#[test]
fn a_bad_variable_names_itself_on_every_check() {
    std::env::set_var("POLLCHECK_SEED", "not-a-number");
    let expected = "POLLCHECK_SEED=\"not-a-number\" is not valid: expected an integer from 0 to 18446744073709551615 \
                    (decimal or 0x hex)";
    for _ in 0..2 {
        let err = std::panic::catch_unwind(|| Checker::new(Scenario::new).try_run()).unwrap_err();
        assert_eq!(err.downcast_ref::<String>().unwrap(), &format!("pollcheck: {expected}"));
    }
    // Fixing the variable later changes nothing: the error was read once.
    std::env::remove_var("POLLCHECK_SEED");
    let e = Config::from_env().unwrap_err();
    assert_eq!(e.var(), "POLLCHECK_SEED");
    assert_eq!(e.to_string(), expected);
}
