//! The systematic phase: every schedule within the bounds, shortest first, in a fixed
//! order. Each prefix is run once; the steps enabled at its end (as the run saw them)
//! become its children, so no schedule that would only skip steps is ever generated.
//!
//! # Interchangeable tasks: one schedule per renaming
//!
//! A group of [`Scenario::tasks`](crate::Scenario::tasks) is a promise that renaming
//! its members (a permutation `σ` of their indices) is a symmetry of the scenario. A
//! prefix is *canonical* when it names the members of each group for the first time
//! in index order; with the reduction on, only canonical prefixes are generated: a
//! child keeps its new step if it names no member, a member named already, or the
//! lowest one not named yet (`Run::keep_canonical`).
//!
//! Why every violation is still found. (1) The engine is equivariant: every order it
//! visits tasks in after the schedule (the drain, the checks at quiescence, the
//! teardown, and ties between tasks proven at once) ranks a group's members by first
//! mention in the trace, then the unnamed ones by index
//! (`Run::task_order`), so by induction on the
//! actions the run of `σP` is the run of `P` renamed by `σ` (members never named
//! are still as `make` built them, so which of them comes first changes nothing),
//! violations included; the honest twin (the trace without its spurious polls)
//! renames with it, and a group has two tasks or more, whose outputs are never
//! compared. (2) Every prefix `P` has a renaming `σ` (number members by first
//! mention) with `σP` canonical, of the same length and using as many of each bounded
//! action, and every prefix of a canonical prefix is canonical, so breadth-first
//! generation reaches `σP` whenever it would reach `P`. Hence a violation of `P` is
//! found at `σP`, at the same depth, with its task renamed. On canonical prefixes
//! the visiting order is the index order, so the runs the reduced phase makes are
//! exactly those of the plain engine.

use std::ops::ControlFlow;

use crate::engine::{Chooser, Run};
use crate::explore::budget::{self, Deadline};
use crate::explore::judge::{Found, Judge};
use crate::report::summary::Reached;
use crate::spec::config::{Bounds, Shard};
use crate::spec::schedule::Step;

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

/// One level of the systematic phase: its prefixes, all of one length, in order, end
/// to end in one buffer (a level holds thousands: an allocation each, made on one
/// thread and freed on another, cost more than running some of them).
pub(crate) struct Prefixes {
    /// The length of every prefix.
    depth: usize,
    count: usize,
    steps: Vec<Step>,
    /// [`expand`]'s buffer for the steps enabled at a prefix's end.
    enabled: Vec<Step>,
}

impl Prefixes {
    /// The first level: the empty prefix alone.
    pub(crate) fn root() -> Self {
        Prefixes { depth: 0, count: 1, steps: Vec::new(), enabled: Vec::new() }
    }

    /// No prefix yet, of length `depth`.
    pub(crate) fn empty(depth: usize) -> Self {
        Prefixes { depth, count: 0, steps: Vec::new(), enabled: Vec::new() }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// The length of each prefix.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Prefix `i`.
    pub(crate) fn get(&self, i: usize) -> &[Step] {
        &self.steps[i * self.depth..(i + 1) * self.depth]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &[Step]> + '_ {
        (0..self.count).map(|i| self.get(i))
    }

    fn push_child(&mut self, prefix: &[Step], step: Step) {
        debug_assert_eq!(prefix.len() + 1, self.depth);
        self.steps.extend_from_slice(prefix);
        self.steps.push(step);
        self.count += 1;
    }

    /// Appends `other`'s prefixes (of the same length) after these.
    pub(crate) fn append(&mut self, mut other: Prefixes) {
        if self.count == 0 {
            *self = other;
            return;
        }
        debug_assert_eq!(self.depth, other.depth);
        self.steps.append(&mut other.steps);
        self.count += other.count;
    }

    /// Keeps the prefixes whose index `keep` takes.
    fn retain_indices(&mut self, keep: impl Fn(usize) -> bool) {
        let mut kept = Prefixes::empty(self.depth);
        for i in (0..self.count).filter(|&i| keep(i)) {
            kept.steps.extend_from_slice(self.get(i));
            kept.count += 1;
        }
        *self = kept;
    }
}

/// Plays a prefix, then records what was enabled at its end and stops.
struct Prefix<'a> {
    steps: &'a [Step],
    at: usize,
    /// Keep only the canonical children (see [`explore`]).
    reduce: bool,
    /// The steps enabled at the prefix's end, read only when it may have children.
    enabled: Option<&'a mut Vec<Step>>,
}

impl Chooser for Prefix<'_> {
    fn next(&mut self, run: &Run) -> Option<Step> {
        if let Some(&step) = self.steps.get(self.at) {
            self.at += 1;
            return Some(step);
        }
        if self.at == self.steps.len() {
            self.at += 1;
            if let Some(enabled) = self.enabled.as_deref_mut() {
                run.enabled_steps(enabled);
                if self.reduce {
                    run.keep_canonical(self.steps, enabled);
                }
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
    reduce: bool,
    shard: Shard,
    deadline: Option<&Deadline>,
    mut visit: impl FnMut(&[Step], &mut dyn Chooser, bool) -> ControlFlow<()>,
) -> ControlFlow<(), Reached> {
    let mut level = Prefixes::root();
    let mut split = false;
    let mut clock = 0;
    let mut depth = 0;
    while !level.is_empty() {
        let owned = take_share(&mut level, shard, &mut split);
        let mut next = Prefixes::empty(depth + 1);
        for (i, prefix) in level.iter().enumerate() {
            if depth > 0 && budget::spent(deadline, &mut clock) {
                return ControlFlow::Continue(Reached::cut(depth, i as u64, level.len() as u64));
            }
            expand(bounds, reduce, prefix, &mut next, |chooser| visit(prefix, chooser, owned))?;
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
pub(crate) fn take_share(level: &mut Prefixes, shard: Shard, split: &mut bool) -> bool {
    if shard.count <= 1 {
        return true;
    }
    if !*split && level.len() as u64 >= SPLIT_PER_SHARD as u64 * shard.count {
        *split = true;
        level.retain_indices(|i| (i as u64) % shard.count == shard.index - 1);
    }
    *split || shard.index == 1
}

/// Runs one prefix with `visit` and, unless it breaks, appends its children within
/// `bounds` (the steps the run found enabled at the prefix's end) to `children`.
/// Exploring level by level this way is what lets threads share a level.
pub(crate) fn expand(
    bounds: &Bounds,
    reduce: bool,
    prefix: &[Step],
    children: &mut Prefixes,
    visit: impl FnOnce(&mut dyn Chooser) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let grows = prefix.len() < bounds.depth;
    let mut enabled = std::mem::take(&mut children.enabled);
    let mut chooser = Prefix { steps: prefix, at: 0, reduce, enabled: grows.then_some(&mut enabled) };
    let flow = visit(&mut chooser);
    if flow.is_continue() && grows {
        let usage = Usage::of(prefix);
        for &step in &enabled {
            if usage.allows(bounds, step) {
                children.push_child(prefix, step);
            }
        }
    }
    enabled.clear();
    children.enabled = enabled;
    flow
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::judge::Judge;
    use crate::spec::scenario::Scenario;
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
        let _ = explore(bounds, true, shard, None, |prefix, chooser, owned| {
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
        // Two steps deep under miri: the second level is the first that is split.
        let bounds = Bounds { depth: if cfg!(miri) { 2 } else { 5 }, ..Bounds::default() };
        let whole = owned(&bounds, Shard::ALL);
        let set: BTreeSet<Vec<Step>> = whole.iter().cloned().collect();
        assert_eq!(set.len(), whole.len(), "the whole exploration runs each schedule once");
        // Under miri (a run costs milliseconds) fewer shardings of the same search.
        let counts: &[u64] = if cfg!(miri) { &[2] } else { &[2, 3, 7] };
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

    /// A notify-one primitive with the zoo notifier's bug: a waiter notified, then
    /// dropped before it is polled, keeps the notification as a permit without waking
    /// the next waiter. `buggy: false` hands it on.
    mod note {
        use std::cell::RefCell;
        use std::future::Future;
        use std::pin::Pin;
        use std::rc::Rc;
        use std::task::{Context, Poll, Waker};

        #[derive(Default)]
        pub(super) struct Note {
            permits: usize,
            waiting: Vec<(usize, Option<Waker>, bool)>,
            next: usize,
            buggy: bool,
        }

        pub(super) type Shared = Rc<RefCell<Note>>;

        pub(super) fn new(buggy: bool) -> Shared {
            Rc::new(RefCell::new(Note { buggy, ..Note::default() }))
        }

        pub(super) fn notify_one(note: &Shared) {
            let waker = {
                let mut n = note.borrow_mut();
                match n.waiting.iter_mut().find(|w| !w.2) {
                    Some(w) => {
                        w.2 = true;
                        w.1.take()
                    }
                    None => {
                        n.permits += 1;
                        None
                    }
                }
            };
            if let Some(w) = waker {
                w.wake();
            }
        }

        pub(super) struct Wait(pub(super) Shared, pub(super) Option<usize>, pub(super) bool);

        impl Future for Wait {
            type Output = ();
            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
                let this = &mut *self;
                let mut n = this.0.borrow_mut();
                if let Some(id) = this.1 {
                    let i = n.waiting.iter().position(|w| w.0 == id).unwrap();
                    if n.waiting[i].2 || n.permits > 0 {
                        if !n.waiting[i].2 {
                            n.permits -= 1;
                        }
                        n.waiting.remove(i);
                        this.2 = true;
                        return Poll::Ready(());
                    }
                    n.waiting[i].1 = Some(cx.waker().clone());
                    return Poll::Pending;
                }
                if n.permits > 0 {
                    n.permits -= 1;
                    this.2 = true;
                    return Poll::Ready(());
                }
                let id = n.next;
                n.next += 1;
                n.waiting.push((id, Some(cx.waker().clone()), false));
                this.1 = Some(id);
                Poll::Pending
            }
        }

        impl Drop for Wait {
            fn drop(&mut self) {
                let (Some(id), false) = (self.1, self.2) else { return };
                let (removed, buggy) = {
                    let mut n = self.0.borrow_mut();
                    let i = n.waiting.iter().position(|w| w.0 == id).unwrap();
                    (n.waiting.remove(i), n.buggy)
                };
                if removed.2 {
                    if buggy {
                        self.0.borrow_mut().permits += 1;
                    } else {
                        notify_one(&self.0);
                    }
                }
            }
        }
    }

    /// `n` interchangeable waiters on `note` and `steps` notifications.
    fn waiters(buggy: bool, n: usize, steps: usize) -> Scenario {
        let shared = note::new(buggy);
        let waiting = Rc::clone(&shared);
        let scenario = Scenario::new().tasks(n, move || note::Wait(Rc::clone(&waiting), None, false));
        (0..steps).fold(scenario, |s, _| {
            let note = Rc::clone(&shared);
            s.step(move || note::notify_one(&note))
        })
    }

    fn rename(step: Step, f: impl Fn(usize) -> usize) -> Step {
        match step {
            Step::Poll(t) => Step::Poll(f(t)),
            Step::SpuriousPoll(t) => Step::SpuriousPoll(f(t)),
            Step::NewWaker(t) => Step::NewWaker(f(t)),
            Step::Cancel(t) => Step::Cancel(f(t)),
            Step::Abandon(t) => Step::Abandon(f(t)),
            Step::Move(t) => Step::Move(f(t)),
            Step::PollInsideWake(t) => Step::PollInsideWake(f(t)),
            Step::DriverInsideClone(t) => Step::DriverInsideClone(f(t)),
            other => other,
        }
    }

    /// The renaming that numbers tasks (all of one group here) by first mention in
    /// `steps`, the others after them in index order, as `new[old]`.
    fn canonical_names(steps: &[Step], n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = Vec::new();
        for t in steps.iter().filter_map(|s| s.task()).chain(0..n) {
            if !order.contains(&t) {
                order.push(t);
            }
        }
        let mut new = vec![0; n];
        for (i, &t) in order.iter().enumerate() {
            new[t] = i;
        }
        new
    }

    /// A run's trace and violation (kind and task), both renamed canonically.
    type Verdict = (Vec<Step>, Option<(crate::detect::violation::ViolationKind, Option<usize>)>);

    fn canonical_verdict(outcome: crate::engine::Outcome, n: usize) -> Verdict {
        let names = canonical_names(&outcome.trace, n);
        let trace = outcome.trace.iter().map(|&s| rename(s, |t| names[t])).collect();
        let found = outcome.violation.map(|(v, _)| (v.kind(), v.task().map(|t| names[t])));
        (trace, found)
    }

    /// The reduction's two halves, schedule by schedule: every prefix of the full
    /// exploration, renamed canonically, is a prefix of the reduced one (and only those
    /// are), and runs as its renaming: the same trace and the same violation, renamed.
    #[test]
    fn a_renamed_schedule_runs_as_the_renamed_run_and_the_reduction_keeps_one_per_class() {
        // Under miri (a run costs milliseconds) two waiters, one notification, and
        // only the cancellation among the bounded actions, at the depth that finds the
        // bug ("p0 p1 d c0").
        let bounds = match cfg!(miri) {
            true => Bounds { depth: 4, spurious: 0, new_wakers: 0, abandons: 0, moves: 0, ..Bounds::default() },
            false => Bounds { depth: 6, ..Bounds::default() },
        };
        let (n, steps) = if cfg!(miri) { (2, 1) } else { (3, 2) };
        // Under miri the buggy flavor only: the fixed one is the same tree.
        for &buggy in if cfg!(miri) { &[true][..] } else { &[true, false][..] } {
            let factory = move || waiters(buggy, n, steps);
            let judge = Judge::new(&factory, 100, None);
            let mut full = Vec::new();
            let _ = explore(&bounds, false, Shard::ALL, None, |prefix, chooser, _| {
                let outcome = judge.run(chooser, false, false).unwrap();
                full.push((prefix.to_vec(), canonical_verdict(outcome, n)));
                ControlFlow::Continue(())
            });
            let mut reduced = std::collections::BTreeMap::new();
            let _ = explore(&bounds, true, Shard::ALL, None, |prefix, chooser, _| {
                let outcome = judge.run(chooser, false, false).unwrap();
                reduced.insert(prefix.to_vec(), canonical_verdict(outcome, n));
                ControlFlow::Continue(())
            });
            let classes: BTreeSet<Vec<Step>> = full
                .iter()
                .map(|(p, _)| {
                    let names = canonical_names(p, n);
                    p.iter().map(|&s| rename(s, |t| names[t])).collect()
                })
                .collect();
            assert_eq!(classes, reduced.keys().cloned().collect(), "the reduced phase runs one prefix per class");
            let mut violations = 0;
            for (prefix, verdict) in &full {
                let names = canonical_names(prefix, n);
                let canonical: Vec<Step> = prefix.iter().map(|&s| rename(s, |t| names[t])).collect();
                assert_eq!(&reduced[&canonical], verdict, "{prefix:?} runs as {canonical:?} renamed");
                violations += usize::from(verdict.1.is_some());
            }
            println!(
                "buggy: {buggy}: {} schedules, {} reduced, {violations} of them violate",
                full.len(),
                reduced.len()
            );
            // Up to n! fewer: more than 3 times for three waiters.
            let factor = if n == 3 { 3 } else { 1 };
            assert!(reduced.len() * factor < full.len(), "{} of {}", reduced.len(), full.len());
            if buggy {
                assert!(violations > 0 && violations < full.len(), "{violations} of {}", full.len());
            } else {
                assert_eq!(violations, 0);
            }
        }
    }
}
