//! `#[pollcheck::test]` (feature `macros`): an `async fn` test run as a model.
#![cfg(all(feature = "macros", not(loom)))]

#[pollcheck::test]
async fn a_receiver_gets_the_value() {
    let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    pollcheck::spawn(async move {
        let _ = tx.send(7);
    });
    assert_eq!(rx.await, Ok(7));
}

#[pollcheck::test(depth = if cfg!(miri) { 2 } else { 5 }, cases = 3)]
async fn arguments_are_builder_setters() -> Option<u32> {
    let (tx, rx) = futures_channel::oneshot::channel::<u32>();
    let rx = pollcheck::spawn(async move { rx.await.ok() });
    let _ = tx.send(1);
    rx.await
}

mod buggy_flag {
    use std::cell::RefCell;
    use std::future::poll_fn;
    use std::rc::Rc;
    use std::task::{Poll, Waker};

    /// Drops the waker it was polled with: nothing can wake the body. Attributes after
    /// `#[pollcheck::test]` stay on the generated test.
    #[pollcheck::test(replay = "p0")]
    #[should_panic(expected = "pollcheck: lost wakeup in task 0")]
    pub async fn never_woken() {
        let set = Rc::new(RefCell::new((false, None::<Waker>)));
        let setter = set.clone();
        pollcheck::spawn(async move { setter.borrow_mut().0 = true });
        poll_fn(|_| if set.borrow().0 { Poll::Ready(()) } else { Poll::Pending }).await;
    }
}
