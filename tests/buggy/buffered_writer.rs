//! A buffered writer over an `AsyncWrite`: writes go to its buffer, a flush writes
//! the buffer out, then flushes the inner writer. Bug: when the inner writer takes
//! only part of the buffer (a short write, `Ready(Ok(n))`), the flush returns
//! `Pending` to be called again: the inner writer returned `Ready`, so it registered
//! no waker, and nothing will ever wake the task (lost wakeup). Short writes (`b` in
//! the schedule) show it.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncWrite;

use super::Flavor;
use pollcheck::Scenario;

pub struct BufferedWriter<W> {
    inner: W,
    buf: Vec<u8>,
    flavor: Flavor,
}

impl<W: AsyncWrite + Unpin> BufferedWriter<W> {
    pub fn new(inner: W, flavor: Flavor) -> Self {
        BufferedWriter { inner, buf: Vec::new(), flavor }
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.buf.is_empty() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.buf) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.buf.drain(..n);
                    if self.flavor.buggy() && !self.buf.is_empty() {
                        // BUG: a short write is not a reason to wait; the writer
                        // registered nothing.
                        return Poll::Pending;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (writer, h) = pollcheck::io::probe_writer(8);
    let mut out = BufferedWriter::new(writer, flavor);
    Scenario::new()
        .task(async move {
            out.write(b"hello");
            poll_fn(|cx| out.poll_flush(cx)).await.map_err(|e| e.kind())
        })
        .step(h.drains(8))
}
