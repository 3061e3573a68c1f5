//! A waker built by hand on a `RawWakerVTable` over an `Arc`. Bug: `clone` hands out
//! a new waker without taking a reference, so the data is freed while clones still
//! point to it (a use-after-free under miri; a broken count in a normal run).

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::Flavor;

pub struct Inner {
    wakes: AtomicUsize,
    buggy: bool,
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop);

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` comes from `Arc::into_raw` and the waker being cloned owns a count.
    let inner = unsafe { &*data.cast::<Inner>() };
    if !inner.buggy {
        // SAFETY: as above; the new waker owns the count taken here.
        unsafe { Arc::increment_strong_count(data.cast::<Inner>()) };
    }
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: the waker being consumed owns a count, released by `drop`.
    unsafe {
        wake_by_ref(data);
        drop(data);
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker owns a count, so the data is alive.
    let inner = unsafe { &*data.cast::<Inner>() };
    inner.wakes.fetch_add(1, SeqCst);
}

unsafe fn drop(data: *const ()) {
    // SAFETY: releases the count the dropped waker owned.
    unsafe { Arc::decrement_strong_count(data.cast::<Inner>()) };
}

/// A waker over `inner`, owning one count of it.
pub fn waker(inner: &Arc<Inner>) -> Waker {
    let data = Arc::into_raw(Arc::clone(inner)).cast::<()>();
    // SAFETY: the vtable upholds the RawWaker contract for an `Arc<Inner>` pointer
    // (in the fixed flavor), and the waker owns the count `into_raw` kept.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

/// The waker as `check_waker` takes it: counts read through a `Weak`, the "executor"
/// (the `Arc` it keeps) as the owner.
pub fn under_test(flavor: Flavor) -> pollcheck::WakerUnderTest {
    let inner = Arc::new(Inner { wakes: AtomicUsize::new(0), buggy: flavor.buggy() });
    let weak = Arc::downgrade(&inner);
    let counter = Arc::downgrade(&inner);
    pollcheck::WakerUnderTest::new(waker(&inner))
        .refs(move || weak.strong_count())
        .wakes(move || counter.upgrade().map_or(0, |i| i.wakes.load(SeqCst)))
        .owner(inner)
}
