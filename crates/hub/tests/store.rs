//! The store's queries against SQLite and a real PostgreSQL server (started here), plus
//! two hub replicas sharing one PostgreSQL.

mod common;

use osprey_hub::store::{PostgresBackend, SqliteBackend, HOUR_NS};
use osprey_hub::{Enricher, Filter, GroupBy, Priority, Record, Store};

const BASE: i64 = 1_767_225_600_000_000_000; // 2026-01-01T00:00:00Z, hour aligned

fn ev(rule: &str, prio: &str, ts: i64, tags: &[&str], host: &str, text: &str) -> Record {
    let mut t = String::new();
    osprey_hub::event::format_time(ts, &mut t);
    let body = serde_json::json!({
        "output": format!("{text} by {rule}"), "priority": prio, "rule": rule, "time": t,
        "output_fields": {"proc.name": "proc", "fd.name": text}, "tags": tags, "hostname": host,
    });
    Record::new(
        Enricher::default()
            .parse(body.to_string().as_bytes())
            .unwrap(),
    )
}

/// 3 hours of events: hour 0 has 4, hour 1 has 3, hour 2 has 3.
fn dataset() -> Vec<Record> {
    vec![
        ev(
            "A",
            "Warning",
            BASE + 10,
            &["fs", "mitre"],
            "h1",
            "/etc/shadow",
        ),
        ev(
            "A",
            "Warning",
            BASE + HOUR_NS / 2,
            &["fs"],
            "h1",
            "/etc/passwd",
        ),
        ev(
            "B",
            "Error",
            BASE + HOUR_NS / 2 + 1,
            &["net"],
            "h2",
            "socket connect",
        ),
        ev("C", "Debug", BASE + HOUR_NS - 1, &[], "h2", "nothing here"),
        ev(
            "A",
            "Critical",
            BASE + HOUR_NS,
            &["fs", "fs"],
            "h1",
            "/etc/shadow again",
        ),
        ev(
            "B",
            "Error",
            BASE + HOUR_NS + 5,
            &["net", "mitre"],
            "h3",
            "outbound",
        ),
        ev(
            "B",
            "Notice",
            BASE + 2 * HOUR_NS - 7,
            &["net"],
            "h3",
            "inbound",
        ),
        ev("C", "Debug", BASE + 2 * HOUR_NS, &[], "h1", "quiet"),
        ev(
            "A",
            "Warning",
            BASE + 2 * HOUR_NS + 3,
            &["fs"],
            "h2",
            "/tmp/x",
        ),
        ev(
            "B",
            "Error",
            BASE + 3 * HOUR_NS - 1,
            &["net"],
            "h2",
            "listen",
        ),
    ]
}

fn since(ns: i64) -> Filter {
    Filter {
        since_ns: Some(ns),
        ..Filter::default()
    }
}

fn by(store: &Store, f: &Filter, g: GroupBy) -> Vec<(String, u64)> {
    let mut v = store.count_by(f, g).unwrap();
    v.sort();
    v
}

fn s(k: &str, n: u64) -> (String, u64) {
    (k.to_owned(), n)
}

fn check(store: &Store) {
    let data = dataset();
    store.insert(&data[..4]).unwrap();
    store.insert(&data[4..]).unwrap();

    assert_eq!(store.count(&Filter::default()).unwrap(), 10);
    // A since in the middle of hour 0 mixes raw events and roll-ups.
    assert_eq!(store.count(&since(BASE + HOUR_NS / 2)).unwrap(), 9);
    assert_eq!(store.count(&since(BASE + HOUR_NS / 2 + 1)).unwrap(), 8);
    assert_eq!(store.count(&since(BASE + HOUR_NS)).unwrap(), 6);
    let f = Filter {
        since_ns: Some(BASE + HOUR_NS / 2),
        rules: vec!["A".into(), "C".into()],
        ..Filter::default()
    };
    assert_eq!(store.count(&f).unwrap(), 5);
    let f = Filter {
        priorities: vec![Priority::Error],
        hostnames: vec!["h2".into()],
        ..Filter::default()
    };
    assert_eq!(store.count(&f).unwrap(), 2);

    assert_eq!(
        by(store, &Filter::default(), GroupBy::Rule),
        vec![s("A", 4), s("B", 4), s("C", 2)]
    );
    assert_eq!(
        by(store, &since(BASE + HOUR_NS / 2 + 1), GroupBy::Priority),
        vec![
            s("Critical", 1),
            s("Debug", 2),
            s("Error", 3),
            s("Notice", 1),
            s("Warning", 1)
        ]
    );
    // Duplicate tags count once; events without tags add nothing.
    assert_eq!(
        by(store, &Filter::default(), GroupBy::Tags),
        vec![s("fs", 4), s("mitre", 2), s("net", 4)]
    );
    assert_eq!(
        by(store, &since(BASE + 11), GroupBy::Hostname),
        vec![s("h1", 3), s("h2", 4), s("h3", 2)]
    );
    // One tag: the tag roll-ups (a tag listed twice on an event counts once).
    let one = |t: &str| Filter {
        tags: vec![t.into()],
        ..Filter::default()
    };
    assert_eq!(store.count(&one("fs")).unwrap(), 4);
    assert_eq!(
        store
            .count(&Filter {
                hostnames: vec!["h1".into()],
                ..one("mitre")
            })
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .count(&Filter {
                since_ns: Some(BASE + 11),
                ..one("fs")
            })
            .unwrap(),
        3
    );
    // Tags filter: raw path; an event with several matching tags counts once.
    let tf = Filter {
        tags: vec!["fs".into(), "mitre".into()],
        ..Filter::default()
    };
    assert_eq!(store.count(&tf).unwrap(), 5);
    assert_eq!(
        by(store, &tf, GroupBy::Tags),
        vec![s("fs", 4), s("mitre", 2), s("net", 1)]
    );
    assert_eq!(by(store, &tf, GroupBy::Source), vec![s("syscalls", 5)]);

    // Full text: all words required; `*` makes a word a prefix.
    let text = |t: &str| Filter {
        text: t.into(),
        ..Filter::default()
    };
    assert_eq!(store.count(&text("shadow")).unwrap(), 2);
    assert_eq!(store.count(&text("/etc/shadow again")).unwrap(), 1);
    assert_eq!(store.count(&text("outbo*")).unwrap(), 1);
    assert_eq!(store.count(&text("zzz")).unwrap(), 0);
    assert_eq!(store.search(&text("listen"), 10, 0).unwrap().len(), 1);
    let recent = Filter {
        since_ns: Some(BASE + HOUR_NS),
        text: "shadow".into(),
        ..Filter::default()
    };
    assert_eq!(store.count(&recent).unwrap(), 1);
    assert_eq!(
        store
            .count(&Filter {
                since_ns: Some(BASE + 9 * HOUR_NS),
                ..recent
            })
            .unwrap(),
        0
    );

    // Search: newest first, paging.
    let all = store.search(&Filter::default(), 4, 0).unwrap();
    assert_eq!(all.len(), 4);
    let first: serde_json::Value = serde_json::from_str(&all[0]).unwrap();
    assert_eq!(first["output"], "listen by B");
    let last_page = store.search(&Filter::default(), 4, 8).unwrap();
    let last: serde_json::Value = serde_json::from_str(&last_page[1]).unwrap();
    assert_eq!(last["output"], "/etc/shadow by A");
    let uuid = last["uuid"].as_str().unwrap();
    assert_eq!(
        store.get(uuid).unwrap().as_deref(),
        Some(last_page[1].as_str())
    );

    // Export pages through everything exactly once.
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = store.export_page(&Filter::default(), after, 3).unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| (r.ts, r.id));
        seen.extend(page.into_iter().map(|r| r.json));
    }
    assert_eq!(seen.len(), 10);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 10);

    // Time line: hourly (roll-ups) and 30-minute buckets (raw) agree.
    let tl = store
        .timeline(&since(BASE), GroupBy::Rule, HOUR_NS)
        .unwrap();
    assert!(tl.contains(&(BASE, "A".into(), 2)), "{tl:?}");
    assert!(tl.contains(&(BASE + HOUR_NS, "B".into(), 2)), "{tl:?}");
    assert_eq!(tl.iter().map(|r| r.2).sum::<u64>(), 10);
    let half = store
        .timeline(&since(BASE), GroupBy::Priority, HOUR_NS / 2)
        .unwrap();
    assert!(
        half.contains(&(BASE + HOUR_NS / 2, "Warning".into(), 1)),
        "{half:?}"
    );
    assert_eq!(half.iter().map(|r| r.2).sum::<u64>(), 10);
    let tags_tl = store
        .timeline(&since(BASE), GroupBy::Tags, HOUR_NS)
        .unwrap();
    assert!(
        tags_tl.contains(&(BASE + HOUR_NS, "fs".into(), 1)),
        "{tags_tl:?}"
    );

    // Retention by age drops whole hours (the hour holding the cutoff is kept).
    let now = BASE + 3 * HOUR_NS + 10;
    assert_eq!(
        store
            .apply_retention(now, Some(2 * HOUR_NS - 20), None)
            .unwrap(),
        4
    );
    assert_eq!(store.count(&Filter::default()).unwrap(), 6);
    assert_eq!(
        by(store, &Filter::default(), GroupBy::Rule),
        vec![s("A", 2), s("B", 3), s("C", 1)]
    );
    assert_eq!(store.count(&text("shadow")).unwrap(), 1);
    assert_eq!(
        store
            .count(&Filter {
                tags: vec!["net".into()],
                ..Filter::default()
            })
            .unwrap(),
        3
    );
    // Retention by size (1 byte: everything but the newest hour goes).
    let deleted = store.apply_retention(now, None, Some(1)).unwrap();
    assert_eq!(deleted, 3);
    assert_eq!(store.count(&Filter::default()).unwrap(), 3);
    assert!(store.size_bytes().unwrap() > 0);
}

#[test]
fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Box::new(
        SqliteBackend::open(&dir.path().join("s.db"), 2).unwrap(),
    ));
    check(&store);
    // Reopening keeps the data and the schema.
    drop(store);
    let again = Store::new(Box::new(
        SqliteBackend::open(&dir.path().join("s.db"), 1).unwrap(),
    ));
    assert_eq!(again.count(&Filter::default()).unwrap(), 3);
}

#[test]
fn postgres_store_and_two_replicas() {
    let Some(pg) = common::start_postgres() else {
        return;
    };
    let store = Store::new(Box::new(PostgresBackend::connect(&pg.url(), 2).unwrap()));
    check(&store);
    drop(store);

    // Two hub replicas on one database: events posted to either show up in both.
    let mut admin = postgres::Client::connect(&pg.url(), postgres::NoTls).unwrap();
    admin.batch_execute("CREATE DATABASE hub2").unwrap();
    let url = format!("host=127.0.0.1 port={} user=postgres dbname=hub2", pg.port);
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!("storage:\n  driver: postgres\n  url: '{url}'\n  readers: 1\n");
    let (c1, c2) = (
        common::config(dir.path(), &yaml),
        common::config(dir.path(), &yaml),
    );
    let (t1, t2) = (
        std::thread::spawn(move || osprey_hub::start(c1)),
        std::thread::spawn(move || osprey_hub::start(c2)),
    );
    let (h1, h2) = (t1.join().unwrap().unwrap(), t2.join().unwrap().unwrap());
    let now = common::now_rfc3339();
    for i in 0..10 {
        let target = if i % 2 == 0 { h1.addr } else { h2.addr };
        let r = common::post(
            target,
            "/",
            &common::alert("Shared", "Error", &now, &["x"], &format!("n{}", i % 3)),
        );
        assert_eq!(r.status, 200);
    }
    for a in [h1.addr, h2.addr] {
        assert!(
            common::wait_for(10, || (common::count(a, "rule=Shared") == 10).then_some(()))
                .is_some()
        );
        let r = common::get(a, "/api/v1/events/count/hostname");
        assert!(r.body.contains("\"n0\":4"), "{}", r.body);
        let r = common::get(a, "/api/v1/events/search?filter=shadow&limit=3");
        assert!(r.body.contains("\"returned\":3"), "{}", r.body);
    }
    h1.stop();
    h2.stop();
}

#[test]
fn a_store_from_before_the_dimension_rollup_is_backfilled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let store = Store::new(Box::new(SqliteBackend::open(&path, 1).unwrap()));
    store.insert(&dataset()).unwrap();
    drop(store);
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("DELETE FROM rollup_dim").unwrap();
    drop(c);
    let store = Store::new(Box::new(SqliteBackend::open(&path, 1).unwrap()));
    assert_eq!(store.count(&Filter::default()).unwrap(), 10);
    assert_eq!(
        by(&store, &Filter::default(), GroupBy::Tags),
        vec![s("fs", 4), s("mitre", 2), s("net", 4)]
    );
    assert_eq!(by(&store, &Filter::default(), GroupBy::Priority).len(), 5);
}

/// Text search on SQLite walks the newest ids first and then completes the page with
/// older ids carrying later times: the result must equal sorting every match by time.
#[test]
fn sqlite_text_search_pages_follow_event_time_and_counts_stop_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(Box::new(
        SqliteBackend::open(&dir.path().join("t.db"), 1).unwrap(),
    ));
    // 300 events; ids follow arrival but times jump around (every 7th event is late, every
    // 11th from the future); a third of them say "rare".
    // (time, arrival, uuid): the store breaks time ties by arrival, newest first.
    let mut expect: Vec<(i64, i64, String)> = Vec::new();
    let mut batch = Vec::new();
    for i in 0..300i64 {
        let mut ts = BASE + i * 1_000_000_000;
        if i % 7 == 0 {
            ts -= 200 * 1_000_000_000;
        }
        if i % 11 == 0 {
            ts += 150 * 1_000_000_000;
        }
        let word = if i % 3 == 0 { "rare" } else { "often" };
        let r = ev(
            "R",
            "Error",
            ts,
            &["t"],
            "h",
            &format!("common {word} n{i}"),
        );
        if word == "rare" {
            expect.push((ts, i, r.event.uuid.clone()));
        }
        batch.push(r);
    }
    store.insert(&batch).unwrap();
    expect.sort_by(|a, b| b.cmp(a));
    let uuids = |rows: Vec<String>| -> Vec<String> {
        rows.iter()
            .map(|j| {
                let v: serde_json::Value = serde_json::from_str(j).unwrap();
                v["uuid"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let f = Filter {
        text: "common rare".into(),
        ..Filter::default()
    };
    for (limit, offset) in [(5u32, 0u64), (10, 20), (7, 95), (50, 60)] {
        let got = uuids(store.search(&f, limit, offset).unwrap());
        let want: Vec<String> = expect
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|e| e.2.clone())
            .collect();
        assert_eq!(got, want, "limit {limit} offset {offset}");
    }
    // The same with a time window.
    let since = BASE + 100 * 1_000_000_000;
    let g = Filter {
        since_ns: Some(since),
        ..f.clone()
    };
    let want: Vec<String> = expect
        .iter()
        .filter(|e| e.0 >= since)
        .take(9)
        .map(|e| e.2.clone())
        .collect();
    assert_eq!(uuids(store.search(&g, 9, 0).unwrap()), want);
    assert_eq!(store.count(&f).unwrap(), 100);
    assert_eq!(
        store.count(&g).unwrap(),
        expect.iter().filter(|e| e.0 >= since).count() as u64
    );
    // Whole words: "rar" is no word of any event, "rar*" a prefix of one.
    let word = |t: &str| Filter {
        text: t.into(),
        ..Filter::default()
    };
    assert_eq!(store.count(&word("rar")).unwrap(), 0);
    assert_eq!(store.count(&word("rar*")).unwrap(), 100);

    // Counting stops at the cap.
    let many: Vec<Record> = (0..osprey_hub::store::TEXT_COUNT_CAP as i64 + 5)
        .map(|i| ev("M", "Error", BASE + i, &[], "h", "everywhere"))
        .collect();
    store.insert(&many).unwrap();
    assert_eq!(
        store.count(&word("everywhere")).unwrap(),
        osprey_hub::store::TEXT_COUNT_CAP
    );
    assert_eq!(store.search(&word("everywhere"), 3, 0).unwrap().len(), 3);
}
