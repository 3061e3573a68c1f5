//! A bad environment variable is a clear error that names it, on every check of the
//! process (the variables are read once, and so is the error). Its own test binary:
//! it sets a process-wide variable before its first check.

use pollcheck::{Checker, Config, Scenario, ViolationKind};

#[test]
fn a_bad_variable_names_itself_on_every_check() {
    std::env::set_var("POLLCHECK_SEED", "not-a-number");
    let expected = "POLLCHECK_SEED=\"not-a-number\" is not valid: expected an integer from 0 to 18446744073709551615 \
                    (decimal or 0x hex)";
    for _ in 0..2 {
        // An error, not a panic: `try_run` returns it as the report.
        let report = Checker::new(Scenario::new).try_run().unwrap_err();
        assert_eq!(report.kind(), ViolationKind::InvalidConfig);
        assert_eq!(report.violation().detail(), expected);
        assert_eq!(
            report.to_string(),
            format!("pollcheck: invalid configuration\n  {expected}\n  nothing was checked")
        );
        let report = Checker::local(Scenario::new).replay("p0").try_run().unwrap_err();
        assert_eq!(report.violation().detail(), expected);
    }
    // The executor kit's too.
    let report =
        pollcheck::try_check_executor(|| -> pollcheck::Executor { unreachable!("nothing is checked") }).unwrap_err();
    assert_eq!(report.kind(), ViolationKind::InvalidConfig);
    assert_eq!(report.violation().detail(), expected);
    // `run` panics with the same report.
    let panic = std::panic::catch_unwind(|| Checker::new(Scenario::new).run()).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().unwrap(),
        &format!("pollcheck: invalid configuration\n  {expected}\n  nothing was checked")
    );
    // Fixing the variable later changes nothing: the error was read once.
    std::env::remove_var("POLLCHECK_SEED");
    let e = Config::from_env().unwrap_err();
    assert_eq!(e.var(), "POLLCHECK_SEED");
    assert_eq!(e.to_string(), expected);
}
