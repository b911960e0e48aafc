//! The /proc bootstrap (being built).
