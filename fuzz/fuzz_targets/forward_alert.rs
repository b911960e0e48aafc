//! Fuzzes osprey-forward's Falco alert parser: any input either fails with an error or
//! yields an alert that validates and whose serialisation parses back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use osprey_forward::Alert;

fuzz_target!(|data: &[u8]| {
    if let Ok(alert) = Alert::from_json(data) {
        assert!(alert.validate().is_ok());
        let json = alert.to_json();
        let again = Alert::from_json(&json).expect("serialised alert parses");
        assert_eq!(again.to_json(), json);
    }
});
