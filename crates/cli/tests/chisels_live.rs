//! Live chisels with known ground truth: a child writes exactly N bytes to a
//! file and `topfiles_bytes` shows N for it; a loopback connection shows in
//! `topconns`; the tables refresh every second, as sysdig's live top chisels
//! do. Runs as root with BTF (CI does); elsewhere it says loudly that it skipped.

mod common;

use common::{can_capture, Osprey};
use std::process::Command;
use std::time::{Duration, Instant};

/// Bytes the child writes: below 1 KiB, so the table shows them as `777B`.
const N: usize = 777;

#[test]
fn live_top_tables_show_the_childs_bytes_and_connection() {
    if !can_capture("live chisels") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let _ = std::io::copy(&mut c, &mut std::io::sink());
        }
    });
    let out_path = dir.path().join("osprey.out");
    let osprey = Osprey::start(&["-c", "topfiles_bytes", "-c", "topconns"], &out_path);
    let want_conn = format!("->127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut target = String::new();
    let mut text = String::new();
    for i in 0.. {
        // A new file each round: the table shows one interval at a time.
        target = dir.path().join(format!("w{i}.bin")).display().to_string();
        let status = Command::new("/bin/bash")
            .arg("-c")
            .arg(format!(
                "head -c {N} /dev/zero > {target}; \
                 exec 3<>/dev/tcp/127.0.0.1/{port}; printf ping >&3; exec 3>&-"
            ))
            .status()
            .expect("child");
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(2500));
        text = String::from_utf8_lossy(&std::fs::read(&out_path).unwrap_or_default()).into_owned();
        let file_row = text
            .lines()
            .any(|l| l.starts_with(&format!("{N}B ")) && l.ends_with(&target));
        let conn_row = text
            .lines()
            .any(|l| l.contains("tcp") && l.contains(&want_conn));
        if (file_row && conn_row) || Instant::now() > deadline {
            break;
        }
    }
    osprey.stop();
    let rows: Vec<&str> = text.lines().filter(|l| l.ends_with(&target)).collect();
    let want_row = format!("{:<20}{target}", format!("{N}B"));
    assert!(
        rows.contains(&want_row.as_str()),
        "no {N}B row for {target}; rows for it: {rows:?}"
    );
    // Each table starts on a cleared screen, its header after the escapes.
    assert!(
        text.contains("\x1b[2J\x1b[0;0HBytes               Proto               Conn"),
        "no topconns table"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("tcp") && l.contains(&want_conn)),
        "no tcp row for 127.0.0.1:{port}"
    );
    // Refreshed every second: the screen was cleared and redrawn many times.
    let redraws = text.matches("\x1b[2J\x1b[0;0H").count();
    assert!(redraws >= 4, "only {redraws} redraws");
    // At the end the cursor is shown again.
    let final_bytes = std::fs::read(&out_path).expect("out");
    assert!(final_bytes.ends_with(b"\x1b[2J\x1b[0;0H\x1b[?25h"));
}
