//! HTTP outputs against a local recording receiver (webhook, Slack, Loki, Elasticsearch)
//! and a real Prometheus Alertmanager; outages, restarts and the queue bound.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use osprey_forward::{Config, Forwarders};
use serde_json::Value;

fn forwarders(yaml: &str) -> Forwarders {
    Forwarders::from_config(&Config::from_yaml(yaml).expect("config")).expect("forwarders")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_posts_falco_json_with_custom_headers() {
    let (_d, dir) = tempdir();
    let rx = Receiver::start().await;
    let f = forwarders(&format!(
        "{}webhook:\n  address: {}\n  customheaders: {{X-Token: s3cret}}\n",
        queue_yaml(&dir),
        rx.url("/hook")
    ));
    submit_range(&f, 0..20);
    wait_for(20, "20 webhook posts", || stats(&f, "webhook").sent == 20).await;
    let hits = rx.hits();
    assert_eq!(hits.len(), 20);
    for (i, h) in hits.iter().enumerate() {
        assert_eq!(h.method, "POST");
        assert_eq!(h.path, "/hook");
        assert_eq!(h.headers["x-token"], "s3cret");
        assert_eq!(h.headers["content-type"], "application/json");
        assert_eq!(
            h.body.as_ref(),
            alert(i as u64, "Warning", "Test shell").to_json()
        );
    }
    let s = stats(&f, "webhook");
    assert_eq!(
        (s.destination, s.sent, s.errors, s.dropped),
        ("webhook", 20, 0, 0)
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_rejections_are_counted_and_do_not_block() {
    let (_d, dir) = tempdir();
    let rx = Receiver::start().await;
    let f = forwarders(&format!(
        "{}webhook:\n  - name: bad\n    address: {}\n  - name: good\n    address: {}\n",
        queue_yaml(&dir),
        rx.url("/reject"),
        rx.url("/ok")
    ));
    submit_range(&f, 0..5);
    wait_for(20, "all handled", || {
        let (b, g) = (stats(&f, "bad"), stats(&f, "good"));
        b.errors == 5 && b.queued == 0 && g.sent == 5
    })
    .await;
    let b = stats(&f, "bad");
    assert_eq!(b.sent, 0);
    assert_eq!(b.last_error.as_deref(), Some("HTTP 400 Bad Request"));
    assert_eq!(rx.hits().iter().filter(|h| h.path == "/reject").count(), 5);
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_by_priority_rule_tag_and_instances() {
    let (_d, dir) = tempdir();
    let rx = Receiver::start().await;
    let f = forwarders(&format!(
        "{}webhook:\n  - name: errors\n    address: {}\n    minimumpriority: ERROR\n  - name: byrule\n    address: {}\n    rules: [Special]\n  - name: bytag\n    address: {}\n    tags: [nomatch]\n",
        queue_yaml(&dir),
        rx.url("/errors"),
        rx.url("/byrule"),
        rx.url("/bytag")
    ));
    f.submit(Arc::new(alert(1, "Warning", "Other")));
    f.submit(Arc::new(alert(2, "Critical", "Other")));
    f.submit(Arc::new(alert(3, "Debug", "Special")));
    f.submit(Arc::new(alert(4, "Debug", "Test rule")));
    wait_for(20, "routed posts", || {
        stats(&f, "errors").sent == 2 && stats(&f, "byrule").sent == 1
    })
    .await;
    let s = stats(&f, "bytag");
    assert_eq!((s.sent, s.queued, s.dropped), (0, 0, 0));
    let mut got: Vec<(String, u64)> = rx
        .hits()
        .iter()
        .map(|h| {
            let v: Value = serde_json::from_slice(&h.body).unwrap();
            (h.path.clone(), seq_of(&v))
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("/byrule".to_owned(), 3),
            ("/errors".to_owned(), 2),
            ("/errors".to_owned(), 4)
        ]
    );
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_outage_mid_stream_loses_nothing() {
    let (_d, dir) = tempdir();
    let mut rx = Receiver::start().await;
    let f = forwarders(&format!(
        "{}webhook:\n  address: {}\n",
        queue_yaml(&dir),
        rx.url("/")
    ));
    submit_range(&f, 0..50);
    wait_for(20, "first posts", || rx.count() >= 10).await;
    rx.stop().await;
    submit_range(&f, 50..100);
    wait_for(20, "a failed attempt", || stats(&f, "webhook").errors > 0).await;
    assert!(stats(&f, "webhook").queued > 0);
    rx.restart().await;
    wait_for(30, "all 100 posts", || stats(&f, "webhook").sent == 100).await;
    let seqs: Vec<u64> = rx
        .hits()
        .iter()
        .map(|h| seq_of(&serde_json::from_slice(&h.body).unwrap()))
        .collect();
    assert_eq!(seqs.len(), 100, "exactly one delivery per alert");
    assert_eq!(seqs, (0..100).collect::<Vec<_>>(), "in order");
    assert_eq!(stats(&f, "webhook").queued, 0);
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_persists_across_restart_and_counts_drops() {
    let (_d, dir) = tempdir();
    let port = free_port();
    let yaml = format!(
        "{}webhook:\n  address: http://127.0.0.1:{port}/\n  maxqueued: 30\n",
        queue_yaml(&dir)
    );
    // Destination down: 50 alerts, bound 30, drop-oldest keeps 20..50.
    let f = forwarders(&yaml);
    submit_range(&f, 0..50);
    wait_for(20, "queue filled", || {
        let s = stats(&f, "webhook");
        s.queued == 30 && s.dropped == 20
    })
    .await;
    f.shutdown().await;
    // A new process (same queue dir) finds them and delivers once the receiver is up.
    let f = forwarders(&yaml);
    assert_eq!(stats(&f, "webhook").queued, 30);
    let rx = Receiver::start_on(port, Default::default()).await;
    wait_for(30, "queued alerts delivered", || {
        stats(&f, "webhook").sent == 30
    })
    .await;
    let seqs: Vec<u64> = rx
        .hits()
        .iter()
        .map(|h| seq_of(&serde_json::from_slice(&h.body).unwrap()))
        .collect();
    assert_eq!(seqs, (20..50).collect::<Vec<_>>());
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_queues_to_reachable_destinations() {
    let (_d, dir) = tempdir();
    let rx = Receiver::start().await;
    // A long grace period: shutdown returns as soon as the queue is empty.
    let yaml = format!(
        "{}  draintimeoutseconds: 60\nwebhook:\n  address: {}\n",
        queue_yaml(&dir).replace("  draintimeoutseconds: 1\n", ""),
        rx.url("/")
    );
    let f = forwarders(&yaml);
    submit_range(&f, 0..300);
    f.shutdown().await;
    let seqs: BTreeSet<u64> = rx
        .hits()
        .iter()
        .map(|h| seq_of(&serde_json::from_slice(&h.body).unwrap()))
        .collect();
    assert_eq!(seqs, (0..300).collect::<BTreeSet<_>>());
    let f = forwarders(&yaml);
    assert_eq!(stats(&f, "webhook").queued, 0);
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_keeps_what_it_could_not_deliver() {
    let (_d, dir) = tempdir();
    let port = free_port();
    // Destination down and a long backoff: the drain's one early retry fails too, the
    // one-second grace period ends, and all 40 alerts stay queued on disk.
    let yaml = format!(
        "{}  retryinitialms: 60000\nwebhook:\n  address: http://127.0.0.1:{port}/\n",
        queue_yaml(&dir)
            .replace("  retryinitialms: 20\n", "")
            .replace("  retrymaxms: 200\n", "  retrymaxms: 60000\n")
    );
    let f = forwarders(&yaml);
    submit_range(&f, 0..40);
    f.shutdown().await;
    let f = forwarders(&yaml.replace("60000", "50"));
    assert_eq!(stats(&f, "webhook").queued, 40);
    let rx = Receiver::start_on(port, Default::default()).await;
    wait_for(30, "kept alerts delivered", || {
        stats(&f, "webhook").sent == 40
    })
    .await;
    assert_eq!(rx.count(), 40);
    f.shutdown().await;
}

/// Serves on `port` and records the most requests in flight at once. With `gate`, each
/// request waits until `gate` requests are in flight together (a barrier, bounded by a
/// timeout so a failure cannot hang the test); without, it waits 20 ms.
async fn start_inflight_receiver(port: u16, gate: Option<usize>) -> Arc<AtomicUsize> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let inflight = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let barrier = gate.map(|n| Arc::new(tokio::sync::Barrier::new(n)));
    let m = max.clone();
    let app = axum::Router::new().fallback(move || {
        let (inflight, max, barrier) = (inflight.clone(), m.clone(), barrier.clone());
        async move {
            let now = inflight.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            match barrier {
                Some(b) => {
                    let _ = tokio::time::timeout(Duration::from_secs(10), b.wait()).await;
                }
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
            inflight.fetch_sub(1, Ordering::SeqCst);
            ""
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    max
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maxconcurrentrequests_overlaps_requests() {
    let (_d, dir) = tempdir();
    let (p4, p1) = (free_port(), free_port());
    let f = forwarders(&format!(
        "{}webhook:\n  - {{name: c4, address: 'http://127.0.0.1:{p4}/', maxconcurrentrequests: 4}}\n  - {{name: c1, address: 'http://127.0.0.1:{p1}/'}}\n",
        queue_yaml(&dir)
    ));
    // Queue everything while the receivers are down, so one batch holds all 16.
    submit_range(&f, 0..16);
    wait_for(20, "alerts queued", || {
        stats(&f, "c4").queued == 16 && stats(&f, "c1").queued == 16
    })
    .await;
    let max4 = start_inflight_receiver(p4, Some(4)).await;
    let max1 = start_inflight_receiver(p1, None).await;
    wait_for(60, "all delivered", || {
        stats(&f, "c4").sent == 16 && stats(&f, "c1").sent == 16
    })
    .await;
    assert_eq!(max4.load(Ordering::SeqCst), 4);
    assert_eq!(max1.load(Ordering::SeqCst), 1);
    assert_eq!(stats(&f, "c4").queued, 0);
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_newest_keeps_the_backlog() {
    let (_d, dir) = tempdir();
    let port = free_port();
    let f = forwarders(&format!(
        "{}webhook:\n  address: http://127.0.0.1:{port}/\n  maxqueued: 5\n  overflow: dropnewest\n",
        queue_yaml(&dir)
    ));
    submit_range(&f, 0..12);
    wait_for(20, "drops counted", || stats(&f, "webhook").dropped == 7).await;
    let rx = Receiver::start_on(port, Default::default()).await;
    wait_for(30, "backlog delivered", || stats(&f, "webhook").sent == 5).await;
    let seqs: BTreeSet<u64> = rx
        .hits()
        .iter()
        .map(|h| seq_of(&serde_json::from_slice(&h.body).unwrap()))
        .collect();
    assert_eq!(seqs, (0..5).collect());
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_loki_elasticsearch_payloads() {
    let (_d, dir) = tempdir();
    let rx = Receiver::start().await;
    let f = forwarders(&format!(
        "{}slack:\n  webhookurl: {}\n  channel: '#sec'\n\
         loki:\n  hostport: {}\n  tenant: t1\n  extralabels: container.id\n\
         elasticsearch:\n  hostport: {}\n  index: alerts\n",
        queue_yaml(&dir),
        rx.url("/slack"),
        rx.url(""),
        rx.url("")
    ));
    submit_range(&f, 0..3);
    wait_for(20, "all three outputs", || {
        f.stats().iter().all(|s| s.sent == 3)
    })
    .await;
    let hits = rx.hits();

    let slack: Vec<Value> = hits
        .iter()
        .filter(|h| h.path == "/slack")
        .map(|h| serde_json::from_slice(&h.body).unwrap())
        .collect();
    assert_eq!(slack.len(), 3);
    let att = &slack[0]["attachments"][0];
    assert_eq!(slack[0]["channel"], "#sec");
    assert_eq!(slack[0]["username"], "Falcosidekick");
    assert_eq!(att["color"], "#ffff00");
    assert_eq!(
        att["text"],
        "06:56:56.123456789: Warning Alert number 0 (proc=bash)"
    );
    let titles: Vec<&str> = att["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        ["container.id", "proc.name", "rule", "priority", "time"]
    );

    let loki: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.path == "/loki/api/v1/push")
        .collect();
    assert!(!loki.is_empty());
    assert_eq!(loki[0].headers["x-scope-orgid"], "t1");
    let streams: Vec<Value> = loki
        .iter()
        .flat_map(|h| {
            let v: Value = serde_json::from_slice(&h.body).unwrap();
            v["streams"].as_array().unwrap().clone()
        })
        .collect();
    assert_eq!(streams.len(), 3);
    let s0 = &streams[0];
    assert_eq!(s0["stream"]["rule"], "Test shell");
    assert_eq!(s0["stream"]["priority"], "Warning");
    assert_eq!(s0["stream"]["source"], "syscall");
    assert_eq!(s0["stream"]["containerid"], "c0");
    assert_eq!(s0["stream"]["tags"], "container,shell");
    assert_eq!(s0["values"][0][0], "1795762616123456789");

    let bulk: Vec<&Hit> = hits.iter().filter(|h| h.path == "/_bulk").collect();
    assert!(!bulk.is_empty());
    assert_eq!(bulk[0].headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = bulk
        .iter()
        .flat_map(|h| {
            std::str::from_utf8(&h.body)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["create"]["_index"], "alerts-2026.11.27");
    let id = lines[0]["create"]["_id"].as_str().unwrap();
    assert!(
        id.starts_with("elasticsearch-") && id.ends_with("-0"),
        "{id}"
    );
    assert_eq!(
        serde_json::to_vec(&lines[1]).unwrap(),
        alert(0, "Warning", "Test shell").to_json()
    );
    f.shutdown().await;
}

/// Alertmanager config with one receiver that does nothing.
const AM_CONFIG: &str = "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n";

fn start_alertmanager(dir: &std::path::Path, port: u16) -> Child {
    let cfg = dir.join("am.yml");
    std::fs::write(&cfg, AM_CONFIG).unwrap();
    Child(
        std::process::Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start alertmanager"),
    )
}

async fn am_alerts(port: u16) -> Option<Vec<Value>> {
    let r = reqwest::get(format!("http://127.0.0.1:{port}/api/v2/alerts"))
        .await
        .ok()?;
    serde_json::from_slice(&r.bytes().await.ok()?).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_receives_labelled_alerts_after_coming_up() {
    if !have("prometheus-alertmanager", "alertmanager") {
        return;
    }
    let (_d, dir) = tempdir();
    let port = free_port();
    let f = forwarders(&format!(
        "{}alertmanager:\n  hostport: http://127.0.0.1:{port}\n  extralabels: {{cluster: prod}}\n",
        queue_yaml(&dir)
    ));
    // Down at first: alerts wait in the queue.
    for i in 0..10 {
        f.submit(Arc::new(alert(i, "Critical", "Shell in container")));
    }
    wait_for(20, "failed attempts while down", || {
        stats(&f, "alertmanager").errors > 0
    })
    .await;
    let _am = start_alertmanager(&dir, port);
    wait_for(30, "delivery", || stats(&f, "alertmanager").sent == 10).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let alerts = loop {
        match am_alerts(port).await {
            Some(v) if v.len() == 10 => break v,
            other => assert!(
                std::time::Instant::now() < deadline,
                "alertmanager lists {other:?}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let mut seqs: Vec<String> = alerts
        .iter()
        .map(|a| a["labels"]["seq"].as_str().unwrap().to_owned())
        .collect();
    seqs.sort_by_key(|s| s.parse::<u32>().unwrap());
    assert_eq!(seqs, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
    let l = &alerts[0]["labels"];
    assert_eq!(l["alertname"], "Shell in container");
    assert_eq!(l["rule"], "Shell in container");
    assert_eq!(l["priority"], "Critical");
    assert_eq!(l["severity"], "critical");
    assert_eq!(l["source"], "falco");
    assert_eq!(l["eventsource"], "syscall");
    assert_eq!(l["proc_name"], "bash");
    assert_eq!(l["evt_time"], "1795762616123456789");
    assert_eq!(l["cluster"], "prod");
    assert_eq!(l["tags"], "container,shell");
    assert!(l["hostname"].as_str().unwrap().starts_with("node-"));
    assert_eq!(alerts[0]["annotations"]["summary"], "Shell in container");
    f.shutdown().await;
}
