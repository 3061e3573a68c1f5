//! pollcheck keeps panics it catches quiet with a panic hook of its own. A test (or a
//! framework) that sets its own hook afterwards replaces it (`set_hook` does not
//! chain): the next panic pollcheck catches puts its hook back in front, so the other
//! hook sees one of pollcheck's panics, not every panic a check explores and shrinks.
//!
//! Its own binary: the panic hook is process-wide.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Waker};

use pollcheck::{Checker, Scenario, ViolationKind};

/// Registers its waker at its first poll (the driver step wakes it) and panics at any
/// later one: every schedule that polls it twice panics, and shrinking runs more.
struct PanicsWhenPolledAgain {
    waker: Rc<RefCell<Option<Waker>>>,
    polled: bool,
}

impl Future for PanicsWhenPolledAgain {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.polled, true) {
            panic!("polled again");
        }
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn scenario() -> Scenario {
    let waker = Rc::new(RefCell::new(None::<Waker>));
    let task = PanicsWhenPolledAgain { waker: Rc::clone(&waker), polled: false };
    Scenario::new().task(task).step(move || {
        if let Some(w) = waker.borrow_mut().take() {
            w.wake();
        }
    })
}

/// Runs a check that finds the panic; returns its report's text.
fn check() -> String {
    let report = Checker::new(scenario).try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::Panic, "{report}");
    assert!(report.violation().detail().contains("polled again"), "{report}");
    report.to_string()
}

static FOREIGN: AtomicUsize = AtomicUsize::new(0);

#[test]
fn a_hook_set_after_pollcheck_s_sees_one_panic_and_still_sees_the_others() {
    // pollcheck's hook is installed by the first check.
    let first = check();
    // Counts, and prints (so that a failing assertion below still shows).
    std::panic::set_hook(Box::new(|info| {
        FOREIGN.fetch_add(1, SeqCst);
        eprintln!("foreign hook: {info}");
    }));

    // The check still finds the panic (the first one pollcheck catches now reaches the
    // foreign hook, so its location is missing from the detail); the foreign hook
    // heard of that one at most, after which pollcheck's hook is back in front.
    check();
    let heard = FOREIGN.load(SeqCst);
    assert!(heard <= 1, "the foreign hook saw {heard} of the check's panics");
    assert_eq!(check(), first, "the report with the hook back");
    assert_eq!(FOREIGN.load(SeqCst), heard, "the second check's panics reached the foreign hook");

    // A panic outside any check still reaches the hook the test set.
    let outside = std::panic::catch_unwind(|| panic!("not pollcheck's"));
    assert!(outside.is_err());
    assert_eq!(FOREIGN.load(SeqCst), heard + 1);
}
