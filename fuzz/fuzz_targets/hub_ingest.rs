//! Fuzzes osprey-hub's ingest: Falco alert parsing, validation and Falcosidekick-style
//! enrichment (custom fields, templated fields, bracket replacement, outputfieldformat,
//! truncation), the
//! Falcosidekick-UI payload parser, and the template compiler on arbitrary source.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use osprey_forward::template::Template;
use osprey_hub::{Config, Enricher};

fn enricher() -> &'static Enricher {
    static E: OnceLock<Enricher> = OnceLock::new();
    E.get_or_init(|| {
        let yaml = "customfields:\n  cluster: prod\ncustomtags: [hub]\nbracketreplacer: _\n\
                    templatedfields:\n  ns: '{{ or (index . \"k8s.ns.name\") \"none\" }}'\n\
                    outputfieldformat: '<timestamp> <priority> <output> (<custom_fields> <templated_fields>) <tags>'\n";
        let cfg = Config::from_yaml_and_env(yaml, |_| None).expect("fixed config");
        Enricher::new(&cfg, |_| None).expect("fixed templates")
    })
}

fuzz_target!(|data: &[u8]| {
    let e = enricher();
    if let Ok(ev) = e.parse(data) {
        // Whatever is accepted serialises to valid JSON that parses back.
        let json = ev.to_json();
        let back = e.parse(json.as_bytes()).expect("re-parse of our own JSON");
        assert_eq!(back.rule, ev.rule);
        assert_eq!(back.time_ns, ev.time_ns);
    }
    let _ = e.parse_ui_payload(data);
    if let Ok(src) = std::str::from_utf8(data) {
        if let Ok(t) = Template::parse(src) {
            let fields = serde_json::json!({"k8s.ns.name": "x", "n": 1});
            let mut out = String::new();
            t.render(fields.as_object().expect("object"), &mut out);
        }
    }
});
