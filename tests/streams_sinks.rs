//! Streams and sinks (features `stream` and `sink`): the zoo's stream and sink bugs
//! caught with the exact kind and minimal schedule (their fixed flavors passing), a
//! combinator breaking the sink protocol, and released crates' streams, sinks and
//! combinators passing every schedule.
//!
//! Under miri the buggy flavors replay their minimal schedule and the real crates
//! explore two steps deep: every detector still runs.
#![cfg(all(feature = "stream", feature = "sink"))]

mod buggy;
mod common;

use buggy::{fanout, lazy_stream, lossy_sink, merge, stale_stream, Flavor};
use common::{checker, proven};
use futures_util::{stream, SinkExt, StreamExt};
use pollcheck::{Bounds, Checker, Scenario, SinkCheckExt, StreamCheckExt, ViolationKind};

/// Explores, or under miri replays `schedule` (the minimal one the exploration finds).
fn explore_or_replay<F: Fn() -> Scenario + Send + Sync + 'static>(checker: Checker<F>, schedule: &str) -> Checker<F> {
    if cfg!(miri) {
        checker.replay(schedule)
    } else {
        checker
    }
}

#[test]
fn a_stream_that_forgets_its_waker_after_draining_is_a_lost_wakeup() {
    let report = proven(Bounds::default(), lazy_stream::scenario, ViolationKind::LostWakeup, "d p0");
    let text = report.to_string();
    assert!(text.contains("(yielded 1)"), "{text}");
}

#[test]
fn a_stream_that_keeps_its_first_waker_is_a_stale_waker() {
    proven(Bounds::default(), stale_stream::scenario, ViolationKind::StaleWaker, "p0 w0 d p0 d");
}

#[test]
fn a_merge_that_polls_an_ended_child_is_poll_after_ready() {
    let report = proven(Bounds::default(), merge::scenario, ViolationKind::PollAfterReady, "d d p0");
    let detail = report.violation().detail();
    assert!(detail.contains("returned None") && detail.contains("tests/buggy/merge.rs"), "{report}");
}

#[test]
fn a_sink_that_accepts_without_room_loses_an_item_and_strands_its_receiver() {
    let report = proven(lossy_sink::bounds(), lossy_sink::scenario, ViolationKind::StuckTask, "p0 p1");
    assert_eq!(report.violation().task(), Some(1), "{report}");
}

#[test]
fn a_fanout_that_sends_without_asking_every_sink_breaks_the_sink_protocol() {
    let report = proven(Bounds::default(), fanout::scenario, ViolationKind::SinkProtocol, "d p0");
    let detail = report.violation().detail();
    assert!(detail.contains("start_send was called on the sink probe created at tests/buggy/fanout.rs"), "{report}");
}

#[test]
fn a_fanout_over_checked_senders_breaks_the_sink_protocol() {
    proven(Bounds::default(), fanout::over_checked_senders, ViolationKind::SinkProtocol, "p0");
}

#[test]
fn a_call_after_close_breaks_the_sink_protocol() {
    let scenario = || {
        let (tx, _rx) = futures_channel::mpsc::unbounded::<u32>();
        let mut sink = Box::pin(tx.checked_sink());
        let task = async move {
            sink.close().await.unwrap();
            let _ = sink.send(1).await;
        };
        Scenario::new().task(task)
    };
    let report = Checker::new(scenario).replay("p0").try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::SinkProtocol, "{report}");
    assert!(report.violation().detail().contains("returned Ready from poll_close"), "{report}");
}

#[test]
fn the_timeline_shows_items() {
    let report = Checker::new(|| {
        let (items, h) = pollcheck::probe_stream::<u32>();
        // A stream task whose items are checked: the task panics at the second item.
        let stream = items.map(|x| {
            assert!(x < 2, "too big");
            x
        });
        Scenario::new().stream_task(stream).step(h.yields(1)).step(h.yields(2))
    })
    .replay("d p0 d p0")
    .try_run()
    .unwrap_err();
    let text = report.to_string();
    assert_eq!(report.kind(), ViolationKind::Panic, "{text}");
    assert!(text.contains("-> Pending (yielded 1)"), "{text}");
    let ends = Checker::new(|| {
        Scenario::new().stream_task(stream::iter([3, 4])).task(std::future::pending::<()>()).must_finish()
    })
    .replay("p0")
    .try_run()
    .unwrap_err()
    .to_string();
    assert!(ends.contains("-> Ready(None) (yielded 3, 4) => [3, 4]"), "{ends}");
}

// Released crates.

#[test]
fn futures_channel_mpsc_receiver_as_a_stream_task_passes() {
    checker(|| {
        let (tx, rx) = futures_channel::mpsc::channel::<u32>(1);
        let tx = std::rc::Rc::new(std::cell::RefCell::new(tx));
        let (t1, t2) = (tx.clone(), tx);
        Scenario::new()
            .stream_task(rx)
            .all_must_finish()
            .step(move || drop(t1.borrow_mut().try_send(1)))
            .step(move || drop(t2))
    })
    .run();
}

#[test]
fn futures_channel_mpsc_sender_as_a_sink_task_passes() {
    checker(|| {
        let (tx, rx) = futures_channel::mpsc::channel::<u32>(0);
        Scenario::new().sink_task(tx.checked_sink(), [1, 2]).stream_task(rx.checked()).all_must_finish()
    })
    .run();
}

#[cfg(not(loom))]
#[test]
fn async_channel_receiver_as_a_stream_task_passes() {
    checker(|| {
        let (tx, rx) = async_channel::bounded::<u32>(1);
        let tx2 = tx.clone();
        Scenario::new()
            .stream_task(rx)
            .all_must_finish()
            .step(move || {
                let _ = tx.try_send(1);
            })
            .step(move || drop(tx2))
    })
    .run();
}

#[test]
fn tokio_stream_receiver_stream_passes() {
    checker(|| {
        let (tx, rx) = tokio::sync::mpsc::channel::<u32>(2);
        let tx2 = tx.clone();
        Scenario::new()
            .stream_task(tokio_stream::wrappers::ReceiverStream::new(rx))
            .all_must_finish()
            .step(move || {
                let _ = tx.try_send(1);
            })
            .step(move || {
                let _ = tx2.try_send(2);
                drop(tx2)
            })
    })
    .run();
}

#[test]
fn futures_util_select_over_stream_probes_passes() {
    checker(|| {
        let (a, ha) = pollcheck::probe_stream::<u32>();
        let (b, hb) = pollcheck::probe_stream::<u32>();
        // The order depends on how often `select` was polled: keep the sum.
        Scenario::new()
            .task(stream::select(a, b).fold(0, |sum, x| async move { sum + x }))
            .step(ha.yields(1))
            .step(hb.yields(2))
            .step(ha.ends())
            .step(hb.ends())
    })
    .run();
}

#[test]
fn futures_util_buffered_over_probes_passes() {
    checker(|| {
        let (a, ha) = pollcheck::probe::<u32>();
        let (b, hb) = pollcheck::probe::<u32>();
        let (futs, hs) = pollcheck::probe_stream::<pollcheck::Probe<u32>>();
        let mut children = Some((a, b));
        Scenario::new()
            .stream_task(futs.buffered(2))
            .step(move || {
                let (a, b) = children.take().expect("runs once");
                hs.yield_item(a);
                hs.yield_item(b);
                hs.end();
            })
            .step(hb.completes(2))
            .step(ha.completes(1))
    })
    .run();
}

#[test]
fn futures_util_chunks_over_a_stream_probe_passes() {
    checker(|| {
        let (items, h) = pollcheck::probe_stream::<u32>();
        Scenario::new()
            .stream_task(items.chunks(2))
            .step(h.yields(1))
            .step(h.yields(2))
            .step(h.yields(3))
            .step(h.ends())
    })
    .run();
}

#[test]
fn futures_util_forward_into_a_sink_probe_passes() {
    checker(|| {
        let (sink, hk) = pollcheck::probe_sink::<u32>();
        let (items, hs) = pollcheck::probe_stream::<Result<u32, String>>();
        Scenario::new()
            .task(items.forward(sink))
            .step(hk.accepts(2))
            .step(hs.yields(Ok(1)))
            .step(hk.becomes_full())
            .step(hs.yields(Ok(2)))
            .step(hk.drains())
            .step(hk.accepts(1))
            .step(hs.ends())
            .step(hk.drains())
    })
    .run();
}

#[test]
fn futures_util_send_all_into_a_failing_sink_probe_passes() {
    checker(|| {
        let (sink, hk) = pollcheck::probe_sink::<u32>();
        let task = async move {
            let mut sink = Box::pin(sink);
            sink.send_all(&mut stream::iter([Ok(1), Ok(2)])).await
        };
        Scenario::new().task(task).step(hk.accepts(1)).step(hk.drains()).step(hk.fails("reset"))
    })
    .run();
}

#[test]
fn a_stream_task_keeps_its_output_under_spurious_polls() {
    // Output comparison with the honest twin: a stream task's output is its items.
    checker(|| {
        let (items, h) = pollcheck::probe_stream::<u32>();
        Scenario::new().stream_task(items.map(|x| x * 2).boxed_local().fuse()).step(h.yields(1)).step(h.ends())
    })
    .run();
}

/// proptest over stream and sink scenarios: a sink task into a channel whose
/// receiver is a stream task, and the lazy stream's bug found by proptest too.
#[cfg(feature = "proptest")]
mod with_proptest {
    use super::*;
    use pollcheck::proptest::{schedules, try_check_schedule};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(pollcheck::proptest::config())]

        #[test]
        fn a_sink_task_into_a_stream_task(values in prop::collection::vec(any::<u8>(), 0..3), schedule in schedules(2)) {
            try_check_schedule(&schedule, || {
                let (tx, rx) = futures_channel::mpsc::channel::<u8>(0);
                Scenario::new().sink_task(tx.checked_sink(), values.clone()).stream_task(rx.checked())
            })?;
        }
    }

    #[test]
    fn proptest_finds_the_lazy_stream() {
        let report = pollcheck::proptest::try_check(|| lazy_stream::scenario(Flavor::Buggy)).unwrap_err();
        assert_eq!(report.kind(), ViolationKind::LostWakeup, "{report}");
    }
}

// Under a real executor: `.checked()` streams get the runtime checks of each poll.

#[test]
fn a_checked_stream_under_a_real_executor_passes_a_correct_stream() {
    let (tx, rx) = futures_channel::mpsc::unbounded::<u32>();
    let producer = std::thread::spawn(move || {
        for i in 0..3 {
            tx.unbounded_send(i).unwrap();
        }
    });
    let items: Vec<u32> = futures_executor::block_on(rx.checked().collect());
    producer.join().unwrap();
    assert_eq!(items, [0, 1, 2]);
}

#[test]
fn a_checked_stream_under_a_real_executor_catches_a_lost_wakeup() {
    let (tx, rx) = lazy_stream::channel(Flavor::Buggy);
    let consumer = rx.checked().collect::<Vec<u32>>();
    let producer = async move {
        tx.send(1);
        // Let the consumer drain and return Pending, then send again.
        futures_util::pending!();
        tx.send(2);
    };
    let message = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        futures_executor::block_on(futures_util::future::join(consumer, producer))
    }))
    .expect_err("the lost wakeup is caught at the poll that returned Pending");
    let message = message.downcast::<String>().map(|s| *s).unwrap_or_default();
    assert!(message.starts_with("pollcheck: lost wakeup: the future created at tests/streams_sinks.rs"), "{message}");
}

#[test]
fn a_stream_whose_sender_does_not_wake_is_a_lost_wakeup_at_quiescence() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::task::{Poll, Waker};

    // The receiver registers its waker; the sender queues without waking it.
    let scenario = || {
        let state: Rc<RefCell<(Vec<u32>, Option<Waker>)>> = Rc::default();
        let rx = {
            let state = state.clone();
            stream::poll_fn(move |cx| {
                let mut s = state.borrow_mut();
                match s.0.pop() {
                    Some(item) => Poll::Ready(Some(item)),
                    None => {
                        s.1 = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            })
        };
        Scenario::new().stream_task(rx).step(move || state.borrow_mut().0.push(7))
    };
    let report = explore_or_replay(Checker::new(scenario), "p0 d").try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::LostWakeup, "{report}");
    assert_eq!(report.schedule().to_string(), "p0 d", "{report}");
    assert!(report.violation().detail().contains("yet an extra poll returns Ready (yielded 7)"), "{report}");
    assert!(report.to_string().contains("quiescent: extra poll of task 0 -> Pending (yielded 7)"), "{report}");
    println!("{report}");
}

#[test]
fn a_sink_probe_reports_a_call_after_close_and_answers_questions() {
    let scenario = || {
        let (sink, h) = pollcheck::probe_sink::<u32>();
        let h2 = h.clone();
        let task = async move {
            let mut sink = Box::pin(sink);
            sink.send(1).await.unwrap();
            sink.close().await.unwrap();
            assert_eq!(h2.received(), [1]);
            assert!(h2.is_closed() && h2.buffered() == 0 && h2.polls() > 0);
            let _ = sink.flush().await;
        };
        Scenario::new().task(task).step(h.accepts(1)).step(h.drains())
    };
    let report = explore_or_replay(Checker::new(scenario), "d p0 d p0").try_run().unwrap_err();
    assert_eq!(report.kind(), ViolationKind::SinkProtocol, "{report}");
    assert!(report.violation().detail().contains("and poll_flush was called after that"), "{report}");
    assert_eq!(report.schedule().to_string(), "d p0 d p0", "{report}");
}
