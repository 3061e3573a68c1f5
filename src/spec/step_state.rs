//! State that several driver steps share, owned by the scenario.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

/// A value several driver steps share, without `Rc<RefCell<Option<T>>>`: each step
/// borrows it for as long as it runs, and a step that consumes it takes it.
///
/// A step run *inside* a waker call of another step (the opt-in re-entrant actions
/// `r`, `u`, `k`) can find the state still lent out to the outer step: it then fails
/// with a report that names both steps, instead of a `BorrowMutError`.
///
/// ```
/// use pollcheck::{Scenario, StepState};
///
/// pollcheck::check(|| {
///     let (tx, rx) = futures_channel::mpsc::unbounded::<u32>();
///     let tx = StepState::new(tx);
///     Scenario::new()
///         .task(futures_util::StreamExt::collect::<Vec<u32>>(rx))
///         .step(tx.step(|tx| drop(tx.unbounded_send(1))))
///         .step(tx.step(|tx| drop(tx.unbounded_send(2))))
///         .step(tx.take_step(drop)) // the last step closes the channel
/// });
/// ```
pub struct StepState<T> {
    inner: Rc<Inner<T>>,
}

struct Inner<T> {
    value: RefCell<Option<T>>,
    made_at: &'static Location<'static>,
    /// The step borrowing it now, and where that step was made.
    lent_to: Cell<Option<&'static Location<'static>>>,
    /// Where it was taken.
    taken_at: Cell<Option<&'static Location<'static>>>,
}

impl<T: 'static> StepState<T> {
    /// Shares `value` between the steps made from it.
    #[track_caller]
    pub fn new(value: T) -> Self {
        let inner = Inner {
            value: RefCell::new(Some(value)),
            made_at: Location::caller(),
            lent_to: Cell::new(None),
            taken_at: Cell::new(None),
        };
        StepState { inner: Rc::new(inner) }
    }

    /// A driver step that runs `f` with the state lent to it.
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn step(&self, f: impl FnOnce(&mut T) + 'static) -> impl FnOnce() + 'static {
        let (state, at) = (self.clone(), Location::caller());
        move || state.with_at(at, f)
    }

    /// A driver step that takes the state and runs `f` with it (a sender dropped to
    /// close a channel); later steps find it gone.
    #[track_caller]
    #[must_use = "a driver step does nothing until it is given to `Scenario::step` (or called)"]
    pub fn take_step(&self, f: impl FnOnce(T) + 'static) -> impl FnOnce() + 'static {
        let (state, at) = (self.clone(), Location::caller());
        move || {
            let value = state.lend(at, |slot| slot.take());
            state.inner.taken_at.set(Some(at));
            f(value.expect("checked by lend"));
        }
    }

    /// Runs `f` with the state lent to it, from anywhere (a task, a step).
    ///
    /// # Panics
    /// If it is lent out already (to a step further up this thread's stack) or was
    /// taken; the message names the steps.
    #[track_caller]
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.with_at(Location::caller(), f)
    }

    fn with_at<R>(&self, at: &'static Location<'static>, f: impl FnOnce(&mut T) -> R) -> R {
        self.lend(at, |slot| f(slot.as_mut().expect("checked by lend")))
    }

    fn lend<R>(&self, at: &'static Location<'static>, f: impl FnOnce(&mut Option<T>) -> R) -> R {
        let inner = &self.inner;
        let Ok(mut slot) = inner.value.try_borrow_mut() else {
            let holder =
                inner.lent_to.get().map_or_else(|| "another borrower".to_owned(), |l| format!("the step made at {l}"));
            panic!(
                "the StepState made at {} is lent out to {holder}, which is still running: the step made at {at} \
                 runs inside it (inside a waker call, under the opt-in re-entrant actions r, u or k) and finds \
                 the state busy, as another thread would have to wait for it",
                inner.made_at
            );
        };
        if slot.is_none() {
            let taken = inner.taken_at.get().map_or_else(String::new, |l| format!(" by the step made at {l}"));
            panic!("the StepState made at {} was taken{taken}; the step made at {at} runs after it", inner.made_at);
        }
        /// Clears who holds it, even if `f` unwinds.
        struct Lent<'a>(&'a Cell<Option<&'static Location<'static>>>, Option<&'static Location<'static>>);
        impl Drop for Lent<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _lent = Lent(&inner.lent_to, inner.lent_to.replace(Some(at)));
        f(&mut slot)
    }
}

impl<T> Clone for StepState<T> {
    fn clone(&self) -> Self {
        StepState { inner: Rc::clone(&self.inner) }
    }
}

impl<T> fmt::Debug for StepState<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepState")
            .field("made_at", &self.inner.made_at.to_string())
            .field("lent_to", &self.inner.lent_to.get().map(|l| l.to_string()))
            .finish()
    }
}
