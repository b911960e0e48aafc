//! SMTP sink (lettre): one mail per alert, `Subject: [<Priority>] <output>` as
//! Falcosidekick, with a plain-text and an HTML part.

use std::fmt::Write as _;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Outcome, Queued, Sink};
use crate::config::{QueueConfig, SmtpConfig, SmtpTls};
use crate::{Alert, Error, Result};

/// One SMTP destination.
#[derive(Debug)]
pub(crate) struct SmtpSink {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

/// Builds an `smtp` sink.
pub(crate) fn build(c: &SmtpConfig, name: &str, q: &QueueConfig) -> Result<Sink> {
    let bad = |m: String| Error::Output {
        output: name.to_owned(),
        message: m,
    };
    let (host, port) = match c.hostport.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|e| bad(format!("port {p:?}: {e}")))?,
        ),
        None => (c.hostport.as_str(), 25),
    };
    let builder = match c.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
            .map_err(|e| bad(e.to_string()))?,
        SmtpTls::Tls => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(|e| bad(e.to_string()))?
        }
    };
    let mut builder = builder
        .port(port)
        .timeout(Some(Duration::from_secs(q.timeoutseconds.max(1))));
    if !c.user.is_empty() {
        builder = builder.credentials(Credentials::new(c.user.clone(), c.password.clone()));
    }
    let from_text = if c.from.is_empty() {
        "falco@localhost"
    } else {
        &c.from
    };
    let from: Mailbox = from_text
        .parse()
        .map_err(|e| bad(format!("from {from_text:?}: {e}")))?;
    let to =
        c.to.iter()
            .map(|t| {
                t.parse::<Mailbox>()
                    .map_err(|e| bad(format!("to {t:?}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
    if to.is_empty() {
        return Err(bad("smtp needs at least one `to` address".into()));
    }
    Ok(Sink::Smtp(Box::new(SmtpSink {
        transport: builder.build(),
        from,
        to,
    })))
}

/// The plain-text body.
pub(crate) fn text_body(a: &Alert) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Priority: {}", a.priority);
    let _ = writeln!(s, "Rule: {}", a.rule);
    let mut t = String::new();
    let _ = a.write_time(&mut t);
    let _ = writeln!(s, "Time: {t}");
    let _ = writeln!(s, "Source: {}", a.source_or_default());
    let _ = writeln!(s, "Hostname: {}", a.hostname_or_unknown());
    if !a.tags().is_empty() {
        let _ = writeln!(s, "Tags: {}", a.tags().join(", "));
    }
    let _ = writeln!(s, "Output: {}", a.output_text());
    s.push_str("\nFields:\n");
    for (k, v) in &a.output_fields {
        let _ = writeln!(s, "  {k}: {}", crate::alert::value_to_string(v));
    }
    s
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

/// The HTML body: a table of the alert's keys and output fields.
pub(crate) fn html_body(a: &Alert) -> String {
    let mut s = String::from("<html><body><table border=\"1\" cellpadding=\"4\">");
    let mut t = String::new();
    let _ = a.write_time(&mut t);
    let rows = [
        ("Priority", a.priority.as_str().to_owned()),
        ("Rule", a.rule.clone()),
        ("Time", t),
        ("Source", a.source_or_default().to_owned()),
        ("Hostname", a.hostname_or_unknown().to_owned()),
        ("Tags", a.tags().join(", ")),
        ("Output", a.output_text().to_owned()),
    ];
    for (k, v) in rows {
        let _ = write!(s, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    for (k, v) in &a.output_fields {
        let _ = write!(
            s,
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(k),
            esc(&crate::alert::value_to_string(v))
        );
    }
    s.push_str("</table></body></html>\n");
    s
}

impl SmtpSink {
    pub(crate) async fn send(&mut self, batch: &[Queued]) -> Outcome {
        for (i, q) in batch.iter().enumerate() {
            let a = &q.alert;
            let mut m = Message::builder().from(self.from.clone()).subject(format!(
                "[{}] {}",
                a.priority,
                a.output_text()
            ));
            for t in &self.to {
                m = m.to(t.clone());
            }
            let msg = match m.multipart(MultiPart::alternative_plain_html(
                text_body(a),
                html_body(a),
            )) {
                Ok(m) => m,
                Err(e) => return Outcome::failed(i, true, e.to_string()),
            };
            if let Err(e) = self.transport.send(msg).await {
                return Outcome::failed(i, e.is_permanent(), e.to_string());
            }
        }
        Outcome::ok(batch.len())
    }
}
