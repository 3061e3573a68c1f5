//! The text of a caught panic, for the test files that assert on messages (included by
//! `#[path]`, so a file that needs only this does not pull in the zoo helpers).

/// The panic's message: a `String` or `&str` payload, or empty.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
