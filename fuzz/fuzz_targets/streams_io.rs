//! Arbitrary schedules against the stream, sink and I/O paths: the zoo's stream, sink
//! and I/O primitives (each fixed flavor must pass; each buggy one may show only the
//! kind it is known for) and real combinators over stream, sink and I/O probes (they
//! must pass). Short reads and writes (`b`) are in the schedules' alphabet.
#![no_main]

mod common;

use common::buggy::{buffered_writer, fanout, lazy_stream, line_reader, lossy_sink, merge, stale_stream, Flavor};
use common::{config, split};
use futures_util::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use futures_util::StreamExt;
use libfuzzer_sys::fuzz_target;
use pollcheck::{Bounds, Config, Scenario, ViolationKind, ViolationKind::*};

/// A zoo entry: its scenario, the kinds its buggy flavor may show, and whether its
/// scenario needs cancels off (lossy_sink: a cancelled sender rightly strands the
/// receiver that must finish).
type Entry = (&'static str, fn(Flavor) -> Scenario, &'static [ViolationKind], bool);

const ZOO: &[Entry] = &[
    ("lazy_stream", lazy_stream::scenario, &[LostWakeup], false),
    ("stale_stream", stale_stream::scenario, &[StaleWaker], false),
    ("merge", merge::scenario, &[PollAfterReady], false),
    ("fanout", fanout::scenario, &[SinkProtocol], false),
    ("fanout::over_checked_senders", fanout::over_checked_senders, &[SinkProtocol], false),
    ("lossy_sink", lossy_sink::scenario, &[StuckTask], true),
    ("line_reader", line_reader::scenario, &[LostWakeup], false),
    ("buffered_writer", buffered_writer::scenario, &[LostWakeup], false),
];

/// Real combinators over probes: all correct.
const REAL: &[common::real::Named] = &[
    ("BufReader::lines over a reader probe", lines),
    ("write_all and close over a writer probe", write_all),
    ("forward into a sink probe", forward),
    ("a futures-channel receiver as a stream task", receiver_stream),
];

fn lines() -> Scenario {
    let (reader, h) = pollcheck::io::probe_reader();
    Scenario::new()
        .task(BufReader::new(reader).lines().map(|l| l.map_err(|e| e.kind())).collect::<Vec<_>>())
        .step(h.sends(b"one\ntw"))
        .step(h.sends(b"o\n"))
        .step(h.ends())
}

fn write_all() -> Scenario {
    let (mut writer, h) = pollcheck::io::probe_writer(3);
    Scenario::new()
        .task(async move {
            writer.write_all(b"hello").await.map_err(|e| e.kind())?;
            writer.close().await.map_err(|e| e.kind())
        })
        .step(h.drains(3))
        .step(h.drains(3))
}

fn forward() -> Scenario {
    let (sink, hk) = pollcheck::probe_sink::<u32>();
    let (items, hs) = pollcheck::probe_stream::<Result<u32, String>>();
    Scenario::new()
        .task(items.forward(sink))
        .step(hk.accepts(1))
        .step(hs.yields(Ok(1)))
        .step(hs.yields(Ok(2)))
        .step(hk.drains())
        .step(hk.accepts(1))
        .step(hs.ends())
        .step(hk.drains())
}

fn receiver_stream() -> Scenario {
    let (tx, rx) = futures_channel::mpsc::unbounded::<u32>();
    let tx = std::rc::Rc::new(tx);
    let tx2 = tx.clone();
    Scenario::new()
        .stream_task(rx)
        .step(move || {
            let _ = tx.unbounded_send(1);
        })
        .step(move || {
            let _ = tx2.unbounded_send(2);
            tx2.close_channel();
        })
}

fn config_for(no_cancels: bool) -> Config {
    let mut config = config();
    // No polls inside wakes (`i`): futures-channel's bounded sender wakes a parked
    // sender under that sender's mutex, and the nested poll locks it again, a hang
    // that is that mode's documented hazard, not a bug (README, "What the opt-in
    // modes flag"; this target found it again on `p0 i0 p1`).
    config.bounds = Bounds { short_io: 4, polls_inside_wake: 0, ..config.bounds };
    if no_cancels {
        config.bounds.cancels = 0;
    }
    config
}

fuzz_target!(|data: &[u8]| {
    let Some((which, schedule)) = split(data, 2 * ZOO.len() + REAL.len()) else { return };
    if let Some(&(name, scenario, kinds, no_cancels)) = ZOO.get(which / 2) {
        let config = config_for(no_cancels);
        let flavor = if which % 2 == 0 { Flavor::Fixed } else { Flavor::Buggy };
        match pollcheck::arbitrary::try_check_schedule_with(&config, &schedule, || scenario(flavor)) {
            Ok(()) => {}
            Err(report) if flavor == Flavor::Buggy && kinds.contains(&report.kind()) => {}
            Err(report) => panic!("the {flavor:?} {name} showed {}:\n{report}", report.kind()),
        }
        return;
    }
    let (name, scenario) = REAL[which - 2 * ZOO.len()];
    if let Err(report) = pollcheck::arbitrary::try_check_schedule_with(&config_for(false), &schedule, scenario) {
        panic!("false positive on the correct {name}:\n{report}");
    }
});
