//! The description of a check: the scenario (tasks and driver steps), the schedule
//! that drives it, and the bounds and settings of the exploration. Plain data, used by
//! every layer above; it uses nothing of the crate but `sync`.

pub(crate) mod config;
pub(crate) mod scenario;
pub(crate) mod schedule;
pub(crate) mod step_state;
#[cfg(any(feature = "stream", feature = "sink"))]
pub(crate) mod stream_task;
pub(crate) mod task;
