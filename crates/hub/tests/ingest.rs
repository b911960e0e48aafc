//! Ingest over HTTP: Falcosidekick's endpoints, bad input, auth, base path, metrics,
//! export, and inbound TLS / mTLS.

mod common;

use std::sync::Arc;

use common::*;

#[test]
fn ingest_validation_and_bad_input_keep_the_hub_serving() {
    let dir = tempfile::tempdir().unwrap();
    let hub = osprey_hub::start(config(
        dir.path(),
        "customfields:\n  cluster: eu-1\ncustomtags: [hub]\n",
    ))
    .unwrap();
    let a = hub.addr;
    let now = now_rfc3339();

    let ok = post(
        a,
        "/",
        &alert("Write below etc", "Error", &now, &["filesystem"], "node-1"),
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body, "");

    // Malformed JSON, missing fields, an unknown priority, an empty body, a GET-less method.
    let bad = post(a, "/", "{\"rule\": \"x\", ");
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body, "Please send a valid request body");
    assert_eq!(
        post(
            a,
            "/",
            &format!("{{\"priority\":\"Error\",\"time\":\"{now}\",\"output_fields\":{{\"a\":1}}}}")
        )
        .status,
        400
    );
    assert_eq!(
        post(
            a,
            "/",
            &format!("{{\"priority\":\"Error\",\"rule\":\"r\",\"time\":\"{now}\"}}")
        )
        .status,
        400
    );
    assert_eq!(post(a, "/", &format!("{{\"priority\":\"Loud\",\"rule\":\"r\",\"time\":\"{now}\",\"output_fields\":{{\"a\":1}}}}")).status, 400);
    assert_eq!(post(a, "/", "").status, 400);
    assert_eq!(http(a, "PUT", "/", &[], b"{}").status, 400);

    // A 100 MB body is refused from its Content-Length, before it is read.
    let big = http(a, "POST", "/", &[("Content-Length", "104857600")], b"");
    assert_eq!(big.status, 413);
    // A body over the limit without a Content-Length (chunked) is refused too.
    let mut chunked = b"1000\r\n".to_vec();
    chunked.extend(std::iter::repeat_n(b'x', 0x1000));
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    let mut small = config(dir.path(), "maxbodysize: 1024\n");
    small.storage.path = dir.path().join("small.db").display().to_string();
    let hub_small = osprey_hub::start(small).unwrap();
    let r = http(
        hub_small.addr,
        "POST",
        "/",
        &[("Transfer-Encoding", "chunked"), ("Content-Length", "")],
        &chunked,
    );
    assert!(
        r.status == 413 || r.status == 400,
        "chunked over limit: {}",
        r.status
    );
    hub_small.stop();

    // Still serving.
    assert_eq!(get(a, "/healthz").body, "{\"status\": \"ok\"}");
    assert_eq!(get(a, "/ping").body, "pong\n");
    assert_eq!(
        post(
            a,
            "/",
            &alert(
                "Terminal shell in container",
                "warning",
                &now,
                &["shell"],
                "node-2"
            )
        )
        .status,
        200
    );
    assert_eq!(http(a, "POST", "/test", &[], b"").status, 200);
    assert_eq!(
        wait_for(10, || (count(a, "") == 3).then_some(())),
        Some(()),
        "three events stored"
    );

    // Enrichment as sidekick: custom field, custom tag, sorted tags, source kept, test rule internal.
    let r = get(a, "/api/v1/events/search?rule=Write%20below%20etc");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let ev = &v["results"][0];
    assert_eq!(ev["output_fields"]["cluster"], "eu-1");
    assert_eq!(ev["tags"], serde_json::json!(["filesystem", "hub"]));
    assert_eq!(ev["priority"], "Error");
    assert_eq!(ev["source"], "syscall");
    assert_eq!(
        v["statistics"],
        serde_json::json!({"returned": 1, "all": 1})
    );
    assert_eq!(count(a, "source=internal&rule=Test%20rule"), 1);

    // Metrics under Falcosidekick's names.
    let m = get(a, "/metrics").body;
    assert!(
        m.contains(
            "falcosecurity_falcosidekick_inputs_total{source=\"requests\",status=\"accepted\"} 3"
        ),
        "{m}"
    );
    assert!(
        m.contains(
            "falcosecurity_falcosidekick_inputs_total{source=\"requests\",status=\"rejected\"} 7"
        ),
        "{m}"
    );
    assert!(m.contains("falcosecurity_falcosidekick_falco_events_total{hostname=\"node-1\",rule=\"Write below etc\",priority=\"5\",priority_raw=\"error\",source=\"syscall\",k8s_ns_name=\"\",k8s_pod_name=\"\",cluster=\"eu-1\"} 1"), "{m}");
    assert!(
        m.contains(
            "falcosecurity_falcosidekick_outputs_total{destination=\"storage\",status=\"ok\"}"
        ),
        "{m}"
    );
    hub.stop();
}

#[test]
fn tokens_users_and_base_path() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "basepath: /falco\nauth:\n  ingesttokens: [secret-in]\n  users: ['admin:pw']\n  apitokens: [secret-rd]\n";
    let hub = osprey_hub::start(config(dir.path(), yaml)).unwrap();
    let a = hub.addr;
    let body = alert("Read sensitive file", "Notice", &now_rfc3339(), &[], "h");

    assert_eq!(post(a, "/falco/", &body).status, 401);
    assert_eq!(
        http(
            a,
            "POST",
            "/falco/",
            &[("Authorization", "Bearer wrong")],
            body.as_bytes()
        )
        .status,
        401
    );
    assert_eq!(
        http(
            a,
            "POST",
            "/falco/",
            &[("Authorization", "Bearer secret-rd")],
            body.as_bytes()
        )
        .status,
        401
    );
    assert_eq!(
        http(
            a,
            "POST",
            "/falco/",
            &[("Authorization", "Bearer secret-in")],
            body.as_bytes()
        )
        .status,
        200
    );
    assert_eq!(
        post(a, "/", &body).status,
        404,
        "routes live under the base path only"
    );

    let anon = get(a, "/falco/api/v1/events/count");
    assert_eq!(anon.status, 401);
    assert!(anon
        .headers
        .to_ascii_lowercase()
        .contains("www-authenticate: basic"));
    assert_eq!(get(a, "/falco/").status, 401);
    // admin:pw and admin:bad in base64.
    assert_eq!(
        http(
            a,
            "GET",
            "/falco/api/v1/events/count",
            &[("Authorization", "Basic YWRtaW46YmFk")],
            b""
        )
        .status,
        401
    );
    let n = wait_for(10, || {
        let r = http(
            a,
            "GET",
            "/falco/api/v1/events/count",
            &[("Authorization", "Basic YWRtaW46cHc=")],
            b"",
        );
        (r.status == 200 && r.body.contains("\"all\":1")).then_some(())
    });
    assert!(n.is_some());
    let r = http(
        a,
        "GET",
        "/falco/api/v1/events/count/rule",
        &[("Authorization", "Bearer secret-rd")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(r.body.contains("\"Read sensitive file\":1"), "{}", r.body);
    let page = http(
        a,
        "GET",
        "/falco/",
        &[("Authorization", "Bearer secret-rd")],
        b"",
    );
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("src=\"assets/app.js\""),
        "relative asset paths work under a base path"
    );
    assert_eq!(
        http(
            a,
            "GET",
            "/falco/assets/app.js",
            &[("Authorization", "Bearer secret-rd")],
            b""
        )
        .status,
        200
    );
    assert_eq!(get(a, "/falco").status, 302);
    assert_eq!(get(a, "/falco/healthz").status, 200, "health stays open");
    hub.stop();
}

#[test]
fn sidekick_ui_payload_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let hub = osprey_hub::start(config(dir.path(), "")).unwrap();
    let a = hub.addr;
    let now = now_rfc3339();
    let ui = format!(
        "{{\"event\":{},\"outputs\":[\"slack\",\"webui\"]}}",
        alert("Via sidekick", "Critical", &now, &["t1"], "n")
    );
    let r = post(a, "/api/v1/", &ui);
    assert_eq!((r.status, r.body.as_str()), (200, "{}"));
    for i in 0..25 {
        assert_eq!(
            post(
                a,
                "/",
                &alert(&format!("rule,{}", i % 3), "Debug", &now, &["a", "b"], "n")
            )
            .status,
            200
        );
    }
    assert!(wait_for(10, || (count(a, "") == 26).then_some(())).is_some());
    assert_eq!(get(a, "/api/v1/outputs").body, "[\"slack\",\"webui\"]");

    let json = get(a, "/api/hub/export?format=json");
    assert_eq!(json.status, 200);
    assert!(json.headers.contains("falco_events.json"));
    let arr: Vec<serde_json::Value> = serde_json::from_str(&json.body).unwrap();
    assert_eq!(arr.len(), 26);
    let ndjson = get(a, "/api/hub/export?format=ndjson&tags=a");
    assert_eq!(ndjson.body.lines().count(), 25);
    let csv = get(a, "/api/hub/export?format=csv&rule=rule,1");
    assert_eq!(
        csv.body.lines().count(),
        1,
        "rule,1 is two rule names (comma list): no match"
    );
    let csv = get(a, "/api/hub/export?format=csv&priority=critical");
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("time,uuid,priority,rule"));
    assert!(lines[1].contains(",Critical,Via sidekick,"), "{}", lines[1]);
    assert_eq!(get(a, "/api/hub/export?format=xml").status, 400);

    let uuid = arr[0]["uuid"].as_str().unwrap().to_owned();
    let one = get(a, &format!("/api/hub/events/{uuid}"));
    assert_eq!(one.status, 200);
    assert!(one.body.contains(&uuid));
    assert_eq!(get(a, "/api/hub/events/nope").status, 404);
    let tl = get(a, "/api/hub/timeline?since=1h&groupby=rule");
    let v: serde_json::Value = serde_json::from_str(&tl.body).unwrap();
    let total: u64 = v["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["counts"].as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, 26);
    let page2 = get(a, "/api/v1/events/search?limit=10&page=3");
    let v: serde_json::Value = serde_json::from_str(&page2.body).unwrap();
    assert_eq!(
        v["statistics"],
        serde_json::json!({"returned": 6, "all": 26})
    );
    hub.stop();
}

struct Pki {
    ca: rcgen::Certificate,
    ca_params: rcgen::CertificateParams,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "hub test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = p.self_signed(&ca_key).unwrap();
        Pki {
            ca,
            ca_params: p,
            ca_key,
        }
    }

    fn leaf(&self, name: &str, client: bool) -> (String, String) {
        let mut p = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        p.extended_key_usages = vec![if client {
            rcgen::ExtendedKeyUsagePurpose::ClientAuth
        } else {
            rcgen::ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = p.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn client_config(ca_pem: &str, identity: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    Arc::new(match identity {
        Some((cert, key)) => {
            let chain = rustls::pki_types::CertificateDer::pem_slice_iter(cert.as_bytes())
                .map(Result::unwrap)
                .collect();
            let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            b.with_client_auth_cert(chain, key).unwrap()
        }
        None => b.with_no_client_auth(),
    })
}

#[test]
fn tls_and_mutual_tls() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let (cert, key) = pki.leaf("localhost", false);
    let (ccert, ckey) = pki.leaf("falco", true);
    let other = Pki::new();
    let (bad_cert, bad_key) = other.leaf("falco", true);
    let w = |n: &str, s: &str| {
        let p = dir.path().join(n);
        std::fs::write(&p, s).unwrap();
        p.display().to_string()
    };
    let (cf, kf, caf) = (
        w("srv.crt", &cert),
        w("srv.key", &key),
        w("ca.crt", &pki.ca.pem()),
    );
    let body = alert("TLS rule", "Warning", &now_rfc3339(), &[], "h");

    // TLS only, plus the plain port for /healthz.
    let yaml =
        format!("tlsserver:\n  deploy: true\n  certfile: {cf}\n  keyfile: {kf}\n  notlsport: 0\n");
    let hub = osprey_hub::start(config(dir.path(), &yaml)).unwrap();
    let cc = client_config(&pki.ca.pem(), None);
    let r = https(hub.addr, cc.clone(), "POST", "/", body.as_bytes()).unwrap();
    assert_eq!(r.status, 200);
    let plain = get(hub.addr, "/healthz");
    assert_eq!(
        plain.status, 0,
        "plain HTTP on the TLS port gets no HTTP answer"
    );
    hub.stop();

    // mTLS: a client certificate from the CA is required.
    let mut c = config(
        dir.path(),
        &format!("{yaml}  mutualtls: true\n  cacertfile: {caf}\n  notlspaths: [/healthz]\n"),
    );
    c.tlsserver.notlsport = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    c.storage.path = dir.path().join("m.db").display().to_string();
    let hub = osprey_hub::start(c).unwrap();
    let good = client_config(&pki.ca.pem(), Some((&ccert, &ckey)));
    assert_eq!(
        https(hub.addr, good, "POST", "/", body.as_bytes())
            .unwrap()
            .status,
        200
    );
    let no_cert = https(hub.addr, cc, "POST", "/", body.as_bytes());
    assert!(
        no_cert.is_err() || no_cert.as_ref().is_ok_and(|r| r.status == 0),
        "no client cert: {no_cert:?}"
    );
    let wrong = https(
        hub.addr,
        client_config(&pki.ca.pem(), Some((&bad_cert, &bad_key))),
        "POST",
        "/",
        body.as_bytes(),
    );
    assert!(
        wrong.is_err() || wrong.as_ref().is_ok_and(|r| r.status == 0),
        "foreign client cert: {wrong:?}"
    );
    let notls = hub.notls_addr.expect("plain listener");
    assert_eq!(get(notls, "/healthz").status, 200);
    assert_eq!(
        post(notls, "/", &body).status,
        404,
        "ingest is not on the plain port"
    );
    hub.stop();
}

#[test]
fn accepted_alerts_reach_the_forwarders() {
    let dir = tempfile::tempdir().unwrap();
    let all = dir.path().join("all.json");
    let errors = dir.path().join("errors.json");
    let yaml = format!(
        "customfields:\n  cluster: c1\nqueue:\n  dir: {q}\n  fsync: false\n  retryinitialms: 20\nfile:\n  - name: all\n    path: {a}\n  - name: errors\n    path: {e}\n    minimumpriority: error\n",
        q = dir.path().join("queues").display(),
        a = all.display(),
        e = errors.display()
    );
    let hub = osprey_hub::start(config(dir.path(), &yaml)).unwrap();
    let a = hub.addr;
    let now = now_rfc3339();
    for (rule, prio) in [
        ("r1", "Notice"),
        ("r2", "Error"),
        ("r3", "Critical"),
        ("r4", "Debug"),
    ] {
        assert_eq!(
            post(a, "/", &alert(rule, prio, &now, &["t"], "h")).status,
            200
        );
    }
    let lines = |p: &std::path::Path| {
        std::fs::read_to_string(p)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    assert!(
        wait_for(20, || (lines(&all) == 4 && lines(&errors) == 2)
            .then_some(()))
        .is_some(),
        "forwarded files"
    );
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&errors)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(first["rule"], "r2");
    assert_eq!(
        first["output_fields"]["cluster"], "c1",
        "forwarders get the enriched alert"
    );
    assert!(first["uuid"].is_string());
    assert_eq!(get(a, "/api/v1/outputs").body, "[\"all\",\"errors\"]");
    // Counted once removed from the queue, shortly after the write.
    let want = "falcosecurity_falcosidekick_outputs_total{destination=\"file\",status=\"ok\"} 6";
    let m = wait_for(20, || {
        Some(get(a, "/metrics").body).filter(|m| m.contains(want))
    });
    assert!(m.is_some(), "{}", get(a, "/metrics").body);
    hub.stop();
}
