//! The sources of schedules, above the engine: each one picks schedules and has the
//! engine judge them. The systematic phase (every schedule within the bounds,
//! shortest first, splittable into shards), the seeded random phase, both on several
//! threads, and the outside explorers: proptest and arbitrary (fuzzers), which judge
//! one schedule at a time.

#[cfg(feature = "arbitrary")]
pub mod arbitrary;
pub(crate) mod budget;
pub(crate) mod parallel;
#[cfg(feature = "proptest")]
pub mod proptest;
pub(crate) mod random;
#[cfg(any(feature = "proptest", feature = "arbitrary"))]
pub(crate) mod single;
pub(crate) mod systematic;
