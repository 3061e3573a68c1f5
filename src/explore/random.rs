//! The random phase: seeded random walks over the enabled steps, longer than the
//! systematic phase reaches, each completed by the honest drain.

use crate::engine::{Chooser, Run};
use crate::explore::systematic::Usage;
use crate::spec::config::Bounds;
use crate::spec::schedule::Step;

/// SplitMix64: tiny, fast, and good enough to pick schedule steps.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The seed of random case `case` under the run's `seed`: each case can be rerun alone.
pub(crate) fn case_seed(seed: u64, case: u64) -> u64 {
    Rng::new(seed ^ case.wrapping_mul(0xa076_1d64_78bd_642f)).next_u64()
}

/// Picks uniformly among the enabled steps that stay within the bounds, and stops
/// with probability 1/`depth` at each step (or at `depth`).
pub(crate) struct RandomWalk<'b> {
    rng: Rng,
    bounds: &'b Bounds,
    depth: usize,
    usage: Usage,
    taken: usize,
    enabled: Vec<Step>,
}

impl<'b> RandomWalk<'b> {
    pub(crate) fn new(seed: u64, bounds: &'b Bounds, depth: usize) -> Self {
        RandomWalk { rng: Rng::new(seed), bounds, depth, usage: Usage::default(), taken: 0, enabled: Vec::new() }
    }
}

impl RandomWalk<'_> {
    /// Starts over as a new walk seeded with `seed`, keeping the step buffer (one
    /// allocation less per random case).
    pub(crate) fn restart(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
        self.usage = Usage::default();
        self.taken = 0;
    }
}

impl Chooser for RandomWalk<'_> {
    fn next(&mut self, run: &Run) -> Option<Step> {
        if self.taken >= self.depth || self.rng.below(self.depth * 2) == 0 {
            return None;
        }
        run.enabled_steps(&mut self.enabled);
        let (bounds, usage) = (self.bounds, self.usage);
        self.enabled.retain(|&s| usage.allows(bounds, s));
        if self.enabled.is_empty() {
            return None;
        }
        let step = self.enabled[self.rng.below(self.enabled.len())];
        self.usage.add(step);
        self.taken += 1;
        Some(step)
    }
}
