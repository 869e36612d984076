//! Backends: see lib.rs
