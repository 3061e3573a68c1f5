//! Exploration on several threads. Schedules are independent (each runs on a fresh
//! scenario), so a level of the systematic phase, or a stripe of random cases, can
//! run anywhere; every thread builds its own scenarios with the shared factory. The
//! verdict is the same as on one thread: the first violation in exploration order.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;

use std::sync::Arc;

use crate::check::{finish, Summary};
use crate::config::Config;
use crate::explore::{random, systematic};
use crate::judge::{Found, Judge};
use crate::liveness::{self, Phase, Session};
use crate::report::{FoundBy, Report};
use crate::scenario::Scenario;
use crate::schedule::Step;

/// Explores with `threads` threads (at least 2).
pub(crate) fn explore<F: Fn() -> Scenario + Sync>(
    factory: &F,
    config: &Config,
    threads: usize,
    session: Option<&Arc<Session>>,
) -> Result<Summary, Report> {
    let mut summary = Summary { systematic: 0, random: 0, runs: 0 };
    let found = systematic_phase(factory, config, threads, session, &mut summary)
        .or_else(|| random_phase(factory, config, threads, session, &mut summary));
    summary.runs = summary.systematic + summary.random;
    match found {
        None => Ok(summary),
        Some((found, by)) => liveness::watch(session, |watched| {
            let judge = Judge::new(factory, config.spin_bound, watched);
            Err(finish(&judge, found, by, config, true))
        }),
    }
}

/// Runs `work` on one thread per item of `parts`, each with its own judge, and
/// returns the results in order. A panic in a worker (a bug in pollcheck: user
/// panics are caught inside) is passed on.
fn on_threads<P: Sync, R: Send, F: Fn() -> Scenario + Sync>(
    factory: &F,
    config: &Config,
    session: Option<&Arc<Session>>,
    parts: &[P],
    work: impl Fn(&Judge<'_>, &P) -> R + Sync,
) -> Vec<R> {
    if let [part] = parts {
        return vec![liveness::watch(session, |watched| work(&Judge::new(factory, config.spin_bound, watched), part))];
    }
    thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| {
                let work = &work;
                s.spawn(move || {
                    liveness::watch(session, |watched| work(&Judge::new(factory, config.spin_bound, watched), part))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

/// Levels with fewer prefixes than this run on one thread.
const SMALL_LEVEL: usize = 512;

fn systematic_phase<F: Fn() -> Scenario + Sync>(
    factory: &F,
    config: &Config,
    threads: usize,
    session: Option<&Arc<Session>>,
    summary: &mut Summary,
) -> Option<(Found, FoundBy)> {
    let mut level: Vec<Vec<Step>> = vec![Vec::new()];
    let mut split = false;
    while !level.is_empty() {
        let owned = systematic::take_share(&mut level, config.shard, &mut split);
        // A small level is not worth a thread each: run it as one chunk.
        let threads = if level.len() < SMALL_LEVEL { 1 } else { threads };
        let chunks: Vec<&[Vec<Step>]> = level.chunks(level.len().div_ceil(threads)).collect();
        let before = summary.systematic;
        let starts: Vec<u64> = (0..chunks.len()).map(|c| before + (c * chunks[0].len()) as u64).collect();
        let parts: Vec<(&[Vec<Step>], u64)> = chunks.iter().copied().zip(starts).collect();
        let results = on_threads(factory, config, session, &parts, |judge, &(chunk, start)| {
            let mut children = Vec::new();
            for (i, prefix) in chunk.iter().enumerate() {
                judge.set_phase(Phase::Systematic(start + i as u64 + 1));
                let mut found = None;
                let _ = systematic::expand(&config.bounds, prefix, &mut children, |chooser| {
                    if !owned {
                        // Run only to learn its children; its owner judges it.
                        let _ = judge.run(chooser, false, false);
                        return ControlFlow::Continue(());
                    }
                    let capture = prefix.iter().any(|s| matches!(s, Step::SpuriousPoll(_)));
                    found = judge.judge(chooser, capture);
                    if found.is_some() {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                if let Some(f) = found {
                    return Err((i, f));
                }
            }
            Ok(children)
        });
        let mut next = Vec::new();
        let mut offset = 0;
        for (chunk, result) in chunks.iter().zip(results) {
            match result {
                Ok(children) => next.extend(children),
                Err((i, f)) => {
                    summary.systematic += (offset + i + 1) as u64;
                    return Some((f, FoundBy::Systematic { schedules: summary.systematic }));
                }
            }
            offset += chunk.len();
        }
        if owned {
            summary.systematic += level.len() as u64;
        }
        level = next;
    }
    None
}

fn random_phase<F: Fn() -> Scenario + Sync>(
    factory: &F,
    config: &Config,
    threads: usize,
    session: Option<&Arc<Session>>,
    summary: &mut Summary,
) -> Option<(Found, FoundBy)> {
    // The lowest failing case wins, as on one thread; threads stop past it.
    let lowest = AtomicU64::new(u64::MAX);
    let stripes: Vec<u64> = (0..threads as u64).collect();
    let results = on_threads(factory, config, session, &stripes, |judge, &stripe| {
        let mut ran = 0;
        let mut case = stripe;
        let mut walk = random::RandomWalk::new(0, &config.bounds, config.random_depth);
        while case < config.random_cases && case < lowest.load(Relaxed) {
            if config.shard.takes_case(case) {
                ran += 1;
                judge.set_phase(Phase::Random(case));
                walk.restart(random::case_seed(config.seed, case));
                if let Some(f) = judge.judge(&mut walk, true) {
                    lowest.fetch_min(case, Relaxed);
                    return (ran, Some((case, f)));
                }
            }
            case += threads as u64;
        }
        (ran, None)
    });
    summary.random += results.iter().map(|(ran, _)| ran).sum::<u64>();
    let (case, found) = results.into_iter().filter_map(|(_, f)| f).min_by_key(|(case, _)| *case)?;
    Some((found, FoundBy::Random { case, seed: config.seed }))
}
