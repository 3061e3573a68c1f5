//! One place that names the synchronisation types the crate uses, so that a later
//! `cfg(loom)` build can swap them for loom's and loom sees every access.

pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

/// Locks a mutex, ignoring poisoning: the harness catches panics in user code, and a
/// poisoned journal is still a faithful record of what happened before the panic.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
