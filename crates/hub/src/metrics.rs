//! Prometheus counters with Falcosidekick's metric names, plus the hub's own.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde_json::Value;

use crate::event::Event;

/// Falcosidekick's per-alert counter.
pub const FALCO_EVENTS: &str = "falcosecurity_falcosidekick_falco_events_total";
/// Falcosidekick's request counter (`source="requests"`, `status="accepted|rejected"`).
pub const INPUTS: &str = "falcosecurity_falcosidekick_inputs_total";
/// Falcosidekick's per-output counter (`destination`, `status="ok|error"`).
pub const OUTPUTS: &str = "falcosecurity_falcosidekick_outputs_total";

/// The hub's counters. All methods are cheap and thread-safe.
#[derive(Debug)]
pub struct Metrics {
    label_names: Vec<String>,
    label_fields: Vec<String>,
    falco_events_enabled: bool,
    falco_events: Mutex<BTreeMap<String, u64>>,
    outputs: Mutex<BTreeMap<(String, &'static str), u64>>,
    accepted: AtomicU64,
    rejected: AtomicU64,
    stored: AtomicU64,
    store_errors: AtomicU64,
    retention_deleted: AtomicU64,
}

const PRIORITY_DIGITS: [&str; 9] = ["0", "1", "2", "3", "4", "5", "6", "7", "8"];

const BASE_LABELS: [&str; 7] = [
    "hostname",
    "rule",
    "priority",
    "priority_raw",
    "source",
    "k8s_ns_name",
    "k8s_pod_name",
];

/// Whether `s` is a valid Prometheus label name.
pub fn valid_label(s: &str) -> bool {
    let mut it = s.bytes();
    it.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && it.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

impl Metrics {
    /// Creates the counters; `extra_fields` (custom, templated and `prometheus.extralabels`
    /// field names) become labels of the falco_events counter when they are valid label names
    /// once dots are turned into underscores.
    pub fn new<'a>(
        extra_fields: impl IntoIterator<Item = &'a str>,
        falco_events_enabled: bool,
    ) -> Metrics {
        let mut label_names: Vec<String> = BASE_LABELS.iter().map(|s| (*s).to_owned()).collect();
        let mut label_fields = Vec::new();
        for f in extra_fields {
            let name = f.replace('.', "_");
            if valid_label(&name) && !label_names.contains(&name) {
                label_names.push(name);
                label_fields.push(f.to_owned());
            }
        }
        Metrics {
            label_names,
            label_fields,
            falco_events_enabled,
            falco_events: Mutex::new(BTreeMap::new()),
            outputs: Mutex::new(BTreeMap::new()),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            stored: AtomicU64::new(0),
            store_errors: AtomicU64::new(0),
            retention_deleted: AtomicU64::new(0),
        }
    }

    /// Counts an accepted request and its alert.
    pub fn accepted(&self, ev: &Event) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        if !self.falco_events_enabled {
            return;
        }
        // The label values joined by NUL: a borrowed lookup allocates only for a new series.
        thread_local!(static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) });
        KEY.with_borrow_mut(|key| {
            key.clear();
            let mut push = |v: &str| {
                if v.contains('\0') {
                    key.push_str(&v.replace('\0', "\u{fffd}"));
                } else {
                    key.push_str(v);
                }
                key.push('\0');
            };
            push(if ev.hostname.is_empty() {
                "unknown"
            } else {
                &ev.hostname
            });
            push(&ev.rule);
            push(PRIORITY_DIGITS[usize::from(ev.priority.as_u8())]);
            push(ev.priority.lower_name());
            push(&ev.source);
            for f in ["k8s.ns.name", "k8s.pod.name"]
                .into_iter()
                .chain(self.label_fields.iter().map(String::as_str))
            {
                match ev.output_fields.get(f) {
                    Some(Value::String(s)) => push(s),
                    _ => push(""),
                }
            }
            if let Ok(mut m) = self.falco_events.lock() {
                match m.get_mut(key.as_str()) {
                    Some(n) => *n += 1,
                    None => {
                        m.insert(key.clone(), 1);
                    }
                }
            }
        });
    }

    /// Counts a rejected request.
    pub fn rejected(&self) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one delivery to `destination`.
    pub fn output(&self, destination: &str, ok: bool) {
        if let Ok(mut m) = self.outputs.lock() {
            *m.entry((destination.to_owned(), if ok { "ok" } else { "error" }))
                .or_insert(0) += 1;
        }
    }

    /// Counts `n` events written to storage.
    pub fn stored(&self, n: u64) {
        self.stored.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts a failed storage batch of `n` events.
    pub fn store_error(&self, n: u64) {
        self.store_errors.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts events removed by retention.
    pub fn retention_deleted(&self, n: u64) {
        self.retention_deleted.fetch_add(n, Ordering::Relaxed);
    }

    /// Number of events written to storage so far.
    pub fn stored_count(&self) -> u64 {
        self.stored.load(Ordering::Relaxed)
    }

    /// Renders the Prometheus text exposition format; `forwarded` adds per-destination
    /// `(destination, ok, error)` delivery counts (summed over a type's instances).
    pub fn render(&self, forwarded: &[(&str, u64, u64)]) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# HELP {FALCO_EVENTS} Number of Falco events received");
        let _ = writeln!(s, "# TYPE {FALCO_EVENTS} counter");
        if let Ok(m) = self.falco_events.lock() {
            for (values, n) in m.iter() {
                s.push_str(FALCO_EVENTS);
                s.push('{');
                for (i, (name, v)) in self.label_names.iter().zip(values.split('\0')).enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    push_label(&mut s, name, v);
                }
                let _ = writeln!(s, "}} {n}");
            }
        }
        let _ = writeln!(s, "# HELP {INPUTS} Number of received requests");
        let _ = writeln!(s, "# TYPE {INPUTS} counter");
        for (status, c) in [("accepted", &self.accepted), ("rejected", &self.rejected)] {
            let _ = writeln!(
                s,
                "{INPUTS}{{source=\"requests\",status=\"{status}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(s, "# HELP {OUTPUTS} Number of deliveries per output");
        let _ = writeln!(s, "# TYPE {OUTPUTS} counter");
        if let Ok(m) = self.outputs.lock() {
            let mut all = m.clone();
            for (dest, ok, err) in forwarded {
                *all.entry(((*dest).to_owned(), "ok")).or_insert(0) += ok;
                *all.entry(((*dest).to_owned(), "error")).or_insert(0) += err;
            }
            for ((dest, status), n) in &all {
                s.push_str(OUTPUTS);
                s.push('{');
                push_label(&mut s, "destination", dest);
                let _ = writeln!(s, ",status=\"{status}\"}} {n}");
            }
        }
        for (name, help, c) in [
            (
                "osprey_hub_stored_events_total",
                "Events written to storage",
                &self.stored,
            ),
            (
                "osprey_hub_store_errors_total",
                "Events lost to storage errors",
                &self.store_errors,
            ),
            (
                "osprey_hub_retention_deleted_total",
                "Events removed by retention",
                &self.retention_deleted,
            ),
        ] {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                c.load(Ordering::Relaxed)
            );
        }
        s
    }
}

fn push_label(s: &mut String, name: &str, value: &str) {
    s.push_str(name);
    s.push_str("=\"");
    for c in value.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sidekick_names() {
        let m = Metrics::new(["cluster", "bad-label", "k8s.ns.name"], true);
        let mut ev = Event::test_event(0);
        ev.output_fields
            .insert("cluster".into(), Value::String("prod\"x".into()));
        m.accepted(&ev);
        m.accepted(&ev);
        m.rejected();
        m.output("hub", true);
        let text = m.render(&[("slack", 3, 1)]);
        assert!(text.contains(
            "falcosecurity_falcosidekick_falco_events_total{hostname=\"falcosidekick\",rule=\"Test rule\",priority=\"1\",priority_raw=\"debug\",source=\"debug\",k8s_ns_name=\"\",k8s_pod_name=\"\",cluster=\"prod\\\"x\"} 2"
        ), "{text}");
        assert!(text.contains(
            "falcosecurity_falcosidekick_inputs_total{source=\"requests\",status=\"rejected\"} 1"
        ));
        assert!(text.contains(
            "falcosecurity_falcosidekick_outputs_total{destination=\"hub\",status=\"ok\"} 1"
        ));
        assert!(text.contains(
            "falcosecurity_falcosidekick_outputs_total{destination=\"slack\",status=\"error\"} 1"
        ));
        assert!(!text.contains("bad-label"));
    }
}
