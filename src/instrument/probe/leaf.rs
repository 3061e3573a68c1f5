//! The probe half's hold on the state it shares with its handles ([`Hold`], inside
//! [`Leaf`] for the pinned probes: future, stream, sink), and what every probe's drop
//! does ([`drop_probe`], the I/O probes' too).

use std::marker::PhantomPinned;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::panic::Location;
use std::sync::Arc;

use super::shared::{Mode, Shared};
use crate::detect::violation::{Violation, ViolationKind};

/// A probe's strong count on its [`Shared`], and what its drops need without it.
///
/// The first drop releases `shared`: when no handle and no checker run holds another
/// count, that frees it. So the probe counts its drops in its own memory (`drops`),
/// and a later drop (a double drop, the bug it reports) reads only that and the copies
/// of what a report names, never `shared`, which may be freed memory by then.
pub(crate) struct Hold<P> {
    shared: ManuallyDrop<Arc<Shared<P>>>,
    /// Drops of this probe so far.
    drops: u32,
    /// Copied from `shared` for the report of a later drop.
    what: &'static str,
    created_at: &'static Location<'static>,
    mode: Mode,
}

impl<P> Hold<P> {
    pub(crate) fn new(shared: Arc<Shared<P>>) -> Self {
        let (what, created_at, mode) = (shared.what(), shared.created_at, shared.mode());
        Hold { shared: ManuallyDrop::new(shared), drops: 0, what, created_at, mode }
    }
}

impl<P> Deref for Hold<P> {
    type Target = Arc<Shared<P>>;

    fn deref(&self) -> &Arc<Shared<P>> {
        &self.shared
    }
}

/// The probe half's hold on its [`Shared`], for probes that must not move once polled
/// (it makes them `!Unpin`): they poll at its [`address`](Leaf::address), and its
/// first drop checks the pin there and releases `shared` ([`drop_probe`]). A later
/// drop only counts and reports, from the leaf's own memory.
pub(crate) struct Leaf<P> {
    hold: Hold<P>,
    _pinned: PhantomPinned,
}

impl<P> Leaf<P> {
    pub(crate) fn new(shared: Arc<Shared<P>>) -> Self {
        Leaf { hold: Hold::new(shared), _pinned: PhantomPinned }
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
        &self.hold
    }
}

impl<P> Drop for Leaf<P> {
    fn drop(&mut self) {
        let address = std::ptr::from_mut(self).addr();
        // SAFETY: the leaf's own drop, with its own hold, which nothing but a later
        // drop of the leaf uses after it.
        unsafe { drop_probe(&mut self.hold, address) }
    }
}

/// What a probe's `Drop` does: count the drop in the probe's own memory; on the first
/// one, mark the shared state dropped (for the handles), check that the probe did not
/// move since its first poll (`address`: where it is now; 0 for probes that may move),
/// release the probe's count, and report a move. A later drop reports the double drop
/// from the hold alone, without touching `shared`.
///
/// # Safety
/// Call it only from the probe's own `Drop`, with the probe's own hold, which nothing
/// but this function (from a later drop of the same probe) uses afterwards.
pub(crate) unsafe fn drop_probe<S>(hold: &mut Hold<S>, address: usize) {
    hold.drops = hold.drops.saturating_add(1);
    if hold.drops > 1 {
        return report_later_drop(hold);
    }
    hold.shared.mark_dropped();
    let moved = hold.shared.on_drop(address);
    // SAFETY: this is the first drop (counted just above, in the probe's own memory),
    // so the hold still owns the strong count the probe was created with; by the
    // caller's contract nothing uses `shared` after this, and a later drop returns
    // above, having read only the hold's own fields.
    unsafe { ManuallyDrop::drop(&mut hold.shared) };
    if let Some(moved) = moved {
        if !std::thread::panicking() {
            crate::engine::raised::raise(ViolationKind::MovedWhilePinned, moved);
        }
    }
}

/// Reports a second (or later) drop, as [`Shared`] reports what it sees outside a
/// poll, from what the hold copied: a report to the checker run on this thread, else
/// a panic (never while unwinding). The executor kit's tasks report nothing: the kit
/// reads what its tasks saw through their shared state, which this drop must not
/// touch (run the executor's test under miri, which reports the double drop itself).
fn report_later_drop<S>(hold: &Hold<S>) {
    let name = match hold.mode {
        Mode::Test => format!("the {} created at {}", hold.what, hold.created_at),
        Mode::Kit => return,
    };
    let detail = format!("{name} was dropped {} times", hold.drops);
    if crate::engine::hooks::active() {
        crate::engine::hooks::report(Violation::new(ViolationKind::DoubleDrop, None, detail));
    } else if !std::thread::panicking() {
        crate::engine::raised::raise(ViolationKind::DoubleDrop, detail);
    }
}
