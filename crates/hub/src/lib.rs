//! osprey-hub: a Falcosidekick-compatible alert collector with storage and a web UI.
