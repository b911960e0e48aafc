//! Fuzz the audit event reader (JSON lines, EventList, arrays), then evaluate,
//! shape and re-serialise every event it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprey_audit::event::{write_recorded, Events};
use osprey_audit::policy::Policy;
use std::sync::OnceLock;

const POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitManagedFields: true
rules:
- level: None
  nonResourceURLs: [\"/healthz*\"]
- level: RequestResponse
  resources: [{group: \"*\", resources: [\"pods/*\"]}]
- level: Request
  namespaces: [\"\"]
- level: Metadata
";

fuzz_target!(|data: &[u8]| {
    static POL: OnceLock<Policy> = OnceLock::new();
    let policy = POL.get_or_init(|| Policy::from_yaml(POLICY).expect("valid policy").policy);
    let mut buf = Vec::new();
    for event in Events::new(data, "fuzz") {
        let Ok(mut event) = event else { continue };
        let decision = policy.evaluate_event(&event);
        buf.clear();
        let _ = write_recorded(&mut event, &decision, &mut buf);
        let text = serde_json::to_string(&event).expect("events serialise");
        assert!(serde_json::from_str::<osprey_audit::event::Event>(&text).is_ok());
    }
});
