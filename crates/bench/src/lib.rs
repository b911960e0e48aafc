//! osprey-bench (being built).
