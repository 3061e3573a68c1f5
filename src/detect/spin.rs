//! Spin: at quiescence the task keeps waking itself and returning `Pending`.

/// `streak` counts consecutive polls, with no driver step left, in which the task
/// woke its own latest waker and returned `Pending`.
pub(crate) fn spinning(streak: u32, bound: u32) -> Option<String> {
    (streak > bound).then(|| {
        format!(
            "with nothing left to happen, the task woke itself and returned Pending {streak} times \
             in a row: a single-threaded executor would run nothing else"
        )
    })
}
