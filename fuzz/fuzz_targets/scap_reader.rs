//! Feeds arbitrary bytes to the capture reader: it must return errors, never panic.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = osprey_scap::Reader::new(Cursor::new(data.to_vec())) else {
        return;
    };
    let _ = r.snapshot().procs.len();
    while let Ok(Some(ev)) = r.next_event() {
        let _ = ev.params().map(<[u8]>::len).sum::<usize>();
    }
});
