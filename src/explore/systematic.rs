//! The systematic phase: every schedule within the bounds, shortest first, in a fixed
//! order. Each prefix is run once; the steps enabled at its end (as the run saw them)
//! become its children, so no schedule that would only skip steps is ever generated.

use std::ops::ControlFlow;

use crate::config::{Bounds, Shard};
use crate::engine::{Chooser, Run};
use crate::explore::budget::{self, Deadline, Reached};
use crate::judge::{Found, Judge};
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
    reentrant_clones: usize,
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
            Step::DriverInsideClone(_) => self.reentrant_clones += 1,
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
            Step::DriverInsideClone(_) => self.reentrant_clones < bounds.reentrant_clones,
            Step::ShortIo => self.short_io < bounds.short_io,
            Step::Poll(_) | Step::Driver => true,
        }
    }
}

/// Plays a prefix, then records what was enabled at its end and stops.
struct Prefix<'a> {
    steps: &'a [Step],
    at: usize,
    /// The steps enabled at the prefix's end, read only when it may have children.
    enabled: Option<Vec<Step>>,
}

impl Chooser for Prefix<'_> {
    fn next(&mut self, run: &Run) -> Option<Step> {
        if let Some(&step) = self.steps.get(self.at) {
            self.at += 1;
            return Some(step);
        }
        if self.at == self.steps.len() {
            self.at += 1;
            if let Some(enabled) = &mut self.enabled {
                run.enabled_steps(enabled);
            }
        }
        None
    }
}

/// Runs every schedule within `bounds` that belongs to `shard`, breadth first,
/// handing each to `visit` with the chooser to run it with and whether the shard
/// owns it (a shard also runs, without owning them, the first levels that shard 1
/// owns: see [`Shard`]). `visit` runs it and says whether to go on. Stops when
/// `deadline` is spent (the empty schedule always runs); says how far it got.
pub(crate) fn explore(
    bounds: &Bounds,
    shard: Shard,
    deadline: Option<&Deadline>,
    mut visit: impl FnMut(&[Step], &mut dyn Chooser, bool) -> ControlFlow<()>,
) -> ControlFlow<(), Reached> {
    let mut level = vec![Vec::new()];
    let mut split = false;
    let mut clock = 0;
    let mut depth = 0;
    while !level.is_empty() {
        let owned = take_share(&mut level, shard, &mut split);
        let mut next = Vec::new();
        for (i, prefix) in level.iter().enumerate() {
            if depth > 0 && budget::spent(deadline, &mut clock) {
                return ControlFlow::Continue(Reached::cut(depth, i as u64, level.len() as u64));
            }
            expand(bounds, prefix, &mut next, |chooser| visit(prefix, chooser, owned))?;
        }
        level = next;
        depth += 1;
    }
    ControlFlow::Continue(Reached::whole(bounds.depth))
}

/// Judges the schedule of `prefix` (run with `chooser`), or, for a prefix its shard
/// does not own, runs it only to learn its children: its owner judges it.
pub(crate) fn judge_prefix(
    judge: &Judge<'_>,
    prefix: &[Step],
    chooser: &mut dyn Chooser,
    owned: bool,
) -> Option<Found> {
    if !owned {
        let _ = judge.run(chooser, false, false);
        return None;
    }
    // Only a schedule with a spurious poll is compared with its honest twin.
    let capture = prefix.iter().any(|s| matches!(s, Step::SpuriousPoll(_)));
    judge.judge(chooser, capture)
}

/// A level splits between shards once it holds this many prefixes per shard.
const SPLIT_PER_SHARD: usize = 8;

/// Keeps `shard`'s share of `level` once levels are split (splitting at the first
/// level big enough); returns whether the shard owns the level's schedules.
pub(crate) fn take_share(level: &mut Vec<Vec<Step>>, shard: Shard, split: &mut bool) -> bool {
    if shard.count <= 1 {
        return true;
    }
    if !*split && level.len() as u64 >= SPLIT_PER_SHARD as u64 * shard.count {
        *split = true;
        let mine =
            std::mem::take(level).into_iter().enumerate().filter(|(i, _)| (*i as u64) % shard.count == shard.index - 1);
        *level = mine.map(|(_, prefix)| prefix).collect();
    }
    *split || shard.index == 1
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
    let grows = prefix.len() < bounds.depth;
    let mut chooser = Prefix { steps: prefix, at: 0, enabled: grows.then(|| Vec::with_capacity(16)) };
    visit(&mut chooser)?;
    if let Some(enabled) = chooser.enabled {
        let usage = Usage::of(prefix);
        for step in enabled {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::Judge;
    use crate::scenario::Scenario;
    use std::cell::RefCell;
    use std::collections::BTreeSet;
    use std::rc::Rc;
    use std::task::{Poll, Waker};

    /// Two waiters on a flag that one driver step sets: a few thousand schedules.
    fn scenario() -> Scenario {
        let flag: Rc<RefCell<(bool, Vec<Waker>)>> = Rc::default();
        let waiter = |flag: Rc<RefCell<(bool, Vec<Waker>)>>| {
            std::future::poll_fn(move |cx| {
                let mut f = flag.borrow_mut();
                if f.0 {
                    return Poll::Ready(());
                }
                f.1.push(cx.waker().clone());
                Poll::Pending
            })
        };
        let setter = Rc::clone(&flag);
        Scenario::new().task(waiter(Rc::clone(&flag))).task(waiter(flag)).step(move || {
            let wakers = {
                let mut f = setter.borrow_mut();
                f.0 = true;
                std::mem::take(&mut f.1)
            };
            wakers.into_iter().for_each(Waker::wake);
        })
    }

    /// The schedules `shard` owns.
    fn owned(bounds: &Bounds, shard: Shard) -> Vec<Vec<Step>> {
        let judge = Judge::new(&scenario, 100, None);
        let mut schedules = Vec::new();
        let _ = explore(bounds, shard, None, |prefix, chooser, owned| {
            let _ = judge.run(chooser, false, false);
            if owned {
                schedules.push(prefix.to_vec());
            }
            ControlFlow::Continue(())
        });
        schedules
    }

    #[test]
    fn shards_are_disjoint_and_together_are_the_whole_exploration() {
        let bounds = Bounds { depth: if cfg!(miri) { 3 } else { 5 }, ..Bounds::default() };
        let whole = owned(&bounds, Shard::ALL);
        let set: BTreeSet<Vec<Step>> = whole.iter().cloned().collect();
        assert_eq!(set.len(), whole.len(), "the whole exploration runs each schedule once");
        // Under miri (a run costs milliseconds) fewer shardings of the same search.
        let counts: &[u64] = if cfg!(miri) { &[3] } else { &[2, 3, 7] };
        for &count in counts {
            let mut union = BTreeSet::new();
            let mut total = 0;
            for index in 1..=count {
                let part = owned(&bounds, Shard::new(index, count).unwrap());
                assert!(!part.is_empty(), "shard {index}/{count} got a share");
                total += part.len();
                union.extend(part);
            }
            assert_eq!(total, whole.len(), "{count} shards run as many schedules as the whole");
            assert_eq!(union, set, "{count} shards run exactly the whole's schedules, each once");
        }
    }
}
