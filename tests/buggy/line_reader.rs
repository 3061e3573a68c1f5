//! A newline-delimited frame reader over an `AsyncRead`. Bug: when a read returns
//! data but no complete line yet, it returns `Pending` instead of reading again: the
//! inner reader returned `Ready`, so it registered no waker, and nothing will ever
//! wake the task (lost wakeup). Short reads (`b` in the schedule) show it.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncRead;

use super::Flavor;
use pollcheck::Scenario;

pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    flavor: Flavor,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R, flavor: Flavor) -> Self {
        LineReader { inner, buf: Vec::new(), flavor }
    }

    /// The next line (without its newline), or `None` at end of file.
    pub fn poll_line(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<Option<String>>> {
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                return Poll::Ready(Ok(Some(String::from_utf8_lossy(&line[..end]).into_owned())));
            }
            let mut chunk = [0; 64];
            match Pin::new(&mut self.inner).poll_read(cx, &mut chunk) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(None)),
                Poll::Ready(Ok(n)) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    if self.flavor.buggy() && !self.buf.contains(&b'\n') {
                        // BUG: a partial frame is not a reason to wait; the reader
                        // registered nothing.
                        return Poll::Pending;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let (reader, h) = pollcheck::io::probe_reader();
    let mut lines = LineReader::new(reader, flavor);
    Scenario::new()
        .task(async move {
            let mut got = Vec::new();
            while let Some(line) = poll_fn(|cx| lines.poll_line(cx)).await.map_err(|e| e.kind())? {
                got.push(line);
            }
            Ok::<_, std::io::ErrorKind>(got)
        })
        .step(h.sends(b"hi\n"))
        .step(h.ends())
}
