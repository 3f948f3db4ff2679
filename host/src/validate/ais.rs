//! AIS (ITU-R M.1371 carried in IEC 61162-1 / NMEA 0183): either the sentences
//! themselves or the JSON reports decoded from them — whichever a document is
//! (a JSON document starts with `{` or `[`, or is any other JSON value).
//!
//! **Sentences**, one per line (blank lines and `#` comments skipped), through the
//! SDK's decoder ([`airlock_sdk::ais`], the one the `ais-decoder` example runs):
//!
//! - `nmea-syntax`: not an NMEA sentence, a line too long, the wrong number of
//!   fields, a field that does not parse; `checksum`: missing, malformed or wrong;
//!   `tag-block`: a malformed NMEA 4.10 tag block or its checksum; `talker`: an
//!   unknown AIS talker; `not-ais`: a valid NMEA sentence that is not `VDM`/`VDO`;
//!   `fill-bits`: outside 0–5;
//! - `armor`: a payload character outside the 6-bit alphabet; `payload-length`: an
//!   empty or oversized payload;
//! - `fragment`: fragment numbers out of range or out of order, a fragment without
//!   its first, or a message whose fragments never all arrived;
//! - `message-length`: a payload too short for its message type;
//!   `message-type`: a type ITU-R M.1371 does not define (0, 28–63);
//!   `message-structure`: a reserved value the type forbids (e.g. type 24 part 2);
//! - then every decoded message is checked as a report (below).
//!
//! **Reports** (an object, or an array of them), the field names and units of
//! gpsd's scaled AIS JSON as the decoder writes them:
//!
//! - `json`, `report-shape` (not an object); `required-field`: `type` and `mmsi`,
//!   and `lat`/`lon` for position reports; `field-type`: a number where text
//!   belongs or the reverse; `message-type`: `type` outside 1–27;
//! - `field-range`: a value outside what its field can mean — MMSIs of 9 digits,
//!   latitude ±90 (91 = not available), longitude ±180 (181), speed 0–102.3 knots
//!   (whole knots up to 1023 for type 9, up to 63 for type 27), course 0–359.9
//!   (360), heading 0–359 (511), rate of turn ±720°/min, navigation status 0–15,
//!   manoeuvre 0–2, repeat 0–3, date and time fields, the ETA, draught 0–25.5 m,
//!   dimensions, altitude;
//! - `sixbit-text`: names, call signs, destinations and texts use only the 6-bit
//!   character set (upper-case letters, digits, space and ASCII punctuation).
//!
//! Warnings: `unknown-field` (a field no AIS message has; gpsd's `class`,
//! `device` and `scaled` are known) and `sentinel` is not used: "not available"
//! values are valid data.

use airlock_sdk::ais::{self, DecodeError, Reassembler};
use serde_json::{Map, Value};

use super::Report;

/// Validates one AIS document: NMEA sentences, or JSON reports.
pub fn validate_bytes(bytes: &[u8]) -> Report {
    let mut report = Report::default();
    let Ok(text) = std::str::from_utf8(bytes) else {
        report.error(
            "/",
            "nmea-syntax",
            "The document is not text: NMEA sentences are ASCII and reports are JSON.",
        );
        return report.finish();
    };
    match text.trim_start().chars().next() {
        Some('{' | '[') => check_json(text, &mut report),
        // A bare JSON value (`42`, `"…"`) is JSON too, just not a report.
        Some(_) if serde_json::from_str::<Value>(text).is_ok() => check_json(text, &mut report),
        Some(_) => check_sentences(text, &mut report),
        None => report.error("/", "nmea-syntax", "The document is empty."),
    }
    report.finish()
}

/// Lines of sentences, reassembled and decoded.
fn check_sentences(text: &str, r: &mut Report) {
    // Validation reads a whole document at once: hold every partial message it
    // may contain and never age one out.
    let mut reassembler = Reassembler::with_limits(ais::HARD_MAX_PARTIALS, u64::MAX);
    let mut messages = 0usize;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("/line/{}", index + 1);
        let sentence = match ais::parse_sentence(line) {
            Ok(sentence) => sentence,
            Err(e) => {
                decode_error(&at, &e, r);
                continue;
            }
        };
        match reassembler.push(sentence) {
            Ok(None) => {}
            Ok(Some(message)) => {
                messages += 1;
                match ais::decode_message(&message) {
                    Ok(decoded) => match serde_json::to_value(&decoded) {
                        Ok(Value::Object(fields)) => check_report(&at, &fields, r),
                        _ => r.error(
                            &at,
                            "message-structure",
                            "The decoded message has no fields.",
                        ),
                    },
                    Err(e) => decode_error(&at, &e, r),
                }
            }
            Err(e) => decode_error(&at, &e, r),
        }
    }
    if reassembler.dropped() > 0 {
        r.error(
            "/",
            "fragment",
            format!(
                "{} multi-sentence message(s) were abandoned: a new first fragment replaced \
                 them before they were complete.",
                reassembler.dropped()
            ),
        );
    }
    if reassembler.pending() > 0 {
        r.error(
            "/",
            "fragment",
            format!(
                "{} multi-sentence message(s) never received all their fragments.",
                reassembler.pending()
            ),
        );
    }
    if messages == 0 && r.errors.is_empty() {
        r.error("/", "nmea-syntax", "The document holds no AIS sentence.");
    }
}

/// One decoder error as a finding, with its rule.
fn decode_error(at: &str, e: &DecodeError, r: &mut Report) {
    let rule = match e {
        DecodeError::EmptyLine
        | DecodeError::LineTooLong { .. }
        | DecodeError::NotNmea { .. }
        | DecodeError::WrongFieldCount { .. } => "nmea-syntax",
        DecodeError::BadField { field, .. } if field.contains("fill") => "fill-bits",
        DecodeError::BadField { .. } => "nmea-syntax",
        DecodeError::NotAis { .. } => "not-ais",
        DecodeError::UnknownTalker { .. } => "talker",
        DecodeError::MissingChecksum
        | DecodeError::BadChecksumFormat { .. }
        | DecodeError::BadChecksum { .. } => "checksum",
        DecodeError::BadTagBlock { .. } | DecodeError::BadTagBlockChecksum { .. } => "tag-block",
        DecodeError::FragmentNumberOutOfRange { .. }
        | DecodeError::OrphanFragment { .. }
        | DecodeError::FragmentOutOfOrder { .. } => "fragment",
        DecodeError::BadArmoring { .. } => "armor",
        DecodeError::PayloadTooLong { .. } | DecodeError::EmptyPayload => "payload-length",
        DecodeError::PayloadTooShort { .. } => "message-length",
        DecodeError::UnsupportedType { .. } => "message-type",
        DecodeError::Invalid { .. } => "message-structure",
    };
    r.error(at, rule, sentence(&e.to_string()));
}

/// The decoder's clause as a sentence: capitalised, with a full stop.
fn sentence(clause: &str) -> String {
    let mut chars = clause.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn check_json(text: &str, r: &mut Report) {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            r.error("/", "json", format!("The document is not JSON: {e}."));
            return;
        }
    };
    match &value {
        Value::Object(fields) => check_report("", fields, r),
        Value::Array(items) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Object(fields) => check_report(&format!("/{i}"), fields, r),
                    _ => r.error(
                        format!("/{i}"),
                        "report-shape",
                        "Each report is a JSON object.",
                    ),
                }
            }
        }
        _ => r.error(
            "/",
            "report-shape",
            "An AIS report is a JSON object (or an array of them).",
        ),
    }
}

/// What a field holds, for the type and range checks.
#[derive(Clone, Copy)]
enum Kind {
    /// An integer within `min..=max`.
    Int(i64, i64),
    /// A number within `min..=max`, or exactly the not-available sentinel.
    Num(f64, f64, Option<f64>),
    /// An MMSI: 0..=999 999 999.
    Mmsi,
    Bool,
    /// Text in the 6-bit character set.
    SixBit,
    /// Any text (formats checked apart).
    Text,
}

/// Every field the decoder writes (gpsd's names), with what it may hold. Fields
/// whose range depends on the message type are refined in [`check_report`].
const FIELDS: &[(&str, Kind)] = &[
    ("type", Kind::Int(1, 27)),
    ("repeat", Kind::Int(0, 3)),
    ("mmsi", Kind::Mmsi),
    ("status", Kind::Int(0, 15)),
    ("turn", Kind::Text),
    ("speed", Kind::Num(0.0, 102.3, None)),
    ("accuracy", Kind::Bool),
    ("lon", Kind::Num(-180.0, 180.0, Some(181.0))),
    ("lat", Kind::Num(-90.0, 90.0, Some(91.0))),
    ("course", Kind::Num(0.0, 359.9, Some(360.0))),
    ("heading", Kind::Num(0.0, 359.0, Some(511.0))),
    ("second", Kind::Int(0, 63)),
    ("maneuver", Kind::Int(0, 2)),
    ("raim", Kind::Bool),
    ("radio", Kind::Int(0, (1 << 20) - 1)),
    ("alt", Kind::Int(0, 4095)),
    ("reserved", Kind::Int(0, 255)),
    ("regional", Kind::Int(0, 255)),
    ("cs", Kind::Bool),
    ("display", Kind::Bool),
    ("dsc", Kind::Bool),
    ("band", Kind::Bool),
    ("msg22", Kind::Bool),
    ("assigned", Kind::Bool),
    ("gnss", Kind::Bool),
    ("year", Kind::Int(0, 9999)),
    ("month", Kind::Int(0, 12)),
    ("day", Kind::Int(0, 31)),
    ("hour", Kind::Int(0, 24)),
    ("minute", Kind::Int(0, 60)),
    ("timestamp", Kind::Text),
    ("epfd", Kind::Int(0, 15)),
    ("ais_version", Kind::Int(0, 3)),
    ("imo", Kind::Int(0, (1 << 30) - 1)),
    ("callsign", Kind::SixBit),
    ("shipname", Kind::SixBit),
    ("shiptype", Kind::Int(0, 255)),
    ("partno", Kind::Int(0, 1)),
    ("vendorid", Kind::SixBit),
    ("model", Kind::Int(0, 15)),
    ("serial", Kind::Int(0, (1 << 20) - 1)),
    ("mothership_mmsi", Kind::Mmsi),
    ("to_bow", Kind::Int(0, 511)),
    ("to_stern", Kind::Int(0, 511)),
    ("to_port", Kind::Int(0, 63)),
    ("to_starboard", Kind::Int(0, 63)),
    ("eta", Kind::Text),
    ("draught", Kind::Num(0.0, 25.5, None)),
    ("destination", Kind::SixBit),
    ("dte", Kind::Int(0, 1)),
    ("aid_type", Kind::Int(0, 31)),
    ("name", Kind::SixBit),
    ("off_position", Kind::Bool),
    ("virtual_aid", Kind::Bool),
    ("seqno", Kind::Int(0, 3)),
    ("dest_mmsi", Kind::Mmsi),
    ("retransmit", Kind::Bool),
    ("dac", Kind::Int(0, 1023)),
    ("fid", Kind::Int(0, 63)),
    ("addressed", Kind::Bool),
    ("structured", Kind::Bool),
    ("app_id", Kind::Int(0, 65535)),
    ("data", Kind::Text),
    ("text", Kind::SixBit),
    ("mmsi1", Kind::Mmsi),
    ("mmsi2", Kind::Mmsi),
    ("mmsi3", Kind::Mmsi),
    ("mmsi4", Kind::Mmsi),
    ("type1_1", Kind::Int(0, 63)),
    ("offset1_1", Kind::Int(0, 4095)),
    ("type1_2", Kind::Int(0, 63)),
    ("offset1_2", Kind::Int(0, 4095)),
    ("type2_1", Kind::Int(0, 63)),
    ("offset2_1", Kind::Int(0, 4095)),
    ("offset1", Kind::Int(0, 4095)),
    ("number1", Kind::Int(0, 15)),
    ("timeout1", Kind::Int(0, 7)),
    ("increment1", Kind::Int(0, 2047)),
    ("offset2", Kind::Int(0, 4095)),
    ("number2", Kind::Int(0, 15)),
    ("timeout2", Kind::Int(0, 7)),
    ("increment2", Kind::Int(0, 2047)),
    ("offset3", Kind::Int(0, 4095)),
    ("number3", Kind::Int(0, 15)),
    ("timeout3", Kind::Int(0, 7)),
    ("increment3", Kind::Int(0, 2047)),
    ("offset4", Kind::Int(0, 4095)),
    ("number4", Kind::Int(0, 15)),
    ("timeout4", Kind::Int(0, 7)),
    ("increment4", Kind::Int(0, 2047)),
    ("channel_a", Kind::Int(0, 4095)),
    ("channel_b", Kind::Int(0, 4095)),
    ("txrx", Kind::Int(0, 3)),
    ("power", Kind::Bool),
    ("ne_lon", Kind::Num(-180.0, 180.0, Some(181.0))),
    ("ne_lat", Kind::Num(-90.0, 90.0, Some(91.0))),
    ("sw_lon", Kind::Num(-180.0, 180.0, Some(181.0))),
    ("sw_lat", Kind::Num(-90.0, 90.0, Some(91.0))),
    ("dest1", Kind::Mmsi),
    ("dest2", Kind::Mmsi),
    ("band_a", Kind::Bool),
    ("band_b", Kind::Bool),
    ("zonesize", Kind::Int(0, 7)),
    ("stationtype", Kind::Int(0, 15)),
    ("interval", Kind::Int(0, 15)),
    ("quiet", Kind::Int(0, 15)),
];

/// Fields gpsd adds around a report; known, not AIS data.
const GPSD_ENVELOPE: &[&str] = &["class", "device", "scaled"];

/// Message types that report a position.
const POSITIONAL: &[i64] = &[1, 2, 3, 4, 9, 11, 18, 19, 21, 27];

fn check_report(at: &str, fields: &Map<String, Value>, r: &mut Report) {
    let msg_type = fields.get("type").and_then(Value::as_i64);
    let mut required = vec!["type", "mmsi"];
    if msg_type.is_some_and(|t| POSITIONAL.contains(&t)) {
        required.extend(["lat", "lon"]);
    }
    for name in required {
        if !fields.contains_key(name) {
            r.error(
                if at.is_empty() { "/" } else { at },
                "required-field",
                format!(
                    "The report has no `{name}`; every {} report carries it.",
                    kind_of(msg_type)
                ),
            );
        }
    }
    for (name, value) in fields {
        let path = format!("{at}/{name}");
        let Some(&(_, kind)) = FIELDS.iter().find(|(f, _)| f == name) else {
            if !GPSD_ENVELOPE.contains(&name.as_str()) {
                r.warning(
                    path,
                    "unknown-field",
                    format!("`{name}` is not a field of any AIS message."),
                );
            }
            continue;
        };
        let kind = refine(name, kind, msg_type);
        check_field(&path, name, kind, value, r);
    }
    if let Some(Value::String(eta)) = fields.get("eta")
        && !eta_in_range(eta)
    {
        r.error(
            format!("{at}/eta"),
            "field-range",
            format!(
                "ETA {eta:?} is not MM-DDThh:mmZ with month 0–12, day 0–31, hour 0–24, minute 0–60."
            ),
        );
    }
    if let Some(Value::String(turn)) = fields.get("turn") {
        let known = matches!(turn.as_str(), "n/a" | "nan" | "fastleft" | "fastright");
        if !known
            && !turn
                .parse::<f64>()
                .is_ok_and(|t| t.is_finite() && t.abs() <= 720.0)
        {
            r.error(
                format!("{at}/turn"),
                "field-range",
                format!("Rate of turn {turn:?} is neither n/a, fastleft, fastright nor a number of degrees per minute within ±720."),
            );
        }
    }
}

/// A field's range where it depends on the message type.
fn refine(name: &str, kind: Kind, msg_type: Option<i64>) -> Kind {
    match (name, msg_type) {
        ("type", _) => kind,
        ("speed", Some(9)) => Kind::Num(0.0, 1022.0, Some(1023.0)),
        ("speed", Some(27)) => Kind::Num(0.0, 62.0, Some(63.0)),
        ("course", Some(27)) => Kind::Num(0.0, 359.0, Some(511.0)),
        ("second", Some(4 | 11)) => Kind::Int(0, 60),
        _ => kind,
    }
}

fn kind_of(msg_type: Option<i64>) -> String {
    match msg_type {
        Some(t) => format!("type {t}"),
        None => String::from("AIS"),
    }
}

fn check_field(path: &str, name: &str, kind: Kind, value: &Value, r: &mut Report) {
    let wrong_type = |what: &str, r: &mut Report| {
        r.error(
            path,
            "field-type",
            format!("`{name}` must be {what}, not {value}."),
        );
    };
    match kind {
        Kind::Int(min, max) => match value.as_i64() {
            Some(v) if (min..=max).contains(&v) => {}
            Some(v) => {
                let rule = if name == "type" {
                    "message-type"
                } else {
                    "field-range"
                };
                r.error(
                    path,
                    rule,
                    format!("`{name}` is {v}; it must be within {min}–{max}."),
                );
            }
            None => wrong_type("an integer", r),
        },
        Kind::Mmsi => match value.as_i64() {
            Some(v) if (0..=999_999_999).contains(&v) => {}
            Some(v) => r.error(
                path,
                "field-range",
                format!("`{name}` is {v}; an MMSI has at most 9 digits."),
            ),
            None => wrong_type("an integer MMSI", r),
        },
        Kind::Num(min, max, sentinel) => match value.as_f64() {
            Some(v) if (min..=max).contains(&v) || sentinel == Some(v) => {}
            Some(v) => r.error(
                path,
                "field-range",
                match sentinel {
                    Some(s) => format!(
                        "`{name}` is {v}; it must be within {min}–{max}, or {s} for not available."
                    ),
                    None => format!("`{name}` is {v}; it must be within {min}–{max}."),
                },
            ),
            None => wrong_type("a number", r),
        },
        Kind::Bool => {
            if !value.is_boolean() {
                wrong_type("true or false", r);
            }
        }
        Kind::SixBit => match value.as_str() {
            Some(text) => {
                if let Some(c) = text.chars().find(|c| !is_sixbit(*c)) {
                    r.error(
                        path,
                        "sixbit-text",
                        format!("`{name}` holds {c:?}, which AIS 6-bit text cannot carry (upper-case letters, digits, space and ASCII punctuation only)."),
                    );
                }
            }
            None => wrong_type("text", r),
        },
        Kind::Text => {
            // `turn` may be numeric in other producers' JSON; it is judged by value.
            let numeric_turn = name == "turn" && value.is_number();
            if !(value.is_string() || numeric_turn) {
                wrong_type("text", r);
            } else if let (Some(t), "turn") = (value.as_f64(), name)
                && !(t.is_finite() && t.abs() <= 720.0)
            {
                r.error(
                    path,
                    "field-range",
                    format!("Rate of turn {t} is beyond ±720 degrees per minute."),
                );
            }
        }
    }
}

/// A character of the ITU 6-bit set: `@A–Z[\]^_`, space and `!`–`?`.
fn is_sixbit(c: char) -> bool {
    matches!(c, ' '..='?' | '@'..='_')
}

/// `MM-DDThh:mmZ` with each part in its AIS range (0 = not available).
fn eta_in_range(eta: &str) -> bool {
    let b = eta.as_bytes();
    if b.len() != 12 || b[2] != b'-' || b[5] != b'T' || b[8] != b':' || b[11] != b'Z' {
        return false;
    }
    let num = |i: usize| eta.get(i..i + 2).and_then(|s| s.parse::<u8>().ok());
    matches!(
        (num(0), num(3), num(6), num(9)),
        (Some(0..=12), Some(0..=31), Some(0..=24), Some(0..=60))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const POSITION: &str = "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C";

    #[test]
    fn a_position_report_passes_as_a_sentence_and_as_its_decoded_json() {
        let r = validate_bytes(POSITION.as_bytes());
        assert!(r.valid, "{r:#?}");
        let decoded =
            serde_json::to_string(&ais::decode_lines(POSITION)[0].clone().unwrap()).unwrap();
        let r = validate_bytes(decoded.as_bytes());
        assert!(r.valid, "{decoded}: {r:#?}");
    }

    #[test]
    fn a_wrong_checksum_names_the_line() {
        let doc = format!("# two\n{POSITION}\n{}", POSITION.replace("*5C", "*5D"));
        let r = validate_bytes(doc.as_bytes());
        assert_eq!(r.errors.len(), 1, "{r:#?}");
        assert_eq!(
            (r.errors[0].path.as_str(), r.errors[0].rule.as_str()),
            ("/line/3", "checksum")
        );
        assert!(r.errors[0].message.starts_with("Bad checksum"), "{r:#?}");
    }

    #[test]
    fn json_fields_are_checked_by_range_type_and_text() {
        let r = validate_bytes(
            br#"{"type": 1, "mmsi": 1234567890, "lat": 95.0, "lon": "east", "shipname": "abc"}"#,
        );
        let rules: Vec<(&str, &str)> = r
            .errors
            .iter()
            .map(|e| (e.path.as_str(), e.rule.as_str()))
            .collect();
        assert_eq!(
            rules,
            [
                ("/lat", "field-range"),
                ("/lon", "field-type"),
                ("/mmsi", "field-range"),
                ("/shipname", "sixbit-text")
            ]
        );
    }

    #[test]
    fn etas_and_sixbit_text() {
        assert!(eta_in_range("05-31T23:59Z") && eta_in_range("00-00T24:60Z"));
        assert!(!eta_in_range("13-01T00:00Z") && !eta_in_range("5-31T23:59Z"));
        assert!("HELLO WORLD 123 @[]^_!?".chars().all(is_sixbit));
        assert!(!"hello".chars().any(is_sixbit) && !is_sixbit('é') && !is_sixbit('`'));
    }
}
