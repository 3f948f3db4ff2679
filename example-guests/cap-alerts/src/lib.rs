//! `cap-alerts`: an Airlock poll connector that turns a weather and emergency alert
//! feed shaped like the US National Weather Service API
//! (`https://api.weather.gov/alerts/active`, a GeoJSON `FeatureCollection`) into
//! OASIS CAP 1.2 alerts, one output per alert.
//!
//! Each poll:
//!
//! 1. fetches `feed_url` (with `?area=XX` when `area` is set) through the host,
//!    sending the configured `User-Agent` (the NWS API refuses requests without
//!    one), `Accept: application/geo+json`, and `If-None-Match` /
//!    `If-Modified-Since` from the previous complete fetch. `304 Not Modified`
//!    ends the poll with no output; 429 and 5xx answers are retried by
//!    [`airlock_sdk::http::Client`], honouring `Retry-After`;
//! 2. refuses a body that is not a GeoJSON `FeatureCollection` as an upstream error;
//! 3. maps every feature with [`nws::map_feature`] (the field mapping is tabled
//!    there). A feature that cannot become valid CAP — a missing or unreadable
//!    field CAP requires, or an `Update`/`Cancel` without references — is skipped
//!    with a `warn` log naming its id;
//! 4. drops the alerts already handled by an earlier poll (the cursor remembers
//!    them, see [`state`]) and, with `min_severity`, those less severe. An Update or
//!    Cancel of an alert this deployment emitted always passes the filter, so a
//!    downgrade or a cancellation is never lost;
//! 5. emits the rest, oldest `sent` first, as `application/cap+xml` through the
//!    host's emit interface. If the host's output cap is reached, the poll stops
//!    there and answers `more`, so the host polls again for the rest.
//!
//! The alerts' `<info>` language is `language` (`en-US` by default); `scope` is
//! always `Public`.
#![deny(missing_docs)]

use airlock_sdk::cap::{MsgType, Severity};
use airlock_sdk::http::{Client, Origin, OriginPattern, Request, Response};
use airlock_sdk::paginate::{decode_cursor, encode_cursor, with_query};
use airlock_sdk::prelude::*;
use airlock_sdk::{HostError, emit, log, progress};
use serde::Deserialize;

pub mod nws;
pub mod state;

use state::{CURSOR_VERSION, Cursor, Seen};

/// The NWS API origin, the only outbound host the connector declares.
pub const OUTBOUND_HOST: &str = "https://api.weather.gov";

/// The default feed: every active alert of the NWS API.
pub const DEFAULT_FEED_URL: &str = "https://api.weather.gov/alerts/active";

/// The default `<language>` of the alerts' `<info>`.
pub const DEFAULT_LANGUAGE: &str = "en-US";

/// The connector.
#[derive(Debug, Default)]
pub struct CapAlerts;

/// The deployment config, as the manifest's config schema describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The alert feed; it must be on [`OUTBOUND_HOST`].
    #[serde(default = "default_feed_url")]
    pub feed_url: String,
    /// A two-letter state, territory or marine area code, sent as `?area=XX`.
    #[serde(default)]
    pub area: Option<String>,
    /// The `<language>` of the alerts' `<info>`.
    #[serde(default = "default_language")]
    pub language: String,
    /// The least severity emitted: `Minor`, `Moderate`, `Severe` or `Extreme`.
    #[serde(default)]
    pub min_severity: Option<String>,
    /// The `User-Agent` sent to the feed; NWS asks for an app name and a contact.
    pub user_agent: String,
}

fn default_feed_url() -> String {
    DEFAULT_FEED_URL.to_string()
}

fn default_language() -> String {
    DEFAULT_LANGUAGE.to_string()
}

/// A checked config, ready for polling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The URL requested, with the `area` query parameter if any.
    pub url: String,
    /// The `User-Agent` header value.
    pub user_agent: String,
    /// The `<language>` of the alerts' `<info>`.
    pub language: String,
    /// The least severity emitted, if filtered.
    pub min_severity: Option<Severity>,
}

impl Settings {
    /// Checks `config` beyond its JSON Schema; every refusal is an
    /// [`Error::invalid_config`] saying what to change.
    pub fn from_config(config: &Config) -> Result<Settings> {
        let allowed = OriginPattern::parse(OUTBOUND_HOST).map_err(Error::internal)?;
        match Origin::of_url(&config.feed_url) {
            Some(origin) if allowed.matches(&origin) => {}
            _ => {
                return Err(Error::invalid_config(format!(
                    "`feed_url` `{}` must be an https URL on {OUTBOUND_HOST}, the only host this connector declares",
                    config.feed_url
                )));
            }
        }
        if config.feed_url.contains('#') || config.feed_url.chars().any(char::is_whitespace) {
            return Err(Error::invalid_config(
                "`feed_url` may not contain whitespace or a `#` fragment",
            ));
        }
        let url = match &config.area {
            None => config.feed_url.clone(),
            Some(area) => {
                let code = area.trim().to_ascii_uppercase();
                if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                    return Err(Error::invalid_config(format!(
                        "`area` `{area}` must be a two-letter state, territory or marine area code such as `OK`"
                    )));
                }
                with_query(&config.feed_url, &[("area", &code)])
            }
        };
        if !is_language(&config.language) {
            return Err(Error::invalid_config(format!(
                "`language` `{}` must be a language code such as `en-US`",
                config.language
            )));
        }
        let min_severity = match &config.min_severity {
            None => None,
            Some(text) => Some(
                [
                    Severity::Minor,
                    Severity::Moderate,
                    Severity::Severe,
                    Severity::Extreme,
                ]
                .into_iter()
                .find(|s| s.as_str().eq_ignore_ascii_case(text.trim()))
                .ok_or_else(|| {
                    Error::invalid_config(format!(
                        "`min_severity` `{text}` must be one of Minor, Moderate, Severe, Extreme"
                    ))
                })?,
            ),
        };
        let user_agent = config.user_agent.trim();
        if user_agent.is_empty()
            || user_agent.len() > 256
            || user_agent.chars().any(|c| c.is_control())
        {
            return Err(Error::invalid_config(
                "`user_agent` must be 1 to 256 characters without line breaks, e.g. `(myapp.example.com, ops@example.com)`",
            ));
        }
        Ok(Settings {
            url,
            user_agent: user_agent.to_string(),
            language: config.language.clone(),
            min_severity,
        })
    }

    /// What the cursor's validators and skipped list belong to: the request and filter.
    pub fn fingerprint(&self) -> String {
        let min = self.min_severity.map_or("any", Severity::as_str);
        format!("{} min_severity={min}", self.url)
    }

    /// True when `alert` passes the `min_severity` filter: severe enough, or an
    /// Update/Cancel of an alert already emitted.
    pub fn passes(&self, alert: &nws::Mapped, seen: &Seen) -> bool {
        let Some(min) = self.min_severity else {
            return true;
        };
        rank(alert.severity) >= rank(min)
            || (alert.msg_type != MsgType::Alert
                && alert.referenced.iter().any(|r| seen.was_emitted(r)))
    }
}

/// Severity as a number that grows with it; `Unknown` is below `Minor`.
fn rank(severity: Severity) -> u8 {
    match severity {
        Severity::Unknown => 0,
        Severity::Minor => 1,
        Severity::Moderate => 2,
        Severity::Severe => 3,
        Severity::Extreme => 4,
    }
}

/// `xs:language`: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`.
fn is_language(text: &str) -> bool {
    let ok_len = |p: &str| (1..=8).contains(&p.len());
    let mut parts = text.split('-');
    parts
        .next()
        .is_some_and(|p| ok_len(p) && p.bytes().all(|b| b.is_ascii_alphabetic()))
        && parts.all(|p| ok_len(p) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The features of a GeoJSON `FeatureCollection` body; anything else is an
/// upstream error.
pub fn read_collection(response: &Response) -> Result<Vec<Value>> {
    let not_a_collection = |what: String| {
        Error::upstream(
            Some(response.status),
            format!("the alert feed is not a GeoJSON FeatureCollection: {what}"),
        )
    };
    let body: Value = serde_json::from_slice(&response.body)
        .map_err(|e| not_a_collection(format!("the body is not JSON ({e})")))?;
    let Value::Object(mut body) = body else {
        return Err(not_a_collection("the body is not a JSON object".into()));
    };
    match body.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => {}
        Some(other) => return Err(not_a_collection(format!("its `type` is `{other}`"))),
        None => return Err(not_a_collection("it has no `type`".into())),
    }
    match body.remove("features") {
        Some(Value::Array(features)) => Ok(features),
        _ => Err(not_a_collection("it has no `features` array".into())),
    }
}

/// A small NWS alert, for the manifest's sample output.
const SAMPLE_FEATURE: &str = r#"{
  "id": "https://api.weather.gov/alerts/urn:oid:2.49.0.1.840.0.0c2a5e8f7b914d36a1e0c9b8d7f6e5a4b3c2d1e0.001.1",
  "type": "Feature",
  "geometry": {"type": "Polygon", "coordinates": [[[-97.62, 35.41], [-97.35, 35.41], [-97.30, 35.62], [-97.58, 35.66], [-97.62, 35.41]]]},
  "properties": {
    "id": "urn:oid:2.49.0.1.840.0.0c2a5e8f7b914d36a1e0c9b8d7f6e5a4b3c2d1e0.001.1",
    "areaDesc": "Cleveland, OK; Oklahoma, OK",
    "geocode": {"SAME": ["040027", "040109"], "UGC": ["OKC027", "OKC109"]},
    "references": [],
    "sent": "2025-05-06T17:42:00-05:00",
    "effective": "2025-05-06T17:42:00-05:00",
    "onset": "2025-05-06T17:42:00-05:00",
    "expires": "2025-05-06T18:30:00-05:00",
    "ends": "2025-05-06T18:30:00-05:00",
    "status": "Actual",
    "messageType": "Alert",
    "category": "Met",
    "severity": "Severe",
    "certainty": "Observed",
    "urgency": "Immediate",
    "event": "Severe Thunderstorm Warning",
    "sender": "w-nws.webmaster@noaa.gov",
    "senderName": "NWS Norman OK",
    "headline": "Severe Thunderstorm Warning issued May 6 at 5:42PM CDT until May 6 at 6:30PM CDT by NWS Norman OK",
    "description": "At 542 PM CDT, a severe thunderstorm was located near Moore, moving northeast at 30 mph. HAZARD...60 mph wind gusts and quarter size hail.",
    "instruction": "For your protection move to an interior room on the lowest floor of a building.",
    "response": "Shelter",
    "parameters": {"NWSheadline": ["SEVERE THUNDERSTORM WARNING IN EFFECT UNTIL 630 PM CDT"], "VTEC": ["/O.NEW.KOUN.SV.W.0123.250506T2242Z-250506T2330Z/"]},
    "eventCode": {"SAME": ["SVR"], "NationalWeatherService": ["SVW"]}
  }
}"#;

/// The manifest's sample: [`SAMPLE_FEATURE`] mapped like any polled alert.
fn sample_output() -> Option<Output> {
    let feature: Value = serde_json::from_str(SAMPLE_FEATURE).ok()?;
    let mapped = nws::map_feature(0, &feature, DEFAULT_LANGUAGE).ok()?;
    Output::cap(&mapped.alert).ok()
}

/// Progress is reported every this many alerts.
const PROGRESS_EVERY: usize = 100;

impl Connector for CapAlerts {
    fn describe(&self) -> Manifest {
        let mut builder = Manifest::builder(
            "cap-alerts",
            "NWS alerts as CAP 1.2",
            env!("CARGO_PKG_VERSION"),
        )
        .vendor("Airlock examples")
        .description(
            "Polls the US National Weather Service alerts API (GeoJSON, api.weather.gov/alerts/active) \
             and emits each new alert as an OASIS CAP 1.2 document: message type and references, \
             urgency, severity and certainty, SAME/UGC geocodes, polygons, VTEC and other parameters. \
             Alerts already emitted are remembered in the poll cursor; conditional requests avoid \
             refetching an unchanged feed.",
        )
        .category(Category::Telemetry)
        .capability("poll")
        .capability("weather-alerts")
        .output_standard(OutputStandard::Cap12)
        .config_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "additionalProperties": false,
            "required": ["user_agent"],
            "properties": {
                "feed_url": {
                    "type": "string",
                    "pattern": "^https://api\\.weather\\.gov/",
                    "default": DEFAULT_FEED_URL,
                    "description": "The alerts endpoint, on https://api.weather.gov."
                },
                "area": {
                    "type": "string",
                    "pattern": "^[A-Za-z]{2}$",
                    "description": "Only alerts for this state, territory or marine area (two letters, e.g. OK), sent as ?area=XX."
                },
                "language": {
                    "type": "string",
                    "pattern": "^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$",
                    "default": DEFAULT_LANGUAGE,
                    "description": "The CAP <language> of each alert's <info>."
                },
                "min_severity": {
                    "enum": ["Minor", "Moderate", "Severe", "Extreme"],
                    "description": "Emit only alerts at least this severe (updates and cancellations of emitted alerts always pass)."
                },
                "user_agent": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 256,
                    "description": "The User-Agent sent to the NWS API, which requires one: an app name and a contact, e.g. (myapp.example.com, ops@example.com)."
                }
            }
        }))
        .secrets_schema(json!({"type": "object", "additionalProperties": false}))
        .outbound_host(OUTBOUND_HOST);
        if let Some(sample) = sample_output() {
            builder = builder.sample_output(sample);
        }
        builder.build()
    }

    fn validate_config(&self, config: &Value) -> Result<()> {
        let config = Config::deserialize(config)
            .map_err(|e| Error::invalid_config(format!("the config does not fit: {e}")))?;
        Settings::from_config(&config).map(|_| ())
    }

    fn poll(&self, cursor: Option<String>, ctx: &Context) -> Result<PollResult> {
        let settings = Settings::from_config(&ctx.config::<Config>()?)?;
        let fingerprint = settings.fingerprint();
        let previous: Cursor = decode_cursor(cursor.as_deref())?.unwrap_or_default();
        if cursor.is_some() && previous.v != CURSOR_VERSION {
            return Err(Error::invalid_input(format!(
                "the poll cursor has version {}; this connector reads version {CURSOR_VERSION}",
                previous.v
            )));
        }
        let same_feed = previous.fingerprint == fingerprint;

        let mut request = Request::get(&settings.url)
            .header("user-agent", &settings.user_agent)
            .header("accept", "application/geo+json");
        if same_feed {
            if let Some(etag) = &previous.etag {
                request = request.header("if-none-match", etag);
            }
            if let Some(last_modified) = &previous.last_modified {
                request = request.header("if-modified-since", last_modified);
            }
        }
        let response = Client::new().send(&request)?;
        if response.status == 304 {
            log::log_with(
                log::Level::Debug,
                "the alert feed has not changed",
                &[("url", &settings.url)],
            );
            return Ok(PollResult {
                outputs: Vec::new(),
                next_cursor: None,
                more: false,
            });
        }
        let response = response.error_for_status()?;
        let features = read_collection(&response)?;

        let mut seen = Seen::from_cursor(&previous, same_feed);
        let mut mapped = Vec::with_capacity(features.len());
        let mut skipped = 0usize;
        for (index, feature) in features.iter().enumerate() {
            match nws::map_feature(index, feature, &settings.language) {
                Ok(alert) => mapped.push(alert),
                Err(skip) => {
                    if !seen.was_skipped(&skip.key) {
                        skipped += 1;
                        log::log_with(
                            log::Level::Warn,
                            &format!("skipped alert {}: {}", skip.id, skip.reason),
                            &[("id", &skip.id), ("reason", &skip.reason)],
                        );
                    }
                    seen.note_skipped(&skip.key);
                }
            }
        }
        drop(features);
        // Oldest first, so an alert goes out before the Update that refers to it.
        mapped.sort_by_key(|m| m.sent);

        let total = mapped.len();
        let (mut emitted, mut filtered, mut more) = (0usize, 0usize, false);
        for (done, alert) in mapped.iter().enumerate() {
            if done % PROGRESS_EVERY == PROGRESS_EVERY - 1 {
                progress::report(done as u64 + 1, Some(total as u64));
            }
            if seen.was_emitted(&alert.identifier) {
                seen.note_emitted(&alert.identifier);
                continue;
            }
            if seen.was_skipped(&alert.identifier) {
                seen.note_skipped(&alert.identifier);
                continue;
            }
            if !settings.passes(alert, &seen) {
                filtered += 1;
                seen.note_skipped(&alert.identifier);
                continue;
            }
            match emit::emit(&Output::cap(&alert.alert)?) {
                Ok(()) => {
                    emitted += 1;
                    seen.note_emitted(&alert.identifier);
                }
                Err(HostError::LimitExceeded(message)) => {
                    log::log_with(
                        log::Level::Warn,
                        "the host's output cap was reached; the remaining alerts follow in the next poll",
                        &[("emitted", &emitted.to_string()), ("limit", &message)],
                    );
                    more = true;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }

        let (emitted_list, skipped_list) = seen.into_lists();
        // After a partial poll the feed must be fetched in full again, not as a 304.
        let validator = |name: &str| {
            (!more)
                .then(|| response.header(name).map(str::to_string))
                .flatten()
        };
        let next = Cursor {
            v: CURSOR_VERSION,
            fingerprint,
            etag: validator("etag"),
            last_modified: validator("last-modified"),
            emitted: emitted_list,
            skipped: skipped_list,
        };
        log::log_with(
            log::Level::Info,
            "polled the alert feed",
            &[
                ("url", &settings.url),
                ("alerts", &total.to_string()),
                ("emitted", &emitted.to_string()),
                ("filtered", &filtered.to_string()),
                ("skipped", &skipped.to_string()),
            ],
        );
        Ok(PollResult {
            outputs: Vec::new(),
            next_cursor: Some(encode_cursor(&next)?),
            more,
        })
    }
}

airlock_sdk::export_connector!(CapAlerts);

#[cfg(test)]
mod tests;
