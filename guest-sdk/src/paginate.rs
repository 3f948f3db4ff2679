//! Paging through upstream APIs: opaque poll cursors, offset/limit pages, RFC 8288
//! `Link` headers, and query-string building.
//!
//! A poll cursor is the connector's own state between polls; the host stores it
//! (committed with the poll's output) and hands it back. [`encode_cursor`] and
//! [`decode_cursor`] keep it typed, and a cursor the connector did not write is an
//! [`Error::invalid_input`], not a panic.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::Response;
use crate::{Error, Result};

/// Serialises cursor state for [`crate::PollResult::next_cursor`].
pub fn encode_cursor<T: Serialize>(state: &T) -> Result<String> {
    Ok(serde_json::to_string(state)?)
}

/// Reads the cursor the host passed to `poll`; `None` on the first poll.
pub fn decode_cursor<T: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<T>> {
    match cursor {
        None => Ok(None),
        Some(text) => serde_json::from_str(text).map(Some).map_err(|e| {
            Error::invalid_input(format!(
                "the poll cursor is not one this connector wrote: {e}"
            ))
        }),
    }
}

/// Offset/limit paging: `?offset=40&limit=20`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OffsetPage {
    /// Items to skip.
    pub offset: u64,
    /// Items per page.
    pub limit: u64,
}

impl OffsetPage {
    /// The first page of `limit` items.
    pub fn first(limit: u64) -> Self {
        OffsetPage { offset: 0, limit }
    }
    /// `url` with `offset` and `limit` query parameters added.
    pub fn apply(&self, url: &str) -> String {
        with_query(
            url,
            &[
                ("offset", &self.offset.to_string()),
                ("limit", &self.limit.to_string()),
            ],
        )
    }
    /// The next page, or `None` when `received` items show this page was the last.
    pub fn next(&self, received: usize) -> Option<OffsetPage> {
        let received = u64::try_from(received).unwrap_or(u64::MAX);
        (received >= self.limit && self.limit > 0).then(|| OffsetPage {
            offset: self.offset.saturating_add(received),
            limit: self.limit,
        })
    }
}

/// One link of an RFC 8288 `Link` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target URI, as written.
    pub uri: String,
    /// The `rel` values, lowercase.
    pub rel: Vec<String>,
    /// Other parameters, names lowercase, values unquoted.
    pub params: Vec<(String, String)>,
}

/// Parses a `Link` header value; malformed links are skipped, never fatal.
pub fn parse_link_header(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let uri = rest[start + 1..start + end].trim().to_string();
        rest = &rest[start + end + 1..];
        // Parameters run until the next comma that is outside quotes.
        let mut in_quotes = false;
        let mut cut = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => {
                    cut = i;
                    break;
                }
                _ => {}
            }
        }
        let (params_text, tail) = rest.split_at(cut);
        rest = tail.strip_prefix(',').unwrap_or(tail);
        let mut link = Link {
            uri,
            rel: Vec::new(),
            params: Vec::new(),
        };
        for param in params_text
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (name, val) = param.split_once('=').unwrap_or((param, ""));
            let name = name.trim().to_ascii_lowercase();
            let val = val.trim().trim_matches('"').to_string();
            if name == "rel" {
                link.rel
                    .extend(val.split_ascii_whitespace().map(str::to_ascii_lowercase));
            } else {
                link.params.push((name, val));
            }
        }
        links.push(link);
    }
    links
}

/// The `rel="next"` link of a response, resolved against `base_url` when it is
/// relative (`/items?page=2`).
pub fn next_link(response: &Response, base_url: &str) -> Option<String> {
    let header = response.header("link")?;
    let link = parse_link_header(header)
        .into_iter()
        .find(|l| l.rel.iter().any(|r| r == "next"))?;
    Some(resolve(base_url, &link.uri))
}

fn resolve(base: &str, uri: &str) -> String {
    if uri.contains("://") {
        return uri.to_string();
    }
    let Some((scheme, rest)) = base.split_once("://") else {
        return uri.to_string();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if uri.starts_with('/') {
        format!("{scheme}://{authority}{uri}")
    } else {
        let path = rest.split(['?', '#']).next().unwrap_or(rest);
        let dir = path.rsplit_once('/').map_or(authority, |(d, _)| d);
        format!("{scheme}://{dir}/{uri}")
    }
}

/// `url` with query parameters appended, percent-encoded.
pub fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut out = url.to_string();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        out.push(sep);
        out.push_str(&percent_encode(k));
        out.push('=');
        out.push_str(&percent_encode(v));
        sep = '&';
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_parse_like_github_s() {
        let v = r#"<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=9>; rel="last", <bad"#;
        let links = parse_link_header(v);
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].rel, ["next"]);
        assert_eq!(links[1].uri, "https://api.example.com/items?page=9");
        let resp = Response {
            status: 200,
            headers: vec![("link".into(), "</items?page=3>; rel=\"prev next\"".into())],
            body: vec![],
        };
        assert_eq!(
            next_link(&resp, "https://x.test/a/b?c").as_deref(),
            Some("https://x.test/items?page=3")
        );
        let resp = Response {
            status: 200,
            headers: vec![("link".into(), "<p2>; rel=next".into())],
            body: vec![],
        };
        assert_eq!(
            next_link(&resp, "https://x.test/a/b").as_deref(),
            Some("https://x.test/a/p2")
        );
    }

    #[test]
    fn offset_pages_stop_on_a_short_page() {
        let p = OffsetPage::first(50);
        assert_eq!(
            p.apply("https://x.test/i?q=a b"),
            "https://x.test/i?q=a b&offset=0&limit=50"
        );
        assert_eq!(
            p.next(50),
            Some(OffsetPage {
                offset: 50,
                limit: 50
            })
        );
        assert_eq!(p.next(49), None);
    }

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_input_errors() {
        let c = encode_cursor(&OffsetPage::first(5)).unwrap();
        assert_eq!(
            decode_cursor::<OffsetPage>(Some(&c)).unwrap(),
            Some(OffsetPage::first(5))
        );
        assert_eq!(decode_cursor::<OffsetPage>(None).unwrap(), None);
        assert!(matches!(
            decode_cursor::<OffsetPage>(Some("xx")),
            Err(Error::InvalidInput(_))
        ));
        assert_eq!(percent_encode("a b&c/é"), "a%20b%26c%2F%C3%A9");
    }
}
