//! `fd.*ip.name`: an address shows a name only when a filter compares the
//! field with that name (which is then resolved), as in sysdig 0.29.3.

mod common;

use common::{osprey, shared, sysdig_available};
use std::process::Command;

fn sysdig(file: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new("sysdig")
        .env("TZ", "UTC")
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .expect("run sysdig");
    out.stdout
}

#[test]
fn address_names_match_sysdig() {
    let Some(cap) = shared("captures/falco_connect_localhost.scap") else {
        return;
    };
    if !sysdig_available() {
        return;
    }
    let cap = cap.to_str().unwrap();
    let fmt = "%evt.num %evt.type %fd.name %fd.sip.name %fd.cip.name %fd.lip.name %fd.rip.name";
    let cases: [&[&str]; 3] = [
        // The name is compared with: the server address resolves to it.
        &["-p", fmt, "fd.sip.name=localhost"],
        &[
            "-p",
            fmt,
            "fd.cip.name in (no-such-host.invalid, localhost)",
        ],
        // No name is: the fields have no value.
        &["-p", &format!("*{fmt}"), "evt.type=connect"],
    ];
    for args in cases {
        let want = sysdig(cap, args);
        let got = osprey(cap, args);
        assert!(got.status.success(), "{args:?}");
        assert!(!want.is_empty(), "sysdig printed nothing for {args:?}");
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want),
            "{args:?}"
        );
    }
}
