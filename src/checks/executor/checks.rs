//! The checks of the executor kit, each a function of a fresh kit.

use super::kit::{Checked, Kit};
use super::task::{Script, SelfWake};
use crate::detect::violation::{Violation, ViolationKind};
use crate::engine::panic_capture;

pub(super) fn polls_spawned_tasks(kit: &mut Kit) -> Checked {
    kit.spawn(Script::ReadyAtOnce)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    kit.expect_ready(0, "")?;
    if kit.tasks[1].handle.polls() == 0 {
        return kit.expect_ready(1, "");
    }
    Ok(())
}

pub(super) fn drops_finished_tasks(kit: &mut Kit) -> Checked {
    kit.spawn(Script::ReadyAtOnce)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    kit.tasks[1].handle.complete(());
    kit.note("complete task 1 and wake it (wake by value, this thread)");
    kit.run()?;
    for t in 0..2 {
        kit.expect_ready(t, "")?;
        kit.expect_dropped(
            t,
            "the task returned Ready, and after running until idle the executor still holds it: a finished \
             task must be dropped (it may own resources, and wakers it registered keep other things alive)",
        )?;
    }
    Ok(())
}

pub(super) fn repolls_after_wake_on_same_thread(kit: &mut Kit) -> Checked {
    kit.spawn(Script::Waits)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    kit.tasks[0].handle.complete(());
    kit.note("complete task 0 and wake it (wake by value, this thread)");
    let waker = kit.complete_silently(1)?;
    waker.wake_by_ref();
    drop(waker);
    kit.note("complete task 1 and wake it (wake_by_ref on a clone, this thread)");
    kit.run()?;
    kit.expect_ready(0, "the task returned Pending and was woken from this thread (wake)")?;
    kit.expect_ready(1, "the task returned Pending and was woken from this thread (wake_by_ref)")
}

pub(super) fn repolls_after_wake_from_another_thread(kit: &mut Kit) -> Checked {
    kit.spawn(Script::Waits)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    let by_value = kit.complete_silently(0)?;
    let by_ref = kit.complete_silently(1)?;
    let woke = std::thread::spawn(move || {
        by_value.wake();
        by_ref.wake_by_ref();
    })
    .join();
    if let Err(p) = woke {
        let p = panic_capture::payload_text(&*p);
        return Err(Violation::new(ViolationKind::Panic, None, format!("a wake on another thread panicked: {p}")));
    }
    kit.note("complete tasks 0 and 1; another thread wakes task 0 (wake) and task 1 (wake_by_ref)");
    kit.run()?;
    kit.expect_ready(0, "the task returned Pending and was woken from another thread (wake)")?;
    kit.expect_ready(1, "the task returned Pending and was woken from another thread (wake_by_ref)")
}

pub(super) fn repolls_after_self_wake(kit: &mut Kit) -> Checked {
    let hows = [SelfWake::ByRef, SelfWake::Clone, SelfWake::OtherThread];
    for how in hows {
        kit.spawn(Script::SelfWake(how))?;
    }
    kit.run()?;
    for t in 0..hows.len() {
        kit.expect_ready(
            t,
            "the task woke itself during its own poll, then returned Pending. The executor lost a wake that \
             arrived while it polled the task (e.g. it clears the task's 'woken' flag after polling instead \
             of before)",
        )?;
    }
    Ok(())
}

pub(super) fn never_polls_after_ready(kit: &mut Kit) -> Checked {
    kit.spawn(Script::WakeThenReady)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    let waker = kit.complete_silently(1)?;
    waker.wake_by_ref();
    kit.note("complete task 1 and wake it, keeping a clone of its waker");
    kit.run()?;
    waker.wake();
    kit.note("wake task 1's waker again, after the task returned Ready");
    kit.run()
}

pub(super) fn drops_pending_tasks_when_dropped(kit: &mut Kit) -> Checked {
    kit.spawn(Script::Waits)?;
    kit.spawn(Script::Waits)?;
    kit.run()?;
    kit.drop_executor()?;
    for t in 0..2 {
        kit.expect_dropped(
            t,
            "the task was still Pending when the executor was dropped, and it was never dropped: a cancelled \
             task must be dropped with its executor. The task holds its own waker (as a task waiting on a \
             channel does), so an executor that frees a task only when its last waker is gone leaks it",
        )?;
    }
    Ok(())
}

pub(super) fn survives_wakers_outliving_it(kit: &mut Kit) -> Checked {
    kit.spawn(Script::Waits)?;
    kit.run()?;
    let first = kit.complete_silently(0)?;
    let second = first.clone();
    kit.note("keep two clones of task 0's waker");
    kit.drop_executor()?;
    let used = panic_capture::catch(move || {
        first.wake_by_ref();
        let third = first.clone();
        std::thread::spawn(move || {
            third.wake_by_ref();
            third.wake();
        })
        .join()
        .map_err(|p| panic_capture::payload_text(&*p))?;
        second.wake();
        drop(first);
        Ok::<(), String>(())
    });
    kit.note("wake, clone and drop the kept wakers, on this thread and another");
    let err = match used {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(p)) => p,
        Err(p) => p.to_string(),
    };
    Err(Violation::new(
        ViolationKind::Panic,
        None,
        format!("using a waker after its executor was dropped panicked (it must be a no-op): {err}"),
    ))
}

pub(super) type Check = fn(&mut Kit) -> Checked;

/// The checks' names, in order: what a hang report's "found by" gives for
/// `Phase::Executor(i)`.
pub(super) static CHECK_NAMES: [&str; CHECKS.len()] = {
    let mut names = [""; CHECKS.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = CHECKS[i].0;
        i += 1;
    }
    names
};

/// The checks, in order, each named as a report's "found by".
pub(super) const CHECKS: [(&str, Check); 8] = [
    ("executor check: polls spawned tasks", polls_spawned_tasks),
    ("executor check: drops finished tasks", drops_finished_tasks),
    ("executor check: re-polls after a wake from the same thread", repolls_after_wake_on_same_thread),
    ("executor check: re-polls after a wake from another thread", repolls_after_wake_from_another_thread),
    ("executor check: re-polls after a self-wake during poll", repolls_after_self_wake),
    ("executor check: never polls a task after Ready", never_polls_after_ready),
    ("executor check: drops pending tasks when dropped", drops_pending_tasks_when_dropped),
    ("executor check: wakers outliving the executor", survives_wakers_outliving_it),
];
