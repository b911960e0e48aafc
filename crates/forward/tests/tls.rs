//! Outbound TLS of the HTTP outputs, as Falcosidekick configures it: a client
//! certificate for `mutualtls` outputs (from `mutualtlsclient.*` or the legacy
//! `mutualtlsfilespath` directory), a global CA (`tlsclient.cacertfile`), and
//! `checkcert: false`. The receivers are local HTTPS servers with certificates generated
//! by the test; one of them requires a client certificate signed by the test CA.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use osprey_forward::{Config, Forwarders};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

struct Pki {
    ca_pem: String,
    ca_params: rcgen::CertificateParams,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new() -> Pki {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "forward test CA");
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca = p.self_signed(&ca_key).unwrap();
        Pki {
            ca_pem: ca.pem(),
            ca_params: p,
            ca_key,
        }
    }

    /// A certificate and key signed by the CA, for a server (`127.0.0.1`) or a client.
    fn leaf(&self, client: bool) -> (String, String) {
        let mut p = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
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

/// Serves HTTPS on a free loopback port, counting the requests that reach HTTP; with
/// `client_ca` it requires a client certificate signed by it.
async fn https_server(cert: &str, key: &str, client_ca: Option<&str>) -> (u16, Arc<AtomicUsize>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots.add(c.unwrap()).unwrap();
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let sc = builder.with_single_cert(chain, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(sc));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let app = axum::Router::new().fallback(move || {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            "ok"
        }
    });
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    (port, count)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn forwarders(yaml: &str) -> Forwarders {
    Forwarders::from_config(&Config::from_yaml(yaml).expect("config")).expect("forwarders")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_global_ca_and_checkcert() {
    let (_d, dir) = tempdir();
    let pki = Pki::new();
    let (server_cert, server_key) = pki.leaf(false);
    let (client_cert, client_key) = pki.leaf(true);
    let ca = write(&dir, "ca.pem", &pki.ca_pem);
    let cert = write(&dir, "client.pem", &client_cert);
    let key = write(&dir, "client-key.pem", &client_key);
    let legacy = dir.join("legacy");
    std::fs::create_dir(&legacy).unwrap();
    write(&legacy, "client.crt", &client_cert);
    write(&legacy, "client.key", &client_key);
    write(&legacy, "ca.crt", &pki.ca_pem);
    let (mtls_port, mtls_hits) = https_server(&server_cert, &server_key, Some(&pki.ca_pem)).await;
    let (tls_port, tls_hits) = https_server(&server_cert, &server_key, None).await;
    let q = |sub: &str| queue_yaml(&dir.join(sub));

    // mutualtlsclient files; `anon` trusts the server (tlsclient CA) but has no client
    // certificate, so the server refuses the handshake.
    let f = forwarders(&format!(
        "{}mutualtlsclient: {{certfile: {cert}, keyfile: {key}, cacertfile: {ca}}}\n\
         tlsclient: {{cacertfile: {ca}}}\n\
         webhook:\n\
         \x20 - {{name: mtls, address: 'https://127.0.0.1:{mtls_port}/', mutualtls: true}}\n\
         \x20 - {{name: anon, address: 'https://127.0.0.1:{mtls_port}/'}}\n",
        q("a")
    ));
    submit_range(&f, 0..3);
    wait_for(30, "mTLS delivery and refused anonymous client", || {
        stats(&f, "mtls").sent == 3 && stats(&f, "anon").errors >= 2
    })
    .await;
    assert_eq!(stats(&f, "anon").sent, 0);
    f.shutdown().await;
    assert_eq!(mtls_hits.load(Ordering::SeqCst), 3);

    // The legacy directory form.
    let f = forwarders(&format!(
        "{}mutualtlsfilespath: {}\nwebhook: {{name: legacy, address: 'https://127.0.0.1:{mtls_port}/', mutualtls: true}}\n",
        q("b"),
        legacy.display()
    ));
    submit_range(&f, 0..3);
    wait_for(30, "legacy mTLS delivery", || stats(&f, "legacy").sent == 3).await;
    f.shutdown().await;
    assert_eq!(mtls_hits.load(Ordering::SeqCst), 6);

    // No CA configured: the default verification refuses the test CA's certificate,
    // `checkcert: false` skips verification.
    let f = forwarders(&format!(
        "{}webhook:\n\
         \x20 - {{name: strict, address: 'https://127.0.0.1:{tls_port}/'}}\n\
         \x20 - {{name: insecure, address: 'https://127.0.0.1:{tls_port}/', checkcert: false}}\n",
        q("c")
    ));
    submit_range(&f, 0..3);
    wait_for(30, "insecure delivery and strict refusal", || {
        stats(&f, "insecure").sent == 3 && stats(&f, "strict").errors >= 2
    })
    .await;
    assert_eq!(stats(&f, "strict").sent, 0);
    let err = stats(&f, "strict").last_error.unwrap_or_default();
    f.shutdown().await;
    assert_eq!(tls_hits.load(Ordering::SeqCst), 3, "strict: {err}");

    // mutualtls without any client certificate configured is a setup error.
    let e = Forwarders::from_config(
        &Config::from_yaml(&format!(
            "{}webhook: {{address: 'https://127.0.0.1:1/', mutualtls: true}}\n",
            q("d")
        ))
        .unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("mutualtls"), "{e}");
}
