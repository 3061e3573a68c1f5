//! `check_waker` on hand-built wakers: a vtable whose `clone` takes no reference is
//! caught (and its fixed flavor passes); std's `Wake` wakers, futures-util's
//! `ArcWake` wakers and a correct vtable pass.

mod buggy;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::task::{RawWaker, RawWakerVTable, Wake, Waker};

use buggy::{counted_waker, Flavor};
use futures_util::task::ArcWake;
use pollcheck::{FoundBy, ViolationKind, WakerUnderTest};

#[test]
fn a_clone_that_takes_no_reference_is_a_broken_waker() {
    let report =
        pollcheck::try_check_waker(|| counted_waker::under_test(Flavor::Buggy)).expect_err("the buggy flavor passed");
    println!("{report}");
    assert_eq!(report.kind(), ViolationKind::BrokenWaker, "{report}");
    assert_eq!(report.found_by(), &FoundBy::Other("waker check: clone takes one reference, drop releases it"));
    assert!(report.violation().detail().contains("from 2 to 2, not 3"), "{report}");
    pollcheck::check_waker(|| counted_waker::under_test(Flavor::Fixed));
}

#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn std_wake_wakers_pass() {
    pollcheck::check_waker(|| {
        let task = Arc::new(Counting::default());
        let (refs, wakes): (Weak<Counting>, Weak<Counting>) = (Arc::downgrade(&task), Arc::downgrade(&task));
        WakerUnderTest::new(Waker::from(Arc::clone(&task)))
            .refs(move || refs.strong_count())
            .wakes(move || wakes.upgrade().map_or(0, |t| t.0.load(SeqCst)))
            .owner(task)
    });
}

struct ArcWoken(AtomicUsize);

impl ArcWake for ArcWoken {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn futures_util_arc_wake_wakers_pass() {
    pollcheck::check_waker(|| {
        let task = Arc::new(ArcWoken(AtomicUsize::new(0)));
        let (refs, wakes) = (Arc::downgrade(&task), Arc::downgrade(&task));
        WakerUnderTest::new(futures_util::task::waker(Arc::clone(&task)))
            .refs(move || refs.strong_count())
            .wakes(move || wakes.upgrade().map_or(0, |t| t.0.load(SeqCst)))
            .owner(task)
    });
}

/// A vtable whose `wake_by_ref` and `wake` are swapped: `wake_by_ref` releases the
/// reference it only borrows.
mod swapped {
    use super::*;

    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake_by_ref, wake, drop);

    unsafe fn clone(data: *const ()) -> RawWaker {
        // SAFETY: the waker being cloned owns a count; the clone owns the new one.
        unsafe { Arc::increment_strong_count(data.cast::<AtomicUsize>()) };
        RawWaker::new(data, &VTABLE)
    }

    unsafe fn wake(data: *const ()) {
        // SAFETY: the waker owns a count ("consumes" it, wrongly, in `wake_by_ref`).
        unsafe { (*data.cast::<AtomicUsize>()).fetch_add(1, SeqCst) };
        // SAFETY: as above.
        unsafe { Arc::decrement_strong_count(data.cast::<AtomicUsize>()) };
    }

    unsafe fn wake_by_ref(data: *const ()) {
        // SAFETY: the waker owns a count.
        unsafe { (*data.cast::<AtomicUsize>()).fetch_add(1, SeqCst) };
    }

    unsafe fn drop(data: *const ()) {
        // SAFETY: releases the dropped waker's count.
        unsafe { Arc::decrement_strong_count(data.cast::<AtomicUsize>()) };
    }

    pub fn under_test() -> WakerUnderTest {
        let count = Arc::new(AtomicUsize::new(0));
        let refs = Arc::downgrade(&count);
        let data = Arc::into_raw(Arc::clone(&count)).cast::<()>();
        // SAFETY: the waker owns the count `into_raw` kept; the (swapped) vtable
        // releases too much only when `wake_by_ref` is called, which the check stops
        // at before anything is freed under a live waker.
        let waker = unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) };
        WakerUnderTest::new(waker).refs(move || refs.strong_count()).owner(count)
    }
}

#[test]
fn a_wake_by_ref_that_consumes_is_a_broken_waker() {
    let report = pollcheck::try_check_waker(swapped::under_test).expect_err("the swapped vtable passed");
    assert_eq!(report.kind(), ViolationKind::BrokenWaker, "{report}");
    assert!(report.violation().detail().starts_with("wake_by_ref must not consume the waker"), "{report}");
}

#[test]
fn futures_executor_local_pool_wakers_pass() {
    use futures_executor::LocalPool;
    use futures_util::task::LocalSpawnExt;
    use std::sync::Mutex;
    use std::task::Poll;

    // LocalPool's wakers are its tasks' (an `Arc` inside FuturesUnordered): no count
    // to read, so the refcount checks are miri's; the pool is the owner.
    pollcheck::check_waker(|| {
        let mut pool = LocalPool::new();
        let slot = Arc::new(Mutex::new(None));
        let keep = Arc::clone(&slot);
        let task = futures_util::future::poll_fn(move |cx| {
            *keep.lock().unwrap() = Some(cx.waker().clone());
            Poll::<()>::Pending
        });
        pool.spawner().spawn_local(task).unwrap();
        pool.run_until_stalled();
        let waker = slot.lock().unwrap().take().expect("the task ran");
        WakerUnderTest::new(waker).owner(pool)
    });
}
