//! The report that must not be lost: a panic that starts while another unwinds (a
//! `Drop` that panics during a panic) aborts the process, which no test harness can
//! catch. Before that, the panic hook prints the schedule so far from here.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use super::Run;
use crate::engine::panic_capture::CaughtPanic;
use crate::spec::schedule::Schedule;

thread_local! {
    /// The run in progress on this thread.
    static CURRENT: RefCell<Weak<Run>> = const { RefCell::new(Weak::new()) };
}

/// Makes `run` the one a double panic on this thread reports.
pub(super) fn running(run: &Rc<Run>) {
    crate::engine::panic_capture::on_abort(report);
    let _ = CURRENT.try_with(|c| *c.borrow_mut() = Rc::downgrade(run));
}

/// The run ended.
pub(super) fn ended() {
    let _ = CURRENT.try_with(|c| *c.borrow_mut() = Weak::new());
}

/// The report so far, printed before the abort.
fn report(first: &CaughtPanic, second: &CaughtPanic) -> Option<String> {
    let run = CURRENT.try_with(|c| c.borrow().upgrade()).ok().flatten()?;
    let steps = run.trace.try_borrow().ok()?.clone();
    Some(render(&steps, first, second))
}

pub(super) fn render(steps: &[crate::spec::schedule::Step], first: &CaughtPanic, second: &CaughtPanic) -> String {
    let schedule = Schedule::new(steps.to_vec());
    let mut out = format!(
        "pollcheck: panic while panicking: the process is about to abort, so here is the report so far\n  \
         a panic ({first}) was unwinding when a `Drop` panicked again ({second}): a value dropped during \
         the unwinding (a handle a driver step captured, a future) re-entered what the first panic left \
         locked or borrowed\n  schedule so far ({} actions, the running one last): {schedule}\n",
        steps.len()
    );
    for (i, step) in steps.iter().enumerate() {
        out.push_str(&format!("    {:>3}  {:<3} {}\n", i + 1, step.to_string(), crate::report::describe(*step)));
    }
    out.push_str(&format!(
        "  replay: .replay(\"{schedule}\")   (the replay aborts the same way: run it alone, e.g. \
         `cargo test NAME -- --exact`)"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::schedule::Step;

    #[test]
    fn the_report_so_far_names_both_panics_and_replays_the_schedule() {
        let panic = |m: &str| CaughtPanic { message: m.into(), location: Some("src/x.rs:1:2".into()) };
        let text = render(&[Step::Poll(0), Step::ReentrantDriver], &panic("already borrowed"), &panic("in drop"));
        assert!(text.contains("the process is about to abort"), "{text}");
        assert!(text.contains("a panic (already borrowed (at src/x.rs:1:2)) was unwinding"), "{text}");
        assert!(text.contains("panicked again (in drop (at src/x.rs:1:2))"), "{text}");
        assert!(text.contains("schedule so far (2 actions, the running one last): p0 r"), "{text}");
        assert!(text.contains("      2  r   re-entrant driver step"), "{text}");
        assert!(text.contains("replay: .replay(\"p0 r\")"), "{text}");
    }
}
