//! Reading one alert of the US National Weather Service API (a GeoJSON `Feature`
//! of `https://api.weather.gov/alerts/active`) and mapping it to a CAP 1.2 alert.
//!
//! | NWS `properties` | CAP 1.2 |
//! | --- | --- |
//! | `id` (a URN such as `urn:oid:2.49.0.1.840.0.…`) | `identifier` (derived when it holds characters CAP forbids, see [`cap_identifier`]) |
//! | `sender`, `sent` | `sender`, `sent` (UTC, `+00:00`) |
//! | `status`, `messageType` | `status`, `msgType` |
//! | `references[]` `{sender, identifier, sent}` | `references` |
//! | `category`, `event`, `response` | `category`, `event`, `responseType` |
//! | `urgency`, `severity`, `certainty` | the same; spellings CAP does not know become `Unknown` |
//! | `eventCode` or `parameters.eventCode` (`SAME`, `NationalWeatherService`) | `eventCode` |
//! | `effective`, `onset`, `expires` | the same |
//! | `senderName`, `headline`, `description`, `instruction` | the same |
//! | the feature's `id` (its API URL) | `web` |
//! | `parameters` (`VTEC`, `NWSheadline`, …), `ends` | `parameter` (`ends` as `eventEndingTime`) |
//! | `areaDesc`, `geocode` (`SAME`, `UGC`), `geometry` | one `area` with `areaDesc`, `geocode`s and `polygon`s |
//!
//! GeoJSON positions are `[longitude, latitude]`; CAP polygons are `latitude,longitude`
//! pairs, so every position is swapped. A `Polygon` gives one CAP polygon (its outer
//! ring: CAP has no holes), a `MultiPolygon` one per member.
//!
//! Mapping is strict where CAP cannot carry a guess — a missing or unreadable id,
//! `sent`, `sender`, `event`, `status` or `messageType`, an unreadable timestamp or
//! geometry, an `Update`/`Cancel` without references — and lenient where CAP has a
//! fallback (`Unknown` urgency, severity and certainty; category `Other`).

use airlock_sdk::cap::{
    Alert, Area, Category, Certainty, Info, MsgType, Reference, ResponseType, Scope, Severity,
    Status, Urgency,
};
use airlock_sdk::time::Timestamp;
use serde_json::{Map, Value};

use crate::state::digest;

/// The area description used when a feature has geocodes or a geometry but no
/// `areaDesc` (CAP requires one in every `<area>`).
pub const UNSPECIFIED_AREA: &str = "Unspecified area";

/// A feature that became a CAP alert, with what polling needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The CAP identifier: the NWS id when CAP accepts it, else derived from it.
    pub identifier: String,
    /// When the alert was sent.
    pub sent: Timestamp,
    /// The message type.
    pub msg_type: MsgType,
    /// The severity of the alert's `<info>`.
    pub severity: Severity,
    /// The CAP identifiers of the alerts it references.
    pub referenced: Vec<String>,
    /// The alert, already checked against the CAP rules the SDK enforces.
    pub alert: Alert,
}

/// Why a feature could not become a CAP alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipKind {
    /// A field CAP requires is missing or unreadable.
    Malformed,
    /// An `Update` or `Cancel` names no earlier alert, which CAP requires.
    MissingReferences,
}

/// A feature that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The feature's id as the feed gave it, or `feature #N` when it had none.
    pub id: String,
    /// The key the poll cursor remembers it by, so it is reported once.
    pub key: String,
    /// The kind of problem.
    pub kind: SkipKind,
    /// What is wrong, in a sentence.
    pub reason: String,
}

/// A problem found while mapping, before the feature's id is attached.
struct Problem {
    kind: SkipKind,
    reason: String,
}

impl From<String> for Problem {
    fn from(reason: String) -> Self {
        Problem {
            kind: SkipKind::Malformed,
            reason,
        }
    }
}

/// Maps the `index`-th feature of a FeatureCollection to a CAP alert whose `<info>`
/// is in `language`.
pub fn map_feature(index: usize, feature: &Value, language: &str) -> Result<Mapped, Skipped> {
    let raw_id = feature_id(feature);
    let (id, key) = match &raw_id {
        Some(raw) => (raw.clone(), cap_identifier(raw)),
        None => (
            format!("feature #{index}"),
            format!("anonymous-{}", digest(&feature.to_string())),
        ),
    };
    let skipped = |problem: Problem| Skipped {
        id: id.clone(),
        key: key.clone(),
        kind: problem.kind,
        reason: problem.reason,
    };
    if raw_id.is_none() {
        return Err(skipped(Problem::from(
            "has no `properties.id` (nor a feature `id`)".to_string(),
        )));
    }
    let Some(props) = feature.get("properties").and_then(Value::as_object) else {
        return Err(skipped(Problem::from(
            "has no `properties` object".to_string(),
        )));
    };
    build(&key, feature, props, language).map_err(skipped)
}

/// The id of a feature: `properties.id`, else the last path segment of the
/// feature's `id` (the NWS API's alert URL ends with the alert's URN).
pub fn feature_id(feature: &Value) -> Option<String> {
    let from_props = feature
        .get("properties")
        .and_then(|p| p.get("id"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|id| !id.is_empty());
    if let Some(id) = from_props {
        return Some(id.to_string());
    }
    let top = match feature.get("id")? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let last = top.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    (!last.is_empty()).then(|| last.to_string())
}

/// True when `text` is usable as a CAP `identifier` or `sender` as it is: not
/// empty, and without whitespace, commas, `<`, `&` or characters XML cannot carry.
pub fn is_valid_identifier(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(is_forbidden_in_identifier)
}

fn is_forbidden_in_identifier(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '&' | '\u{FFFE}' | '\u{FFFF}')
}

/// The CAP identifier for an NWS id: the id itself when CAP accepts it, else its
/// characters with `_` for the forbidden ones, followed by a hash of the original
/// so two different ids never collapse into one. References are mapped the same
/// way, so an Update still points at the alert it updates.
pub fn cap_identifier(raw: &str) -> String {
    if is_valid_identifier(raw) {
        return raw.to_string();
    }
    let safe: String = raw
        .chars()
        .take(160)
        .map(|c| {
            if is_forbidden_in_identifier(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("{safe}.{}", digest(raw))
}

fn build(
    identifier: &str,
    feature: &Value,
    props: &Map<String, Value>,
    language: &str,
) -> Result<Mapped, Problem> {
    let sender = required_text(props, "sender")?;
    let sent = required_time(props, "sent")?;
    let status_text = required_text(props, "status")?;
    let status = lenient(Status::ALL, |s| s.as_str(), &status_text)
        .ok_or_else(|| format!("`status` `{status_text}` is not a CAP status"))?;
    let msg_type_text = required_text(props, "messageType")?;
    let msg_type = lenient(MsgType::ALL, |m| m.as_str(), &msg_type_text)
        .ok_or_else(|| format!("`messageType` `{msg_type_text}` is not a CAP msgType"))?;
    let references = references(props)?;
    if msg_type != MsgType::Alert && references.is_empty() {
        return Err(Problem {
            kind: SkipKind::MissingReferences,
            reason: format!(
                "is a {msg_type} without `references`; CAP requires an {msg_type} to name the alert(s) it applies to"
            ),
        });
    }
    let event = required_text(props, "event")?;

    let category = text(props, "category")?
        .and_then(|c| lenient(Category::ALL, |v| v.as_str(), &c))
        .unwrap_or(Category::Other);
    let urgency = text(props, "urgency")?
        .and_then(|u| lenient(Urgency::ALL, |v| v.as_str(), &u))
        .unwrap_or(Urgency::Unknown);
    let severity = text(props, "severity")?
        .and_then(|s| lenient(Severity::ALL, |v| v.as_str(), &s))
        .unwrap_or(Severity::Unknown);
    let certainty = text(props, "certainty")?
        .and_then(|c| lenient(Certainty::ALL, |v| v.as_str(), &c))
        .unwrap_or(Certainty::Unknown);

    let mut info = Info::new([category], event, urgency, severity, certainty).language(language);
    if let Some(response) =
        text(props, "response")?.and_then(|r| lenient(ResponseType::ALL, |v| v.as_str(), &r))
    {
        info = info.response_type(response);
    }
    for (name, value) in event_codes(props) {
        info = info.event_code(name, value);
    }
    if let Some(at) = time(props, "effective")? {
        info = info.effective(at);
    }
    if let Some(at) = time(props, "onset")? {
        info = info.onset(at);
    }
    if let Some(at) = time(props, "expires")? {
        info = info.expires(at);
    }
    let ends = time(props, "ends")?;
    if let Some(name) = text(props, "senderName")? {
        info = info.sender_name(name);
    }
    if let Some(headline) = text(props, "headline")? {
        info = info.headline(headline);
    }
    if let Some(description) = text(props, "description")? {
        info = info.description(description);
    }
    if let Some(instruction) = text(props, "instruction")? {
        info = info.instruction(instruction);
    }
    if let Some(web) = web_link(feature, props) {
        info = info.web(web);
    }
    let parameters = pairs(props.get("parameters"), &["eventCode"]);
    let has_ending_time = parameters.iter().any(|(n, _)| n == "eventEndingTime");
    for (name, value) in parameters {
        info = info.parameter(name, value);
    }
    if let (Some(ends), false) = (ends, has_ending_time) {
        info = info.parameter("eventEndingTime", ends.to_cap());
    }
    if let Some(area) = area(feature, props)? {
        info = info.area(area);
    }

    let referenced = references.iter().map(|r| r.identifier.clone()).collect();
    let alert = Alert::new(identifier, sender, sent, status, msg_type, Scope::Public)
        .references(references)
        .info(info);
    alert.validate().map_err(|e| e.to_string())?;
    Ok(Mapped {
        identifier: identifier.to_string(),
        sent,
        msg_type,
        severity,
        referenced,
        alert,
    })
}

/// The CAP value spelt like `text`, ignoring case and surrounding spaces.
fn lenient<T: Copy>(all: &[T], name: impl Fn(T) -> &'static str, text: &str) -> Option<T> {
    let text = text.trim();
    all.iter()
        .copied()
        .find(|v| name(*v).eq_ignore_ascii_case(text))
}

/// A string property: `None` when absent, null or blank; an error for other types.
fn text(props: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match props.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("`{name}` is not a string but {}", kind_of(other))),
    }
}

fn required_text(props: &Map<String, Value>, name: &str) -> Result<String, String> {
    text(props, name)?.ok_or_else(|| format!("`{name}` is missing"))
}

fn time(props: &Map<String, Value>, name: &str) -> Result<Option<Timestamp>, String> {
    text(props, name)?
        .map(|t| Timestamp::parse(&t).map_err(|e| format!("`{name}`: {e}")))
        .transpose()
}

fn required_time(props: &Map<String, Value>, name: &str) -> Result<Timestamp, String> {
    time(props, name)?.ok_or_else(|| format!("`{name}` is missing"))
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn references(props: &Map<String, Value>) -> Result<Vec<Reference>, String> {
    let list = match props.get("references") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(format!(
                "`references` is not an array but {}",
                kind_of(other)
            ));
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Some(fields) = item.as_object() else {
            return Err(format!("`references[{i}]` is not an object"));
        };
        let identifier =
            required_text(fields, "identifier").map_err(|e| format!("`references[{i}]`: {e}"))?;
        let sender =
            required_text(fields, "sender").map_err(|e| format!("`references[{i}]`: {e}"))?;
        let sent = required_time(fields, "sent").map_err(|e| format!("`references[{i}]`: {e}"))?;
        out.push(Reference::new(sender, cap_identifier(&identifier), sent));
    }
    Ok(out)
}

/// `name → value(s)` pairs of an object such as `geocode` or `parameters`, in the
/// object's order; `skip` names are left out. Arrays give one pair per element;
/// numbers and booleans are written as text; nested objects are ignored.
fn pairs(value: Option<&Value>, skip: &[&str]) -> Vec<(String, String)> {
    let Some(map) = value.and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in map {
        if name.is_empty() || skip.contains(&name.as_str()) {
            continue;
        }
        let values: &[Value] = match value {
            Value::Array(items) => items,
            single => std::slice::from_ref(single),
        };
        for v in values {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            out.push((name.clone(), text));
        }
    }
    out
}

/// Event codes from `properties.eventCode` (the API's current place) and
/// `properties.parameters.eventCode`, without duplicates.
fn event_codes(props: &Map<String, Value>) -> Vec<(String, String)> {
    let mut codes = pairs(props.get("eventCode"), &[]);
    let nested = props.get("parameters").and_then(|p| p.get("eventCode"));
    for pair in pairs(nested, &[]) {
        if !codes.contains(&pair) {
            codes.push(pair);
        }
    }
    codes
}

/// The feature's `id` (the alert's API URL), else `properties.@id`, when it is an
/// absolute http(s) URL.
fn web_link(feature: &Value, props: &Map<String, Value>) -> Option<String> {
    [feature.get("id"), props.get("@id")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::trim)
        .find(|url| {
            (url.starts_with("https://") || url.starts_with("http://"))
                && !url.chars().any(char::is_whitespace)
        })
        .map(str::to_string)
}

fn area(feature: &Value, props: &Map<String, Value>) -> Result<Option<Area>, String> {
    let polygons = polygons(feature.get("geometry"))?;
    let geocodes = pairs(props.get("geocode"), &[]);
    let description = text(props, "areaDesc")?;
    if description.is_none() && polygons.is_empty() && geocodes.is_empty() {
        return Ok(None);
    }
    let mut area = Area::new(description.unwrap_or_else(|| UNSPECIFIED_AREA.to_string()));
    for ring in polygons {
        area = area.polygon(ring);
    }
    for (name, value) in geocodes {
        area = area.geocode(name, value);
    }
    Ok(Some(area))
}

/// The CAP polygons of a GeoJSON geometry, as `(latitude, longitude)` rings. Null
/// or absent geometry gives none.
pub fn polygons(geometry: Option<&Value>) -> Result<Vec<Vec<(f64, f64)>>, String> {
    let Some(geometry) = geometry.filter(|g| !g.is_null()) else {
        return Ok(Vec::new());
    };
    let kind = geometry
        .get("type")
        .and_then(Value::as_str)
        .ok_or("`geometry` has no `type`")?;
    let coordinates = geometry
        .get("coordinates")
        .ok_or("`geometry` has no `coordinates`")?;
    match kind {
        "Polygon" => Ok(vec![outer_ring(coordinates, "geometry")?]),
        "MultiPolygon" => coordinates
            .as_array()
            .ok_or("`geometry.coordinates` is not an array")?
            .iter()
            .enumerate()
            .map(|(i, polygon)| outer_ring(polygon, &format!("geometry polygon {i}")))
            .collect(),
        other => Err(format!(
            "`geometry` is a {other}; only Polygon and MultiPolygon become CAP polygons"
        )),
    }
}

/// The outer ring of a GeoJSON polygon's coordinates, swapped to `(lat, lon)`.
fn outer_ring(polygon: &Value, at: &str) -> Result<Vec<(f64, f64)>, String> {
    let ring = polygon
        .as_array()
        .and_then(|rings| rings.first())
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{at} has no outer ring"))?;
    let mut points = Vec::with_capacity(ring.len());
    for (i, position) in ring.iter().enumerate() {
        let coordinate = |n: usize| {
            position
                .as_array()
                .and_then(|p| p.get(n))
                .and_then(Value::as_f64)
        };
        let (Some(lon), Some(lat)) = (coordinate(0), coordinate(1)) else {
            return Err(format!(
                "{at}: position {i} is not a [longitude, latitude] pair"
            ));
        };
        if !((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)) {
            return Err(format!(
                "{at}: position {i} [{lon}, {lat}] is outside WGS 84 (GeoJSON order is [longitude, latitude])"
            ));
        }
        points.push((lat, lon));
    }
    if points.len() < 3 {
        return Err(format!(
            "{at}: the outer ring has {} position(s); a polygon needs at least 3",
            points.len()
        ));
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feature(props: Value, geometry: Value) -> Value {
        json!({"id": "https://api.weather.gov/alerts/x", "type": "Feature", "geometry": geometry, "properties": props})
    }

    fn base_props() -> Value {
        json!({
            "id": "urn:oid:2.49.0.1.840.0.test.001.1",
            "sender": "w-nws.webmaster@noaa.gov",
            "sent": "2025-05-06T17:42:00-05:00",
            "status": "Actual",
            "messageType": "Alert",
            "category": "Met",
            "severity": "Severe",
            "certainty": "Observed",
            "urgency": "Immediate",
            "event": "Tornado Warning",
            "areaDesc": "Somewhere, OK"
        })
    }

    fn xml_of(m: &Mapped) -> String {
        m.alert.to_xml().unwrap()
    }

    #[test]
    fn valid_ids_are_kept_and_invalid_ones_derived_distinctly() {
        let urn = "urn:oid:2.49.0.1.840.0.abc.001.1";
        assert_eq!(cap_identifier(urn), urn);
        let a = cap_identifier("NWS alert, 1 & <2>");
        let b = cap_identifier("NWS alert_ 1 & <2>");
        assert!(is_valid_identifier(&a), "{a}");
        assert!(a.starts_with("NWS_alert__1___"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, cap_identifier("NWS alert, 1 & <2>"));
        assert!(!is_valid_identifier(""));
        assert!(!is_valid_identifier("a\tb"));
    }

    #[test]
    fn the_id_falls_back_to_the_feature_url() {
        let f = json!({"id": "https://api.weather.gov/alerts/urn:oid:1.2.3", "properties": {}});
        assert_eq!(feature_id(&f).as_deref(), Some("urn:oid:1.2.3"));
        assert_eq!(feature_id(&json!({"properties": {"id": "  "}})), None);
        assert_eq!(feature_id(&json!({"id": 17})).as_deref(), Some("17"));
    }

    #[test]
    fn an_invalid_id_is_derived_and_the_alert_still_maps() {
        let mut props = base_props();
        props["id"] = json!("NWS 2025, alert #7");
        let m = map_feature(0, &feature(props, Value::Null), "en-US").unwrap();
        assert!(is_valid_identifier(&m.identifier));
        assert!(xml_of(&m).contains(&format!("<identifier>{}</identifier>", m.identifier)));
    }

    #[test]
    fn multipolygons_swap_to_lat_lon_and_bad_positions_are_refused() {
        let g = json!({"type": "MultiPolygon", "coordinates": [
            [[[-100.0, 40.0], [-99.0, 40.0], [-99.0, 41.0], [-100.0, 40.0]]],
            [[[10.5, -20.25], [11.0, -20.0], [11.0, -21.0], [10.5, -20.25]], [[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]]]
        ]});
        let rings = polygons(Some(&g)).unwrap();
        assert_eq!(rings.len(), 2);
        assert_eq!(rings[0][0], (40.0, -100.0));
        assert_eq!(rings[1][0], (-20.25, 10.5));
        // Latitude 120 can only be a swapped pair.
        let swapped = json!({"type": "Polygon", "coordinates": [[[35.0, -97.0], [35.0, 120.0], [36.0, -97.0]]]});
        let err = polygons(Some(&swapped)).unwrap_err();
        assert!(err.contains("outside WGS 84"), "{err}");
        let point = json!({"type": "Point", "coordinates": [1.0, 2.0]});
        assert!(polygons(Some(&point)).unwrap_err().contains("Point"));
        assert_eq!(
            polygons(Some(&Value::Null)).unwrap(),
            Vec::<Vec<(f64, f64)>>::new()
        );
        let short = json!({"type": "Polygon", "coordinates": [[[1.0, 2.0], [1.0, 2.5]]]});
        assert!(polygons(Some(&short)).unwrap_err().contains("at least 3"));
    }

    #[test]
    fn unknown_spellings_become_unknown_and_case_is_ignored() {
        let mut props = base_props();
        props["severity"] = json!("Catastrophic");
        props["certainty"] = json!("likely");
        props["urgency"] = json!(null);
        props["category"] = json!("Weather");
        props["response"] = json!("Panic");
        let m = map_feature(0, &feature(props, Value::Null), "en-US").unwrap();
        assert_eq!(m.severity, Severity::Unknown);
        let xml = xml_of(&m);
        for want in [
            "<severity>Unknown</severity>",
            "<certainty>Likely</certainty>",
            "<urgency>Unknown</urgency>",
            "<category>Other</category>",
        ] {
            assert!(xml.contains(want), "{want} in {xml}");
        }
        assert!(!xml.contains("<responseType>"), "{xml}");
    }

    #[test]
    fn strict_fields_make_a_feature_malformed() {
        for (field, value, expect) in [
            ("sent", json!("soon"), "`sent`"),
            ("sent", json!(null), "`sent` is missing"),
            ("status", json!("Real"), "not a CAP status"),
            ("messageType", json!("Bulletin"), "not a CAP msgType"),
            ("event", json!(42), "`event` is not a string but a number"),
            ("expires", json!("2025-13-01T00:00:00Z"), "`expires`"),
            ("sender", json!("NWS Norman"), "sender"),
        ] {
            let mut props = base_props();
            props[field] = value;
            let skip = map_feature(3, &feature(props, Value::Null), "en-US").unwrap_err();
            assert_eq!(skip.kind, SkipKind::Malformed, "{field}");
            assert_eq!(skip.id, "urn:oid:2.49.0.1.840.0.test.001.1");
            assert!(skip.reason.contains(expect), "{field}: {}", skip.reason);
        }
        let skip =
            map_feature(3, &json!({"type": "Feature", "properties": {}}), "en-US").unwrap_err();
        assert_eq!(skip.id, "feature #3");
        assert!(skip.key.starts_with("anonymous-"));
    }

    #[test]
    fn updates_and_cancels_need_references() {
        for msg_type in ["Update", "Cancel"] {
            let mut props = base_props();
            props["messageType"] = json!(msg_type);
            let skip = map_feature(0, &feature(props.clone(), Value::Null), "en-US").unwrap_err();
            assert_eq!(skip.kind, SkipKind::MissingReferences);
            props["references"] = json!([{
                "identifier": "urn:oid:earlier",
                "sender": "w-nws.webmaster@noaa.gov",
                "sent": "2025-05-06T12:00:00-05:00"
            }]);
            let m = map_feature(0, &feature(props, Value::Null), "en-US").unwrap();
            assert_eq!(m.referenced, ["urn:oid:earlier"]);
            assert!(xml_of(&m).contains(
                "<references>w-nws.webmaster@noaa.gov,urn:oid:earlier,2025-05-06T17:00:00+00:00</references>"
            ));
        }
    }

    #[test]
    fn ends_becomes_event_ending_time_unless_a_parameter_has_it() {
        let mut props = base_props();
        props["ends"] = json!("2025-05-06T19:00:00-05:00");
        let xml = xml_of(&map_feature(0, &feature(props.clone(), Value::Null), "en-US").unwrap());
        assert!(xml.contains("<parameter><valueName>eventEndingTime</valueName><value>2025-05-07T00:00:00+00:00</value></parameter>"), "{xml}");
        props["parameters"] = json!({"eventEndingTime": ["2025-05-06T19:00:00-05:00"], "maxHailSize": [1.75], "x": {"nested": true}});
        let xml = xml_of(&map_feature(0, &feature(props, Value::Null), "en-US").unwrap());
        assert_eq!(xml.matches("eventEndingTime").count(), 1, "{xml}");
        assert!(
            xml.contains("<value>2025-05-06T19:00:00-05:00</value>"),
            "{xml}"
        );
        assert!(
            xml.contains("<valueName>maxHailSize</valueName><value>1.75</value>"),
            "{xml}"
        );
        assert!(!xml.contains("nested"), "{xml}");
    }

    #[test]
    fn an_area_needs_something_to_describe() {
        let mut props = base_props();
        props.as_object_mut().unwrap().remove("areaDesc");
        let xml = xml_of(&map_feature(0, &feature(props.clone(), Value::Null), "en-US").unwrap());
        assert!(!xml.contains("<area>"), "{xml}");
        props["geocode"] = json!({"UGC": ["OKC109"]});
        let xml = xml_of(&map_feature(0, &feature(props, Value::Null), "en-US").unwrap());
        assert!(
            xml.contains(&format!("<areaDesc>{UNSPECIFIED_AREA}</areaDesc>")),
            "{xml}"
        );
    }
}
