//! Tests of the event-type analysis, against hand-computed sets and against
//! brute-force evaluation on every event name.

use osprey_event::render::event_name;
use osprey_event::syscalls::PPM_SC_MAX;
use osprey_event::table::EVENT_COUNT;

use super::{generic_name, EventTypeSet, GENERIC_KEYS};
use crate::fields::catalog::SyscallCatalog;
use crate::{Extract, FieldRef, Filter, Value, Values};

/// `PPM_SC_GETPID`.
const SC_GETPID: u16 = 16;
/// `PPM_SC_OPEN`.
const SC_OPEN: u16 = 5;
/// `PPM_SC_READ`.
const SC_READ: u16 = 3;

fn types(src: &str) -> EventTypeSet {
    Filter::compile(src, &SyscallCatalog)
        .unwrap_or_else(|e| panic!("{src}: {}", e.display_with_caret(src)))
        .event_types()
}

fn names(names: &[&str]) -> EventTypeSet {
    names.iter().fold(EventTypeSet::none(), |s, n| {
        s.union(&EventTypeSet::from_name(n))
    })
}

#[test]
fn from_name_covers_every_version_and_the_generic_code() {
    let open = EventTypeSet::from_name("open");
    let expected: Vec<u16> = (2..EVENT_COUNT as u16)
        .filter(|&t| event_name(t) == Some("open"))
        .collect();
    assert!(expected.len() >= 2, "open has enter and exit events");
    // Generic events of PPM_SC_OPEN count too, so 0 and 1 come first.
    assert_eq!(open.iter().collect::<Vec<_>>()[2..], expected[..]);
    assert!(open.contains(0) && open.contains(1));
    assert!(open.contains_generic(SC_OPEN));
    assert!(!open.contains_generic(SC_READ));
    assert_eq!(open.generic_codes().collect::<Vec<_>>(), [SC_OPEN]);
    assert_eq!(open.syscall_names(), ["open"]);
}

#[test]
fn eq_and_in() {
    assert_eq!(types("evt.type = open"), EventTypeSet::from_name("open"));
    assert_eq!(types("evt.type == open"), EventTypeSet::from_name("open"));
    assert_eq!(
        types("evt.type in (open, read, execve)").syscall_names(),
        ["execve", "open", "read"]
    );
    assert_eq!(
        types("evt.type intersects (open, read)"),
        names(&["open", "read"])
    );
    assert_eq!(
        types("evt.type = oneof (open, read)"),
        names(&["open", "read"])
    );
    assert_eq!(types("evt.type = allof (open, read)"), EventTypeSet::none());
}

#[test]
fn ne_and_not_complement() {
    let not_open = EventTypeSet::from_name("open").complement();
    assert_eq!(types("evt.type != open"), not_open);
    assert_eq!(types("not evt.type = open"), not_open);
    assert_eq!(types("not not evt.type = open"), types("evt.type = open"));
    assert_eq!(
        types("not evt.type in (open, read)"),
        names(&["open", "read"]).complement()
    );
    let s = types("evt.type != open");
    assert!(!s.contains(2) && !s.contains(3));
    assert!(s.contains(0), "other generic syscalls stay");
    assert!(!s.contains_generic(SC_OPEN) && s.contains_generic(SC_GETPID));
    assert!(!s.syscall_names().contains(&"open"));
    assert!(s.syscall_names().contains(&"read"));
}

#[test]
fn and_intersects_or_unites() {
    assert_eq!(
        types("evt.type in (open, read) and evt.type in (read, write)"),
        EventTypeSet::from_name("read")
    );
    assert_eq!(
        types("evt.type = open or evt.type = read or evt.type = close"),
        names(&["open", "read", "close"])
    );
    assert_eq!(
        types("evt.type = open and evt.type != open"),
        EventTypeSet::none()
    );
    assert_eq!(
        types("evt.type = open and proc.name = cat"),
        EventTypeSet::from_name("open")
    );
    assert!(types("evt.type = open or proc.name = cat").is_all());
}

#[test]
fn other_checks_are_unknown_under_negation_too() {
    for src in [
        "proc.name = cat",
        "not proc.name = cat",
        "not (proc.name = cat and fd.num > 3)",
        "not (evt.type = open and proc.name = cat)",
        "evt.dir = '<'",
        "not evt.dir = '<'",
        "evt.type = val(proc.name)",
        "not evt.type = val(proc.name)",
        "evt.type exists",
        "evt.num = 0 or evt.type = open",
    ] {
        assert!(types(src).is_all(), "{src}");
    }
    // Both sides must be false: the other check may be, open must not be.
    assert_eq!(
        types("not (evt.type = open or proc.name = cat)"),
        EventTypeSet::from_name("open").complement()
    );
    assert_eq!(
        types("not (evt.type = open or proc.name = cat) and evt.type in (open, read)"),
        EventTypeSet::from_name("read")
    );
}

#[test]
fn nested() {
    assert_eq!(
        types("(evt.type in (open, openat) or evt.type = read) and not evt.type = openat"),
        names(&["open", "read"])
    );
    assert_eq!(
        types("evt.type in (open, read) and not (evt.type = read and proc.name = cat)"),
        names(&["open", "read"])
    );
    assert_eq!(
        types(
            "((evt.type = open and proc.name = a) or (evt.type = read and fd.num = 3)) \
             and not (evt.type = open or evt.type = close)"
        ),
        EventTypeSet::from_name("read")
    );
    assert_eq!(
        types("not (evt.type != open and evt.type != read)"),
        names(&["open", "read"])
    );
}

#[test]
fn unknown_names_are_empty_not_all() {
    assert!(types("evt.type = nosuchevent").is_empty());
    assert!(types("evt.type in (nosuch, other)").is_empty());
    assert_eq!(
        types("evt.type = nosuch or evt.type = open"),
        EventTypeSet::from_name("open")
    );
    assert!(types("evt.type != nosuch").is_all());
    assert!(
        types("evt.type = OPEN").is_empty(),
        "names are case-sensitive"
    );
    assert!(
        types("evt.type = scapevent").is_empty(),
        "sysdig calls it sysdigevent"
    );
    assert!(!types("evt.type = sysdigevent").is_empty());
}

#[test]
fn generic_syscalls_are_narrowed_by_name() {
    let s = types("evt.type = getpid");
    assert_eq!(s.iter().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(s.generic_codes().collect::<Vec<_>>(), [SC_GETPID]);
    assert_eq!(s.syscall_names(), ["getpid"]);
    // An ID past the code table shows as `syscall`.
    let s = types("evt.type = syscall");
    assert!(s.contains_generic(u16::MAX) && s.contains_generic(PPM_SC_MAX as u16));
    assert_eq!(s.generic_codes().count(), 0);
    assert!(s.syscall_names().is_empty());
    // Code 0 is `<unknown>`.
    let s = types("evt.type = '<unknown>'");
    assert!(s.contains_generic(0));
    assert!(s.syscall_names().is_empty());
}

#[test]
fn string_operators_and_transformers_are_exact() {
    let s = types("evt.type startswith open");
    for n in ["open", "openat", "openat2", "open_by_handle_at"] {
        assert!(EventTypeSet::from_name(n).intersection(&s) == EventTypeSet::from_name(n));
    }
    assert!(!s.syscall_names().contains(&"read"));
    assert_eq!(types("evt.type glob 'open*'"), s);
    assert_eq!(types("evt.type regex 'open.*'"), s);
    assert_eq!(
        types("toupper(evt.type) = OPEN"),
        EventTypeSet::from_name("open")
    );
    assert_eq!(types("evt.type pmatch (/x)"), EventTypeSet::none());
    let four = types("len(evt.type) = 4");
    assert!(four.syscall_names().contains(&"read"));
    assert!(!four.syscall_names().contains(&"write"));
}

#[test]
fn set_operations() {
    let all = EventTypeSet::all();
    let none = EventTypeSet::none();
    assert!(all.is_all() && !all.is_empty());
    assert!(none.is_empty() && !none.is_all());
    assert_eq!(all.complement(), none);
    assert_eq!(none.complement(), all);
    assert_eq!(EventTypeSet::default(), none);
    assert_eq!(all.iter().count(), EVENT_COUNT);
    assert_eq!(all.generic_codes().count(), PPM_SC_MAX);
    assert!(!all.contains(EVENT_COUNT as u16), "past the table");
    let open = EventTypeSet::from_name("open");
    assert_eq!(open.union(&open.complement()), all);
    assert_eq!(open.intersection(&open.complement()), none);
    let mut s = none;
    s.insert(3);
    s.insert(EVENT_COUNT as u16);
    assert_eq!(s.iter().collect::<Vec<_>>(), [3]);
    s.insert_generic(SC_GETPID);
    assert_eq!(s.iter().collect::<Vec<_>>(), [0, 1, 3]);
    s.insert(1);
    assert_eq!(s.generic_codes().count(), PPM_SC_MAX);
    assert_eq!(format!("{all:?}"), "EventTypeSet(all)");
    assert_eq!(
        format!("{:?}", types("evt.type = getpid")),
        "EventTypeSet { types: [0, 1], generic: [16] }"
    );
}

#[test]
fn works_through_macros() {
    use crate::ast::Expr;
    use crate::Resolver;
    struct Macros(Expr);
    impl Resolver for Macros {
        fn macro_expr(&self, name: &str) -> Option<&Expr> {
            (name == "spawned_process").then_some(&self.0)
        }
    }
    let m = Macros(crate::parse("evt.type in (execve, execveat) and evt.dir = '<'").unwrap());
    let f =
        Filter::compile_with("spawned_process and proc.name = bash", &SyscallCatalog, &m).unwrap();
    assert_eq!(f.event_types().syscall_names(), ["execve", "execveat"]);
}

/// One event for the brute force: an `evt.type` name and two other fields.
struct World {
    name: &'static str,
    proc_name: Option<&'static str>,
    fd_num: Option<i64>,
}

impl Extract for World {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        match &*field.name {
            "evt.type" => out.push_bytes(self.name.as_bytes()),
            "proc.name" => match self.proc_name {
                Some(n) => out.push_bytes(n.as_bytes()),
                None => return false,
            },
            "fd.num" => match self.fd_num {
                Some(n) => out.push(Value::Int(n)),
                None => return false,
            },
            _ => return false,
        }
        true
    }
}

/// Filters for the brute force; `true` when they read only `evt.type`, so
/// the set must be exact rather than a superset.
const FILTERS: &[(&str, bool)] = &[
    ("evt.type = open", true),
    ("evt.type != open", true),
    ("not evt.type = open", true),
    ("evt.type in (open, read, getpid)", true),
    ("not evt.type in (open, read, getpid)", true),
    ("evt.type = nosuch", true),
    ("evt.type != nosuch", true),
    ("evt.type = getpid or evt.type = syscall", true),
    ("evt.type in (open, read) and evt.type != read", true),
    ("not (evt.type = open or evt.type = read)", true),
    ("not (evt.type != open and evt.type != read)", true),
    ("evt.type contains at", true),
    ("evt.type glob '*at'", true),
    ("not evt.type startswith s", true),
    ("evt.type > write", true),
    ("evt.type = open and proc.name = cat", false),
    ("evt.type = open or proc.name = cat", false),
    ("not (evt.type = open or proc.name = cat)", false),
    ("not (evt.type = open and proc.name = cat)", false),
    ("not (evt.type != open or proc.name != cat)", false),
    (
        "evt.type in (open, read) and not (evt.type = read and fd.num > 3)",
        false,
    ),
    (
        "(evt.type = open and fd.num = 0) or (evt.type = read and not fd.num exists)",
        false,
    ),
    (
        "not ((evt.type = open and fd.num = 0) or evt.type != read)",
        false,
    ),
    ("proc.name = cat", false),
    ("not proc.name exists", false),
    ("proc.name = cat or not proc.name = cat", false),
    ("evt.type = val(proc.name)", false),
    ("evt.type != val(proc.name)", false),
    (
        "not (evt.type = open and not (proc.name = bash or fd.num < 3))",
        false,
    ),
    (
        "evt.type = getpid and not (proc.name = cat and evt.type = getpid)",
        false,
    ),
    (
        "evt.type in (close, getpid) and (proc.name in (cat, bash) or not fd.num = 5)",
        false,
    ),
    (
        "not (not evt.type = close or not (proc.name = cat or evt.type = read))",
        false,
    ),
    (
        "not (evt.type = open and proc.name = cat) and evt.type in (open, read)",
        false,
    ),
    (
        "(evt.type = open or fd.num = 5) and (evt.type = read or proc.name = cat)",
        false,
    ),
    (
        "not ((evt.type = open or fd.num = 5) and (evt.type = read or proc.name = cat))",
        false,
    ),
];

/// Every evt.type key: `(Some(type), name)` for event types, `(None, name)`
/// with the generic code for generic events.
fn keys() -> impl Iterator<Item = (Result<u16, u16>, &'static str)> {
    let types = (2..EVENT_COUNT as u16).filter_map(|t| Some((Ok(t), event_name(t)?)));
    let generic = (0..GENERIC_KEYS).map(|k| (Err(k as u16), generic_name(k)));
    types.chain(generic)
}

#[test]
fn brute_force_superset_and_exact_when_pure() {
    let worlds: Vec<(Option<&'static str>, Option<i64>)> = [None, Some("cat"), Some("bash")]
        .into_iter()
        .flat_map(|p| [None, Some(0), Some(5)].map(|f| (p, f)))
        .collect();
    for &(src, pure) in FILTERS {
        let f = Filter::compile(src, &SyscallCatalog).unwrap();
        let set = f.event_types();
        let mut matched = EventTypeSet::none();
        for (key, name) in keys() {
            let hit = worlds.iter().any(|&(proc_name, fd_num)| {
                f.matches(&World {
                    name,
                    proc_name,
                    fd_num,
                })
            });
            if !hit {
                continue;
            }
            let (inside, what) = match key {
                Ok(t) => {
                    matched.insert(t);
                    (set.contains(t), format!("type {t} ({name})"))
                }
                Err(c) => {
                    matched.insert_generic(c);
                    (
                        set.contains_generic(c),
                        format!("generic code {c} ({name})"),
                    )
                }
            };
            assert!(inside, "{src}: {what} matches but is not in {set:?}");
        }
        if pure {
            assert_eq!(set, matched, "{src}: not exact");
        }
    }
}

#[test]
fn fields_the_type_decides_are_exact() {
    use osprey_event::table::{flags, info};
    let io = |t: u16| {
        info(t).is_some_and(|i| i.flags & (flags::READS_FROM_FD | flags::WRITES_TO_FD) != 0)
    };
    let s = types("evt.is_io=true");
    for t in 2..EVENT_COUNT as u16 {
        assert_eq!(s.contains(t), io(t), "type {t}");
    }
    // Generic events read and write no fd.
    assert!(!s.contains_generic(SC_GETPID));
    assert_eq!(types("evt.is_io=false"), s.complement());
    assert_eq!(types("not evt.is_io=true"), s.complement());
    let read = types("evt.is_io_read=true");
    let write = types("evt.is_io_write=true");
    assert_eq!(read.union(&write), s);
    assert!(!read.is_empty() && !write.is_empty() && read != write);
    // Combined with evt.type, and unknown next to other fields.
    assert_eq!(
        types("evt.is_io=true and evt.type in (read, open)"),
        s.intersection(&names(&["read", "open"]))
    );
    assert!(types("evt.is_io=true or proc.name=cat").is_all());
}
