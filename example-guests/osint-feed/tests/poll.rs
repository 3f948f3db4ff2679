//! Polling the connector against a mock host: paging and cursors, retries, host-injected
//! credentials, malformed and non-feed pages, and config validation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use airlock_sdk::log::Level;
use airlock_sdk::prelude::*;
use airlock_sdk::testing::{Harness, MockResponse};
use osint_feed::{Cursor, OsintFeed};

const FEED: &str = "https://feeds.example.org/v1/indicators.csv";
const PAGE_1: &str = "https://feeds.example.org/v1/indicators.csv?offset=0&limit=20";
const PAGE_2: &str = "https://feeds.example.org/v1/indicators.csv?offset=20&limit=20";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn harness() -> Harness<OsintFeed> {
    Harness::new(OsintFeed).config(json!({"feed_url": FEED, "page_size": 20}))
}

fn cursor(result: &PollResult) -> Cursor {
    serde_json::from_str(result.next_cursor.as_deref().expect("a cursor")).unwrap()
}

fn bundle(result: &PollResult) -> Value {
    assert_eq!(result.outputs.len(), 1, "one bundle per poll");
    result.outputs[0].body_json().unwrap()
}

/// The ids of the objects of `type` in the poll's bundle.
fn ids(result: &PollResult, object_type: &str) -> BTreeSet<String> {
    bundle(result)["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == object_type)
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

fn error_message(err: &Error) -> String {
    err.message().to_string()
}

#[test]
fn a_full_first_page_returns_a_cursor_and_asks_for_more() {
    let h = harness();
    h.host()
        .respond("GET", PAGE_1, MockResponse::ok(fixture("page1.csv")));
    let result = h.poll(None).unwrap();
    assert!(result.more, "a full page means more is ready");
    assert_eq!(
        cursor(&result),
        Cursor {
            offset: 20,
            newest: Some("2024-03-01T16:20:00.000Z".into()),
            ..Cursor::default()
        }
    );
    assert_eq!(ids(&result, "indicator").len(), 20);
    let requests = h.host().requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].url, PAGE_1);
    assert!(
        requests[0]
            .headers
            .iter()
            .any(|(k, v)| k == "accept" && v.starts_with("text/csv"))
    );
    // Nothing to authenticate on this host: no credential header was added.
    assert!(requests[0].headers.iter().all(|(k, _)| k != "auth-key"));
    let progress = h.host().progress();
    assert_eq!(
        progress.last().map(|p| (p.done, p.total)),
        Some((20, Some(20)))
    );
    let page_log = h
        .host()
        .logs()
        .into_iter()
        .find(|l| l.message == "polled a feed page")
        .expect("a log line per page");
    assert_eq!(page_log.level, Level::Info);
    assert!(
        page_log
            .fields
            .contains(&("indicators".into(), "20".into()))
    );
    assert!(page_log.fields.contains(&("more".into(), "true".into())));
}

#[test]
fn the_second_poll_requests_the_next_offset_and_a_short_page_ends_the_run() {
    let h = harness();
    h.host()
        .respond("GET", PAGE_1, MockResponse::ok(fixture("page1.csv")))
        .respond("GET", PAGE_2, MockResponse::ok(fixture("page2.csv")));
    let first = h.poll(None).unwrap();
    let second = h.poll(first.next_cursor.as_deref()).unwrap();
    assert_eq!(h.host().requests()[1].url, PAGE_2);
    assert!(!second.more, "5 rows of 20: the feed is drained for now");
    assert_eq!(
        cursor(&second),
        Cursor {
            offset: 25,
            next_url: None,
            newest: Some("2024-03-02T04:40:00.000Z".into()),
            // The run is over: what it published is not published again.
            watermark: Some("2024-03-02T04:40:00.000Z".into()),
            newest_first: false,
        }
    );
    assert_eq!(ids(&second, "indicator").len(), 5);
    // The identity and the marking are the same objects on every page.
    assert_eq!(ids(&first, "identity"), ids(&second, "identity"));
    assert!(ids(&first, "indicator").is_disjoint(&ids(&second, "indicator")));
    // Mozi appears on both pages: one family, one id.
    let mozi = |r: &PollResult| {
        bundle(r)["objects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["type"] == "malware" && o["name"] == "Mozi")
            .map(|o| o["id"].clone())
            .unwrap()
    };
    assert_eq!(mozi(&first), mozi(&second));
}

#[test]
fn re_polling_the_same_page_yields_the_same_ids() {
    let h = harness();
    h.host()
        .respond("GET", PAGE_1, MockResponse::ok(fixture("page1.csv")));
    let a = h.poll(None).unwrap();
    let b = h.poll(None).unwrap();
    for t in [
        "indicator",
        "relationship",
        "malware",
        "identity",
        "url",
        "file",
    ] {
        assert_eq!(ids(&a, t), ids(&b, t), "{t}");
    }
    // The objects themselves are identical too, only the bundle envelope differs.
    let objects = |r: &PollResult| bundle(r)["objects"].clone();
    assert_eq!(objects(&a), objects(&b));
    assert_ne!(bundle(&a)["id"], bundle(&b)["id"]);
    assert_eq!(a.next_cursor, b.next_cursor);

    // Another source name means other indicator ids: ids are scoped to the source.
    let other = Harness::new(OsintFeed)
        .config(json!({"feed_url": FEED, "page_size": 20, "source_name": "Another Feed"}));
    other
        .host()
        .respond("GET", PAGE_1, MockResponse::ok(fixture("page1.csv")));
    let c = other.poll(None).unwrap();
    assert!(ids(&a, "indicator").is_disjoint(&ids(&c, "indicator")));
    assert_eq!(
        ids(&a, "url"),
        ids(&c, "url"),
        "observable ids are content-derived"
    );
}

#[test]
fn a_link_header_drives_paging() {
    let h = harness();
    let next = "https://feeds.example.org/v1/indicators.csv?page=2&token=abc";
    h.host()
        .respond(
            "GET",
            PAGE_1,
            MockResponse::ok(fixture("page2.csv")).header(
                "Link",
                "</v1/indicators.csv?page=2&token=abc>; rel=\"next\"",
            ),
        )
        .respond("GET", next, MockResponse::ok(fixture("page1.csv")));
    let first = h.poll(None).unwrap();
    assert!(first.more, "5 rows, but a next link");
    let c1 = cursor(&first);
    assert_eq!(c1.next_url.as_deref(), Some(next));
    assert_eq!(c1.offset, 5);

    let second = h.poll(first.next_cursor.as_deref()).unwrap();
    assert_eq!(h.host().requests()[1].url, next);
    assert_eq!(
        ids(&second, "indicator").len(),
        20,
        "the same run: nothing is skipped"
    );
    let c2 = cursor(&second);
    assert_eq!(c2.next_url, None, "the chain ended: back to offset paging");
    assert_eq!(c2.offset, 25);
    assert!(second.more, "a full page of 20");

    // A link to another origin is not followed.
    let h = harness();
    h.host().respond(
        "GET",
        PAGE_1,
        MockResponse::ok(fixture("page2.csv"))
            .header("link", "<https://evil.example.net/next>; rel=\"next\""),
    );
    let result = h.poll(None).unwrap();
    assert_eq!(cursor(&result).next_url, None);
    assert!(!result.more);
    assert!(
        h.host()
            .logs()
            .iter()
            .any(|l| l.level == Level::Warn && l.message.contains("another origin"))
    );
}

/// The header and data lines of a CSV fixture.
fn csv_rows(name: &str) -> (String, Vec<String>) {
    let text = fixture(name);
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let header = lines.next().unwrap().to_string();
    (header, lines.map(str::to_string).collect())
}

fn csv(header: &str, rows: &[String]) -> String {
    let mut out = format!("{header}\n");
    for row in rows {
        out.push_str(row);
        out.push('\n');
    }
    out
}

#[test]
fn rows_older_than_the_watermark_are_not_published_again() {
    // This upstream ignores offset and limit: it serves its whole list every time.
    let h = Harness::new(OsintFeed).config(json!({"feed_url": FEED, "page_size": 50}));
    let (header, mut rows) = csv_rows("page1.csv");
    h.host().respond(
        "GET",
        &format!("{FEED}?offset=0&limit=50"),
        MockResponse::ok(csv(&header, &rows)),
    );
    let first = h.poll(None).unwrap();
    assert!(!first.more);
    let c1 = cursor(&first);
    assert_eq!(c1.watermark.as_deref(), Some("2024-03-01T16:20:00.000Z"));
    assert_eq!(c1.offset, 20);

    rows.push("1026,2024-03-02 05:00:00,domain,fresh-c2.example.com,Mozi,80,".to_string());
    h.host().respond(
        "GET",
        &format!("{FEED}?offset=20&limit=50"),
        MockResponse::ok(csv(&header, &rows)),
    );
    let second = h.poll(first.next_cursor.as_deref()).unwrap();
    let names: BTreeSet<String> = bundle(&second)["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect();
    // The new row, and the row as old as the watermark (same id as before: harmless).
    let expected = [
        "fresh-c2.example.com",
        "https://cdn-update.example.com/wp-content/plugins/x/load.js",
    ];
    assert_eq!(names, expected.iter().map(|n| n.to_string()).collect());
    let again = ids(&second, "indicator")
        .intersection(&ids(&first, "indicator"))
        .count();
    assert_eq!(again, 1);
    let c2 = cursor(&second);
    assert_eq!(c2.watermark.as_deref(), Some("2024-03-02T05:00:00.000Z"));
    let log = h
        .host()
        .logs()
        .into_iter()
        .rfind(|l| l.message == "polled a feed page")
        .unwrap();
    assert!(
        log.fields
            .contains(&("already_published".into(), "19".into())),
        "{log:?}"
    );
}

#[test]
fn a_newest_first_feed_is_read_from_the_top_and_stops_at_the_watermark() {
    let h = Harness::new(OsintFeed).config(json!({"feed_url": FEED, "page_size": 10}));
    let page = |offset: u64| format!("{FEED}?offset={offset}&limit=10");
    let (header, mut rows) = csv_rows("page1.csv");
    rows.reverse();
    // Two new rows appear on top after the first run.
    let mut newer = vec![
        "1028,2024-03-02 09:00:00,url,https://new.example.com/a.exe,,90,".to_string(),
        "1027,2024-03-02 08:00:00,url,https://new.example.com/b.exe,,90,".to_string(),
    ];
    newer.extend(rows[..8].iter().cloned());
    h.host()
        .respond("GET", &page(0), MockResponse::ok(csv(&header, &rows[..10])))
        .respond("GET", &page(0), MockResponse::ok(csv(&header, &newer)))
        .respond(
            "GET",
            &page(10),
            MockResponse::ok(csv(&header, &rows[10..])),
        )
        .respond("GET", &page(20), MockResponse::ok(csv(&header, &[])));
    let p1 = h.poll(None).unwrap();
    assert!(p1.more);
    assert!(cursor(&p1).newest_first);
    let p2 = h.poll(p1.next_cursor.as_deref()).unwrap();
    assert!(p2.more, "a full page");
    assert_eq!(
        ids(&p1, "indicator").len() + ids(&p2, "indicator").len(),
        20
    );
    // Read past the end: the run is over, the next one starts from the top.
    let p3 = h.poll(p2.next_cursor.as_deref()).unwrap();
    assert!(p3.outputs.is_empty() && !p3.more);
    let c3 = cursor(&p3);
    assert_eq!(
        (c3.offset, c3.watermark.as_deref()),
        (0, Some("2024-03-01T16:20:00.000Z"))
    );

    // The page stops being new at the watermark.
    let p4 = h.poll(p3.next_cursor.as_deref()).unwrap();
    assert!(
        !p4.more,
        "the rest of the feed was published by the last run"
    );
    // The two new rows, and the one as old as the watermark.
    assert_eq!(ids(&p4, "indicator").len(), 3);
    let c4 = cursor(&p4);
    assert_eq!(
        (c4.offset, c4.watermark.as_deref()),
        (0, Some("2024-03-02T09:00:00.000Z"))
    );
}

#[test]
fn an_empty_page_publishes_nothing_and_keeps_the_cursor() {
    let h = harness();
    let header_only =
        "# nothing new\nid,first_seen_utc,ioc_type,ioc_value,malware,confidence,reference\n";
    h.host()
        .respond("GET", PAGE_2, MockResponse::ok(header_only))
        .respond("GET", PAGE_1, MockResponse::status(204));
    let cursor = r#"{"offset":20,"newest":"2024-03-01T16:20:00.000Z"}"#;
    let result = h.poll(Some(cursor)).unwrap();
    assert!(result.outputs.is_empty());
    assert_eq!(result.next_cursor, None, "None keeps the current cursor");
    assert!(!result.more);
    let result = h.poll(None).unwrap();
    assert!(result.outputs.is_empty() && result.next_cursor.is_none());
    assert!(h.host().emitted().is_empty());
}

#[test]
fn a_429_is_retried_after_its_retry_after() {
    let h = harness();
    h.host()
        .respond(
            "GET",
            PAGE_1,
            MockResponse::status(429).header("Retry-After", "3"),
        )
        .respond("GET", PAGE_1, MockResponse::status(503))
        .respond("GET", PAGE_1, MockResponse::ok(fixture("page1.csv")));
    let result = h.poll(None).unwrap();
    assert_eq!(ids(&result, "indicator").len(), 20);
    // 3 s as asked, then the client's own backoff after the 503.
    assert_eq!(h.host().sleeps(), vec![3000, 1000]);
    assert_eq!(h.host().requests().len(), 3);
}

#[test]
fn a_long_retry_after_or_lasting_5xx_is_returned_to_the_host() {
    let h = harness();
    h.host().respond(
        "GET",
        PAGE_1,
        MockResponse::status(429).header("Retry-After", "120"),
    );
    let err = h.poll(None).unwrap_err();
    assert!(
        matches!(&err, Error::RateLimited(r) if r.retry_after_ms == 120_000),
        "{err:?}"
    );
    assert!(h.host().sleeps().is_empty());

    let h = harness();
    h.host().respond("GET", PAGE_1, MockResponse::status(502));
    let err = h.poll(None).unwrap_err();
    assert!(
        matches!(&err, Error::Upstream(u) if u.status == Some(502)),
        "{err:?}"
    );
    assert_eq!(h.host().requests().len(), 4);
}

#[test]
fn unauthorised_answers_point_the_admin_at_the_api_key() {
    for status in [401, 403] {
        let h = harness();
        h.host().respond(
            "GET",
            PAGE_1,
            MockResponse::status(status).body("Unauthorized"),
        );
        let err = h.poll(None).unwrap_err();
        match &err {
            Error::Upstream(u) => assert_eq!(u.status, Some(status)),
            other => panic!("{other:?}"),
        }
        assert!(error_message(&err).contains("`api_key` secret"), "{err:?}");
        assert_eq!(
            h.host().requests().len(),
            1,
            "auth failures are not retried"
        );
    }
    let h = harness();
    h.host().respond("GET", PAGE_1, MockResponse::status(404));
    let err = h.poll(None).unwrap_err();
    assert!(error_message(&err).contains("check feed_url"), "{err:?}");
}

#[test]
fn the_host_injects_the_auth_key_and_the_secret_never_reaches_the_output() {
    const SECRET: &str = "s3cr3t-auth-key-0123456789";
    let feed = "https://threatfox-api.abuse.ch/export/csv/recent/";
    let page = format!("{feed}?offset=0&limit=20");
    let h = Harness::new(OsintFeed).config(json!({
        "feed_url": feed, "page_size": 20, "source_name": "ThreatFox"
    }));
    h.host().secret("api_key", SECRET);
    h.host()
        .respond("GET", &page, MockResponse::ok(fixture("page1.csv")));
    let result = h.poll(None).unwrap();
    let request = &h.host().requests()[0];
    assert_eq!(request.url, page);
    assert!(
        request
            .headers
            .contains(&("auth-key".to_string(), SECRET.to_string())),
        "{:?}",
        request.headers
    );
    let mut seen = String::new();
    for output in result.outputs.iter().chain(h.host().emitted().iter()) {
        seen.push_str(output.body_str().unwrap());
    }
    seen.push_str(result.next_cursor.as_deref().unwrap_or(""));
    for line in h.host().logs() {
        seen.push_str(&line.message);
        for (k, v) in line.fields {
            seen.push_str(&k);
            seen.push_str(&v);
        }
    }
    assert!(seen.contains("ThreatFox"), "the check looks at real output");
    assert!(!seen.contains(SECRET), "the secret leaked");

    // Without the secret the host refuses the request: a deployment problem.
    let h = Harness::new(OsintFeed).config(json!({"feed_url": feed, "page_size": 20}));
    h.host()
        .respond("GET", &page, MockResponse::ok(fixture("page1.csv")));
    let err = h.poll(None).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
    assert!(error_message(&err).contains("api_key"), "{err:?}");
}

#[test]
fn malformed_rows_are_skipped_with_a_warning_naming_the_line() {
    let h = harness();
    h.host()
        .respond("GET", PAGE_1, MockResponse::ok(fixture("malformed.csv")));
    let result = h.poll(None).unwrap();
    assert_eq!(ids(&result, "indicator").len(), 3);
    assert_eq!(
        cursor(&result).offset,
        9,
        "unreadable rows still count as read"
    );
    let warnings: Vec<_> = h
        .host()
        .logs()
        .into_iter()
        .filter(|l| l.level == Level::Warn)
        .collect();
    let skipped: Vec<&str> = warnings
        .iter()
        .filter(|l| l.message.starts_with("skipped feed line"))
        .map(|l| {
            l.fields
                .iter()
                .find(|(k, _)| k == "line")
                .unwrap()
                .1
                .as_str()
        })
        .collect();
    assert_eq!(skipped, ["4", "5", "6", "7", "8", "9"]);
    let messages: Vec<&str> = warnings.iter().map(|l| l.message.as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("skipped feed line 5:") && m.contains("yesterday")),
        "{messages:#?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("skipped feed line 6:") && m.contains("ioc_type `md5_hash`"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("skipped feed line 7:") && m.contains("3 fields"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("skipped feed line 8:") && m.contains("never closes"))
    );
    // Line 10 is kept, without its out-of-range confidence and its broken reference.
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("feed line 10:") && m.contains("confidence `250`"))
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("feed line 10:") && m.contains("reference `not-a-link`"))
    );
}

#[test]
fn an_html_page_is_an_upstream_error() {
    let h = harness();
    h.host().respond(
        "GET",
        PAGE_1,
        MockResponse::ok(fixture("error.html")).header("content-type", "text/html; charset=utf-8"),
    );
    let err = h.poll(None).unwrap_err();
    assert!(
        matches!(&err, Error::Upstream(u) if u.status == Some(200)),
        "{err:?}"
    );
    assert!(error_message(&err).contains("HTML page"), "{err:?}");

    // Also when it is served as text/plain.
    let h = harness();
    h.host().respond(
        "GET",
        PAGE_1,
        MockResponse::ok(fixture("error.html")).header("content-type", "text/plain"),
    );
    let err = h.poll(None).unwrap_err();
    assert!(
        matches!(&err, Error::Upstream(_)) && error_message(&err).contains("HTML page"),
        "{err:?}"
    );
}

#[test]
fn a_page_where_no_row_reads_is_an_upstream_error() {
    // abuse.ch answers API errors as a JSON object.
    let h = Harness::new(OsintFeed)
        .config(json!({"feed_url": FEED, "page_size": 20, "format": "jsonl"}));
    h.host().respond(
        "GET",
        PAGE_1,
        MockResponse::ok(r#"{"query_status": "unknown_auth_key"}"#),
    );
    let err = h.poll(None).unwrap_err();
    assert!(matches!(err, Error::Upstream(_)), "{err:?}");
    assert!(
        error_message(&err).contains("none of the 1 rows"),
        "{err:?}"
    );

    let h = harness();
    h.host()
        .respond("GET", PAGE_1, MockResponse::ok("name,score\nalice,3\n"));
    let err = h.poll(None).unwrap_err();
    assert!(
        matches!(err, Error::Upstream(_)) && error_message(&err).contains("no header row"),
        "{err:?}"
    );
}

#[test]
fn json_lines_pages_poll_too() {
    let h = Harness::new(OsintFeed)
        .config(json!({"feed_url": FEED, "page_size": 20, "format": "jsonl"}));
    h.host()
        .respond("GET", PAGE_1, MockResponse::ok(fixture("page.jsonl")));
    let result = h.poll(None).unwrap();
    assert_eq!(ids(&result, "indicator").len(), 6);
    assert!(!result.more);
    assert_eq!(cursor(&result).offset, 6);
    let accept = &h.host().requests()[0].headers;
    assert!(
        accept
            .iter()
            .any(|(k, v)| k == "accept" && v.contains("ndjson"))
    );
}

#[test]
fn validate_config_rejects_undeclared_hosts_and_bad_values() {
    let h = harness();
    assert_eq!(h.validate_config(&json!({"feed_url": FEED})), Ok(()));
    assert_eq!(
        h.validate_config(
            &json!({"feed_url": "https://urlhaus-api.abuse.ch/v1/urls/recent/", "tlp": "red"})
        ),
        Ok(())
    );
    let err = h
        .validate_config(&json!({"feed_url": "https://intel.example.com/feed.csv"}))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
    let message = error_message(&err);
    assert!(
        message.contains("`intel.example.com`") && message.contains("https://*.abuse.ch"),
        "{message}"
    );
    for bad in [
        json!({"feed_url": "http://feeds.example.org/feed.csv"}),
        json!({"feed_url": FEED, "page_size": 0}),
        json!({"feed_url": FEED, "format": "xml"}),
        json!({"feed_url": format!("{FEED}?limit=10")}),
        json!({"page_size": 10}),
    ] {
        assert!(
            matches!(h.validate_config(&bad), Err(Error::InvalidConfig(_))),
            "{bad}"
        );
    }
    // poll checks the config too, before any request.
    let h =
        Harness::new(OsintFeed).config(json!({"feed_url": "https://intel.example.com/feed.csv"}));
    assert!(matches!(h.poll(None), Err(Error::InvalidConfig(_))));
    assert!(h.host().requests().is_empty());
    assert!(matches!(
        harness().poll(Some("not a cursor")),
        Err(Error::InvalidInput(_))
    ));
}

#[test]
fn the_manifest_declares_an_osint_poller() {
    let m = harness().describe();
    assert_eq!(m.id, "osint-feed");
    assert_eq!(m.category, Category::Osint);
    assert_eq!(m.capabilities, ["poll", "indicator-feed", "invoke"]);
    assert_eq!(m.output_standards, [OutputStandard::Stix21]);
    let actions: Vec<&str> = m.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(actions, ["map-page"]);
    let hosts: Vec<(&str, Option<&Credential>)> = m
        .outbound_hosts
        .iter()
        .map(|h| (h.pattern.as_str(), h.credential.as_ref()))
        .collect();
    assert_eq!(
        hosts,
        [
            (
                "https://*.abuse.ch",
                Some(&Credential::header_from("Auth-Key", "api_key"))
            ),
            ("https://feeds.example.org", None),
        ]
    );
    assert!(m.sample_output.is_some());
}

#[test]
fn map_page_maps_a_page_given_as_input_without_fetching() {
    let h = harness();
    let text = "id,dateadded,url,url_status,threat,tags,urlhaus_link,reporter\n\
        1,2026-11-01 10:00:00,http://bad.example.net/a.exe,online,malware_download,emotet,https://urlhaus.abuse.ch/url/1/,r\n";
    let outputs = h.invoke("map-page", &json!({ "text": text })).unwrap();
    assert_eq!(outputs.len(), 1);
    let bundle = outputs[0].body_json().unwrap();
    let types: Vec<&str> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"indicator"), "{types:?}");
    assert!(h.host().requests().is_empty(), "nothing was fetched");
    assert!(matches!(
        h.invoke("map-page", &json!({"text": "<html>error</html>"})),
        Err(Error::InvalidInput(_))
    ));
}
