//! The deployment config, its JSON Schema, and the outbound hosts the connector declares.
//!
//! Airlock checks a config against [`config_schema`] before any call; [`Config::from_value`]
//! then reads it and checks what a schema cannot say: that `feed_url`'s origin is one of
//! the declared [`OUTBOUND_HOSTS`], and that it leaves the `offset`/`limit` parameters to
//! the connector.

use airlock_sdk::http::{Origin, OriginPattern};
use airlock_sdk::stix::Tlp;
use airlock_sdk::{Credential, Error, Result, Value, json};
use serde::Deserialize;

/// The largest `page_size` accepted.
pub const MAX_PAGE_SIZE: u64 = 5000;

/// The `page_size` used when the config gives none.
pub const DEFAULT_PAGE_SIZE: u64 = 500;

/// The `source_name` used when the config gives none.
pub const DEFAULT_SOURCE_NAME: &str = "Example OSINT Feed";

/// The deployment secret holding the feed's API key.
pub const API_KEY_SECRET: &str = "api_key";

/// The header abuse.ch expects the API key in; Airlock's host adds it from [`API_KEY_SECRET`].
pub const AUTH_KEY_HEADER: &str = "Auth-Key";

/// abuse.ch's hosts (`urlhaus-api.abuse.ch`, `threatfox-api.abuse.ch`, …); requests to
/// them carry the `Auth-Key` header, filled by the host from the `api_key` secret.
pub const ABUSE_CH_HOSTS: &str = "https://*.abuse.ch";

/// A generic feed host without credentials, standing for a deployment's own feed.
pub const EXAMPLE_FEED_HOST: &str = "https://feeds.example.org";

/// The outbound hosts the manifest declares. The list is static (it is part of the
/// manifest): a deployment can only use a feed on one of these origins, and the admin
/// must still grant the one it uses.
pub const OUTBOUND_HOSTS: [&str; 2] = [ABUSE_CH_HOSTS, EXAMPLE_FEED_HOST];

/// The credential the host injects for a declared outbound host, if any.
pub fn credential_for(pattern: &str) -> Option<Credential> {
    (pattern == ABUSE_CH_HOSTS).then(|| Credential::header_from(AUTH_KEY_HEADER, API_KEY_SECRET))
}

/// How the feed is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header row; `#` lines are comments.
    #[default]
    Csv,
    /// JSON lines: one JSON object per line.
    Jsonl,
}

impl Format {
    /// The `Accept` header sent for this format.
    pub fn accept(self) -> &'static str {
        match self {
            Format::Csv => "text/csv, text/plain;q=0.8",
            Format::Jsonl => "application/x-ndjson, application/jsonl;q=0.9, text/plain;q=0.8",
        }
    }
}

/// The Traffic Light Protocol level applied to everything the connector emits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlpLevel {
    /// TLP:WHITE.
    White,
    /// TLP:GREEN.
    #[default]
    Green,
    /// TLP:AMBER.
    Amber,
    /// TLP:RED.
    Red,
}

impl TlpLevel {
    /// The SDK's marking for this level.
    pub fn tlp(self) -> Tlp {
        match self {
            TlpLevel::White => Tlp::White,
            TlpLevel::Green => Tlp::Green,
            TlpLevel::Amber => Tlp::Amber,
            TlpLevel::Red => Tlp::Red,
        }
    }
}

fn default_page_size() -> u64 {
    DEFAULT_PAGE_SIZE
}

fn default_source_name() -> String {
    DEFAULT_SOURCE_NAME.to_string()
}

/// A deployment's config, as [`config_schema`] describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The feed's https URL; the connector adds `offset` and `limit` to it.
    pub feed_url: String,
    /// How the feed is written.
    #[serde(default)]
    pub format: Format,
    /// Rows per page, 1 to [`MAX_PAGE_SIZE`].
    #[serde(default = "default_page_size")]
    pub page_size: u64,
    /// The feed's name: the STIX identity that creates the indicators.
    #[serde(default = "default_source_name")]
    pub source_name: String,
    /// The TLP marking applied to the output.
    #[serde(default)]
    pub tlp: TlpLevel,
    /// The column (CSV) or key (JSON lines) holding the malware family, when it is not
    /// one of the usual names (`malware`, `malware_printable`, `signature`).
    #[serde(default)]
    pub malware_family_field: Option<String>,
}

impl Config {
    /// Reads and checks a config; every problem is [`Error::invalid_config`].
    pub fn from_value(value: &Value) -> Result<Config> {
        let config = Config::deserialize(value)
            .map_err(|e| Error::invalid_config(format!("the config does not fit: {e}")))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<()> {
        check_feed_url(&self.feed_url)?;
        if !(1..=MAX_PAGE_SIZE).contains(&self.page_size) {
            return Err(Error::invalid_config_at(
                "/page_size",
                format!(
                    "must be between 1 and {MAX_PAGE_SIZE}, not {}",
                    self.page_size
                ),
            ));
        }
        let name = self.source_name.trim();
        if name.is_empty() || name.len() > 256 {
            return Err(Error::invalid_config_at(
                "/source_name",
                "must be between 1 and 256 characters",
            ));
        }
        // STIX reserves these two source names for CVE and CAPEC references.
        if name.eq_ignore_ascii_case("cve") || name.eq_ignore_ascii_case("capec") {
            return Err(Error::invalid_config_at(
                "/source_name",
                "cannot be `cve` or `capec`: STIX reserves them",
            ));
        }
        if self
            .malware_family_field
            .as_deref()
            .is_some_and(|f| f.trim().is_empty())
        {
            return Err(Error::invalid_config_at(
                "/malware_family_field",
                "when given, must name a column",
            ));
        }
        Ok(())
    }

    /// The marking applied to the output.
    pub fn tlp(&self) -> Tlp {
        self.tlp.tlp()
    }

    /// The source name, trimmed.
    pub fn source(&self) -> &str {
        self.source_name.trim()
    }
}

/// Checks that `url` is an https URL on a declared outbound host, without a fragment
/// and without the paging parameters the connector adds itself.
pub fn check_feed_url(url: &str) -> Result<()> {
    let origin = Origin::of_url(url).ok_or_else(|| {
        Error::invalid_config_at(
            "/feed_url",
            format!("`{url}` is not an absolute https URL such as https://feeds.example.org/indicators.csv"),
        )
    })?;
    if origin.scheme != "https" {
        return Err(Error::invalid_config_at(
            "/feed_url",
            format!("`{url}` must use https"),
        ));
    }
    if declared_pattern(&origin).is_none() {
        return Err(Error::invalid_config_at(
            "/feed_url",
            format!(
                "host `{}` is not one this connector declares ({}); host a feed there, \
                 or build a variant of the connector that declares the host",
                origin.host,
                OUTBOUND_HOSTS.join(", ")
            ),
        ));
    }
    if url.contains('#') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid_config_at(
            "/feed_url",
            format!("`{url}` must not contain a fragment (#) or whitespace"),
        ));
    }
    let query = url.split_once('?').map_or("", |(_, q)| q);
    if let Some(param) = query.split('&').find_map(|pair| {
        let name = pair.split('=').next().unwrap_or(pair);
        ["offset", "limit"].contains(&name).then_some(name)
    }) {
        return Err(Error::invalid_config_at(
            "/feed_url",
            format!("must not set `{param}`: the connector adds offset and limit itself"),
        ));
    }
    Ok(())
}

/// The declared pattern that allows `origin`, if one does.
pub fn declared_pattern(origin: &Origin) -> Option<&'static str> {
    OUTBOUND_HOSTS.into_iter().find(|pattern| {
        OriginPattern::parse(pattern)
            .map(|p| p.matches(origin))
            .unwrap_or(false)
    })
}

/// The JSON Schema (draft 2020-12) of the deployment config.
pub fn config_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "OSINT indicator feed",
        "type": "object",
        "additionalProperties": false,
        "required": ["feed_url"],
        "properties": {
            "feed_url": {
                "type": "string",
                "format": "uri",
                "pattern": "^https://[^#\\s]+$",
                "description": "The feed's https URL, on a host the manifest declares \
                    (https://*.abuse.ch or https://feeds.example.org) and the admin granted. \
                    The connector appends offset and limit query parameters.",
                "examples": ["https://feeds.example.org/v1/indicators.csv"]
            },
            "format": {
                "type": "string",
                "enum": ["csv", "jsonl"],
                "default": "csv",
                "description": "csv: a header row (id, first_seen_utc, ioc_type, ioc_value, \
                    malware, confidence, reference), `#` comment lines, quoted fields. \
                    jsonl: one JSON object per line with the same field names."
            },
            "page_size": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE_SIZE,
                "default": DEFAULT_PAGE_SIZE,
                "description": "Rows requested per poll (the limit parameter). A full page \
                    makes the connector ask to be polled again at once."
            },
            "source_name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 256,
                "default": DEFAULT_SOURCE_NAME,
                "description": "The feed's name: the STIX identity credited with the \
                    indicators. Indicator ids are derived from it, so keep it stable."
            },
            "tlp": {
                "type": "string",
                "enum": ["white", "green", "amber", "red"],
                "default": "green",
                "description": "The TLP 1.0 marking applied to every indicator, observable, \
                    malware and relationship."
            },
            "malware_family_field": {
                "type": "string",
                "minLength": 1,
                "description": "The column or JSON key naming the malware family, when it \
                    is not malware, malware_printable or signature."
            }
        },
        "examples": [{
            "feed_url": "https://feeds.example.org/v1/indicators.csv",
            "format": "csv",
            "page_size": 500,
            "source_name": "Example OSINT Feed",
            "tlp": "green"
        }]
    })
}

/// The JSON Schema of the deployment secrets.
pub fn secrets_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            API_KEY_SECRET: {
                "type": "string",
                "minLength": 1,
                "description": "The feed's API key. Airlock sends it as the Auth-Key header \
                    to *.abuse.ch (which requires one); the connector never sees it."
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(value: Value) -> Result<Config> {
        Config::from_value(&value)
    }

    #[test]
    fn defaults_apply() {
        let c = config(json!({"feed_url": "https://feeds.example.org/x.csv"})).unwrap();
        assert_eq!(c.format, Format::Csv);
        assert_eq!(c.page_size, DEFAULT_PAGE_SIZE);
        assert_eq!(c.source(), DEFAULT_SOURCE_NAME);
        assert_eq!(c.tlp(), Tlp::Green);
        assert_eq!(c.malware_family_field, None);
    }

    #[test]
    fn feed_urls_must_be_https_on_a_declared_host() {
        for good in [
            "https://feeds.example.org/v1/indicators.csv",
            "https://urlhaus-api.abuse.ch/v1/urls/recent/?format=csv",
            "https://threatfox-api.abuse.ch/export/csv/recent/",
        ] {
            assert!(check_feed_url(good).is_ok(), "{good}");
        }
        for (bad, words) in [
            (
                "https://evil.example.net/feed.csv",
                "not one this connector declares",
            ),
            (
                "https://abuse.ch/feed.csv",
                "not one this connector declares",
            ),
            ("http://feeds.example.org/feed.csv", "must use https"),
            ("feeds.example.org/feed.csv", "absolute https URL"),
            (
                "https://feeds.example.org:8443/feed.csv",
                "not one this connector declares",
            ),
            ("https://feeds.example.org/f.csv#top", "fragment"),
            ("https://feeds.example.org/f.csv?limit=5", "`limit`"),
            ("https://feeds.example.org/f.csv?a=1&offset=5", "`offset`"),
        ] {
            let err = check_feed_url(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidConfig(_)), "{bad}: {err:?}");
            assert!(err.message().contains(words), "{bad}: {}", err.message());
        }
    }

    #[test]
    fn other_fields_are_checked() {
        let url = "https://feeds.example.org/x.csv";
        assert!(config(json!({"feed_url": url, "page_size": 0})).is_err());
        assert!(config(json!({"feed_url": url, "page_size": 5001})).is_err());
        assert!(config(json!({"feed_url": url, "page_size": 5000})).is_ok());
        assert!(config(json!({"feed_url": url, "format": "xml"})).is_err());
        assert!(config(json!({"feed_url": url, "tlp": "clear"})).is_err());
        assert!(config(json!({"feed_url": url, "source_name": " "})).is_err());
        assert!(config(json!({"feed_url": url, "source_name": "CVE"})).is_err());
        assert!(config(json!({"feed_url": url, "malware_family_field": ""})).is_err());
        assert!(config(json!({"feed_url": url, "extra": 1})).is_err());
        assert!(config(json!({})).is_err());
        let c = config(json!({"feed_url": url, "format": "jsonl", "tlp": "amber"})).unwrap();
        assert_eq!((c.format, c.tlp()), (Format::Jsonl, Tlp::Amber));
    }

    #[test]
    fn only_abuse_ch_gets_the_auth_key() {
        assert!(credential_for(ABUSE_CH_HOSTS).is_some());
        assert!(credential_for(EXAMPLE_FEED_HOST).is_none());
        for pattern in OUTBOUND_HOSTS {
            assert!(OriginPattern::parse(pattern).is_ok(), "{pattern}");
        }
    }
}
