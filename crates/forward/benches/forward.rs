//! Throughput of the forwarders: `submit` → durable disk queue, and end-to-end delivery
//! to a local webhook. Run: `cargo bench -p osprey-forward --bench forward`.
#![allow(missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use osprey_forward::{Alert, Config, Forwarders};

fn alert(seq: u64) -> Arc<Alert> {
    let json = format!(
        r#"{{"hostname":"node-1","output":"06:56:56.123456789: Warning Shell spawned in a container (user=root shell=bash parent=runc cmdline=bash -i seq={seq})","output_fields":{{"container.id":"0123456789ab","container.name":"web","evt.time":1795762616123456789,"proc.cmdline":"bash -i","proc.name":"bash","proc.pname":"runc","seq":{seq},"user.name":"root"}},"priority":"Warning","rule":"Terminal shell in container","source":"syscall","tags":["container","mitre_execution","shell"],"time":"2026-11-27T06:56:56.123456789Z"}}"#
    );
    Arc::new(Alert::from_json(json.as_bytes()).expect("valid alert"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn forwarders(dir: &std::path::Path, url: &str) -> Forwarders {
    let yaml = format!(
        "queue:\n  dir: {}\n  maxqueued: 1000000\n  retryinitialms: 1000\n  batchsize: 500\nwebhook:\n  address: {url}\n",
        dir.display()
    );
    Forwarders::from_config(&Config::from_yaml(&yaml).expect("config")).expect("forwarders")
}

async fn wait(f: &Forwarders, done: impl Fn(&osprey_forward::OutputStats) -> bool) {
    loop {
        if f.stats().iter().all(&done) {
            return;
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("forward");
    g.sample_size(10);

    // submit → queue: the destination is down, so alerts only reach the disk queue.
    const QUEUED: u64 = 8000;
    let alerts: Vec<Arc<Alert>> = (0..QUEUED).map(alert).collect();
    g.throughput(Throughput::Elements(QUEUED));
    g.bench_function("submit_to_disk_queue", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let f = forwarders(dir.path(), &format!("http://127.0.0.1:{}/", free_port()));
                    let t = Instant::now();
                    for a in &alerts {
                        f.submit(a.clone());
                    }
                    wait(&f, |s| s.queued + s.dropped == QUEUED).await;
                    total += t.elapsed();
                    assert_eq!(f.stats()[0].dropped, 0, "hand-off overflowed");
                    f.shutdown().await;
                }
                total
            })
        });
    });

    // submit → delivered to a local webhook (one POST per alert, as sidekick).
    const DELIVERED: u64 = 2000;
    let alerts: Vec<Arc<Alert>> = (0..DELIVERED).map(alert).collect();
    let hits = Arc::new(AtomicU64::new(0));
    let port = free_port();
    {
        let hits = hits.clone();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
            .expect("bind");
        let app = axum::Router::new().fallback(move || {
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::Relaxed);
                ""
            }
        });
        rt.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }
    g.throughput(Throughput::Elements(DELIVERED));
    g.bench_function("submit_to_webhook_delivery", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let f = forwarders(dir.path(), &format!("http://127.0.0.1:{port}/"));
                    let t = Instant::now();
                    for a in &alerts {
                        f.submit(a.clone());
                    }
                    wait(&f, |s| s.sent == DELIVERED).await;
                    total += t.elapsed();
                    f.shutdown().await;
                }
                total
            })
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
