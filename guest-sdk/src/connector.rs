//! The [`Connector`] trait, the call [`Context`], and constructors for the contract's
//! records ([`Manifest`], [`Action`], [`Output`], [`Error`]).
//!
//! The contract's types are generated from the WIT; this module adds the methods a
//! connector author wants on them, so generated code never has to be written by hand.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::bindings::airlock::connector::types::{
    Action, BasicCredential, Category, ConnectorError, Credential, HeaderCredential, HostError,
    InboundEvent, Manifest, OutboundHost, Output, OutputStandard, PollResult, RateLimit,
    UpstreamError,
};

/// A connector's error: the contract's `connector-error` variant.
pub type Error = ConnectorError;

/// The result of a connector operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a connector implements. Only [`Connector::describe`] is required; each other
/// operation defaults to [`Error::unsupported`], so a connector implements just the
/// ones its manifest's capabilities promise.
///
/// The host creates the connector with [`Default`] for every call, inside a fresh
/// sandbox: keep state that must outlive a call in [`crate::kv`] or the poll cursor.
pub trait Connector {
    /// Declares the connector. Must be cheap, pure and always succeed.
    fn describe(&self) -> Manifest;

    /// Checks a deployment config beyond what its JSON Schema says (the host has
    /// already validated it against the schema). The default accepts it.
    fn validate_config(&self, _config: &Value) -> Result<()> {
        Ok(())
    }

    /// Runs `action` with `input`, which the host has validated against the action's
    /// input schema.
    fn invoke(&self, action: &str, _input: Value, _ctx: &Context) -> Result<Vec<Output>> {
        Err(Error::unknown_action(action))
    }

    /// Transforms an event pushed by an external system into outputs.
    fn ingest(&self, _event: &InboundEvent, _ctx: &Context) -> Result<Vec<Output>> {
        Err(Error::unsupported(
            "this connector does not accept pushed events",
        ))
    }

    /// Fetches what is new upstream since `cursor` (`None` on the first poll).
    fn poll(&self, _cursor: Option<String>, _ctx: &Context) -> Result<PollResult> {
        Err(Error::unsupported("this connector does not poll"))
    }
}

/// Who a call is for, and the deployment's config.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    call_id: String,
    tenant_id: String,
    config: Value,
}

impl Context {
    /// A context, as the host (or a test) builds it.
    pub fn new(call_id: impl Into<String>, tenant_id: impl Into<String>, config: Value) -> Self {
        Context {
            call_id: call_id.into(),
            tenant_id: tenant_id.into(),
            config,
        }
    }

    /// The call's unique id, for correlating logs.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// The tenant the call runs for.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The deployment config as JSON.
    pub fn config_value(&self) -> &Value {
        &self.config
    }

    /// The deployment config read into a typed struct; a mismatch is
    /// [`Error::invalid_config`] naming what serde found wrong.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(&self.config)
            .map_err(|e| Error::invalid_config(format!("the config does not fit: {e}")))
    }
}

impl Error {
    /// The deployment config is wrong.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Error::InvalidConfig(message.into())
    }
    /// The action input or pushed event is wrong.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }
    /// The config field at `pointer` (a JSON Pointer such as `/feed_url`) is wrong.
    ///
    /// The message starts with the pointer and `: `; the host reads it back and
    /// reports the field as the error's `path`, so an API client or a form can
    /// show the error beside the field.
    pub fn invalid_config_at(pointer: &str, message: impl Into<String>) -> Self {
        Error::InvalidConfig(format!("{pointer}: {}", message.into()))
    }
    /// The input field at `pointer` (a JSON Pointer) is wrong; as
    /// [`Error::invalid_config_at`].
    pub fn invalid_input_at(pointer: &str, message: impl Into<String>) -> Self {
        Error::InvalidInput(format!("{pointer}: {}", message.into()))
    }
    /// The upstream system failed, with its HTTP status if there was one.
    pub fn upstream(status: Option<u16>, message: impl Into<String>) -> Self {
        Error::Upstream(UpstreamError {
            status,
            message: message.into(),
        })
    }
    /// The connector was rate-limited; the host should retry after `retry_after_ms`.
    pub fn rate_limited(retry_after_ms: u64, message: impl Into<String>) -> Self {
        Error::RateLimited(RateLimit {
            retry_after_ms,
            message: message.into(),
        })
    }
    /// The operation is not supported.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::Unsupported(message.into())
    }
    /// The connector has no action with this name.
    pub fn unknown_action(action: &str) -> Self {
        Error::Unsupported(format!("this connector has no action `{action}`"))
    }
    /// A bug or an unexpected state inside the connector.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }
    /// The error's message, without its kind.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidConfig(m)
            | Error::InvalidInput(m)
            | Error::Unsupported(m)
            | Error::Internal(m) => m,
            Error::Upstream(e) => &e.message,
            Error::RateLimited(e) => &e.message,
        }
    }
}

impl From<HostError> for Error {
    /// A host refusal the connector did not handle itself. A denied host usually means
    /// the admin has not granted it, which is a deployment matter.
    fn from(e: HostError) -> Self {
        match e {
            HostError::Denied(m) => Error::invalid_config(format!("the host refused: {m}")),
            HostError::LimitExceeded(m) => Error::internal(format!("a sandbox limit was hit: {m}")),
            HostError::Timeout(m) => Error::upstream(None, format!("timed out: {m}")),
            HostError::Failed(m) => Error::upstream(None, m),
            HostError::Invalid(m) => Error::internal(format!("the host rejected a request: {m}")),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::internal(format!("JSON serialisation failed: {e}"))
    }
}

impl From<crate::stix::StixError> for Error {
    fn from(e: crate::stix::StixError) -> Self {
        Error::internal(format!("STIX output refused: {e}"))
    }
}

impl From<crate::cap::CapError> for Error {
    fn from(e: crate::cap::CapError) -> Self {
        Error::internal(e.to_string())
    }
}

impl HostError {
    /// The error's message, without its kind.
    pub fn message(&self) -> &str {
        match self {
            HostError::Denied(m)
            | HostError::LimitExceeded(m)
            | HostError::Timeout(m)
            | HostError::Failed(m)
            | HostError::Invalid(m) => m,
        }
    }
}

impl OutputStandard {
    /// Every standard, in contract order.
    pub const ALL: [OutputStandard; 6] = [
        OutputStandard::Stix21,
        OutputStandard::Cap12,
        OutputStandard::Ais,
        OutputStandard::Niem,
        OutputStandard::Stanag4607,
        OutputStandard::Json,
    ];

    /// The name used in Airlock's APIs: `stix-2.1`, `cap-1.2`, `ais`, `niem`,
    /// `stanag-4607`, `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputStandard::Stix21 => "stix-2.1",
            OutputStandard::Cap12 => "cap-1.2",
            OutputStandard::Ais => "ais",
            OutputStandard::Niem => "niem",
            OutputStandard::Stanag4607 => "stanag-4607",
            OutputStandard::Json => "json",
        }
    }

    /// The default media type of the standard's documents.
    pub fn media_type(self) -> &'static str {
        match self {
            OutputStandard::Stix21 => "application/stix+json;version=2.1",
            OutputStandard::Cap12 => "application/cap+xml",
            OutputStandard::Ais => "application/json",
            OutputStandard::Niem => "application/xml",
            OutputStandard::Stanag4607 => "application/octet-stream",
            OutputStandard::Json => "application/json",
        }
    }
}

impl Category {
    /// Every category, in contract order.
    pub const ALL: [Category; 6] = [
        Category::Osint,
        Category::Financial,
        Category::Social,
        Category::DarkWeb,
        Category::Telemetry,
        Category::Custom,
    ];

    /// The name used in Airlock's APIs: `osint`, `financial`, `social`, `dark-web`,
    /// `telemetry`, `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Osint => "osint",
            Category::Financial => "financial",
            Category::Social => "social",
            Category::DarkWeb => "dark-web",
            Category::Telemetry => "telemetry",
            Category::Custom => "custom",
        }
    }
}

impl Output {
    /// An output with an explicit standard, media type and body.
    pub fn new(standard: OutputStandard, media_type: impl Into<String>, body: Vec<u8>) -> Self {
        Output {
            standard,
            media_type: media_type.into(),
            body,
        }
    }

    /// A value serialised as a document of `standard` with its default media type.
    pub fn of<T: Serialize + ?Sized>(standard: OutputStandard, value: &T) -> Result<Self> {
        Ok(Output::new(
            standard,
            standard.media_type(),
            serde_json::to_vec(value)?,
        ))
    }

    /// Plain JSON output, for action results.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        Output::of(OutputStandard::Json, value)
    }

    /// A STIX 2.1 bundle; the spec rules the builders check are checked first.
    pub fn stix(bundle: &crate::stix::Bundle) -> Result<Self> {
        let json = bundle.to_json()?;
        Ok(Output::new(
            OutputStandard::Stix21,
            OutputStandard::Stix21.media_type(),
            json.into_bytes(),
        ))
    }

    /// A CAP 1.2 alert as XML.
    pub fn cap(alert: &crate::cap::Alert) -> Result<Self> {
        let xml = alert.to_xml()?;
        Ok(Output::new(
            OutputStandard::Cap12,
            OutputStandard::Cap12.media_type(),
            xml.into_bytes(),
        ))
    }

    /// The body as text, if it is UTF-8.
    pub fn body_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn body_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl Action {
    /// An action taking any JSON object and returning plain JSON; refine it with
    /// [`Action::input_schema`] and [`Action::output`].
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        Action {
            name: name.into(),
            description: description.into(),
            input_schema: r#"{"type":"object"}"#.to_string(),
            output_standard: OutputStandard::Json,
        }
    }

    /// The JSON Schema the input must satisfy (the host checks it before the call).
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.input_schema = schema.to_string();
        self
    }

    /// The standard of the action's outputs.
    pub fn output(mut self, standard: OutputStandard) -> Self {
        self.output_standard = standard;
        self
    }
}

impl Credential {
    /// `Authorization: Bearer <secret>` from the named secret.
    pub fn bearer_from(secret: impl Into<String>) -> Self {
        Credential::Bearer(secret.into())
    }
    /// HTTP Basic auth from two secrets.
    pub fn basic_from(
        username_secret: impl Into<String>,
        password_secret: impl Into<String>,
    ) -> Self {
        Credential::Basic(BasicCredential {
            username_secret: username_secret.into(),
            password_secret: password_secret.into(),
        })
    }
    /// A header whose value is the named secret.
    pub fn header_from(header: impl Into<String>, secret: impl Into<String>) -> Self {
        Credential::Header(HeaderCredential {
            header: header.into(),
            secret: secret.into(),
        })
    }
    /// A header carrying the hex HMAC-SHA256 of the body, keyed by the named secret.
    pub fn hmac_sha256_from(header: impl Into<String>, secret: impl Into<String>) -> Self {
        Credential::HmacSha256(HeaderCredential {
            header: header.into(),
            secret: secret.into(),
        })
    }
}

impl Manifest {
    /// Starts a manifest; `id` is lowercase kebab-case, `version` semantic.
    pub fn builder(
        id: impl Into<String>,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> ManifestBuilder {
        ManifestBuilder {
            manifest: Manifest {
                id: id.into(),
                name: name.into(),
                version: version.into(),
                vendor: String::new(),
                description: String::new(),
                category: Category::Custom,
                capabilities: Vec::new(),
                output_standards: Vec::new(),
                config_schema: r#"{"type":"object"}"#.to_string(),
                secrets_schema: r#"{"type":"object"}"#.to_string(),
                actions: Vec::new(),
                outbound_hosts: Vec::new(),
                sample_output: None,
            },
        }
    }
}

/// Builds a [`Manifest`]. Defaults: category `custom`, config and secrets schemas
/// `{"type":"object"}`, no capabilities, actions, outbound hosts or sample.
#[derive(Debug, Clone)]
pub struct ManifestBuilder {
    manifest: Manifest,
}

impl ManifestBuilder {
    /// Who builds and supports the connector.
    pub fn vendor(mut self, vendor: impl Into<String>) -> Self {
        self.manifest.vendor = vendor.into();
        self
    }
    /// What the connector does, one paragraph.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.manifest.description = description.into();
        self
    }
    /// The catalogue category.
    pub fn category(mut self, category: Category) -> Self {
        self.manifest.category = category;
        self
    }
    /// Adds a capability, e.g. `poll`, `ingest`, `invoke` or a domain one.
    pub fn capability(mut self, capability: impl Into<String>) -> Self {
        let capability = capability.into();
        if !self.manifest.capabilities.contains(&capability) {
            self.manifest.capabilities.push(capability);
        }
        self
    }
    /// Adds an output standard.
    pub fn output_standard(mut self, standard: OutputStandard) -> Self {
        if !self.manifest.output_standards.contains(&standard) {
            self.manifest.output_standards.push(standard);
        }
        self
    }
    /// The JSON Schema of the deployment config.
    pub fn config_schema(mut self, schema: Value) -> Self {
        self.manifest.config_schema = schema.to_string();
        self
    }
    /// The JSON Schema of the deployment secrets (their values never reach the guest
    /// unless it asks for them; prefer declaring a [`Credential`]).
    pub fn secrets_schema(mut self, schema: Value) -> Self {
        self.manifest.secrets_schema = schema.to_string();
        self
    }
    /// Adds an action; adds the `invoke` capability and the action's output standard.
    pub fn action(mut self, action: Action) -> Self {
        self = self
            .capability("invoke")
            .output_standard(action.output_standard);
        self.manifest.actions.push(action);
        self
    }
    /// Declares an outbound host pattern (`https://api.example.com`, `https://*.example.com:8443`).
    pub fn outbound_host(mut self, pattern: impl Into<String>) -> Self {
        self.manifest.outbound_hosts.push(OutboundHost {
            pattern: pattern.into(),
            credential: None,
        });
        self
    }
    /// Declares an outbound host whose requests the host authenticates with `credential`.
    pub fn outbound_host_with(
        mut self,
        pattern: impl Into<String>,
        credential: Credential,
    ) -> Self {
        self.manifest.outbound_hosts.push(OutboundHost {
            pattern: pattern.into(),
            credential: Some(credential),
        });
        self
    }
    /// A representative output for the catalogue; its standard is added too.
    pub fn sample_output(mut self, output: Output) -> Self {
        self = self.output_standard(output.standard);
        self.manifest.sample_output = Some(output);
        self
    }
    /// The finished manifest.
    pub fn build(self) -> Manifest {
        self.manifest
    }
}

/// What [`crate::export_connector!`] calls: decode the contract's strings, create the
/// connector, call it. Also used by [`crate::testing::Harness`], so native tests take
/// the same path as the component.
pub mod adapter {
    use super::*;
    pub use crate::bindings::airlock::connector::types::CallContext;

    fn context(ctx: CallContext) -> Result<Context> {
        let config = if ctx.config.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(&ctx.config)
                .map_err(|e| Error::invalid_config(format!("the config is not JSON: {e}")))?
        };
        Ok(Context::new(ctx.call_id, ctx.tenant_id, config))
    }

    /// `describe` export.
    pub fn describe<C: Connector + Default>() -> Manifest {
        C::default().describe()
    }

    /// `validate-config` export.
    pub fn validate_config<C: Connector + Default>(config: String) -> Result<()> {
        let config: Value = serde_json::from_str(&config)
            .map_err(|e| Error::invalid_config(format!("the config is not JSON: {e}")))?;
        C::default().validate_config(&config)
    }

    /// `invoke` export.
    pub fn invoke<C: Connector + Default>(
        action: String,
        input: String,
        ctx: CallContext,
    ) -> Result<Vec<Output>> {
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| Error::invalid_input(format!("the input is not JSON: {e}")))?;
        let ctx = context(ctx)?;
        C::default().invoke(&action, input, &ctx)
    }

    /// `ingest` export.
    pub fn ingest<C: Connector + Default>(
        event: InboundEvent,
        ctx: CallContext,
    ) -> Result<Vec<Output>> {
        let ctx = context(ctx)?;
        C::default().ingest(&event, &ctx)
    }

    /// `poll` export.
    pub fn poll<C: Connector + Default>(
        cursor: Option<String>,
        ctx: CallContext,
    ) -> Result<PollResult> {
        let ctx = context(ctx)?;
        C::default().poll(cursor, &ctx)
    }
}
