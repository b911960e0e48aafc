//! NATS sink: core publish (flushed per batch), or JetStream publish awaiting each ack
//! with `Nats-Msg-Id` set to the alert's delivery id (the stream's duplicate window
//! removes re-sends after a retry).

use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage, stream};

use super::{slug, Outcome, Queued, Sink};
use crate::config::{NatsConfig, QueueConfig};
use crate::{Alert, Error, Result};

const DEFAULT_SUBJECT: &str = "falco.<priority>.<rule>";

/// One NATS destination (connected lazily, reconnected by the client).
#[derive(Debug)]
pub(crate) struct NatsSink {
    url: String,
    template: String,
    jetstream: bool,
    stream: String,
    timeout: Duration,
    client: Option<async_nats::Client>,
    js: Option<jetstream::Context>,
}

/// Builds a `nats` sink.
pub(crate) fn build(c: &NatsConfig, name: &str, q: &QueueConfig) -> Result<Sink> {
    if !(c.hostport.starts_with("nats://") || c.hostport.starts_with("tls://")) {
        return Err(Error::Output {
            output: name.to_owned(),
            message: format!("hostport {:?}: want nats://host:port", c.hostport),
        });
    }
    Ok(Sink::Nats(Box::new(NatsSink {
        url: c.hostport.clone(),
        template: if c.subjecttemplate.is_empty() {
            DEFAULT_SUBJECT.to_owned()
        } else {
            c.subjecttemplate.clone()
        },
        jetstream: c.jetstream,
        stream: c.stream.clone(),
        timeout: Duration::from_secs(q.timeoutseconds.max(1)),
        client: None,
        js: None,
    })))
}

/// The subject of an alert: `<priority>` → lower-case priority, `<rule>` → rule slug.
pub(crate) fn subject(template: &str, a: &Alert) -> String {
    template
        .replace("<priority>", a.priority.as_lower_str())
        .replace("<rule>", &slug(&a.rule))
}

impl NatsSink {
    async fn connect(&mut self) -> std::result::Result<(), String> {
        if self.client.is_some() {
            return Ok(());
        }
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(self.timeout)
            .connect(self.url.as_str())
            .await
            .map_err(|e| e.to_string())?;
        if self.jetstream {
            let js = jetstream::new(client.clone());
            if !self.stream.is_empty() {
                js.get_or_create_stream(stream::Config {
                    name: self.stream.clone(),
                    subjects: vec!["falco.>".into()],
                    storage: stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            }
            self.js = Some(js);
        }
        self.client = Some(client);
        Ok(())
    }

    pub(crate) async fn send(&mut self, batch: &[Queued]) -> Outcome {
        if let Err(e) = self.connect().await {
            return Outcome::failed(0, false, e);
        }
        if let Some(js) = &self.js {
            for (i, q) in batch.iter().enumerate() {
                let msg = PublishMessage::build()
                    .payload(q.alert.to_json().into())
                    .message_id(q.key.clone());
                let ack = match js
                    .send_publish(subject(&self.template, &q.alert), msg)
                    .await
                {
                    Ok(ack) => ack,
                    Err(e) => return Outcome::failed(i, false, e.to_string()),
                };
                if let Err(e) = ack.await {
                    return Outcome::failed(i, false, e.to_string());
                }
            }
            return Outcome::ok(batch.len());
        }
        let Some(client) = &self.client else {
            return Outcome::failed(0, false, "not connected");
        };
        for (i, q) in batch.iter().enumerate() {
            if let Err(e) = client
                .publish(subject(&self.template, &q.alert), q.alert.to_json().into())
                .await
            {
                return Outcome::failed(i, false, e.to_string());
            }
        }
        match client.flush().await {
            Ok(()) => Outcome::ok(batch.len()),
            Err(e) => Outcome::failed(0, false, e.to_string()),
        }
    }
}
