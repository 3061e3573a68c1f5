//! The hand-off between an instrument that panics with a violation (a checked future,
//! a probe, an I/O probe) and the engine that catches the panic: the panic carries
//! the sentence, this slot carries the kind, so the report says "moved while pinned"
//! and not "a poll panicked".

use std::cell::RefCell;

use crate::detect::violation::ViolationKind;

thread_local! {
    /// The last violation an instrument panicked with on this thread.
    static LAST: RefCell<Option<(ViolationKind, String)>> = const { RefCell::new(None) };
}

/// The violation the last [`raise`] on this thread left, if nobody took it yet.
pub(crate) fn take() -> Option<(ViolationKind, String)> {
    LAST.try_with(|v| v.borrow_mut().take()).ok().flatten()
}

/// Panics with `kind` and `message`, leaving them for the engine to classify the
/// panic.
#[track_caller]
pub(crate) fn raise(kind: ViolationKind, message: String) -> ! {
    let text = format!("pollcheck: {kind}: {message}");
    LAST.with(|v| *v.borrow_mut() = Some((kind, message)));
    panic!("{text}")
}
