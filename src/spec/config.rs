//! Configuration: exploration bounds, case counts and the seed, with every
//! `POLLCHECK_*` environment variable parsed here and nowhere else.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

/// Bounds of the systematic phase: every schedule within them is run.
///
/// Each field also bounds the random phase's use of that action, except `depth`
/// (see [`Config::random_depth`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// Most scheduled steps per schedule (`POLLCHECK_DEPTH`). Every schedule is
    /// completed by an honest drain, so this bounds only the adversarial prefix.
    ///
    /// The schedules grow exponentially with the depth: for a large scenario, a high
    /// depth with a time budget ([`Config::budget`],
    /// [`Checker::budget`](crate::Checker::budget)) replaces guessing the depth that
    /// fits, since the shortest schedules run first.
    pub depth: usize,
    /// Most spurious polls, `s` (`POLLCHECK_MAX_SPURIOUS`).
    pub spurious: usize,
    /// Most waker swaps, `w` (`POLLCHECK_MAX_NEW_WAKERS`).
    pub new_wakers: usize,
    /// Most cancellations, `c` (`POLLCHECK_MAX_CANCELS`).
    pub cancels: usize,
    /// Most abandoned tasks, `a` (`POLLCHECK_MAX_ABANDONS`).
    pub abandons: usize,
    /// Most moves of `Unpin` tasks, `m` (`POLLCHECK_MAX_MOVES`).
    pub moves: usize,
    /// Most re-entrant driver steps, `r` (`POLLCHECK_MAX_REENTRANT`). 0 by default:
    /// see [`Step::ReentrantDriver`](crate::Step::ReentrantDriver).
    pub reentrant: usize,
    /// Most polls inside a wake, `i` (`POLLCHECK_MAX_POLLS_INSIDE_WAKE`). 0 by
    /// default: see [`Step::PollInsideWake`](crate::Step::PollInsideWake).
    pub polls_inside_wake: usize,
    /// Most driver steps armed to run inside the drop of a retired waker, `u`
    /// (`POLLCHECK_MAX_REENTRANT_DROPS`). 0 by default: see
    /// [`Step::DriverInsideDrop`](crate::Step::DriverInsideDrop).
    pub reentrant_drops: usize,
    /// Most driver steps armed to run inside the next clone of a task's latest waker,
    /// `k` (`POLLCHECK_MAX_REENTRANT_CLONES`). 0 by default: see
    /// [`Step::DriverInsideClone`](crate::Step::DriverInsideClone).
    pub reentrant_clones: usize,
    /// Most short reads or writes of I/O probes, `b` (`POLLCHECK_MAX_SHORT_IO`). 2 by
    /// default: see [`Step::ShortIo`](crate::Step::ShortIo). It costs nothing in
    /// scenarios without I/O probes, where `b` is never enabled.
    pub short_io: usize,
}

/// An opt-in re-entrant mode, settable per check ([`Checker::mode`](crate::Checker::mode),
/// [`Bounds::with_mode`]), so one test file can run a scenario in every mode.
///
/// ```
/// use pollcheck::{Checker, Mode, Scenario};
///
/// for mode in Mode::ALL {
///     Checker::new(|| {
///         let (tx, rx) = futures_channel::oneshot::channel::<u32>();
///         Scenario::new().task(rx).step(move || drop(tx.send(1)))
///     })
///     .mode(mode)
///     .run();
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// No re-entrant action: the defaults.
    Default,
    /// `r`: a driver step inside the next wake ([`Bounds::reentrant`]).
    ReentrantWakes,
    /// `i`: a poll inside the next wake of the task's waker ([`Bounds::polls_inside_wake`]).
    PollsInsideWake,
    /// `u`: a driver step inside the next drop of a retired waker ([`Bounds::reentrant_drops`]).
    ReentrantDrops,
    /// `k`: a driver step inside the next clone of the task's waker
    /// ([`Bounds::reentrant_clones`]).
    ReentrantClones,
}

impl Mode {
    /// Every mode, the default first.
    pub const ALL: [Mode; 5] =
        [Mode::Default, Mode::ReentrantWakes, Mode::PollsInsideWake, Mode::ReentrantDrops, Mode::ReentrantClones];
}

impl Bounds {
    /// These bounds with `mode`'s action allowed once per schedule (`Mode::Default`
    /// changes nothing).
    #[must_use]
    pub fn with_mode(mut self, mode: Mode) -> Bounds {
        match mode {
            Mode::Default => {}
            Mode::ReentrantWakes => self.reentrant = self.reentrant.max(1),
            Mode::PollsInsideWake => self.polls_inside_wake = self.polls_inside_wake.max(1),
            Mode::ReentrantDrops => self.reentrant_drops = self.reentrant_drops.max(1),
            Mode::ReentrantClones => self.reentrant_clones = self.reentrant_clones.max(1),
        }
        self
    }
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            depth: if cfg!(miri) { 3 } else { 7 },
            spurious: 2,
            new_wakers: 1,
            cancels: 1,
            abandons: 1,
            moves: 1,
            reentrant: 0,
            polls_inside_wake: 0,
            reentrant_drops: 0,
            reentrant_clones: 0,
            short_io: 2,
        }
    }
}

/// Everything that shapes a run. `Config::default()` holds the built-in defaults;
/// [`Config::from_env`] applies the `POLLCHECK_*` environment variables on top (read
/// once per process), and the [`Checker`](crate::Checker) builder's setters override
/// both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Bounds of the systematic phase.
    pub bounds: Bounds,
    /// Random schedules run after the systematic phase (`POLLCHECK_CASES`).
    /// Small under miri.
    pub random_cases: u64,
    /// Most scheduled steps in a random schedule (`POLLCHECK_RANDOM_DEPTH`).
    pub random_depth: usize,
    /// Seed of the random phase (`POLLCHECK_SEED`, decimal or `0x` hex).
    pub seed: u64,
    /// Consecutive self-wake-and-`Pending` polls at quiescence before a task is
    /// reported as spinning, and `Pending` polls at quiescence of one task, with no
    /// task finishing or dropped and no item moved in between, before a group of tasks
    /// that keep waking each other is (`POLLCHECK_SPIN_BOUND`, 100 by default). It also
    /// bounds every drain: a run always ends. Raise it for tasks that legitimately take
    /// more turns than that with nothing left to happen (a `yield_now` loop, a relay).
    pub spin_bound: u32,
    /// A poll, driver step, waker call, drop or factory call that has not returned
    /// after this long is a [`Hang`](crate::ViolationKind::Hang) report
    /// (`POLLCHECK_POLL_TIMEOUT_MS`, 0 turns the watchdog off). 2 s by default: the
    /// slowest legitimate action of the whole test suite, real crates included, took
    /// 66 ms in a debug build on a 2-core machine at load average 9 (BENCHMARKS.md),
    /// so a hang fails a test within about 3 s and a slow machine has a 30x margin.
    /// Raise it for steps that sleep or do real work.
    ///
    /// Off under miri, where real time means nothing (miri reports a self-deadlock
    /// itself; a busy loop runs until the test is killed), and under loom.
    pub poll_timeout: Option<Duration>,
    /// Which part of the exploration this run takes (`POLLCHECK_SHARD=i/n`): see
    /// [`Shard`]. The whole exploration by default.
    pub shard: Shard,
    /// A time budget per check (`POLLCHECK_BUDGET_MS`, 0 or unset for none; none by
    /// default): the systematic phase, shortest schedules first, stops when it is
    /// spent, and the random phase gets what is left. See
    /// [`Checker::budget`](crate::Checker::budget); without a budget the clock is
    /// never read.
    ///
    /// ```
    /// use pollcheck::{Checker, Config, Scenario};
    /// use std::time::Duration;
    ///
    /// let config = Config { budget: Some(Duration::from_secs(30)), ..Config::default() };
    /// let summary = Checker::new(|| Scenario::new().task(std::future::ready(1))).config(config).run();
    /// assert!(!summary.stopped_by_budget());
    /// ```
    pub budget: Option<Duration>,
    /// Whether the systematic phase explores one schedule per renaming of the
    /// interchangeable tasks of [`Scenario::tasks`](crate::Scenario::tasks) (`true`,
    /// the default) or every schedule. Off only to measure or test the reduction.
    #[doc(hidden)]
    pub reduce_interchangeable: bool,
}

/// One of `count` disjoint parts of an exploration, numbered from 1; together the
/// parts run exactly the schedules of the whole (their verdicts may differ only in
/// which violation each finds first). For a CI matrix, one job per shard:
/// `POLLCHECK_SHARD=2/4 cargo test`, or `cargo nextest --partition` over many checks.
///
/// The systematic phase is split by subtree: every shard runs the first levels of
/// the search (they are small), only shard 1 counts and judges them, and from the
/// first level with at least 8 schedules per shard on, each shard takes every
/// `count`-th prefix and its whole subtree. Random case `k` belongs to shard
/// `k % count + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This part, from 1 to `count`.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl Shard {
    /// The whole exploration.
    pub const ALL: Shard = Shard { index: 1, count: 1 };

    /// Part `index` (from 1) of `count`, or `None` unless `1 <= index <= count`.
    ///
    /// ```
    /// use pollcheck::Shard;
    /// assert_eq!(Shard::new(2, 4), Some(Shard { index: 2, count: 4 }));
    /// assert_eq!(Shard::new(0, 4), None);
    /// ```
    pub fn new(index: u64, count: u64) -> Option<Shard> {
        (1..=count).contains(&index).then_some(Shard { index, count })
    }

    /// Whether random case `case` belongs to this shard.
    pub(crate) fn takes_case(self, case: u64) -> bool {
        case % self.count == self.index - 1
    }
}

impl Default for Shard {
    fn default() -> Self {
        Shard::ALL
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// See [`Config::poll_timeout`].
const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(2);

impl Default for Config {
    fn default() -> Self {
        Config {
            bounds: Bounds::default(),
            random_cases: if cfg!(miri) { 1 } else { 1000 },
            random_depth: 16,
            seed: 0x5eed,
            spin_bound: 100,
            poll_timeout: if cfg!(any(miri, loom)) { None } else { Some(DEFAULT_POLL_TIMEOUT) },
            shard: Shard::ALL,
            budget: None,
            reduce_interchangeable: true,
        }
    }
}

impl Config {
    /// The defaults with every `POLLCHECK_*` environment variable applied.
    ///
    /// The variables are read once per process, at the first call (as proptest reads
    /// its `PROPTEST_*` variables): every later call, and so every
    /// [`Checker`](crate::Checker), gets that same result, an invalid variable the
    /// same error. Setting a variable after the first check has no effect; reading
    /// the variables took more than half of a small check's time.
    ///
    /// ```
    /// let config = pollcheck::Config::from_env().expect("valid POLLCHECK_* variables");
    /// assert!(config.bounds.depth > 0);
    /// ```
    pub fn from_env() -> Result<Config, ConfigError> {
        static READ: OnceLock<Result<Config, ConfigError>> = OnceLock::new();
        READ.get_or_init(|| Config::from_lookup(|name| std::env::var(name).ok())).clone()
    }

    /// Like [`from_env`](Config::from_env) over any source of variables.
    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        let b = &mut c.bounds;
        let fields = [
            &mut b.depth,
            &mut b.spurious,
            &mut b.new_wakers,
            &mut b.cancels,
            &mut b.abandons,
            &mut b.moves,
            &mut b.reentrant,
            &mut b.polls_inside_wake,
            &mut b.reentrant_drops,
            &mut b.reentrant_clones,
            &mut b.short_io,
        ];
        for (slot, (_, var, _, low, high)) in fields.into_iter().zip(BOUND_RANGES) {
            read(&get, var, slot, low..=high)?;
        }
        read(&get, "POLLCHECK_CASES", &mut c.random_cases, 0..=u64::MAX)?;
        read(&get, "POLLCHECK_RANDOM_DEPTH", &mut c.random_depth, 1..=4096)?;
        read(&get, "POLLCHECK_SEED", &mut c.seed, 0..=u64::MAX)?;
        read(&get, "POLLCHECK_SPIN_BOUND", &mut c.spin_bound, 1..=1_000_000)?;
        let mut ms = c.poll_timeout.map_or(0, |d| d.as_millis() as u64);
        read(&get, "POLLCHECK_POLL_TIMEOUT_MS", &mut ms, 0..=u64::MAX)?;
        c.poll_timeout = (ms > 0).then(|| Duration::from_millis(ms));
        let mut ms = 0;
        read(&get, "POLLCHECK_BUDGET_MS", &mut ms, 0..=u64::MAX).map_err(|e| ConfigError {
            expected: "a whole number of milliseconds, decimal or 0x hex (0: no budget)".into(),
            ..e
        })?;
        c.budget = (ms > 0).then(|| Duration::from_millis(ms));
        if let Some(raw) = get("POLLCHECK_SHARD") {
            c.shard = parse_shard(&raw).ok_or_else(|| ConfigError {
                var: "POLLCHECK_SHARD",
                value: raw,
                expected: "i/n with 1 <= i <= n (shard i of n, e.g. 2/4)".into(),
            })?;
        }
        Ok(c)
    }
}

/// Each bound of [`Bounds`]: its name in errors, its variable, and the range both
/// the variable and the builder allow.
/// A bound's error name, variable, getter, and lowest and highest allowed value.
type BoundRange = (&'static str, &'static str, fn(&Bounds) -> usize, usize, usize);

const BOUND_RANGES: [BoundRange; 11] = [
    ("Bounds::depth", "POLLCHECK_DEPTH", |b| b.depth, 1, 64),
    ("Bounds::spurious", "POLLCHECK_MAX_SPURIOUS", |b| b.spurious, 0, 64),
    ("Bounds::new_wakers", "POLLCHECK_MAX_NEW_WAKERS", |b| b.new_wakers, 0, 64),
    ("Bounds::cancels", "POLLCHECK_MAX_CANCELS", |b| b.cancels, 0, 64),
    ("Bounds::abandons", "POLLCHECK_MAX_ABANDONS", |b| b.abandons, 0, 64),
    ("Bounds::moves", "POLLCHECK_MAX_MOVES", |b| b.moves, 0, 64),
    ("Bounds::reentrant", "POLLCHECK_MAX_REENTRANT", |b| b.reentrant, 0, 64),
    ("Bounds::polls_inside_wake", "POLLCHECK_MAX_POLLS_INSIDE_WAKE", |b| b.polls_inside_wake, 0, 64),
    ("Bounds::reentrant_drops", "POLLCHECK_MAX_REENTRANT_DROPS", |b| b.reentrant_drops, 0, 64),
    ("Bounds::reentrant_clones", "POLLCHECK_MAX_REENTRANT_CLONES", |b| b.reentrant_clones, 0, 64),
    ("Bounds::short_io", "POLLCHECK_MAX_SHORT_IO", |b| b.short_io, 0, 64),
];

/// What [`read`] says an integer variable allows.
fn allowed_text(low: impl fmt::Display, high: impl fmt::Display) -> String {
    format!("an integer from {low} to {high} (decimal or 0x hex)")
}

/// The error for a depth given to [`Checker::depth`](crate::Checker::depth) outside
/// what `POLLCHECK_DEPTH` allows.
pub(crate) fn check_depth(depth: usize) -> Result<(), ConfigError> {
    let (_, _, _, low, high) = BOUND_RANGES[0];
    if (low..=high).contains(&depth) {
        return Ok(());
    }
    Err(ConfigError { var: "Checker::depth", value: depth.to_string(), expected: allowed_text(low, high) })
}

/// Checks every bound against what its `POLLCHECK_*` variable allows; the error
/// names the field (`Bounds::depth`) and its range.
pub(crate) fn check_bounds(bounds: &Bounds) -> Result<(), ConfigError> {
    for (field, _, get, low, high) in BOUND_RANGES {
        let value = get(bounds);
        if !(low..=high).contains(&value) {
            return Err(ConfigError { var: field, value: value.to_string(), expected: allowed_text(low, high) });
        }
    }
    Ok(())
}

fn read<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    slot: &mut T,
    allowed: std::ops::RangeInclusive<T>,
) -> Result<(), ConfigError>
where
    T: TryFrom<u64> + PartialOrd + fmt::Display + Copy,
{
    let Some(raw) = get(var) else { return Ok(()) };
    let text = raw.trim();
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(&hex.replace('_', ""), 16),
        None => text.replace('_', "").parse::<u64>(),
    };
    let expected = allowed_text(allowed.start(), allowed.end());
    match parsed.ok().and_then(|v| T::try_from(v).ok()) {
        Some(v) if allowed.contains(&v) => {
            *slot = v;
            Ok(())
        }
        _ => Err(ConfigError { var, value: raw, expected }),
    }
}

fn parse_shard(text: &str) -> Option<Shard> {
    let (i, n) = text.trim().split_once('/')?;
    Shard::new(i.trim().parse().ok()?, n.trim().parse().ok()?)
}

/// An environment variable with a value pollcheck cannot use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub(crate) var: &'static str,
    pub(crate) value: String,
    pub(crate) expected: String,
}

impl ConfigError {
    /// The variable's name.
    pub fn var(&self) -> &str {
        self.var
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?} is not valid: expected {}", self.var, self.value, self.expected)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn variables_override_defaults() {
        let c = Config::from_lookup(env(&[
            ("POLLCHECK_SEED", "0x5EED"),
            ("POLLCHECK_CASES", "1_000"),
            ("POLLCHECK_DEPTH", "3"),
            ("POLLCHECK_POLL_TIMEOUT_MS", "0"),
        ]))
        .unwrap();
        assert_eq!(c.seed, 0x5eed);
        assert_eq!(c.random_cases, 1000);
        assert_eq!(c.bounds.depth, 3);
        assert_eq!(c.poll_timeout, None);
    }

    #[test]
    fn bad_values_name_the_variable_and_what_is_allowed() {
        let e = Config::from_lookup(env(&[("POLLCHECK_SEED", "abc")])).unwrap_err();
        assert_eq!(e.var(), "POLLCHECK_SEED");
        assert!(e.to_string().contains("\"abc\""), "{e}");
        let e = Config::from_lookup(env(&[("POLLCHECK_DEPTH", "0")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "POLLCHECK_DEPTH=\"0\" is not valid: expected an integer from 1 to 64 (decimal or 0x hex)"
        );
        let e = Config::from_lookup(env(&[("POLLCHECK_SPIN_BOUND", "-1")])).unwrap_err();
        assert_eq!(e.var(), "POLLCHECK_SPIN_BOUND");
        for bad in ["3/2", "0/2", "1", "a/b", "1/0"] {
            let e = Config::from_lookup(|name| (name == "POLLCHECK_SHARD").then(|| bad.to_owned())).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("POLLCHECK_SHARD={bad:?} is not valid: expected i/n with 1 <= i <= n (shard i of n, e.g. 2/4)")
            );
        }
        let c = Config::from_lookup(env(&[("POLLCHECK_SHARD", " 2 / 3 ")])).unwrap();
        assert_eq!(c.shard, Shard { index: 2, count: 3 });
    }

    #[test]
    fn the_budget_is_off_unless_asked_for() {
        assert_eq!(Config::from_lookup(env(&[])).unwrap().budget, None);
        let c = Config::from_lookup(env(&[("POLLCHECK_BUDGET_MS", "1_500")])).unwrap();
        assert_eq!(c.budget, Some(Duration::from_millis(1500)));
        let c = Config::from_lookup(env(&[("POLLCHECK_BUDGET_MS", "0")])).unwrap();
        assert_eq!(c.budget, None);
        for bad in ["500ms", "-1", "1.5", "", "lots"] {
            let e = Config::from_lookup(|name| (name == "POLLCHECK_BUDGET_MS").then(|| bad.to_owned())).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "POLLCHECK_BUDGET_MS={bad:?} is not valid: expected a whole number of milliseconds, decimal or \
                     0x hex (0: no budget)"
                )
            );
        }
    }

    #[test]
    fn every_bound_has_its_variable_and_range() {
        // The opt-in re-entrant actions are off unless asked for; short I/O is 2.
        let b = Config::from_lookup(env(&[])).unwrap().bounds;
        assert_eq!(
            (b.reentrant, b.polls_inside_wake, b.reentrant_drops, b.reentrant_clones, b.short_io),
            (0, 0, 0, 0, 2)
        );
        for (name, var, get, low, high) in BOUND_RANGES {
            let lookup = |value: String| move |n: &str| (n == var).then(|| value.clone());
            let c = Config::from_lookup(lookup(high.to_string())).unwrap();
            assert_eq!(get(&c.bounds), high, "{name}");
            let c = Config::from_lookup(lookup(format!("{low:#x}"))).unwrap();
            assert_eq!(get(&c.bounds), low, "{name}");
            let e = Config::from_lookup(lookup((high + 1).to_string())).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "{var}=\"{}\" is not valid: expected an integer from {low} to {high} (decimal or 0x hex)",
                    high + 1
                )
            );
            for bad in ["-1", "yes", ""] {
                assert_eq!(Config::from_lookup(lookup(bad.to_owned())).unwrap_err().var(), var);
            }
        }
    }
}
