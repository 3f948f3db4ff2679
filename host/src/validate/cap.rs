//! CAP 1.2 (OASIS Common Alerting Protocol): one `<alert>`, in three steps.
//!
//! 1. **A safe parse.** The bytes are decoded by their byte-order mark or XML
//!    declaration (`encoding`: an unknown label or bytes the encoding cannot carry),
//!    then any DOCTYPE is refused before a parser sees it (`xml-dtd`: so no entity
//!    is declared, expanded or fetched — the XXE sample of `shared/standards` stops
//!    here); libxml2 parses the rest, or says where it is not well-formed (`xml`).
//!    A root in the CAP 1.0/1.1 namespace is the wrong version (`cap-version`), any
//!    other root is not CAP (`schema`).
//! 2. **Structure** — the official CAP 1.2 XSD, embedded, applied by libxml2
//!    (`validate/xml/libxml.rs`): element order and cardinality, enumerations, the `dateTime`
//!    pattern (no `Z`, no fractions), `xs:decimal`, `xs:anyURI`, `xs:language`.
//!    Rule `schema`, with libxml2's sentence and an XPath-like path.
//! 3. **Semantics** — the specification's rules no XSD states:
//!    - `identifier-characters`: `identifier`, `sender` and the parts of each
//!      reference are non-empty and free of whitespace, commas, `<` and `&` (§3.2.1);
//!    - `references-required`: `Update`, `Cancel`, `Ack` and `Error` name the
//!      message(s) they act on; `references-format`: every entry is
//!      `sender,identifier,sent` with `sent` a CAP date-time, and the element is
//!      not empty;
//!    - `restriction-required` (scope `Restricted`), `addresses-required` (scope
//!      `Private`);
//!    - `list-quotes`: `addresses` and `incidents` are space-separated lists whose
//!      quoted entries close;
//!    - `polygon-format`, `polygon-points` (≥ 4 pairs), `polygon-closed` (first
//!      pair = last), `circle-format` (`lat,lon radius`, radius ≥ 0) and
//!      `coordinate-range` (WGS 84: latitude ±90, longitude ±180);
//!    - `ceiling-without-altitude`, `ceiling-below-altitude`;
//!    - `web-absolute`: `web` is a full absolute URI;
//!    - `digest-format` (a SHA-1: 40 hex digits), `deref-uri-base64`,
//!      `resource-size` (not negative).
//!
//!    Warnings: `empty-element` (an optional element present but empty says
//!    nothing) and `time-order` (`expires` before `sent`, `effective` or `onset`).
//!
//! Semantic rules run even when the schema step failed, and never assume the schema
//! held: a missing element is simply not checked.

use super::Report;
use super::xml::{self, Schema, Tree};

/// The CAP 1.2 namespace.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";
/// Older CAP namespaces, recognised to say "wrong version" rather than "not CAP".
const OLDER: &[(&str, &str)] = &[
    ("urn:oasis:names:tc:emergency:cap:1.1", "1.1"),
    ("http://www.incident.com/cap/1.0", "1.0"),
    ("urn:oasis:names:tc:emergency:cap:1.0", "1.0"),
];

/// Validates one CAP 1.2 document.
pub fn validate_bytes(bytes: &[u8]) -> Report {
    let mut report = Report::default();
    let is_cap12 = |name: &str, ns: Option<&str>| {
        (name == "alert" && ns == Some(NAMESPACE)).then_some(Schema::Cap12)
    };
    xml::check(bytes, &mut report, is_cap12, |tree, is_alert, report| {
        if is_alert {
            check_alert(View { tree, id: 0 }, report);
        } else {
            wrong_root(tree, report);
        }
    });
    report.finish()
}

/// The root is not a CAP 1.2 `alert`: an older CAP, or not CAP at all.
fn wrong_root(tree: &Tree, report: &mut Report) {
    let (name, ns) = tree.root();
    match OLDER.iter().find(|(older, _)| ns == Some(older)) {
        Some((older, version)) => report.error(
            "/",
            "cap-version",
            format!(
                "This is a CAP {version} document (namespace {older}); only CAP 1.2 \
                 ({NAMESPACE}) is accepted."
            ),
        ),
        None => report.error(
            format!("/{name}"),
            "schema",
            format!(
                "The root element is `{name}` in namespace {}; a CAP 1.2 document is an \
                 `alert` in namespace {NAMESPACE}.",
                ns.unwrap_or("(none)")
            ),
        ),
    }
}

/// An element of the tree, with the lookups the rules use.
#[derive(Clone, Copy)]
struct View<'t> {
    tree: &'t Tree<'t>,
    id: usize,
}

impl<'t> View<'t> {
    /// The CAP children called `name`.
    fn kids(self, name: &'static str) -> impl Iterator<Item = View<'t>> {
        let tree = self.tree;
        let children: &'t [usize] = tree
            .elements
            .get(self.id)
            .map(|e| e.children.as_slice())
            .unwrap_or(&[]);
        children
            .iter()
            .filter(move |c| {
                tree.elements
                    .get(**c)
                    .is_some_and(|e| e.name == name && e.namespace == Some(NAMESPACE))
            })
            .map(move |c| View { tree, id: *c })
    }

    fn first(self, name: &'static str) -> Option<View<'t>> {
        self.kids(name).next()
    }

    /// The element's own text, trimmed.
    /// The element's own text as written (identifiers are `xs:string`: their
    /// whitespace counts).
    fn raw_text(self) -> &'t str {
        self.tree
            .elements
            .get(self.id)
            .map(|e| e.text.as_ref())
            .unwrap_or("")
    }

    fn text(self) -> &'t str {
        self.tree
            .elements
            .get(self.id)
            .map(|e| e.text.trim())
            .unwrap_or("")
    }

    fn has_children(self) -> bool {
        self.tree
            .elements
            .get(self.id)
            .is_some_and(|e| !e.children.is_empty())
    }

    /// `/alert/info[2]/area/polygon`, the shape schema errors use.
    fn path(self) -> String {
        self.tree.path(self.id)
    }
}

/// The characters §3.2.1 forbids in identifiers and senders.
fn bad_id_char(c: char) -> bool {
    c.is_whitespace() || c == ',' || c == '<' || c == '&'
}

fn check_alert(alert: View, r: &mut Report) {
    for name in ["identifier", "sender"] {
        if let Some(node) = alert.first(name) {
            let value = node.raw_text();
            if value.is_empty() {
                r.error(
                    node.path(),
                    "identifier-characters",
                    format!("`{name}` is empty."),
                );
            } else if let Some(c) = value.chars().find(|c| bad_id_char(*c)) {
                r.error(
                    node.path(),
                    "identifier-characters",
                    format!(
                        "`{name}` contains {c:?}; CAP forbids spaces, commas, `<` and `&` in it."
                    ),
                );
            }
        }
    }

    let msg_type = alert.first("msgType").map(View::text).unwrap_or_default();
    let references = alert.first("references");
    let listed = references.map(View::text).unwrap_or_default();
    let verb = match msg_type {
        "Update" => Some("updates"),
        "Cancel" => Some("cancels"),
        "Ack" => Some("acknowledges"),
        "Error" => Some("rejects"),
        _ => None,
    };
    match (verb, references) {
        (Some(verb), _) if listed.is_empty() => r.error(
            references
                .map(View::path)
                .unwrap_or_else(|| "/alert".into()),
            "references-required",
            format!(
                "A msgType {msg_type} message must list the message(s) it {verb} in \
                 `references` (sender,identifier,sent …)."
            ),
        ),
        (None, Some(node)) if listed.is_empty() => r.error(
            node.path(),
            "references-format",
            "`references` is empty; leave it out or list sender,identifier,sent entries.",
        ),
        _ => {}
    }
    if let Some(node) = references {
        for entry in listed.split_whitespace() {
            check_reference(node, entry, r);
        }
    }

    match alert.first("scope").map(View::text) {
        Some("Restricted")
            if alert
                .first("restriction")
                .map(View::text)
                .unwrap_or_default()
                .is_empty() =>
        {
            r.error(
                "/alert",
                "restriction-required",
                "Scope Restricted needs a non-empty `restriction` saying who may see the alert.",
            );
        }
        Some("Private")
            if alert
                .first("addresses")
                .map(View::text)
                .unwrap_or_default()
                .is_empty() =>
        {
            r.error(
                "/alert",
                "addresses-required",
                "Scope Private needs a non-empty `addresses` listing the recipients.",
            );
        }
        _ => {}
    }

    for name in ["addresses", "incidents"] {
        if let Some(node) = alert.first(name)
            && node.text().matches('"').count() % 2 == 1
        {
            r.error(
                node.path(),
                "list-quotes",
                format!(
                    "`{name}` has a quote that does not close; entries containing spaces \
                         are enclosed in double quotes."
                ),
            );
        }
    }
    warn_empty(
        alert,
        &["source", "restriction", "addresses", "note", "incidents"],
        r,
    );

    let sent = alert.first("sent").and_then(|n| cap_datetime(n.text()));
    for info in alert.kids("info") {
        check_info(info, sent, r);
    }
}

fn warn_empty(parent: View, names: &[&'static str], r: &mut Report) {
    for name in names {
        for node in parent.kids(name) {
            if node.text().is_empty() && !node.has_children() {
                r.warning(
                    node.path(),
                    "empty-element",
                    format!("`{name}` is present but empty; leave it out instead."),
                );
            }
        }
    }
}

fn check_reference(node: View, entry: &str, r: &mut Report) {
    let parts: Vec<&str> = entry.split(',').collect();
    let [sender, identifier, sent] = parts.as_slice() else {
        r.error(
            node.path(),
            "references-format",
            format!(
                "Reference {entry:?} has {} comma-separated parts; each is sender,identifier,sent.",
                parts.len()
            ),
        );
        return;
    };
    for (what, value) in [("sender", sender), ("identifier", identifier)] {
        if value.is_empty() || value.contains(bad_id_char) {
            r.error(
                node.path(),
                "identifier-characters",
                format!("Reference {entry:?} has an empty or malformed {what}."),
            );
        }
    }
    if cap_datetime(sent).is_none() {
        r.error(
            node.path(),
            "references-format",
            format!(
                "Reference {entry:?}: {sent:?} is not a CAP date-time (YYYY-MM-DDThh:mm:ss±hh:mm)."
            ),
        );
    }
}

fn check_info(info: View, sent: Option<i64>, r: &mut Report) {
    warn_empty(
        info,
        &[
            "audience",
            "senderName",
            "headline",
            "description",
            "instruction",
            "web",
            "contact",
        ],
        r,
    );
    let at = |name: &'static str| info.first(name).and_then(|n| cap_datetime(n.text()));
    if let (Some(expires_node), Some(expires)) = (info.first("expires"), at("expires")) {
        for (name, when) in [
            ("sent", sent),
            ("effective", at("effective")),
            ("onset", at("onset")),
        ] {
            if when.is_some_and(|t| expires < t) {
                r.warning(
                    expires_node.path(),
                    "time-order",
                    format!(
                        "`expires` is earlier than `{name}`: the alert expires before it applies."
                    ),
                );
            }
        }
    }
    if let Some(web) = info.first("web") {
        let uri = web.text();
        if !uri.is_empty() && !is_absolute_uri(uri) {
            r.error(
                web.path(),
                "web-absolute",
                format!("`web` must be a full absolute URI (with a scheme); {uri:?} is not."),
            );
        }
    }
    for resource in info.kids("resource") {
        check_resource(resource, r);
    }
    for area in info.kids("area") {
        check_area(area, r);
    }
}

fn check_resource(resource: View, r: &mut Report) {
    if let Some(digest) = resource.first("digest") {
        let value = digest.text();
        if value.len() != 40 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            r.error(
                digest.path(),
                "digest-format",
                "`digest` must be the SHA-1 of the resource: 40 hexadecimal digits.",
            );
        }
    }
    if let Some(deref) = resource.first("derefUri") {
        let value: String = deref.text().split_whitespace().collect();
        use base64::Engine as _;
        if value.is_empty()
            || base64::engine::general_purpose::STANDARD
                .decode(&value)
                .is_err()
        {
            r.error(
                deref.path(),
                "deref-uri-base64",
                "`derefUri` must carry the resource as base64 data.",
            );
        }
    }
    if let Some(size) = resource.first("size") {
        let value = size.text();
        if value.starts_with('-') && value.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
            r.error(
                size.path(),
                "resource-size",
                "`size` (in bytes) cannot be negative.",
            );
        }
    }
}

fn check_area(area: View, r: &mut Report) {
    for polygon in area.kids("polygon") {
        check_polygon(polygon, r);
    }
    for circle in area.kids("circle") {
        let value = circle.text();
        let parts: Vec<&str> = value.split_whitespace().collect();
        let radius = parts.get(1).and_then(|s| s.parse::<f64>().ok());
        let centre = parts.first().and_then(|p| point(p));
        match (parts.len(), centre, radius) {
            (2, Some(_), Some(radius)) if radius.is_finite() && radius >= 0.0 => {
                check_range(circle, parts[0], r);
            }
            _ => r.error(
                circle.path(),
                "circle-format",
                format!(
                    "Circle {value:?} is not `lat,lon radius` (WGS 84 decimal degrees, a radius \
                     in kilometres that is zero or more)."
                ),
            ),
        }
    }
    let decimal = |name: &'static str| {
        area.first(name)
            .map(|n| (n, n.text().parse::<f64>().ok().filter(|v| v.is_finite())))
    };
    if let Some((ceiling_node, ceiling)) = decimal("ceiling") {
        match decimal("altitude") {
            None => r.error(
                ceiling_node.path(),
                "ceiling-without-altitude",
                "`ceiling` may only be used together with `altitude`.",
            ),
            Some((_, Some(altitude))) if ceiling.is_some_and(|c| c < altitude) => r.error(
                ceiling_node.path(),
                "ceiling-below-altitude",
                "`ceiling` is below `altitude`: the area's top is under its bottom.",
            ),
            _ => {}
        }
    }
}

fn check_polygon(polygon: View, r: &mut Report) {
    // A 0.9 MB alert is mostly one polygon: one pass over the bytes, nothing
    // allocated per point; plain decimals are judged digit by digit.
    let text = polygon.text();
    let bytes = text.as_bytes();
    let mut count = 0usize;
    let (mut first, mut last) = ("", "");
    let mut off_globe = false;
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        let fast = plain_pair(&bytes[i..]);
        let within = match fast {
            Some((len, within)) => {
                i += len;
                within
            }
            None => {
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                let pair = text.get(start..i).unwrap_or("");
                let parsed = pair
                    .split_once(',')
                    .and_then(|(lat, lon)| Some(in_range(lat, 90)? && in_range(lon, 180)?));
                match parsed {
                    Some(within) => within,
                    None => return polygon_format(polygon, pair, r),
                }
            }
        };
        let pair = text.get(start..i).unwrap_or("");
        // One finding per polygon: a 20 000-point ring off the globe is one mistake.
        if !within && !off_globe {
            off_globe = true;
            off_the_globe(polygon, pair, r);
        }
        if count == 0 {
            first = pair;
        }
        last = pair;
        count += 1;
    }
    if count < 4 {
        r.error(
            polygon.path(),
            "polygon-points",
            format!(
                "A polygon needs at least 4 coordinate pairs (a closed triangle); this one has {count}."
            ),
        );
    }
    if count > 0 && first != last && point(first) != point(last) {
        r.error(
            polygon.path(),
            "polygon-closed",
            "A polygon's first and last coordinate pairs must be the same (a closed ring).",
        );
    }
}

/// A plain `lat,lon` pair (`-?d+(.d+)?` twice) at the start of `b`, ending at
/// whitespace or the end: its length and whether it lies on the globe. `None`
/// for anything else, which the float parser then judges.
fn plain_pair(b: &[u8]) -> Option<(usize, bool)> {
    let (lat_end, lat_ok) = plain_number(b, 0, 90)?;
    if lat_end >= b.len() || b[lat_end] != b',' {
        return None;
    }
    let (end, lon_ok) = plain_number(b, lat_end + 1, 180)?;
    if end < b.len() && !b[end].is_ascii_whitespace() {
        return None;
    }
    Some((end, lat_ok && lon_ok))
}

/// `-?d+(.d+)?` from `b[i]`: where it ends and whether |value| ≤ `limit`.
fn plain_number(b: &[u8], mut i: usize, limit: u64) -> Option<(usize, bool)> {
    if i < b.len() && b[i] == b'-' {
        i += 1;
    }
    let digits = i;
    let mut whole: u64 = 0;
    while i < b.len() {
        let d = b[i].wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        whole = whole.saturating_mul(10).saturating_add(u64::from(d));
        i += 1;
    }
    if i == digits {
        return None;
    }
    let mut fraction = false;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() {
            let d = b[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            fraction |= d != 0;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    Some((i, whole < limit || (whole == limit && !fraction)))
}

fn polygon_format(polygon: View, pair: &str, r: &mut Report) {
    r.error(
        polygon.path(),
        "polygon-format",
        format!("Polygon point {pair:?} is not `lat,lon` in decimal degrees."),
    );
}

/// Whether a decimal-degree number lies within ±`limit`; `None` when it is not a
/// finite number. Plain decimals (`-12.345`) are judged digit by digit, anything
/// else (`1e1`, `+5.`) by the float parser.
fn in_range(number: &str, limit: u64) -> Option<bool> {
    let digits = number.strip_prefix('-').unwrap_or(number);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !int.is_empty()
        && int.len() <= 18
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (frac.is_empty() || !digits.ends_with('.'));
    if !plain {
        let value: f64 = number.parse().ok().filter(|v: &f64| v.is_finite())?;
        return Some(value.abs() <= limit as f64);
    }
    let whole: u64 = int.parse().ok()?;
    Some(whole < limit || (whole == limit && frac.bytes().all(|b| b == b'0')))
}

/// `lat,lon` as two finite numbers.
fn point(pair: &str) -> Option<(f64, f64)> {
    let (lat, lon) = pair.split_once(',')?;
    let lat: f64 = lat.parse().ok()?;
    let lon: f64 = lon.parse().ok()?;
    (lat.is_finite() && lon.is_finite()).then_some((lat, lon))
}

/// Reports a `lat,lon` point off the WGS 84 ranges, judged digit by digit as
/// polygons are (a float would round 90.000…01 to 90).
fn check_range(node: View, pair: &str, r: &mut Report) {
    let within = pair
        .split_once(',')
        .and_then(|(lat, lon)| Some(in_range(lat, 90)? && in_range(lon, 180)?));
    if within == Some(false) {
        off_the_globe(node, pair, r);
    }
}

fn off_the_globe(node: View, pair: &str, r: &mut Report) {
    r.error(
        node.path(),
        "coordinate-range",
        format!("Point {pair} is off the globe: latitude must be within ±90, longitude ±180."),
    );
}

/// `scheme:rest` with an RFC 3986 scheme.
fn is_absolute_uri(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// A CAP date-time (`YYYY-MM-DDThh:mm:ss±hh:mm`) as seconds since 1970 UTC.
pub(crate) fn cap_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 25 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || !matches!(b[19], b'+' | b'-') || b[22] != b':' {
        return None;
    }
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = s.get(from..from + len)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let (tz_hour, tz_minute) = (num(20, 2)?, num(23, 2)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if year == 0 || day == 0 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if tz_hour > 14 || tz_minute > 59 || (tz_hour == 14 && tz_minute > 0) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let offset = (tz_hour * 3600 + tz_minute * 60) * if b[19] == b'-' { -1 } else { 1 };
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_datetimes_parse_with_their_offset() {
        assert_eq!(cap_datetime("1970-01-01T00:00:00-00:00"), Some(0));
        assert_eq!(cap_datetime("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            cap_datetime("2024-02-29T00:00:00+00:00"),
            Some(1_709_164_800)
        );
        for bad in [
            "2023-02-29T00:00:00+00:00",
            "2024-13-01T00:00:00+00:00",
            "2024-01-01T24:00:00+00:00",
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00.5+00:00",
            "2024-01-01T00:00:00+15:00",
            "0000-01-01T00:00:00+00:00",
        ] {
            assert_eq!(cap_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_doctype_of_any_kind_is_refused() {
        for doc in [
            "<!DOCTYPE alert><alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>",
            "<!DOCTYPE alert SYSTEM 'http://x/y.dtd'><alert/>",
            "<!DOCTYPE alert [<!ENTITY a 'b'>]><alert/>",
        ] {
            let r = validate_bytes(doc.as_bytes());
            assert_eq!(r.errors[0].rule, "xml-dtd", "{doc}: {r:?}");
        }
        let r = validate_bytes(b"<!-- <!DOCTYPE x> --><alert/>");
        assert_ne!(r.errors[0].rule, "xml-dtd");
    }

    const ALERT: &str = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>ID</identifier><sender>s@example</sender><sent>2026-01-01T00:00:00-00:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope><info><category>Met</category><event>e</event><urgency>Past</urgency><severity>Minor</severity><certainty>Likely</certainty><area><areaDesc>a</areaDesc><polygon>POLY</polygon></area></info></alert>"#;

    fn rules(doc: &str) -> Vec<(String, String)> {
        validate_bytes(doc.as_bytes())
            .errors
            .into_iter()
            .map(|e| (e.rule, e.message))
            .collect()
    }

    #[test]
    fn whitespace_around_an_identifier_is_whitespace_in_it() {
        let doc = ALERT
            .replace(">ID<", "> ID <")
            .replace("POLY", "1,1 2,2 3,1 1,1");
        let found = rules(&doc);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, "identifier-characters");
    }

    #[test]
    fn a_point_just_past_the_pole_is_off_the_globe_whatever_a_float_rounds_it_to() {
        let doc = ALERT.replace("ID<", "ID2<").replace(
            "POLY",
            "90.0000000000000000001,0 100,0 89,1 90.0000000000000000001,0",
        );
        let found = rules(&doc);
        assert_eq!(found.len(), 1, "one finding per polygon: {found:?}");
        assert_eq!(found[0].0, "coordinate-range");
        assert!(found[0].1.contains("90.0000000000000000001,0"), "{found:?}");
        let circle = ALERT.replace("<polygon>POLY</polygon>", "<circle>-90.5,0 1</circle>");
        assert_eq!(rules(&circle)[0].0, "coordinate-range");
    }

    #[test]
    fn paths_of_many_siblings_stay_cheap_and_right() {
        // 50 000 empty `note`s: one warning each, each path numbered right (and
        // computed in O(depth), no longer by walking every sibling).
        let notes = "<note/>".repeat(50_000);
        let doc = ALERT
            .replace(
                "<scope>Public</scope>",
                &format!("<scope>Public</scope>{notes}"),
            )
            .replace("POLY", "1,1 2,2 3,1 1,1");
        let r = validate_bytes(doc.as_bytes());
        assert_eq!(r.warnings.len(), 50_000);
        assert_eq!(r.warnings[49_999].path, "/alert/note[50000]");
    }
}
