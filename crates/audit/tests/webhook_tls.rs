//! `osprey-audit send` over HTTPS with a kubeconfig naming a private CA and a client
//! certificate (relative paths), against a Python `ssl` server that requires the
//! client certificate. Certificates are made with the `openssl` command.

mod serve_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serve_support::{event, skip, BIN};

const SERVER: &str = r#"
import http.server, ssl, sys
out = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        cn = dict(x[0] for x in self.connection.getpeercert()["subject"])["commonName"]
        out.write(cn + " " + self.headers["Content-Type"] + " " + body.decode() + "\n")
        out.flush()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1] + "/server.crt", sys.argv[1] + "/server.key")
ctx.load_verify_locations(sys.argv[1] + "/ca.crt")
ctx.verify_mode = ssl.CERT_REQUIRED
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate `apiserver`.
fn make_pki(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=audit-test-ca"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.crt"]);
    openssl(dir, &ca);
    for (name, cn, ext) in [
        (
            "server",
            "127.0.0.1",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "apiserver", "extendedKeyUsage=clientAuth\n"),
    ] {
        let subj = format!("/CN={cn}");
        let (key, csr, crt, extfile) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
            format!("{name}.ext"),
        );
        std::fs::write(dir.join(&extfile), ext).expect("ext file");
        let mut req = vec!["req", "-subj", &subj, "-keyout", &key, "-out", &csr];
        req.extend(ec);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &extfile,
                "-out",
                &crt,
            ],
        );
    }
}

struct Python(Child);

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubeconfig(dir: &Path, port: &str, with_client_cert: bool) -> std::path::PathBuf {
    let user = if with_client_cert {
        "    client-certificate: pki/client.crt\n    client-key: pki/client.key\n"
    } else {
        "    token: unused\n"
    };
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: audit\n  cluster:\n    \
         server: https://127.0.0.1:{port}/audit\n    certificate-authority: pki/ca.crt\n\
         users:\n- name: apiserver\n  user:\n{user}\
         contexts:\n- name: default\n  context:\n    cluster: audit\n    user: apiserver\n\
         current-context: default\n"
    );
    let path = dir.join(if with_client_cert {
        "ok.kubeconfig"
    } else {
        "nocert.kubeconfig"
    });
    std::fs::write(&path, text).expect("kubeconfig");
    path
}

#[test]
fn client_certificate_and_private_ca_from_the_kubeconfig() {
    let tools = ["openssl", "python3"].iter().all(|t| {
        Command::new(t)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
            || Command::new(t)
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success())
    });
    if !tools {
        return skip("openssl and python3 are needed for the TLS webhook test");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = dir.path().join("pki");
    std::fs::create_dir(&pki).expect("pki dir");
    make_pki(&pki);
    let received = dir.path().join("received.txt");
    let mut child = Command::new("python3")
        .args(["-c", SERVER])
        .arg(&pki)
        .arg(&received)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start python3");
    let stdout = child.stdout.take().expect("stdout");
    let server = Python(child);
    let mut port = String::new();
    BufReader::new(stdout).read_line(&mut port).expect("port");
    let port = port.trim().to_string();
    assert!(port.parse::<u16>().is_ok(), "python server said {port:?}");

    let events = dir.path().join("events.jsonl");
    std::fs::write(&events, format!("{}\n{}\n", event(1), event(2))).expect("events");
    let ok_kc = kubeconfig(dir.path(), &port, true);
    let out = Command::new(BIN)
        .args([
            "send",
            "--audit-webhook-mode",
            "blocking-strict",
            "--webhook-config",
        ])
        .arg(&ok_kc)
        .arg(&events)
        .output()
        .expect("send");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("sent=2 "), "{stderr}");
    let text = std::fs::read_to_string(&received).expect("received");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, id) in lines.iter().zip(["id-1", "id-2"]) {
        let (who, rest) = line.split_once(' ').expect("cn");
        let (ctype, body) = rest.split_once(' ').expect("content type");
        assert_eq!((who, ctype), ("apiserver", "application/json"));
        let v: serde_json::Value = serde_json::from_str(body).expect("EventList");
        assert_eq!(v["kind"], "EventList");
        assert_eq!(v["items"][0]["auditID"], id);
    }

    // Without the client certificate the server refuses the handshake.
    let bad_kc = kubeconfig(dir.path(), &port, false);
    let out = Command::new(BIN)
        .args([
            "send",
            "--audit-webhook-mode",
            "blocking-strict",
            "--audit-webhook-attempts",
            "1",
            "--webhook-config",
        ])
        .arg(&bad_kc)
        .arg(&events)
        .output()
        .expect("send");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("gave up after 1 attempts"), "{stderr}");
    drop(server);
}
