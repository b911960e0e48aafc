//! Syslog sink: RFC 5424 or RFC 3164 headers over UDP, TCP (RFC 6587 framing) or a
//! Unix datagram socket; the body is the alert's Falco JSON or sidekick's CEF line.

use std::fmt::Write as _;

use chrono::{Datelike, Timelike};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket, UnixDatagram};

use super::{Outcome, Queued, Sink};
use crate::config::{QueueConfig, SyslogConfig, SyslogFormat, SyslogProtocol, SyslogRfc};
use crate::{Alert, Error, Priority, Result};

/// One syslog destination.
#[derive(Debug)]
pub(crate) struct SyslogSink {
    cfg: SyslogConfig,
    addr: String,
    tcp: Option<TcpStream>,
    udp: Option<UdpSocket>,
    buf: Vec<u8>,
}

/// Builds a `syslog` sink.
pub(crate) fn build(c: &SyslogConfig, name: &str, _q: &QueueConfig) -> Result<Sink> {
    if c.protocol == SyslogProtocol::Unix && c.path.is_empty() {
        return Err(Error::Output {
            output: name.to_owned(),
            message: "syslog over unix needs `path`".into(),
        });
    }
    if c.facility.is_some_and(|f| f > 23) {
        return Err(Error::Output {
            output: name.to_owned(),
            message: "syslog facility must be 0..=23".into(),
        });
    }
    let port = if c.port == 0 { 514 } else { c.port };
    Ok(Sink::Syslog(Box::new(SyslogSink {
        cfg: c.clone(),
        addr: format!("{}:{port}", c.host),
        tcp: None,
        udp: None,
        buf: Vec::new(),
    })))
}

fn cef_severity(p: Priority) -> u8 {
    match p {
        Priority::Debug => 0,
        Priority::Informational => 3,
        Priority::Notice => 4,
        Priority::Warning => 6,
        Priority::Error => 7,
        Priority::Critical => 8,
        Priority::Alert => 9,
        Priority::Emergency => 10,
    }
}

/// Sidekick's CEF body.
pub(crate) fn cef(a: &Alert) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "CEF:0|Falcosecurity|Falco|1.0|Falco Event|{}|{}|uuid={} start={} msg={} source={}",
        a.rule,
        cef_severity(a.priority),
        a.uuid.as_deref().unwrap_or(""),
        a.time.format("%Y-%m-%dT%H:%M:%SZ"),
        a.output_text(),
        a.source_or_default()
    );
    if let Some(h) = a.hostname.as_deref().filter(|h| !h.is_empty()) {
        let _ = write!(s, " hostname={h}");
    }
    s.push_str(" outputfields=");
    for (k, v) in &a.output_fields {
        let _ = write!(s, "{k}:{} ", crate::alert::value_to_string(v));
    }
    if !a.tags().is_empty() {
        let _ = write!(s, "tags={}", a.tags().join(","));
    }
    s.truncate(s.trim_end_matches(' ').len());
    s
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// One syslog message (without transport framing).
pub(crate) fn message(a: &Alert, c: &SyslogConfig, out: &mut Vec<u8>) {
    let pri = u16::from(c.facility.unwrap_or(1)) * 8 + u16::from(a.priority.syslog_severity());
    let tag = if c.tag.is_empty() { "falco" } else { &c.tag };
    let host: String = a
        .hostname
        .as_deref()
        .filter(|h| !h.is_empty())
        .unwrap_or("-")
        .chars()
        .filter(char::is_ascii_graphic)
        .collect();
    let t = a.time;
    let mut head = String::new();
    match c.rfc {
        SyslogRfc::Rfc5424 => {
            let _ = write!(
                head,
                "<{pri}>1 {} {host} {tag} - - - ",
                t.format("%Y-%m-%dT%H:%M:%S%.6fZ")
            );
        }
        SyslogRfc::Rfc3164 => {
            let month = MONTHS[t.month0() as usize % 12];
            let _ = write!(
                head,
                "<{pri}>{month} {:>2} {:02}:{:02}:{:02} {host} {tag}: ",
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
        }
    }
    out.extend_from_slice(head.as_bytes());
    match c.format {
        SyslogFormat::Json => a.write_json(out),
        SyslogFormat::Cef => out.extend_from_slice(cef(a).as_bytes()),
    }
}

impl SyslogSink {
    pub(crate) async fn send(&mut self, batch: &[Queued]) -> Outcome {
        for (i, q) in batch.iter().enumerate() {
            self.buf.clear();
            message(&q.alert, &self.cfg, &mut self.buf);
            if let Err(e) = self.send_one().await {
                return Outcome::failed(i, false, e.to_string());
            }
        }
        Outcome::ok(batch.len())
    }

    async fn send_one(&mut self) -> std::io::Result<()> {
        match self.cfg.protocol {
            SyslogProtocol::Udp => {
                if self.udp.is_none() {
                    let bind = if self.cfg.host.contains(':') {
                        "[::]:0"
                    } else {
                        "0.0.0.0:0"
                    };
                    self.udp = Some(UdpSocket::bind(bind).await?);
                }
                if let Some(s) = &self.udp {
                    s.send_to(&self.buf, &self.addr).await?;
                }
                Ok(())
            }
            SyslogProtocol::Unix => {
                let s = UnixDatagram::unbound()?;
                s.send_to(&self.buf, &self.cfg.path).await?;
                Ok(())
            }
            SyslogProtocol::Tcp => {
                let mut framed = Vec::with_capacity(self.buf.len() + 8);
                match self.cfg.rfc {
                    SyslogRfc::Rfc5424 => {
                        framed.extend_from_slice(format!("{} ", self.buf.len()).as_bytes());
                        framed.extend_from_slice(&self.buf);
                    }
                    SyslogRfc::Rfc3164 => {
                        framed.extend_from_slice(&self.buf);
                        framed.push(b'\n');
                    }
                }
                if self.tcp.is_none() {
                    self.tcp = Some(TcpStream::connect(&self.addr).await?);
                }
                let r = match self.tcp.as_mut() {
                    Some(s) => s.write_all(&framed).await,
                    None => Ok(()),
                };
                if r.is_err() {
                    self.tcp = None;
                }
                r
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let a = Alert::from_json(br#"{"hostname":"h","output":"o","output_fields":{"a":"b"},"priority":"Warning","rule":"R","time":"2026-03-05T01:02:03.123456789Z","tags":["t"]}"#).unwrap();
        let mut out = Vec::new();
        message(
            &a,
            &SyslogConfig {
                format: SyslogFormat::Cef,
                ..Default::default()
            },
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<12>1 2026-03-05T01:02:03.123456Z h falco - - - CEF:0|Falcosecurity|Falco|1.0|Falco Event|R|6|uuid= start=2026-03-05T01:02:03Z msg=o source=syscalls hostname=h outputfields=a:b tags=t"
        );
        let mut out = Vec::new();
        message(
            &a,
            &SyslogConfig {
                rfc: SyslogRfc::Rfc3164,
                facility: Some(4),
                ..Default::default()
            },
            &mut out,
        );
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("<36>Mar  5 01:02:03 h falco: {\"hostname\""),
            "{s}"
        );
    }
}
