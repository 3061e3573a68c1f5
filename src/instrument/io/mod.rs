//! I/O probes (feature `io` for futures-io's traits, `tokio-io` for tokio's): a reader
//! and a writer that a test controls through handles, to check the code that reads and
//! writes through them (a codec, a buffered writer, a copy loop).
//!
//! The handles' calls are driver steps: data arrives, the reader reaches end of file or
//! fails, the writer's other side drains some of its buffer. A probe returns `Pending`
//! while it has nothing to give (or no room), registering the waker it was polled with,
//! and the handle's next call wakes it. The schedule's `b` action
//! ([`Step::ShortIo`](crate::Step::ShortIo)) makes the next read or write move at most
//! one byte, so code that assumes a read fills its buffer, or that a write takes it all,
//! shows its bug.
//!
//! ```
//! use futures_util::io::AsyncReadExt;
//! use pollcheck::Scenario;
//!
//! pollcheck::check(|| {
//!     let (mut reader, h) = pollcheck::io::probe_reader();
//!     Scenario::new()
//!         .task(async move {
//!             let mut text = String::new();
//!             reader.read_to_string(&mut text).await.map(|_| text)
//!         })
//!         .step(h.sends(b"hello "))
//!         .step(h.sends(b"world"))
//!         .step(h.ends())
//! });
//! ```
//!
//! Inside a checker run an I/O probe reports, besides what every
//! [`probe`](crate::probe) reports about wakes (a wake that does not lead back to the
//! task because the code under test polled it with a no-op "peek" waker; a wake after
//! which the task was polled but the probe never again):
//!
//! | seen | kind |
//! | --- | --- |
//! | a reader polled again after it returned an error (other than `Interrupted`) | [`PollAfterReady`](crate::ViolationKind::PollAfterReady) |
//! | a writer polled again after it returned an error (other than `Interrupted`) | [`PollAfterReady`](crate::ViolationKind::PollAfterReady) |
//! | `poll_write` after `poll_close` (tokio: `poll_shutdown`) returned `Ready(Ok)` | [`PollAfterReady`](crate::ViolationKind::PollAfterReady) |
//! | still alive after the task and the driver were dropped | [`LeakedFuture`](crate::ViolationKind::LeakedFuture) |
//!
//! I/O probes are `Unpin` (most I/O code wants `Unpin` readers and writers), so moving
//! them is legal and not checked.

mod reader;
mod writer;

pub use reader::{probe_reader, ReadHandle, ReadProbe};
pub use writer::{probe_writer, WriteHandle, WriteProbe};

/// "1 byte", "3 bytes".
pub(crate) fn bytes(n: usize) -> String {
    format!("{n} byte{}", if n == 1 { "" } else { "s" })
}
