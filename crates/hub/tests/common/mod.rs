//! Helpers shared by the hub's integration tests: a raw HTTP/1.1 client (plain or TLS),
//! a hub on a temporary SQLite file, polling with deadlines, and a throw-away PostgreSQL.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A response: status and body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

fn parse_response(raw: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut body = body.to_owned();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers: head.to_owned(),
        body,
    }
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

fn request_bytes(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    out.extend_from_slice(body);
    out
}

/// One plain HTTP/1.1 request.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(&request_bytes(method, path, headers, body))
        .expect("write request");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

/// GET shorthand.
pub fn get(addr: SocketAddr, path: &str) -> Resp {
    http(addr, "GET", path, &[], b"")
}

/// POST JSON shorthand.
pub fn post(addr: SocketAddr, path: &str, body: &str) -> Resp {
    http(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// One HTTPS request with `config` (rustls client).
pub fn https(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    method: &str,
    path: &str,
    body: &[u8],
) -> std::io::Result<Resp> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config, name).map_err(std::io::Error::other)?;
    let sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(&request_bytes(method, path, &[], body))?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(parse_response(&raw))
}

/// A Falco alert body.
pub fn alert(rule: &str, priority: &str, time: &str, tags: &[&str], host: &str) -> String {
    serde_json::json!({
        "output": format!("{time}: {priority} {rule} happened (proc=cat file=/etc/shadow)"),
        "priority": priority,
        "rule": rule,
        "time": time,
        "output_fields": {"proc.name": "cat", "fd.name": "/etc/shadow", "evt.time": 1_700_000_000_000_000_000u64},
        "source": "syscall",
        "tags": tags,
        "hostname": host,
    })
    .to_string()
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Polls `f` until it returns `Some` or `secs` pass.
pub fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A hub config on loopback, an ephemeral port and a SQLite file in `dir`.
pub fn config(dir: &Path, yaml: &str) -> osprey_hub::Config {
    let mut cfg = osprey_hub::Config::from_yaml_and_env(yaml, |_| None).expect("config");
    cfg.listenaddress = "127.0.0.1".into();
    cfg.listenport = 0;
    cfg.storage.path = dir.join("hub.db").display().to_string();
    cfg
}

/// Reads `statistics.all` of a count response.
pub fn count(addr: SocketAddr, query: &str) -> u64 {
    let r = get(addr, &format!("/api/v1/events/count?{query}"));
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("count JSON");
    v["statistics"]["all"].as_u64().expect("all")
}

/// Whether a required external tool is missing: panics under CI=true, else prints SKIPPED.
pub fn skip(what: &str) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{what} is required in CI (scripts/setup installs it)");
    }
    eprintln!("SKIPPED: {what} is not installed");
    true
}

/// A PostgreSQL server run as the `postgres` user in a temporary directory.
pub struct Postgres {
    child: Child,
    pub port: u16,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// The connection string for the superuser.
    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // runuser forks: signal the postmaster itself (its pid heads postmaster.pid).
        let pid = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
            .unwrap_or_else(|| self.child.id().to_string());
        let _ = Command::new("kill").arg("-INT").arg(pid.trim()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pg_bin(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .map(|d| d.join(name))
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a PostgreSQL server, or `None` (after [`skip`]) when it is not installed.
pub fn start_postgres() -> Option<Postgres> {
    let (Some(initdb), Some(postgres)) = (pg_bin("initdb"), pg_bin("postgres")) else {
        skip("postgresql (initdb, postgres)");
        return None;
    };
    let dir = tempfile::Builder::new().prefix("hub-pg").tempdir().unwrap();
    let data = dir.path().join("data");
    let st = Command::new("chown")
        .arg("-R")
        .arg("postgres:postgres")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success(), "chown the temp dir to postgres");
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(&initdb)
        .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = free_port();
    let child = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(&postgres)
        .arg("-D")
        .arg(&data)
        .args([
            "-p",
            &port.to_string(),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-k",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pg = Postgres {
        child,
        port,
        data,
        _dir: dir,
    };
    let url = pg.url();
    let up = wait_for(30, || {
        postgres::Client::connect(&url, postgres::NoTls)
            .ok()
            .map(|_| ())
    });
    assert!(up.is_some(), "postgres did not come up on port {port}");
    Some(pg)
}
