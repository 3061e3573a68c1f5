//! The sink probe (feature `sink`): a `Sink` whose room, drains and errors its handle
//! controls, and which reports its caller's protocol errors.

use std::fmt;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_sink::Sink;

use super::leaf::Leaf;
use super::shared::{Mode, Shared};
use crate::detect::violation::ViolationKind;

/// A probe sink and the handle that controls it: [`probe`](crate::probe) for sinks
/// (feature `sink`), to check what writes into a sink (`forward`, `send_all`, a
/// fan-out).
///
/// The sink starts with no room: `poll_ready` is `Pending` until the handle
/// [`accepts`](SinkHandle::accept) items. Each `start_send` takes one unit of room and
/// buffers the item; `poll_flush` and `poll_close` are `Pending` while items are
/// buffered, until the handle [`drains`](SinkHandle::drain) them (they are then
/// [`received`](SinkHandle::received)). The handle can also make it
/// [full](SinkHandle::make_full) or [fail](SinkHandle::fail) (every call then returns
/// the error).
///
/// It reports, besides every check of [`probe`](crate::probe) (moved while pinned,
/// polled with a waker that does not lead back to the task, woken and never polled
/// again, dropped twice or never), the protocol broken by its caller as
/// [`SinkProtocol`](crate::ViolationKind::SinkProtocol): `start_send` without a
/// `Ready(Ok)` from `poll_ready` since the last `start_send`, and any call after
/// `poll_close` returned `Ready`.
///
/// ```
/// use futures_util::StreamExt;
/// use pollcheck::Scenario;
///
/// pollcheck::check(|| {
///     let (sink, h) = pollcheck::probe_sink::<u32>();
///     let (items, hs) = pollcheck::probe_stream::<Result<u32, String>>();
///     Scenario::new()
///         .task(items.forward(sink))
///         .step(h.accepts(2))
///         .step(hs.yields(Ok(1)))
///         .step(hs.yields(Ok(2)))
///         .step(hs.ends())
///         .step(h.drains())
/// });
/// ```
#[track_caller]
pub fn probe_sink<T>() -> (SinkProbe<T>, SinkHandle<T>) {
    let buffer = Buffer {
        room: 0,
        buffered: Vec::new(),
        received: Vec::new(),
        error: None,
        ready_at: None,
        last_send: None,
        closed_at: None,
        draining: false,
    };
    let shared = Shared::new("sink probe", "closed", Location::caller(), Mode::Test, buffer, |b| Buffer {
        room: b.room,
        buffered: std::mem::take(&mut b.buffered),
        received: Vec::new(),
        error: None,
        ready_at: None,
        last_send: None,
        closed_at: None,
        draining: b.draining,
    });
    let handle = SinkHandle { shared: Arc::clone(&shared) };
    (SinkProbe { leaf: Leaf::new(shared) }, handle)
}

struct Buffer<T> {
    /// How many more items `poll_ready` lets in.
    room: usize,
    /// Sent, not drained yet.
    buffered: Vec<T>,
    /// Drained.
    received: Vec<T>,
    error: Option<String>,
    /// Where `poll_ready` returned `Ready(Ok)`, since the last `start_send`.
    ready_at: Option<&'static Location<'static>>,
    last_send: Option<&'static Location<'static>>,
    closed_at: Option<&'static Location<'static>>,
    /// [`keep_draining`](SinkHandle::keep_draining): every item is delivered as it is
    /// sent, and `poll_ready` always has room.
    draining: bool,
}

/// The sink half of [`probe_sink`].
#[must_use = "sinks do nothing unless polled"]
pub struct SinkProbe<T> {
    leaf: Leaf<Buffer<T>>,
}

impl<T: 'static> SinkProbe<T> {
    /// A call after `poll_close` returned `Ready` is the caller's protocol error.
    #[track_caller]
    fn check_open(&self, call: &str) {
        let closed_at = self.leaf.lock().payload.closed_at;
        if let Some(closed_at) = closed_at {
            crate::engine::raised::raise(
                ViolationKind::SinkProtocol,
                format!(
                    "the sink probe created at {} returned Ready from poll_close (called from {closed_at}), \
                     and {call} was called after that, from {}",
                    self.leaf.created_at,
                    Location::caller()
                ),
            );
        }
    }

    #[track_caller]
    fn poll_with(
        self: Pin<&mut Self>,
        call: &str,
        cx: &mut Context<'_>,
        mut ready: impl FnMut(&mut Buffer<T>) -> bool,
    ) -> Poll<Result<(), String>> {
        self.check_open(call);
        self.leaf.poll(self.leaf.address(), Location::caller(), cx, |b| match &b.error {
            Some(e) => Some((Err(e.clone()), false)),
            None => ready(b).then_some((Ok(()), false)),
        })
    }
}

impl<T: 'static> Sink<T> for SinkProbe<T> {
    type Error = String;

    #[track_caller]
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        let at = Location::caller();
        let shared = Arc::clone(&self.leaf);
        let poll = self.poll_with("poll_ready", cx, |b| b.room > 0);
        if let Poll::Ready(Ok(())) = poll {
            shared.lock().payload.ready_at = Some(at);
        }
        poll
    }

    #[track_caller]
    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), String> {
        self.check_open("start_send");
        let at = Location::caller();
        let mut st = self.leaf.lock();
        let b = &mut st.payload;
        if b.ready_at.take().is_none() {
            let since = match b.last_send {
                Some(last) => format!("since the last start_send (from {last})"),
                None => "before it".to_owned(),
            };
            let created_at = self.leaf.created_at;
            drop(st);
            drop(item);
            crate::engine::raised::raise(
                ViolationKind::SinkProtocol,
                format!(
                    "start_send was called on the sink probe created at {created_at} from {at} without a \
                     Ready(Ok) from poll_ready {since}"
                ),
            );
        }
        b.last_send = Some(at);
        if let Some(e) = &b.error {
            return Err(e.clone());
        }
        b.room = b.room.saturating_sub(1);
        b.buffered.push(item);
        if b.draining {
            drain(b);
        }
        Ok(())
    }

    #[track_caller]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        self.poll_with("poll_flush", cx, |b| b.buffered.is_empty())
    }

    #[track_caller]
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        let at = Location::caller();
        let shared = Arc::clone(&self.leaf);
        let poll = self.poll_with("poll_close", cx, |b| b.buffered.is_empty());
        if poll.is_ready() {
            shared.lock().payload.closed_at = Some(at);
        }
        poll
    }
}

impl<T> fmt::Debug for SinkProbe<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.leaf.fmt_probe("SinkProbe", f)
    }
}

super::shared::probe_handle! {
    /// Controls a [`SinkProbe`]. Clones control the same sink.
    pub struct SinkHandle<T>(Shared<Buffer<T>>);
    what: "sink",
    make: "pollcheck::probe_sink::<u32>()",
    polled: "(`poll_ready`, `poll_flush`, `poll_close`)",
}

impl<T: 'static> SinkHandle<T> {
    /// Makes room for `n` more items and wakes the sink.
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// h.accept(1);
    /// ```
    #[track_caller]
    pub fn accept(&self, n: usize) {
        self.shared.update_and_wake(Location::caller(), |b| b.room += n);
    }

    /// Takes all room away (without a wake): `poll_ready` is `Pending` until the next
    /// [`accept`](SinkHandle::accept).
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// h.accept(1);
    /// h.make_full();
    /// ```
    pub fn make_full(&self) {
        self.shared.update(|b| b.room = 0);
    }

    /// Delivers the buffered items (see [`received`](SinkHandle::received)) and wakes
    /// the sink: a pending `poll_flush` or `poll_close` can finish.
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// h.drain();
    /// ```
    #[track_caller]
    pub fn drain(&self) {
        self.shared.update_and_wake(Location::caller(), drain);
    }

    /// From now on the other side takes everything at once: the buffered items are
    /// delivered, every later item as it is sent, and `poll_ready` always has room; the
    /// sink is woken. A step that drains once can run before anything was written,
    /// which rightly leaves a later flush waiting; from a `keeps_draining` step on, a
    /// writer over the sink can be declared to finish
    /// ([`Scenario::must_finish`](crate::Scenario::must_finish)).
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// h.keep_draining();
    /// ```
    #[track_caller]
    pub fn keep_draining(&self) {
        self.shared.update_and_wake(Location::caller(), keep_draining);
    }

    /// A driver step that calls [`keep_draining`](SinkHandle::keep_draining).
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// let step = h.keeps_draining();
    /// # drop(step);
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn keeps_draining(&self) -> impl FnOnce() + 'static {
        self.shared.step(Location::caller(), keep_draining)
    }

    /// Makes every later call return `Err(error)` and wakes the sink.
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// h.fail("connection reset");
    /// ```
    #[track_caller]
    pub fn fail(&self, error: &str) {
        let error = error.to_owned();
        self.shared.update_and_wake(Location::caller(), |b| b.error = Some(error));
    }

    /// A driver step that calls [`accept`](SinkHandle::accept)`(n)`.
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// let step = h.accepts(2);
    /// # drop(step);
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn accepts(&self, n: usize) -> impl FnOnce() + 'static {
        self.shared.step(Location::caller(), move |b| b.room += n)
    }

    /// A driver step that calls [`make_full`](SinkHandle::make_full).
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// let step = h.becomes_full();
    /// # drop(step);
    /// ```
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn becomes_full(&self) -> impl FnOnce() + 'static {
        let handle = self.clone();
        move || handle.make_full()
    }

    /// A driver step that calls [`drain`](SinkHandle::drain).
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// let step = h.drains();
    /// # drop(step);
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn drains(&self) -> impl FnOnce() + 'static {
        self.shared.step(Location::caller(), drain)
    }

    /// A driver step that calls [`fail`](SinkHandle::fail).
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// let step = h.fails("broken pipe");
    /// # drop(step);
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn fails(&self, error: &str) -> impl FnOnce() + 'static {
        let error = error.to_owned();
        self.shared.step(Location::caller(), |b| b.error = Some(error))
    }
}

/// From now on every item is taken at once, and there is always room.
fn keep_draining<T>(b: &mut Buffer<T>) {
    b.draining = true;
    b.room = usize::MAX;
    drain(b);
}

fn drain<T>(b: &mut Buffer<T>) {
    let items = std::mem::take(&mut b.buffered);
    b.received.extend(items);
}

impl<T> SinkHandle<T> {
    /// The items drained so far, in order.
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// assert!(h.received().is_empty());
    /// ```
    pub fn received(&self) -> Vec<T>
    where
        T: Clone,
    {
        self.shared.lock().payload.received.clone()
    }

    /// How many items were sent and not drained yet.
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// assert_eq!(h.buffered(), 0);
    /// ```
    pub fn buffered(&self) -> usize {
        self.shared.lock().payload.buffered.len()
    }

    /// Whether `poll_close` returned `Ready`.
    ///
    /// ```
    /// let (_sink, h) = pollcheck::probe_sink::<u32>();
    /// assert!(!h.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.lock().payload.closed_at.is_some()
    }
}
