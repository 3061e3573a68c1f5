//! `.checked_sink()` (feature `sink`): a `Sink` wrapper that reports the protocol
//! broken by its caller, and moves.

use std::marker::PhantomPinned;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_sink::Sink;

use crate::detect::violation::ViolationKind;
use crate::engine::raised::raise;

/// Extension trait for sinks (feature `sink`).
pub trait SinkCheckExt<Item>: Sink<Item> + Sized {
    /// Wraps the sink so that its caller's protocol errors panic with a message naming
    /// where the sink was created and the calls involved; inside the checker the panic
    /// becomes a [`SinkProtocol`](crate::ViolationKind::SinkProtocol) report:
    ///
    /// * `start_send` without a `Ready(Ok)` from `poll_ready` since the last
    ///   `start_send`;
    /// * any call after `poll_close` returned `Ready`.
    ///
    /// A move after the first call is a
    /// [`MovedWhilePinned`](crate::ViolationKind::MovedWhilePinned). Use it on the sink
    /// a combinator under test writes to (`forward`, `send_all`, a fan-out).
    ///
    /// ```
    /// use futures_util::{Sink, SinkExt};
    /// use pollcheck::SinkCheckExt;
    /// use std::pin::Pin;
    ///
    /// let (tx, _rx) = futures_channel::mpsc::unbounded::<u32>();
    /// let mut sink = Box::pin(tx.checked_sink());
    /// // Correct use passes.
    /// futures_executor::block_on(sink.send(1)).unwrap();
    /// // `start_send` without `poll_ready` first panics.
    /// let wrong = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink.as_mut().start_send(2)));
    /// assert!(wrong.is_err()); // "pollcheck: sink protocol: the sink created at ..."
    /// ```
    #[track_caller]
    fn checked_sink(self) -> CheckedSink<Self> {
        CheckedSink {
            inner: self,
            created_at: Location::caller(),
            first_call: None,
            ready_at: None,
            last_send: None,
            closed_at: None,
            _pinned: PhantomPinned,
        }
    }
}

impl<S: Sink<Item>, Item> SinkCheckExt<Item> for S {}

/// The sink returned by [`SinkCheckExt::checked_sink`].
#[derive(Debug)]
#[must_use = "sinks do nothing unless polled"]
pub struct CheckedSink<S> {
    inner: S,
    created_at: &'static Location<'static>,
    /// Address at the first call, and where that call came from.
    first_call: Option<(usize, &'static Location<'static>)>,
    /// Where `poll_ready` last returned `Ready(Ok)`, since the last `start_send`.
    ready_at: Option<&'static Location<'static>>,
    last_send: Option<&'static Location<'static>>,
    /// Where `poll_close` returned `Ready`.
    closed_at: Option<&'static Location<'static>>,
    _pinned: PhantomPinned,
}

impl<S> CheckedSink<S> {
    /// Where `.checked_sink()` was called.
    ///
    /// ```
    /// use pollcheck::SinkCheckExt;
    ///
    /// let (tx, _rx) = futures_channel::mpsc::unbounded::<u32>();
    /// assert!(tx.checked_sink().created_at().file().ends_with(".rs"));
    /// ```
    pub fn created_at(&self) -> &'static Location<'static> {
        self.created_at
    }

    /// The checks every call starts with; returns the pinned inner sink.
    #[track_caller]
    fn enter(self: Pin<&mut Self>, call: &str) -> (&mut Self, &'static Location<'static>) {
        // SAFETY: `inner` is structurally pinned (see `inner`); the wrapper itself is
        // never moved here, and the address is read through this `&mut`.
        let this = unsafe { self.get_unchecked_mut() };
        let at = Location::caller();
        let address = std::ptr::from_mut(this).addr();
        if let Some((first, first_at)) = this.first_call {
            if first != address {
                raise(
                    ViolationKind::MovedWhilePinned,
                    format!(
                        "the sink created at {} was first used at {first:#x} (from {first_at}) and {call} \
                         is now called at {address:#x} (from {at}): it moved while pinned",
                        this.created_at
                    ),
                );
            }
        }
        this.first_call.get_or_insert((address, at));
        if let Some(closed_at) = this.closed_at {
            raise(
                ViolationKind::SinkProtocol,
                format!(
                    "the sink created at {} returned Ready from poll_close (called from {closed_at}), \
                     and {call} was called after that, from {at}",
                    this.created_at
                ),
            );
        }
        (this, at)
    }

    fn inner(&mut self) -> Pin<&mut S> {
        // SAFETY: `self` came from a `Pin<&mut Self>` and `inner` is never moved out.
        unsafe { Pin::new_unchecked(&mut self.inner) }
    }
}

impl<S: Sink<Item>, Item> Sink<Item> for CheckedSink<S> {
    type Error = S::Error;

    #[track_caller]
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let (this, at) = self.enter("poll_ready");
        let poll = this.inner().poll_ready(cx);
        if let Poll::Ready(Ok(())) = poll {
            this.ready_at = Some(at);
        }
        poll
    }

    #[track_caller]
    fn start_send(self: Pin<&mut Self>, item: Item) -> Result<(), S::Error> {
        let (this, at) = self.enter("start_send");
        if this.ready_at.take().is_none() {
            let since = match this.last_send {
                Some(last) => format!("since the last start_send (from {last})"),
                None => "before it".to_owned(),
            };
            raise(
                ViolationKind::SinkProtocol,
                format!(
                    "start_send was called on the sink created at {} from {at} without a Ready(Ok) from \
                     poll_ready {since}",
                    this.created_at
                ),
            );
        }
        this.last_send = Some(at);
        this.inner().start_send(item)
    }

    #[track_caller]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let (this, _) = self.enter("poll_flush");
        this.inner().poll_flush(cx)
    }

    #[track_caller]
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        let (this, at) = self.enter("poll_close");
        let poll = this.inner().poll_close(cx);
        if poll.is_ready() {
            this.closed_at = Some(at);
        }
        poll
    }
}
