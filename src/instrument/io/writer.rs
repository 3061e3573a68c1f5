//! The writer probe.

use std::fmt;
use std::io::{self, ErrorKind};
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::bytes;
use crate::detect::violation::ViolationKind;
use crate::engine::hooks;
use crate::engine::short_io;
use crate::instrument::probe::{Hold, Mode, Shared};

/// A writer probe with room for `capacity` bytes, and the handle that drains it.
///
/// A write takes as much as there is room for (one byte after `b`) and returns
/// `Pending` when the buffer is full; a flush returns `Pending` until the handle
/// drained everything written ([`WriteHandle::drain`], the other side consuming it);
/// a close flushes first. [`WriteHandle::fail`] makes the next call return an error;
/// calling again after an error, or writing after a close returned `Ready(Ok)`, is
/// reported.
///
/// ```
/// use futures_util::io::AsyncWriteExt;
/// use pollcheck::Scenario;
///
/// pollcheck::check(|| {
///     let (mut writer, h) = pollcheck::io::probe_writer(4);
///     Scenario::new()
///         .task(async move {
///             writer.write_all(b"hello").await?;
///             writer.close().await
///         })
///         .step(h.drains(4))
///         .step(h.drains(4))
/// });
/// ```
///
/// # Panics
/// If `capacity` is 0 (nothing could ever be written).
#[track_caller]
pub fn probe_writer(capacity: usize) -> (WriteProbe, WriteHandle) {
    assert!(capacity > 0, "pollcheck::io::probe_writer: a capacity of 0 takes no byte ever");
    short_io::probe_created();
    let output = Output {
        capacity,
        written: Vec::new(),
        drained: 0,
        closed_at: None,
        error: None,
        errored_at: None,
        draining: false,
    };
    let shared = Shared::new("writer probe", "Ready", Location::caller(), Mode::Test, output, |o| Output {
        capacity: o.capacity,
        written: Vec::new(),
        drained: o.drained,
        closed_at: o.closed_at,
        error: o.error.take(),
        errored_at: o.errored_at,
        draining: o.draining,
    });
    let handle = WriteHandle { shared: Arc::clone(&shared) };
    (WriteProbe { shared: Hold::new(shared) }, handle)
}

struct Output {
    capacity: usize,
    written: Vec<u8>,
    /// How much of `written` the other side consumed.
    drained: usize,
    closed_at: Option<&'static Location<'static>>,
    error: Option<(ErrorKind, &'static Location<'static>)>,
    errored_at: Option<(ErrorKind, &'static Location<'static>)>,
    /// [`keep_draining`](WriteHandle::keep_draining): every byte is consumed as it is
    /// written.
    draining: bool,
}

impl Output {
    /// From now on everything written is consumed at once.
    fn keep_draining(&mut self) {
        self.draining = true;
        self.drained = self.written.len();
    }

    fn buffered(&self) -> usize {
        self.written.len() - self.drained
    }

    /// Returns the pending error, if any.
    fn fail(&mut self, at: &'static Location<'static>) -> Option<io::Result<()>> {
        let (kind, _) = self.error.take()?;
        if kind != ErrorKind::Interrupted {
            self.errored_at = Some((kind, at));
        }
        hooks::note(|| format!("the writer probe returned an error ({kind:?})"));
        Some(Err(io::Error::from(kind)))
    }
}

/// The writer half of [`probe_writer`]: `AsyncWrite` (feature `io`), tokio's
/// `AsyncWrite` (feature `tokio-io`).
#[must_use = "writers do nothing unless written to"]
pub struct WriteProbe {
    /// Released by the first drop only, as in [`Probe`](crate::Probe).
    shared: Hold<Output>,
}

#[derive(Clone, Copy)]
enum Call {
    Write,
    Flush,
    Close,
}

impl WriteProbe {
    fn check(&self, call: Call, at: &'static Location<'static>) {
        let (errored, closed) = {
            let st = self.shared.lock();
            (st.payload.errored_at, st.payload.closed_at)
        };
        let created_at = self.shared.created_at;
        let name = match call {
            Call::Write => "written to",
            Call::Flush => "flushed",
            Call::Close => "closed",
        };
        if let Some((kind, first)) = errored {
            crate::engine::raised::raise(
                ViolationKind::PollAfterReady,
                format!(
                    "the writer probe created at {created_at} returned an error ({kind:?}) to a call from {first} \
                     and was {name} again from {at}: an error ends the stream"
                ),
            );
        }
        if let (Call::Write, Some(closed)) = (call, closed) {
            crate::engine::raised::raise(
                ViolationKind::PollAfterReady,
                format!(
                    "the writer probe created at {created_at} was closed (its close returned Ready to a call \
                     from {closed}) and was written to again from {at}"
                ),
            );
        }
    }

    fn write(&mut self, cx: &mut Context<'_>, at: &'static Location<'static>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check(Call::Write, at);
        self.shared.poll(0, at, cx, |out| {
            if let Some(Err(e)) = out.fail(at) {
                return Some((Err(e), false));
            }
            if buf.is_empty() {
                return Some((Ok(0), false));
            }
            let room = out.capacity - out.buffered();
            if room == 0 {
                return None;
            }
            let n = short_io::limit(room.min(buf.len()));
            out.written.extend_from_slice(&buf[..n]);
            if out.draining {
                out.drained = out.written.len();
            }
            hooks::note(|| format!("wrote {} to the writer probe", bytes(n)));
            Some((Ok(n), false))
        })
    }

    fn flush(&mut self, cx: &mut Context<'_>, at: &'static Location<'static>, call: Call) -> Poll<io::Result<()>> {
        self.check(call, at);
        self.shared.poll(0, at, cx, |out| {
            if let Some(err) = out.fail(at) {
                return Some((err, false));
            }
            if out.buffered() > 0 {
                return None;
            }
            if let Call::Close = call {
                out.closed_at.get_or_insert(at);
                hooks::note(|| "the writer probe closed".into());
            }
            Some((Ok(()), false))
        })
    }
}

impl Drop for WriteProbe {
    fn drop(&mut self) {
        // SAFETY: the probe's own drop, with its own hold, which nothing but a later
        // drop of the probe uses after it.
        unsafe { crate::instrument::probe::drop_probe(&mut self.shared, 0) }
    }
}

impl fmt::Debug for WriteProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt_probe("WriteProbe", f)
    }
}

#[cfg(feature = "io")]
impl futures_io::AsyncWrite for WriteProbe {
    #[track_caller]
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().write(cx, Location::caller(), buf)
    }

    #[track_caller]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flush(cx, Location::caller(), Call::Flush)
    }

    #[track_caller]
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flush(cx, Location::caller(), Call::Close)
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for WriteProbe {
    #[track_caller]
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.get_mut().write(cx, Location::caller(), buf)
    }

    #[track_caller]
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flush(cx, Location::caller(), Call::Flush)
    }

    #[track_caller]
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flush(cx, Location::caller(), Call::Close)
    }
}

crate::instrument::probe::probe_handle! {
    /// Drains and inspects a [`WriteProbe`]. Clones control the same writer.
    ///
    /// ```
    /// use futures_util::io::AsyncWriteExt;
    /// use pollcheck::Scenario;
    ///
    /// pollcheck::check(|| {
    ///     let (mut writer, h) = pollcheck::io::probe_writer(2);
    ///     let check = h.clone();
    ///     Scenario::new()
    ///         .task(async move { writer.write_all(b"abc").await })
    ///         .step(h.drains(2))
    ///         // Never more than the capacity waits to be drained.
    ///         .step(move || assert!(check.buffered() <= 2 && b"abc".starts_with(&check.written())))
    /// });
    /// ```
    pub struct WriteHandle(Shared<Output>);
    what: "writer",
    make: "pollcheck::io::probe_writer(8)",
    polled: "(writes, flushes and closes)",
}

impl WriteHandle {
    fn drain_at(&self, n: usize, at: &'static Location<'static>) {
        self.shared.update_and_wake(at, |out| out.drained += n.min(out.buffered()));
    }

    /// From now on the other side consumes everything at once: what is buffered, and
    /// every later byte as it is written; the writer is woken. A step that drains once
    /// can run before anything was written, which rightly leaves a later flush
    /// waiting; from a `keeps_draining` step on, a writer task can be declared to
    /// finish ([`Scenario::must_finish`](crate::Scenario::must_finish)).
    ///
    /// ```
    /// let (_writer, h) = pollcheck::io::probe_writer(8);
    /// h.keep_draining();
    /// ```
    #[track_caller]
    pub fn keep_draining(&self) {
        self.shared.update_and_wake(Location::caller(), Output::keep_draining);
    }

    /// A driver step that calls [`keep_draining`](WriteHandle::keep_draining).
    ///
    /// ```
    /// let (_writer, h) = pollcheck::io::probe_writer(8);
    /// h.keeps_draining()();
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn keeps_draining(&self) -> impl FnOnce() + 'static {
        self.shared.step(Location::caller(), Output::keep_draining)
    }

    fn fail_at(&self, kind: ErrorKind, at: &'static Location<'static>) {
        self.shared.update_and_wake(at, |out| out.error = Some((kind, at)));
    }

    /// The other side consumes up to `n` buffered bytes, making room for as many, and
    /// the writer's registered waker is woken.
    ///
    /// ```
    /// let (_writer, h) = pollcheck::io::probe_writer(8);
    /// h.drain(usize::MAX); // nothing buffered: frees nothing
    /// ```
    #[track_caller]
    pub fn drain(&self, n: usize) {
        self.drain_at(n, Location::caller());
    }

    /// The next call on the writer (a write, a flush or a close) returns an error of
    /// `kind`, once; calling again after an error other than `Interrupted` is reported.
    ///
    /// ```
    /// let (_writer, h) = pollcheck::io::probe_writer(8);
    /// h.fail(std::io::ErrorKind::BrokenPipe);
    /// ```
    #[track_caller]
    pub fn fail(&self, kind: ErrorKind) {
        self.fail_at(kind, Location::caller());
    }

    /// A driver step that calls [`drain`](WriteHandle::drain) with `n`.
    ///
    /// ```
    /// let (_writer, h) = pollcheck::io::probe_writer(8);
    /// h.drains(8)();
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn drains(&self, n: usize) -> impl FnOnce() + 'static {
        let handle = self.clone();
        let at = Location::caller();
        move || handle.drain_at(n, at)
    }

    /// A driver step that calls [`fail`](WriteHandle::fail) with `kind`.
    ///
    /// ```
    /// let (_writer, h) = pollcheck::io::probe_writer(8);
    /// h.fails(std::io::ErrorKind::BrokenPipe)();
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn fails(&self, kind: ErrorKind) -> impl FnOnce() + 'static {
        let handle = self.clone();
        let at = Location::caller();
        move || handle.fail_at(kind, at)
    }

    /// Every byte the writer accepted so far, in order (drained or not).
    ///
    /// ```
    /// let (_writer, h) = pollcheck::io::probe_writer(8);
    /// assert!(h.written().is_empty());
    /// ```
    pub fn written(&self) -> Vec<u8> {
        self.shared.lock().payload.written.clone()
    }

    /// Bytes accepted and not drained yet.
    ///
    /// ```
    /// let (_writer, h) = pollcheck::io::probe_writer(8);
    /// assert_eq!(h.buffered(), 0);
    /// ```
    pub fn buffered(&self) -> usize {
        self.shared.lock().payload.buffered()
    }

    /// Whether a close (tokio: shutdown) of the writer returned `Ready(Ok)`.
    ///
    /// ```
    /// let (_writer, h) = pollcheck::io::probe_writer(8);
    /// assert!(!h.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.lock().payload.closed_at.is_some()
    }
}
