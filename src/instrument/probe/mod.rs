//! Probes: leaf futures (and streams) that a test controls through a handle, to check
//! the combinators and executors that poll them.
//!
//! A probe returns `Pending` (keeping the waker it was polled with) until its handle
//! completes it, and checks what its poller does to it: polled after `Ready`, moved
//! while pinned, polled with a waker that does not lead back to the task, woken but
//! never polled again, dropped twice, or never dropped.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

mod leaf;
mod shared;
#[cfg(feature = "sink")]
mod sink;
#[cfg(feature = "stream")]
mod stream;

use leaf::Leaf;
#[cfg(feature = "io")]
pub(crate) use leaf::{drop_probe, Hold};
#[cfg(feature = "io")]
pub(crate) use shared::probe_handle;
pub(crate) use shared::Mode;
pub(crate) use shared::Shared;
#[cfg(feature = "sink")]
pub use sink::{probe_sink, SinkHandle, SinkProbe};
#[cfg(feature = "stream")]
pub use stream::{probe_stream, StreamHandle, StreamProbe};

/// A probe future and the handle that controls it.
///
/// The probe is `Pending` until [`ProbeHandle::complete`] gives it its output. Put
/// probes under the combinator you test, run the combinator as a checker task, and
/// make the handles' calls driver steps: every schedule the checker explores then
/// applies to the combinator, and the probes report what it does to its children.
///
/// ```
/// use futures_util::future::join;
/// use pollcheck::Scenario;
///
/// pollcheck::check(|| {
///     let (a, ha) = pollcheck::probe::<u32>();
///     let (b, hb) = pollcheck::probe::<u32>();
///     Scenario::new()
///         .task(join(a, b))
///         .step(ha.completes(1)) // the same as `.step(move || ha.complete(1))`
///         .step(hb.completes(2))
/// });
/// ```
///
/// `.step(hb.wakes())` adds a wake with nothing behind it (a spurious wake of the
/// child, which the combinator must survive).
///
/// Inside a checker run a probe reports:
///
/// | seen | kind |
/// | --- | --- |
/// | polled again after it returned `Ready` | [`PollAfterReady`](crate::ViolationKind::PollAfterReady) |
/// | polled or dropped at another address than its first poll | [`MovedWhilePinned`](crate::ViolationKind::MovedWhilePinned) |
/// | woken by its handle, and no waker of the task was woken since the task's poll that last polled the probe: the combinator's child waker does not lead back to the task (a wake inside the task's own poll, from a re-entrant step, is judged when that poll ends, and polling the probe again or dropping it within that poll counts as leading back) | [`LostWakeup`](crate::ViolationKind::LostWakeup) |
/// | woken by its handle, the task polled since, the probe never polled again (at quiescence) | [`LostWakeup`](crate::ViolationKind::LostWakeup) |
/// | dropped a second time | [`DoubleDrop`](crate::ViolationKind::DoubleDrop) |
/// | still alive after the task and the driver were dropped | [`LeakedFuture`](crate::ViolationKind::LeakedFuture) |
///
/// Outside a checker the first three and the double drop are panics with the same
/// message (nothing is watching for the rest; ask the handle). A probe is `!Unpin`,
/// so that moving it is a bug: for a combinator that wants `Unpin` children, such as
/// `futures_util::future::select`, pin it with `Box::pin(probe)`.
///
/// A double drop is caught however many handles are left: the probe counts its drops
/// in its own memory, and a later drop never reads the state it shares with its
/// handles, which its first drop may have freed. (The handles see the first drop
/// only: [`ProbeHandle::drops`].)
#[track_caller]
pub fn probe<T>() -> (Probe<T>, ProbeHandle<T>) {
    probe_in(Mode::Test, "probe", Location::caller())
}

pub(crate) fn probe_in<T>(
    mode: Mode,
    what: &'static str,
    created_at: &'static Location<'static>,
) -> (Probe<T>, ProbeHandle<T>) {
    let slot = Slot { value: None, completed_at: None };
    let shared = Shared::new(what, "Ready", created_at, mode, slot, |s| Slot {
        value: s.value.take(),
        completed_at: s.completed_at,
    });
    let handle = ProbeHandle { shared: Arc::clone(&shared) };
    (Probe { leaf: Leaf::new(shared) }, handle)
}

struct Slot<T> {
    value: Option<T>,
    completed_at: Option<&'static Location<'static>>,
}

/// The future half of [`probe`]: `Pending` until its handle completes it.
#[must_use = "futures do nothing unless polled"]
pub struct Probe<T> {
    leaf: Leaf<Slot<T>>,
}

impl<T: 'static> Future for Probe<T> {
    type Output = T;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        self.leaf.poll(self.leaf.address(), Location::caller(), cx, |slot| slot.value.take().map(|v| (v, true)))
    }
}

impl<T> Probe<T> {
    /// Gives the probe its output without waking anything (the kit's self-waking
    /// tasks wake themselves).
    pub(crate) fn fill(&self, value: T) {
        self.leaf.update(|slot| slot.value = Some(value));
    }
}

impl<T> fmt::Debug for Probe<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.leaf.fmt_probe("Probe", f)
    }
}

shared::probe_handle! {
    /// Controls a [`Probe`] and answers questions about it. Clones control the same probe.
    pub struct ProbeHandle<T>(Shared<Slot<T>>);
    what: "probe",
    make: "pollcheck::probe::<u32>()",
    polled: "(polls it reported as violations excluded)",
}

impl<T: 'static> ProbeHandle<T> {
    /// Gives the probe its output and wakes it: its next poll returns `Ready(value)`.
    ///
    /// # Panics
    /// If the probe was completed already.
    #[track_caller]
    pub fn complete(&self, value: T) {
        self.complete_at(value, Location::caller());
    }

    fn complete_at(&self, value: T, at: &'static Location<'static>) {
        let created_at = self.shared.created_at;
        self.shared.update_and_wake(at, |slot| {
            if let Some(first) = slot.completed_at {
                panic!("pollcheck: the probe created at {created_at} was completed twice (at {first} and {at})");
            }
            slot.completed_at = Some(at);
            slot.value = Some(value);
        });
    }

    /// A driver step that calls [`complete`](ProbeHandle::complete) with `value`.
    ///
    /// It only returns the step: called on its own (inside another step, say) it
    /// completes nothing, which is why it is `#[must_use]`:
    ///
    /// ```compile_fail
    /// #![deny(unused_must_use)]
    /// let (_probe, h) = pollcheck::probe::<u32>();
    /// let step = move || {
    ///     h.completes(1); // error: unused driver step (meant: `h.complete(1)`)
    /// };
    /// # step();
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn completes(&self, value: T) -> impl FnOnce() + 'static {
        let handle = self.clone();
        let at = Location::caller();
        move || handle.complete_at(value, at)
    }
}

impl<T> ProbeHandle<T> {
    /// Whether the probe was dropped, as a count: 0 or 1. A second drop is a bug the
    /// probe reports itself ([`DoubleDrop`](crate::ViolationKind::DoubleDrop)) without
    /// touching the state it shares with this handle (its first drop released its
    /// part of that state, which may be freed by then), so the handle does not see it.
    pub fn drops(&self) -> u32 {
        self.shared.drops()
    }

    /// Whether the probe returned `Ready`.
    pub fn is_finished(&self) -> bool {
        self.shared.is_finished()
    }

    /// Whether the handle woke the probe since its last poll.
    pub fn is_woken(&self) -> bool {
        self.shared.is_woken()
    }

    pub(crate) fn registered_waker(&self) -> Option<Waker> {
        self.shared.registered_waker()
    }

    pub(crate) fn fill(&self, value: T) {
        self.shared.update(|slot| slot.value = Some(value));
    }

    pub(crate) fn take_violations(&self) -> Vec<crate::detect::violation::Violation> {
        self.shared.take_violations()
    }
}

/// A waker's identity: its data pointer and vtable, what [`Waker::will_wake`] compares.
/// Clones of a waker share it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WakerId {
    data: usize,
    vtable: usize,
}

impl WakerId {
    /// The identity of `waker`.
    pub fn of(waker: &Waker) -> Self {
        WakerId { data: waker.data().addr(), vtable: std::ptr::from_ref(waker.vtable()).addr() }
    }
}
