//! The tasks the kit spawns: probes with a script.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::instrument::probe::Probe;

/// What a kit task does, besides waiting for the kit to complete it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Script {
    /// `Ready` at its first poll.
    ReadyAtOnce,
    /// `Pending` until the check completes it and wakes it.
    Waits,
    /// At its first poll: completes itself, wakes its own waker, returns `Pending`.
    SelfWake(SelfWake),
    /// At its first poll: wakes its own waker, then returns `Ready`.
    WakeThenReady,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SelfWake {
    ByRef,
    Clone,
    OtherThread,
}

impl Script {
    pub(super) fn label(self) -> &'static str {
        match self {
            Script::ReadyAtOnce => "Ready at its first poll",
            Script::Waits => "Pending until the check wakes it",
            Script::SelfWake(SelfWake::ByRef) => "wakes itself with wake_by_ref during its first poll",
            Script::SelfWake(SelfWake::Clone) => "wakes a clone of its waker during its first poll",
            Script::SelfWake(SelfWake::OtherThread) => "has another thread wake it during its first poll",
            Script::WakeThenReady => "wakes itself, then returns Ready",
        }
    }
}

/// A task the kit spawns on the executor under test: a `Send + 'static` future with
/// output `()`, `!Unpin` (moving it after its first poll is reported).
#[must_use = "futures do nothing unless polled"]
pub struct ExecutorTask {
    pub(super) probe: Probe<()>,
    pub(super) script: Script,
    pub(super) polled: bool,
}

impl fmt::Debug for ExecutorTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecutorTask").field("script", &self.script.label()).finish_non_exhaustive()
    }
}

impl Future for ExecutorTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: `probe` is structurally pinned: `ExecutorTask` never moves it out,
        // has no `Drop` impl and is `!Unpin` through it.
        let this = unsafe { self.get_unchecked_mut() };
        let first = !std::mem::replace(&mut this.polled, true);
        // SAFETY: see above.
        let mut probe = unsafe { Pin::new_unchecked(&mut this.probe) };
        match (first, this.script) {
            (true, Script::WakeThenReady) => {
                cx.waker().wake_by_ref();
                probe.poll(cx)
            }
            (true, Script::SelfWake(how)) => {
                let poll = probe.as_mut().poll(cx);
                probe.fill(());
                match how {
                    SelfWake::ByRef => cx.waker().wake_by_ref(),
                    // On purpose: a clone woken by value takes another path in the
                    // executor's vtable than `wake_by_ref`.
                    #[allow(clippy::waker_clone_wake)]
                    SelfWake::Clone => cx.waker().clone().wake(),
                    SelfWake::OtherThread => {
                        let waker = cx.waker().clone();
                        if std::thread::spawn(move || waker.wake()).join().is_err() {
                            // The executor's wake panicked on the other thread; the kit
                            // sees the task never finish.
                        }
                    }
                }
                poll
            }
            _ => probe.poll(cx),
        }
    }
}
