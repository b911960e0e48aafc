//! Dead sockets and servers that answer garbage: clear errors, no panics,
//! and a resolver that gives up without blocking.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Duration;

use osprey_container::{lookup_once, Error, Resolver, ResolverOptions};

const ID: &str = "0123456789ab";

fn opts_for(socket: PathBuf) -> ResolverOptions {
    ResolverOptions {
        docker: Some(socket),
        podman: None,
        cri: Vec::new(),
        timeout: Duration::from_millis(500),
        ..ResolverOptions::default()
    }
}

/// Serves every connection with `answer` (after reading the request head),
/// then closes it; `None` keeps the connection open without answering.
fn serve(answer: Option<&'static [u8]>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            match answer {
                Some(bytes) => {
                    let _ = stream.write_all(bytes);
                }
                None => held.push(stream),
            }
        }
    });
    (dir, path)
}

fn only_error(err: Error) -> Error {
    match err {
        Error::NotFound { mut tried, .. } if tried.len() == 1 => tried.remove(0),
        other => panic!("want NotFound with one cause, got {other}"),
    }
}

#[test]
fn dead_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dead.sock");
    drop(UnixListener::bind(&path).unwrap());
    let err = only_error(lookup_once(&opts_for(path), ID).unwrap_err());
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(
        err.to_string().contains("dead.sock: cannot connect"),
        "{err}"
    );
}

#[test]
fn garbage_answers() {
    let cases: [(&[u8], &str); 6] = [
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "malformed status line"),
        (b"", "connection closed early"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            "connection closed early",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
            "bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"Id\": [}",
            "bad JSON at line 1 column 9",
        ),
        (
            b"HTTP/1.1 500 Oops\r\nContent-Length: 17\r\n\r\n{\"message\":\"bad\"}",
            "HTTP 500: bad",
        ),
    ];
    for (answer, want) in cases {
        let (_dir, path) = serve(Some(answer));
        let err = only_error(lookup_once(&opts_for(path), ID).unwrap_err());
        assert!(
            err.to_string().contains(want),
            "answer {:?}: want {want:?} in {err}",
            String::from_utf8_lossy(answer)
        );
    }
}

#[test]
fn valid_but_odd_json_maps_to_empty_fields() {
    // Chunked, with a JSON value of the wrong shape: an empty record, no panic.
    let (_dir, path) = serve(Some(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[1,2\r\n1\r\n]\r\n0\r\n\r\n",
    ));
    let info = lookup_once(&opts_for(path), ID).unwrap();
    assert_eq!((info.id.as_str(), info.name.as_str()), (ID, ""));
    assert_eq!(info.image_tag, "latest");
}

#[test]
fn silent_server_times_out() {
    let (_dir, path) = serve(None);
    let err = only_error(lookup_once(&opts_for(path), ID).unwrap_err());
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
}

#[test]
fn resolver_gives_up_without_blocking() {
    let (_dir, path) = serve(Some(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}",
    ));
    let mut resolver = Resolver::start(ResolverOptions {
        attempts: 3,
        backoff: Duration::from_millis(1),
        ..opts_for(path)
    })
    .unwrap();
    assert!(resolver.request(ID));
    assert!(!resolver.request(ID));
    // Nothing ever arrives; polling returns at once every time.
    for _ in 0..20 {
        assert!(resolver.try_recv().is_none());
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(resolver);
}
