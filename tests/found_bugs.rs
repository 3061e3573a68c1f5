//! Bugs pollcheck found in published crates, kept as regression tests (README: "Bugs
//! found in published crates"). Each test asserts the kind and the minimal schedule
//! pollcheck reports on the pinned version (explored; under miri, replayed), then
//! shows the same symptom by hand: the future polled directly with counting wakers
//! ([`witness::Counter`], a plain `RawWaker` over a static counter), no pollcheck
//! involved. A fixed release would fail these tests: the dependencies are pinned
//! with `=`.
//!
//! - kanal 0.1.1: its receive stream, polled with no wake after an item that arrived
//!   while it waited, returns that item again, and the next one is lost
//!   (spurious-poll intolerance; cancelling it right after is a use-after-free, which
//!   these tests never run); its `SendFuture` on a full channel keeps the waker of its
//!   first poll (stale waker).
//! - async-oneshot 0.5.9: every extra `Pending` poll of the receiver, and of
//!   `Sender::wait`, leaks a clone of the waker (leaked waker).
//! - async-once-cell 0.5.4: on a cell that is never dropped (a `static`), a cancelled
//!   waiter's waker stays queued; when the initializer is cancelled too, nothing frees
//!   it until a later initialization succeeds (leaked waker).
//!
//! The counting wakers own no memory, so a clone a crate leaks leaks nothing miri's
//! leak check sees; their counts show it. The clones of pollcheck's own wakers that
//! async-oneshot loses are kept reachable by pollcheck under miri once it has reported
//! them (`waker::keep_leaked`), so this file runs under miri too.
#![cfg(not(loom))] // its dev-dependencies are not built under --cfg loom (Cargo.toml)

mod buggy;
mod common;

use pollcheck::{Bounds, Checker, Report, Scenario, ViolationKind};

/// Catches the factory's scenario with `kind` and the minimal `schedule` (explores,
/// or under miri replays `schedule`), and prints the report.
#[track_caller]
fn caught<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F, kind: ViolationKind, schedule: &str) -> Report {
    common::caught(Checker::new(factory), kind, schedule)
}

/// Wakers that count, and polling by hand.
mod witness {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

    /// Counts what happens to the wakers made from it: a `RawWaker` whose data is
    /// the static counter itself, so a waker owns no memory and a leaked clone shows
    /// only in [`Counter::alive`]. Each test uses its own `static`.
    pub struct Counter {
        /// Wakers made: [`Counter::waker`] and clones.
        made: AtomicUsize,
        /// Wakers gone: dropped, or consumed by `wake`.
        gone: AtomicUsize,
        /// `wake` and `wake_by_ref` calls.
        wakes: AtomicUsize,
    }

    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop);

    fn counter(data: *const ()) -> &'static Counter {
        // SAFETY: every data pointer of this vtable comes from a `&'static Counter`
        // (`Counter::waker` and `clone`).
        unsafe { &*data.cast::<Counter>() }
    }

    fn clone(data: *const ()) -> RawWaker {
        counter(data).made.fetch_add(1, SeqCst);
        RawWaker::new(data, &VTABLE)
    }

    fn wake(data: *const ()) {
        let c = counter(data);
        c.wakes.fetch_add(1, SeqCst);
        c.gone.fetch_add(1, SeqCst);
    }

    fn wake_by_ref(data: *const ()) {
        counter(data).wakes.fetch_add(1, SeqCst);
    }

    fn drop(data: *const ()) {
        counter(data).gone.fetch_add(1, SeqCst);
    }

    impl Counter {
        #[allow(clippy::new_without_default)] // only ever a `static`
        pub const fn new() -> Self {
            Counter { made: AtomicUsize::new(0), gone: AtomicUsize::new(0), wakes: AtomicUsize::new(0) }
        }

        /// A new waker (counted as made).
        pub fn waker(&'static self) -> Waker {
            self.made.fetch_add(1, SeqCst);
            let raw = RawWaker::new(std::ptr::from_ref(self).cast(), &VTABLE);
            // SAFETY: the vtable keeps the RawWaker contract for a pointer to a
            // `'static` counter: clone copies it, wake and drop release nothing.
            unsafe { Waker::from_raw(raw) }
        }

        /// Wakers of this counter alive now: the test's own and every clone anyone
        /// still holds.
        pub fn alive(&self) -> usize {
            self.made.load(SeqCst) - self.gone.load(SeqCst)
        }

        pub fn wakes(&self) -> usize {
            self.wakes.load(SeqCst)
        }
    }

    pub fn poll<F: Future + ?Sized>(f: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(waker))
    }

    pub fn poll_next<S: futures_util::Stream + ?Sized>(s: Pin<&mut S>, waker: &Waker) -> Poll<Option<S::Item>> {
        s.poll_next(&mut Context::from_waker(waker))
    }
}

use witness::{poll, poll_next, Counter};

// ---------------------------------------------------------------------------------
// kanal 0.1.1
// ---------------------------------------------------------------------------------

mod kanal_bugs {
    use super::*;
    use std::fmt::Debug;
    use std::pin::pin;
    use std::rc::Rc;
    use std::task::Poll;

    use futures_util::StreamExt;

    /// A task that collects the receive stream until the channel closes; the driver
    /// sends 1 and 2, then drops the sender.
    fn stream_scenario() -> Scenario {
        let (tx, rx) = kanal::unbounded_async::<u32>();
        let tx = Rc::new(tx);
        let (t1, t2) = (Rc::clone(&tx), Rc::clone(&tx));
        Scenario::new()
            .all_must_finish()
            .strict_abandonment()
            .task(async move {
                let mut items = rx.stream();
                let mut got = Vec::new();
                while let Some(v) = items.next().await {
                    got.push(v);
                }
                got
            })
            .step(move || {
                let _ = t1.try_send(1);
            })
            .step(move || {
                let _ = t2.try_send(2);
            })
            .step(move || drop(tx))
    }

    /// kanal's `ReceiveStream` keeps one `ReceiveFuture` for every item. Once an item
    /// arrived while it waited, the future's signal stays "done" (the item's bits
    /// still in it) when it re-arms for the next item and queues the signal in the
    /// channel's wait list: a poll that no wake preceded sees that stale signal and
    /// reads the same item again, leaving the signal queued, and re-arming queues it a
    /// second time. Item 2 is written into it, and the close (the sender dropped)
    /// terminates its second entry, which turns the same signal into "closed": 2 is
    /// lost.
    /// The checker for [`stream_scenario`], without cancellations: a cancel after the
    /// stale read is a use-after-free. The future, `Done` after returning the stale
    /// item, does not take its signal out of the wait list when it is dropped, and the
    /// receiver dropped with it (a sender still alive) terminates the signals in that
    /// list, reading the freed one (miri: "constructing invalid value of type
    /// &KanalWaker: encountered a dangling reference (use-after-free)", replaying
    /// `p0 d p0 s0 c0`). Without `c0` the task outlives the driver, whose close
    /// terminates the signal while it is still there, and every run stays sound.
    fn stream_checker() -> Checker<fn() -> Scenario> {
        Checker::new(stream_scenario as fn() -> Scenario).bounds(Bounds { cancels: 0, ..Bounds::default() })
    }

    #[test]
    fn receive_stream_returns_an_item_twice_after_a_spurious_poll() {
        let report = common::caught(stream_checker(), ViolationKind::SpuriousPoll, "p0 d p0 s0 d d p0");
        assert!(report.violation().detail().contains("finished with [1, 1], but without them with [1, 2]"), "{report}");
    }

    /// The schedule `p0 d p0 s0 d d p0` by hand: items `a`, `b`; the spurious poll
    /// (`s0`) only when `spurious`. Returns what the stream yielded.
    fn stream_by_hand<T: Copy + Debug + PartialEq>(
        [a, b]: [T; 2],
        spurious: bool,
        counter: &'static Counter,
    ) -> Vec<T> {
        let (tx, rx) = kanal::unbounded_async::<T>();
        let mut items = pin!(rx.stream());
        let waker = counter.waker();
        let mut got = Vec::new();
        // p0: nothing there yet; it waits.
        assert_eq!(poll_next(items.as_mut(), &waker), Poll::Pending);
        // d: `a` arrives while it waits, and wakes it.
        assert!(tx.try_send(a).unwrap());
        assert_eq!(counter.wakes(), 1);
        // p0 (woken): `a`; polled on, it waits for the next item.
        assert_eq!(poll_next(items.as_mut(), &waker), Poll::Ready(Some(a)));
        got.push(a);
        assert_eq!(poll_next(items.as_mut(), &waker), Poll::Pending);
        let wakes = counter.wakes();
        if spurious {
            // s0: nothing woke it and nothing was sent, yet it yields an item.
            match poll_next(items.as_mut(), &waker) {
                Poll::Ready(Some(v)) => got.push(v),
                other => panic!("the spurious poll returned {other:?}"),
            }
            assert_eq!(counter.wakes(), wakes, "no wake preceded that poll");
            // Polled on, as the task's loop does: it waits again.
            assert_eq!(poll_next(items.as_mut(), &waker), Poll::Pending);
        }
        // d d: `b` arrives, then the sender is dropped.
        assert!(tx.try_send(b).unwrap());
        drop(tx);
        // p0: until the end of the stream.
        loop {
            match poll_next(items.as_mut(), &waker) {
                Poll::Ready(Some(v)) => got.push(v),
                Poll::Ready(None) => break,
                Poll::Pending => panic!("pending with the sender gone"),
            }
        }
        got
    }

    /// The hand witness, items the size of a pointer or smaller (kept in the signal's
    /// pointer slot): the same item twice, the next one lost.
    #[test]
    fn by_hand_the_receive_stream_returns_an_item_twice() {
        static HONEST: Counter = Counter::new();
        static SPURIOUS: Counter = Counter::new();
        assert_eq!(stream_by_hand([1u32, 2], false, &HONEST), [1, 2]);
        assert_eq!(stream_by_hand([1u32, 2], true, &SPURIOUS), [1, 1]);
    }

    /// Why the next item is lost, by hand: the unwoken poll that returned the stale
    /// item left the future's signal in the channel's wait list, and re-arming queued
    /// it a second time. The next send writes into it, and the one after it, finding
    /// the same signal queued again, overwrites that item; the channel's close, in
    /// the scenario above, overwrites it the same way (it terminates the second entry).
    #[test]
    fn by_hand_after_the_stale_item_the_stream_is_queued_twice() {
        static W: Counter = Counter::new();
        let (tx, rx) = kanal::unbounded_async::<u32>();
        let mut items = pin!(rx.stream());
        let waker = W.waker();
        assert_eq!(poll_next(items.as_mut(), &waker), Poll::Pending);
        tx.try_send(1).unwrap();
        assert_eq!(poll_next(items.as_mut(), &waker), Poll::Ready(Some(1)));
        assert_eq!(poll_next(items.as_mut(), &waker), Poll::Pending);
        let wakes = W.wakes();
        assert_eq!(poll_next(items.as_mut(), &waker), Poll::Ready(Some(1)), "the stale item");
        assert_eq!(W.wakes(), wakes, "no wake preceded that poll");
        assert_eq!(poll_next(items.as_mut(), &waker), Poll::Pending);
        for v in [2, 3, 4] {
            assert!(tx.try_send(v).unwrap());
        }
        let got: Vec<_> = (0..4).map(|_| poll_next(items.as_mut(), &waker)).collect();
        // 2 was overwritten by 3 in the doubly queued signal, and 3 comes back once
        // more later.
        assert_eq!(got, [Poll::Ready(Some(3)), Poll::Ready(Some(4)), Poll::Pending, Poll::Ready(Some(3))]);
        // The future (`Done` after the stale 3) left its signal in the wait list:
        // the sender goes first, terminating it while the stream is still alive. The
        // other order would terminate it after the stream is gone, reading freed
        // memory (see `stream_checker`).
        drop(tx);
        assert_eq!(poll_next(items.as_mut(), &waker), Poll::Ready(None));
    }

    /// The hand witness, items larger than a pointer: the signal points at the
    /// future's own `data` field, which the stale signal lets it `ptr::read` a second
    /// time. For a type with a destructor that is one value with two owners, a double
    /// drop from safe code (a `String` item would be freed twice); this test uses a
    /// plain `[u64; 4]`, whose second read is a bitwise copy of initialized memory and
    /// no undefined behaviour, so it runs under miri.
    #[test]
    fn by_hand_the_receive_stream_returns_a_large_item_twice() {
        static HONEST: Counter = Counter::new();
        static SPURIOUS: Counter = Counter::new();
        let (a, b) = ([1u64; 4], [2u64; 4]);
        assert!(std::mem::size_of::<[u64; 4]>() > std::mem::size_of::<*mut [u64; 4]>());
        assert_eq!(stream_by_hand([a, b], false, &HONEST), [a, b]);
        assert_eq!(stream_by_hand([a, b], true, &SPURIOUS), [a, a]);
    }

    /// A sender blocked on a full channel (capacity 1, one value queued); the driver
    /// receives one value.
    fn send_scenario() -> Scenario {
        let (tx, rx) = kanal::bounded_async::<u32>(1);
        tx.try_send(0).unwrap();
        Scenario::new().all_must_finish().strict_abandonment().task(async move { tx.send(1).await.is_ok() }).step(
            move || {
                let _ = rx.try_recv();
            },
        )
    }

    /// kanal's `SendFuture`, polled again with another waker while it waits, sees that
    /// the waker changed and that its signal is still queued, and returns `Pending`
    /// without registering the new waker (the `register_waker` call on that path is
    /// commented out). A receive then wakes the waker of the first poll only.
    #[test]
    fn send_future_keeps_the_waker_of_its_first_poll() {
        let report = caught(send_scenario, ViolationKind::StaleWaker, "p0 w0 s0 d");
        assert!(report.violation().detail().contains("a wake reached the older waker #1 but never #2"), "{report}");
    }

    #[test]
    fn by_hand_the_send_future_keeps_the_waker_of_its_first_poll() {
        static FIRST: Counter = Counter::new();
        static LATEST: Counter = Counter::new();
        let (tx, rx) = kanal::bounded_async::<u32>(1);
        tx.try_send(0).unwrap();
        let mut send = pin!(tx.send(1));
        let (first, latest) = (FIRST.waker(), LATEST.waker());
        assert_eq!(poll(send.as_mut(), &first), Poll::Pending);
        // The task moved to another worker (a new waker) and is polled there.
        assert_eq!(poll(send.as_mut(), &latest), Poll::Pending);
        assert_eq!(LATEST.alive(), 1, "the latest waker was not even cloned");
        assert_eq!(rx.try_recv().unwrap(), Some(0));
        // The receive made room and moved the blocked value into the queue; it woke
        // the first waker only.
        assert_eq!((FIRST.wakes(), LATEST.wakes()), (1, 0));
        // The send is done: a poll would finish it, but the latest waker never learns.
        assert_eq!(poll(send.as_mut(), &latest), Poll::Ready(Ok(())));
        assert_eq!(rx.try_recv().unwrap(), Some(1));
    }
}

// ---------------------------------------------------------------------------------
// async-oneshot 0.5.9
// ---------------------------------------------------------------------------------

mod async_oneshot_bugs {
    use super::*;
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// async-oneshot's `Inner::set_recv` (and `set_send`) writes the new waker into
    /// a `MaybeUninit` slot without dropping the one already there: every `Pending`
    /// poll after the first overwrites, and so leaks, a clone.
    #[test]
    fn every_extra_pending_poll_of_the_receiver_leaks_a_waker() {
        let report = caught(
            || {
                let (mut tx, rx) = async_oneshot::oneshot::<u32>();
                Scenario::new().all_must_finish().strict_abandonment().task(rx).step(move || {
                    let _ = tx.send(7);
                })
            },
            ViolationKind::LeakedWaker,
            "p0 s0 d p0",
        );
        assert!(report.violation().detail().contains("#1 (1 clone)"), "{report}");
    }

    #[test]
    fn by_hand_every_extra_pending_poll_of_the_receiver_leaks_a_waker() {
        static W: Counter = Counter::new();
        let (mut tx, mut rx) = async_oneshot::oneshot::<u32>();
        let waker = W.waker();
        for _ in 0..3 {
            assert_eq!(poll(Pin::new(&mut rx), &waker), Poll::Pending);
        }
        assert_eq!(W.alive(), 4, "the test's waker and three clones");
        tx.send(7).unwrap();
        assert_eq!(poll(Pin::new(&mut rx), &waker), Poll::Ready(Ok(7)));
        drop((tx, rx));
        // Both halves are gone, and with them the channel, which dropped the one
        // clone it still knew of: the two polls after the first leaked one each.
        assert_eq!(W.alive(), 3);
        drop(waker);
        assert_eq!(W.alive(), 2, "two clones nobody will ever drop");
    }

    #[test]
    fn every_extra_pending_poll_of_sender_wait_leaks_a_waker() {
        let report = caught(
            || {
                let (tx, rx) = async_oneshot::oneshot::<u32>();
                Scenario::new()
                    .all_must_finish()
                    .strict_abandonment()
                    .task(async move { tx.wait().await.is_ok() })
                    .step(move || {
                        // The receiver starts waiting (which wakes `wait`), then goes.
                        let mut rx = rx;
                        let _ = Pin::new(&mut rx).poll(&mut Context::from_waker(futures_util::task::noop_waker_ref()));
                    })
            },
            ViolationKind::LeakedWaker,
            "p0 s0 d p0",
        );
        assert!(report.violation().detail().contains("#1 (1 clone)"), "{report}");
    }

    #[test]
    fn by_hand_every_extra_pending_poll_of_sender_wait_leaks_a_waker() {
        static W: Counter = Counter::new();
        let (tx, mut rx) = async_oneshot::oneshot::<u32>();
        let mut wait = Box::pin(tx.wait());
        let waker = W.waker();
        for _ in 0..3 {
            assert!(poll(wait.as_mut(), &waker).is_pending());
        }
        assert_eq!(W.alive(), 4, "the test's waker and three clones");
        // The receiver starts waiting: `wait` is woken and finishes.
        assert!(poll(Pin::new(&mut rx), futures_util::task::noop_waker_ref()).is_pending());
        assert_eq!(W.wakes(), 1);
        let tx = match poll(wait.as_mut(), &waker) {
            Poll::Ready(Ok(tx)) => tx,
            other => panic!("wait returned {:?}", other.map(|r| r.map(drop))),
        };
        drop((wait, tx, rx));
        assert_eq!(W.alive(), 3);
        drop(waker);
        assert_eq!(W.alive(), 2, "two clones nobody will ever drop");
    }
}

// ---------------------------------------------------------------------------------
// async-once-cell 0.5.4
// ---------------------------------------------------------------------------------

mod async_once_cell_bugs {
    use super::*;
    use std::cell::RefCell;
    use std::future::Future;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::sync::Mutex;
    use std::task::Poll;

    use async_once_cell::OnceCell;

    /// A fresh cell that lives as long as a `static` does: every run needs its own
    /// (a cell initialized by an earlier run would just be ready), so each is leaked,
    /// and kept in a static list (never dropped, like a `static`; reachable, so miri's
    /// leak check does not count it).
    fn static_cell() -> &'static OnceCell<u32> {
        static CELLS: Mutex<Vec<&'static OnceCell<u32>>> = Mutex::new(Vec::new());
        let cell: &'static OnceCell<u32> = Box::leak(Box::new(OnceCell::new()));
        CELLS.lock().unwrap_or_else(|e| e.into_inner()).push(cell);
        cell
    }

    type Init = Pin<Box<dyn Future<Output = &'static u32>>>;

    /// An initializer that never finishes, polled once: unless the cell is ready, it
    /// holds the cell's initialization (async-once-cell's quick path, no queue of its
    /// own) and is `Pending`.
    fn start_initializer(cell: &'static OnceCell<u32>) -> (Init, Poll<&'static u32>) {
        let mut init: Init = Box::pin(cell.get_or_init(std::future::pending()));
        let first = poll(init.as_mut(), futures_util::task::noop_waker_ref());
        (init, first)
    }

    /// A waiter task on a static cell; the driver starts an initializer, then cancels
    /// it.
    fn scenario() -> Scenario {
        let cell = static_cell();
        let init: Rc<RefCell<Option<Init>>> = Rc::default();
        let cancel = Rc::clone(&init);
        Scenario::new()
            .task(async move { *cell.get_or_init(async { 1 }).await })
            .step(move || *init.borrow_mut() = Some(start_initializer(cell).0))
            .step(move || drop(cancel.borrow_mut().take()))
    }

    /// The waiter queues its waker in the cell's queue (a `Vec<Waker>`). Cancelled,
    /// it gives up its reference to the queue (`QueueRef::drop`) but leaves its waker
    /// in it. The initializer, cancelled next, finds no reference left and takes the
    /// fast path of `QuickInitGuard::drop` ("no wakers need to be woken"): the queue
    /// and the waker in it stay until the cell is dropped, never for a `static`, or
    /// until a later initialization succeeds and frees the queue.
    #[test]
    fn a_cancelled_waiter_leaves_its_waker_queued() {
        let report = caught(scenario, ViolationKind::LeakedWaker, "d p0 c0 d");
        assert!(report.violation().detail().contains("#1 (1 clone)"), "{report}");
    }

    #[test]
    fn by_hand_a_cancelled_waiter_leaves_its_waker_queued() {
        static W: Counter = Counter::new();
        let cell = static_cell();
        let waker = W.waker();
        // d: an initializer starts.
        let (init, first) = start_initializer(cell);
        assert!(first.is_pending());
        // p0: a waiter queues its waker.
        let mut waiter = Box::pin(cell.get_or_init(async { 1 }));
        assert!(poll(waiter.as_mut(), &waker).is_pending());
        assert_eq!(W.alive(), 2, "the test's waker and the queued clone");
        // c0: the waiter is cancelled; d: so is the initializer.
        drop(waiter);
        drop(init);
        assert_eq!((W.alive(), W.wakes()), (2, 0), "the clone is still queued, unwoken");
        // A later initialization that fails does not free it either...
        let mut failing = Box::pin(cell.get_or_try_init(async { Err::<u32, ()>(()) }));
        assert_eq!(poll(failing.as_mut(), &waker), Poll::Ready(Err(())));
        drop(failing);
        assert_eq!(W.alive(), 2);
        // ...one that succeeds does (it frees the queue), without a wake.
        let mut ok = Box::pin(cell.get_or_init(async { 5 }));
        assert_eq!(poll(ok.as_mut(), &waker), Poll::Ready(&5));
        drop(ok);
        assert_eq!((W.alive(), W.wakes()), (1, 0));
    }

    /// The same steps on a cell that is dropped: its `Drop` frees the queue, and with
    /// it the clone. It is the `static` (or leaked) cell that keeps it forever.
    #[test]
    fn by_hand_a_dropped_cell_frees_the_queued_waker() {
        static W: Counter = Counter::new();
        let cell = Box::new(OnceCell::<u32>::new());
        {
            let mut init = Box::pin(cell.get_or_init(std::future::pending()));
            assert!(poll(init.as_mut(), futures_util::task::noop_waker_ref()).is_pending());
            let waker = W.waker();
            let mut waiter = Box::pin(cell.get_or_init(async { 1 }));
            assert!(poll(waiter.as_mut(), &waker).is_pending());
            drop((waiter, init, waker));
            assert_eq!(W.alive(), 1, "the queued clone");
        }
        drop(cell);
        assert_eq!((W.alive(), W.wakes()), (0, 0));
    }
}
