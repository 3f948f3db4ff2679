//! Workspace-level integration tests. The build script compiles the example
//! connectors to components; [`guests`] holds their paths.

/// Paths of the example connectors' `.wasm` components, built by `build.rs`.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));
}
