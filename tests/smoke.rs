use pollcheck::{Checker, Scenario, ViolationKind};
use std::cell::RefCell;
use std::rc::Rc;
use std::task::{Poll, Waker};

#[derive(Default)]
struct Shared {
    value: Option<u32>,
    waker: Option<Waker>,
}

fn chan(store: fn(&Option<Waker>, &Waker) -> Option<Option<Waker>>) -> Scenario {
    let shared = Rc::new(RefCell::new(Shared::default()));
    let rx = {
        let shared = shared.clone();
        std::future::poll_fn(move |cx| {
            let mut s = shared.borrow_mut();
            if let Some(v) = s.value.take() {
                return Poll::Ready(v);
            }
            let new = store(&s.waker, cx.waker());
            let old = new.map(|new| std::mem::replace(&mut s.waker, new));
            drop(s);
            drop(old);
            Poll::Pending
        })
    };
    Scenario::new().task(rx).step(move || {
        let mut s = shared.borrow_mut();
        s.value = Some(7);
        let w = s.waker.take();
        drop(s);
        if let Some(w) = w {
            w.wake()
        }
    })
}

#[test]
fn smoke() {
    let good = Checker::new(|| chan(|_, w| Some(Some(w.clone())))).try_run();
    println!("{good:?}");
    assert!(good.is_ok());
    let bad = Checker::new(|| chan(|slot, w| slot.is_none().then(|| Some(w.clone())))).try_run().unwrap_err();
    println!("{bad}");
    assert_eq!(bad.kind(), ViolationKind::StaleWaker);
    let bad = Checker::new(|| chan(|_, _| None)).try_run().unwrap_err();
    println!("{bad}");
    assert_eq!(bad.kind(), ViolationKind::LostWakeup);
}
