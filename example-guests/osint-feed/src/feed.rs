//! Parsing a feed page: CSV with a header row, or JSON lines, into [`FeedRow`]s.
//!
//! Both formats carry the same fields, found by name (case-insensitive), with the
//! names abuse.ch's exports use accepted too:
//!
//! | field | names | required |
//! | --- | --- | --- |
//! | indicator value | `ioc_value`, `ioc`, `indicator`, `value`, `url` | yes |
//! | first seen (UTC) | `first_seen_utc`, `first_seen`, `dateadded`, `date_added` | yes |
//! | indicator type | `ioc_type`, `type` | no (detected from the value) |
//! | row id | `id`, `ioc_id` | no |
//! | malware family | `malware`, `malware_printable`, `signature`, or the config's `malware_family_field` | no |
//! | confidence 0-100 | `confidence`, `confidence_level` | no |
//! | reference URL | `reference`, `urlhaus_link`, `link` | no |
//!
//! CSV: the header is the first line that is not a comment; a comment line that names
//! the columns before any data (`# "first_seen_utc","ioc_id",…`, as abuse.ch writes it)
//! counts as the header too. Lines starting with `#` are comments; fields may be
//! double-quoted, with commas and doubled quotes (`""`) inside, but not line breaks.
//!
//! A row that cannot be read becomes a [`RowError`] naming its line, and the rest of
//! the page is still read. Only a page that is not a feed at all (an HTML error page,
//! a CSV without the required columns) is a [`FeedError`].

use std::fmt;

use airlock_sdk::Value;
use airlock_sdk::time::Timestamp;

use crate::config::Format;
use crate::ioc::{self, Ioc};

/// One usable row of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    /// The 1-based line the row is on.
    pub line: usize,
    /// The feed's id for the row, if it has one.
    pub id: Option<String>,
    /// When the feed first saw the indicator.
    pub first_seen: Timestamp,
    /// The indicator, read.
    pub ioc: Ioc,
    /// The malware family the feed attributes it to.
    pub malware: Option<String>,
    /// The feed's confidence, 0-100.
    pub confidence: Option<u8>,
    /// A URL with more about the row.
    pub reference: Option<String>,
}

/// A row that was skipped, or a field of a kept row that was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The 1-based line.
    pub line: usize,
    /// What was wrong, in a sentence.
    pub reason: String,
}

/// Everything read from one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedPage {
    /// The data rows the page held, usable or not (comments and blank lines excluded):
    /// the number the offset advances by.
    pub records: usize,
    /// The usable rows.
    pub rows: Vec<FeedRow>,
    /// The rows skipped, and why.
    pub skipped: Vec<RowError>,
    /// Fields dropped from kept rows (a confidence above 100, a reference that is
    /// not a URL), and why.
    pub warnings: Vec<RowError>,
}

/// Why a page is not a feed at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError {
    /// The page is HTML (an error or login page, most likely).
    Html(String),
    /// The CSV has no header row naming the required columns.
    NoHeader(String),
}

impl fmt::Display for FeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedError::Html(start) => write!(
                f,
                "the feed answered with an HTML page, not indicator rows (it starts `{start}`)"
            ),
            FeedError::NoHeader(line) => write!(
                f,
                "the CSV has no header row naming an ioc_value and a first_seen_utc column \
                 (its first row is `{line}`)"
            ),
        }
    }
}

impl std::error::Error for FeedError {}

/// The fields of a row, by meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Value,
    FirstSeen,
    IocType,
    Id,
    Malware,
    Confidence,
    Reference,
}

impl Field {
    const ALL: [Field; 7] = [
        Field::Value,
        Field::FirstSeen,
        Field::IocType,
        Field::Id,
        Field::Malware,
        Field::Confidence,
        Field::Reference,
    ];

    /// The names this field goes by, best first.
    fn names(self, malware_field: Option<&str>) -> Vec<&str> {
        match self {
            Field::Value => vec!["ioc_value", "ioc", "indicator", "value", "url"],
            Field::FirstSeen => vec!["first_seen_utc", "first_seen", "dateadded", "date_added"],
            Field::IocType => vec!["ioc_type", "type"],
            Field::Id => vec!["id", "ioc_id"],
            Field::Malware => match malware_field {
                Some(name) => vec![name.trim()],
                None => vec!["malware", "malware_printable", "signature"],
            },
            Field::Confidence => vec!["confidence", "confidence_level"],
            Field::Reference => vec!["reference", "urlhaus_link", "link"],
        }
    }
}

/// Parses one page of the feed.
pub fn parse(
    text: &str,
    format: Format,
    malware_field: Option<&str>,
) -> Result<ParsedPage, FeedError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let start = text.trim_start();
    if start.starts_with('<') {
        return Err(FeedError::Html(excerpt(start)));
    }
    match format {
        Format::Csv => parse_csv(text, malware_field),
        Format::Jsonl => Ok(parse_jsonl(text, malware_field)),
    }
}

/// The first 80 characters of the first line, for messages.
fn excerpt(text: &str) -> String {
    text.lines().next().unwrap_or("").chars().take(80).collect()
}

/// Column positions of the fields a CSV header names.
#[derive(Debug, Clone)]
struct Header {
    width: usize,
    columns: Vec<(Field, usize)>,
}

impl Header {
    /// A header if `names` include the required columns.
    fn from_names(names: &[String], malware_field: Option<&str>) -> Option<Header> {
        let normal: Vec<String> = names
            .iter()
            .map(|n| n.trim().trim_start_matches('#').trim().to_ascii_lowercase())
            .collect();
        let mut columns = Vec::new();
        for field in Field::ALL {
            let found = field.names(malware_field).into_iter().find_map(|name| {
                let name = name.to_ascii_lowercase();
                normal.iter().position(|n| *n == name)
            });
            if let Some(i) = found {
                columns.push((field, i));
            }
        }
        let has = |f: Field| columns.iter().any(|(c, _)| *c == f);
        (has(Field::Value) && has(Field::FirstSeen)).then_some(Header {
            width: names.len(),
            columns,
        })
    }

    fn get<'a>(&self, fields: &'a [String], field: Field) -> Option<&'a str> {
        let i = self.columns.iter().find(|(f, _)| *f == field)?.1;
        fields.get(i).map(String::as_str)
    }
}

fn parse_csv(text: &str, malware_field: Option<&str>) -> Result<ParsedPage, FeedError> {
    let mut page = ParsedPage::default();
    let mut header: Option<Header> = None;
    let mut comment_header: Option<Header> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(comment) = trimmed.strip_prefix('#') {
            if header.is_none()
                && let Ok(names) = split_csv_line(comment.trim())
                && let Some(h) = Header::from_names(&names, malware_field)
            {
                comment_header = Some(h);
            }
            continue;
        }
        let fields = split_csv_line(trimmed);
        if header.is_none() {
            if let Ok(names) = &fields
                && let Some(h) = Header::from_names(names, malware_field)
            {
                header = Some(h);
                continue;
            }
            // No header row: a commented one, if any, names the columns of this data.
            match comment_header.take() {
                Some(h) => header = Some(h),
                None => return Err(FeedError::NoHeader(excerpt(trimmed))),
            }
        }
        let Some(columns) = &header else {
            continue;
        };
        page.records += 1;
        let result = fields.and_then(|fields| {
            if fields.len() != columns.width {
                return Err(format!(
                    "the row has {} fields where the header names {}",
                    fields.len(),
                    columns.width
                ));
            }
            read_row(line, &mut page.warnings, |f| {
                columns.get(&fields, f).map(str::to_string)
            })
        });
        match result {
            Ok(row) => page.rows.push(row),
            Err(reason) => page.skipped.push(RowError { line, reason }),
        }
    }
    Ok(page)
}

/// Splits one CSV line into its fields. Unquoted fields are trimmed; a quoted field is
/// taken as written, with `""` read as `"`.
pub fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            ',' => {
                fields.push(finish_field(&mut field, quoted));
                quoted = false;
            }
            '"' if !quoted && field.trim().is_empty() => {
                field.clear();
                quoted = true;
                in_quotes = true;
            }
            _ if quoted => {
                if !c.is_whitespace() {
                    return Err(format!(
                        "text `{c}` follows a closing quote in field {}",
                        fields.len() + 1
                    ));
                }
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!(
            "field {} opens a quote that the line never closes",
            fields.len() + 1
        ));
    }
    fields.push(finish_field(&mut field, quoted));
    Ok(fields)
}

fn finish_field(field: &mut String, quoted: bool) -> String {
    let value = std::mem::take(field);
    if quoted {
        value
    } else {
        value.trim().to_string()
    }
}

fn parse_jsonl(text: &str, malware_field: Option<&str>) -> ParsedPage {
    let mut page = ParsedPage::default();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        page.records += 1;
        let result = match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(object)) => read_row(line, &mut page.warnings, |field| {
                field
                    .names(malware_field)
                    .into_iter()
                    .find_map(|name| json_text(object.get(name)?))
            }),
            Ok(_) => Err("the line is JSON but not an object".to_string()),
            Err(e) => Err(format!("the line is not JSON: {e}")),
        };
        match result {
            Ok(row) => page.rows.push(row),
            Err(reason) => page.skipped.push(RowError { line, reason }),
        }
    }
    page
}

/// A JSON field as text: strings as they are, numbers written out; others absent.
fn json_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Values feeds write for "nothing".
fn present(value: Option<String>) -> Option<String> {
    let value = value?.trim().to_string();
    let placeholder = ["", "none", "null", "n/a", "na", "-", "unknown"]
        .iter()
        .any(|p| value.eq_ignore_ascii_case(p));
    (!placeholder).then_some(value)
}

/// Builds a row from its fields; optional fields that do not read are dropped with a
/// warning, required ones that do not make the row an error.
fn read_row(
    line: usize,
    warnings: &mut Vec<RowError>,
    get: impl Fn(Field) -> Option<String>,
) -> Result<FeedRow, String> {
    let value = present(get(Field::Value)).ok_or("the row has no indicator value")?;
    let seen = present(get(Field::FirstSeen)).ok_or("the row has no first_seen date")?;
    let first_seen = Timestamp::parse(&seen).map_err(|e| e.to_string())?;
    let ioc = ioc::interpret(&value, present(get(Field::IocType)).as_deref())?;
    let mut warn = |reason: String| warnings.push(RowError { line, reason });

    let confidence = present(get(Field::Confidence)).and_then(|c| match c.parse::<u8>() {
        Ok(n) if n <= 100 => Some(n),
        _ => {
            warn(format!(
                "confidence `{c}` is not a whole number from 0 to 100; the row is kept without it"
            ));
            None
        }
    });
    let reference = present(get(Field::Reference)).and_then(|r| {
        if is_plain_url(&r) {
            Some(r)
        } else {
            warn(format!(
                "reference `{r}` is not an http(s) URL; the row is kept without it"
            ));
            None
        }
    });
    // STIX reserves CVE-/CAPEC- ids for references whose source is `cve`/`capec`.
    let id =
        present(get(Field::Id)).filter(|id| !id.starts_with("CVE-") && !id.starts_with("CAPEC-"));
    Ok(FeedRow {
        line,
        id,
        first_seen,
        ioc,
        malware: present(get(Field::Malware)),
        confidence,
        reference,
    })
}

/// An http(s) URL whose characters RFC 3986 allows unescaped.
pub fn is_plain_url(text: &str) -> bool {
    let lower = text
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let scheme = lower.starts_with("https://") || lower.starts_with("http://");
    let chars_ok = text
        .chars()
        .all(|c| c.is_ascii_graphic() && !"\"<>\\^`{|}".contains(c));
    let bytes = text.as_bytes();
    let escapes_ok = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    scheme && chars_ok && escapes_ok && airlock_sdk::http::Origin::of_url(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_split_with_quotes_and_commas() {
        let f = split_csv_line(r#"1, "a, b" ,"say ""hi""",,plain text "#).unwrap();
        assert_eq!(f, ["1", "a, b", r#"say "hi""#, "", "plain text"]);
        assert_eq!(split_csv_line("").unwrap(), [""]);
        assert!(
            split_csv_line(r#"1,"open"#)
                .unwrap_err()
                .contains("field 2")
        );
        assert!(split_csv_line(r#""a"b,c"#).is_err());
        assert_eq!(split_csv_line(r#"a"b,c"#).unwrap(), [r#"a"b"#, "c"]);
    }

    #[test]
    fn a_commented_header_like_abuse_ch_s_is_used() {
        let text = "################\n\
                    # ThreatFox IOCs: recent\n\
                    # \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"malware_printable\",\"confidence_level\"\n\
                    #\n\
                    \"2024-03-01 00:00:01\", \"1\", \"198.51.100.4:443\", \"ip:port\", \"Cobalt Strike\", \"75\"\n";
        let page = parse(text, Format::Csv, None).unwrap();
        assert_eq!((page.records, page.rows.len()), (1, 1), "{page:?}");
        let row = &page.rows[0];
        assert_eq!(row.line, 5);
        assert_eq!(row.malware.as_deref(), Some("Cobalt Strike"));
        assert_eq!(row.confidence, Some(75));
        assert_eq!(row.id.as_deref(), Some("1"));
        assert_eq!(row.ioc.port, Some(443));
    }

    #[test]
    fn bad_rows_are_skipped_by_line_and_bad_fields_dropped() {
        let text = "id,first_seen_utc,ioc_value,malware,confidence,reference\r\n\
                    1,2024-03-01 00:00:00,evil.example,None,150,not a url\r\n\
                    2,yesterday,evil.example,,,\r\n\
                    3,2024-03-01 00:00:00,not an indicator,,,\r\n\
                    4,2024-03-01 00:00:00,evil.example\r\n\
                    5,2024-03-01 00:00:00,\"evil.example,,,\r\n";
        let page = parse(text, Format::Csv, None).unwrap();
        assert_eq!(page.records, 5);
        assert_eq!(page.rows.len(), 1);
        let row = &page.rows[0];
        assert_eq!(
            (row.malware.clone(), row.confidence, row.reference.clone()),
            (None, None, None)
        );
        assert_eq!(page.warnings.len(), 2);
        let lines: Vec<usize> = page.skipped.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        assert!(page.skipped[0].reason.contains("yesterday"));
        assert!(
            page.skipped[2]
                .reason
                .contains("3 fields where the header names 6")
        );
    }

    #[test]
    fn html_and_headerless_pages_are_not_feeds() {
        let html = "\n  <!DOCTYPE html><html><body>502 Bad Gateway</body></html>";
        assert!(matches!(
            parse(html, Format::Csv, None),
            Err(FeedError::Html(_))
        ));
        assert!(matches!(
            parse(html, Format::Jsonl, None),
            Err(FeedError::Html(_))
        ));
        let err = parse("a,b,c\n1,2,3\n", Format::Csv, None).unwrap_err();
        assert!(err.to_string().contains("`a,b,c`"), "{err}");
        let empty = parse("# nothing today\n\n", Format::Csv, None).unwrap();
        assert_eq!(empty, ParsedPage::default());
    }

    #[test]
    fn json_lines_take_numbers_and_skip_junk() {
        let text = "{\"id\": 7, \"first_seen\": \"2024-03-01 00:00:00\", \"ioc\": \"198.51.100.9\", \"confidence_level\": 50, \"family\": \"Mirai\"}\n\
                    [1,2]\n\
                    not json\n\
                    # comment\n";
        let page = parse(text, Format::Jsonl, Some("family")).unwrap();
        assert_eq!(
            (page.records, page.rows.len(), page.skipped.len()),
            (3, 1, 2)
        );
        let row = &page.rows[0];
        assert_eq!(row.id.as_deref(), Some("7"));
        assert_eq!(row.confidence, Some(50));
        assert_eq!(row.malware.as_deref(), Some("Mirai"));
        assert_eq!(page.skipped[0].line, 2);
    }

    #[test]
    fn references_must_be_plain_http_urls() {
        assert!(is_plain_url("https://feeds.example.org/ioc/1?x=1"));
        assert!(!is_plain_url("ftp://feeds.example.org/"));
        assert!(!is_plain_url("https://feeds.example.org/a b"));
        assert!(!is_plain_url("https://feeds.example.org/{x}"));
        assert!(!is_plain_url("https://"));
        assert!(is_plain_url("https://feeds.example.org/a%20b"));
        assert!(!is_plain_url("https://feeds.example.org/a%zz"));
    }
}
