//! The sources of schedules, above the engine: each one picks schedules and has the
//! engine judge them. The systematic phase (every schedule within the bounds,
//! shortest first, splittable into shards), the seeded random phase, both on several
//! threads, and the outside explorers: proptest and arbitrary (fuzzers), which judge
//! one schedule at a time. With them the judge, which runs one schedule and decides
//! what it proves (the honest twin of a spurious schedule, the reruns of unstable
//! outputs), and the shrinker, which cuts a failing schedule down.

#[cfg(feature = "arbitrary")]
pub mod arbitrary;
pub(crate) mod budget;
pub(crate) mod finish;
pub(crate) mod judge;
pub(crate) mod parallel;
#[cfg(feature = "proptest")]
pub mod proptest;
pub(crate) mod random;
pub(crate) mod shrink;
#[cfg(any(feature = "proptest", feature = "arbitrary"))]
pub(crate) mod single;
pub(crate) mod systematic;
