//! Combinators checked over probes: buggy ones caught with the exact violation (and
//! their fixed flavor passing), and futures-util's join, select and FuturesUnordered
//! passing every schedule.

mod buggy;
mod common;

use buggy::{bad_join, early_drop, forgetful_select, noop_select, swapping_select, Flavor};
use common::checker;
use futures_util::future::{self, Either};
use futures_util::stream::{FuturesUnordered, StreamExt};
use pollcheck::{Bounds, Checker, Report, Scenario, ViolationKind};
#[cfg(not(loom))]
use std::sync::Arc;

fn caught(scenario: fn(Flavor) -> Scenario, kind: ViolationKind) -> Report {
    let report = match checker(move || scenario(Flavor::Buggy)).try_run() {
        Ok(summary) => panic!("the buggy flavor passed {} schedules", summary.schedules()),
        Err(report) => report,
    };
    println!("{report}");
    assert_eq!(report.kind(), kind, "{report}");
    if let Err(report) = checker(move || scenario(Flavor::Fixed)).try_run() {
        panic!("the fixed flavor failed:\n{report}");
    }
    report
}

#[test]
fn a_join_that_re_polls_a_finished_child_is_poll_after_ready() {
    let report = caught(bad_join::over_probes, ViolationKind::PollAfterReady);
    assert!(report.violation().detail().contains("tests/buggy/bad_join.rs"), "{report}");
}

#[test]
fn a_select_that_polls_a_child_with_a_noop_waker_is_a_lost_wakeup() {
    let report = caught(noop_select::scenario, ViolationKind::LostWakeup);
    assert_eq!(report.schedule().to_string(), "p0 d", "{report}");
    assert!(report.violation().detail().contains("does not lead back to the task"), "{report}");
}

/// With `u` on too (a wake inside the task's poll is judged when that poll ends): the
/// peek waker still leads nowhere, and the select never polls the child again in the
/// poll that woke it.
#[test]
fn a_select_that_polls_a_child_with_a_noop_waker_is_caught_with_u_on() {
    let bounds = Bounds { reentrant_drops: 1, ..Bounds::default() };
    let report = common::caught(
        checker(|| noop_select::scenario(Flavor::Buggy)).bounds(bounds),
        ViolationKind::LostWakeup,
        "p0 d",
    );
    assert!(report.violation().detail().contains("does not lead back to the task"), "{report}");
    let report = common::caught(
        checker(|| forgetful_select::scenario(Flavor::Buggy)).bounds(bounds),
        ViolationKind::LostWakeup,
        "p0 d p0",
    );
    assert!(report.violation().detail().contains("never polled the probe again"), "{report}");
}

#[test]
fn an_unsafe_select_that_swaps_its_pinned_children_is_moved_while_pinned() {
    let report = caught(swapping_select::scenario, ViolationKind::MovedWhilePinned);
    assert!(report.violation().detail().contains("tests/buggy/swapping_select.rs"), "{report}");
}

#[test]
fn a_select_that_stops_polling_a_woken_child_is_a_lost_wakeup() {
    let report = caught(forgetful_select::scenario, ViolationKind::LostWakeup);
    assert!(report.violation().detail().contains("never polled the probe again"), "{report}");
}

#[test]
fn a_combinator_dropping_its_child_twice_is_a_double_drop() {
    caught(early_drop::double_drop, ViolationKind::DoubleDrop);
}

#[test]
fn a_combinator_that_never_drops_its_child_leaks_it() {
    let report = caught(early_drop::leak, ViolationKind::LeakedFuture);
    early_drop::clear_graveyard();
    assert!(report.violation().detail().contains("never dropped it"), "{report}");
}

#[cfg(feature = "stream")]
#[test]
fn a_chain_that_polls_an_ended_stream_is_poll_after_ready() {
    let report = caught(buggy::chain::scenario, ViolationKind::PollAfterReady);
    assert!(report.violation().detail().contains("returned None"), "{report}");
}

#[test]
fn futures_util_join_passes() {
    checker(|| {
        let (a, ha) = pollcheck::probe::<u32>();
        let (b, hb) = pollcheck::probe::<u32>();
        Scenario::new().task(future::join(a, b)).step(ha.completes(1)).step(hb.wakes()).step(hb.completes(2))
    })
    .run();
}

#[test]
fn futures_util_select_passes() {
    checker(|| {
        let (a, ha) = pollcheck::probe::<u32>();
        let (b, hb) = pollcheck::probe::<u32>();
        // `select` wants `Unpin` children; probes are `!Unpin` so that moving them is
        // caught, so they are boxed here. Its output holds the other child: drop it.
        let task = async move {
            match future::select(Box::pin(a), Box::pin(b)).await {
                Either::Left((x, _)) | Either::Right((x, _)) => x,
            }
        };
        Scenario::new().task(task).step(hb.wakes()).step(hb.completes(2)).step(ha.completes(1))
    })
    .run();
}

#[test]
fn futures_util_futures_unordered_passes() {
    let n = if cfg!(miri) { 2 } else { 3 };
    checker(move || {
        let (probes, handles): (Vec<_>, Vec<_>) = (0..n).map(|_| pollcheck::probe::<u32>()).unzip();
        let unordered: FuturesUnordered<_> = probes.into_iter().collect();
        let mut scenario = Scenario::new().task(unordered.collect::<Vec<u32>>());
        for (i, h) in handles.iter().enumerate().rev() {
            scenario = scenario.step(h.wakes()).step(h.completes(i as u32));
        }
        scenario
    })
    .run();
}

/// With `u`, the last handle's completion runs inside the drop of the waker that
/// `FuturesUnordered`'s `AtomicWaker::register` replaces, while it registers: the
/// child's wake is handed to the registering side, which wakes the new waker as
/// `register` ends, inside the same poll. The probe judges such a wake when that
/// poll ends (it once reported it as a child waker that does not lead back).
#[test]
fn futures_util_futures_unordered_passes_a_step_inside_its_register() {
    Checker::new(|| {
        let (probes, handles): (Vec<_>, Vec<_>) = (0..2).map(|_| pollcheck::probe::<u32>()).unzip();
        let unordered: FuturesUnordered<_> = probes.into_iter().collect();
        let mut scenario = Scenario::new().task(unordered.collect::<Vec<u32>>());
        for (i, h) in handles.iter().enumerate().rev() {
            scenario = scenario.step(h.wakes()).step(h.completes(i as u32));
        }
        scenario
    })
    .bounds(Bounds { reentrant_drops: 1, ..Bounds::default() })
    .replay("p0 d p0 w0 u s0")
    .run();
}

#[test]
fn futures_util_join_all_passes() {
    checker(|| {
        let (probes, handles): (Vec<_>, Vec<_>) = (0..2).map(|_| pollcheck::probe::<u32>()).unzip();
        Scenario::new().task(future::join_all(probes)).step(handles[1].completes(2)).step(handles[0].completes(1))
    })
    .run();
}

#[cfg(feature = "stream")]
#[test]
fn futures_util_stream_combinators_pass() {
    use futures_util::FutureExt;

    checker(|| {
        let (a, ha) = pollcheck::probe_stream::<u32>();
        let (b, hb) = pollcheck::probe_stream::<u32>();
        Scenario::new()
            // `select` alternates between its streams, so the order of the items
            // depends on how often it was polled: compare them sorted.
            .task(futures_util::stream::select(a, b).collect::<Vec<u32>>().map(|mut v| {
                v.sort();
                v
            }))
            .step(ha.yields(1))
            .step(hb.yields(2))
            .step(ha.ends())
            .step(hb.ends())
    })
    .run();
}

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("it panics");
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

#[test]
fn outside_the_checker_a_probe_answers_questions_and_panics_on_poll_after_ready() {
    use std::future::Future;
    use std::task::Poll;

    let (probe, handle) = pollcheck::probe::<u8>();
    let mut probe = std::pin::pin!(probe);
    let mut cx = futures_test::task::noop_context();
    assert!(probe.as_mut().poll(&mut cx).is_pending());
    assert_eq!((handle.polls(), handle.is_finished(), handle.is_dropped()), (1, false, false));
    assert_eq!(handle.last_waker(), Some(pollcheck::WakerId::of(cx.waker())));
    handle.complete(3);
    assert!(handle.is_woken());
    assert_eq!(probe.as_mut().poll(&mut cx), Poll::Ready(3));
    assert!(handle.is_finished());
    let message = panic_message(|| {
        let _ = probe.as_mut().poll(&mut cx);
    });
    assert!(message.starts_with("pollcheck: poll after ready: the probe created at tests/combinators.rs"), "{message}");
}

#[test]
fn outside_the_checker_a_double_drop_panics() {
    let (probe, handle) = pollcheck::probe::<u8>();
    let mut probe = std::mem::ManuallyDrop::new(probe);
    // SAFETY: dropped once, as its owner would.
    unsafe { std::mem::ManuallyDrop::drop(&mut probe) };
    assert!(handle.is_dropped());
    let message = panic_message(|| {
        // SAFETY: not sound in general: this is the bug under test. A probe's second
        // drop reads only the probe's own memory, which is still there.
        unsafe { std::mem::ManuallyDrop::drop(&mut probe) };
    });
    assert!(message.starts_with("pollcheck: double drop: the probe created at tests/combinators.rs"), "{message}");
    assert!(message.ends_with("was dropped 2 times"), "{message}");
    // The handle sees the first drop only.
    assert_eq!(handle.drops(), 1);
}

/// With no handle left, the first drop frees the probe's shared state: the second
/// must not read it (under miri, a use-after-free before the fix).
#[test]
fn a_double_drop_after_the_handle_is_gone_reads_no_freed_memory() {
    let (probe, handle) = pollcheck::probe::<u8>();
    drop(handle);
    let mut probe = std::mem::ManuallyDrop::new(probe);
    // SAFETY: dropped once, as its owner would.
    unsafe { std::mem::ManuallyDrop::drop(&mut probe) };
    for times in 2..4 {
        let message = panic_message(|| {
            // SAFETY: the bug under test, as above.
            unsafe { std::mem::ManuallyDrop::drop(&mut probe) };
        });
        assert!(message.starts_with("pollcheck: double drop"), "{message}");
        assert!(message.ends_with(&format!("was dropped {times} times")), "{message}");
    }
}

/// Drops its child twice without ever polling it (so no checker watch holds the
/// child's state), after its handle is gone.
struct DropsUnpolledChildTwice(std::mem::ManuallyDrop<pollcheck::Probe<u32>>);

impl std::future::Future for DropsUnpolledChildTwice {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Ready(())
    }
}

impl Drop for DropsUnpolledChildTwice {
    fn drop(&mut self) {
        // SAFETY: not sound: the double drop under test (the probe survives it).
        unsafe {
            std::mem::ManuallyDrop::drop(&mut self.0);
            std::mem::ManuallyDrop::drop(&mut self.0);
        }
    }
}

#[test]
fn inside_the_checker_a_double_drop_after_the_handle_is_gone_is_reported() {
    let report = Checker::new(|| {
        let (probe, _) = pollcheck::probe::<u32>();
        Scenario::new().task(DropsUnpolledChildTwice(std::mem::ManuallyDrop::new(probe)))
    })
    .replay("p0")
    .try_run()
    .unwrap_err();
    assert_eq!(report.kind(), ViolationKind::DoubleDrop, "{report}");
    assert!(report.violation().detail().ends_with("was dropped 2 times"), "{report}");
}

#[test]
fn futures_util_shared_passes() {
    use futures_util::FutureExt;

    // Two tasks share one probe: when the task that polled it is cancelled, the
    // probe's wake reaches nobody, legitimately.
    checker(|| {
        let (a, ha) = pollcheck::probe::<u32>();
        let shared = a.shared();
        Scenario::new().task(shared.clone()).task(shared).step(ha.completes(1))
    })
    .run();
}

#[cfg(feature = "stream")]
#[test]
fn futures_util_flatten_passes() {
    use pollcheck::StreamProbe;

    // Streams yielded into a stream probe that is dropped first (the task cancelled)
    // are dropped with it, as a closed channel drops what is sent to it.
    let flatten = || {
        let (outer, ho) = pollcheck::probe_stream::<StreamProbe<u32>>();
        let (inner, hi) = pollcheck::probe_stream::<u32>();
        let mut inner = Some(inner);
        Scenario::new()
            .task(outer.map(Box::pin).flatten().collect::<Vec<u32>>())
            .step(move || {
                ho.yield_item(inner.take().expect("runs once"));
                ho.end();
            })
            .step(hi.yields(1))
            .step(hi.ends())
    };
    checker(flatten).run();
    // A step run inside the probe's own clone of the waker (`k0`) wakes the probe
    // mid-poll; the probe looks again after registering, so that wake is seen. Was
    // reported as "woken ... but its combinator never polled the stream probe again".
    let k = Bounds { reentrant_clones: 1, ..Bounds::default() };
    Checker::new(flatten).bounds(k).replay("p0 w0 k0 s0 s0 a0 d d").run();
}

/// The probe's "child waker does not lead back to the task" check counts only the
/// polled task's own wakes: another task's wake in between must not hide a
/// combinator that polls its child with a no-op waker.
#[test]
fn another_tasks_wake_does_not_hide_a_child_polled_with_a_noop_waker() {
    let report = checker(|| {
        let (a, _ha) = pollcheck::probe::<u32>();
        let (b, hb) = pollcheck::probe::<u32>();
        let (c, hc) = pollcheck::probe::<u32>();
        Scenario::new()
            .task(noop_select::select(a, b, Flavor::Buggy))
            .task(c)
            // Wakes task 1 (correctly: a probe polled by the task itself).
            .step(hc.completes(3))
            // Wakes the no-op waker task 0's select gave its child b.
            .step(hb.completes(2))
    })
    .replay("p0 p1 d d")
    .try_run()
    .unwrap_err();
    assert_eq!(report.kind(), ViolationKind::LostWakeup, "{report}");
    assert!(report.violation().detail().contains("child waker does not lead back to the task"), "{report}");
    // Found right at the wake (the fourth action), not at quiescence.
    assert_eq!(report.schedule().to_string(), "p0 p1 d d", "{report}");
}

/// futures-buffered 0.2.14 over probes, with `u` on (a dev-dependency only outside
/// `--cfg loom`: its cordyceps has `cfg(loom)` code of its own).
///
/// Was a pollcheck false positive: `p0 w0 u s0` was reported as a lost wakeup, "the
/// combinator's child waker does not lead back to the task". Every one of these
/// combinators polls through a `FuturesUnorderedBounded`, whose poll first registers
/// the task's waker in a `DiatomicWaker`; its `register` drops the waker it replaces,
/// `u` runs the last driver step inside that drop, and the step completes a probe
/// whose child waker finds no task waker registered at that instant. The poll then
/// drains its ready queue and polls that probe to completion: the wake led back within
/// the same poll, and work done within the poll needs no task wake. A probe woken inside
/// its task's poll now counts being polled again (or dropped) before that poll ends as
/// leading back.
#[cfg(not(loom))]
mod futures_buffered_tests {
    use super::*;
    use futures_buffered::BufferedStreamExt;
    use pollcheck::{Probe, ProbeHandle};

    /// With `u` on, and the schedule that was the false positive replayed first.
    fn passes_with_u<F: Fn() -> Scenario + Send + Sync + 'static>(factory: F) {
        let factory = Arc::new(factory);
        let bounds = Bounds { reentrant_drops: 1, ..Bounds::default() };
        let f = Arc::clone(&factory);
        Checker::new(move || f()).bounds(bounds).replay("p0 w0 u s0").run();
        let explore = Checker::new(move || factory()).bounds(bounds);
        if cfg!(miri) { explore.depth(1).cases(1) } else { explore }.run();
    }

    fn probes(n: usize) -> (Vec<Probe<u32>>, Vec<ProbeHandle<u32>>) {
        (0..n).map(|_| pollcheck::probe::<u32>()).unzip()
    }

    /// The driver wakes and then completes each probe, the last one first.
    fn steps(mut scenario: Scenario, handles: &[ProbeHandle<u32>]) -> Scenario {
        for (i, h) in handles.iter().enumerate().rev() {
            scenario = scenario.step(h.wakes()).step(h.completes(i as u32));
        }
        scenario
    }

    #[test]
    fn futures_unordered_bounded_passes() {
        passes_with_u(|| {
            let (probes, handles) = probes(2);
            let set: futures_buffered::FuturesUnorderedBounded<_> = probes.into_iter().collect();
            steps(Scenario::new().task(set.collect::<Vec<u32>>()), &handles)
        });
    }

    #[test]
    fn futures_unordered_passes() {
        passes_with_u(|| {
            let (probes, handles) = probes(2);
            let set: futures_buffered::FuturesUnordered<_> = probes.into_iter().collect();
            steps(Scenario::new().task(set.collect::<Vec<u32>>()), &handles)
        });
    }

    #[test]
    fn futures_ordered_passes() {
        passes_with_u(|| {
            let (probes, handles) = probes(2);
            let set: futures_buffered::FuturesOrdered<_> = probes.into_iter().collect();
            steps(Scenario::new().task(set.collect::<Vec<u32>>()), &handles)
        });
    }

    #[test]
    fn buffered_ordered_and_unordered_pass() {
        passes_with_u(|| {
            let (probes, handles) = probes(2);
            let stream = futures_util::stream::iter(probes).buffered_ordered(2);
            steps(Scenario::new().task(stream.collect::<Vec<u32>>()), &handles)
        });
        passes_with_u(|| {
            let (probes, handles) = probes(2);
            let stream = futures_util::stream::iter(probes).buffered_unordered(2);
            steps(Scenario::new().task(stream.collect::<Vec<u32>>()), &handles)
        });
    }

    #[test]
    fn join_all_passes() {
        passes_with_u(|| {
            let (probes, handles) = probes(2);
            steps(Scenario::new().task(futures_buffered::join_all(probes)), &handles)
        });
    }

    #[cfg(feature = "stream")]
    #[test]
    fn merge_bounded_and_unbounded_pass() {
        use pollcheck::StreamHandle;

        fn ends(scenario: Scenario, handles: &[StreamHandle<u32>]) -> Scenario {
            let mut scenario = scenario;
            for (i, h) in handles.iter().enumerate().rev() {
                scenario = scenario.step(h.yields(i as u32)).step(h.ends());
            }
            scenario
        }
        passes_with_u(|| {
            let (streams, handles): (Vec<_>, Vec<_>) = (0..2).map(|_| pollcheck::probe_stream::<u32>()).unzip();
            let merged: futures_buffered::MergeBounded<_> = streams.into_iter().collect();
            ends(Scenario::new().task(merged.collect::<Vec<u32>>()), &handles)
        });
        passes_with_u(|| {
            let (streams, handles): (Vec<_>, Vec<_>) = (0..2).map(|_| pollcheck::probe_stream::<u32>()).unzip();
            let merged: futures_buffered::MergeUnbounded<_> = streams.into_iter().map(Box::pin).collect();
            ends(Scenario::new().task(merged.collect::<Vec<u32>>()), &handles)
        });
    }
}
