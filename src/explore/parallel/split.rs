//! A run of items (a level's prefixes, random cases) handed out in chunks to whichever
//! thread asks next, so that no thread waits on another's slow chunk: chunks shrink as
//! the run drains, and the last ones are small. A failing item stops the chunks past it.

use std::any::Any;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crate::sync::{lock, wait_briefly};

/// How long the exploring thread waits for the other threads' last chunks before
/// blocking: about one chunk's run.
const FINISH_WAIT: Duration = Duration::from_micros(200);

/// Items `0..items`, shared by the threads that help with them.
pub(super) struct Split {
    items: u64,
    /// A chunk is the items left over `parts`, within `chunk`.
    parts: u64,
    chunk: Range<u64>,
    /// The first item not handed out yet.
    next: AtomicU64,
    /// The lowest failing item seen so far (`u64::MAX`: none): items past it need no run.
    lowest: AtomicU64,
    /// Items handed out or not whose chunk is not finished yet.
    left: Mutex<u64>,
    finished: Condvar,
    /// A panic out of a chunk (a pollcheck bug: user panics are caught inside), passed
    /// on by [`Split::wait`].
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

impl Split {
    /// `items` for `threads` threads, in chunks of `chunk.start` to `chunk.end - 1`
    /// items (on one thread, a single chunk).
    pub(super) fn new(items: u64, threads: usize, chunk: Range<u64>) -> Self {
        let (parts, chunk) = if threads > 1 { (threads as u64 * 8, chunk) } else { (1, items.max(1)..u64::MAX) };
        Split {
            items,
            parts,
            chunk,
            next: AtomicU64::new(0),
            lowest: AtomicU64::new(u64::MAX),
            left: Mutex::new(items),
            finished: Condvar::new(),
            panic: Mutex::new(None),
        }
    }

    /// The next chunk, or `None` once every item is handed out.
    fn take(&self) -> Option<Range<u64>> {
        let mut start = self.next.load(Relaxed);
        loop {
            if start >= self.items {
                return None;
            }
            let left = self.items - start;
            let size = (left / self.parts).clamp(self.chunk.start, self.chunk.end - 1).min(left);
            // No chunk smaller than the smallest after this one: it would cost more
            // than it runs.
            let end = if left - size < self.chunk.start { self.items } else { start + size };
            match self.next.compare_exchange_weak(start, end, Relaxed, Relaxed) {
                Ok(_) => return Some(start..end),
                Err(now) => start = now,
            }
        }
    }

    /// Runs `work` on chunks until none is left. A chunk that starts past a failing
    /// item is skipped; `work` should stop at an item past [`Split::lowest`] too.
    pub(super) fn help(&self, mut work: impl FnMut(Range<u64>)) {
        while let Some(range) = self.take() {
            let len = range.end - range.start;
            if range.start <= self.lowest() {
                if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| work(range))) {
                    lock(&self.panic).get_or_insert(payload);
                    self.fail(0);
                }
            }
            let mut left = lock(&self.left);
            *left -= len;
            if *left == 0 {
                self.finished.notify_all();
            }
        }
    }

    /// Records that `item` fails.
    pub(super) fn fail(&self, item: u64) {
        self.lowest.fetch_min(item, Relaxed);
    }

    /// The lowest failing item so far (`u64::MAX`: none).
    pub(super) fn lowest(&self) -> u64 {
        self.lowest.load(Relaxed)
    }

    /// Waits until every chunk is finished (call after [`Split::help`], which hands out
    /// the rest), and passes on a panic out of one.
    pub(super) fn wait(&self) {
        wait_briefly(FINISH_WAIT, || *lock(&self.left) == 0);
        let mut left = lock(&self.left);
        while *left > 0 {
            left = self.finished.wait(left).unwrap_or_else(|e| e.into_inner());
        }
        drop(left);
        if let Some(payload) = lock(&self.panic).take() {
            panic::resume_unwind(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_item_once_and_shrink() {
        let split = Split::new(1000, 2, 4..65);
        let mut chunks = Vec::new();
        split.help(|r| chunks.push(r));
        split.wait();
        assert_eq!(chunks.first(), Some(&(0..62)));
        let len = |r: &Range<u64>| r.end - r.start;
        assert!(chunks.windows(2).all(|w| w[0].end == w[1].start), "{chunks:?}");
        let (last, most) = chunks.split_last().unwrap();
        assert!(most.windows(2).all(|w| len(&w[0]) >= len(&w[1])), "{chunks:?}");
        assert_eq!(chunks.last().map(|r| r.end), Some(1000));
        assert!((4..8).contains(&len(last)), "{chunks:?}");
        let alone = Split::new(1000, 1, 4..65);
        let mut chunks = Vec::new();
        alone.help(|r| chunks.push(r));
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0], 0..1000);
    }

    #[test]
    fn chunks_past_a_failure_are_skipped() {
        let split = Split::new(100, 2, 4..5);
        let mut ran = Vec::new();
        split.help(|r| {
            if r.contains(&10) {
                split.fail(10);
            }
            ran.push(r.start);
        });
        split.wait();
        assert_eq!(ran, [0, 4, 8]);
        assert_eq!(split.lowest(), 10);
    }

    #[test]
    fn a_panic_in_a_chunk_is_passed_on_by_wait() {
        let split = Split::new(10, 2, 4..5);
        split.help(|r| assert!(r.start == 0, "a pollcheck bug"));
        let payload = panic::catch_unwind(AssertUnwindSafe(|| split.wait())).unwrap_err();
        assert_eq!(crate::engine::panic_capture::payload_text(&*payload), "a pollcheck bug");
    }
}
