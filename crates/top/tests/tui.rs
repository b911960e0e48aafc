//! osprey-top in a real terminal (a detached tmux session of fixed size) on
//! capture files: the processes view with csysdig's numbers, F2 to another
//! view and back, and a drill-down from a process to its files and back.

mod common;

use common::{line_with, Top};

/// Waits for a view title.
fn viewing(top: &Top, title: &str) -> String {
    top.wait(title, 20, |s| {
        s.contains(&format!("Viewing: {title} ")) && s.contains("(end of file)")
    })
}

#[test]
fn processes_with_csysdig_numbers_and_f2_to_files() {
    if !common::tmux_available() {
        return;
    }
    let Some(file) = common::capture("inspect_502Error.scap") else {
        return;
    };
    let top = Top::start(&["-r", &file], 160, 40);
    let s = top.wait("haproxy", 20, |s| s.contains("/usr/sbin/haproxy"));
    let s = if s.contains("(end of file)") {
        s
    } else {
        viewing(&top, "Processes")
    };
    assert!(s.contains("Viewing: Processes For: whole machine"), "{s}");
    assert!(s.contains("PID") && s.contains("CPU") && s.contains("Command"));
    // csysdig -r inspect_502Error.scap -j -v procs: haproxy 13969 (parent
    // 13924) averages 0.3846 CPU, python 13700 (parent 13681) 0.1538; they
    // head the list, sorted by CPU.
    let haproxy = line_with(&s, "/usr/sbin/haproxy -f /haproxy.cfg -db -q").unwrap();
    let words: Vec<&str> = haproxy.split_whitespace().collect();
    assert_eq!(&words[..3], ["13969", "13924", "0.38"], "{haproxy}");
    let python = line_with(&s, "python /server.py").unwrap();
    let words: Vec<&str> = python.split_whitespace().collect();
    assert_eq!(&words[..3], ["13700", "13681", "0.15"], "{python}");
    let rows: Vec<&str> = s.lines().skip(3).collect();
    assert!(
        rows[0].contains("haproxy") && rows[1].contains("python"),
        "{s}"
    );
    assert!(s.contains("curl localhost/bar"));

    // F2: the view list; pick Files.
    top.keys(&["F2"]);
    let s = top.wait("the view list", 10, |s| s.contains("Select View"));
    let list: Vec<String> = s
        .lines()
        .filter_map(|l| {
            let inner = l.split('│').nth(1)?;
            Some(inner.trim().to_owned())
        })
        .filter(|n| !n.is_empty())
        .collect();
    let at = list.iter().position(|n| n == "Files").expect("Files in F2");
    let mut keys = vec!["Home"];
    keys.extend(std::iter::repeat_n("Down", at));
    keys.push("Enter");
    top.keys(&keys);
    let s = viewing(&top, "Files");
    // Bytes read per file (csysdig's files view): 10804 B of /etc/hosts.
    let hosts = line_with(&s, "/etc/hosts").unwrap();
    assert!(hosts.split_whitespace().next() == Some("11K"), "{hosts}");
    assert!(s.contains("/etc/resolv.conf"));

    // Backspace: back to the processes.
    top.keys(&["BSpace"]);
    let s = viewing(&top, "Processes");
    assert!(s.contains("/usr/sbin/haproxy"));
    top.keys(&["q"]);
    top.wait("exit", 10, |_| !top.alive());
}

#[test]
fn drill_down_from_a_process_to_its_files_and_back() {
    if !common::tmux_available() {
        return;
    }
    let Some(file) = common::capture("falco_cat_write.scap") else {
        return;
    };
    let top = Top::start(&["-r", &file], 150, 30);
    viewing(&top, "Processes");
    // Search selects the row of `cat /dev/null`.
    top.keys(&["/"]);
    top.wait("the search box", 10, |s| s.contains("Search"));
    top.text("cat /dev/null");
    top.keys(&["Enter"]);
    let s = top.wait("cat selected", 10, |s| {
        !s.contains("Search") && s.contains("cat /dev/null")
    });
    assert!(line_with(&s, "cat /dev/null").unwrap().contains("20072"));
    top.keys(&["Enter"]);
    let s = viewing(&top, "Threads");
    assert!(s.contains("For: proc.pid=20072"), "{s}");
    let line = line_with(&s, "cat /dev/null").unwrap();
    assert!(
        line.split_whitespace().take(2).eq(["20072", "20072"]),
        "{line}"
    );
    top.keys(&["Enter"]);
    let s = viewing(&top, "Files");
    assert!(s.contains("thread.tid=20072"), "{s}");
    // The files cat opened and read: libc (832 bytes read) and /dev/null.
    let libc = line_with(&s, "/lib/x86_64-linux-gnu/libc.so.6").unwrap();
    assert_eq!(libc.split_whitespace().next(), Some("832"), "{libc}");
    assert!(s.contains("/dev/null"));
    top.keys(&["BSpace"]);
    viewing(&top, "Threads");
    top.keys(&["BSpace"]);
    let s = viewing(&top, "Processes");
    assert!(s.contains("For: whole machine"));
    assert!(s.contains("emacs -nw"));
    top.keys(&["q"]);
    top.wait("exit", 10, |_| !top.alive());
}
