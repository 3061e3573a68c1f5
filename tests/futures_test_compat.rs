//! pollcheck composes with futures-test: its wrappers run under the checker, its
//! contexts drive pollcheck's assertion macros, and `.checked()` finds what
//! `assert_unmoved` finds, naming where the moved future was created.

#[path = "common/panic_text.rs"]
mod panic_text;

use std::future::{ready, Future};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use futures_channel::{mpsc, oneshot};
use futures_test::future::FutureTestExt;
use futures_test::stream::StreamTestExt;
use futures_test::task::{noop_context, panic_context};
use futures_util::StreamExt;
use panic_text::panic_text;
use pollcheck::{assert_pending, assert_ready, assert_ready_eq, Checker, FutureCheckExt, Scenario, ViolationKind};

// ---------------------------------------------------------------------------------
// futures-test wrappers under the checker
// ---------------------------------------------------------------------------------

/// `interleave_pending` returns `Pending` between real polls, but wakes itself first,
/// so it is correct: no lost wakeup, and only one self-wake in a row, far from a spin.
#[test]
fn interleave_pending_passes() {
    pollcheck::check(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        Scenario::new().task(rx.interleave_pending()).step(move || {
            let _ = tx.send(7);
        })
    });
}

#[test]
fn interleave_pending_stream_passes() {
    pollcheck::check(|| {
        let (tx, rx) = mpsc::unbounded::<u32>();
        let tx2 = tx.clone();
        Scenario::new()
            .task(rx.interleave_pending().collect::<Vec<_>>())
            .step(move || {
                let _ = tx.unbounded_send(1);
            })
            .step(move || {
                let _ = tx2.unbounded_send(2);
            })
    });
}

/// `pending_once` wakes itself and returns `Pending` once before polling its future.
/// `pollcheck::check`, two steps deep under miri (three by default there: each run of
/// these two-task scenarios is slow).
fn passes(factory: fn() -> Scenario) {
    let checker = Checker::new(factory);
    if cfg!(miri) { checker.depth(2) } else { checker }.run();
}

#[test]
fn pending_once_passes() {
    passes(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        Scenario::new().task(rx.pending_once()).task(ready(1).pending_once()).step(move || {
            let _ = tx.send(7);
        })
    });
}

/// The checker never moves a pinned task, so `assert_unmoved` stays quiet, however the
/// schedule polls, cancels or drops it.
#[test]
fn assert_unmoved_runs_under_the_checker() {
    passes(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        Scenario::new().task(rx.assert_unmoved()).task(stacked_wrappers()).step(move || {
            let _ = tx.send(7);
        })
    });
}

fn stacked_wrappers() -> impl Future<Output = u32> {
    // Wrappers stack: checked, unmoved, interleaved.
    ready(3).checked().assert_unmoved().interleave_pending().pending_once()
}

// ---------------------------------------------------------------------------------
// A combinator that moves its pinned child
// ---------------------------------------------------------------------------------

/// An unsound combinator: it keeps its child inline and moves it to the other of two
/// slots before every poll, although the child is pinned. This is the bug that both
/// `assert_unmoved` and `.checked()` exist to catch.
struct Shuffle<F> {
    slots: [Option<F>; 2],
    at: usize,
}

impl<F> Shuffle<F> {
    fn new(child: F) -> Self {
        Shuffle { slots: [Some(child), None], at: 0 }
    }
}

impl<F: Future> Future for Shuffle<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: none for a general `F`: moving a pinned child is the bug under test.
        // The children used in this file (`Checked`, `AssertUnmoved` around a oneshot
        // receiver or a `ready`) hold no pointers into themselves, so the move is
        // memory-safe here; it only breaks the promise that those wrappers check.
        let this = unsafe { self.get_unchecked_mut() };
        let child = this.slots[this.at].take().expect("polled after Ready");
        this.at ^= 1;
        let slot = this.slots[this.at].insert(child);
        // SAFETY: as above (deliberately wrong in general).
        let polled = unsafe { Pin::new_unchecked(slot) }.poll(cx);
        if polled.is_ready() {
            this.slots[this.at] = None;
        }
        polled
    }
}

#[test]
fn checked_reports_a_moved_child_and_where_it_was_created() {
    let report = Checker::new(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        Scenario::new().task(Shuffle::new(rx.checked())).step(move || {
            let _ = tx.send(7);
        })
    })
    .try_run()
    .expect_err("the child moves between its first and second poll");
    println!("{report}");
    assert_eq!(report.kind(), ViolationKind::MovedWhilePinned);
    let detail = report.violation().detail();
    assert!(
        detail.contains(&format!("created at {}:", file!())),
        "the detail names where the child was created: {detail}"
    );
    assert!(detail.contains("moved while pinned"), "{detail}");
    // The minimal schedule polls twice around the driver step that wakes the child.
    assert_eq!(report.schedule().to_string(), "p0 d p0");
}

#[test]
fn checked_names_the_exact_line() {
    let line = std::sync::OnceLock::new();
    // The factory borrows `line`: a local checker.
    let report = Checker::local(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        let (child, at) = (rx.checked(), line!());
        let _ = line.set(at);
        Scenario::new().task(Shuffle::new(child)).step(move || {
            let _ = tx.send(7);
        })
    })
    .try_run()
    .unwrap_err();
    let line = line.get().expect("the factory ran");
    let detail = report.violation().detail();
    assert!(detail.contains(&format!("{}:{line}:", file!())), "expected {}:{line} in: {detail}", file!());
}

/// `assert_unmoved` finds the same move inside the checker; it comes out as a panic,
/// and its message names no source location of the test.
#[test]
fn assert_unmoved_finds_the_same_move() {
    let report = Checker::new(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        Scenario::new().task(Shuffle::new(rx.assert_unmoved())).step(move || {
            let _ = tx.send(7);
        })
    })
    .try_run()
    .expect_err("the child moves between its first and second poll");
    println!("{report}");
    assert_eq!(report.kind(), ViolationKind::Panic);
    let detail = report.violation().detail();
    assert!(detail.contains("AssertUnmoved moved between poll calls"), "{detail}");
    assert!(!detail.contains(file!()), "{detail}");
    assert_eq!(report.schedule().to_string(), "p0 d p0");
}

/// The same combinator, polled by hand with futures-test's contexts. Both wrappers
/// also check on drop.
#[test]
fn checked_and_assert_unmoved_by_hand() {
    // `.checked()`: the panic names the creation site.
    let (child, line) = (ready(1).pending_once().checked(), line!());
    let mut fut = Box::pin(Shuffle::new(child));
    assert_pending!(fut, &mut noop_context());
    let moved = catch_unwind(AssertUnwindSafe(|| {
        let _ = fut.as_mut().poll(&mut noop_context());
    }))
    .expect_err("the second poll sees the move");
    let message = panic_text(&*moved);
    assert!(message.contains("moved while pinned"), "{message}");
    assert!(message.contains(&format!("{}:{line}:", file!())), "{message}");
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(fut))).expect_err("the drop sees the move too");
    assert!(panic_text(&*dropped).contains("is now dropped"));

    // `assert_unmoved`: the same move, found without a location.
    let mut fut = Box::pin(Shuffle::new(ready(1).pending_once().assert_unmoved()));
    assert_pending!(fut, &mut noop_context());
    let moved = catch_unwind(AssertUnwindSafe(|| {
        let _ = fut.as_mut().poll(&mut noop_context());
    }))
    .expect_err("the second poll sees the move");
    assert!(panic_text(&*moved).contains("AssertUnmoved moved between poll calls"));
    let dropped = catch_unwind(AssertUnwindSafe(move || drop(fut))).expect_err("the drop sees the move too");
    assert!(panic_text(&*dropped).contains("AssertUnmoved moved before drop"));
}

// ---------------------------------------------------------------------------------
// pollcheck's assertion macros with futures-test contexts
// ---------------------------------------------------------------------------------

#[test]
fn assertion_macros_with_noop_and_panic_contexts() {
    let (tx, rx) = oneshot::channel::<u32>();
    let mut fut = pin!(rx.checked().assert_unmoved());
    // The receiver keeps the no-op waker; nothing wakes it yet.
    assert_pending!(fut, &mut noop_context());
    tx.send(3).unwrap();
    // A ready future must not wake: `panic_context`'s waker panics if it is woken.
    assert_eq!(assert_ready!(fut, &mut panic_context()), Ok(3));

    let mut fut = pin!(ready("hi").checked());
    assert_ready_eq!(fut, &mut panic_context(), "hi");
    // Polling it again is a poll after ready, which `.checked()` reports.
    let again = catch_unwind(AssertUnwindSafe(|| {
        let _ = fut.as_mut().poll(&mut noop_context());
    }))
    .expect_err("a checked future polled after Ready panics");
    let message = panic_text(&*again);
    assert!(message.contains("poll after ready"), "{message}");
    assert!(message.contains(file!()), "{message}");
}

/// `interleave_pending` under the macros: Pending (self-woken) then Ready.
#[test]
fn interleave_pending_with_the_macros() {
    let mut fut = pin!(ready(5).checked().interleave_pending());
    let (waker, count) = futures_test::task::new_count_waker();
    let mut cx = Context::from_waker(&waker);
    assert_pending!(fut, &mut cx);
    assert_eq!(count.get(), 1, "interleave_pending wakes itself before Pending");
    assert_ready_eq!(fut, &mut cx, 5);
}
