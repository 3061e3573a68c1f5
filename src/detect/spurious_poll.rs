//! Spurious-poll intolerance. (A panic on a spurious poll is classified by the engine,
//! which knows whether the poll was spurious.)

/// A spurious poll returned `Ready` although nothing happened (no driver step, no
/// other task's poll or drop) since the task returned `Pending`.
pub(crate) fn ready_without_cause(spurious: bool, world_now: u64, world_at_pending: u64) -> Option<String> {
    (spurious && world_now == world_at_pending).then(|| {
        "a poll that no wake preceded returned Ready although nothing happened since the task \
         returned Pending: it finished before the driver made that possible"
            .to_owned()
    })
}

/// The same schedule without its spurious polls (the honest twin) produced another
/// output for some task that `comparable` admits. Returns the task and the sentence.
pub(crate) fn different_output(
    honest: &[Option<String>],
    got: &[Option<String>],
    comparable: impl Fn(usize) -> bool,
) -> Option<(usize, String)> {
    honest.iter().zip(got).enumerate().find_map(|(t, (h, g))| match (h, g) {
        (Some(h), Some(g)) if h != g && comparable(t) => {
            Some((t, format!("with spurious polls the task finished with {g}, but without them with {h}")))
        }
        _ => None,
    })
}
