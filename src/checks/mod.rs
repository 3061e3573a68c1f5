//! The checks that are not a scenario's exploration: an executor under the executor
//! kit, a waker vtable under the waker check, and the loom driver, which runs futures
//! on loom's threads under pollcheck's instrumented `block_on`.

pub(crate) mod executor;
#[cfg(loom)]
pub mod loom;
pub(crate) mod waker_check;
