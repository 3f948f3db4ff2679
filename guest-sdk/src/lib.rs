//! # airlock-sdk: build Airlock connectors
//!
//! An Airlock connector is a WebAssembly component that bridges one external system
//! to Airlock's event bus. This crate is all a connector author depends on:
//!
//! - [`Connector`]: one trait whose methods (other than [`Connector::describe`]) have
//!   defaults, and [`export_connector!`], the one macro that turns a type into a
//!   component implementing the `airlock:connector@0.1.0` contract;
//! - [`Manifest::builder`] to declare the connector (category, capabilities, output
//!   standards, config and secrets JSON Schemas, actions, outbound hosts);
//! - host access: [`log`], [`progress`], [`http`] (a client that retries 429 and 5xx
//!   honouring `Retry-After`), [`kv`], [`clock`], [`emit`];
//! - output helpers: [`stix`] (STIX 2.1 builders), [`cap`] (CAP 1.2 alerts),
//!   [`ais`] (NMEA `!AIVDM` sentences to ITU-R M.1371 reports), [`paginate`] (cursor,
//!   offset and `Link` header paging), [`time`];
//! - [`testing`]: a native mock host, so connectors are unit-tested with plain
//!   `cargo test`, without WebAssembly.
//!
//! The smallest connector:
//!
//! ```
//! use airlock_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct Echo;
//!
//! impl Connector for Echo {
//!     fn describe(&self) -> Manifest {
//!         Manifest::builder("echo", "Echo", "0.1.0")
//!             .vendor("Example Corp")
//!             .description("Returns its input.")
//!             .category(Category::Custom)
//!             .action(Action::new("echo", "Returns the input unchanged."))
//!             .build()
//!     }
//!
//!     fn invoke(&self, action: &str, input: Value, _ctx: &Context) -> Result<Vec<Output>> {
//!         match action {
//!             "echo" => Ok(vec![Output::json(&input)?]),
//!             other => Err(Error::unknown_action(other)),
//!         }
//!     }
//! }
//!
//! airlock_sdk::export_connector!(Echo);
//! ```
//!
//! On `wasm32` the host functions call the real host; on any other target they call
//! the [`testing::MockHost`] installed by the test, and fail with
//! [`HostError::Failed`] when there is none.
#![deny(missing_docs)]

pub mod ais;
pub mod cap;
mod connector;
mod host;
pub mod http;
pub mod paginate;
pub mod stix;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod time;

pub use connector::{Connector, Context, Error, ManifestBuilder, Result};
pub use host::{clock, emit, kv, log, progress};

pub use bindings::airlock::connector::types::{
    Action, BasicCredential, Category, Credential, HeaderCredential, HostError, InboundEvent,
    Manifest, OutboundHost, Output, OutputStandard, PollResult, RateLimit, UpstreamError,
};
pub use serde_json::{Value, json};

/// The contract version this SDK builds connectors for.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Everything a connector usually needs, in one `use`.
pub mod prelude {
    pub use crate::{
        Action, Category, Connector, Context, Credential, Error, InboundEvent, Manifest,
        OutboundHost, Output, OutputStandard, PollResult, Result, Value, json,
    };
}

/// The generated bindings of the WIT contract. Not part of the SDK's API: use the
/// re-exports at the crate root.
#[doc(hidden)]
#[allow(missing_docs, clippy::all, unsafe_code)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/0.1.0",
        world: "connector",
        pub_export_macro: true,
        export_macro_name: "__export_connector_bindings",
        default_bindings_module: "airlock_sdk::bindings",
        additional_derives: [PartialEq],
        generate_all,
    });
}

/// Glue between [`export_connector!`] and the generated bindings. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::exports::airlock::connector::guest::Guest;
    pub use crate::connector::adapter::*;
}

/// Exports a [`Connector`] type as the component's implementation of the contract.
///
/// The type must implement [`Connector`] and [`Default`]; the host creates it afresh
/// for every call (each call runs in a fresh sandbox instance, so no state survives
/// between calls except what the connector keeps in [`kv`]). Use it once per crate.
/// On targets other than `wasm32` it expands to nothing, so the connector crate also
/// builds natively for its unit tests.
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct AirlockConnectorExport;

            impl $crate::__private::Guest for AirlockConnectorExport {
                fn describe() -> $crate::Manifest {
                    $crate::__private::describe::<$connector>()
                }
                fn validate_config(config: String) -> ::core::result::Result<(), $crate::Error> {
                    $crate::__private::validate_config::<$connector>(config)
                }
                fn invoke(
                    action: String,
                    input: String,
                    context: $crate::__private::CallContext,
                ) -> ::core::result::Result<Vec<$crate::Output>, $crate::Error> {
                    $crate::__private::invoke::<$connector>(action, input, context)
                }
                fn ingest(
                    event: $crate::InboundEvent,
                    context: $crate::__private::CallContext,
                ) -> ::core::result::Result<Vec<$crate::Output>, $crate::Error> {
                    $crate::__private::ingest::<$connector>(event, context)
                }
                fn poll(
                    cursor: Option<String>,
                    context: $crate::__private::CallContext,
                ) -> ::core::result::Result<$crate::PollResult, $crate::Error> {
                    $crate::__private::poll::<$connector>(cursor, context)
                }
            }

            $crate::bindings::__export_connector_bindings!(
                AirlockConnectorExport with_types_in $crate::bindings
            );
        };
    };
}
