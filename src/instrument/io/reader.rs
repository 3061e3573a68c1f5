//! The reader probe.

use std::collections::VecDeque;
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

/// A reader probe and the handle that feeds it.
///
/// The reader returns `Pending` until its handle gives it data
/// ([`ReadHandle::data`]), end of file ([`ReadHandle::eof`], then every read returns
/// `Ok(0)`) or an error ([`ReadHandle::error`], returned once; reading again after it is
/// reported). A read takes as much of the data as fits (one byte after `b`).
///
/// ```
/// use futures_util::io::{AsyncBufReadExt, BufReader};
/// use futures_util::StreamExt;
/// use pollcheck::Scenario;
///
/// pollcheck::check(|| {
///     let (reader, h) = pollcheck::io::probe_reader();
///     Scenario::new()
///         .task(BufReader::new(reader).lines().map(Result::unwrap).collect::<Vec<_>>())
///         .step(h.sends(b"one\ntw"))
///         .step(h.sends(b"o\n"))
///         .step(h.ends())
/// });
/// ```
#[track_caller]
pub fn probe_reader() -> (ReadProbe, ReadHandle) {
    short_io::probe_created();
    let input = Input { data: VecDeque::new(), eof_at: None, error: None, errored_at: None, read: 0 };
    let shared = Shared::new("reader probe", "Ready", Location::caller(), Mode::Test, input, |i| Input {
        data: std::mem::take(&mut i.data),
        eof_at: i.eof_at,
        error: i.error.take(),
        errored_at: i.errored_at,
        read: i.read,
    });
    let handle = ReadHandle { shared: Arc::clone(&shared) };
    (ReadProbe { shared: Hold::new(shared), buffered: Vec::new(), consumed: 0 }, handle)
}

struct Input {
    data: VecDeque<u8>,
    eof_at: Option<&'static Location<'static>>,
    /// An error waiting to be returned, and where the handle set it.
    error: Option<(ErrorKind, &'static Location<'static>)>,
    /// Where the reader returned an error (other than `Interrupted`).
    errored_at: Option<(ErrorKind, &'static Location<'static>)>,
    read: usize,
}

/// The reader half of [`probe_reader`]: `AsyncRead` and `AsyncBufRead` (feature `io`),
/// tokio's `AsyncRead` (feature `tokio-io`).
#[must_use = "readers do nothing unless read from"]
pub struct ReadProbe {
    /// Released by the first drop only, as in [`Probe`](crate::Probe).
    shared: Hold<Input>,
    /// What `poll_fill_buf` took and `consume` has not consumed yet.
    buffered: Vec<u8>,
    consumed: usize,
}

impl ReadProbe {
    /// The reader's side of a read into `buf`: what `poll_read` returns.
    fn read(
        &mut self,
        cx: &mut Context<'_>,
        at: &'static Location<'static>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.consumed < self.buffered.len() {
            let n = buf.len().min(self.buffered.len() - self.consumed);
            buf[..n].copy_from_slice(&self.buffered[self.consumed..self.consumed + n]);
            self.consumed += n;
            return Poll::Ready(Ok(n));
        }
        let errored = self.shared.lock().payload.errored_at;
        if let Some((kind, first)) = errored {
            crate::engine::raised::raise(
                ViolationKind::PollAfterReady,
                format!(
                    "the reader probe created at {} returned an error ({kind:?}) to a read from {first} and \
                     was read again from {at}: an error ends the stream",
                    self.shared.created_at
                ),
            );
        }
        self.shared.poll(0, at, cx, |input| {
            if buf.is_empty() {
                return Some((Ok(0), false));
            }
            if !input.data.is_empty() {
                let n = short_io::limit(buf.len().min(input.data.len()));
                for (slot, byte) in buf.iter_mut().zip(input.data.drain(..n)) {
                    *slot = byte;
                }
                input.read += n;
                hooks::note(|| format!("read {} from the reader probe", bytes(n)));
                return Some((Ok(n), false));
            }
            if let Some((kind, _)) = input.error.take() {
                if kind != ErrorKind::Interrupted {
                    input.errored_at = Some((kind, at));
                }
                hooks::note(|| format!("the reader probe returned an error ({kind:?})"));
                return Some((Err(io::Error::from(kind)), false));
            }
            if input.eof_at.is_some() {
                hooks::note(|| "the reader probe returned end of file".into());
                return Some((Ok(0), false));
            }
            None
        })
    }

    fn fill_buf(&mut self, cx: &mut Context<'_>, at: &'static Location<'static>) -> Poll<io::Result<&[u8]>> {
        if self.consumed >= self.buffered.len() {
            let mut chunk = vec![0; 8 * 1024];
            match self.read(cx, at, &mut chunk) {
                Poll::Ready(Ok(n)) => {
                    chunk.truncate(n);
                    self.buffered = chunk;
                    self.consumed = 0;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(&self.buffered[self.consumed..]))
    }

    fn consume(&mut self, amt: usize) {
        self.consumed = (self.consumed + amt).min(self.buffered.len());
    }
}

impl Drop for ReadProbe {
    fn drop(&mut self) {
        // SAFETY: the probe's own drop, with its own hold, which nothing but a later
        // drop of the probe uses after it.
        unsafe { crate::instrument::probe::drop_probe(&mut self.shared, 0) }
    }
}

impl fmt::Debug for ReadProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt_probe("ReadProbe", f)
    }
}

#[cfg(feature = "io")]
impl futures_io::AsyncRead for ReadProbe {
    #[track_caller]
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.get_mut().read(cx, Location::caller(), buf)
    }
}

#[cfg(feature = "io")]
impl futures_io::AsyncBufRead for ReadProbe {
    #[track_caller]
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().fill_buf(cx, Location::caller())
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume(amt);
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncRead for ReadProbe {
    #[track_caller]
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut tokio::io::ReadBuf<'_>) -> Poll<io::Result<()>> {
        let at = Location::caller();
        let n = match self.get_mut().read(cx, at, buf.initialize_unfilled()) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

crate::instrument::probe::probe_handle! {
    /// Feeds a [`ReadProbe`]. Clones feed the same reader.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use futures_util::io::AsyncReadExt;
    /// use pollcheck::Scenario;
    ///
    /// pollcheck::check(|| {
    ///     let (mut reader, h) = pollcheck::io::probe_reader();
    ///     Scenario::new()
    ///         .task(async move {
    ///             let mut buf = Vec::new();
    ///             reader.read_to_end(&mut buf).await.map_err(|e| e.kind())
    ///         })
    ///         .step(h.sends(b"partial"))
    ///         .step(h.fails(ErrorKind::ConnectionReset))
    /// });
    /// ```
    pub struct ReadHandle(Shared<Input>);
    what: "reader",
    make: "pollcheck::io::probe_reader()",
    polled: "(`poll_read`, `poll_fill_buf`)",
}

impl ReadHandle {
    fn data_at(&self, bytes: Vec<u8>, at: &'static Location<'static>) {
        let created_at = self.shared.created_at;
        self.shared.update_and_wake(at, |input| {
            if let Some(eof) = input.eof_at {
                panic!(
                    "pollcheck: the reader probe created at {created_at} got data at {at} after end of file at {eof}"
                );
            }
            input.data.extend(bytes);
        });
    }

    fn eof_at(&self, at: &'static Location<'static>) {
        self.shared.update_and_wake(at, |input| {
            input.eof_at.get_or_insert(at);
        });
    }

    fn error_at(&self, kind: ErrorKind, at: &'static Location<'static>) {
        self.shared.update_and_wake(at, |input| input.error = Some((kind, at)));
    }

    /// Data arrives: the reader's next reads return it (after what it holds already),
    /// and its registered waker is woken.
    ///
    /// ```
    /// let (_reader, h) = pollcheck::io::probe_reader();
    /// h.data(b"abc");
    /// assert_eq!(h.unread(), 3);
    /// ```
    ///
    /// # Panics
    /// After [`eof`](ReadHandle::eof).
    #[track_caller]
    pub fn data(&self, bytes: &[u8]) {
        self.data_at(bytes.to_vec(), Location::caller());
    }

    /// End of file, after the data already given: reads return `Ok(0)` from then on.
    ///
    /// ```
    /// let (_reader, h) = pollcheck::io::probe_reader();
    /// h.eof();
    /// ```
    #[track_caller]
    pub fn eof(&self) {
        self.eof_at(Location::caller());
    }

    /// An error, after the data already given: the next read that finds no data
    /// returns it (once). Reading again after an error other than `Interrupted` is
    /// reported.
    ///
    /// ```
    /// let (_reader, h) = pollcheck::io::probe_reader();
    /// h.error(std::io::ErrorKind::ConnectionReset);
    /// ```
    #[track_caller]
    pub fn error(&self, kind: ErrorKind) {
        self.error_at(kind, Location::caller());
    }

    /// A driver step that calls [`data`](ReadHandle::data) with `bytes`.
    ///
    /// ```
    /// let (_reader, h) = pollcheck::io::probe_reader();
    /// let step = h.sends(b"abc");
    /// step();
    /// assert_eq!(h.unread(), 3);
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn sends(&self, bytes: &[u8]) -> impl FnOnce() + 'static {
        let handle = self.clone();
        let (bytes, at) = (bytes.to_vec(), Location::caller());
        move || handle.data_at(bytes, at)
    }

    /// A driver step that calls [`eof`](ReadHandle::eof).
    ///
    /// ```
    /// let (_reader, h) = pollcheck::io::probe_reader();
    /// h.ends()();
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn ends(&self) -> impl FnOnce() + 'static {
        let handle = self.clone();
        let at = Location::caller();
        move || handle.eof_at(at)
    }

    /// A driver step that calls [`error`](ReadHandle::error) with `kind`.
    ///
    /// ```
    /// let (_reader, h) = pollcheck::io::probe_reader();
    /// h.fails(std::io::ErrorKind::BrokenPipe)();
    /// ```
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn fails(&self, kind: ErrorKind) -> impl FnOnce() + 'static {
        let handle = self.clone();
        let at = Location::caller();
        move || handle.error_at(kind, at)
    }

    /// Bytes the reader returned so far.
    ///
    /// ```
    /// let (_reader, h) = pollcheck::io::probe_reader();
    /// assert_eq!(h.bytes_read(), 0);
    /// ```
    pub fn bytes_read(&self) -> usize {
        self.shared.lock().payload.read
    }

    /// Bytes given and not read yet.
    ///
    /// ```
    /// let (_reader, h) = pollcheck::io::probe_reader();
    /// assert_eq!(h.unread(), 0);
    /// ```
    pub fn unread(&self) -> usize {
        self.shared.lock().payload.data.len()
    }
}
