//! Names for addresses, behind `fd.cip.name`, `fd.sip.name`, `fd.lip.name` and
//! `fd.rip.name`.
//!
//! As in libsinsp, these fields know only the names that filters compare them
//! with: compiling `fd.sip.name = kubernetes.default.svc.cluster.local` (or an
//! `in` list of names) registers each name, which is resolved at once and then
//! again every [`REFRESH`] by a background thread. An address shows the name
//! that last resolved to it; an address no registered name resolves to has no
//! name.
//!
//! Looking an address up costs one atomic load and a hash lookup: the table is
//! swapped whole when a resolution changes it, never locked by readers.

use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// How often registered names are resolved again.
pub const REFRESH: Duration = Duration::from_secs(30);

/// Address → name, as last resolved.
type Table = HashMap<IpAddr, Arc<str>>;

struct Dns {
    /// Registered names, in registration order.
    names: Mutex<Vec<String>>,
    /// The current table.
    table: ArcSwap<Table>,
}

static DNS: OnceLock<Dns> = OnceLock::new();

fn dns() -> &'static Dns {
    DNS.get_or_init(|| {
        let dns = Dns {
            names: Mutex::new(Vec::new()),
            table: ArcSwap::from_pointee(Table::new()),
        };
        // The refresher lives as long as the process; if it cannot start,
        // names keep the addresses they resolved to when registered.
        let _ = std::thread::Builder::new()
            .name("dns-refresh".into())
            .spawn(|| loop {
                std::thread::sleep(REFRESH);
                if let Some(d) = DNS.get() {
                    d.refresh();
                }
            });
        dns
    })
}

impl Dns {
    /// Resolves every registered name and publishes the new table.
    fn refresh(&self) {
        let names = self
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut table = Table::new();
        for name in &names {
            for ip in resolve(name) {
                table.entry(ip).or_insert_with(|| Arc::from(name.as_str()));
            }
        }
        self.table.store(Arc::new(table));
    }
}

/// The addresses `name` resolves to now (none when it does not resolve).
fn resolve(name: &str) -> Vec<IpAddr> {
    // An address literal names itself; anything else goes to the resolver
    // (/etc/hosts, then DNS, as the C library is configured).
    if let Ok(ip) = name.parse::<IpAddr>() {
        return vec![ip];
    }
    (name, 0)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default()
}

/// Registers names a filter compares an address-name field with, and
/// resolves the new ones before returning (this happens while filters
/// compile, never per event).
pub fn register<'a>(names: impl IntoIterator<Item = &'a str>) {
    let d = dns();
    let added = {
        let mut known = d.names.lock().unwrap_or_else(PoisonError::into_inner);
        let before = known.len();
        for n in names {
            let n = n.trim();
            if !n.is_empty() && !known.iter().any(|k| k == n) {
                known.push(n.to_owned());
            }
        }
        known.len() > before
    };
    if added {
        d.refresh();
    }
}

/// Calls `f` with the name that resolved to `ip`, if any; returns what `f`
/// returned.
pub fn with_name_of<R>(ip: IpAddr, f: impl FnOnce(&str) -> R) -> Option<R> {
    let table = DNS.get()?.table.load();
    table.get(&ip).map(|n| f(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn registered_names_name_their_addresses() {
        register(["localhost", "192.0.2.7", "no-such-host.invalid"]);
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert_eq!(
            with_name_of(lo, str::to_owned).as_deref(),
            Some("localhost")
        );
        let lit = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        assert_eq!(
            with_name_of(lit, str::to_owned).as_deref(),
            Some("192.0.2.7")
        );
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8));
        assert_eq!(with_name_of(other, str::to_owned), None);
    }
}
