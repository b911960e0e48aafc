//! The running hub: shared state, the batching writer, retention, listeners and TLS.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::auth::Auth;
use crate::config::{parse_duration, parse_size, Config};
use crate::event::{Enricher, Event};
use crate::metrics::Metrics;
use crate::store::{PostgresBackend, Record, SqliteBackend, Store};
use crate::Error;

/// State shared by all request handlers.
#[derive(Debug)]
pub struct Hub {
    /// The configuration the hub runs with.
    pub config: Config,
    /// Alert enrichment.
    pub enricher: Enricher,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The event store (read side; writes go through the queue).
    pub store: Arc<Store>,
    /// Credentials.
    pub auth: Auth,
    /// The enabled outputs last reported by a Falcosidekick (UI payloads).
    pub outputs: Mutex<Vec<String>>,
    /// The forwarders (osprey-forward) every accepted alert is offered to; `None` when no
    /// output is configured, or once the hub stops.
    forwarders: RwLock<Option<Arc<osprey_forward::Forwarders>>>,
    queue: mpsc::WeakSender<Record>,
}

impl Hub {
    /// Queues an event for storage. Waits only when the writer is `storage.queuesize`
    /// events behind, never for a query.
    pub async fn submit(&self, rec: Record) -> Result<(), Error> {
        let stopped = || Error::Store {
            backend: "queue",
            msg: "the hub is stopping".into(),
        };
        let tx = self.queue.upgrade().ok_or_else(stopped)?;
        tx.send(rec).await.map_err(|_| stopped())
    }

    /// Offers an accepted event to the forwarders (never blocks).
    pub fn forward(&self, ev: &Event) {
        let f = self.forwarders.read().ok().and_then(|g| g.clone());
        if let Some(f) = f {
            f.submit(Arc::new(to_alert(ev)));
        }
    }

    /// Names of the running forwarder instances.
    pub fn forwarder_names(&self) -> Vec<String> {
        self.forwarders
            .read()
            .ok()
            .and_then(|g| g.as_ref().map(|f| f.names()))
            .unwrap_or_default()
    }

    /// Per-destination `(destination, ok, error)` delivery counts of the forwarders.
    pub fn forwarder_counts(&self) -> Vec<(&'static str, u64, u64)> {
        let stats = self
            .forwarders
            .read()
            .ok()
            .and_then(|g| g.as_ref().map(|f| f.stats()))
            .unwrap_or_default();
        let mut out: Vec<(&'static str, u64, u64)> = Vec::new();
        for s in stats {
            match out.iter_mut().find(|o| o.0 == s.destination) {
                Some(o) => {
                    o.1 += s.sent;
                    o.2 += s.errors;
                }
                None => out.push((s.destination, s.sent, s.errors)),
            }
        }
        out
    }
}

/// The osprey-forward view of an enriched event.
pub fn to_alert(ev: &Event) -> osprey_forward::Alert {
    osprey_forward::Alert {
        output: Some(ev.output.clone()),
        priority: osprey_forward::Priority::parse(ev.priority.name())
            .unwrap_or(osprey_forward::Priority::Debug),
        rule: ev.rule.clone(),
        time: chrono::DateTime::from_timestamp_nanos(ev.time_ns),
        output_fields: ev
            .output_fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        source: Some(ev.source.clone()),
        tags: (!ev.tags.is_empty()).then(|| ev.tags.clone()),
        hostname: (!ev.hostname.is_empty()).then(|| ev.hostname.clone()),
        uuid: Some(ev.uuid.clone()),
    }
}

/// Opens the store the config names (`sqlite` or `postgres`). Blocks.
pub fn open_store(cfg: &Config) -> Result<Store, Error> {
    let s = &cfg.storage;
    match s.driver.as_str() {
        "" | "sqlite" => Ok(Store::new(Box::new(SqliteBackend::open(
            Path::new(&s.path),
            s.readers,
        )?))),
        "postgres" | "postgresql" => Ok(Store::new(Box::new(PostgresBackend::connect(
            &s.url, s.readers,
        )?))),
        other => Err(Error::Config {
            key: "storage.driver".into(),
            msg: format!("unknown driver {other:?}"),
        }),
    }
}

fn writer_loop(mut rx: mpsc::Receiver<Record>, store: &Store, metrics: &Metrics, batch: usize) {
    let mut buf = Vec::with_capacity(batch);
    while let Some(first) = rx.blocking_recv() {
        buf.push(first);
        while buf.len() < batch {
            match rx.try_recv() {
                Ok(r) => buf.push(r),
                Err(_) => break,
            }
        }
        let n = buf.len() as u64;
        match store.insert(&buf) {
            Ok(()) => {
                metrics.stored(n);
                metrics.output("storage", true);
            }
            Err(_) => {
                metrics.store_error(n);
                metrics.output("storage", false);
            }
        }
        buf.clear();
    }
}

fn load_tls(cfg: &Config) -> Result<Option<tokio_rustls::TlsAcceptor>, Error> {
    let t = &cfg.tlsserver;
    if !t.deploy {
        return Ok(None);
    }
    let tls_err = |path: &str, e: &dyn std::fmt::Display| Error::Tls {
        path: path.to_owned(),
        msg: e.to_string(),
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&t.certfile)
        .map_err(|e| tls_err(&t.certfile, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls_err(&t.certfile, &e))?;
    let key = PrivateKeyDer::from_pem_file(&t.keyfile).map_err(|e| tls_err(&t.keyfile, &e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(&t.certfile, &e))?;
    let builder = if t.mutualtls {
        let mut roots = rustls::RootCertStore::empty();
        for c in
            CertificateDer::pem_file_iter(&t.cacertfile).map_err(|e| tls_err(&t.cacertfile, &e))?
        {
            roots
                .add(c.map_err(|e| tls_err(&t.cacertfile, &e))?)
                .map_err(|e| tls_err(&t.cacertfile, &e))?;
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| tls_err(&t.cacertfile, &e))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut sc = builder
        .with_single_cert(certs, key)
        .map_err(|e| tls_err(&t.keyfile, &e))?;
    sc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(tokio_rustls::TlsAcceptor::from(Arc::new(sc))))
}

async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let svc = TowerToHyperService::new(app.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    let Ok(Ok(s)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await
                    else {
                        return;
                    };
                    let _ = builder.serve_connection(TokioIo::new(s), svc).await;
                }
                None => {
                    let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                }
            }
        });
    }
}

/// A hub running on its own Tokio runtime. Stop it with [`Running::stop`] (dropping it
/// stops it too).
#[derive(Debug)]
pub struct Running {
    /// Address of the main listener.
    pub addr: SocketAddr,
    /// Address of the plain-HTTP listener for `tlsserver.notlspaths`, if any.
    pub notls_addr: Option<SocketAddr>,
    /// Shared state (metrics, store) for callers that embed the hub.
    pub hub: Arc<Hub>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: watch::Sender<bool>,
    queue: Option<mpsc::Sender<Record>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets the writer store every queued event, and returns.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.stop.send(true);
        // Forwarders first, while the runtime still runs their tasks: every alert
        // submitted so far reaches its persistent queue.
        let fwd = self.hub.forwarders.write().ok().and_then(|mut g| g.take());
        if let (Some(mut f), Some(rt)) = (fwd, self.runtime.as_ref()) {
            // A handler may hold a clone for the instant of a submit.
            for _ in 0..100 {
                match Arc::try_unwrap(f) {
                    Ok(owned) => {
                        rt.block_on(owned.shutdown());
                        break;
                    }
                    Err(shared) => {
                        f = shared;
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
        // Handlers only hold weak senders: dropping ours closes the queue once the
        // writer has drained it.
        self.queue = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts a hub with `cfg`: opens the store, binds the listeners and serves in the background.
pub fn start(cfg: Config) -> Result<Running, Error> {
    let store = Arc::new(open_store(&cfg)?);
    start_with_store(cfg, store)
}

/// Starts a hub on an already opened store.
pub fn start_with_store(cfg: Config, store: Arc<Store>) -> Result<Running, Error> {
    let enricher = Enricher::new(&cfg, |k| std::env::var(k).ok())?;
    let extra: Vec<String> = enricher
        .field_keys()
        .map(str::to_owned)
        .chain(
            cfg.prometheus
                .extralabels
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        )
        .collect();
    let metrics = Arc::new(Metrics::new(
        extra.iter().map(String::as_str),
        cfg.prometheus.falcoevents,
    ));
    let max_age = match cfg.storage.maxage.trim() {
        "" => None,
        s => Some(parse_duration(s).ok_or_else(|| Error::Config {
            key: "storage.maxage".into(),
            msg: format!("bad duration {s:?}"),
        })?),
    };
    let max_size = match cfg.storage.maxsize.trim() {
        "" => None,
        s => Some(parse_size(s).ok_or_else(|| Error::Config {
            key: "storage.maxsize".into(),
            msg: format!("bad size {s:?}"),
        })?),
    };
    let interval = parse_duration(&cfg.storage.retentioninterval)
        .filter(|&s| s > 0)
        .ok_or_else(|| Error::Config {
            key: "storage.retentioninterval".into(),
            msg: format!("bad duration {:?}", cfg.storage.retentioninterval),
        })?;
    let tls = load_tls(&cfg)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("hub-http")
        .build()
        .map_err(|source| Error::Io {
            context: "starting the runtime".into(),
            source,
        })?;
    let forwarders = {
        let _entered = runtime.enter();
        let f =
            osprey_forward::Forwarders::from_config(&cfg.outputs).map_err(|e| Error::Config {
                key: "outputs".into(),
                msg: e.to_string(),
            })?;
        (!f.names().is_empty()).then(|| Arc::new(f))
    };
    let (tx, rx) = mpsc::channel(cfg.storage.queuesize.max(1));
    let batch = cfg.storage.batchsize.max(1);
    let writer = {
        let (store, metrics) = (store.clone(), metrics.clone());
        std::thread::Builder::new()
            .name("hub-writer".into())
            .spawn(move || writer_loop(rx, &store, &metrics, batch))
            .map_err(|source| Error::Io {
                context: "starting the writer thread".into(),
                source,
            })?
    };
    let hub = Arc::new(Hub {
        auth: Auth::new(&cfg.auth),
        enricher,
        metrics,
        store,
        outputs: Mutex::new(Vec::new()),
        forwarders: RwLock::new(forwarders),
        queue: tx.downgrade(),
        config: cfg,
    });
    let (stop, stop_rx) = watch::channel(false);
    let c = &hub.config;
    let host = if c.listenaddress.is_empty() {
        "0.0.0.0"
    } else {
        c.listenaddress.as_str()
    };
    let main_addr = format!("{host}:{}", c.listenport);
    let listener = runtime
        .block_on(TcpListener::bind(&main_addr))
        .map_err(|source| Error::Io {
            context: format!("listening on {main_addr}"),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Io {
        context: "local address".into(),
        source,
    })?;
    let app = crate::http::router(hub.clone());
    runtime.spawn(accept_loop(listener, app, tls.clone(), stop_rx.clone()));
    let mut notls_addr = None;
    if tls.is_some() && c.tlsserver.notlsport != 0 {
        let a = format!("{host}:{}", c.tlsserver.notlsport);
        let l = runtime
            .block_on(TcpListener::bind(&a))
            .map_err(|source| Error::Io {
                context: format!("listening on {a}"),
                source,
            })?;
        notls_addr = l.local_addr().ok();
        runtime.spawn(accept_loop(
            l,
            crate::http::notls_router(&hub),
            None,
            stop_rx.clone(),
        ));
    }
    if max_age.is_some() || max_size.is_some() {
        let hub = hub.clone();
        let mut stop_rx = stop_rx;
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(interval));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop_rx.changed() => return,
                }
                let h = hub.clone();
                let age_ns = max_age.map(|s| {
                    i64::try_from(s)
                        .unwrap_or(i64::MAX / 2)
                        .saturating_mul(1_000_000_000)
                });
                let res = tokio::task::spawn_blocking(move || {
                    h.store
                        .apply_retention(crate::http::now_ns(), age_ns, max_size)
                })
                .await;
                if let Ok(Ok(n)) = res {
                    hub.metrics.retention_deleted(n);
                }
            }
        });
    }
    Ok(Running {
        addr,
        notls_addr,
        hub,
        runtime: Some(runtime),
        stop,
        queue: Some(tx),
        writer: Some(writer),
    })
}
