//! Deterministic corruption of real captures: truncations and byte flips at many
//! offsets must never panic, and truncations must report where they happened after
//! yielding every event before that point.

use std::io::{Cursor, Read};
use std::path::PathBuf;

use osprey_scap::{block, Error, Reader};

fn capture(name: &str) -> Option<Vec<u8>> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/captures"
    ))
    .join(name);
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("capture {} missing under CI: {e}", p.display())
        }
        Err(e) => {
            eprintln!("SKIPPED: capture {} not available ({e})", p.display());
            None
        }
    }
}

fn gunzip(b: Vec<u8>) -> Vec<u8> {
    if b.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&b[..])
            .read_to_end(&mut out)
            .expect("sample decompresses");
        out
    } else {
        b
    }
}

/// (offset, total length, type) of every block, walked independently of the reader.
fn blocks(b: &[u8]) -> Vec<(usize, usize, u32)> {
    let mut v = Vec::new();
    let mut off = 0;
    while off + 8 <= b.len() {
        let t = u32::from_le_bytes(b[off..off + 4].try_into().unwrap());
        let len = u32::from_le_bytes(b[off + 4..off + 8].try_into().unwrap()) as usize;
        v.push((off, len, t));
        off += len;
    }
    assert_eq!(off, b.len(), "sample is well formed");
    v
}

/// Reads everything, both as a stream and in place ([`Reader::from_bytes`]),
/// which must agree on the events and the error; returns the events yielded
/// and the final result.
fn read_all(bytes: Vec<u8>) -> (u64, Result<(), Error>) {
    let in_place = read_with(Reader::from_bytes(bytes.clone()));
    let streamed = read_with(Reader::new(Cursor::new(bytes)));
    assert_eq!(in_place.0, streamed.0, "events read in place and streamed");
    assert_eq!(
        in_place.1.as_ref().map_err(ToString::to_string),
        streamed.1.as_ref().map_err(ToString::to_string),
        "errors in place and streamed"
    );
    streamed
}

/// Reads everything from an opened reader.
fn read_with(r: Result<Reader, Error>) -> (u64, Result<(), Error>) {
    let mut r = match r {
        Ok(r) => r,
        Err(e) => return (0, Err(e)),
    };
    let mut n = 0;
    loop {
        match r.next_event() {
            Ok(Some(ev)) => {
                // touch every parameter: views must stay in bounds
                let _ = ev.params().map(<[u8]>::len).sum::<usize>();
                n += 1;
            }
            Ok(None) => return (n, Ok(())),
            Err(e) => {
                // fused after an error
                assert!(matches!(r.next_event(), Ok(None)));
                return (n, Err(e));
            }
        }
    }
}

const SAMPLES: [&str; 3] = [
    "falco_cat_write.scap",   // 1.0: legacy metadata, v1 events
    "libs_sample.scap",       // 1.2: PL_V9, FDL_V2, EV_V2
    "falco_ping_sendto.scap", // 1.2, 2019 writer
];

/// Offsets to cut or flip at: a regular sweep plus every block boundary neighbourhood.
fn offsets(len: usize, blocks: &[(usize, usize, u32)]) -> Vec<usize> {
    let mut v: Vec<usize> = (1..len).step_by((len / 200).max(1)).collect();
    for &(off, _, _) in blocks.iter().take(60) {
        for d in [0, 1, 3, 4, 5, 8, 9, 12, 20, 30] {
            if off + d > 0 && off + d < len {
                v.push(off + d);
            }
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn truncations_report_offset_and_block() {
    for name in SAMPLES {
        let Some(raw) = capture(name) else { return };
        let data = gunzip(raw);
        let blocks = blocks(&data);
        let first_ev = blocks.iter().position(|b| block::is_event(b.2)).unwrap();
        let (total, res) = read_all(data.clone());
        res.unwrap();
        assert_eq!(
            total as usize,
            blocks.len() - first_ev,
            "{name}: one event per block"
        );

        for cut in offsets(data.len(), &blocks) {
            let (n, res) = read_all(data[..cut].to_vec());
            let bi = blocks.iter().rposition(|b| b.0 <= cut).unwrap();
            let (boff, _, btype) = blocks[bi];
            let events_before = bi.saturating_sub(first_ev) as u64;
            assert_eq!(n, events_before, "{name} cut at {cut}: events yielded");
            if cut == boff {
                // a cut exactly between blocks is a clean (shorter) capture
                assert!(res.is_ok(), "{name} cut at {cut}: {res:?}");
                continue;
            }
            let e = res.expect_err("a cut inside a block is an error");
            assert!(e.is_truncated(), "{name} cut at {cut}: {e}");
            assert_eq!(e.offset(), boff as u64, "{name} cut at {cut}: {e}");
            let want = if cut - boff >= 4 {
                block::name(btype)
            } else {
                "block header"
            };
            assert_eq!(e.block(), Some(want), "{name} cut at {cut}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains(&boff.to_string()) && msg.contains(want),
                "{msg}"
            );
        }
    }
}

#[test]
fn byte_flips_never_panic() {
    for name in SAMPLES {
        let Some(raw) = capture(name) else { return };
        let data = gunzip(raw.clone());
        let blocks = blocks(&data);
        for (i, off) in offsets(data.len(), &blocks).into_iter().enumerate() {
            for x in [0xff, 0x80, 0x01] {
                let mut d = data.clone();
                d[off] ^= x;
                let _ = read_all(d);
            }
            // also large/zero lengths where a length field is likely
            let mut d = data.clone();
            let v = if i % 2 == 0 { 0u8 } else { 0xff };
            d[off..(off + 4).min(data.len())].fill(v);
            let _ = read_all(d);
        }
        // corrupt the compressed form too
        if raw.starts_with(&[0x1f, 0x8b]) {
            for off in (0..raw.len()).step_by((raw.len() / 100).max(1)) {
                let mut d = raw.clone();
                d[off] ^= 0x55;
                let _ = read_all(d);
                let (_, res) = read_all(raw[..off].to_vec());
                if off > 0 {
                    assert!(res.is_err(), "{name}: gzip cut at {off} went unnoticed");
                }
            }
        }
    }
}

#[test]
fn garbage_inputs_are_errors() {
    for input in [
        &b""[..],
        b"\x0a",
        b"\x0a\x0d\x0d\x0a\xff\xff\xff\xff",
        b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00\x4d\x3c\x2b\x1a\x01\x00\x02\x00",
        b"not a capture at all, just text",
        b"\x1f\x8b",
    ] {
        assert!(read_all(input.to_vec()).1.is_err(), "{input:?}");
    }
}
