//! Throughput of reading inspect_502Error.scap from memory.

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_main, Criterion, Throughput};
use osprey_scap::Reader;

fn read(c: &mut Criterion) {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures/inspect_502Error.scap"
    ));
    let bytes: Arc<[u8]> = match std::fs::read(path) {
        Ok(b) => b.into(),
        Err(e) => {
            eprintln!("SKIPPED: {} not available ({e})", path.display());
            return;
        }
    };
    let count = {
        let mut r = Reader::new(Cursor::new(bytes.clone())).expect("capture opens");
        let mut n = 0u64;
        while r.next_event().expect("capture reads").is_some() {
            n += 1;
        }
        n
    };
    let mut g = c.benchmark_group("scap");
    g.throughput(Throughput::Elements(count));
    g.bench_function("read_502Error", |b| {
        b.iter(|| {
            let mut r = Reader::new(Cursor::new(bytes.clone())).expect("capture opens");
            let mut sum = 0u64;
            while let Some(ev) = r.next_event().expect("capture reads") {
                sum = sum.wrapping_add(ev.ts());
            }
            sum
        });
    });
    g.finish();
}

/// The generated group function has no doc comment of its own.
mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::read);
}

criterion_main!(group::benches);
