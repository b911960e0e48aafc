//! Container metadata from the container runtimes, looked up in the
//! background so that event processing never waits for it.
//!
//! This crate owns the runtime clients:
//! - the Docker Engine API over its unix socket (`/containers/<id>/json`,
//!   `/images/<id>/json`), hand-rolled HTTP/1.1 on [`std::os::unix::net`];
//! - podman's Docker-compatible API on its socket, the same client;
//! - the Kubernetes CRI over gRPC (containerd, cri-o): `ContainerStatus`
//!   (verbose) and `PodSandboxStatus`, with tonic on a private tokio runtime
//!   inside the worker thread.
//!
//! Each answer is mapped, as sysdig's libsinsp maps it, to the neutral
//! [`ContainerInfo`](osprey_event::container::ContainerInfo) of
//! `osprey-event`. Keeping containers per id, and the `container.*` fields,
//! is left to `osprey-state` and `osprey-filter`; taking the id from a cgroup
//! path is left to `osprey-event`.
//!
//! The main type is [`Resolver`]: [`Resolver::request`] queues an id and
//! returns at once, [`Resolver::try_recv`] hands back finished lookups.
//! [`lookup_once`] does one blocking lookup, for tools and tests.
//!
//! ```no_run
//! use osprey_container::{Resolver, ResolverOptions};
//!
//! let mut resolver = Resolver::start(ResolverOptions::default())?;
//! resolver.request("3f4e8a1b2c9d"); // never blocks
//! // ... later, between events:
//! while let Some(info) = resolver.try_recv() {
//!     println!("{} is {} ({})", info.id, info.name, info.image);
//! }
//! # Ok::<(), osprey_container::Error>(())
//! ```

mod cri;
mod docker;
mod http;
mod image;
mod resolver;

use std::path::{Path, PathBuf};
use std::time::Duration;

use osprey_event::container::{ContainerInfo, Runtime};

pub use resolver::Resolver;

/// Where to find the runtimes, and how long to wait for them.
#[derive(Debug, Clone)]
pub struct ResolverOptions {
    /// The Docker Engine socket; `None` to not ask Docker.
    /// Default `/var/run/docker.sock`.
    pub docker: Option<PathBuf>,
    /// podman's Docker-compatible API socket; `None` to not ask podman.
    /// Default `/run/podman/podman.sock`.
    pub podman: Option<PathBuf>,
    /// CRI sockets (containerd, cri-o), asked in this order. Default: those of
    /// `/run/containerd/containerd.sock`, `/run/crio/crio.sock` and
    /// `/run/k3s/containerd/containerd.sock` that exist.
    pub cri: Vec<PathBuf>,
    /// The longest one runtime may take to answer one lookup. Default 2 s.
    pub timeout: Duration,
    /// How many times a lookup that no runtime answers is tried before the
    /// [`Resolver`] gives up on the id. Default 4.
    pub attempts: u32,
    /// The wait before the first retry; each later wait is four times the
    /// one before. Default 500 ms.
    pub backoff: Duration,
}

impl Default for ResolverOptions {
    fn default() -> Self {
        let cri = [
            "/run/containerd/containerd.sock",
            "/run/crio/crio.sock",
            "/run/k3s/containerd/containerd.sock",
        ]
        .into_iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect();
        Self {
            docker: Some(PathBuf::from("/var/run/docker.sock")),
            podman: Some(PathBuf::from("/run/podman/podman.sock")),
            cri,
            timeout: Duration::from_secs(2),
            attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Why a lookup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The id is not 12 to 64 hex digits.
    #[error("invalid container id {id:?}: expected 12 to 64 hex digits")]
    InvalidId {
        /// The id as given.
        id: String,
    },
    /// None of the configured runtime sockets exists.
    #[error("no container runtime socket found")]
    NoRuntime,
    /// Every runtime that was asked failed or does not know the id.
    #[error("container {id}: no runtime knows it ({})", join(.tried))]
    NotFound {
        /// The id looked up.
        id: String,
        /// What each runtime answered, in the order asked.
        tried: Vec<Error>,
    },
    /// Connecting to the socket failed (nobody listens, permissions).
    #[error("{}: cannot connect: {source}", socket.display())]
    Connect {
        /// The socket.
        socket: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Reading or writing the connection failed.
    #[error("{}: GET {path}: {source}", socket.display())]
    Io {
        /// The socket.
        socket: PathBuf,
        /// The request path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The server's answer is not valid HTTP.
    #[error("{}: GET {path}: bad HTTP response at byte {offset}: {reason}", socket.display())]
    Http {
        /// The socket.
        socket: PathBuf,
        /// The request path.
        path: String,
        /// Byte offset in the response where it went wrong.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// The server answered with an HTTP status other than 200.
    #[error("{}: GET {path}: HTTP {status}: {message}", socket.display())]
    Status {
        /// The socket.
        socket: PathBuf,
        /// The request path.
        path: String,
        /// HTTP status code (404: no such container).
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The body is not the JSON expected.
    #[error("{}: GET {path}: bad JSON at line {line} column {column}: {source}", socket.display())]
    Json {
        /// The socket.
        socket: PathBuf,
        /// The request path.
        path: String,
        /// Line in the body (1-based).
        line: usize,
        /// Column in the line (1-based).
        column: usize,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A gRPC call failed (`NotFound` for an unknown container).
    #[error("{}: {method}: gRPC {code}: {message}", socket.display())]
    Grpc {
        /// The socket.
        socket: PathBuf,
        /// The full method name.
        method: &'static str,
        /// The gRPC status code's name.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The runtime did not answer in time.
    #[error("{}: {what}: timed out", socket.display())]
    Timeout {
        /// The socket.
        socket: PathBuf,
        /// What was asked.
        what: String,
    },
    /// The CRI client's runtime or the worker thread could not be started.
    #[error("cannot start the lookup worker: {0}")]
    Start(#[source] std::io::Error),
}

fn join(errors: &[Error]) -> String {
    let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
    parts.join("; ")
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether `id` looks like a container id: 12 to 64 hex digits.
pub(crate) fn valid_id(id: &str) -> bool {
    (12..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Looks `id` up once, blocking: Docker, then podman, then each CRI socket;
/// sockets that do not exist are skipped. The first runtime that knows the id
/// answers. `info.id` is `id` as given.
pub fn lookup_once(opts: &ResolverOptions, id: &str) -> Result<ContainerInfo> {
    let mut cri_rt = None;
    Lookup {
        opts,
        cri_rt: &mut cri_rt,
    }
    .run(id)
}

/// One lookup, with the CRI runtime kept by the caller between lookups.
pub(crate) struct Lookup<'a> {
    pub(crate) opts: &'a ResolverOptions,
    pub(crate) cri_rt: &'a mut Option<tokio::runtime::Runtime>,
}

impl Lookup<'_> {
    pub(crate) fn run(&mut self, id: &str) -> Result<ContainerInfo> {
        if !valid_id(id) {
            return Err(Error::InvalidId { id: id.to_owned() });
        }
        let opts = self.opts;
        let present = |p: &Option<PathBuf>| p.clone().filter(|p| p.exists());
        let mut tried = Vec::new();
        let docker_like = [
            (present(&opts.docker), Runtime::Docker),
            (present(&opts.podman), Runtime::Podman),
        ];
        for (socket, runtime) in docker_like {
            let Some(socket) = socket else { continue };
            match docker::lookup(&socket, runtime, id, opts.timeout) {
                Ok(info) => return Ok(info),
                Err(e) => tried.push(e),
            }
        }
        for socket in opts.cri.iter().filter(|p| p.exists()) {
            match self.cri(socket, id) {
                Ok(info) => return Ok(info),
                Err(e) => tried.push(e),
            }
        }
        if tried.is_empty() {
            return Err(Error::NoRuntime);
        }
        Err(Error::NotFound {
            id: id.to_owned(),
            tried,
        })
    }

    fn cri(&mut self, socket: &Path, id: &str) -> Result<ContainerInfo> {
        let rt = match self.cri_rt.take() {
            Some(rt) => rt,
            None => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(Error::Start)?,
        };
        let result = cri::lookup(&rt, socket, id, self.opts.timeout);
        *self.cri_rt = Some(rt);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("0123456789ab"));
        assert!(valid_id(&"a".repeat(64)));
        assert!(!valid_id("0123456789a"));
        assert!(!valid_id(&"a".repeat(65)));
        assert!(!valid_id("../../../etc"));
        let err = lookup_once(&ResolverOptions::default(), "x/../y").unwrap_err();
        assert!(matches!(err, Error::InvalidId { .. }), "{err}");
    }

    #[test]
    fn no_sockets() {
        let opts = ResolverOptions {
            docker: Some("/nonexistent/docker.sock".into()),
            podman: None,
            cri: vec!["/nonexistent/cri.sock".into()],
            ..ResolverOptions::default()
        };
        let err = lookup_once(&opts, "0123456789ab").unwrap_err();
        assert!(matches!(err, Error::NoRuntime), "{err}");
    }
}
