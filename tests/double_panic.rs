//! A panic while panicking aborts the process, which no test harness can catch: the
//! report so far must reach stderr before it does. Checked in a child process (this
//! test binary, run again on one test with `POLLCHECK_TEST_CHILD` set).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use pollcheck::{Bounds, Checker, Scenario};

#[derive(Default)]
struct State {
    value: Option<u32>,
    waker: Option<Waker>,
    senders: usize,
}

/// A channel whose sender wakes the receiver while it holds the state borrowed (legal),
/// and whose `Drop` borrows the state again (as local-channel's `Sender` does).
struct Sender(Rc<RefCell<State>>);

impl Sender {
    fn send(&self, v: u32) {
        let mut s = self.0.borrow_mut();
        s.value = Some(v);
        if let Some(w) = &s.waker {
            w.wake_by_ref();
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.0.borrow_mut().senders -= 1;
    }
}

struct Receiver(Rc<RefCell<State>>);

impl Future for Receiver {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut s = self.0.borrow_mut();
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Two sends on two senders. Under `r` the second send runs inside the first one's
/// wake, finds the state borrowed and panics; unwinding drops the step's sender,
/// whose `Drop` panics on the same borrow: the process aborts.
fn two_senders() -> Scenario {
    let state = Rc::new(RefCell::new(State { senders: 2, ..State::default() }));
    let (a, b) = (Sender(state.clone()), Sender(state.clone()));
    Scenario::new().task(Receiver(state)).step(move || a.send(1)).step(move || b.send(2))
}

const CHILD: &str = "POLLCHECK_TEST_CHILD";

#[test]
fn aborting_child() {
    if std::env::var_os(CHILD).is_none() {
        return; // only the child runs it
    }
    let _ = Checker::new(two_senders).bounds(Bounds { reentrant: 1, ..Bounds::default() }).replay("p0 r").try_run();
    unreachable!("the double panic aborts the process before this");
}

#[test]
#[cfg_attr(miri, ignore = "spawns a child process, which miri cannot")]
fn a_panic_while_panicking_prints_the_report_so_far_before_the_abort() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["aborting_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the child did not abort:\n{stderr}");
    for part in [
        "pollcheck: panic while panicking: the process is about to abort, so here is the report so far",
        "already borrowed",
        "schedule so far (2 actions, the running one last): p0 r",
        "replay: .replay(\"p0 r\")",
    ] {
        assert!(stderr.contains(part), "{part:?} not in the child's stderr:\n{stderr}");
    }
}

#[test]
fn without_the_nested_step_the_channel_passes() {
    let checker = Checker::new(two_senders);
    let checker = if cfg!(miri) { checker.depth(2).cases(1) } else { checker };
    checker.run();
}
