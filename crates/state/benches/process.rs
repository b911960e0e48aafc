//! Throughput of `State::process` over the events of inspect_502Error.scap,
//! decoded up front so only the state engine is measured.

use std::path::Path;

use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use osprey_event::EventRef;
use osprey_scap::Reader;
use osprey_state::State;

fn process(c: &mut Criterion) {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures/inspect_502Error.scap"
    ));
    let mut reader = match Reader::open(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("SKIPPED: {} not available ({e})", path.display());
            return;
        }
    };
    let mut loaded = State::new();
    loaded.load(reader.snapshot());
    let mut events: Vec<(Vec<u8>, u16, u32)> = Vec::new();
    while let Some(ev) = reader.next_event().expect("capture reads") {
        events.push((ev.raw().to_vec(), ev.cpu, ev.dump_flags));
    }
    let mut g = c.benchmark_group("state");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("process_502Error", |b| {
        b.iter_batched(
            || loaded.clone(),
            |mut st| {
                for (raw, cpu, flags) in &events {
                    let ev = EventRef::parse(raw, *cpu, *flags).expect("valid event");
                    st.process(&ev);
                }
                st.current().ts
            },
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

/// The generated group function has no doc comment of its own.
mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::process);
}

criterion_main!(group::benches);
