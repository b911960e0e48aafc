//! Evaluation throughput of a typical filter on a toy extractor.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use osprey_event::ParamType;
use osprey_filter::{Extract, FieldArg, FieldCatalog, FieldError, FieldRef, Filter, Values};

struct Catalog;

impl FieldCatalog for Catalog {
    fn resolve(&self, name: &str, arg: FieldArg) -> Result<FieldRef, FieldError> {
        let (id, ty) = match name {
            "proc.name" => (0, ParamType::CharBuf),
            "fd.name" => (1, ParamType::FsPath),
            _ => return Err(FieldError::Unknown(name.to_string())),
        };
        Ok(FieldRef {
            id,
            arg,
            ty,
            name: name.into(),
        })
    }
}

struct Event {
    proc_name: &'static [u8],
    fd_name: &'static [u8],
}

impl Extract for Event {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        out.push_bytes(if field.id == 0 {
            self.proc_name
        } else {
            self.fd_name
        });
        true
    }
}

fn bench(c: &mut Criterion) {
    let f = Filter::compile("proc.name=nginx and fd.name contains /etc", &Catalog)
        .expect("valid filter");
    let events = [
        Event {
            proc_name: b"nginx",
            fd_name: b"/etc/nginx/nginx.conf",
        },
        Event {
            proc_name: b"nginx",
            fd_name: b"/var/log/nginx/access.log",
        },
        Event {
            proc_name: b"bash",
            fd_name: b"/etc/passwd",
        },
    ];
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("eval_typical", |b| {
        b.iter(|| {
            let mut n = 0;
            for e in &events {
                n += usize::from(f.matches(black_box(e)));
            }
            n
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
