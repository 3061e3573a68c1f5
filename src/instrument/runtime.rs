//! Runtime checks: what a [`.checked()`](crate::FutureCheckExt::checked) future proves
//! when a real executor (tokio, smol, futures-executor, ...) polls it, outside
//! pollcheck's engine.
//!
//! Every poll gives the inner future a waker with its own identity (a fresh
//! [`PollWaker`]) that wraps the executor's waker, so every wake still reaches the
//! executor. Identities are what make the proofs possible:
//!
//! * **lost wakeup**: the inner future returned `Pending`, no wake of any of its
//!   identities happened during that poll, and no clone of any identity is alive: nothing
//!   can ever wake it. Checked at the end of every poll.
//! * **stale waker**: the latest poll returned `Pending` and dropped its waker unwoken,
//!   while a wake reached a waker from an earlier poll. Forwarding made this run work;
//!   under another executor, or once the task moves, it would hang. Checked at the start
//!   of the next poll and at drop.
//!
//! The identity rule: two per-poll wakers of the *same* executor waker are different
//! identities, so `will_wake` between them is `false` (they are distinct `Arc`s), and
//! `will_wake` between clones of one identity is `true`. A correct future that compares
//! with `will_wake` re-registers every poll; one that keeps an earlier waker is caught
//! whatever the executor hands out. The only reuse is of an identity that nobody but the
//! wrapper holds any more (`Arc::get_mut` succeeds): no one can compare with it, so
//! giving its allocation a new identity is invisible.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::detect::violation::ViolationKind;
use crate::engine::raised::raise;

type Site = &'static Location<'static>;

/// State shared by every identity of one checked future, woken from any thread.
#[derive(Debug, Default)]
struct Track {
    /// Wakes of any identity.
    wakes: AtomicU64,
    /// The highest identity woken so far (identities count polls from 1).
    woken_max: AtomicU64,
    /// The identity of the latest poll.
    latest: AtomicU64,
    /// Identities alive (`PollWaker`s not dropped), the wrapper's own included.
    alive: AtomicUsize,
    /// The first wake of an older identity while a later one was the latest.
    older: Mutex<Option<OlderWake>>,
}

#[derive(Clone, Copy, Debug)]
struct OlderWake {
    /// The latest identity when the wake came.
    epoch: u64,
    /// The identity woken, and where the poll that handed it out came from.
    id: u64,
    polled_at: Site,
}

impl Track {
    fn on_wake(&self, id: u64, polled_at: Site) {
        self.wakes.fetch_add(1, SeqCst);
        self.woken_max.fetch_max(id, SeqCst);
        let epoch = self.latest.load(SeqCst);
        if id < epoch {
            let mut older = crate::sync::lock(&self.older);
            if older.is_none_or(|o| o.epoch != epoch) {
                *older = Some(OlderWake { epoch, id, polled_at });
            }
        }
    }
}

/// The waker one poll hands the inner future: an identity that forwards to the
/// executor's waker.
#[derive(Debug)]
struct PollWaker {
    track: Arc<Track>,
    id: u64,
    polled_at: Site,
    executor: Waker,
}

impl PollWaker {
    fn new(track: &Arc<Track>, id: u64, polled_at: Site, executor: &Waker) -> Arc<PollWaker> {
        track.alive.fetch_add(1, SeqCst);
        Arc::new(PollWaker { track: Arc::clone(track), id, polled_at, executor: executor.clone() })
    }
}

impl Wake for PollWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Recorded before forwarding, so the poll the wake causes sees it.
        self.track.on_wake(self.id, self.polled_at);
        self.executor.wake_by_ref();
    }
}

impl Drop for PollWaker {
    fn drop(&mut self) {
        self.track.alive.fetch_sub(1, SeqCst);
    }
}

/// A small seeded generator (splitmix64) for the adversarial mode.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
}

/// The adversarial mode of [`Checked::spurious`](crate::Checked::spurious).
#[derive(Clone, Debug)]
pub(crate) struct Spurious {
    rng: Rng,
    /// Polls of the wrapper answered with a self-wake and `Pending`, inner not polled.
    pub(crate) yields: u64,
    /// Extra polls of the inner future with no wake since its `Pending`.
    pub(crate) extra_polls: u64,
}

impl Spurious {
    pub(crate) fn new(seed: u64) -> Self {
        Spurious { rng: Rng(seed), yields: 0, extra_polls: 0 }
    }
}

/// How often the adversarial mode acts: a yield before one wrapper poll in
/// `YIELD_ONE_IN`, an extra poll after one unwoken `Pending` in `EXTRA_POLL_ONE_IN`.
const YIELD_ONE_IN: u64 = 4;
const EXTRA_POLL_ONE_IN: u64 = 2;

/// The runtime state of one checked future.
#[derive(Debug, Default)]
pub(crate) struct Runtime {
    track: Arc<Track>,
    /// The latest identity; the wrapper's handle on it tells whether a clone is alive.
    latest: Option<Arc<PollWaker>>,
    /// Whether the latest poll returned `Pending`.
    latest_pending: bool,
    /// When the latest poll returned `Pending` and was not woken during it: the wake
    /// count at its end (unchanged at the next poll: that poll is spurious).
    unwoken_at: Option<u64>,
    /// Identities handed out so far (the next one is `polls + 1`).
    polls: u64,
}

impl Runtime {
    /// Polls `inner` with a fresh identity, after the stale-waker check of the previous
    /// poll, with the adversarial `spurious` mode's yields and extra polls if it is on.
    pub(crate) fn poll<F: Future>(
        &mut self,
        mut inner: Pin<&mut F>,
        cx: &mut Context<'_>,
        created_at: Site,
        polled_at: Site,
        mut spurious: Option<&mut Spurious>,
    ) -> Poll<F::Output> {
        if let Some(stale) = self.stale(created_at) {
            raise(ViolationKind::StaleWaker, stale);
        }
        if let Some(s) = spurious.as_deref_mut() {
            if s.rng.one_in(YIELD_ONE_IN) {
                s.yields += 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        let unwoken = self.unwoken_since_pending();
        let (poll, woken) = self.poll_judged(inner.as_mut(), cx, created_at, polled_at, unwoken);
        let extra = poll.is_pending()
            && !woken
            && spurious.is_some_and(|s| {
                let extra = s.rng.one_in(EXTRA_POLL_ONE_IN);
                s.extra_polls += u64::from(extra);
                extra
            });
        if !extra {
            return poll;
        }
        let unwoken = self.unwoken_since_pending();
        self.poll_judged(inner, cx, created_at, polled_at, unwoken).0
    }

    /// The latest poll, if it returned `Pending` and no wake reached the future since:
    /// the next poll is then a spurious one.
    fn unwoken_since_pending(&self) -> Option<(u64, Site)> {
        let at = self.unwoken_at?;
        let latest = self.latest.as_ref()?;
        (self.track.wakes.load(SeqCst) == at).then_some((latest.id, latest.polled_at))
    }

    /// [`poll_once`](Self::poll_once); when no wake preceded it (`unwoken` names the
    /// `Pending` poll before), a panic is spurious-poll intolerance.
    fn poll_judged<F: Future>(
        &mut self,
        inner: Pin<&mut F>,
        cx: &mut Context<'_>,
        created_at: Site,
        polled_at: Site,
        unwoken: Option<(u64, Site)>,
    ) -> (Poll<F::Output>, bool) {
        let Some((before, before_at)) = unwoken else {
            return self.poll_once(inner, cx, created_at, polled_at);
        };
        match crate::engine::panic_capture::catch(|| self.poll_once(inner, cx, created_at, polled_at)) {
            Ok(result) => result,
            Err(panic) => {
                if let Some((kind, detail)) = crate::engine::raised::take() {
                    // pollcheck's own verdict on this poll: keep it as it is.
                    raise(kind, detail);
                }
                raise(
                    ViolationKind::SpuriousPoll,
                    format!(
                        "the future created at {created_at} returned Pending to poll #{before} (from {before_at}) \
                         and was not woken since; polled again (poll #{}, from {polled_at}: an executor may poll \
                         at any time) it panicked: {panic}",
                        before + 1
                    ),
                )
            }
        }
    }

    /// One poll of `inner` with a new identity; the lost-wakeup proof on `Pending`.
    /// Returns the poll and whether any identity was woken during it.
    fn poll_once<F: Future>(
        &mut self,
        inner: Pin<&mut F>,
        cx: &mut Context<'_>,
        created_at: Site,
        polled_at: Site,
    ) -> (Poll<F::Output>, bool) {
        self.polls += 1;
        let id = self.polls;
        self.track.latest.store(id, SeqCst);
        let mut identity = match self.latest.take() {
            // Nobody else holds the previous identity: reuse its allocation.
            Some(mut old) => match Arc::get_mut(&mut old) {
                Some(w) => {
                    w.id = id;
                    w.polled_at = polled_at;
                    if !w.executor.will_wake(cx.waker()) {
                        w.executor.clone_from(cx.waker());
                    }
                    old
                }
                None => {
                    drop(old);
                    PollWaker::new(&self.track, id, polled_at, cx.waker())
                }
            },
            None => PollWaker::new(&self.track, id, polled_at, cx.waker()),
        };
        let wakes_before = self.track.wakes.load(SeqCst);
        self.latest_pending = false;
        self.unwoken_at = None;
        let waker = Waker::from(Arc::clone(&identity));
        let poll = inner.poll(&mut Context::from_waker(&waker));
        drop(waker);
        // Clones first: `get_mut` acquires the count that a clone's drop released, so a
        // wake made before that drop (from any thread) shows in the counters read after.
        let unique = Arc::get_mut(&mut identity).is_some();
        let alive = self.track.alive.load(SeqCst);
        let wakes = self.track.wakes.load(SeqCst);
        let woken = wakes != wakes_before;
        self.latest = Some(identity);
        if poll.is_pending() {
            self.latest_pending = true;
            self.unwoken_at = (!woken).then_some(wakes);
            if unique && alive == 1 && !woken {
                raise(
                    ViolationKind::LostWakeup,
                    format!(
                        "the future created at {created_at} returned Pending to poll #{id} (from {polled_at}), \
                         was not woken during that poll and kept no clone of any waker it was given: nothing \
                         can ever wake it, so its task would hang"
                    ),
                );
            }
        }
        (poll, woken)
    }

    /// The stale-waker proof about the latest poll: it returned `Pending` and its waker
    /// is gone unwoken, while a wake reached a waker from an earlier poll.
    ///
    /// A latest waker that is still held proves nothing: a wake of an older one may be a
    /// late wake for something already consumed (from another thread), and the latest
    /// one may still be woken.
    fn stale(&mut self, created_at: Site) -> Option<String> {
        if !self.latest_pending {
            return None;
        }
        let latest = self.latest.as_mut()?;
        // Clones first (see `poll_once`): a latest waker still held may yet be woken.
        Arc::get_mut(latest)?;
        let (n, latest_at) = (latest.id, latest.polled_at);
        if self.track.woken_max.load(SeqCst) >= n {
            return None;
        }
        let older = (*crate::sync::lock(&self.track.older)).filter(|o| o.epoch == n)?;
        // Reported once.
        self.latest_pending = false;
        Some(format!(
            "the future created at {created_at} returned Pending to poll #{n} (from {latest_at}) and dropped \
             that poll's waker unwoken; a wake reached only the waker of the earlier poll #{} (from {}). \
             Forwarding to the executor's waker made this run work; under another executor, or once the task \
             moves, nothing would wake it",
            older.id, older.polled_at
        ))
    }

    /// At drop: the stale-waker proof, once more (never while unwinding).
    pub(crate) fn at_drop(&mut self, created_at: Site) {
        if std::thread::panicking() {
            return;
        }
        if let Some(stale) = self.stale(created_at) {
            raise(ViolationKind::StaleWaker, stale);
        }
    }
}
