//! Exploration on several threads. Schedules are independent (each runs on a fresh
//! scenario), so the prefixes of a systematic level, or the random cases, can run
//! anywhere; every thread builds its own scenarios with the shared factory.
//!
//! The calling thread explores, alone while the work is small; a level or a random
//! phase large enough to be worth it is shared with workers, started then and kept
//! until the check ends (each with its own judge, whose honest-twin cache lasts). The
//! threads take chunks of the level or of the cases as they go (see [`Split`]). The
//! verdict and the report are those of one thread: the first violation in exploration
//! order, with the same count of schedules before it.

mod pool;
mod split;

use std::ops::{ControlFlow, Range};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::explore::budget::{self, Deadline};
use crate::explore::finish::finish;
use crate::explore::judge::{Found, Judge};
use crate::explore::random;
use crate::explore::systematic::{self, Prefixes};
use crate::liveness::{self, Phase, Session};
use crate::report::summary::{Reached, Summary};
use crate::report::{FoundBy, Report};
use crate::spec::config::Config;
use crate::spec::scenario::Scenario;
use crate::sync::lock;

use pool::{Board, Pool};
use split::Split;

/// Explores with `threads` threads (at least 2).
pub(crate) fn explore<F: Fn() -> Scenario + Sync>(
    factory: &F,
    config: &Config,
    threads: usize,
    session: Option<&Arc<Session>>,
) -> Result<Summary, Report> {
    let board = Board::<Job>::default();
    // Runs of the workers' judges, added as each worker ends.
    let worker_runs = AtomicU64::new(0);
    let worker = || {
        liveness::watch(session, |watched| {
            let judge = Judge::new(factory, config.spin_bound, watched);
            let mut seen = 0;
            while let Some(job) = board.next(&mut seen) {
                job.help(&judge, config);
            }
            worker_runs.fetch_add(judge.runs(), Relaxed);
        });
    };
    // The scope joins the workers, so their runs are all counted after it.
    let verdict = thread::scope(|scope| {
        let mut pool = Pool::new(scope, &board, &worker, threads.saturating_sub(1));
        liveness::watch(session, |watched| {
            let judge = Judge::new(factory, config.spin_bound, watched);
            let mut summary = Summary::start(config.budget);
            let deadline = Deadline::after(config.budget).map(Arc::new);
            let found = systematic_phase(&judge, config, &mut pool, &mut summary, &deadline).or_else(|| {
                if summary.stopped_by_budget() {
                    return None;
                }
                random_phase(&judge, config, &mut pool, &mut summary, &deadline)
            });
            // The workers are done: let them end while the report is made.
            drop(pool);
            summary.runs = judge.runs();
            match found {
                None => Ok(summary),
                Some((found, by)) => Err(finish(&judge, found, by, config, true)),
            }
        })
    });
    verdict.map(|summary| Summary { runs: summary.runs + worker_runs.load(Relaxed), ..summary })
}

/// What the workers help with.
#[derive(Clone)]
enum Job {
    Level(Arc<Level>),
    Random(Arc<Cases>),
}

impl Job {
    fn help(&self, judge: &Judge<'_>, config: &Config) {
        match self {
            Job::Level(level) => level.split.help(|range| level.expand(judge, config, range)),
            Job::Random(cases) => cases.split.help(|range| cases.judge(judge, config, range)),
        }
    }

    fn split(&self) -> &Split {
        match self {
            Job::Level(level) => &level.split,
            Job::Random(cases) => &cases.split,
        }
    }

    /// Runs the job on `threads` threads (posting it to the workers if more than
    /// one), this one included, and waits until it is done.
    fn run(self, pool: &Pool<'_, '_, Job>, threads: usize, judge: &Judge<'_>, config: &Config) {
        if threads > 1 {
            pool.post(self.clone());
        }
        self.help(judge, config);
        self.split().wait();
    }
}

/// Chunk sizes, in prefixes and in random cases: a prefix runs in a microsecond or
/// so, and a chunk of a few dozen makes taking one cost nothing in comparison.
const PREFIX_CHUNK: Range<u64> = 4..65;
const CASE_CHUNK: Range<u64> = 8..257;

/// A chunk's outcome: the children of its prefixes, in order, or the first one that
/// fails (its index in the level) and its violation.
type Expanded = Result<Prefixes, (u64, Found)>;

/// One level of the systematic phase.
struct Level {
    prefixes: Prefixes,
    /// Whether the shard owns the level's schedules (see [`systematic::take_share`]).
    owned: bool,
    /// Schedules judged before the level.
    before: u64,
    split: Split,
    /// The finished chunks: each one's first prefix and outcome.
    chunks: Mutex<Vec<(u64, Expanded)>>,
    /// The check's deadline, if it has a budget.
    deadline: Option<Arc<Deadline>>,
    /// Whether the level (index at least 1) stops at the deadline.
    timed: bool,
    /// Prefixes run (by the chunks that found no violation), and whether a thread
    /// stopped at the deadline.
    ran: AtomicU64,
    stopped: AtomicBool,
}

impl Level {
    fn expand(&self, judge: &Judge<'_>, config: &Config, range: Range<u64>) {
        let start = range.start;
        let outcome = self.expand_prefixes(judge, config, range);
        lock(&self.chunks).push((start, outcome));
    }

    fn expand_prefixes(&self, judge: &Judge<'_>, config: &Config, range: Range<u64>) -> Expanded {
        let mut children = Prefixes::empty(self.prefixes.depth() + 1);
        let deadline = self.deadline.as_deref().filter(|_| self.timed);
        let (mut clock, mut ran) = (0, 0);
        for index in range {
            if index > self.split.lowest() {
                break;
            }
            if budget::spent(deadline, &mut clock) {
                self.stopped.store(true, Relaxed);
                break;
            }
            ran += 1;
            let prefix = self.prefixes.get(index as usize);
            judge.set_phase(Phase::Systematic(self.before + index + 1));
            let mut found = None;
            let _ =
                systematic::expand(&config.bounds, config.reduce_interchangeable, prefix, &mut children, |chooser| {
                    found = systematic::judge_prefix(judge, prefix, chooser, self.owned);
                    if found.is_some() {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
            if let Some(f) = found {
                self.split.fail(index);
                return Err((index, f));
            }
        }
        // Once per chunk: the threads share the counter.
        self.ran.fetch_add(ran, Relaxed);
        Ok(children)
    }

    /// The next level, in order, or the first failing prefix: chunks past it may be
    /// missing or cut short, but every one before it ran whole.
    fn outcome(&self) -> Expanded {
        let mut chunks = std::mem::take(&mut *lock(&self.chunks));
        chunks.sort_unstable_by_key(|(start, _)| *start);
        let mut next = Prefixes::empty(self.prefixes.depth() + 1);
        for (_, children) in chunks {
            next.append(children?);
        }
        Ok(next)
    }
}

fn systematic_phase(
    judge: &Judge<'_>,
    config: &Config,
    pool: &mut Pool<'_, '_, Job>,
    summary: &mut Summary,
    deadline: &Option<Arc<Deadline>>,
) -> Option<(Found, FoundBy)> {
    let mut prefixes = Prefixes::root();
    let mut split = false;
    let mut depth = 0;
    while !prefixes.is_empty() {
        let owned = systematic::take_share(&mut prefixes, config.shard, &mut split);
        let items = prefixes.len() as u64;
        let threads = pool.threads_for(items);
        let split = Split::new(items, threads, PREFIX_CHUNK);
        let level = Level {
            prefixes,
            owned,
            before: summary.systematic,
            split,
            chunks: Mutex::default(),
            deadline: deadline.clone(),
            timed: depth > 0,
            ran: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        };
        // Alone, the level is one chunk, run in place.
        let (outcome, ran, stopped) = if threads > 1 {
            let level = Arc::new(level);
            Job::Level(Arc::clone(&level)).run(pool, threads, judge, config);
            (level.outcome(), level.ran.load(Relaxed), level.stopped.load(Relaxed))
        } else {
            (level.expand_prefixes(judge, config, 0..items), level.ran.load(Relaxed), level.stopped.load(Relaxed))
        };
        match outcome {
            // The deadline stopped a thread before a prefix: the level is cut short,
            // and so is the phase.
            Ok(_) if stopped && ran < items => {
                if owned {
                    summary.systematic += ran;
                }
                summary.reached(Reached::cut(depth, ran, items));
                return None;
            }
            Ok(next) => {
                if owned {
                    summary.systematic += items;
                }
                prefixes = next;
                depth += 1;
            }
            Err((index, found)) => {
                summary.systematic += index + 1;
                return Some((found, FoundBy::Systematic { schedules: summary.systematic }));
            }
        }
    }
    summary.reached(Reached::whole(config.bounds.depth));
    None
}

/// The random phase's cases.
struct Cases {
    split: Split,
    /// Cases of the shard run so far.
    ran: AtomicU64,
    /// The lowest failing case seen so far, and its violation.
    found: Mutex<Option<(u64, Found)>>,
    /// The check's deadline, if it has a budget, and whether a thread stopped at it.
    deadline: Option<Arc<Deadline>>,
    stopped: AtomicBool,
}

impl Cases {
    fn judge(&self, judge: &Judge<'_>, config: &Config, range: Range<u64>) {
        let mut walk = random::RandomWalk::new(0, &config.bounds, config.random_depth);
        let mut ran = 0;
        let mut clock = 0;
        for case in range.filter(|&c| config.shard.takes_case(c)) {
            if case > self.split.lowest() {
                break;
            }
            if budget::spent(self.deadline.as_deref(), &mut clock) {
                self.stopped.store(true, Relaxed);
                break;
            }
            ran += 1;
            judge.set_phase(Phase::Random(case));
            walk.restart(random::case_seed(config.seed, case));
            if let Some(f) = judge.judge(&mut walk, true) {
                self.split.fail(case);
                let mut found = lock(&self.found);
                if found.as_ref().is_none_or(|&(lowest, _)| case < lowest) {
                    *found = Some((case, f));
                }
                break;
            }
        }
        self.ran.fetch_add(ran, Relaxed);
    }
}

fn random_phase(
    judge: &Judge<'_>,
    config: &Config,
    pool: &mut Pool<'_, '_, Job>,
    summary: &mut Summary,
    deadline: &Option<Arc<Deadline>>,
) -> Option<(Found, FoundBy)> {
    let (items, shards) = (config.random_cases, config.shard.count);
    let threads = pool.threads_for(items / shards);
    // A chunk holds about as many of the shard's cases however many shards there are.
    let chunk = CASE_CHUNK.start.saturating_mul(shards)..(CASE_CHUNK.end - 1).saturating_mul(shards).saturating_add(1);
    let cases = Arc::new(Cases {
        split: Split::new(items, threads, chunk),
        ran: AtomicU64::new(0),
        found: Mutex::default(),
        deadline: deadline.clone(),
        stopped: AtomicBool::new(false),
    });
    Job::Random(Arc::clone(&cases)).run(pool, threads, judge, config);
    summary.random += cases.ran.load(Relaxed);
    if cases.stopped.load(Relaxed) {
        summary.random_stopped();
    }
    let (case, found) = lock(&cases.found).take()?;
    Some((found, FoundBy::Random { case, seed: config.seed }))
}
