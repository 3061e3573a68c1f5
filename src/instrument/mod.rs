//! The instruments a user puts in their own code: checked futures and streams
//! (`.checked()`), checked sinks, the runtime checks behind them, probes (leaf
//! futures, streams and sinks a handle completes), I/O probes and the assert macros.
//! They reach a running check through the engine's hooks, and work without one.

mod assert;
pub(crate) mod checked;
#[cfg(feature = "sink")]
pub(crate) mod checked_sink;
#[cfg(feature = "io")]
pub mod io;
pub(crate) mod probe;
pub(crate) mod runtime;
