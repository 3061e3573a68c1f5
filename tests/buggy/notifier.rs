//! A multi-waiter notifier (`notify_one` wakes one waiter or stores a permit). Bug:
//! a waiter that was notified but is dropped before it is polled puts the permit
//! back without waking the next waiter, so the notification meant for the other
//! waiter is swallowed (lost wakeup: the other waiter could finish but is never woken).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::{swap_waker, wake, Flavor};
use pollcheck::Scenario;

struct Waiter {
    id: usize,
    waker: Option<Waker>,
    notified: bool,
}

#[derive(Default)]
struct State {
    permits: usize,
    waiters: Vec<Waiter>,
    next_id: usize,
}

#[derive(Clone)]
pub struct Notify {
    state: Rc<RefCell<State>>,
    flavor: Flavor,
    /// Whether a registered waiter also takes a stored permit (this notifier), or
    /// only its own notification (the relay notifier's, `super::relay_notifier`).
    registered_take_permits: bool,
}

pub struct Notified {
    notify: Notify,
    id: Option<usize>,
    done: bool,
}

impl Notify {
    pub fn new(flavor: Flavor) -> Self {
        Notify { state: Rc::default(), flavor, registered_take_permits: true }
    }

    /// A notifier whose registered waiters look only at their own notification: a
    /// stored permit is only for a waiter's first poll.
    pub fn own_notification_only(flavor: Flavor) -> Self {
        Notify { registered_take_permits: false, ..Notify::new(flavor) }
    }

    pub fn notified(&self) -> Notified {
        Notified { notify: self.clone(), id: None, done: false }
    }

    /// Notifies the first waiter not notified yet, or stores a permit for a future
    /// waiter's first poll.
    pub fn notify_one(&self) {
        let waker = {
            let mut s = self.state.borrow_mut();
            match s.waiters.iter_mut().find(|w| !w.notified) {
                Some(w) => {
                    w.notified = true;
                    w.waker.take()
                }
                None => {
                    s.permits += 1;
                    None
                }
            }
        };
        wake(waker);
    }
}

impl Future for Notified {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut guard = this.notify.state.borrow_mut();
        let s = &mut *guard;
        if let Some(id) = this.id {
            let i = s.waiters.iter().position(|w| w.id == id).expect("registered");
            if s.waiters[i].notified || (this.notify.registered_take_permits && s.permits > 0) {
                if !s.waiters[i].notified {
                    s.permits -= 1;
                }
                s.waiters.remove(i);
                this.done = true;
                return Poll::Ready(());
            }
            let old = swap_waker(&mut s.waiters[i].waker, cx.waker());
            drop(guard);
            drop(old);
            return Poll::Pending;
        }
        if s.permits > 0 {
            s.permits -= 1;
            this.done = true;
            return Poll::Ready(());
        }
        let id = s.next_id;
        s.next_id += 1;
        s.waiters.push(Waiter { id, waker: Some(cx.waker().clone()), notified: false });
        this.id = Some(id);
        Poll::Pending
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        let (Some(id), false) = (self.id, self.done) else { return };
        let removed = {
            let mut s = self.notify.state.borrow_mut();
            let i = s.waiters.iter().position(|w| w.id == id).expect("registered");
            s.waiters.remove(i)
        };
        if removed.notified {
            if self.notify.flavor.buggy() {
                // Keeps the notification as a permit but tells nobody (and the relay
                // notifier's registered waiters never look at permits).
                self.notify.state.borrow_mut().permits += 1;
            } else {
                self.notify.notify_one();
            }
        }
        drop(removed);
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    let notify = Notify::new(flavor);
    Scenario::new().task(notify.notified()).task(notify.notified()).step(move || notify.notify_one())
}
