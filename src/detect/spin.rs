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

/// A group of tasks (`members`, with who woke each: `woken`) kept returning `Pending`
/// with nothing left to happen, `polls` times in a row for one of them, and none
/// finished.
pub(crate) fn group_spinning(members: &[usize], woken: &[(usize, Vec<usize>)], polls: u32) -> String {
    let names = |ts: &[usize]| list(&ts.iter().map(|t| format!("task {t}")).collect::<Vec<_>>());
    let by = woken.iter().map(|(t, by)| format!("task {t} by {}", names(by))).collect::<Vec<_>>();
    let who = if members.len() == 1 {
        format!("task {} kept being woken", members[0])
    } else {
        format!("tasks {} keep waking each other", list(&members.iter().map(|t| t.to_string()).collect::<Vec<_>>()))
    };
    let by = if by.is_empty() { String::new() } else { format!(" (woken: {})", by.join("; ")) };
    format!(
        "with nothing left to happen, {who}{by}: one returned Pending {polls} times in a row and none \
         finished, so a single-threaded executor would run nothing else"
    )
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
