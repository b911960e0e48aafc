//! osprey-filter (being built).
