//! osprey-hub: a Falcosidekick-compatible alert collector with storage and a web UI.
//!
//! Falco (or osprey-guard) posts JSON alerts to `POST /` exactly as it would to
//! Falcosidekick. The hub validates and enriches them as Falcosidekick does
//! ([`event::Enricher`]: custom fields, templated fields, custom tags, priority parsing),
//! counts them under Falcosidekick's Prometheus names ([`metrics`]) and queues them to a
//! writer thread that stores them in batches ([`store`]: embedded SQLite by default,
//! PostgreSQL to share one store between replicas). The read side speaks
//! Falcosidekick-UI's API (`/api/v1/events/search`, `/count`, `/count/:groupby`) plus
//! the hub's own (`/api/hub/timeline`, `/api/hub/export`, `/api/hub/events/:uuid`), and
//! serves a dashboard ([`ui`]).
//!
//! ```no_run
//! let cfg = osprey_hub::Config::from_yaml_and_env("listenport: 0", |_| None)?;
//! let running = osprey_hub::start(cfg)?;
//! println!("listening on {}", running.addr);
//! running.stop();
//! # Ok::<(), osprey_hub::Error>(())
//! ```

pub mod auth;
pub mod config;
mod error;
pub mod event;
pub mod http;
pub mod metrics;
mod priority;
pub mod server;
pub mod store;
pub mod ui;

/// The Go-template subset of `templatedfields`, shared with osprey-forward (which renders
/// chat `messageformat` with it).
pub use osprey_forward::template;

pub use config::Config;
pub use error::Error;
pub use event::{Enricher, Event};
pub use priority::Priority;
pub use server::{open_store, start, start_with_store, Hub, Running};
pub use store::{Filter, GroupBy, Record, Store};
