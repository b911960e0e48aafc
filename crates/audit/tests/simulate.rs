//! `simulate`: counts and byte accounting.

use osprey_audit::event::{Event, Events};
use osprey_audit::policy::Policy;
use osprey_audit::simulate::Simulation;

const POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  verbs: [watch]
- level: Metadata
  resources: [{resources: [secrets]}]
- level: RequestResponse
  resources: [{resources: [pods]}]
";

const LOG: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"1","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"secrets","namespace":"d"},"requestObject":{"data":"x"},"responseObject":{"data":"y"}}
{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"2","stage":"ResponseComplete","verb":"get","objectRef":{"resource":"pods","namespace":"d"},"responseObject":{"k":1}}
{"level":"Metadata","auditID":"3","stage":"RequestReceived","verb":"get","objectRef":{"resource":"pods","namespace":"d"}}
{"level":"Metadata","auditID":"4","stage":"ResponseComplete","verb":"watch","objectRef":{"resource":"pods","namespace":"d"}}
{"level":"Metadata","auditID":"5","stage":"ResponseComplete","verb":"get","requestURI":"/healthz"}
"#;

#[test]
fn counts_and_bytes() {
    let policy = Policy::from_yaml(POLICY).unwrap().policy;
    let mut sim = Simulation::new(&policy);
    let events: Vec<Event> = Events::new(LOG.as_bytes(), "log")
        .map(Result::unwrap)
        .collect();
    for e in events {
        sim.add(e).unwrap();
    }
    let r = sim.report();
    assert_eq!(r.events, 5);
    let matched: Vec<u64> = r.rules.iter().map(|s| s.matched).collect();
    assert_eq!(matched, [1, 1, 2]);
    assert_eq!(r.unmatched, 1);
    assert_eq!(
        (
            r.levels.none,
            r.levels.metadata,
            r.levels.request,
            r.levels.request_response
        ),
        (2, 1, 0, 2)
    );
    // Event 3 is a RequestReceived event, omitted policy-wide.
    assert_eq!(r.omitted_by_stage, 1);
    assert_eq!(r.recorded, 2);
    // The input lines are already compact, in struct order.
    assert_eq!(r.bytes_in, LOG.len() as u64);
    let kept1 = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"1","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"secrets","namespace":"d"}}"#;
    let kept2 = LOG.lines().nth(1).unwrap();
    assert_eq!(r.bytes_kept, (kept1.len() + 1 + kept2.len() + 1) as u64);

    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["levels"]["RequestResponse"], 2);
    assert_eq!(json["omittedByStage"], 1);
    assert_eq!(json["rules"][2]["level"], "RequestResponse");
    assert_eq!(json["rules"][2]["line"], 9);
}
