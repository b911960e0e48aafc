//! Finding chisels by name: native ones first, then Lua scripts on the search
//! path; and the `-cl`/`-i` listings.

use crate::{args, native, Chisel, ChiselInfo, Error, Options};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The directories searched for `NAME.lua`, in order: `./chisels`,
/// `~/.chisels`, `/usr/share/osprey/chisels`, and sysdig's install directory.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("./chisels")];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".chisels"));
    }
    dirs.push(PathBuf::from("/usr/share/osprey/chisels"));
    dirs.push(PathBuf::from("/usr/share/sysdig/chisels"));
    dirs
}

/// The Lua script `name` names: itself when it ends in `.lua`, else
/// `NAME.lua` in the first search directory that has it.
fn lua_path(name: &str) -> Option<PathBuf> {
    if Path::new(name).extension().is_some_and(|e| e == "lua") {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    if name.contains('/') {
        return None;
    }
    search_dirs()
        .into_iter()
        .map(|d| d.join(format!("{name}.lua")))
        .find(|p| p.is_file())
}

/// Describes the chisel `name` (native or Lua).
///
/// # Errors
/// [`Error::NotFound`] when no chisel has that name; a broken script's error.
pub fn info(name: &str) -> Result<ChiselInfo, Error> {
    if let Some(n) = native::find(name) {
        return Ok(n.info);
    }
    match lua_path(name) {
        Some(p) => lua_info(&p),
        None => Err(Error::NotFound(name.to_owned())),
    }
}

/// Loads the chisel `name` with its argument values (after [`args::split`]).
/// The number of values is checked against the chisel's arguments first.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Args`] for a wrong number of values; a
/// chisel's own error (bad field, bad filter, script error).
pub fn load(name: &str, values: &[String]) -> Result<Box<dyn Chisel>, Error> {
    load_with(name, values, &Options::default())
}

/// [`load`] with command-line options (`-pc`).
///
/// # Errors
/// As [`load`].
pub fn load_with(name: &str, values: &[String], opts: &Options) -> Result<Box<dyn Chisel>, Error> {
    if let Some(n) = native::find(name) {
        args::check_count(&n.info, values.len())?;
        return (n.build)(name, values, opts);
    }
    match lua_path(name) {
        Some(p) => crate::lua::load_with(&p, values, opts),
        None => Err(Error::NotFound(name.to_owned())),
    }
}

/// Every listable chisel: the native ones, then the Lua scripts of the search
/// path whose names are not taken (the first directory wins). Scripts that do
/// not describe themselves as chisels are skipped.
pub fn list() -> Vec<ChiselInfo> {
    let mut out: Vec<ChiselInfo> = native::all().into_iter().map(|n| n.info).collect();
    for dir in search_dirs() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "lua"))
            .collect();
        paths.sort();
        for p in paths {
            let Some(stem) = p.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if out.iter().any(|i| i.name == stem) {
                continue;
            }
            if let Ok(i) = lua_info(&p) {
                out.push(i);
            }
        }
    }
    out
}

fn lua_info(path: &Path) -> Result<ChiselInfo, Error> {
    crate::lua::info(path)
}

/// Width of the name column of the listings.
const NAME_COL: usize = 16;
/// Width of the listings.
const WIDTH: usize = 79;

/// Writes `text` in lines of `width` bytes, every line after the first
/// indented by `indent` spaces (sysdig cuts words).
fn wrapped(out: &mut dyn Write, text: &str, width: usize, indent: usize) -> io::Result<()> {
    let b = text.as_bytes();
    let mut first = true;
    for chunk in b.chunks(width.max(1)) {
        if !first {
            out.write_all(b"\n")?;
            out.write_all(&b" ".repeat(indent))?;
        }
        out.write_all(chunk)?;
        first = false;
    }
    out.write_all(b"\n")
}

/// Writes a category header: a blank line, `Category: X` and a rule as long.
fn category_header(out: &mut dyn Write, category: &str) -> io::Result<()> {
    let title = format!("Category: {category}");
    writeln!(out, "\n{title}\n{}", "-".repeat(title.len()))
}

/// Writes a chisel's name, padded to the name column (a longer one gets its
/// own line), and its short description wrapped beside it.
fn entry(out: &mut dyn Write, info: &ChiselInfo) -> io::Result<()> {
    if info.name.len() >= NAME_COL {
        writeln!(out, "{}", info.name)?;
        out.write_all(&[b' '; NAME_COL])?;
    } else {
        write!(out, "{:<NAME_COL$}", info.name)?;
    }
    wrapped(out, &info.short_description, WIDTH - NAME_COL, NAME_COL)
}

/// Writes the `-cl` listing: chisels grouped by category (sorted), names
/// sorted within each, hidden ones left out, then the hint about `-i`.
///
/// # Errors
/// Writing fails.
pub fn write_list(out: &mut dyn Write, chisels: &[ChiselInfo]) -> io::Result<()> {
    let mut shown: Vec<&ChiselInfo> = chisels.iter().filter(|c| !c.hidden).collect();
    shown.sort_by(|a, b| a.category.cmp(&b.category).then(a.name.cmp(&b.name)));
    let mut current: Option<&str> = None;
    for c in shown {
        if current != Some(c.category.as_str()) {
            category_header(out, &c.category)?;
            current = Some(&c.category);
        }
        entry(out, c)?;
    }
    writeln!(
        out,
        "\nUse the -i flag to get detailed information about a specific chisel"
    )
}

/// Writes the `-i` description of one chisel.
///
/// # Errors
/// Writing fails.
pub fn write_info(out: &mut dyn Write, info: &ChiselInfo) -> io::Result<()> {
    category_header(out, &info.category)?;
    entry(out, info)?;
    out.write_all(b"\n")?;
    wrapped(out, &info.description, WIDTH, 0)?;
    out.write_all(b"Args:\n")?;
    if info.args.is_empty() {
        return out.write_all(b"(None)\n");
    }
    for a in &info.args {
        let line = format!("[{}] {} - {}", a.argtype, a.name, a.description);
        wrapped(out, &line, WIDTH - NAME_COL, NAME_COL)?;
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ArgInfo;

    fn text(f: impl Fn(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut b = Vec::new();
        f(&mut b).unwrap();
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn natives_are_found_first() {
        let i = info("topfiles_bytes").unwrap();
        assert_eq!(i.category, "I/O");
        assert!(matches!(info("no_such_chisel"), Err(Error::NotFound(_))));
        assert!(load("topscalls", &[]).is_ok());
        assert_eq!(
            load("topscalls", &["x".into()]).err().unwrap().to_string(),
            "too many parameters for chisel topscalls, 0 required, 0 optional, 1 given"
        );
    }

    #[test]
    fn listing_layout() {
        let list = vec![
            ChiselInfo {
                name: "topcontainers_error".into(),
                category: "Errors".into(),
                short_description: "Top containers by number of errors".into(),
                ..ChiselInfo::default()
            },
            ChiselInfo {
                name: "a".into(),
                category: "Errors".into(),
                short_description: "x".repeat(70),
                ..ChiselInfo::default()
            },
            ChiselInfo {
                name: "h".into(),
                category: "Errors".into(),
                hidden: true,
                ..ChiselInfo::default()
            },
        ];
        let t = text(|b| write_list(b, &list));
        let want = format!(
            "\nCategory: Errors\n----------------\na               {}\n                {}\ntopcontainers_error\n                Top containers by number of errors\n\nUse the -i flag to get detailed information about a specific chisel\n",
            "x".repeat(63),
            "x".repeat(7)
        );
        assert_eq!(t, want);
    }

    #[test]
    fn info_layout() {
        let i = ChiselInfo {
            name: "fdbytes_by".into(),
            category: "I/O".into(),
            short_description: "short".into(),
            description: "d".repeat(80),
            args: vec![ArgInfo {
                name: "key".into(),
                description: "k".into(),
                argtype: "string".into(),
                optional: false,
            }],
            hidden: false,
        };
        let t = text(|b| write_info(b, &i));
        let want = format!(
            "\nCategory: I/O\n-------------\nfdbytes_by      short\n\n{}\nd\nArgs:\n[string] key - k\n\n",
            "d".repeat(79)
        );
        assert_eq!(t, want);
        let none = ChiselInfo {
            args: Vec::new(),
            ..i
        };
        assert!(text(|b| write_info(b, &none)).ends_with("Args:\n(None)\n"));
    }
}
