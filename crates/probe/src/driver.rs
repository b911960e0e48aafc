//! The eBPF driver (being built).
