//! The Lua chisel API against small scripts: what `sysdig.*` reports about
//! the machine, the containers and the command line.

use osprey_chisel::{Host, Options};
use osprey_state::State;
use std::path::{Path, PathBuf};

fn capture(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures"
    ))
    .join(name);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "missing fixture {}",
        p.display()
    );
    eprintln!("SKIPPED: fixture {} is missing", p.display());
    None
}

/// Writes `body` as the chisel `name.lua` in a fresh directory.
fn script(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("osprey-lua-api-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.lua"));
    std::fs::write(
        &p,
        format!("description = \"test\"\nshort_description = \"test\"\ncategory = \"Test\"\nargs = {{}}\n{body}"),
    )
    .unwrap();
    p
}

/// Runs only `on_capture_start` over the state loaded from `cap`'s snapshot
/// and returns what the chisel printed.
fn start(path: &Path, opts: &Options, state: &State) -> String {
    let name = path.to_str().unwrap();
    let mut ch = osprey_chisel::load_with(name, &[], opts).expect("load");
    let mut out = Vec::new();
    ch.on_capture_start(&Host { state, live: false }, &mut out)
        .expect("on_capture_start");
    String::from_utf8(out).unwrap()
}

#[test]
fn machine_info_comes_from_the_capture() {
    let Some(cap) = capture("libs_sample.scap") else {
        return;
    };
    let reader = osprey_scap::Reader::open(&cap).expect("open");
    let m = reader.snapshot().machine.clone().expect("machine info");
    let mut state = State::new();
    state.load(reader.snapshot());
    let p = script(
        "minfo",
        "function on_capture_start()\n  local m = sysdig.get_machine_info()\n  print(m.num_cpus, string.format('%d', m.memory_size_bytes), m.max_pid, m.hostname)\n  return true\nend\n",
    );
    let got = start(&p, &Options::default(), &state);
    assert!(m.num_cpus > 0 && m.memory_size_bytes > 0);
    assert_eq!(
        got,
        format!(
            "{}\t{}\t{}\t{}\n",
            m.num_cpus,
            m.memory_size_bytes,
            m.max_pid,
            String::from_utf8_lossy(&m.hostname)
        )
    );
}

#[test]
fn the_registry_hands_the_command_line_to_lua_chisels() {
    let p = script(
        "opts",
        "function on_capture_start()\n  print(sysdig.is_print_container_data(), sysdig.get_output_format(), sysdig.get_filter(), sysdig.get_evtsource_name())\n  return true\nend\n",
    );
    let state = State::new();
    let opts = Options {
        print_container: true,
        json: true,
        filter: "proc.name=cat".to_owned(),
        source: "x.scap".to_owned(),
    };
    assert_eq!(
        start(&p, &opts, &state),
        "true\tjson\tproc.name=cat\tx.scap\n"
    );
    assert_eq!(
        start(&p, &Options::default(), &state),
        "false\tnormal\t\t\n"
    );
}

#[test]
fn container_table_lists_the_state_containers() {
    let Some(cap) = capture("falco_psp_write_tmp_test.scap") else {
        return;
    };
    let mut reader = osprey_scap::Reader::open(&cap).expect("open");
    let mut state = State::new();
    state.load(reader.snapshot());
    while let Some(ev) = reader.next_event().expect("read") {
        state.process(&ev);
    }
    assert!(state.containers().count() > 0);
    let p = script(
        "ctable",
        "function on_capture_start()\n  for i, c in ipairs(sysdig.get_container_table()) do print(i, c.id, c.name, c.image, c.type) end\n  return true\nend\n",
    );
    assert_eq!(
        start(&p, &Options::default(), &state),
        "1\t697956520d89\thopeful_taussig\tnginx\tdocker\n"
    );
}
