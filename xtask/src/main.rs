//! `cargo xtask <command>`: project automation that plain cargo cannot do.
//!
//! - `codegen`: regenerate `crates/event/src/table/generated.rs` from
//!   `../shared/specs/scap-event-table.tsv` (the upstream event table dump).
//!   The generated file is committed, so a normal build never needs `../shared`.
//! - `bpf`: rebuild `crates/probe/bpf/osprey.bpf.o` (committed, embedded by
//!   osprey-probe) from `osprey.bpf.c` with clang and `llvm-strip -g`; run it
//!   after editing the BPF C and commit the object. The test
//!   `crates/probe/tests/driver_object.rs` checks the two agree.
//! - `check-deps`: fail when a workspace crate depends on a crate of its own or a
//!   higher layer (the one-way rule of STYLE.md).

use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<()> {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    let root = workspace_root();
    match cmd.as_str() {
        "codegen" => codegen(&root),
        "check-deps" => check_deps(&root),
        "bpf" => bpf(&root),
        _ => bail!("usage: cargo xtask codegen | bpf | check-deps"),
    }
}

/// Compiles the BPF C into the committed object. The commands run inside
/// `crates/probe/bpf` with relative source paths, because the BTF line info
/// records the source path and the result must not depend on the checkout's
/// location (`crates/probe/tests/driver_object.rs` repeats them exactly).
fn bpf(root: &Path) -> Result<()> {
    let dir = root.join("crates/probe/bpf");
    let unstripped = dir.join("osprey.bpf.unstripped.o");
    let run = |cmd: &mut std::process::Command| -> Result<()> {
        let status = cmd
            .current_dir(&dir)
            .status()
            .with_context(|| format!("running {cmd:?} (install clang and llvm)"))?;
        if !status.success() {
            bail!("{cmd:?} failed: {status}");
        }
        Ok(())
    };
    run(std::process::Command::new("clang")
        .args([
            "-O2",
            "-g",
            "-target",
            "bpf",
            "-D__TARGET_ARCH_x86",
            "-I.",
            "-c",
        ])
        .arg("osprey.bpf.c")
        .arg("-o")
        .arg(&unstripped))?;
    let stripped = run(std::process::Command::new("llvm-strip")
        .arg("-g")
        .arg(&unstripped)
        .arg("-o")
        .arg(dir.join("osprey.bpf.o")));
    std::fs::remove_file(&unstripped).context("removing the unstripped object")?;
    stripped?;
    println!("wrote {}", dir.join("osprey.bpf.o").display());
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Maps the TSV's PT_* spelling (without the prefix) to our `ParamType` variant.
fn param_type(name: &str) -> Result<&'static str> {
    Ok(match name {
        "NONE" => "None",
        "INT8" => "Int8",
        "INT16" => "Int16",
        "INT32" => "Int32",
        "INT64" => "Int64",
        "UINT8" => "Uint8",
        "UINT16" => "Uint16",
        "UINT32" => "Uint32",
        "UINT64" => "Uint64",
        "CHARBUF" => "CharBuf",
        "BYTEBUF" => "ByteBuf",
        "ERRNO" => "Errno",
        "SOCKADDR" => "SockAddr",
        "SOCKTUPLE" => "SockTuple",
        "FD" => "Fd",
        "PID" => "Pid",
        "FDLIST" => "FdList",
        "FSPATH" => "FsPath",
        "SYSCALLID" => "SyscallId",
        "SIGTYPE" => "SigType",
        "RELTIME" => "RelTime",
        "ABSTIME" => "AbsTime",
        "PORT" => "Port",
        "L4PROTO" => "L4Proto",
        "SOCKFAMILY" => "SockFamily",
        "BOOL" => "Bool",
        "IPV4ADDR" => "Ipv4Addr",
        "DYN" => "Dyn",
        "FLAGS8" => "Flags8",
        "FLAGS16" => "Flags16",
        "FLAGS32" => "Flags32",
        "UID" => "Uid",
        "GID" => "Gid",
        "DOUBLE" => "Double",
        "SIGSET" => "SigSet",
        "CHARBUFARRAY" => "CharBufArray",
        "CHARBUF_PAIR_ARRAY" => "CharBufPairArray",
        "IPV4NET" => "Ipv4Net",
        "IPV6ADDR" => "Ipv6Addr",
        "IPV6NET" => "Ipv6Net",
        "IPADDR" => "IpAddr",
        "IPNET" => "IpNet",
        "MODE" => "Mode",
        "FSRELPATH" => "FsRelPath",
        "ENUMFLAGS8" => "EnumFlags8",
        "ENUMFLAGS16" => "EnumFlags16",
        "ENUMFLAGS32" => "EnumFlags32",
        "FD32" => "Fd32",
        "PID32" => "Pid32",
        other => bail!("unknown parameter type PT_{other}"),
    })
}

fn print_format(name: Option<&str>) -> Result<&'static str> {
    Ok(match name {
        None | Some("DEC") => "Dec",
        Some("HEX") => "Hex",
        Some("OCT") => "Oct",
        Some("NA") => "Na",
        Some("10_PADDED_DEC") => "PaddedDec",
        Some("ID") => "Id",
        Some("DIR") => "Dir",
        Some(other) => bail!("unknown print format PF_{other}"),
    })
}

fn hex_field(col: &str, key: &str) -> Result<u32> {
    let v = col
        .strip_prefix(key)
        .with_context(|| format!("expected {key}... in {col:?}"))?;
    Ok(u32::from_str_radix(v.trim_start_matches("0x"), 16)?)
}

fn codegen(root: &Path) -> Result<()> {
    let tsv = root.join("../shared/specs/scap-event-table.tsv");
    let text = std::fs::read_to_string(&tsv)
        .with_context(|| format!("reading {} (needs ../shared)", tsv.display()))?;
    let mut out = String::new();
    out.push_str(
        "// @generated by `cargo xtask codegen` from ../shared/specs/scap-event-table.tsv.\n\
         // Do not edit by hand; the test `table_matches_spec` checks it against the TSV.\n\n\
         use super::{Direction, EventInfo, ParamInfo, ParamType as T, PrintFormat as F};\n\n",
    );
    let mut rows = Vec::new();
    for (lineno, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() != 8 {
            bail!("line {}: expected 8 columns", lineno + 1);
        }
        let number: usize = cols[1].parse()?;
        if number != rows.len() {
            bail!("line {}: event {number} out of order", lineno + 1);
        }
        let dir = match cols[3] {
            "E" => "Direction::Enter",
            "X" => "Direction::Exit",
            d => bail!("line {}: bad direction {d}", lineno + 1),
        };
        let category = hex_field(cols[4], "cat=")?;
        let flags = hex_field(cols[5], "flags=")?;
        let np: usize = cols[6].trim_start_matches("np=").parse()?;
        let mut params = String::new();
        let mut count = 0;
        for p in cols[7].split(", ").filter(|p| !p.is_empty()) {
            let (pname, rest) = p.split_once(':').context("param without type")?;
            let (ty, fmt) = match rest.split_once('/') {
                Some((t, f)) => (t, Some(f)),
                None => (rest, None),
            };
            write!(
                params,
                "ParamInfo {{ name: {pname:?}, ty: T::{}, fmt: F::{} }}, ",
                param_type(ty)?,
                print_format(fmt)?
            )?;
            count += 1;
        }
        if count != np {
            bail!("line {}: np={np} but {count} params", lineno + 1);
        }
        rows.push(format!(
            "    EventInfo {{ enum_name: {:?}, name: {:?}, dir: {dir}, category: {category:#x}, flags: {flags:#x}, params: &[{params}] }},\n",
            cols[0], cols[2]
        ));
    }
    writeln!(
        out,
        "/// Number of event types known to this build (`PPM_EVENT_MAX`)."
    )?;
    writeln!(out, "pub const EVENT_COUNT: usize = {};\n", rows.len())?;
    writeln!(out, "/// The event table, indexed by event type number.")?;
    writeln!(out, "pub static EVENTS: [EventInfo; EVENT_COUNT] = [")?;
    for r in rows {
        out.push_str(&r);
    }
    out.push_str("];\n");
    let dest = root.join("crates/event/src/table/generated.rs");
    std::fs::write(&dest, out)?;
    eprintln!("wrote {}", dest.display());
    Ok(())
}

/// The layer of each workspace crate, bottom (0) to top. A crate may depend only on
/// crates of a lower layer; `hub` may also use `rules` (for the alert type).
const LAYERS: &[(&str, u8)] = &[
    ("osprey-event", 0),
    ("osprey-scap", 1),
    ("osprey-probe", 1),
    ("osprey-state", 1),
    ("osprey-filter", 2),
    ("osprey-chisel", 3),
    ("osprey-rules", 3),
    ("osprey-audit", 3),
    ("osprey-hub", 4),
    ("osprey-top", 4),
    ("osprey-cli", 5),
    ("osprey-bench", 6),
];

fn layer(name: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

/// Reads `[dependencies]` of every crate under crates/ and checks the layering.
fn check_deps(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("crates"))? {
        let manifest = entry?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .map(|v| v.trim_matches('"').to_string())
            .with_context(|| format!("{}: no package name", manifest.display()))?;
        let Some(own) = layer(&name) else {
            problems.push(format!("{name}: not assigned a layer in xtask's LAYERS"));
            continue;
        };
        checked += 1;
        problems.extend(upward_deps(&name, own, &text));
    }
    if problems.is_empty() {
        eprintln!("check-deps: {checked} crates, all dependencies point down");
        Ok(())
    } else {
        bail!("check-deps:\n  {}", problems.join("\n  "))
    }
}

/// The `[dependencies]` of one manifest that point to the same or a higher layer.
fn upward_deps(name: &str, own: u8, manifest: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut section = "";
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t;
            continue;
        }
        if section != "[dependencies]" {
            continue;
        }
        let dep = t.split(['=', '.', ' ']).next().unwrap_or("");
        let Some(dl) = layer(dep) else { continue };
        let allowed = dl < own || (name == "osprey-hub" && dep == "osprey-rules");
        if !allowed {
            problems.push(format!(
                "{name} (layer {own}) depends on {dep} (layer {dl}): dependencies must point down"
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_upward_and_sideways_dependencies() {
        let m = "[package]\nname = \"osprey-state\"\n[dependencies]\nosprey-event.workspace = true\nosprey-filter.workspace = true\nosprey-scap = { path = \"../scap\" }\n[dev-dependencies]\nosprey-cli.workspace = true\n";
        let p = upward_deps("osprey-state", 1, m);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("osprey-filter"));
        assert!(p[1].contains("osprey-scap"));
        assert!(upward_deps(
            "osprey-hub",
            4,
            "[dependencies]\nosprey-rules.workspace = true\n"
        )
        .is_empty());
    }
}
