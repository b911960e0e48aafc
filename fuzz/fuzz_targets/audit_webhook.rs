//! Fuzz the webhook sender's raw event splitter (JSON lines, EventList, arrays) and
//! the audit log line encoders: every accepted event must encode as one JSON line
//! that parses back, and as one legacy text line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprey_audit::event::Events;
use osprey_audit::log::format::{encode_json, encode_legacy};
use osprey_audit::sender::input::for_each_event;

fuzz_target!(|data: &[u8]| {
    let mut raw = 0usize;
    let counted = for_each_event(data, |ev| {
        assert!(ev.get().starts_with('{'));
        raw += 1;
    });
    if let Ok(n) = counted {
        assert_eq!(n, raw);
    }
    let mut line = Vec::new();
    for event in Events::new(data, "fuzz") {
        let Ok(mut event) = event else { continue };
        line.clear();
        encode_legacy(&event, &mut line);
        assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(line.last(), Some(&b'\n'));
        line.clear();
        if encode_json(&mut event, &mut line).is_ok() {
            assert_eq!(line.last(), Some(&b'\n'));
            let v: serde_json::Value =
                serde_json::from_slice(&line).expect("an encoded line is JSON");
            assert_eq!(v["kind"], "Event");
        }
    }
});
