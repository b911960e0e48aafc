//! Fuzzes the filter parser and compiler: any input must parse or fail cleanly,
//! a parsed tree must print, errors must report their columns, and compiling
//! against the syscall field catalogue (literal parsing, regexes, sets) must
//! succeed or fail without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match osprey_filter::parse(src) {
        Ok(ast) => {
            let _ = ast.to_string();
            if let Err(e) = osprey_filter::Filter::compile(
                src,
                &osprey_filter::fields::catalog::SyscallCatalog,
            ) {
                let _ = e.display_with_caret(src);
            }
        }
        Err(e) => {
            let _ = e.display_with_caret(src);
            let _ = e.snippet(src);
        }
    }
});
