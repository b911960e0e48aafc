//! Fuzzes the configuration parsers of osprey-hub and osprey-forward: arbitrary YAML
//! plus an environment whose variables all hold one arbitrary value. Any input either
//! fails with an error or gives a configuration; nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // YAML, then (after the first NUL) the value every variable of the
    // `WEBHOOK_`, `SLACK_`, `QUEUE_`, `STORAGE_` and `LISTENPORT` families has.
    let (yaml, value) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let Ok(yaml) = std::str::from_utf8(yaml) else {
        return;
    };
    let value = value.and_then(|v| std::str::from_utf8(v).ok());
    let env = |key: &str| {
        let set = [
            "WEBHOOK_",
            "SLACK_",
            "QUEUE_",
            "STORAGE_",
            "LISTENPORT",
            "CUSTOMFIELDS",
        ]
        .iter()
        .any(|p| key.starts_with(p));
        value.filter(|_| set).map(str::to_owned)
    };
    let _ = osprey_forward::Config::from_yaml_and_env(yaml, env);
    let _ = osprey_hub::Config::from_yaml_and_env(yaml, env);
});
