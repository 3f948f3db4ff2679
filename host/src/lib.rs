//! Airlock's host: loads connector components and runs them in a wasmtime sandbox.
//!
//! See ARCHITECTURE.md at the repository root for the module map. Today the crate has
//! the [`runtime`] module (load a component, read its manifest, call it with no
//! ambient authority); the registry server, health, auth, ingest, validation and the
//! bus follow.

pub mod runtime;
