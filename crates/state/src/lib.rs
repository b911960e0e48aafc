//! osprey-state (being built).
