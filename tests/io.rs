//! I/O probes: what each one reports, and real crates' readers, writers and codecs
//! over them (futures-util's `BufReader` and `copy`, tokio-util's `FramedRead` and
//! `FramedWrite`, tokio's `duplex`), which pass with the default bounds.
//!
//! Under miri the real crates explore two steps deep, and the probe reports replay
//! their minimal schedules.
#![cfg(feature = "io")]

mod buggy;
mod common;

use std::future::poll_fn;
use std::io::ErrorKind;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::AsyncRead;
use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use futures_util::task::noop_waker_ref;
use futures_util::StreamExt;
use pollcheck::{Checker, Report, Scenario, Summary, ViolationKind};

/// Explores `factory` (one step deep under miri, where a run over tokio's I/O costs
/// seconds; explored whole natively) and panics with the report.
fn passes(factory: impl Fn() -> Scenario + Send + Sync + 'static) -> Summary {
    let checker = Checker::new(factory);
    let checker = if cfg!(miri) { checker.depth(1) } else { checker };
    match checker.try_run() {
        Ok(summary) => summary,
        Err(report) => panic!("{report}"),
    }
}

/// Catches `factory` with `kind` and the minimal `schedule` (replayed under miri).
fn caught(factory: fn() -> Scenario, kind: ViolationKind, schedule: &str) -> Report {
    common::caught(Checker::new(factory), kind, schedule)
}

#[test]
fn bufreader_lines_over_a_reader_probe() {
    passes(|| {
        let (reader, h) = pollcheck::io::probe_reader();
        Scenario::new()
            .task(BufReader::new(reader).lines().map(Result::unwrap).collect::<Vec<_>>())
            .must_finish()
            .step(h.sends(b"one\ntw"))
            .step(h.sends(b"o\nthree"))
            .step(h.ends())
    });
}

#[test]
fn lines_straight_from_the_reader_probe() {
    // The probe's own `AsyncBufRead`.
    passes(|| {
        let (reader, h) = pollcheck::io::probe_reader();
        Scenario::new()
            .task(reader.lines().map(Result::unwrap).collect::<Vec<_>>())
            .must_finish()
            .step(h.sends(b"a\nb"))
            .step(h.ends())
    });
}

#[test]
fn bufreader_reports_a_reader_error() {
    passes(|| {
        let (reader, h) = pollcheck::io::probe_reader();
        let mut reader = BufReader::with_capacity(4, reader);
        Scenario::new()
            .task(async move {
                let mut text = String::new();
                let result = reader.read_to_string(&mut text).await;
                (text, result.map_err(|e| e.kind()))
            })
            .must_finish()
            .step(h.sends(b"partial"))
            .step(h.fails(ErrorKind::ConnectionReset))
    });
}

#[test]
fn copy_from_a_reader_probe_to_a_writer_probe() {
    passes(|| {
        let (reader, r) = pollcheck::io::probe_reader();
        let (mut writer, w) = pollcheck::io::probe_writer(4);
        Scenario::new()
            .task(async move {
                let copied = futures_util::io::copy(reader, &mut writer).await.map_err(|e| e.kind())?;
                writer.close().await.map_err(|e| e.kind())?;
                Ok::<_, ErrorKind>(copied)
            })
            .step(r.sends(b"hello "))
            .step(w.drains(usize::MAX))
            .step(r.sends(b"world"))
            .step(w.drains(usize::MAX))
            .step(r.ends())
            .step(w.drains(usize::MAX))
    });
}

#[test]
fn bufwriter_over_a_writer_probe() {
    passes(bufwriter);
}

#[test]
fn a_wake_of_the_old_waker_inside_the_poll_of_the_new_one_is_no_stale_waker() {
    // `k0` runs a drain inside the writer probe's clone of waker #2, while it still
    // holds #1: it wakes #1 during the poll with #2, which then registers #2. Was
    // reported as a stale waker.
    let bounds = pollcheck::Bounds { reentrant_clones: 1, ..pollcheck::Bounds::default() };
    Checker::new(bufwriter).bounds(bounds).replay("d d d p0 w0 k0 s0").run();
}

fn bufwriter() -> Scenario {
    {
        let (writer, h) = pollcheck::io::probe_writer(3);
        let mut out = futures_util::io::BufWriter::with_capacity(4, writer);
        Scenario::new()
            .task(async move {
                out.write_all(b"hello, world").await.map_err(|e| e.kind())?;
                out.close().await.map_err(|e| e.kind())
            })
            .step(h.drains(usize::MAX))
            .step(h.drains(usize::MAX))
            .step(h.drains(usize::MAX))
            .step(h.drains(usize::MAX))
    }
}

fn reads_only_once() -> Scenario {
    // Reads on its first poll only, and keeps its waker: the reader's wake reaches the
    // task, the task is polled, and the reader never again.
    let (mut reader, h) = pollcheck::io::probe_reader();
    let mut kept = Vec::new();
    Scenario::new()
        .task(poll_fn(move |cx: &mut Context<'_>| {
            if kept.is_empty() {
                let mut buf = [0; 8];
                if let Poll::Ready(n) = Pin::new(&mut reader).poll_read(cx, &mut buf) {
                    return Poll::Ready(n.map_err(|e| e.kind()));
                }
            }
            kept.clear();
            kept.push(cx.waker().clone());
            Poll::Pending
        }))
        .step(h.sends(b"data"))
}

#[test]
fn a_reader_woken_and_never_read_again_is_reported() {
    let report = caught(reads_only_once, ViolationKind::LostWakeup, "p0 d p0");
    assert!(report.to_string().contains("never polled the reader probe again"), "{report}");
}

#[test]
fn the_timeline_shows_byte_counts() {
    let report = caught(
        || {
            // Reads exactly 4 bytes with one `poll_read` and waits when it got fewer:
            // the bug `b` shows.
            let (mut reader, h) = pollcheck::io::probe_reader();
            Scenario::new()
                .task(poll_fn(move |cx| {
                    let mut buf = [0; 4];
                    match Pin::new(&mut reader).poll_read(cx, &mut buf) {
                        Poll::Ready(Ok(4)) => Poll::Ready(buf),
                        Poll::Ready(_) => Poll::Pending,
                        Poll::Pending => Poll::Pending,
                    }
                }))
                .step(h.sends(b"abcd"))
        },
        ViolationKind::LostWakeup,
        "b d p0",
    );
    let text = report.to_string();
    assert!(text.contains("-> Pending; read 1 byte from the reader probe"), "{text}");
}

fn write_after_close() -> Scenario {
    let (mut writer, h) = pollcheck::io::probe_writer(8);
    Scenario::new()
        .task(async move {
            writer.close().await.unwrap();
            writer.write_all(b"late").await.map_err(|e| e.kind())
        })
        .step(h.drains(8))
}

#[test]
fn writing_after_close_is_reported() {
    let report = caught(write_after_close, ViolationKind::PollAfterReady, "p0");
    assert!(report.to_string().contains("was closed (its close returned Ready"), "{report}");
}

fn read_after_error() -> Scenario {
    let (mut reader, h) = pollcheck::io::probe_reader();
    Scenario::new()
        .task(async move {
            let mut buf = [0; 8];
            let first = reader.read(&mut buf).await.map_err(|e| e.kind());
            // BUG: retries after an error that is not `Interrupted`.
            let second = reader.read(&mut buf).await.map_err(|e| e.kind());
            (first, second)
        })
        .step(h.fails(ErrorKind::BrokenPipe))
}

#[test]
fn reading_after_an_error_is_reported() {
    let report = caught(read_after_error, ViolationKind::PollAfterReady, "d p0");
    assert!(report.to_string().contains("returned an error (BrokenPipe)"), "{report}");
}

#[test]
fn interrupted_may_be_retried() {
    passes(|| {
        let (mut reader, h) = pollcheck::io::probe_reader();
        Scenario::new()
            .task(async move {
                let mut buf = [0; 8];
                loop {
                    match reader.read(&mut buf).await {
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        other => return other.map_err(|e| e.kind()),
                    }
                }
            })
            .step(h.fails(ErrorKind::Interrupted))
            .step(h.sends(b"ok"))
    });
}

fn peeking_reader() -> Scenario {
    // Polls the reader with a no-op waker first to "peek", and waits on its own
    // task waker only by accident: nothing leads the reader's wake back to the task.
    let (mut reader, h) = pollcheck::io::probe_reader();
    let mut kept = Vec::new();
    Scenario::new()
        .task(poll_fn(move |cx: &mut Context<'_>| {
            let mut peek = Context::from_waker(noop_waker_ref());
            let mut buf = [0; 8];
            kept.clear();
            kept.push(cx.waker().clone());
            match Pin::new(&mut reader).poll_read(&mut peek, &mut buf) {
                Poll::Ready(n) => Poll::Ready(n.map_err(|e| e.kind())),
                Poll::Pending => Poll::Pending,
            }
        }))
        .step(h.sends(b"data"))
}

#[test]
fn a_peek_waker_is_reported() {
    let report = caught(peeking_reader, ViolationKind::LostWakeup, "p0 d");
    assert!(report.to_string().contains("does not lead back to the task"), "{report}");
}

fn writer_error_then_flush() -> Scenario {
    let (mut writer, h) = pollcheck::io::probe_writer(8);
    Scenario::new()
        .task(async move {
            let first = writer.write_all(b"abc").await.map_err(|e| e.kind());
            // BUG: flushes a writer that failed.
            let second = writer.flush().await.map_err(|e| e.kind());
            (first, second)
        })
        .step(h.fails(ErrorKind::BrokenPipe))
}

#[test]
fn calling_a_writer_after_its_error_is_reported() {
    caught(writer_error_then_flush, ViolationKind::PollAfterReady, "d p0");
}

#[test]
fn another_tasks_polls_do_not_count_for_an_abandoned_reader() {
    // Found on tokio's duplex (`p0 a0 d p1 d d`): the reader probe of task 0 is woken
    // after task 0 was abandoned; polls of task 1 since then are no reason to expect
    // task 0 to read again.
    passes(|| {
        let (mut reader, h) = pollcheck::io::probe_reader();
        let (tx, rx) = futures_channel::oneshot::channel::<u32>();
        Scenario::new()
            .task(async move {
                let mut buf = [0; 4];
                reader.read(&mut buf).await.map_err(|e| e.kind())
            })
            .task(rx)
            .step(h.sends(b"data"))
            .step(move || {
                let _ = tx.send(1);
            })
    });
}

#[test]
fn short_io_costs_little() {
    // The one-byte action is enabled only in scenarios with an I/O probe.
    let off = pollcheck::Bounds { short_io: 0, ..pollcheck::Bounds::default() };
    let factory = || {
        let (tx, rx) = futures_channel::oneshot::channel::<u32>();
        Scenario::new().task(rx).step(move || {
            let _ = tx.send(1);
        })
    };
    let depth = if cfg!(miri) { 2 } else { off.depth };
    let with = Checker::new(factory).depth(depth).cases(0).run().schedules();
    let without = Checker::new(factory).bounds(off).depth(depth).cases(0).run().schedules();
    assert_eq!(with, without);
}

#[cfg(feature = "tokio-io")]
mod tokio_io {
    use super::*;
    use futures_util::SinkExt;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_util::codec::{FramedRead, FramedWrite, LinesCodec};

    #[test]
    fn framed_read_lines_over_a_reader_probe() {
        passes(|| {
            let (reader, h) = pollcheck::io::probe_reader();
            Scenario::new()
                .task(FramedRead::new(reader, LinesCodec::new()).map(Result::unwrap).collect::<Vec<_>>())
                .must_finish()
                .step(h.sends(b"one\ntw"))
                .step(h.sends(b"o\n"))
                .step(h.ends())
        });
    }

    #[test]
    fn framed_write_lines_over_a_writer_probe() {
        passes(|| {
            let (writer, h) = pollcheck::io::probe_writer(4);
            let mut sink = FramedWrite::new(writer, LinesCodec::new());
            Scenario::new()
                .task(async move {
                    sink.send("hello").await.map_err(|e| e.to_string())?;
                    SinkExt::<&str>::close(&mut sink).await.map_err(|e| e.to_string())
                })
                .step(h.drains(usize::MAX))
                .step(h.drains(usize::MAX))
                .step(h.drains(usize::MAX))
        });
    }

    #[test]
    fn tokio_buffered_reader_and_writer_over_probes() {
        passes(|| {
            let (reader, r) = pollcheck::io::probe_reader();
            let (writer, w) = pollcheck::io::probe_writer(2);
            let mut reader = tokio::io::BufReader::with_capacity(3, reader);
            let mut writer = tokio::io::BufWriter::with_capacity(3, writer);
            Scenario::new()
                .task(async move {
                    let copied = tokio::io::copy_buf(&mut reader, &mut writer).await.map_err(|e| e.kind())?;
                    writer.shutdown().await.map_err(|e| e.kind())?;
                    Ok::<_, ErrorKind>(copied)
                })
                .step(r.sends(b"hello"))
                .step(w.drains(usize::MAX))
                .step(r.ends())
                .step(w.drains(usize::MAX))
                .step(w.drains(usize::MAX))
        });
    }

    #[test]
    fn duplex_carries_a_copy() {
        passes(|| {
            let (mut reader, h) = pollcheck::io::probe_reader();
            let (mut near, mut far) = tokio::io::duplex(3);
            Scenario::new()
                .task(async move {
                    let copied = tokio::io::copy(&mut reader, &mut near).await.map_err(|e| e.kind())?;
                    near.shutdown().await.map_err(|e| e.kind())?;
                    Ok::<_, ErrorKind>(copied)
                })
                .task(async move {
                    let mut got = Vec::new();
                    far.read_to_end(&mut got).await.map(|_| got).map_err(|e| e.kind())
                })
                .step(h.sends(b"hello"))
                .step(h.sends(b" world"))
                .step(h.ends())
        });
    }
}
