//! Fuzzes `-p` output formats: any text must parse against the syscall field
//! catalogue or fail cleanly, and a parsed format must render text and JSON for
//! any field values without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use osprey_filter::fields::catalog::SyscallCatalog;
use osprey_filter::format::Format;
use osprey_filter::{Extract, FieldRef, Value, Values};

/// Gives every field a value chosen by the field id, so formats render every
/// kind of value (numbers, strings, addresses, missing fields).
struct AnyValues;

impl Extract for AnyValues {
    fn extract(&self, field: &FieldRef, out: &mut Values) -> bool {
        match field.id % 5 {
            0 => out.push(Value::Uint(u64::from(field.id) * 1_000_000_007)),
            1 => out.push(Value::Int(-i64::from(field.id))),
            2 => out.push_bytes(b"value \"with\" \x01 bytes \xff"),
            3 => out.push(Value::Ipv6([1; 16])),
            _ => return false,
        }
        true
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = Format::parse(src, &SyscallCatalog) {
        let mut scratch = Values::new();
        let mut out = Vec::new();
        let _ = f.write_text(&AnyValues, &mut scratch, &mut out);
        let _ = f.write_json(&AnyValues, &mut scratch, &mut out);
    }
});
