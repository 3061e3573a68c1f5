//! The countdown from the async-Rust literature: it returns `Pending` `n` times
//! before `Ready`. Correct only if it calls `wake_by_ref` before each `Pending`;
//! without it nothing ever polls it again (lost wakeup).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Flavor;
use pollcheck::Scenario;

pub struct Countdown {
    pub left: u32,
    pub flavor: Flavor,
}

impl Future for Countdown {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.left == 0 {
            return Poll::Ready("liftoff");
        }
        self.left -= 1;
        if !self.flavor.buggy() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

pub fn scenario(flavor: Flavor) -> Scenario {
    Scenario::new().task(Countdown { left: 3, flavor })
}
