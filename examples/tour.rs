//! A tour of pollcheck: a gallery of small primitives, each with a classic
//! waker-contract bug. For each, the checker runs the buggy flavor and prints its
//! report, then checks the fixed flavor and says how many schedules it passed.
//!
//! Run it with `cargo run --all-features --example tour` (the stream, sink and I/O
//! exhibits need the `stream`, `sink` and `io` features; add `--release` for the
//! timings that matter).

#[path = "../tests/buggy/mod.rs"]
mod buggy;

use std::time::{Duration, Instant};

use buggy::Flavor;
use pollcheck::{Bounds, Checker, Scenario};

struct Exhibit {
    title: &'static str,
    story: &'static str,
    scenario: fn(Flavor) -> Scenario,
    /// Opt-in actions this exhibit needs beyond the defaults.
    bounds: Bounds,
}

/// An exhibit checked by the executor kit or the waker check instead of a scenario.
struct KitExhibit {
    title: &'static str,
    story: &'static str,
    check: fn(Flavor) -> Result<(), pollcheck::Report>,
}

fn main() {
    #[allow(unused_mut)]
    let gallery = vec![
        Exhibit {
            title: "An event flag that forgets its waker",
            story: "Returns Pending without storing the waker: setting the flag wakes nobody.",
            bounds: Bounds::default(),
            scenario: buggy::flag::scenario,
        },
        Exhibit {
            title: "The countdown from the async book, without wake_by_ref",
            story: "Returns Pending three times; without a self-wake nothing polls it again.",
            bounds: Bounds::default(),
            scenario: buggy::countdown::scenario,
        },
        Exhibit {
            title: "A oneshot that keeps the first waker it saw",
            story: "Re-polled with a new waker, it still wakes the old one.",
            bounds: Bounds::default(),
            scenario: buggy::first_waker::scenario,
        },
        Exhibit {
            title: "A oneshot whose sender wakes before it stores the value",
            story: "A worker thread may poll the task before wake returns: it finds nothing (opt-in `i`).",
            bounds: Bounds { polls_inside_wake: 1, ..Bounds::default() },
            scenario: buggy::wake_before_store::scenario,
        },
        Exhibit {
            title: "A receiver that treats any second poll as a wake",
            story: "Executors may poll without a wake; this one then returns no value.",
            bounds: Bounds::default(),
            scenario: buggy::second_poll::scenario,
        },
        Exhibit {
            title: "A receiver that panics when polled without a value",
            story: "\"Woken, so the value must be there\" is not a rule executors follow.",
            bounds: Bounds::default(),
            scenario: buggy::spurious::panicking,
        },
        Exhibit {
            title: "A notifier whose cancelled waiter swallows the notification",
            story: "notify_one picks waiter 0; waiter 0 is dropped; waiter 1 is never told.",
            bounds: Bounds::default(),
            scenario: buggy::notifier::scenario,
        },
        Exhibit {
            title: "The same notifier, tested as a model (async code with pollcheck::spawn)",
            story: "Two spawned waiters, one notify_one, the first waiter cancellable: no driver steps, the body must finish.",
            bounds: Bounds::default(),
            scenario: |flavor| Scenario::model(buggy::models::notifier(flavor)),
        },
        Exhibit {
            title: "A busy-waiting receiver that ignores a closed channel",
            story: "Self-waking is legal; doing it forever starves a single-threaded executor.",
            bounds: Bounds::default(),
            scenario: buggy::spinner::scenario,
        },
        Exhibit {
            title: "A join that polls a child after it finished",
            story: "The children are wrapped in .checked(), which names where they were polled.",
            bounds: Bounds::default(),
            scenario: buggy::bad_join::scenario,
        },
        Exhibit {
            title: "A combinator that moves its pinned child",
            story: "Unsafe code \"compacting\" storage moves a pinned future.",
            bounds: Bounds::default(),
            scenario: buggy::moving_combinator::scenario,
        },
        Exhibit {
            title: "A channel that wakes while holding its own lock",
            story: "A waker is arbitrary code: pollcheck runs the next send inside the wake (opt-in `r`).",
            bounds: Bounds { reentrant: 1, ..Bounds::default() },
            scenario: buggy::locked_wake::scenario,
        },
        Exhibit {
            title: "A timer that never deregisters",
            story: "Dropped before it fires, it leaves its waker in the reactor forever.",
            bounds: Bounds::default(),
            scenario: buggy::leaky::scenario,
        },
        Exhibit {
            title: "A select that peeks at its second child with a no-op waker",
            story: "Probes stand in for the children: waking one reaches nothing, and the probe says so.",
            bounds: Bounds::default(),
            scenario: buggy::noop_select::scenario,
        },
        Exhibit {
            title: "A fair select that swaps its pinned children",
            story: "Unsafe code alternates the children's order by swapping them in place.",
            bounds: Bounds::default(),
            scenario: buggy::swapping_select::scenario,
        },
        Exhibit {
            title: "A select that stops polling its second child",
            story: "The child's wake reaches the task; the task is polled; the child never is.",
            bounds: Bounds::default(),
            scenario: buggy::forgetful_select::scenario,
        },
        Exhibit {
            title: "A combinator that drops its finished child, then drops it again",
            story: "An early drop in place, and a Drop impl that forgot about it.",
            bounds: Bounds::default(),
            scenario: buggy::early_drop::double_drop,
        },
        Exhibit {
            title: "A waiter that spins until another task sets its flag",
            story: "On an executor's thread the other task never runs: the poll never returns (a busy loop).",
            bounds: Bounds::default(),
            scenario: buggy::busy_wait::scenario,
        },
        Exhibit {
            title: "A notifier that wakes while holding its std Mutex",
            story: "The next notify, run inside that wake (opt-in `r`), locks the mutex again: a deadlock.",
            bounds: Bounds { reentrant: 1, ..Bounds::default() },
            scenario: buggy::mutex_wake::scenario,
        },
        // The stream, sink and I/O exhibits, with their features.
        #[cfg(feature = "stream")]
        Exhibit {
            title: "A stream that stops registering its waker once it has yielded",
            story: "Run as a stream task: it yields 1, then returns Pending holding no waker.",
            bounds: Bounds::default(),
            scenario: buggy::lazy_stream::scenario,
        },
        #[cfg(feature = "sink")]
        Exhibit {
            title: "A fan-out sink that asks only its first sink poll_ready",
            story: "Sink probes stand in for the outputs: the second gets start_send it never said Ready to.",
            bounds: Bounds::default(),
            scenario: buggy::fanout::scenario,
        },
        #[cfg(feature = "io")]
        Exhibit {
            title: "A line reader that waits on a partial line",
            story: "A read returned data but no newline; the reader registered nothing, so waiting is forever (`b`: a one-byte read).",
            bounds: Bounds::default(),
            scenario: buggy::line_reader::scenario,
        },
    ];

    let mut failures = 0;
    for (i, exhibit) in gallery.iter().enumerate() {
        println!("\n=== {}. {} ===", i + 1, exhibit.title);
        println!("{}\n", exhibit.story);
        let (scenario, bounds) = (exhibit.scenario, exhibit.bounds);

        let started = Instant::now();
        // A hang is reported after the poll timeout (2 s by default); half a second
        // keeps the tour quick and is still far above any legitimate action here.
        let timeout = Some(Duration::from_millis(500));
        match Checker::new(move || scenario(Flavor::Buggy)).bounds(bounds).poll_timeout(timeout).try_run() {
            Err(report) => println!("{report}\n  (found in {:.1?})", started.elapsed()),
            Ok(summary) => {
                failures += 1;
                println!("MISSED: the buggy flavor passed {} schedules", summary.schedules());
            }
        }

        let started = Instant::now();
        match Checker::new(move || scenario(Flavor::Fixed)).bounds(bounds).try_run() {
            Ok(summary) => println!(
                "fixed: passes {} schedules ({} systematic, {} random) in {:.1?}",
                summary.schedules(),
                summary.systematic,
                summary.random,
                started.elapsed()
            ),
            Err(report) => {
                failures += 1;
                println!("FALSE ALARM on the fixed flavor:\n{report}");
            }
        }
    }
    // Executors and wakers: the same reports, from the executor kit and check_waker.
    let kits = [
        KitExhibit {
            title: "An executor that clears a task's woken flag after polling it",
            story: "A task that wakes itself during its poll is never polled again.",
            check: |flavor| pollcheck::try_check_executor(move || buggy::toy_executor::loses_self_wake(flavor)),
        },
        KitExhibit {
            title: "An executor that never drops finished tasks",
            story: "Finished futures pile up until the executor itself goes.",
            check: |flavor| pollcheck::try_check_executor(move || buggy::toy_executor::keeps_finished(flavor)),
        },
        KitExhibit {
            title: "A hand-written waker whose clone takes no reference",
            story: "The count says it in a plain test run; under miri it is a use-after-free.",
            check: |flavor| pollcheck::try_check_waker(move || buggy::counted_waker::under_test(flavor)),
        },
    ];
    for (i, exhibit) in kits.iter().enumerate() {
        println!("\n=== {}. {} ===", gallery.len() + i + 1, exhibit.title);
        println!("{}\n", exhibit.story);
        let started = Instant::now();
        match (exhibit.check)(Flavor::Buggy) {
            Err(report) => println!("{report}\n  (found in {:.1?})", started.elapsed()),
            Ok(()) => {
                failures += 1;
                println!("MISSED: the buggy flavor passed every check");
            }
        }
        let started = Instant::now();
        match (exhibit.check)(Flavor::Fixed) {
            Ok(()) => println!("fixed: passes every check in {:.1?}", started.elapsed()),
            Err(report) => {
                failures += 1;
                println!("FALSE ALARM on the fixed flavor:\n{report}");
            }
        }
    }
    println!();
    if failures > 0 {
        eprintln!("tour: {failures} exhibit(s) did not behave as expected");
        std::process::exit(1);
    }
    println!("tour: every bug caught, every fix passed");
}
