//! `osint-feed`: an Airlock pull connector that polls an open-source indicator feed in
//! the style of abuse.ch's URLhaus and ThreatFox exports and publishes what it lists as
//! STIX 2.1.
//!
//! Each `poll` fetches one page of the feed through the host's HTTP import — the
//! configured `feed_url` with `offset` and `limit` query parameters, or the URL of the
//! previous page's `Link: <…>; rel="next"` header when the upstream sends one — and
//! turns its rows into one STIX 2.1 bundle ([`bundle`]): the feed's identity, the TLP
//! marking, and per row an indicator, its observable, a `based-on` relationship and,
//! for rows naming a malware family, the family and an `indicates` relationship. Ids
//! are deterministic, so a page polled twice yields the same objects.
//!
//! The feed is CSV with a header row or JSON lines ([`feed`] lists the field names it
//! understands); values may be URLs, domains, IPv4/IPv6 addresses, `address:port`
//! endpoints or MD5/SHA-1/SHA-256 hashes ([`ioc`]). A row that cannot be read is
//! skipped with a `warn` log naming its line; a page where no row can be read (an
//! HTML error page, say) is an upstream error.
//!
//! The poll cursor ([`Cursor`]) holds the offset of the next page, the `Link` URL to
//! follow if there is one, and the newest `first_seen` already published. A full page
//! (exactly `page_size` rows, or a `Link` to a next page) sets `more`, so the host polls
//! again at once; the polls up to a page that is not full make a *run*. At the end of a
//! run the newest `first_seen` becomes the watermark: later runs skip older rows as
//! already published, so an upstream that ignores `offset` and serves its whole recent
//! list every time still yields each indicator once. A feed listing its newest rows
//! first (detected from the rows' order) is read from the top on every run, and the run
//! stops at the first row below the watermark. An empty page publishes nothing and keeps
//! the cursor (unless it shows that a newest-first feed was read past its end, which
//! ends the run).
//!
//! Upstream 429 and 5xx answers are retried by the SDK's [`airlock_sdk::http::Client`],
//! honouring `Retry-After`. Credentials never reach the connector: for
//! `https://*.abuse.ch` the host adds the `Auth-Key` header from the deployment's
//! `api_key` secret ([`config`]).

use airlock_sdk::http::{Client, Origin, Request, Response};
use airlock_sdk::paginate::{self, OffsetPage};
use airlock_sdk::prelude::*;
use airlock_sdk::time::Timestamp;
use airlock_sdk::{log, progress};
use serde::{Deserialize, Serialize};

pub mod bundle;
pub mod config;
pub mod feed;
pub mod ioc;

use config::{Config, Format};

/// The connector.
#[derive(Debug, Default)]
pub struct OsintFeed;

/// The state kept between polls.
///
/// A *run* is a sequence of polls that page through the feed (each but the last
/// answering `more = true`). Rows published by earlier runs are recognised by their
/// `first_seen`: anything older than [`Cursor::watermark`] is skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Feed rows read so far: the `offset` of the next page.
    pub offset: u64,
    /// The upstream's `rel="next"` link, followed instead of `offset` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_url: Option<String>,
    /// The newest `first_seen` published so far (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
    /// The newest `first_seen` published by the runs before this one: rows older than
    /// this are not published again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<String>,
    /// Whether the feed lists its newest rows first. Such a feed is read from the top
    /// on every run, and a run ends at the first row older than the watermark.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub newest_first: bool,
}

fn cursor_time(value: Option<&str>, field: &str) -> Result<Option<Timestamp>> {
    value
        .map(|t| {
            Timestamp::parse(t).map_err(|e| {
                Error::invalid_input(format!("the poll cursor's `{field}` is unreadable: {e}"))
            })
        })
        .transpose()
}

impl Cursor {
    /// The newest `first_seen` published so far.
    pub fn newest(&self) -> Result<Option<Timestamp>> {
        cursor_time(self.newest.as_deref(), "newest")
    }

    /// The newest `first_seen` published before the current run.
    pub fn watermark(&self) -> Result<Option<Timestamp>> {
        cursor_time(self.watermark.as_deref(), "watermark")
    }

    /// The cursor after a page of `received` rows whose newest published row is
    /// `newest`, given the page's `next_url` link and whether the run goes on.
    fn after_page(
        &self,
        received: u64,
        newest: Option<Timestamp>,
        next_url: Option<String>,
        run_goes_on: bool,
        newest_first: bool,
    ) -> Cursor {
        let newest = newest.map(Timestamp::to_rfc3339_millis);
        let offset = self.offset.saturating_add(received);
        if run_goes_on {
            return Cursor {
                offset,
                next_url,
                newest,
                watermark: self.watermark.clone(),
                newest_first,
            };
        }
        Cursor {
            // New rows of a newest-first feed appear at the top; an oldest-first feed
            // grows at the end, where the offset already points.
            offset: if newest_first { 0 } else { offset },
            next_url: None,
            watermark: newest.clone(),
            newest,
            newest_first,
        }
    }
}

/// How long one feed request may take, in milliseconds (the host may cap it lower).
pub const REQUEST_TIMEOUT_MS: u32 = 30_000;

/// The feed used for the manifest's sample output.
const SAMPLE_FEED: &str = "id,first_seen_utc,ioc_type,ioc_value,malware,confidence,reference\n\
    1001,2024-03-01 00:15:42,url,http://198.51.100.23/bins/mozi.m,Mozi,100,https://feeds.example.org/ioc/1001\n\
    1002,2024-03-01 03:00:00,ip:port,203.0.113.45:8080,Cobalt Strike,80,https://feeds.example.org/ioc/1002\n";

impl OsintFeed {
    /// The manifest's sample: the bundle two sample rows become.
    pub fn sample_output() -> Option<Output> {
        let page = feed::parse(SAMPLE_FEED, Format::Csv, None).ok()?;
        let sample = bundle::build(
            &page.rows,
            config::DEFAULT_SOURCE_NAME,
            airlock_sdk::stix::Tlp::Green,
        );
        Output::stix(&sample).ok()
    }
}

impl Connector for OsintFeed {
    fn describe(&self) -> Manifest {
        let mut builder = Manifest::builder(
            "osint-feed",
            "OSINT indicator feed",
            env!("CARGO_PKG_VERSION"),
        )
        .vendor("Airlock examples")
        .description(
            "Polls an abuse.ch-style indicator feed (URLhaus/ThreatFox CSV or JSON lines: \
                 URLs, domains, IP addresses, address:port endpoints, file hashes) page by page \
                 and publishes each page as a STIX 2.1 bundle of indicators, observables, \
                 malware families and their relationships, with deterministic ids and a TLP \
                 marking. The feed must be on https://*.abuse.ch (the api_key secret is sent \
                 as Auth-Key) or https://feeds.example.org, and the admin must grant it.",
        )
        .category(Category::Osint)
        .capability("poll")
        .capability("indicator-feed")
        .action(
            Action::new(
                "map-page",
                "Maps one feed page given as input (`text`, optionally `format`) to the STIX \
                 2.1 bundle a poll would publish, without fetching anything: for previewing \
                 a feed format against the deployment's config.",
            )
            .input_schema(json!({
                "type": "object",
                "required": ["text"],
                "properties": {
                    "text": {"type": "string", "description": "The page, CSV or JSON lines."},
                    "format": {"enum": ["csv", "jsonl"]}
                },
                "additionalProperties": false
            }))
            .output(OutputStandard::Stix21),
        )
        .output_standard(OutputStandard::Stix21)
        .config_schema(config::config_schema())
        .secrets_schema(config::secrets_schema());
        for pattern in config::OUTBOUND_HOSTS {
            builder = match config::credential_for(pattern) {
                Some(credential) => builder.outbound_host_with(pattern, credential),
                None => builder.outbound_host(pattern),
            };
        }
        if let Some(sample) = Self::sample_output() {
            builder = builder.sample_output(sample);
        }
        builder.build()
    }

    fn validate_config(&self, config: &Value) -> Result<()> {
        Config::from_value(config).map(|_| ())
    }

    fn invoke(&self, action: &str, input: Value, ctx: &Context) -> Result<Vec<Output>> {
        match action {
            "map-page" => map_page(&input, &Config::from_value(ctx.config_value())?),
            other => Err(Error::unknown_action(other)),
        }
    }

    fn poll(&self, cursor: Option<String>, ctx: &Context) -> Result<PollResult> {
        let config = Config::from_value(ctx.config_value())?;
        let cursor: Cursor = paginate::decode_cursor(cursor.as_deref())?.unwrap_or_default();
        let watermark = cursor.watermark()?;
        let published = cursor.newest()?;
        let page = OffsetPage {
            offset: cursor.offset,
            limit: config.page_size,
        };
        let url = cursor
            .next_url
            .clone()
            .unwrap_or_else(|| page.apply(&config.feed_url));
        progress::report(0, None);
        let response = fetch(&url, &config)?;
        let parsed = feed::parse(
            &response.text(),
            config.format,
            config.malware_family_field.as_deref(),
        )
        .map_err(|e| Error::upstream(Some(response.status), format!("{url}: {e}")))?;
        for skipped in &parsed.skipped {
            log::log_with(
                log::Level::Warn,
                &format!("skipped feed line {}: {}", skipped.line, skipped.reason),
                &[("line", &skipped.line.to_string()), ("url", &url)],
            );
        }
        for warning in &parsed.warnings {
            log::log_with(
                log::Level::Warn,
                &format!("feed line {}: {}", warning.line, warning.reason),
                &[("line", &warning.line.to_string()), ("url", &url)],
            );
        }
        let records = parsed.records;
        if records == 0 {
            log::log_with(
                log::Level::Info,
                "the feed page is empty",
                &[("url", &url), ("offset", &cursor.offset.to_string())],
            );
            progress::report(0, Some(0));
            // A newest-first feed read past its end: the run is over, start again from
            // the top next time. Otherwise the cursor stays where it is.
            let next_cursor = if cursor.newest_first && cursor.offset > 0 {
                let next = cursor.after_page(0, published, None, false, true);
                Some(paginate::encode_cursor(&next)?)
            } else {
                None
            };
            return Ok(PollResult {
                outputs: Vec::new(),
                next_cursor,
                more: false,
            });
        }
        if parsed.rows.is_empty() {
            let first = parsed
                .skipped
                .first()
                .map(|e| format!(" (line {}: {})", e.line, e.reason))
                .unwrap_or_default();
            return Err(Error::upstream(
                Some(response.status),
                format!("none of the {records} rows of {url} could be read{first}"),
            ));
        }

        let newest_first = match (parsed.rows.first(), parsed.rows.last()) {
            (Some(a), Some(b)) if a.first_seen != b.first_seen => a.first_seen > b.first_seen,
            _ => cursor.newest_first,
        };
        let (fresh, old): (Vec<_>, Vec<_>) = parsed
            .rows
            .into_iter()
            .partition(|row| watermark.is_none_or(|w| row.first_seen >= w));
        let newest = fresh.iter().map(|r| r.first_seen).chain(published).max();
        let next_url = next_page_link(&response, &url, &config.feed_url);
        let received = u64::try_from(records).unwrap_or(u64::MAX);
        // Newest first, a row older than the watermark means the rest was published.
        let caught_up = newest_first && !old.is_empty();
        let more = (next_url.is_some() || received == config.page_size) && !caught_up;
        let next = cursor.after_page(received, newest, next_url, more, newest_first);

        let mut outputs = Vec::new();
        if !fresh.is_empty() {
            let bundle = bundle::build(&fresh, config.source(), config.tlp());
            outputs.push(Output::stix(&bundle)?);
        }
        progress::report(received, Some(received));
        log::log_with(
            log::Level::Info,
            "polled a feed page",
            &[
                ("url", &url),
                ("offset", &cursor.offset.to_string()),
                ("rows", &records.to_string()),
                ("indicators", &fresh.len().to_string()),
                ("already_published", &old.len().to_string()),
                ("skipped", &parsed.skipped.len().to_string()),
                ("more", &more.to_string()),
            ],
        );
        Ok(PollResult {
            outputs,
            next_cursor: Some(paginate::encode_cursor(&next)?),
            more,
        })
    }
}

/// The `map-page` action: parses `input.text` as a feed page and maps every
/// readable row to one STIX bundle (no watermark: nothing was published yet).
pub fn map_page(input: &Value, config: &Config) -> Result<Vec<Output>> {
    let text = input["text"]
        .as_str()
        .ok_or_else(|| Error::invalid_input("`text` must be the feed page as a string"))?;
    let format = match input.get("format") {
        Some(f) => serde_json::from_value(f.clone())
            .map_err(|_| Error::invalid_input("`format` must be `csv` or `jsonl`"))?,
        None => config.format,
    };
    let parsed = feed::parse(text, format, config.malware_family_field.as_deref())
        .map_err(|e| Error::invalid_input(e.to_string()))?;
    if parsed.rows.is_empty() {
        return Ok(Vec::new());
    }
    let bundle = bundle::build(&parsed.rows, config.source(), config.tlp());
    Ok(vec![Output::stix(&bundle)?])
}

/// Requests one page, retrying 429/5xx through the SDK client; any answer but a
/// success is an error worded for the admin.
fn fetch(url: &str, config: &Config) -> Result<Response> {
    let request = Request::get(url)
        .header("accept", config.format.accept())
        .timeout_ms(REQUEST_TIMEOUT_MS);
    let response = Client::new().send(&request).map_err(|e| match e {
        // The host refused the request: the admin has not granted the host, or the
        // secret the declared credential needs is missing.
        Error::InvalidConfig(m) => Error::invalid_config(format!(
            "{m}. Ask the admin to grant this feed's host to the deployment; feeds on \
             *.abuse.ch also need the `{}` secret.",
            config::API_KEY_SECRET
        )),
        other => other,
    })?;
    match response.status {
        200..=299 => {}
        status @ (401 | 403) => {
            return Err(Error::upstream(
                Some(status),
                format!(
                    "the feed refused the request with HTTP {status}: check the deployment's \
                     `{}` secret (sent to abuse.ch as the {} header) and that the key may \
                     read {url}",
                    config::API_KEY_SECRET,
                    config::AUTH_KEY_HEADER
                ),
            ));
        }
        404 => {
            return Err(Error::upstream(
                Some(404),
                format!("the feed answered 404 Not Found for {url}: check feed_url"),
            ));
        }
        _ => return response.error_for_status(),
    }
    let html = response
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().contains("text/html"));
    if html {
        let start: String = response.text().chars().take(80).collect();
        return Err(Error::upstream(
            Some(response.status),
            format!("{url}: the feed answered with an HTML page, not indicator rows (`{start}`)"),
        ));
    }
    Ok(response)
}

/// The response's `rel="next"` link, if it stays on the feed's own https origin (a link
/// elsewhere is ignored with a warning rather than followed).
fn next_page_link(response: &Response, url: &str, feed_url: &str) -> Option<String> {
    let link = paginate::next_link(response, url)?;
    let same_origin = Origin::of_url(&link).is_some_and(|o| Some(o) == Origin::of_url(feed_url));
    if same_origin && !link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some(link)
    } else {
        log::log_with(
            log::Level::Warn,
            "ignored a next-page link to another origin",
            &[("link", &link)],
        );
        None
    }
}

airlock_sdk::export_connector!(OsintFeed);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_watermarks_are_input_errors() {
        let c = Cursor {
            offset: 40,
            newest: Some("2024-03-01T00:00:00.000Z".into()),
            ..Cursor::default()
        };
        let text = paginate::encode_cursor(&c).unwrap();
        assert_eq!(text, r#"{"offset":40,"newest":"2024-03-01T00:00:00.000Z"}"#);
        let back: Cursor = paginate::decode_cursor(Some(&text)).unwrap().unwrap();
        assert_eq!(back, c);
        assert!(back.newest().unwrap().is_some());
        assert_eq!(back.watermark().unwrap(), None);
        let bad = Cursor {
            watermark: Some("yesterday".into()),
            ..Cursor::default()
        };
        assert!(matches!(bad.watermark(), Err(Error::InvalidInput(_))));
        let full = r#"{"offset":0,"newest":"2024-03-01T00:00:00.000Z","watermark":"2024-03-01T00:00:00.000Z","newest_first":true}"#;
        let back: Cursor = paginate::decode_cursor(Some(full)).unwrap().unwrap();
        assert!(back.newest_first);
        assert_eq!(paginate::encode_cursor(&back).unwrap(), full);
    }

    #[test]
    fn the_sample_output_is_a_bundle() {
        let sample = OsintFeed::sample_output().unwrap();
        assert_eq!(sample.standard, OutputStandard::Stix21);
        let v = sample.body_json().unwrap();
        assert_eq!(v["type"], "bundle");
        assert_eq!(v["objects"].as_array().unwrap().len(), 12);
    }

    #[test]
    fn next_links_must_stay_on_the_feed_origin() {
        let feed = "https://feeds.example.org/v1/i.csv";
        let response = |link: &str| Response {
            status: 200,
            headers: vec![("link".into(), format!("<{link}>; rel=\"next\""))],
            body: Vec::new(),
        };
        let page = "https://feeds.example.org/v1/i.csv?offset=0&limit=5";
        assert_eq!(
            next_page_link(&response("/v1/i.csv?page=2"), page, feed).as_deref(),
            Some("https://feeds.example.org/v1/i.csv?page=2")
        );
        assert_eq!(
            next_page_link(&response("https://evil.example.net/x"), page, feed),
            None
        );
        assert_eq!(
            next_page_link(&response("http://feeds.example.org/x"), page, feed),
            None
        );
    }
}
