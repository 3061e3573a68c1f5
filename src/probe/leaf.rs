//! The probe half's hold on the state it shares with its handles ([`Leaf`], for the
//! pinned probes: future, stream, sink), and what every probe's drop does
//! ([`drop_probe`], the I/O probes' too).

use std::marker::PhantomPinned;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::Arc;

use super::shared::Shared;

/// The probe half's hold on its [`Shared`], for probes that must not move once polled
/// (it makes them `!Unpin`): they poll at its [`address`](Leaf::address), and its
/// first drop checks the pin there and releases `shared` ([`drop_probe`]). A later
/// drop only counts: the handle keeps `shared` alive and reports the double drop.
pub(crate) struct Leaf<P> {
    shared: ManuallyDrop<Arc<Shared<P>>>,
    _pinned: PhantomPinned,
}

impl<P> Leaf<P> {
    pub(crate) fn new(shared: Arc<Shared<P>>) -> Self {
        Leaf { shared: ManuallyDrop::new(shared), _pinned: PhantomPinned }
    }

    /// Where the leaf is: the address [`Shared::poll`] and the drop check the pin
    /// at (a probe that moved shows up as a leaf that moved).
    pub(crate) fn address(&self) -> usize {
        std::ptr::from_ref(self).addr()
    }
}

impl<P> Deref for Leaf<P> {
    type Target = Arc<Shared<P>>;

    fn deref(&self) -> &Arc<Shared<P>> {
        &self.shared
    }
}

impl<P> Drop for Leaf<P> {
    fn drop(&mut self) {
        let address = std::ptr::from_mut(self).addr();
        // SAFETY: the leaf's own drop, with its own `shared`, never used after it.
        unsafe { drop_probe(&mut self.shared, address) }
    }
}

/// What a probe's `Drop` does: count the drop; on the first one, check that the probe
/// did not move since its first poll (`address`: where it is now; 0 for probes that
/// may move), release the probe's count, and report a move. A later drop only counts
/// it: the handle keeps `shared` alive and reports the double drop.
///
/// # Safety
/// Call it only from the probe's own `Drop`, with the probe's own `shared`, which
/// nothing uses afterwards.
pub(crate) unsafe fn drop_probe<S>(shared: &mut ManuallyDrop<Arc<Shared<S>>>, address: usize) {
    if !shared.first_drop() {
        return;
    }
    let moved = shared.on_drop(address);
    // SAFETY: the first drop (counted just above) still owns the strong count the
    // probe was created with, and by the caller's contract nothing uses `shared`
    // after this; a later drop returned above, having only read the count.
    unsafe { ManuallyDrop::drop(shared) };
    if let Some(moved) = moved {
        if !std::thread::panicking() {
            crate::checked::violation(crate::ViolationKind::MovedWhilePinned, moved);
        }
    }
}
