//! osprey-scap (being built).
