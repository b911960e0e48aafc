//! The state engine: what the system looked like when each event happened.
//!
//! This crate owns the **thread table** (with each process's **fd table**), the
//! **user** and **group** tables, and the per-event context ([`Current`]) that
//! `proc.*`, `thread.*`, `fd.*`, `user.*`, `group.*` and the enter/exit-dependent
//! `evt.*` fields (`evt.latency`, `evt.deltatime`) read. It reproduces the state
//! engine of sysdig 0.29.3 (libsinsp of 2022-03), including its quirks: threads
//! first seen in an event are created with `<NA>` names and `-1` ids, closed fds
//! and exited threads disappear only when the next event arrives, exit events use
//! the fd of the matching enter event, and threads share their main thread's fds
//! and cwd (`CLONE_FILES`/`CLONE_FS`).
//!
//! It also keeps the **container table**: metadata
//! ([`osprey_event::container::ContainerInfo`]) from the container events of
//! captures or from the live runtime clients ([`State::add_container`]),
//! keyed by short id. Each thread finds its container id once, when its
//! cgroups are set ([`Thread::set_cgroups`]), so `container.*` fields cost one
//! table lookup ([`State::container`]); until the metadata arrives only the id
//! is known.
//!
//! [`State::set_full`] switches to **full mode**, for live capture and for
//! captures written by Osprey, whose events are exit-only (one exit event of
//! the newest type per syscall, carrying the arguments, as current drivers
//! emit them): every event type of the table is parsed, and the exits listed
//! in [`FULL_EXIT_EVENTS`] update fds, cwd and ids on their own. The default
//! stays the sysdig 0.29.3 behaviour.
//!
//! It leaves reading captures to `osprey-scap` (which produces the
//! [`osprey_event::snapshot::Snapshot`] and the events), and field extraction,
//! formatting and filtering to `osprey-filter` and the CLI, which read this crate
//! through [`State::current`], [`State::current_thread`] and the lookups.
//!
//! Main types: [`State`], [`Current`], [`Thread`], [`Fd`] ([`FdType`], [`Role`],
//! [`Endpoints`]), [`FdTable`], [`User`], [`Group`].
//!
//! ```
//! use osprey_event::{encode, EventRef};
//! use osprey_state::State;
//!
//! let mut st = State::new();
//! let mut buf = Vec::new();
//! // open enter (name, flags, mode) then open exit (fd=3) on thread 42
//! encode(&mut buf, 1_000, 42, 2, &[b"/etc/passwd\0", &1u32.to_le_bytes(), &0u32.to_le_bytes()]);
//! st.process(&EventRef::parse(&buf, 0, 0).unwrap());
//! encode(&mut buf, 1_500, 42, 3, &[&3i64.to_le_bytes()]);
//! st.process(&EventRef::parse(&buf, 0, 0).unwrap());
//! let cur = st.current();
//! assert_eq!(cur.fd_num, Some(3));
//! assert_eq!(&*cur.fd().unwrap().name, b"/etc/passwd");
//! assert_eq!(cur.enter_ts, Some(1_000)); // evt.latency = 500 ns
//! ```

mod fd;
mod param;
mod state;
mod thread;

pub use fd::{l4, render_tuple, Endpoints, Fd, FdTable, FdType, Role};
pub use state::{CpuShare, Current, Group, State, User, FULL_EXIT_EVENTS, LEGACY_EVENT_MAX};
pub use thread::{clone_flags, Thread};
