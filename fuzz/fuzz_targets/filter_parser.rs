//! Fuzzes the filter parser: any input must parse or fail cleanly, and a parsed
//! tree must print and report error columns without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match osprey_filter::parse(src) {
        Ok(ast) => {
            let _ = ast.to_string();
        }
        Err(e) => {
            let _ = e.display_with_caret(src);
            let _ = e.snippet(src);
        }
    }
});
