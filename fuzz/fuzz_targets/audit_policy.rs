//! Fuzz the audit policy loader (YAML decoding, validation) and the linter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprey_audit::policy::Policy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((loaded, _errors)) = Policy::from_yaml_unvalidated(text) {
        let _ = osprey_audit::lint::lint(&loaded.policy);
    }
});
