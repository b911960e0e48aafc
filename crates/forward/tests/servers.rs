//! Outputs against real servers started on free loopback ports in temp dirs
//! (nats-server, redis-server, PostgreSQL, a tiny in-test SMTP server) plus syslog and
//! file. Killing a destination mid-stream and restarting it loses no alert.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use osprey_forward::{Config, Forwarders};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn forwarders(yaml: &str) -> Forwarders {
    Forwarders::from_config(&Config::from_yaml(yaml).expect("config")).expect("forwarders")
}

/// Waits until something accepts TCP connections on the port.
async fn wait_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "{what} did not start on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The kill-and-restart scenario shared by the persistent servers: 0..50 while up, a
/// kill after the first deliveries, 50..100 while down, restart, everything delivered.
async fn outage_scenario<S, R>(f: &Forwarders, name: &str, mut start: S, mut kill: R)
where
    S: FnMut(),
    R: FnMut(),
{
    submit_range(f, 0..50);
    wait_for(30, "first deliveries", || stats(f, name).sent >= 10).await;
    kill();
    submit_range(f, 50..100);
    wait_for(30, "failed attempts while down", || {
        stats(f, name).errors > 0
    })
    .await;
    start();
    wait_for(60, "all 100 delivered", || stats(f, name).sent >= 100).await;
    assert_eq!(stats(f, name).queued, 0);
}

// ---------------------------------------------------------------- NATS

fn nats_server(port: u16, store: &Path) -> Child {
    Child(
        Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_publishes_on_the_subject_template() {
    if !have("nats-server", "nats") {
        return;
    }
    let (_d, dir) = tempdir();
    let port = free_port();
    let _srv = nats_server(port, &dir.join("js"));
    wait_port(port, "nats-server").await;
    let client = async_nats::connect(format!("nats://127.0.0.1:{port}"))
        .await
        .unwrap();
    let mut sub = client.subscribe("falco.>").await.unwrap();
    client.flush().await.unwrap();
    let f = forwarders(&format!(
        "{}nats:\n  hostport: nats://127.0.0.1:{port}\n",
        queue_yaml(&dir)
    ));
    for i in 0..5 {
        f.submit(Arc::new(alert(
            i,
            "Critical",
            "Terminal shell in container!",
        )));
    }
    use futures_util::StreamExt as _;
    for i in 0..5 {
        let m = tokio::time::timeout(Duration::from_secs(20), sub.next())
            .await
            .expect("message in time")
            .expect("subscription open");
        assert_eq!(
            m.subject.as_str(),
            "falco.critical.terminal_shell_in_container"
        );
        assert_eq!(
            m.payload.as_ref(),
            alert(i, "Critical", "Terminal shell in container!").to_json()
        );
    }
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_survives_a_server_kill() {
    if !have("nats-server", "jetstream") {
        return;
    }
    let (_d, dir) = tempdir();
    let port = free_port();
    let store = dir.join("js");
    let srv = Arc::new(Mutex::new(Some(nats_server(port, &store))));
    wait_port(port, "nats-server").await;
    let f = forwarders(&format!(
        "{}nats:\n  name: js\n  hostport: nats://127.0.0.1:{port}\n  jetstream: true\n  stream: FALCO\n",
        queue_yaml(&dir)
    ));
    let (s1, s2) = (srv.clone(), srv.clone());
    let store2 = store.clone();
    outage_scenario(
        &f,
        "js",
        move || *s1.lock().unwrap() = Some(nats_server(port, &store2)),
        move || drop(s2.lock().unwrap().take()),
    )
    .await;
    let client = async_nats::connect(format!("nats://127.0.0.1:{port}"))
        .await
        .unwrap();
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream("FALCO").await.unwrap();
    let n = stream.info().await.unwrap().state.messages;
    assert_eq!(n, 100, "exactly one stored message per alert");
    let mut seqs = BTreeSet::new();
    for i in 1..=n {
        let m = stream.get_raw_message(i).await.unwrap();
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(m.subject.as_str(), "falco.warning.test_shell");
        seqs.insert(seq_of(&v));
    }
    assert_eq!(seqs, (0..100).collect());
    f.shutdown().await;
}

// ---------------------------------------------------------------- Redis

fn redis_server(port: u16, dir: &Path) -> Child {
    Child(
        Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--daemonize",
                "no",
                "--dir",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stream_list_and_hash_survive_a_kill() {
    if !have("redis-server", "redis") {
        return;
    }
    let (_d, dir) = tempdir();
    let port = free_port();
    let srv = Arc::new(Mutex::new(Some(redis_server(port, &dir))));
    wait_port(port, "redis-server").await;
    let f = forwarders(&format!(
        "{q}redis:\n  - name: stream\n    address: 127.0.0.1:{port}\n    key: falco:stream\n    rules: [Test shell]\n  - name: list\n    address: 127.0.0.1:{port}\n    storagetype: list\n    key: falco:list\n    minimumpriority: critical\n  - name: hash\n    address: 127.0.0.1:{port}\n    storagetype: hashmap\n    key: falco:hash\n    minimumpriority: critical\n",
        q = queue_yaml(&dir)
    ));
    let (s1, s2, d2) = (srv.clone(), srv.clone(), dir.clone());
    outage_scenario(
        &f,
        "stream",
        move || *s1.lock().unwrap() = Some(redis_server(port, &d2)),
        move || drop(s2.lock().unwrap().take()),
    )
    .await;
    f.submit(Arc::new(alert(7, "Critical", "Crit")));
    wait_for(30, "list and hash", || {
        stats(&f, "list").sent == 1 && stats(&f, "hash").sent == 1
    })
    .await;

    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let entries: Vec<(String, Vec<(String, String)>)> = {
        let v: redis::Value = redis::cmd("XRANGE")
            .arg("falco:stream")
            .arg("-")
            .arg("+")
            .query_async(&mut c)
            .await
            .unwrap();
        redis::from_redis_value(v).unwrap()
    };
    assert_eq!(entries.len(), 100, "exactly one stream entry per alert");
    let mut seqs = BTreeSet::new();
    for (_, fields) in &entries {
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).unwrap().1.clone();
        assert_eq!(get("rule"), "Test shell");
        assert_eq!(get("priority"), "Warning");
        seqs.insert(seq_of(&serde_json::from_str(&get("json")).unwrap()));
    }
    assert_eq!(seqs, (0..100).collect());
    let list: Vec<String> = redis::cmd("LRANGE")
        .arg("falco:list")
        .arg(0)
        .arg(-1)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(
        list,
        vec![String::from_utf8(alert(7, "Critical", "Crit").to_json()).unwrap()]
    );
    let hash: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg("falco:hash")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(hash.len(), 1);
    assert!(
        hash[0].0.starts_with("hash-") && hash[0].0.ends_with("-0"),
        "{hash:?}"
    );
    f.shutdown().await;
}

// ---------------------------------------------------------------- PostgreSQL

/// The newest installed PostgreSQL server's bin directory (Debian layout).
fn pg_bin() -> Option<String> {
    let mut dirs: Vec<(u32, String)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb")
                .is_file()
                .then(|| (v, bin.display().to_string()))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, b)| b)
}

fn as_postgres(args: &[&str]) -> std::process::ExitStatus {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("runuser")
}

struct Postgres {
    bin: String,
    data: String,
    port: u16,
    sock: String,
}

impl Postgres {
    fn init(bin: &str, dir: &Path, port: u16) -> Postgres {
        let root = dir.join("pg");
        std::fs::create_dir_all(&root).unwrap();
        let st = Command::new("chown")
            .arg("-R")
            .arg("postgres:postgres")
            .arg(&root)
            .status()
            .unwrap();
        assert!(st.success());
        let data = root.join("data").display().to_string();
        let initdb = format!("{bin}/initdb");
        assert!(as_postgres(&[&initdb, "-D", &data, "-A", "trust", "-U", "postgres"]).success());
        Postgres {
            bin: bin.to_owned(),
            data,
            port,
            sock: root.display().to_string(),
        }
    }

    fn start(&self) {
        let pg_ctl = format!("{}/pg_ctl", self.bin);
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port, self.sock
        );
        let log = format!("{}/log", self.sock);
        assert!(
            as_postgres(&[&pg_ctl, "-D", &self.data, "-l", &log, "-o", &opts, "-w", "start"])
                .success()
        );
    }

    fn kill(&self) {
        let pg_ctl = format!("{}/pg_ctl", self.bin);
        as_postgres(&[&pg_ctl, "-D", &self.data, "-m", "immediate", "-w", "stop"]);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_rows_survive_a_kill() {
    let bin = pg_bin().unwrap_or_default();
    if !have(&format!("{bin}/initdb"), "postgresql") || !have("runuser", "postgresql") {
        return;
    }
    let (_d, dir) = tempdir();
    let port = free_port();
    let pg = Arc::new(Postgres::init(&bin, &dir, port));
    pg.start();
    let f = forwarders(&format!(
        "{}postgresql:\n  connection: host=127.0.0.1 port={port} user=postgres dbname=postgres\n  table: alerts\n",
        queue_yaml(&dir)
    ));
    let (p1, p2) = (pg.clone(), pg.clone());
    outage_scenario(&f, "postgresql", move || p1.start(), move || p2.kill()).await;

    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=postgres dbname=postgres"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let rows = client
        .query(
            "SELECT rule, priority, source, hostname, output, tags::text, output_fields::text, \
             to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM alerts",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 100, "exactly one row per alert");
    let mut seqs = BTreeSet::new();
    for r in &rows {
        assert_eq!(r.get::<_, String>(0), "Test shell");
        assert_eq!(r.get::<_, String>(1), "Warning");
        assert_eq!(r.get::<_, String>(2), "syscall");
        assert!(r.get::<_, String>(3).starts_with("node-"));
        assert!(r.get::<_, String>(4).contains("Alert number"));
        assert_eq!(r.get::<_, String>(5), "{container,shell}");
        let fields: Value = serde_json::from_str(&r.get::<_, String>(6)).unwrap();
        assert_eq!(fields["proc.name"], "bash");
        assert_eq!(r.get::<_, String>(7), "2026-11-27 06:56:56.123457");
        seqs.insert(fields["seq"].as_u64().unwrap());
    }
    assert_eq!(seqs, (0..100).collect());
    f.shutdown().await;
}

// ---------------------------------------------------------------- SMTP

/// A minimal SMTP server (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) that records
/// each message's DATA. Aborting its task closes the listener and every connection.
fn smtp_server(
    listener: tokio::net::TcpListener,
    mails: Arc<Mutex<Vec<String>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        while let Ok((sock, _)) = listener.accept().await {
            let mails = mails.clone();
            conns.spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 localhost ESMTP test\r\n").await?;
                while let Some(line) = lines.next_line().await? {
                    let cmd = line.to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") {
                        b"250-localhost\r\n250 8BITMIME\r\n"
                    } else if cmd.starts_with("HELO") {
                        b"250 localhost\r\n"
                    } else if cmd.starts_with("DATA") {
                        w.write_all(b"354 go ahead\r\n").await?;
                        let mut data = String::new();
                        while let Some(l) = lines.next_line().await? {
                            if l == "." {
                                break;
                            }
                            data.push_str(l.strip_prefix('.').unwrap_or(&l));
                            data.push('\n');
                        }
                        mails.lock().unwrap().push(data);
                        b"250 queued\r\n"
                    } else if cmd.starts_with("QUIT") {
                        w.write_all(b"221 bye\r\n").await?;
                        break;
                    } else if ["MAIL", "RCPT", "RSET", "NOOP"]
                        .iter()
                        .any(|c| cmd.starts_with(c))
                    {
                        b"250 ok\r\n"
                    } else {
                        b"502 unknown\r\n"
                    };
                    w.write_all(reply).await?;
                }
                Ok::<(), std::io::Error>(())
            });
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_mails_arrive_once_the_server_is_up() {
    let (_d, dir) = tempdir();
    let port = free_port();
    let f = forwarders(&format!(
        "{}smtp:\n  hostport: 127.0.0.1:{port}\n  from: falco@example.org\n  to: 'sec@example.org, ops@example.org'\n",
        queue_yaml(&dir)
    ));
    submit_range(&f, 0..3);
    wait_for(20, "failed attempts while down", || {
        stats(&f, "smtp").errors > 0
    })
    .await;
    let mails = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let srv = smtp_server(listener, mails.clone());
    wait_for(30, "3 mails", || stats(&f, "smtp").sent == 3).await;
    srv.abort();
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 3);
    for (i, m) in mails.iter().enumerate() {
        let m = m.replace("\n ", " ").replace("\n\t", " ");
        assert!(
            m.contains(&format!(
                "Subject: [Warning] 06:56:56.123456789: Warning Alert number {i} (proc=bash)\n"
            )),
            "{m}"
        );
        assert!(m.contains("From: falco@example.org"), "{m}");
        assert!(m.contains("To: sec@example.org, ops@example.org"), "{m}");
        assert!(m.contains("Content-Type: multipart/alternative"), "{m}");
        assert!(m.contains("Content-Type: text/plain; charset=utf-8"), "{m}");
        assert!(m.contains("Content-Type: text/html; charset=utf-8"), "{m}");
        assert!(m.contains("Rule: Test shell"), "{m}");
        assert!(
            m.contains("<tr><th>Rule</th><td>Test shell</td></tr>"),
            "{m}"
        );
    }
    f.shutdown().await;
}

// ---------------------------------------------------------------- syslog and file

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_over_udp_tcp_and_unix() {
    let (_d, dir) = tempdir();
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sock_path = dir.join("log.sock");
    let unix = tokio::net::UnixDatagram::bind(&sock_path).unwrap();
    let f = forwarders(&format!(
        "{}syslog:\n  - name: udp\n    host: 127.0.0.1\n    port: {}\n  - name: tcp\n    host: 127.0.0.1\n    port: {}\n    protocol: tcp\n    format: cef\n  - name: unix\n    path: {}\n    protocol: unix\n    rfc: rfc3164\n    facility: 4\n",
        queue_yaml(&dir),
        udp.local_addr().unwrap().port(),
        tcp.local_addr().unwrap().port(),
        sock_path.display()
    ));
    submit_range(&f, 0..2);
    let json0 = String::from_utf8(alert(0, "Warning", "Test shell").to_json()).unwrap();
    let mut buf = vec![0u8; 65536];
    // UDP: RFC 5424, facility user (1) * 8 + warning (4) = 12, JSON body.
    let n = tokio::time::timeout(Duration::from_secs(20), udp.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        format!("<12>1 2026-11-27T06:56:56.123456Z node-0 falco - - - {json0}")
    );
    // Unix: RFC 3164, facility 4.
    let n = tokio::time::timeout(Duration::from_secs(20), unix.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        std::str::from_utf8(&buf[..n]).unwrap(),
        format!("<36>Nov 27 06:56:56 node-0 falco: {json0}")
    );
    // TCP: octet-counted RFC 5424 frames with a CEF body.
    let (mut conn, _) = tokio::time::timeout(Duration::from_secs(20), tcp.accept())
        .await
        .unwrap()
        .unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.iter().filter(|b| **b == b'|').count() < 14 {
        assert!(Instant::now() < deadline, "tcp frames");
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::io::AsyncReadExt::read(&mut conn, &mut chunk),
        )
        .await
        .unwrap()
        .unwrap();
        got.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8(got).unwrap();
    let first = "<12>1 2026-11-27T06:56:56.123456Z node-0 falco - - - CEF:0|Falcosecurity|Falco|1.0|Falco Event|Test shell|6|uuid= start=2026-11-27T06:56:56Z msg=06:56:56.123456789: Warning Alert number 0 (proc=bash) source=syscall hostname=node-0 outputfields=container.id:c0 evt.time:1795762616123456789 proc.name:bash seq:0 tags=container,shell";
    assert!(
        text.starts_with(&format!("{} {first}", first.len())),
        "{text}"
    );
    wait_for(20, "syslog counters", || {
        ["udp", "tcp", "unix"]
            .iter()
            .all(|n| stats(&f, n).sent == 2)
    })
    .await;
    f.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_appends_json_lines() {
    let (_d, dir) = tempdir();
    let path = dir.join("out").join("alerts.jsonl");
    let f = forwarders(&format!(
        "{}file:\n  path: {}\n",
        queue_yaml(&dir),
        path.display()
    ));
    // The directory does not exist yet: attempts fail and the alerts wait.
    submit_range(&f, 0..10);
    wait_for(20, "failed attempts", || stats(&f, "file").errors > 0).await;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    wait_for(20, "10 lines", || stats(&f, "file").sent == 10).await;
    let text = std::fs::read_to_string(&path).unwrap();
    let want: String = (0..10)
        .map(|i| String::from_utf8(alert(i, "Warning", "Test shell").to_json()).unwrap() + "\n")
        .collect();
    assert_eq!(text, want);
    f.shutdown().await;
}
