//! Path joining and normalisation the way sysdig builds `fd.name` and `proc.cwd`.

/// Appends to `out` the normalised concatenation of `base` (a directory, usually
/// with a trailing `/`) and `name`. An absolute `name` ignores `base`. `.` and `..`
/// components and repeated slashes are resolved; `..` never climbs above `/`.
/// A trailing slash is dropped unless the result is `/`.
pub(crate) fn join_into(out: &mut Vec<u8>, base: &[u8], name: &[u8]) {
    let absolute = name.first() == Some(&b'/') || base.first() == Some(&b'/');
    let start = out.len();
    let parts = if name.first() == Some(&b'/') {
        [name, &b""[..]]
    } else {
        [base, name]
    };
    for part in parts {
        for comp in part.split(|&c| c == b'/') {
            match comp {
                b"" | b"." => {}
                b".." => {
                    let cut = out[start..]
                        .iter()
                        .rposition(|&c| c == b'/')
                        .map_or(start, |p| start + p);
                    out.truncate(cut);
                }
                _ => {
                    if absolute || out.len() > start {
                        out.push(b'/');
                    }
                    out.extend_from_slice(comp);
                }
            }
        }
    }
    if absolute && out.len() == start {
        out.push(b'/');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(base: &str, name: &str) -> String {
        let mut v = Vec::new();
        join_into(&mut v, base.as_bytes(), name.as_bytes());
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn joins_and_normalises() {
        assert_eq!(j("/home/u/", "a.txt"), "/home/u/a.txt");
        assert_eq!(j("/home/u/", "/etc//passwd"), "/etc/passwd");
        assert_eq!(j("/home/u/", "../x/./y"), "/home/x/y");
        assert_eq!(j("/", "../../.."), "/");
        assert_eq!(j("/a/", "b/"), "/a/b");
        assert_eq!(j("", "rel/x"), "rel/x");
    }
}
