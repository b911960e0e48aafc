//! `-c`: which chisels run, with which argument words, following sysdig's
//! command-line rules (sysdig-surface.md §1.6).
//!
//! For each `-c NAME`, the word after NAME in argv is looked at:
//! - a chisel without arguments takes nothing;
//! - a chisel with a required argument takes it, whatever it is;
//! - a chisel with only optional arguments takes it unless it starts with
//!   `-` or the rest of argv compiles as a filter (a chisel whose only
//!   argument has type `filter` always takes it).
//!
//! Each word taken drops one leading word from the positional filter, as
//! sysdig counts them.

use osprey_chisel::{ChiselInfo, Error};
use osprey_filter::fields::catalog::SyscallCatalog;
use osprey_filter::Filter;

/// One `-c` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The chisel's name (or script path).
    pub name: String,
    /// Its argument values, split from the word it took.
    pub values: Vec<String>,
}

/// The chisels of a command line and how many filter words they took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// In command-line order.
    pub chisels: Vec<Request>,
    /// Leading positional words consumed as chisel arguments.
    pub consumed: usize,
}

/// Short options that take a value (sysdig's getopt string).
const SHORT_WITH_VALUE: &[u8] = b"cCeGHIikKmMnprsStUWw";
/// Long options that take a value.
const LONG_WITH_VALUE: &[&str] = &[
    "chisel",
    "chisel-info",
    "file-size",
    "event-limit",
    "seconds",
    "k8s-api",
    "k8s-api-cert",
    "mesos-api",
    "numevents",
    "progress",
    "print",
    "readfile",
    "snaplen",
    "suppress-comm",
    "timetype",
    "writefile",
    "limit",
];

/// Where each `-c NAME` is: the name and the index of the word after it.
fn chisel_positions(argv: &[String]) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let mut i = 1;
    while i < argv.len() {
        let tok = &argv[i];
        if tok == "--" {
            break;
        }
        if let Some(long) = tok.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            // getopt accepts an unambiguous prefix.
            let full = LONG_WITH_VALUE
                .iter()
                .copied()
                .find(|l| *l == name)
                .or_else(|| {
                    let mut m = LONG_WITH_VALUE.iter().filter(|l| l.starts_with(name));
                    match (m.next(), m.next()) {
                        (Some(l), None) if !name.is_empty() => Some(*l),
                        _ => None,
                    }
                });
            if let Some(full) = full {
                let value = match inline {
                    Some(v) => Some(v.to_owned()),
                    None => {
                        i += 1;
                        argv.get(i).cloned()
                    }
                };
                if let (Some(v), "chisel") = (value, full) {
                    found.push((v, i + 1));
                }
            }
        } else if tok.len() > 1 && tok.starts_with('-') {
            let b = tok.as_bytes();
            for j in 1..b.len() {
                if SHORT_WITH_VALUE.contains(&b[j]) {
                    let value = if j + 1 < b.len() {
                        Some(tok[j + 1..].to_owned())
                    } else {
                        i += 1;
                        argv.get(i).cloned()
                    };
                    if let (Some(v), b'c') = (value, b[j]) {
                        found.push((v, i + 1));
                    }
                    break;
                }
            }
        }
        i += 1;
    }
    found
}

/// Which word, if any, the chisel described by `info` takes at `next`.
fn takes_word<'a>(info: &ChiselInfo, argv: &'a [String], next: usize) -> Option<&'a str> {
    let word = argv.get(next)?;
    if info.args.is_empty() {
        return None;
    }
    if info.args.iter().any(|a| !a.optional) {
        return Some(word);
    }
    if word.starts_with('-') {
        return None;
    }
    if info.args.len() == 1 && info.args[0].argtype == "filter" {
        return Some(word);
    }
    let rest = argv[next..].join(" ");
    Filter::compile(&rest, &SyscallCatalog)
        .is_err()
        .then_some(word)
}

/// Works out the chisels of `argv` (the full command line, program name
/// first), looking each up with `info`.
///
/// # Errors
/// An unknown chisel, a missing required argument, badly quoted or
/// miscounted values: sysdig's messages.
pub fn plan(
    argv: &[String],
    info: impl Fn(&str) -> Result<ChiselInfo, Error>,
) -> Result<Plan, String> {
    let mut out = Plan::default();
    for (name, next) in chisel_positions(argv) {
        if name == "l" {
            continue;
        }
        let ci = info(&name).map_err(|e| match e {
            Error::NotFound(_) => format!("can't open file {name}"),
            other => other.to_string(),
        })?;
        let values = match takes_word(&ci, argv, next) {
            Some(word) => {
                out.consumed += 1;
                let v = osprey_chisel::args::split(&name, word).map_err(|e| e.to_string())?;
                osprey_chisel::args::check_count(&ci, v.len()).map_err(|e| e.to_string())?;
                v
            }
            None if ci.args.iter().any(|a| !a.optional) => {
                return Err(format!("missing arguments for chisel {name}"));
            }
            None => Vec::new(),
        };
        out.chisels.push(Request { name, values });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use osprey_chisel::ArgInfo;

    fn argv(s: &[&str]) -> Vec<String> {
        std::iter::once("osprey")
            .chain(s.iter().copied())
            .map(str::to_owned)
            .collect()
    }

    fn arg(name: &str, ty: &str, optional: bool) -> ArgInfo {
        ArgInfo {
            name: name.into(),
            description: String::new(),
            argtype: ty.into(),
            optional,
        }
    }

    /// A fake catalogue: `none` (no args), `req` (one required), `opt` (two
    /// optional), `flt` (one optional filter).
    fn fake(name: &str) -> Result<ChiselInfo, Error> {
        let args = match name {
            "none" => vec![],
            "req" => vec![arg("key", "string", false)],
            "opt" => vec![arg("a", "string", true), arg("b", "int", true)],
            "flt" => vec![arg("filter", "filter", true)],
            _ => return Err(Error::NotFound(name.into())),
        };
        Ok(ChiselInfo {
            name: name.into(),
            args,
            ..ChiselInfo::default()
        })
    }

    fn p(s: &[&str]) -> Result<Plan, String> {
        plan(&argv(s), fake)
    }

    fn req(name: &str, values: &[&str]) -> Request {
        Request {
            name: name.into(),
            values: values.iter().map(|&v| v.to_owned()).collect(),
        }
    }

    #[test]
    fn no_args_takes_nothing() {
        let pl = p(&["-r", "f", "-c", "none", "proc.name=cat"]).unwrap();
        assert_eq!(pl.chisels, [req("none", &[])]);
        assert_eq!(pl.consumed, 0);
    }

    #[test]
    fn required_takes_the_next_word() {
        let pl = p(&["-c", "req", "fd.name", "proc.name=cat"]).unwrap();
        assert_eq!(pl.chisels, [req("req", &["fd.name"])]);
        assert_eq!(pl.consumed, 1);
        let pl = p(&["-creq", "fd.name"]).unwrap();
        assert_eq!(pl.chisels, [req("req", &["fd.name"])]);
        let pl = p(&["--chisel=req", "fd.name"]).unwrap();
        assert_eq!(pl.chisels, [req("req", &["fd.name"])]);
    }

    #[test]
    fn required_missing_is_an_error() {
        assert_eq!(
            p(&["-c", "req"]).unwrap_err(),
            "missing arguments for chisel req"
        );
    }

    #[test]
    fn optional_skips_options_and_valid_filters() {
        let pl = p(&["-c", "opt", "-r", "f"]).unwrap();
        assert_eq!(pl.chisels, [req("opt", &[])]);
        let pl = p(&["-c", "opt", "proc.name=cat"]).unwrap();
        assert_eq!(pl.chisels, [req("opt", &[])]);
        assert_eq!(pl.consumed, 0);
        let pl = p(&["-c", "opt", "W /tmp/x"]).unwrap();
        assert_eq!(pl.chisels, [req("opt", &["W", "/tmp/x"])]);
        assert_eq!(pl.consumed, 1);
    }

    #[test]
    fn a_filter_argument_is_always_taken() {
        let pl = p(&["-c", "flt", "proc.name=cat"]).unwrap();
        assert_eq!(pl.chisels, [req("flt", &["proc.name=cat"])]);
        assert_eq!(pl.consumed, 1);
    }

    #[test]
    fn quotes_and_counts() {
        let pl = p(&["-c", "opt", "'a b' 2"]).unwrap();
        assert_eq!(pl.chisels, [req("opt", &["a b", "2"])]);
        assert_eq!(
            p(&["-c", "opt", "a b c"]).unwrap_err(),
            "too many parameters for chisel opt, 0 required, 2 optional, 3 given"
        );
        assert_eq!(
            p(&["-c", "req", "'a"]).unwrap_err(),
            "corrupted parameters for chisel req"
        );
    }

    #[test]
    fn several_chisels_and_unknown_ones() {
        let pl = p(&["-c", "req", "fd.name", "-c", "none", "-r", "x"]).unwrap();
        assert_eq!(pl.chisels, [req("req", &["fd.name"]), req("none", &[])]);
        assert_eq!(p(&["-c", "nosuch"]).unwrap_err(), "can't open file nosuch");
        // Values of other options are not mistaken for chisels.
        let pl = p(&["-p", "-c", "-r", "f"]).unwrap();
        assert!(pl.chisels.is_empty());
        assert!(p(&["-cl"]).unwrap().chisels.is_empty());
    }
}
