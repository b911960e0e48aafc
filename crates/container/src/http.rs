//! A minimal HTTP/1.1 `GET` over a unix socket, enough for the Docker Engine
//! API and podman's Docker-compatible API: one request per connection
//! (`Connection: close`), bodies delimited by `Content-Length`, chunked
//! transfer encoding, or the end of the stream.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::Error;

/// Largest response accepted; an inspect answer is a few kilobytes, an image
/// list a few hundred.
const MAX_RESPONSE: usize = 16 << 20;

/// Most headers a response may carry.
const MAX_HEADERS: usize = 64;

/// A complete response.
#[derive(Debug)]
pub(crate) struct Response {
    /// HTTP status code.
    pub(crate) status: u16,
    /// The decoded body.
    pub(crate) body: Vec<u8>,
}

/// Sends `GET path` to the server on `socket` and reads its whole response,
/// giving up after `timeout` in total.
pub(crate) fn get(socket: &Path, path: &str, timeout: Duration) -> Result<Response, Error> {
    let deadline = Instant::now() + timeout;
    let io_err = |source| Error::Io {
        socket: socket.to_path_buf(),
        path: path.to_owned(),
        source,
    };
    let mut stream = UnixStream::connect(socket).map_err(|source| Error::Connect {
        socket: socket.to_path_buf(),
        source,
    })?;
    stream.set_write_timeout(Some(timeout)).map_err(io_err)?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: osprey\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).map_err(io_err)?;

    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::Timeout {
                socket: socket.to_path_buf(),
                what: path.to_owned(),
            });
        }
        stream.set_read_timeout(Some(left)).map_err(io_err)?;
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Error::Timeout {
                    socket: socket.to_path_buf(),
                    what: path.to_owned(),
                })
            }
            Err(e) => return Err(io_err(e)),
        };
        let eof = n == 0;
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > MAX_RESPONSE {
            return Err(http_err(socket, path, MAX_RESPONSE, "response too large"));
        }
        match parse(&buf, eof) {
            Ok(Some(resp)) => return Ok(resp),
            Ok(None) if !eof => {}
            Ok(None) => {
                return Err(http_err(socket, path, buf.len(), "connection closed early"));
            }
            Err((offset, reason)) => return Err(http_err(socket, path, offset, reason)),
        }
    }
}

fn http_err(socket: &Path, path: &str, offset: usize, reason: &'static str) -> Error {
    Error::Http {
        socket: socket.to_path_buf(),
        path: path.to_owned(),
        offset,
        reason,
    }
}

/// Parses `buf` as a response. `Ok(None)`: more bytes are needed; `eof`
/// says none will come, which completes a body that has no length.
/// Errors carry the byte offset where the response went wrong.
fn parse(buf: &[u8], eof: bool) -> Result<Option<Response>, (usize, &'static str)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Response::new(&mut headers);
    let head_len = match head.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err((0, "malformed status line or headers")),
    };
    let status = head.code.ok_or((0, "no status code"))?;
    let mut content_length = None;
    let mut chunked = false;
    for h in head.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let len = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or((0, "bad Content-Length"))?;
            content_length = Some(len);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .split(|&b| b == b',')
                .any(|v| v.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        }
    }
    let body = &buf[head_len..];
    if chunked {
        return Ok(dechunk(body, head_len)?.map(|body| Response { status, body }));
    }
    if let Some(len) = content_length {
        if len > MAX_RESPONSE {
            return Err((head_len, "Content-Length too large"));
        }
        return Ok((body.len() >= len).then(|| Response {
            status,
            body: body[..len].to_vec(),
        }));
    }
    if status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Some(Response {
            status,
            body: Vec::new(),
        }));
    }
    Ok(eof.then(|| Response {
        status,
        body: body.to_vec(),
    }))
}

/// Decodes a chunked body; `Ok(None)` until the last chunk has arrived.
/// `base` is the body's offset in the response, for error positions.
fn dechunk(mut body: &[u8], base: usize) -> Result<Option<Vec<u8>>, (usize, &'static str)> {
    let mut out = Vec::with_capacity(body.len());
    let mut pos = base;
    loop {
        let Some(eol) = body.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = &body[..eol];
        // Chunk extensions follow a ';'.
        let size_part = line.split(|&b| b == b';').next().unwrap_or(line);
        let size = std::str::from_utf8(size_part)
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .ok_or((pos, "bad chunk size"))?;
        if size > MAX_RESPONSE || out.len() + size > MAX_RESPONSE {
            return Err((pos, "chunk too large"));
        }
        let data_start = eol + 2;
        if size == 0 {
            // The last chunk; trailers (if any) end with an empty line.
            let rest = &body[data_start..];
            if rest.starts_with(b"\r\n") || rest.windows(4).any(|w| w == b"\r\n\r\n") {
                return Ok(Some(out));
            }
            return Ok(None);
        }
        if body.len() < data_start + size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&body[data_start..data_start + size]);
        if &body[data_start + size..data_start + size + 2] != b"\r\n" {
            return Err((pos + data_start + size, "chunk not followed by CRLF"));
        }
        pos += data_start + size + 2;
        body = &body[data_start + size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(raw: &[u8], eof: bool) -> Option<Vec<u8>> {
        parse(raw, eof).unwrap().map(|r| r.body)
    }

    #[test]
    fn content_length() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        assert_eq!(body(raw, false).unwrap(), b"hello");
        assert_eq!(body(&raw[..raw.len() - 1], false), None);
        assert_eq!(body(b"HTTP/1.1 200 OK\r\nContent-Len", false), None);
    }

    #[test]
    fn chunked() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n";
        assert_eq!(body(raw, false).unwrap(), b"hello");
        for cut in 40..raw.len() {
            assert_eq!(body(&raw[..cut], false), None, "cut at {cut}");
        }
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhel\r\n";
        assert_eq!(parse(bad, false).unwrap_err(), (47, "bad chunk size"));
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhelXX0\r\n\r\n";
        assert_eq!(
            parse(bad, false).unwrap_err().1,
            "chunk not followed by CRLF"
        );
    }

    #[test]
    fn until_eof_and_status() {
        let raw = b"HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"no\"}";
        assert_eq!(body(raw, false), None);
        let r = parse(raw, true).unwrap().unwrap();
        assert_eq!(
            (r.status, r.body.as_slice()),
            (404, &b"{\"message\":\"no\"}"[..])
        );
    }

    #[test]
    fn garbage() {
        assert_eq!(
            parse(b"SSH-2.0-OpenSSH\r\n\r\n", false).unwrap_err().1,
            "malformed status line or headers"
        );
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n";
        assert_eq!(parse(raw, false).unwrap_err().1, "bad Content-Length");
    }
}
