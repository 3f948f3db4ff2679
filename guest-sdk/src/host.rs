//! Access to the host: logging, progress, key-value state, the clock and emitted output.
//!
//! On `wasm32` every function calls the contract's imports. On other targets it calls
//! the [`crate::testing::MockHost`] the test installed (and without one, logs and
//! progress are dropped and the rest fails with [`HostError::Failed`]), so a
//! connector's code runs unchanged in native unit tests.

#[cfg(target_arch = "wasm32")]
pub(crate) mod backend {
    use crate::bindings::airlock::connector as wit;
    pub use wit::log::Level;
    use wit::types::{HostError, Output};

    pub fn log(level: Level, message: &str, fields: &[(String, String)]) {
        wit::log::log(level, message, fields)
    }
    pub fn progress(done: u64, total: Option<u64>, note: Option<&str>) {
        wit::log::progress(done, total, note)
    }
    pub fn http_send(req: &wit::http::Request) -> Result<wit::http::Response, HostError> {
        wit::http::send(req)
    }
    pub fn kv_get(key: &str) -> Result<Option<Vec<u8>>, HostError> {
        wit::kv::get(key)
    }
    pub fn kv_set(key: &str, value: &[u8]) -> Result<(), HostError> {
        wit::kv::set(key, value)
    }
    pub fn kv_delete(key: &str) -> Result<(), HostError> {
        wit::kv::delete(key)
    }
    pub fn now_ms() -> u64 {
        wit::clock::now_ms()
    }
    pub fn sleep(ms: u64) -> Result<(), HostError> {
        wit::clock::sleep(ms)
    }
    pub fn emit(output: &Output) -> Result<(), HostError> {
        wit::emit::emit(output)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use crate::testing::backend;

/// Structured logs, tagged by the host with tenant, connector, version and call id.
pub mod log {
    pub use crate::bindings::airlock::connector::log::Level;

    /// Logs `message` at `level` with key-value `fields`.
    pub fn log_with(level: Level, message: &str, fields: &[(&str, &str)]) {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        super::backend::log(level, message, &fields);
    }
    /// Logs at `debug`.
    pub fn debug(message: &str) {
        log_with(Level::Debug, message, &[]);
    }
    /// Logs at `info`.
    pub fn info(message: &str) {
        log_with(Level::Info, message, &[]);
    }
    /// Logs at `warn`.
    pub fn warn(message: &str) {
        log_with(Level::Warn, message, &[]);
    }
    /// Logs at `error`.
    pub fn error(message: &str) {
        log_with(Level::Error, message, &[]);
    }
}

/// Liveness and progress of a long call (each report is also a heartbeat).
pub mod progress {
    /// Reports `done` of `total` units (total unknown when `None`).
    pub fn report(done: u64, total: Option<u64>) {
        super::backend::progress(done, total, None);
    }
    /// Reports progress with a note for people.
    pub fn report_with_note(done: u64, total: Option<u64>, note: &str) {
        super::backend::progress(done, total, Some(note));
    }
}

/// State private to this tenant's deployment of the connector.
pub mod kv {
    use crate::HostError;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    /// The bytes stored under `key`, if any.
    pub fn get(key: &str) -> Result<Option<Vec<u8>>, HostError> {
        super::backend::kv_get(key)
    }
    /// Stores `value` under `key`.
    pub fn set(key: &str, value: &[u8]) -> Result<(), HostError> {
        super::backend::kv_set(key, value)
    }
    /// Removes `key` (missing keys are fine).
    pub fn delete(key: &str) -> Result<(), HostError> {
        super::backend::kv_delete(key)
    }
    /// The JSON value stored under `key`; a value that does not parse as `T` is
    /// reported as [`HostError::Invalid`].
    pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, HostError> {
        match get(key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                HostError::Invalid(format!("kv value `{key}` is not the expected JSON: {e}"))
            }),
        }
    }
    /// Stores `value` as JSON under `key`.
    pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), HostError> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| HostError::Invalid(format!("cannot serialise kv value `{key}`: {e}")))?;
        set(key, &bytes)
    }
}

/// The host's clock.
pub mod clock {
    use crate::HostError;
    use crate::time::Timestamp;

    /// The current time.
    pub fn now() -> Timestamp {
        Timestamp::from_unix_millis(i64::try_from(now_ms()).unwrap_or(i64::MAX))
    }
    /// The current time in milliseconds since the Unix epoch.
    pub fn now_ms() -> u64 {
        super::backend::now_ms()
    }
    /// Waits `ms` milliseconds; fails at once with [`HostError::Timeout`] when the wait
    /// would outlast the call's time budget.
    pub fn sleep(ms: u64) -> Result<(), HostError> {
        super::backend::sleep(ms)
    }
}

/// Emit-as-you-go output.
pub mod emit {
    use crate::{HostError, Output};

    /// Hands one output to the host; it is validated and published after the call
    /// succeeds.
    pub fn emit(output: &Output) -> Result<(), HostError> {
        super::backend::emit(output)
    }
}
