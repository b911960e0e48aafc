//! What the live driver tests share: an owned event, and a capture of a
//! re-executed child of the test binary.
//!
//! Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use osprey_event::{render_info, EventRef, NoState, RenderOptions};
use osprey_probe::driver::{Config, Driver, Error, Stats};
use std::path::Path;
use std::time::{Duration, Instant};

/// One captured event, owned.
#[derive(Debug, Clone)]
pub(crate) struct Ev {
    /// Event type.
    pub(crate) etype: u16,
    /// The whole record.
    pub(crate) raw: Vec<u8>,
    /// The parameters.
    pub(crate) params: Vec<Vec<u8>>,
}

impl Ev {
    /// Copies `e`.
    pub(crate) fn from(e: &EventRef<'_>) -> Ev {
        Ev {
            etype: e.etype(),
            raw: e.raw().to_vec(),
            params: e.params().map(<[u8]>::to_vec).collect(),
        }
    }
    /// Parameter `i` as an 8-byte integer.
    pub(crate) fn i64(&self, i: usize) -> i64 {
        i64::from_le_bytes(self.params[i].as_slice().try_into().expect("8-byte param"))
    }
    /// Parameter `i` as a 4-byte integer.
    pub(crate) fn u32(&self, i: usize) -> u32 {
        u32::from_le_bytes(self.params[i].as_slice().try_into().expect("4-byte param"))
    }
    /// Parameter `i` as a 2-byte integer.
    pub(crate) fn u16(&self, i: usize) -> u16 {
        u16::from_le_bytes(self.params[i].as_slice().try_into().expect("2-byte param"))
    }
    /// Parameter `i` as a byte.
    pub(crate) fn u8(&self, i: usize) -> u8 {
        let [b] = self.params[i].as_slice() else {
            panic!("1-byte param {i} in {self:?}")
        };
        *b
    }
    /// Parameter `i`'s bytes.
    pub(crate) fn str(&self, i: usize) -> &[u8] {
        &self.params[i]
    }
    /// `evt.info` as sysdig would print it without state.
    pub(crate) fn info(&self) -> String {
        let ev = EventRef::parse(&self.raw, 0, 0).expect("valid event");
        let mut out = Vec::new();
        render_info(&mut out, &ev, &NoState, &RenderOptions::default());
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Says loudly that `test` skipped because of `why`; under `CI=true`, fails.
pub(crate) fn skip_or_fail(test: &str, why: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test} cannot run under CI: {why}");
    }
    eprintln!("\n*** SKIPPED {test}: {why} ***\n");
}

/// What one capture of the child saw.
pub(crate) struct Capture {
    /// The child's events (tid == child pid), in delivery order.
    pub(crate) evs: Vec<Ev>,
    /// The `ratio` of every drop event (DROP_E, 148) delivered.
    pub(crate) drop_events: Vec<u32>,
    /// The driver's counters at the end.
    pub(crate) stats: Stats,
}

/// Captures with `cfg` while this test binary runs again as a child with
/// `child_env` = `dir` (and `extra_env`), until the child's procexit; `None`
/// (after [`skip_or_fail`]) without root or BTF.
pub(crate) fn capture(
    test: &str,
    cfg: &Config,
    child_env: &str,
    dir: &Path,
    extra_env: &[(&str, String)],
) -> Option<Capture> {
    let mut driver = match Driver::open(cfg) {
        Ok(d) => d,
        Err(e @ (Error::NotRoot | Error::NoBtf)) => {
            skip_or_fail(test, &e.to_string());
            return None;
        }
        Err(e) => panic!("driver open: {e}"),
    };
    let exe = std::env::current_exe().expect("current exe");
    let mut c = std::process::Command::new(exe)
        .env(child_env, dir)
        .envs(extra_env.iter().map(|(k, v)| (k, v)))
        .spawn()
        .expect("spawn child");
    let pid = u64::from(c.id());
    let status = c.wait().expect("wait child");
    assert!(status.success(), "child failed: {status}");
    let mut evs = Vec::new();
    let mut drop_events = Vec::new();
    let mut last_ts = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match driver
            .next_event(Duration::from_millis(100))
            .expect("event")
        {
            Some(e) if e.tid() == pid => {
                // The rings are merged by timestamp: one thread's events
                // come in order even when it moves between CPUs.
                assert!(e.ts() >= last_ts, "child's events out of order");
                last_ts = e.ts();
                evs.push(Ev::from(&e));
                if e.etype() == 186 {
                    break;
                }
            }
            Some(e) if e.etype() == 148 => {
                let ratio = e.param(0).and_then(|p| p.try_into().ok());
                drop_events.push(u32::from_le_bytes(ratio.expect("4-byte ratio")));
            }
            _ => {}
        }
    }
    let stats = driver.stats().expect("stats");
    eprintln!(
        "{test}: snaplen {} ring {} only {:?}: {} events of the child, {stats:?}",
        cfg.snaplen,
        cfg.ring_size,
        cfg.only,
        evs.len()
    );
    Some(Capture {
        evs,
        drop_events,
        stats,
    })
}
