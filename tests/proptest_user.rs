//! How a user combines pollcheck's schedules with their own generated inputs inside
//! a `proptest!` block: the schedule is one more input, `try_check_schedule` judges
//! it, and `?` turns a violation into a proptest failure carrying pollcheck's report.
#![cfg(feature = "proptest")]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::task::{Poll, Waker};

use futures_channel::mpsc;
use futures_util::StreamExt;
use pollcheck::proptest::{schedules, try_check_schedule};
use pollcheck::Scenario;
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestError, TestRng, TestRunner};

/// futures-channel's unbounded mpsc: one driver step per value, then one that closes
/// the channel. The task collects everything and checks it got the values in order
/// (a mismatch panics, which pollcheck reports as a violation).
fn mpsc_scenario(values: &[u8]) -> Scenario {
    let (tx, rx) = mpsc::unbounded::<u8>();
    let tx = Rc::new(tx);
    let expected = values.to_vec();
    let mut scenario = Scenario::new().task(async move {
        let got: Vec<u8> = rx.collect().await;
        assert_eq!(got, expected);
    });
    for &v in values {
        let tx = Rc::clone(&tx);
        scenario = scenario.step(move || {
            let _ = tx.unbounded_send(v);
        });
    }
    scenario.step(move || tx.close_channel())
}

proptest! {
    #![proptest_config(pollcheck::proptest::config())]

    #[test]
    fn mpsc_delivers_every_value_in_order(
        values in prop::collection::vec(any::<u8>(), 0..4),
        schedule in schedules(1),
    ) {
        try_check_schedule(&schedule, || mpsc_scenario(&values))?;
    }
}

/// A queue whose receiver forgets to register its waker after it took a value of
/// 100 or more: a lost wakeup that needs both the right values and the right schedule.
fn forgetful_scenario(values: &[u8]) -> Scenario {
    #[derive(Default)]
    struct Shared {
        queue: VecDeque<u8>,
        closed: bool,
        waker: Option<Waker>,
    }
    let shared = Rc::new(RefCell::new(Shared::default()));
    let rx = {
        let shared = Rc::clone(&shared);
        let mut got = Vec::new();
        std::future::poll_fn(move |cx| {
            let mut s = shared.borrow_mut();
            let mut forget = false;
            while let Some(v) = s.queue.pop_front() {
                forget = v >= 100;
                got.push(v);
            }
            if s.closed {
                return Poll::Ready(std::mem::take(&mut got));
            }
            let old = if forget { None } else { s.waker.replace(cx.waker().clone()) };
            drop(s);
            drop(old);
            Poll::Pending
        })
    };
    let send = |shared: &Rc<RefCell<Shared>>, f: &dyn Fn(&mut Shared)| {
        let waker = {
            let mut s = shared.borrow_mut();
            f(&mut s);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    };
    let mut scenario = Scenario::new().task(rx);
    for &v in values {
        let shared = Rc::clone(&shared);
        scenario = scenario.step(move || send(&shared, &|s| s.queue.push_back(v)));
    }
    scenario.step(move || send(&shared, &|s| s.closed = true))
}

/// The same combination driven by a `TestRunner` directly, to look at what proptest
/// shrinks a failure to: the schedule first, then the values (down to the one value
/// that triggers the bug).
#[test]
#[cfg_attr(miri, ignore = "needs hundreds of cases")]
fn a_bug_that_needs_a_value_and_a_schedule_shrinks_both() {
    let config = ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = (prop::collection::vec(any::<u8>(), 0..4), schedules(1));
    let result = runner.run(&strategy, |(values, schedule)| {
        try_check_schedule(&schedule, || forgetful_scenario(&values))?;
        Ok(())
    });
    let Err(TestError::Fail(reason, (values, schedule))) = result else {
        panic!("no failure found: {result:?}");
    };
    println!("{reason}\nvalues: {values:?}\nschedule: {schedule}");
    assert_eq!(values, [100]);
    assert!(reason.message().contains("pollcheck: lost wakeup"), "{reason}");
    assert!(reason.message().contains("replay: .replay("), "{reason}");
    assert!(schedule.len() <= 2, "{schedule}");
}
