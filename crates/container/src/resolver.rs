//! The background resolver: one worker thread that owns the runtime clients,
//! fed and drained through channels so that the caller never waits.

use std::collections::HashSet;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Instant;

use osprey_event::container::ContainerInfo;

use crate::{valid_id, Error, Lookup, ResolverOptions, Result};

/// Looks container ids up in a background thread.
///
/// [`request`](Self::request) and [`try_recv`](Self::try_recv) never block.
/// Lookups run one after the other in the worker, each bounded by
/// [`ResolverOptions::timeout`] per runtime; an id that no runtime knows is
/// tried again after [`ResolverOptions::backoff`] (then four times longer each
/// time) up to [`ResolverOptions::attempts`] times, then dropped without a
/// result. Dropping the resolver stops the worker after its current lookup.
#[derive(Debug)]
pub struct Resolver {
    requests: Sender<String>,
    results: Receiver<ContainerInfo>,
    /// Every id ever queued, so that repeats cost one hash lookup.
    seen: HashSet<String>,
}

/// An id waiting for its next try.
struct Job {
    id: String,
    /// Tries made so far.
    tries: u32,
    due: Instant,
}

impl Resolver {
    /// Starts the worker thread. Fails only if the thread cannot be spawned.
    pub fn start(opts: ResolverOptions) -> Result<Self> {
        let (requests, request_rx) = mpsc::channel();
        let (result_tx, results) = mpsc::channel();
        std::thread::Builder::new()
            .name("osprey-container".to_owned())
            .spawn(move || worker(&opts, &request_rx, &result_tx))
            .map_err(Error::Start)?;
        Ok(Self {
            requests,
            results,
            seen: HashSet::new(),
        })
    }

    /// Queues a lookup of `id` (12 or 64 hex digits, or any length between)
    /// and returns at once. Returns whether it was queued: invalid ids and ids
    /// already requested (resolved, failed or pending) are ignored.
    pub fn request(&mut self, id: &str) -> bool {
        if !valid_id(id) || self.seen.contains(id) {
            return false;
        }
        self.seen.insert(id.to_owned());
        // A send fails only when the worker has gone, which it does only
        // after this resolver is dropped.
        self.requests.send(id.to_owned()).is_ok()
    }

    /// A finished lookup, if one is ready; `info.id` is the id as requested.
    pub fn try_recv(&mut self) -> Option<ContainerInfo> {
        self.results.try_recv().ok()
    }
}

fn worker(opts: &ResolverOptions, requests: &Receiver<String>, results: &Sender<ContainerInfo>) {
    let mut cri_rt = None;
    let mut pending: Vec<Job> = Vec::new();
    loop {
        let next_due = pending.iter().map(|j| j.due).min();
        let received = match next_due {
            None => requests.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(due) => requests.recv_timeout(due.saturating_duration_since(Instant::now())),
        };
        match received {
            Ok(id) => pending.push(Job {
                id,
                tries: 0,
                due: Instant::now(),
            }),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        while let Ok(id) = requests.try_recv() {
            pending.push(Job {
                id,
                tries: 0,
                due: Instant::now(),
            });
        }
        let now = Instant::now();
        let mut i = 0;
        while i < pending.len() {
            if pending[i].due > now {
                i += 1;
                continue;
            }
            let mut job = pending.swap_remove(i);
            let mut lookup = Lookup {
                opts,
                cri_rt: &mut cri_rt,
            };
            match lookup.run(&job.id) {
                Ok(info) => {
                    if results.send(info).is_err() {
                        return;
                    }
                }
                Err(_) => {
                    job.tries += 1;
                    if job.tries < opts.attempts {
                        let wait = opts
                            .backoff
                            .saturating_mul(4u32.saturating_pow(job.tries - 1));
                        // A wait too long to represent means never.
                        if let Some(due) = Instant::now().checked_add(wait) {
                            job.due = due;
                            pending.push(job);
                        }
                    }
                }
            }
        }
    }
}
