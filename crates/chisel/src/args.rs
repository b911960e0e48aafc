//! How a chisel's argument string becomes its argument values, as sysdig
//! splits the token that follows `-c NAME`.

use crate::{ChiselInfo, Error};

/// Splits a chisel argument string into values, the way sysdig does.
///
/// The string is trimmed, then cut at every space outside quotes; `'...'` or
/// `` `...` `` group a value containing spaces (the quotes are dropped).
/// Consecutive spaces give empty values, as in sysdig. An empty string gives
/// no values.
///
/// # Errors
/// An unclosed quote gives `corrupted parameters for chisel NAME`.
pub fn split(chisel: &str, args: &str) -> Result<Vec<String>, Error> {
    let s = args.trim_matches(|c: char| c.is_ascii_whitespace());
    let b = s.as_bytes();
    let mut out = Vec::new();
    if b.is_empty() {
        return Ok(out);
    }
    let mut begin = 0usize;
    let mut in_quotes = false;
    // The closing quote of a value is left out of it.
    let mut correction = 0usize;
    for (j, &c) in b.iter().enumerate() {
        if c == b' ' && !in_quotes {
            out.push(piece(b, begin, j.saturating_sub(correction)));
            begin = j + 1;
            correction = 0;
        } else if c == b'\'' || c == b'`' {
            if in_quotes {
                correction = 1;
                in_quotes = false;
            } else {
                begin += 1;
                in_quotes = true;
            }
        }
    }
    if in_quotes {
        return Err(Error::Args(format!(
            "corrupted parameters for chisel {chisel}"
        )));
    }
    out.push(piece(b, begin, b.len().saturating_sub(correction)));
    Ok(out)
}

fn piece(b: &[u8], start: usize, end: usize) -> String {
    String::from_utf8_lossy(b.get(start..end.max(start)).unwrap_or_default()).into_owned()
}

/// Checks the number of values against the chisel's declared arguments.
///
/// # Errors
/// Too few: `wrong number of parameters for chisel X, N required, M given`;
/// too many: `too many parameters for chisel X, N required, O optional, M given`.
pub fn check_count(info: &ChiselInfo, given: usize) -> Result<(), Error> {
    let required = info.args.iter().filter(|a| !a.optional).count();
    let optional = info.args.len() - required;
    if given < required {
        return Err(Error::Args(format!(
            "wrong number of parameters for chisel {}, {required} required, {given} given",
            info.name
        )));
    }
    if given > required + optional {
        return Err(Error::Args(format!(
            "too many parameters for chisel {}, {required} required, {optional} optional, {given} given",
            info.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ArgInfo;

    fn sp(s: &str) -> Vec<String> {
        split("x", s).unwrap()
    }

    #[test]
    fn plain_values() {
        assert_eq!(sp("a b"), ["a", "b"]);
        assert_eq!(sp("  fd.name  "), ["fd.name"]);
        assert!(sp("").is_empty());
        assert!(sp("   ").is_empty());
    }

    #[test]
    fn quotes_group() {
        assert_eq!(sp("'a b' c"), ["a b", "c"]);
        assert_eq!(sp("c `a b`"), ["c", "a b"]);
        assert_eq!(
            sp("'not fd.directory contains /dev'"),
            ["not fd.directory contains /dev"]
        );
    }

    #[test]
    fn double_spaces_give_empty_values() {
        assert_eq!(sp("a  b"), ["a", "", "b"]);
    }

    #[test]
    fn unclosed_quote_is_an_error() {
        let e = split("spy_file", "'a b").unwrap_err();
        assert_eq!(e.to_string(), "corrupted parameters for chisel spy_file");
    }

    #[test]
    fn counts() {
        let info = ChiselInfo {
            name: "c".into(),
            args: vec![
                ArgInfo {
                    name: "a".into(),
                    ..ArgInfo::default()
                },
                ArgInfo {
                    name: "b".into(),
                    optional: true,
                    ..ArgInfo::default()
                },
            ],
            ..ChiselInfo::default()
        };
        assert!(check_count(&info, 1).is_ok());
        assert!(check_count(&info, 2).is_ok());
        assert_eq!(
            check_count(&info, 0).unwrap_err().to_string(),
            "wrong number of parameters for chisel c, 1 required, 0 given"
        );
        assert_eq!(
            check_count(&info, 3).unwrap_err().to_string(),
            "too many parameters for chisel c, 1 required, 1 optional, 3 given"
        );
    }
}
