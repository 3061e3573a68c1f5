//! The systematic phase: every schedule within the bounds, shortest first, in a fixed
//! order. Each prefix is run once; the steps enabled at its end (as the run saw them)
//! become its children, so no schedule that would only skip steps is ever generated.

use std::ops::ControlFlow;

use crate::config::Bounds;
use crate::engine::{Chooser, Run};
use crate::schedule::Step;

/// How many of each bounded action a schedule uses.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Usage {
    spurious: usize,
    new_wakers: usize,
    cancels: usize,
    abandons: usize,
    moves: usize,
    reentrant: usize,
    inside_wake: usize,
    reentrant_drops: usize,
    short_io: usize,
}

impl Usage {
    pub(crate) fn of(steps: &[Step]) -> Self {
        let mut u = Usage::default();
        for &s in steps {
            u.add(s);
        }
        u
    }

    pub(crate) fn add(&mut self, step: Step) {
        match step {
            Step::SpuriousPoll(_) => self.spurious += 1,
            Step::NewWaker(_) => self.new_wakers += 1,
            Step::Cancel(_) => self.cancels += 1,
            Step::Abandon(_) => self.abandons += 1,
            Step::Move(_) => self.moves += 1,
            Step::ReentrantDriver => self.reentrant += 1,
            Step::PollInsideWake(_) => self.inside_wake += 1,
            Step::DriverInsideDrop => self.reentrant_drops += 1,
            Step::ShortIo => self.short_io += 1,
            Step::Poll(_) | Step::Driver => {}
        }
    }

    /// Whether one more `step` stays within `bounds`.
    pub(crate) fn allows(&self, bounds: &Bounds, step: Step) -> bool {
        match step {
            Step::SpuriousPoll(_) => self.spurious < bounds.spurious,
            Step::NewWaker(_) => self.new_wakers < bounds.new_wakers,
            Step::Cancel(_) => self.cancels < bounds.cancels,
            Step::Abandon(_) => self.abandons < bounds.abandons,
            Step::Move(_) => self.moves < bounds.moves,
            Step::ReentrantDriver => self.reentrant < bounds.reentrant,
            Step::PollInsideWake(_) => self.inside_wake < bounds.polls_inside_wake,
            Step::DriverInsideDrop => self.reentrant_drops < bounds.reentrant_drops,
            Step::ShortIo => self.short_io < bounds.short_io,
            Step::Poll(_) | Step::Driver => true,
        }
    }
}

/// Plays a prefix, then records what was enabled at its end and stops.
struct Prefix<'a> {
    steps: &'a [Step],
    at: usize,
    enabled: Vec<Step>,
}

impl Chooser for Prefix<'_> {
    fn next(&mut self, run: &Run) -> Option<Step> {
        if let Some(&step) = self.steps.get(self.at) {
            self.at += 1;
            return Some(step);
        }
        if self.at == self.steps.len() {
            self.at += 1;
            run.enabled_steps(&mut self.enabled);
        }
        None
    }
}

/// Runs every schedule within `bounds`, breadth first, handing each to `visit` with
/// the chooser to run it with. `visit` runs it and says whether to go on.
pub(crate) fn explore(
    bounds: &Bounds,
    mut visit: impl FnMut(&[Step], &mut dyn Chooser) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut level = vec![Vec::new()];
    while !level.is_empty() {
        let mut next = Vec::new();
        for prefix in &level {
            expand(bounds, prefix, &mut next, |chooser| visit(prefix, chooser))?;
        }
        level = next;
    }
    ControlFlow::Continue(())
}

/// Runs one prefix with `visit` and, unless it breaks, appends its children within
/// `bounds` (the steps the run found enabled at the prefix's end) to `children`.
/// Exploring level by level this way is what lets threads share a level.
pub(crate) fn expand(
    bounds: &Bounds,
    prefix: &[Step],
    children: &mut Vec<Vec<Step>>,
    visit: impl FnOnce(&mut dyn Chooser) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut chooser = Prefix { steps: prefix, at: 0, enabled: Vec::new() };
    visit(&mut chooser)?;
    if prefix.len() < bounds.depth {
        let usage = Usage::of(prefix);
        for step in chooser.enabled {
            if usage.allows(bounds, step) {
                let mut child = Vec::with_capacity(prefix.len() + 1);
                child.extend_from_slice(prefix);
                child.push(step);
                children.push(child);
            }
        }
    }
    ControlFlow::Continue(())
}
