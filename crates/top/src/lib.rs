//! osprey-top: a csysdig-like terminal UI, live and on capture files.
