//! A mock host for native unit tests: HTTP fixtures, kv, a virtual clock, and
//! captured logs, progress reports and emitted outputs. No WebAssembly involved.
//!
//! [`Harness`] runs a connector through the same entry points the component exports
//! (JSON text in, contract records out), under a [`MockHost`] that applies the
//! manifest's outbound-host declarations the way Airlock does: a request to an
//! undeclared host fails with [`HostError::Denied`], and a declared
//! [`Credential`] is added to the recorded request from the harness's secrets, so a
//! test can check the host would authenticate it without the guest seeing the secret.
//!
//! ```
//! use airlock_sdk::prelude::*;
//! use airlock_sdk::testing::{Harness, MockResponse};
//! # #[derive(Default)] struct Feed;
//! # impl Connector for Feed {
//! #   fn describe(&self) -> Manifest {
//! #     Manifest::builder("feed", "Feed", "0.1.0").outbound_host("https://feed.test").build()
//! #   }
//! #   fn poll(&self, _c: Option<String>, _x: &Context) -> Result<PollResult> {
//! #     let r = airlock_sdk::http::Client::new().send(&airlock_sdk::http::Request::get("https://feed.test/x"))?;
//! #     Ok(PollResult { outputs: vec![Output::json(&r.text())?], next_cursor: None, more: false })
//! #   }
//! # }
//! let h = Harness::new(Feed);
//! h.host().respond("GET", "https://feed.test/x", MockResponse::status(429).header("retry-after", "2"));
//! h.host().respond("GET", "https://feed.test/x", MockResponse::ok("hello"));
//! let result = h.poll(None).unwrap();
//! assert_eq!(result.outputs.len(), 1);
//! assert_eq!(h.host().sleeps(), vec![2000]); // the virtual clock honoured Retry-After
//! ```

#[cfg(feature = "stix-schemas")]
pub mod stix_schemas;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;

use serde_json::Value;

use crate::bindings::airlock::connector::log::Level;
use crate::connector::adapter::{self, CallContext};
use crate::http::{Origin, OriginPattern, Request, Response};
use crate::time::Timestamp;
use crate::{Connector, Credential, Error, HostError, InboundEvent, Manifest, Output, PollResult};

/// A canned HTTP answer.
#[derive(Debug, Clone)]
pub struct MockResponse {
    result: std::result::Result<Response, HostError>,
}

impl MockResponse {
    /// `200 OK` with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        MockResponse::status(200).body(body)
    }
    /// `200 OK` with a JSON body.
    pub fn json(value: &Value) -> Self {
        MockResponse::ok(value.to_string()).header("content-type", "application/json")
    }
    /// An empty response with `status`.
    pub fn status(status: u16) -> Self {
        MockResponse {
            result: Ok(Response {
                status,
                headers: Vec::new(),
                body: Vec::new(),
            }),
        }
    }
    /// A host error instead of a response (a timeout, a connection failure…).
    pub fn error(error: HostError) -> Self {
        MockResponse { result: Err(error) }
    }
    /// Adds a header (names are stored lowercase, as the host delivers them).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Ok(r) = &mut self.result {
            r.headers
                .push((name.to_ascii_lowercase(), value.to_string()));
        }
        self
    }
    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        if let Ok(r) = &mut self.result {
            r.body = body.into();
        }
        self
    }
}

/// A log line the connector wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Its level.
    pub level: Level,
    /// Its message.
    pub message: String,
    /// Its fields.
    pub fields: Vec<(String, String)>,
}

/// A progress report (heartbeat) the connector sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Units done.
    pub done: u64,
    /// Units in all, if known.
    pub total: Option<u64>,
    /// The note, if any.
    pub note: Option<String>,
}

/// Responses queued for one method and URL. `repeating` is set once the last queued
/// response has been served: it keeps being served until another is queued.
struct Fixture {
    method: String,
    url: String,
    queue: VecDeque<MockResponse>,
    repeating: bool,
}

#[derive(Default)]
struct State {
    now_ms: u64,
    budget_ms: Option<u64>,
    slept_ms: u64,
    declared: Option<Vec<(OriginPattern, Option<Credential>)>>,
    secrets: HashMap<String, String>,
    fixtures: Vec<Fixture>,
    requests: Vec<Request>,
    kv: BTreeMap<String, Vec<u8>>,
    logs: Vec<LogLine>,
    progress: Vec<Progress>,
    emitted: Vec<Output>,
    sleeps: Vec<u64>,
}

/// The mock host. Cloning shares the same state.
#[derive(Clone, Default)]
pub struct MockHost {
    state: Rc<RefCell<State>>,
}

impl std::fmt::Debug for MockHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHost").finish_non_exhaustive()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<MockHost>> = const { RefCell::new(None) };
}

/// The virtual clock's default start: 2025-01-01T00:00:00Z.
pub const DEFAULT_NOW_MS: u64 = 1_735_689_600_000;

impl MockHost {
    /// A host with no fixtures, an empty kv, the clock at [`DEFAULT_NOW_MS`], no time
    /// budget, and every outbound host allowed (until [`MockHost::declare`]).
    pub fn new() -> Self {
        let host = MockHost::default();
        host.state.borrow_mut().now_ms = DEFAULT_NOW_MS;
        host
    }

    /// Applies the manifest's outbound hosts as the allow-list, with their credentials.
    /// An unparsable pattern makes every request to it fail, as Airlock rejects it.
    pub fn declare(&self, manifest: &Manifest) -> &Self {
        let declared = manifest
            .outbound_hosts
            .iter()
            .filter_map(|h| {
                OriginPattern::parse(&h.pattern)
                    .ok()
                    .map(|p| (p, h.credential.clone()))
            })
            .collect();
        self.state.borrow_mut().declared = Some(declared);
        self
    }

    /// Sets a deployment secret the host may inject into requests.
    pub fn secret(&self, name: &str, value: &str) -> &Self {
        self.state
            .borrow_mut()
            .secrets
            .insert(name.to_string(), value.to_string());
        self
    }

    /// Queues `response` for `method url` (exact match). Queued responses are served
    /// in order; the last one keeps being served until another is queued.
    pub fn respond(&self, method: &str, url: &str, response: MockResponse) -> &Self {
        let mut st = self.state.borrow_mut();
        let method = method.to_ascii_uppercase();
        if let Some(f) = st
            .fixtures
            .iter_mut()
            .find(|f| f.method == method && f.url == url)
        {
            if f.repeating {
                f.queue.pop_front();
                f.repeating = false;
            }
            f.queue.push_back(response);
        } else {
            st.fixtures.push(Fixture {
                method,
                url: url.to_string(),
                queue: VecDeque::from([response]),
                repeating: false,
            });
        }
        self
    }

    /// Sets the virtual clock.
    pub fn set_now(&self, now: Timestamp) -> &Self {
        self.state.borrow_mut().now_ms = u64::try_from(now.unix_millis()).unwrap_or(0);
        self
    }

    /// Limits the total time `sleep` may wait, like a call's wall-clock budget.
    pub fn set_budget_ms(&self, budget_ms: u64) -> &Self {
        self.state.borrow_mut().budget_ms = Some(budget_ms);
        self
    }

    /// Runs `f` with this host installed for the current thread.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let previous = CURRENT.with(|c| c.replace(Some(self.clone())));
        struct Restore(Option<MockHost>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let prev = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = prev);
            }
        }
        let _restore = Restore(previous);
        f()
    }

    /// The requests sent so far, with the credentials the host added.
    pub fn requests(&self) -> Vec<Request> {
        self.state.borrow().requests.clone()
    }
    /// The log lines so far.
    pub fn logs(&self) -> Vec<LogLine> {
        self.state.borrow().logs.clone()
    }
    /// The progress reports so far.
    pub fn progress(&self) -> Vec<Progress> {
        self.state.borrow().progress.clone()
    }
    /// The outputs emitted so far.
    pub fn emitted(&self) -> Vec<Output> {
        self.state.borrow().emitted.clone()
    }
    /// The sleeps so far, in milliseconds.
    pub fn sleeps(&self) -> Vec<u64> {
        self.state.borrow().sleeps.clone()
    }
    /// The virtual clock's time.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(i64::try_from(self.state.borrow().now_ms).unwrap_or(i64::MAX))
    }
    /// The kv value under `key`.
    pub fn kv(&self, key: &str) -> Option<Vec<u8>> {
        self.state.borrow().kv.get(key).cloned()
    }
    /// Pre-sets a kv value.
    pub fn set_kv(&self, key: &str, value: &[u8]) -> &Self {
        self.state
            .borrow_mut()
            .kv
            .insert(key.to_string(), value.to_vec());
        self
    }

    fn http_send(&self, request: &Request) -> std::result::Result<Response, HostError> {
        let origin = Origin::of_url(&request.url).ok_or_else(|| {
            HostError::Invalid(format!("`{}` is not an absolute http(s) URL", request.url))
        })?;
        let mut st = self.state.borrow_mut();
        let mut sent = request.clone();
        if let Some(declared) = &st.declared {
            let (_, credential) = declared
                .iter()
                .find(|(p, _)| p.matches(&origin))
                .ok_or_else(|| {
                    HostError::Denied(format!(
                        "{}://{}:{} is not among the outbound hosts this connector declared",
                        origin.scheme, origin.host, origin.port
                    ))
                })?;
            if let Some(credential) = credential.clone() {
                inject(&mut sent, &credential, &st.secrets)?;
            }
        }
        st.requests.push(sent);
        let method = request.method.to_ascii_uppercase();
        let no_fixture =
            || HostError::Failed(format!("no mock response for {method} {}", request.url));
        let fixture = st
            .fixtures
            .iter_mut()
            .find(|f| f.method == method && f.url == request.url)
            .ok_or_else(no_fixture)?;
        let response = if fixture.queue.len() > 1 {
            fixture.queue.pop_front()
        } else {
            fixture.repeating = true;
            fixture.queue.front().cloned()
        };
        response
            .map(|r| r.result)
            .unwrap_or_else(|| Err(no_fixture()))
    }
}

/// Adds the credential as Airlock's host does (HMAC is over the body, hex).
fn inject(
    request: &mut Request,
    credential: &Credential,
    secrets: &HashMap<String, String>,
) -> std::result::Result<(), HostError> {
    let secret = |name: &str| {
        secrets.get(name).cloned().ok_or_else(|| {
            HostError::Denied(format!(
                "the deployment has no secret `{name}` to authenticate with"
            ))
        })
    };
    match credential {
        Credential::Bearer(name) => request
            .headers
            .push(("authorization".into(), format!("Bearer {}", secret(name)?))),
        Credential::Basic(b) => {
            let pair = format!(
                "{}:{}",
                secret(&b.username_secret)?,
                secret(&b.password_secret)?
            );
            request.headers.push((
                "authorization".into(),
                format!("Basic {}", base64(pair.as_bytes())),
            ));
        }
        Credential::Header(h) => request
            .headers
            .push((h.header.to_ascii_lowercase(), secret(&h.secret)?)),
        Credential::HmacSha256(h) => {
            // The mock does not carry an HMAC implementation: it records which secret
            // signed the body, which is what a connector test can check.
            request.headers.push((
                h.header.to_ascii_lowercase(),
                format!("hmac-sha256({})", h.secret),
            ));
        }
    }
    Ok(())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What the SDK's host functions call on native targets.
#[doc(hidden)]
pub mod backend {
    use super::*;

    fn with<R>(f: impl FnOnce(&MockHost) -> R) -> Option<R> {
        CURRENT.with(|c| c.borrow().as_ref().map(f))
    }
    fn no_host() -> HostError {
        HostError::Failed(
            "no host: run the connector inside airlock_sdk::testing::MockHost::run".into(),
        )
    }

    pub fn log(level: Level, message: &str, fields: &[(String, String)]) {
        with(|h| {
            h.state.borrow_mut().logs.push(LogLine {
                level,
                message: message.to_string(),
                fields: fields.to_vec(),
            })
        });
    }
    pub fn progress(done: u64, total: Option<u64>, note: Option<&str>) {
        with(|h| {
            h.state.borrow_mut().progress.push(Progress {
                done,
                total,
                note: note.map(str::to_string),
            })
        });
    }
    pub fn http_send(req: &Request) -> std::result::Result<Response, HostError> {
        with(|h| h.http_send(req)).unwrap_or_else(|| Err(no_host()))
    }
    pub fn kv_get(key: &str) -> std::result::Result<Option<Vec<u8>>, HostError> {
        with(|h| h.kv(key)).ok_or_else(no_host)
    }
    pub fn kv_set(key: &str, value: &[u8]) -> std::result::Result<(), HostError> {
        with(|h| {
            h.set_kv(key, value);
        })
        .ok_or_else(no_host)
    }
    pub fn kv_delete(key: &str) -> std::result::Result<(), HostError> {
        with(|h| {
            h.state.borrow_mut().kv.remove(key);
        })
        .ok_or_else(no_host)
    }
    pub fn now_ms() -> u64 {
        with(|h| h.state.borrow().now_ms).unwrap_or(DEFAULT_NOW_MS)
    }
    pub fn sleep(ms: u64) -> std::result::Result<(), HostError> {
        with(|h| {
            let mut st = h.state.borrow_mut();
            if st
                .budget_ms
                .is_some_and(|b| st.slept_ms.saturating_add(ms) > b)
            {
                return Err(HostError::Timeout(format!(
                    "sleeping {ms} ms would outlast the call's budget"
                )));
            }
            st.slept_ms += ms;
            st.now_ms += ms;
            st.sleeps.push(ms);
            Ok(())
        })
        .unwrap_or_else(|| Err(no_host()))
    }
    pub fn emit(output: &Output) -> std::result::Result<(), HostError> {
        with(|h| h.state.borrow_mut().emitted.push(output.clone())).ok_or_else(no_host)
    }
}

/// Runs a connector through its exported entry points under a [`MockHost`].
pub struct Harness<C> {
    host: MockHost,
    config: Value,
    tenant: String,
    _connector: std::marker::PhantomData<C>,
}

impl<C: Connector + Default> Harness<C> {
    /// A harness for `connector`'s type, with its manifest's outbound hosts declared
    /// and an empty config.
    pub fn new(_connector: C) -> Self {
        let host = MockHost::new();
        let manifest = host.run(adapter::describe::<C>);
        host.declare(&manifest);
        Harness {
            host,
            config: Value::Object(Default::default()),
            tenant: "tenant-test".into(),
            _connector: std::marker::PhantomData,
        }
    }
    /// Sets the deployment config passed to every call.
    pub fn config(mut self, config: Value) -> Self {
        self.config = config;
        self
    }
    /// The mock host, for fixtures and captured effects.
    pub fn host(&self) -> &MockHost {
        &self.host
    }
    fn context(&self) -> CallContext {
        CallContext {
            call_id: "call-test".into(),
            tenant_id: self.tenant.clone(),
            config: self.config.to_string(),
        }
    }
    /// Calls `describe`.
    pub fn describe(&self) -> Manifest {
        self.host.run(adapter::describe::<C>)
    }
    /// Calls `validate-config` with `config`.
    pub fn validate_config(&self, config: &Value) -> Result<(), Error> {
        self.host
            .run(|| adapter::validate_config::<C>(config.to_string()))
    }
    /// Calls `invoke`.
    pub fn invoke(&self, action: &str, input: &Value) -> Result<Vec<Output>, Error> {
        self.host
            .run(|| adapter::invoke::<C>(action.to_string(), input.to_string(), self.context()))
    }
    /// Calls `ingest` with a body and content type.
    pub fn ingest(&self, body: &[u8], content_type: &str) -> Result<Vec<Output>, Error> {
        let event = InboundEvent {
            id: "event-test".into(),
            content_type: content_type.into(),
            body: body.to_vec(),
            received_at_ms: self.host.state.borrow().now_ms,
        };
        self.host
            .run(|| adapter::ingest::<C>(event, self.context()))
    }
    /// Calls `poll`.
    pub fn poll(&self, cursor: Option<&str>) -> Result<PollResult, Error> {
        self.host
            .run(|| adapter::poll::<C>(cursor.map(str::to_string), self.context()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn responses_queued_after_the_repeating_one_are_reached() {
        let host = MockHost::new();
        let url = "https://x.test/a";
        host.respond("GET", url, MockResponse::status(200));
        let get = || {
            host.run(|| crate::http::send(&Request::get(url)))
                .unwrap()
                .status
        };
        assert_eq!((get(), get()), (200, 200));
        host.respond("GET", url, MockResponse::status(304));
        assert_eq!((get(), get()), (304, 304));
    }

    #[test]
    fn host_functions_without_a_mock_host_fail_clearly() {
        let err = crate::kv::get("x").unwrap_err();
        assert!(err.message().contains("MockHost::run"), "{err:?}");
    }
}
