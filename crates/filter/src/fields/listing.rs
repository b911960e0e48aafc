//! The `-l`/`-lv` field listing and the `-L` event listing, in sysdig's layout.

use std::io::{self, Write};

use osprey_event::table::{category, flags, EVENTS};
use osprey_event::ParamType;

use super::catalog::{FieldFlags, CLASSES, FIELDS};

/// Column where descriptions start; names at least this long get a line of their own.
const TEXT_COLUMN: usize = 30;
/// A word is moved to the next line when it would end past this column.
const WRAP_COLUMN: usize = 119;
/// The banner that opens each class.
const BANNER: &str = "-------------------------------";

/// Prints the field listing of `sysdig -l` (`verbose`: `-lv`, with the types):
/// sysdig 0.29.3's fields only, [`list_fields_with`] without the newer ones.
pub fn list_fields(out: &mut impl Write, verbose: bool) -> io::Result<()> {
    list_fields_with(out, verbose, false)
}

/// Prints the field listing in sysdig's layout (`verbose`: with the types);
/// `newer` adds the fields of current libs that sysdig 0.29.3 lacks
/// ([`FieldFlags::NEWER`]), each after sysdig's fields of its class.
///
/// One block per class: a banner, `Field Class:` and `Description:` lines, a blank
/// line, one entry per listed field, and a blank line. Text is wrapped at sysdig's
/// width with continuation lines indented to column 30.
pub fn list_fields_with(out: &mut impl Write, verbose: bool, newer: bool) -> io::Result<()> {
    let mut text = String::new();
    for class in CLASSES {
        writeln!(out, "{BANNER}")?;
        writeln!(out, "{:<TEXT_COLUMN$}{}", "Field Class:", class.title())?;
        write!(out, "{:<TEXT_COLUMN$}", "Description:")?;
        write_wrapped(out, class.desc())?;
        writeln!(out)?;
        writeln!(out)?;
        // The catalogue has each class's newer fields after sysdig's.
        for f in FIELDS.iter().filter(|f| {
            f.class == class && !f.has(FieldFlags::HIDDEN) && (newer || !f.has(FieldFlags::NEWER))
        }) {
            text.clear();
            if verbose {
                text.push_str("(Type: ");
                text.push_str(param_type_name(f.ty));
                text.push_str(") ");
            }
            if f.has(FieldFlags::FILTER_ONLY) {
                text.push_str("(FILTER ONLY) ");
            }
            text.push_str(f.desc);
            write_entry(out, f.name, &text)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// Writes one field entry: the name padded to column 30 (or alone on its line
/// when longer), then the wrapped text.
fn write_entry(out: &mut impl Write, name: &str, text: &str) -> io::Result<()> {
    if name.len() >= TEXT_COLUMN {
        writeln!(out, "{name}")?;
        write!(out, "{:TEXT_COLUMN$}", "")?;
    } else {
        write!(out, "{name:<TEXT_COLUMN$}")?;
    }
    write_wrapped(out, text)?;
    writeln!(out)
}

/// Writes `text` word by word, each followed by a space, starting at column 30,
/// breaking lines before a word that would end past [`WRAP_COLUMN`].
fn write_wrapped(out: &mut impl Write, text: &str) -> io::Result<()> {
    let mut col = TEXT_COLUMN;
    for word in text.split_whitespace() {
        if col > TEXT_COLUMN && col + word.len() > WRAP_COLUMN {
            write!(out, "\n{:TEXT_COLUMN$}", "")?;
            col = TEXT_COLUMN;
        }
        write!(out, "{word} ")?;
        col += word.len() + 1;
    }
    Ok(())
}

/// Prints the event listing of `sysdig -L`: one line per event type in table
/// order, `> name(TYPE param, ...)` for enter and `<` for exit events, skipping
/// unused slots, old versions of events and internal events (sysdig's rule).
pub fn list_events(out: &mut impl Write) -> io::Result<()> {
    for e in EVENTS.iter().filter(|e| {
        e.flags & (flags::UNUSED | flags::OLD_VERSION) == 0 && e.category & category::INTERNAL == 0
    }) {
        write!(out, "{} {}(", e.dir.as_char(), e.name)?;
        for (i, p) in e.params.iter().enumerate() {
            if i > 0 {
                out.write_all(b", ")?;
            }
            write!(out, "{} {}", param_type_name(p.ty), p.name)?;
        }
        out.write_all(b")\n")?;
    }
    Ok(())
}

/// The name sysdig prints for a parameter or field type (`PT_DYN` is `DYNAMIC`).
pub fn param_type_name(ty: ParamType) -> &'static str {
    use ParamType as T;
    match ty {
        T::None => "NONE",
        T::Int8 => "INT8",
        T::Int16 => "INT16",
        T::Int32 => "INT32",
        T::Int64 => "INT64",
        T::Uint8 => "UINT8",
        T::Uint16 => "UINT16",
        T::Uint32 => "UINT32",
        T::Uint64 => "UINT64",
        T::CharBuf => "CHARBUF",
        T::ByteBuf => "BYTEBUF",
        T::Errno => "ERRNO",
        T::SockAddr => "SOCKADDR",
        T::SockTuple => "SOCKTUPLE",
        T::Fd => "FD",
        T::Pid => "PID",
        T::FdList => "FDLIST",
        T::FsPath => "FSPATH",
        T::SyscallId => "SYSCALLID",
        T::SigType => "SIGTYPE",
        T::RelTime => "RELTIME",
        T::AbsTime => "ABSTIME",
        T::Port => "PORT",
        T::L4Proto => "L4PROTO",
        T::SockFamily => "SOCKFAMILY",
        T::Bool => "BOOL",
        T::Ipv4Addr => "IPV4ADDR",
        T::Dyn => "DYNAMIC",
        T::Flags8 => "FLAGS8",
        T::Flags16 => "FLAGS16",
        T::Flags32 => "FLAGS32",
        T::Uid => "UID",
        T::Gid => "GID",
        T::Double => "DOUBLE",
        T::SigSet => "SIGSET",
        T::CharBufArray => "CHARBUFARRAY",
        T::CharBufPairArray => "CHARBUF_PAIR_ARRAY",
        T::Ipv4Net => "IPV4NET",
        T::Ipv6Addr => "IPV6ADDR",
        T::Ipv6Net => "IPV6NET",
        T::IpAddr => "IPADDR",
        T::IpNet => "IPNET",
        T::Mode => "MODE",
        T::FsRelPath => "FSRELPATH",
        T::EnumFlags8 => "ENUMFLAGS8",
        T::EnumFlags16 => "ENUMFLAGS16",
        T::EnumFlags32 => "ENUMFLAGS32",
        T::Fd32 => "FD32",
        T::Pid32 => "PID32",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> Option<String> {
        let path = format!(
            "{}/../../../shared/specs/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        match std::fs::read_to_string(&path) {
            Ok(s) => Some(s),
            Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("missing fixture {path}: {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: fixture {path} unavailable: {e}");
                None
            }
        }
    }

    /// The classes we implement, by their listing title.
    fn ours(title: &str) -> bool {
        CLASSES.iter().any(|c| c.title() == title)
    }

    /// Field entries of a `-l`/`-lv` listing: (class title, name, the entry's lines).
    fn entries(listing: &str) -> Vec<(String, String, Vec<String>)> {
        let mut out: Vec<(String, String, Vec<String>)> = Vec::new();
        let mut class = String::new();
        // Inside a class, the first blank line opens the field list, the second closes it.
        let mut blanks = 0;
        for line in listing.lines() {
            if let Some(t) = line.strip_prefix("Field Class:") {
                class = t.trim().to_owned();
                blanks = 0;
            } else if line.is_empty() {
                blanks += 1;
            } else if blanks != 1 {
                continue;
            } else if line.starts_with(' ') {
                if let Some(last) = out.last_mut() {
                    last.2.push(line.to_owned());
                }
            } else {
                let name = line.split_whitespace().next().unwrap_or_default();
                out.push((class.clone(), name.to_owned(), vec![line.to_owned()]));
            }
        }
        out
    }

    fn render_fields(verbose: bool) -> String {
        let mut buf = Vec::new();
        list_fields(&mut buf, verbose).unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn listing_has_sysdigs_fields_in_order() {
        let Some(reference) = spec("sysdig-fields-verbose.txt") else {
            return;
        };
        let theirs: Vec<(String, String)> = entries(&reference)
            .into_iter()
            .filter(|(c, _, _)| ours(c))
            .map(|(c, n, _)| (c, n))
            .collect();
        assert_eq!(theirs.len(), 205);
        for verbose in [false, true] {
            let mine: Vec<(String, String)> = entries(&render_fields(verbose))
                .into_iter()
                .map(|(c, n, _)| (c, n))
                .collect();
            assert_eq!(mine, theirs, "verbose={verbose}");
        }
    }

    #[test]
    fn verbose_types_match_sysdig() {
        let Some(reference) = spec("sysdig-fields-verbose.txt") else {
            return;
        };
        let type_of = |lines: &[String]| {
            let all = lines.join(" ");
            let start = all.find("(Type: ").map(|i| i + 7).unwrap();
            let end = all[start..].find(')').unwrap() + start;
            all[start..end].to_owned()
        };
        let theirs: Vec<(String, String)> = entries(&reference)
            .into_iter()
            .filter(|(c, _, _)| ours(c))
            .map(|(_, n, l)| (n, type_of(&l)))
            .collect();
        let mine: Vec<(String, String)> = entries(&render_fields(true))
            .into_iter()
            .map(|(_, n, l)| (n, type_of(&l)))
            .collect();
        assert_eq!(mine, theirs);
    }

    #[test]
    fn wrapping_reproduces_sysdigs_layout() {
        // Re-wrap sysdig's own entries (all classes, both listings) and compare.
        let Some(reference) = spec("sysdig-fields-verbose.txt") else {
            return;
        };
        let all = entries(&reference);
        assert_eq!(all.len(), 257);
        for (_, name, lines) in all {
            let text: Vec<&str> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    if i == 0 && name.len() >= TEXT_COLUMN {
                        ""
                    } else {
                        &l[TEXT_COLUMN..]
                    }
                })
                .collect();
            let mut buf = Vec::new();
            write_entry(&mut buf, &name, &text.join(" ")).unwrap();
            let got = String::from_utf8(buf).unwrap();
            let want = lines.join("\n") + "\n";
            assert_eq!(got, want);
        }
    }

    #[test]
    fn class_blocks_have_sysdigs_frame() {
        let text = render_fields(false);
        assert!(text.starts_with(
            "-------------------------------\nField Class:                  evt (All event types)\nDescription:                  "
        ));
        assert!(text.ends_with(" \n\n"));
        assert_eq!(text.matches(BANNER).count(), CLASSES.len());
        assert!(text.lines().all(|l| l.len() <= 120));
        assert!(
            !text.contains("evt.outputtime"),
            "hidden fields are not listed"
        );
        assert!(text.contains("\nfd.ip                         (FILTER ONLY) "));
        let verbose = render_fields(true);
        assert!(verbose.contains(
            "\nproc.is_container_liveness_probe\n                              (Type: BOOL) "
        ));
        assert!(verbose.contains("\nevt.num                       (Type: UINT64) "));
    }

    #[test]
    fn newer_fields_are_listed_only_on_request() {
        let sysdig = render_fields(true);
        let mut buf = Vec::new();
        list_fields_with(&mut buf, true, true).unwrap();
        let all = String::from_utf8(buf).unwrap();
        for name in [
            "proc.pexe",
            "thread.cap_effective",
            "fd.nameraw",
            "evt.hostname",
        ] {
            assert!(!sysdig.contains(&format!("\n{name} ")), "{name}");
            assert!(all.contains(&format!("\n{name} ")), "{name}");
        }
        let newer = FIELDS
            .iter()
            .filter(|f| f.has(FieldFlags::NEWER) && !f.has(FieldFlags::HIDDEN))
            .count();
        assert_eq!(entries(&all).len(), entries(&sysdig).len() + newer);
        // Within each class, sysdig's fields come first, in sysdig's order.
        let mine: Vec<(String, String)> = entries(&all)
            .into_iter()
            .map(|(c, n, _)| (c, n))
            .filter(|(_, n)| {
                crate::fields::catalog::by_name(n).is_some_and(|f| !f.has(FieldFlags::NEWER))
            })
            .collect();
        let theirs: Vec<(String, String)> = entries(&sysdig)
            .into_iter()
            .map(|(c, n, _)| (c, n))
            .collect();
        assert_eq!(mine, theirs);
        assert!(all.contains("\nproc.exe_ino.ctime_duration_proc_start\n                              (Type: ABSTIME) "));
    }

    #[test]
    fn event_listing_matches_sysdig_where_params_agree() {
        let Some(reference) = spec("sysdig-events.txt") else {
            return;
        };
        // Key: direction, name and parameter names; value: the whole line.
        let key = |line: &str| {
            let (head, params) = line.trim_end_matches(')').split_once('(').unwrap();
            let names: Vec<String> = params
                .split(", ")
                .filter(|p| !p.is_empty())
                .map(|p| p.split_once(' ').unwrap().1.to_owned())
                .collect();
            (head.to_owned(), names)
        };
        let theirs: std::collections::HashMap<_, _> =
            reference.lines().map(|l| (key(l), l.to_owned())).collect();
        let mut buf = Vec::new();
        list_events(&mut buf).unwrap();
        let mine = String::from_utf8(buf).unwrap();
        let mut matched = 0;
        for line in mine.lines() {
            assert!(line.starts_with("> ") || line.starts_with("< "), "{line}");
            if let Some(want) = theirs.get(&key(line)) {
                // 0.29.3 had no ENUMFLAGS types; they were FLAGS then.
                assert_eq!(&line.replace("ENUMFLAGS", "FLAGS"), want);
                matched += 1;
            }
        }
        assert!(matched >= 45, "only {matched} lines in common");
        // The newer table marks the generic enter event as an old version.
        assert!(mine.starts_with("< syscall(SYSCALLID ID, UINT16 nativeID)\n"));
        assert!(!mine.contains(" drop("), "internal events are skipped");
    }
}
