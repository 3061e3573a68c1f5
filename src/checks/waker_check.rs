//! `check_waker`: exercises a user-built `Waker` (a custom `RawWakerVTable`) and
//! checks its reference counting and wake semantics.

use std::any::Any;
use std::fmt;
use std::mem;
use std::task::Waker;

use crate::detect::violation::{Violation, ViolationKind};
use crate::engine::panic_capture;
use crate::report::Report;

/// A waker to check, with what lets the check see inside it.
///
/// - [`refs`](WakerUnderTest::refs): the number of references to the waker's data
///   right now (every `Waker` and clone owns one; the executor may own more). With it,
///   a `clone` that takes no reference or a `drop` that releases none fails the check
///   in a plain `cargo test`; without it only miri sees those bugs. Read it through a
///   `Weak` (`Weak::strong_count`), or a counter the vtable maintains, so that reading
///   it keeps nothing alive.
/// - [`wakes`](WakerUnderTest::wakes): how many times `wake` or `wake_by_ref` ran (count
///   in the vtable functions, before any deduplication), to check that wakes arrive.
/// - [`owner`](WakerUnderTest::owner): what the waker points into, e.g. the executor
///   or its task table. The check drops it while clones are alive and then uses them:
///   they must stay sound (a no-op wake is fine).
///
/// ```
/// use std::sync::{Arc, Weak};
/// use std::task::{Wake, Waker};
///
/// struct Task;
/// impl Wake for Task {
///     fn wake(self: Arc<Self>) {}
/// }
///
/// pollcheck::check_waker(|| {
///     let task = Arc::new(Task);
///     let weak: Weak<Task> = Arc::downgrade(&task);
///     pollcheck::WakerUnderTest::new(Waker::from(task)).refs(move || weak.strong_count())
/// });
/// ```
pub struct WakerUnderTest {
    waker: Option<Waker>,
    refs: Option<Box<dyn Fn() -> usize>>,
    wakes: Option<Box<dyn Fn() -> usize>>,
    owner: Option<Box<dyn Any>>,
}

impl WakerUnderTest {
    /// The waker to check.
    pub fn new(waker: Waker) -> Self {
        WakerUnderTest { waker: Some(waker), refs: None, wakes: None, owner: None }
    }

    /// How many references the waker's data has right now (see the type's docs).
    pub fn refs(mut self, refs: impl Fn() -> usize + 'static) -> Self {
        self.refs = Some(Box::new(refs));
        self
    }

    /// How many times `wake` or `wake_by_ref` ran so far.
    pub fn wakes(mut self, wakes: impl Fn() -> usize + 'static) -> Self {
        self.wakes = Some(Box::new(wakes));
        self
    }

    /// What the waker points into (the executor); dropped while wakers are alive.
    pub fn owner(mut self, owner: impl Any) -> Self {
        self.owner = Some(Box::new(owner));
        self
    }
}

impl fmt::Debug for WakerUnderTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WakerUnderTest")
            .field("waker", &self.waker)
            .field("refs", &self.refs.as_ref().map(|r| r()))
            .field("wakes", &self.wakes.as_ref().map(|w| w()))
            .field("owner", &self.owner.is_some())
            .finish()
    }
}

/// One check in progress.
struct Bench {
    parts: WakerUnderTest,
    steps: Vec<String>,
}

type Checked = Result<(), Violation>;

fn broken(detail: String) -> Violation {
    Violation::new(ViolationKind::BrokenWaker, None, detail)
}

impl Bench {
    fn waker(&self) -> &Waker {
        self.parts.waker.as_ref().expect("the waker under test is alive during a check")
    }

    fn refs(&self) -> Option<usize> {
        self.parts.refs.as_ref().map(|r| r())
    }

    fn wakes(&self) -> Option<usize> {
        self.parts.wakes.as_ref().map(|w| w())
    }

    fn note(&mut self, what: impl Into<String>) {
        self.steps.push(what.into());
    }

    /// `what` moved the count from `before` to `now`, `expected` was wanted.
    fn expect_refs(&mut self, what: &str, before: Option<usize>, expected: impl Fn(usize) -> usize) -> Checked {
        let (Some(before), Some(now)) = (before, self.refs()) else {
            self.note(what);
            return Ok(());
        };
        self.note(format!("{what}: refs {before} -> {now}"));
        let want = expected(before);
        if now == want {
            return Ok(());
        }
        let verdict = if now < want {
            "a waker now owns no reference: it points to data that can be freed under it (a use-after-free, \
             which miri reports)"
        } else {
            "a reference is never released (the waker's data leaks)"
        };
        Err(broken(format!("{what} moved the reference count from {before} to {now}, not {want}: {verdict}")))
    }

    fn expect_wake(&mut self, what: &str, before: Option<usize>) -> Checked {
        let (Some(before), Some(now)) = (before, self.wakes()) else {
            return Ok(());
        };
        if now == before + 1 {
            return Ok(());
        }
        Err(Violation::new(
            ViolationKind::LostWakeup,
            None,
            format!("{what} ran, but the wake count went from {before} to {now}, not {}", before + 1),
        ))
    }

    /// When a count says the main waker lost its reference, it must not be dropped.
    fn forget_waker(&mut self) {
        mem::forget(self.parts.waker.take());
    }
}

fn clone_and_drop(b: &mut Bench) -> Checked {
    let r0 = b.refs();
    let clone = b.waker().clone();
    if let Err(v) = b.expect_refs("clone", r0, |r| r + 1) {
        if b.refs() == r0 {
            // It owns nothing: dropping it would release someone else's reference.
            mem::forget(clone);
        }
        return Err(v);
    }
    let r1 = b.refs();
    drop(clone);
    b.expect_refs("drop the clone", r1, |r| r.saturating_sub(1))
}

fn wake_consumes(b: &mut Bench) -> Checked {
    let (r0, w0) = (b.refs(), b.wakes());
    b.waker().wake_by_ref();
    if let Err(v) = b.expect_refs("wake_by_ref", r0, |r| r) {
        if b.refs() < r0 {
            b.forget_waker();
        }
        return Err(v.with_detail_prefix("wake_by_ref must not consume the waker: "));
    }
    b.expect_wake("wake_by_ref", w0)?;
    let clone = b.waker().clone();
    let (r1, w1) = (b.refs(), b.wakes());
    clone.wake();
    if let Err(v) = b.expect_refs("wake a clone (by value)", r1, |r| r.saturating_sub(1)) {
        if b.refs() < r1.map(|r| r.saturating_sub(1)) {
            b.forget_waker();
        }
        return Err(v.with_detail_prefix("wake consumes the waker and must release its reference: "));
    }
    b.expect_wake("wake", w1)
}

fn will_wake_on_clones(b: &mut Bench) -> Checked {
    let clone = b.waker().clone();
    let grandchild = clone.clone();
    b.note("clone the waker, and clone the clone");
    // `will_wake` compares the data pointer and the vtable's address. The latter is
    // not reliable for a vtable built in a const context (std's own `Wake` wakers
    // compare unequal under miri), so only the data pointer is required to hold.
    let data = b.waker().data();
    let same = clone.data() == data && grandchild.data() == data;
    drop((clone, grandchild));
    if same {
        return Ok(());
    }
    Err(broken(
        "a clone of the waker has another data pointer, so will_wake is false between a waker and its clone: \
         combinators and executors that keep a waker (AtomicWaker, every leaf future that stores one) use \
         will_wake to skip re-cloning it, and re-clone on every poll instead"
            .into(),
    ))
}

fn many_clones_balance(b: &mut Bench) -> Checked {
    let n = if cfg!(miri) { 4 } else { 32 };
    let r0 = b.refs();
    let mut clones: Vec<Waker> = (0..n).map(|_| b.waker().clone()).collect();
    let grandchildren: Vec<Waker> = clones.iter().map(Waker::clone).collect();
    clones.extend(grandchildren);
    b.expect_refs(&format!("{n} clones and {n} clones of clones"), r0, |r| r + 2 * n)?;
    let r1 = b.refs();
    // Every other one dropped first, the rest in reverse.
    let mut kept = Vec::new();
    for (i, w) in clones.into_iter().enumerate() {
        if i % 2 == 0 {
            drop(w);
        } else {
            kept.push(w);
        }
    }
    while let Some(w) = kept.pop() {
        drop(w);
    }
    b.expect_refs(&format!("drop all {}", 2 * n), r1, |r| r.saturating_sub(2 * n))
}

fn other_threads(b: &mut Bench) -> Checked {
    let (r0, w0) = (b.refs(), b.wakes());
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let mine = b.waker().clone();
            std::thread::spawn(move || {
                let other = mine.clone();
                mine.wake_by_ref();
                other.wake();
                drop(mine);
            })
        })
        .collect();
    for t in threads {
        if let Err(p) = t.join() {
            let p = panic_capture::payload_text(&*p);
            return Err(Violation::new(
                ViolationKind::Panic,
                None,
                format!("the waker panicked on another thread: {p}"),
            ));
        }
    }
    b.expect_refs("two threads each clone a clone, wake_by_ref, wake one and drop the other", r0, |r| r)?;
    if let (Some(w0), Some(w1)) = (w0, b.wakes()) {
        if w1 != w0 + 4 {
            return Err(Violation::new(
                ViolationKind::LostWakeup,
                None,
                format!("4 wakes ran on other threads, but the wake count went from {w0} to {w1}"),
            ));
        }
    }
    Ok(())
}

fn outlives_owner(b: &mut Bench) -> Checked {
    let first = b.waker().clone();
    let second = b.waker().clone();
    let owner = b.parts.owner.take();
    let had_owner = owner.is_some();
    panic_capture::catch(move || drop(owner))
        .map_err(|p| Violation::new(ViolationKind::Panic, None, format!("dropping the owner panicked: {p}")))?;
    b.note(if had_owner {
        "keep two clones, then drop the owner (the executor)"
    } else {
        "keep two clones (no owner was given, so nothing else is dropped)"
    });
    let r0 = b.refs();
    if let Some(r) = r0.filter(|&r| r < 3) {
        // Whatever the wakers point to may be gone: touching them is undefined.
        mem::forget((first, second));
        b.forget_waker();
        return Err(broken(format!(
            "after the owner was dropped the reference count reads {r} while 3 wakers are alive: the owner \
             freed what the wakers point to"
        )));
    }
    first.wake_by_ref();
    let third = first.clone();
    let woke = std::thread::spawn(move || third.wake()).join();
    if let Err(p) = woke {
        let p = panic_capture::payload_text(&*p);
        return Err(Violation::new(
            ViolationKind::Panic,
            None,
            format!("a wake after the owner was dropped panicked: {p}"),
        ));
    }
    second.wake();
    drop(first);
    let main = b.parts.waker.take();
    drop(main);
    b.expect_refs("wake by ref, clone and wake on another thread, wake, drop everything", r0, |r| r.saturating_sub(3))
        .map_err(|v| v.with_detail_prefix("after the owner was gone: "))
}

type Check = fn(&mut Bench) -> Checked;

const CHECKS: [(&str, Check); 6] = [
    ("waker check: clone takes one reference, drop releases it", clone_and_drop),
    ("waker check: wake consumes, wake_by_ref does not", wake_consumes),
    ("waker check: will_wake on clones", will_wake_on_clones),
    ("waker check: many clones and drops balance", many_clones_balance),
    ("waker check: wakes and drops from other threads", other_threads),
    ("waker check: wakers outliving their executor", outlives_owner),
];

/// Checks a waker built by `factory` and panics with the [`Report`] of the first
/// failure. See [`try_check_waker`].
#[track_caller]
pub fn check_waker(factory: impl Fn() -> WakerUnderTest) {
    if let Err(report) = try_check_waker(factory) {
        panic!("{report}");
    }
}

/// Checks a user-built `Waker` (a custom `RawWakerVTable`), each check on a fresh
/// [`WakerUnderTest`] from `factory`; returns the [`Report`] of the first failure.
///
/// | check | fails with |
/// | --- | --- |
/// | `clone` takes one reference, dropping a clone releases one | [`BrokenWaker`](ViolationKind::BrokenWaker) |
/// | `wake_by_ref` keeps the count and wakes; `wake` releases one and wakes | `BrokenWaker`, [`LostWakeup`](ViolationKind::LostWakeup) when `wakes` does not move |
/// | `will_wake` holds between a waker, its clone and a clone of the clone: they share the data pointer (the vtable's address is not compared: it is not reliable for vtables built in a const context) | `BrokenWaker` |
/// | many clones, and clones of clones, dropped out of order, balance | `BrokenWaker` |
/// | two threads clone, wake, wake by ref and drop | `BrokenWaker`, `LostWakeup`, [`Panic`](ViolationKind::Panic) |
/// | after the owner (the executor) is dropped, clones are woken, cloned, woken on another thread and dropped | `BrokenWaker`, `Panic` |
///
/// Reference counts are compared only when [`WakerUnderTest::refs`] is given. Run the
/// same test under `cargo +nightly miri test`: there a refcount bug the counts do not
/// show (or a vtable with no `refs`) is a use-after-free, a double free or a leak, and
/// a non-atomic count touched from two threads is a data race, each a miri error that
/// names the line in your vtable.
///
/// A count that shows a waker owning no reference makes the check stop without
/// dropping that waker, so the failing test stays free of undefined behaviour.
#[track_caller]
pub fn try_check_waker(factory: impl Fn() -> WakerUnderTest) -> Result<(), Report> {
    for (name, check) in CHECKS {
        let parts = match panic_capture::catch(&factory) {
            Ok(p) => p,
            Err(p) => {
                let v = Violation::new(ViolationKind::Panic, None, format!("the waker factory panicked: {p}"));
                return Err(Report::from_check(v, &[], name));
            }
        };
        let mut bench = Bench { parts, steps: Vec::new() };
        let result = match panic_capture::catch(|| check(&mut bench)) {
            Ok(r) => r,
            Err(p) => Err(Violation::new(ViolationKind::Panic, None, format!("the waker panicked: {p}"))),
        };
        // The waker before its owner, then the owner, then the closures.
        let Bench { parts, steps } = bench;
        let WakerUnderTest { waker, refs, wakes, owner } = parts;
        let _ = panic_capture::catch(move || {
            drop(waker);
            drop(owner);
            drop((refs, wakes));
        });
        if let Err(v) = result {
            return Err(Report::from_check(v, &steps, name));
        }
    }
    Ok(())
}
