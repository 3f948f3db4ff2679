//! STIX 2.1: a bundle or a single object, in two phases.
//!
//! 1. **Structure** — the official OASIS JSON schemas, compiled into code at build time
//!    (`schemas.rs`), one
//!    object at a time against the schema of its type (custom types against the
//!    common core). Rule name `schema`.
//! 2. **Semantics** — the spec's MUSTs no schema states:
//!    - `id-type-mismatch`, `id-uuid`: ids are `<type>--<RFC 4122 UUID>` of the object's
//!      own type;
//!    - `timestamp-order`: `modified` ≥ `created`, and the other first/last pairs
//!      (`valid_until` > `valid_from`, `last_seen` ≥ `first_seen`, …);
//!    - `ref-format`, `ref-type`: every `*_ref`/`*_refs` (and a granular marking's
//!      `marking_ref`) is an identifier of a type the property allows
//!      (`created_by_ref` → identity, `object_marking_refs` → marking-definition,
//!      `sighting_of_ref` → an SDO, relationship ends → SDOs or SCOs, …);
//!    - `property-name`: top-level property names are 3–250 characters of `a-z`, `0-9`
//!      and `_` (every defined name complies, so this catches bad custom ones);
//!    - `pattern-syntax`: an indicator's `pattern`, when `pattern_type` is `stix`,
//!      parses under the STIX patterning grammar ([`pattern`]);
//!    - `granular-marking-selector`: each selector names a property path that exists
//!      in the object;
//!    - `nested-bundle`: a bundle's objects are STIX objects, never a bundle;
//!    - `extension-name`: an `extension-definition--…` key carries a UUID;
//!    - `sco-id-uuid4`: a process (which has no ID contributing properties) has a
//!      UUIDv4 id;
//!    - `spec-version`: objects that state `spec_version` state `2.1` (the common
//!      schema also admits `2.0`).
//!
//!    SHOULD-level findings are warnings: `unresolved-ref` (a reference to an id
//!    the bundle does not hold — it may live elsewhere), `duplicate-object` (the
//!    same version of an object twice: redundant, not wrong), `sco-id-uuid5`,
//!    `custom-object`, `custom-extension`, `pattern-object-type` (a type no STIX
//!    object has), `vocab` (a value outside a suggested open vocabulary) and
//!    `hash-name`.

pub mod pattern;
mod schemas;

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::Report;

const SDOS: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];
const SROS: &[&str] = &["relationship", "sighting"];
const SCOS: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];
const META: &[&str] = &[
    "marking-definition",
    "language-content",
    "extension-definition",
];

/// Extensions STIX 2.1 predefines for cyber-observable objects.
const PREDEFINED_EXTENSIONS: &[&str] = &[
    "archive-ext",
    "ntfs-ext",
    "pdf-ext",
    "raster-image-ext",
    "windows-pebinary-ext",
    "http-request-ext",
    "icmp-ext",
    "socket-ext",
    "tcp-ext",
    "windows-process-ext",
    "windows-service-ext",
    "unix-account-ext",
];

const HASH_ALGORITHMS: &[&str] = &[
    "MD5", "SHA-1", "SHA-256", "SHA-512", "SHA3-256", "SHA3-512", "SSDEEP", "TLSH",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sdo,
    Sro,
    Sco,
    Meta,
    Bundle,
    Custom,
}

fn kind(object_type: &str) -> Kind {
    if SDOS.contains(&object_type) {
        Kind::Sdo
    } else if SROS.contains(&object_type) {
        Kind::Sro
    } else if SCOS.contains(&object_type) {
        Kind::Sco
    } else if META.contains(&object_type) {
        Kind::Meta
    } else if object_type == "bundle" {
        Kind::Bundle
    } else {
        Kind::Custom
    }
}

/// What a reference property may point at.
#[derive(Debug, Clone, Copy)]
enum Targets {
    Types(&'static [&'static str]),
    /// Any SDO (custom types allowed: they may be custom SDOs).
    Sdo,
    /// An SDO or an SCO.
    SdoOrSco,
    /// An SCO (custom allowed).
    Sco,
    /// An SCO or an SRO (observed-data's `object_refs`).
    ScoOrSro,
    /// Any STIX object but a bundle.
    Any,
}

impl Targets {
    fn allows(self, target: &str) -> bool {
        let k = kind(target);
        match self {
            Targets::Types(types) => types.contains(&target),
            Targets::Sdo => matches!(k, Kind::Sdo | Kind::Custom),
            Targets::SdoOrSco => matches!(k, Kind::Sdo | Kind::Sco | Kind::Custom),
            Targets::Sco => matches!(k, Kind::Sco | Kind::Custom),
            Targets::ScoOrSro => matches!(k, Kind::Sco | Kind::Sro | Kind::Custom),
            Targets::Any => k != Kind::Bundle,
        }
    }

    fn describe(self) -> String {
        match self {
            Targets::Types(types) => types.join(" or "),
            Targets::Sdo => "a STIX domain object".into(),
            Targets::SdoOrSco => "a STIX domain object or a cyber-observable object".into(),
            Targets::Sco => "a cyber-observable object".into(),
            Targets::ScoOrSro => "a cyber-observable object or a relationship".into(),
            Targets::Any => "a STIX object".into(),
        }
    }
}

/// The types a reference property of `object_type` may point at; `None` for a
/// property STIX does not define (a custom `*_ref`: only its format is checked).
fn ref_targets(object_type: &str, property: &str) -> Option<Targets> {
    Some(match (object_type, property) {
        (_, "created_by_ref") => Targets::Types(&["identity"]),
        (_, "object_marking_refs" | "marking_ref") => Targets::Types(&["marking-definition"]),
        ("relationship", "source_ref" | "target_ref") => Targets::SdoOrSco,
        ("sighting", "sighting_of_ref") => Targets::Sdo,
        ("sighting", "observed_data_refs") => Targets::Types(&["observed-data"]),
        ("sighting", "where_sighted_refs") => Targets::Types(&["identity", "location"]),
        ("observed-data", "object_refs") => Targets::ScoOrSro,
        ("report" | "note" | "opinion" | "grouping", "object_refs") => Targets::Any,
        ("language-content", "object_ref") => Targets::Any,
        ("malware", "operating_system_refs") => Targets::Types(&["software"]),
        ("malware", "sample_refs") => Targets::Types(&["file", "artifact"]),
        (
            "malware-analysis",
            "host_vm_ref" | "operating_system_ref" | "installed_software_refs",
        ) => Targets::Types(&["software"]),
        ("malware-analysis", "analysis_sco_refs") => Targets::Sco,
        ("malware-analysis", "sample_ref") => {
            Targets::Types(&["file", "network-traffic", "artifact"])
        }
        ("directory", "contains_refs") => Targets::Types(&["file", "directory"]),
        ("domain-name", "resolves_to_refs") => {
            Targets::Types(&["ipv4-addr", "ipv6-addr", "domain-name"])
        }
        ("email-addr", "belongs_to_ref") => Targets::Types(&["user-account"]),
        ("email-message", "from_ref" | "sender_ref" | "to_refs" | "cc_refs" | "bcc_refs") => {
            Targets::Types(&["email-addr"])
        }
        ("email-message", "raw_email_ref") => Targets::Types(&["artifact"]),
        ("email-message", "body_raw_ref") => Targets::Types(&["artifact", "file"]),
        ("file", "parent_directory_ref") => Targets::Types(&["directory"]),
        ("file", "contains_refs") => Targets::Sco,
        ("file", "content_ref") => Targets::Types(&["artifact"]),
        ("ipv4-addr" | "ipv6-addr", "resolves_to_refs") => Targets::Types(&["mac-addr"]),
        ("ipv4-addr" | "ipv6-addr", "belongs_to_refs") => Targets::Types(&["autonomous-system"]),
        ("network-traffic", "src_ref" | "dst_ref") => {
            Targets::Types(&["ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"])
        }
        ("network-traffic", "src_payload_ref" | "dst_payload_ref") => Targets::Types(&["artifact"]),
        ("network-traffic", "encapsulates_refs" | "encapsulated_by_ref") => {
            Targets::Types(&["network-traffic"])
        }
        ("process", "opened_connection_refs") => Targets::Types(&["network-traffic"]),
        ("process" | "windows-registry-key", "creator_user_ref") => {
            Targets::Types(&["user-account"])
        }
        ("process", "image_ref") => Targets::Types(&["file"]),
        ("process", "parent_ref" | "child_refs") => Targets::Types(&["process"]),
        (_, "message_body_data_ref") => Targets::Types(&["artifact"]),
        (_, "service_dll_refs") => Targets::Types(&["file"]),
        _ => return None,
    })
}

/// Open vocabularies checked as warnings: (object type, property, values).
const VOCABS: &[(&str, &str, &[&str])] = &[
    (
        "indicator",
        "indicator_types",
        &[
            "anomalous-activity",
            "anonymization",
            "benign",
            "compromised",
            "malicious-activity",
            "attribution",
            "unknown",
        ],
    ),
    (
        "malware",
        "malware_types",
        &[
            "adware",
            "backdoor",
            "bot",
            "bootkit",
            "ddos",
            "downloader",
            "dropper",
            "exploit-kit",
            "keylogger",
            "ransomware",
            "remote-access-trojan",
            "resource-exploitation",
            "rogue-security-software",
            "rootkit",
            "screen-capture",
            "spyware",
            "trojan",
            "unknown",
            "virus",
            "webshell",
            "wiper",
            "worm",
        ],
    ),
    (
        "report",
        "report_types",
        &[
            "attack-pattern",
            "campaign",
            "identity",
            "indicator",
            "intrusion-set",
            "malware",
            "observed-data",
            "threat-actor",
            "threat-report",
            "tool",
            "vulnerability",
        ],
    ),
    (
        "threat-actor",
        "threat_actor_types",
        &[
            "activist",
            "competitor",
            "crime-syndicate",
            "criminal",
            "hacker",
            "insider-accidental",
            "insider-disgruntled",
            "nation-state",
            "sensationalist",
            "spy",
            "terrorist",
            "unknown",
        ],
    ),
    (
        "tool",
        "tool_types",
        &[
            "denial-of-service",
            "exploitation",
            "information-gathering",
            "network-capture",
            "credential-exploitation",
            "remote-access",
            "vulnerability-scanning",
            "unknown",
        ],
    ),
    (
        "infrastructure",
        "infrastructure_types",
        &[
            "amplification",
            "anonymization",
            "botnet",
            "command-and-control",
            "control-system",
            "exfiltration",
            "firewall",
            "hosting-malware",
            "hosting-target-lists",
            "phishing",
            "reconnaissance",
            "routers-switches",
            "staging",
            "workstation",
            "unknown",
        ],
    ),
    (
        "identity",
        "identity_class",
        &[
            "individual",
            "group",
            "system",
            "organization",
            "class",
            "unknown",
        ],
    ),
];

/// Validates a document given as bytes: JSON first, then [`validate`].
pub fn validate_bytes(bytes: &[u8]) -> Report {
    // RFC 8259 §8.1: a parser MAY ignore a byte order mark before the text (the
    // reference validator does); it is not part of the document.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match serde_json::from_slice::<Value>(bytes) {
        Ok(doc) => validate(doc),
        Err(e) => {
            let mut r = Report::default();
            r.error("", "json", format!("the document is not JSON: {e}"));
            r.finish()
        }
    }
}

/// Validates a STIX 2.1 bundle or single object. It takes the document because
/// the schema checks lend each object to the compiled validator (moved in and
/// back, never copied).
pub fn validate(mut doc: Value) -> Report {
    let mut report = Report::default();
    if !doc.is_object() {
        report.error(
            "",
            "not-an-object",
            "a STIX document is a JSON object (a bundle or a single STIX object)",
        );
        return report.finish();
    }
    if doc.get("type").and_then(Value::as_str) == Some("bundle") {
        validate_bundle(&mut doc, &mut report);
    } else {
        let schema = schema_findings(&mut doc);
        if let Some(obj) = doc.as_object() {
            check_object(obj, "", schema, &mut report, &mut Vec::new());
        }
    }
    report.finish()
}

/// The findings of `object` against the schema of its type (a custom type's
/// against the common base it has), each a path below the object and a message.
fn schema_findings(object: &mut Value) -> Vec<(String, String)> {
    let Some(obj) = object.as_object() else {
        return Vec::new();
    };
    let Some(object_type) = obj.get("type").and_then(Value::as_str) else {
        return Vec::new();
    };
    let name = match kind(object_type) {
        // A bundle in a bundle is an error of its own (`nested-bundle`).
        Kind::Bundle => return Vec::new(),
        Kind::Custom if obj.contains_key("created") || obj.contains_key("spec_version") => "core",
        Kind::Custom => "cyber-observable-core",
        // Every type of the other kinds has a schema (a test in schemas.rs).
        _ => object_type,
    };
    let name = name.to_string();
    schemas::check(name, object)
}

fn validate_bundle(doc: &mut Value, report: &mut Report) {
    // The envelope is the bundle with its objects lent out (each is checked against
    // its own type's schema below). An empty list stays as it is: `objects`, when
    // present, holds one or more objects (§8, the schema's `minItems`), and only an
    // emptied list's miss is ours.
    let emptied = matches!(doc.get("objects"), Some(Value::Array(a)) if !a.is_empty());
    let lent = match doc.get_mut("objects") {
        Some(objects) if emptied => Some(std::mem::replace(objects, Value::Array(Vec::new()))),
        _ => None,
    };
    for (path, message) in schemas::check("bundle".into(), doc) {
        if emptied && path == "/objects" {
            continue;
        }
        report.error(path, "schema", short(&message));
    }
    if let (Some(lent), Some(objects)) = (lent, doc.get_mut("objects")) {
        *objects = lent;
    }
    // Each object's schema findings first (the checks borrow the objects mutably),
    // reported with the object's other findings below.
    let mut schema: Vec<Vec<(String, String)>> = match doc.get_mut("objects") {
        Some(Value::Array(objects)) => objects.iter_mut().map(schema_findings).collect(),
        _ => Vec::new(),
    };
    let Some(objects) = doc.get("objects").and_then(Value::as_array) else {
        return;
    };
    let mut refs: Vec<(String, String)> = Vec::new();
    let mut ids: HashSet<&str> = HashSet::new();
    let mut versions: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    for (i, object) in objects.iter().enumerate() {
        let path = format!("/objects/{i}");
        let Some(obj) = object.as_object() else {
            report.error(
                path,
                "not-an-object",
                "each item of `objects` is a STIX object",
            );
            continue;
        };
        if obj.get("type").and_then(Value::as_str) == Some("bundle") {
            report.error(path, "nested-bundle", "a bundle cannot hold another bundle");
            continue;
        }
        let found = schema.get_mut(i).map(std::mem::take).unwrap_or_default();
        check_object(obj, &path, found, report, &mut refs);
        if let Some(id) = obj.get("id").and_then(Value::as_str) {
            ids.insert(id);
            let version = obj.get("modified").and_then(Value::as_str);
            if let Some(first) = versions.insert((id, version), i) {
                report.warning(
                    format!("{path}/id"),
                    "duplicate-object",
                    format!("{id} appears twice with the same version (also at /objects/{first})"),
                );
            }
        }
    }
    for (path, target) in refs {
        if !ids.contains(target.as_str()) {
            report.warning(
                path,
                "unresolved-ref",
                format!("{target} is not in this bundle"),
            );
        }
    }
}

/// A schema error message, shortened: they quote the offending value, which can be
/// a whole object.
fn short(message: &str) -> String {
    const MAX: usize = 300;
    if message.len() <= MAX {
        return message.to_string();
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &message[..end])
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Checks one object: reports `schema`, its schema findings (from
/// [`schema_findings`]), then checks the semantic rules.
fn check_object(
    obj: &Map<String, Value>,
    base: &str,
    schema: Vec<(String, String)>,
    report: &mut Report,
    refs: &mut Vec<(String, String)>,
) {
    let Some(object_type) = obj.get("type").and_then(Value::as_str) else {
        report.error(
            base,
            "schema",
            "the object has no `type` (a string such as `indicator`)",
        );
        return;
    };
    let k = kind(object_type);
    // 1. Structure.
    if k == Kind::Custom {
        report.warning(
            format!("{base}/type"),
            "custom-object",
            format!(
                "`{object_type}` is not a STIX 2.1 object type; STIX 2.1 prefers extensions to custom objects"
            ),
        );
    }
    for (path, message) in schema {
        report.error(format!("{base}{path}"), "schema", short(&message));
    }
    // 2. Semantics.
    if let Some(v) = obj.get("spec_version").and_then(Value::as_str)
        && v != "2.1"
    {
        report.error(
            format!("{base}/spec_version"),
            "spec-version",
            format!("`spec_version` is `{v}`; a STIX 2.1 document's objects are version 2.1"),
        );
    }
    check_id(obj, object_type, k, base, report);
    check_property_names(obj, base, report);
    check_timestamps(obj, base, report);
    check_languages(obj, object_type, base, report);
    check_marking_cycles(obj, object_type, base, report);
    check_refs(obj, object_type, base, report, refs);
    check_granular_markings(obj, base, report, refs);
    check_extensions(obj, k, base, report);
    check_vocabularies(obj, object_type, base, report);
    check_hashes(obj, base, report);
    if object_type == "indicator" {
        check_pattern(obj, base, report);
    }
}

fn check_id(obj: &Map<String, Value>, object_type: &str, k: Kind, base: &str, report: &mut Report) {
    let Some(id) = obj.get("id").and_then(Value::as_str) else {
        return; // the schema reports a missing id
    };
    let path = format!("{base}/id");
    let Some((prefix, uuid)) = id.split_once("--") else {
        report.error(
            path,
            "id-uuid",
            format!("`{id}` is not of the form `{object_type}--<UUID>`"),
        );
        return;
    };
    if prefix != object_type {
        report.error(
            path.clone(),
            "id-type-mismatch",
            format!(
                "the id `{id}` names type `{prefix}`, but the object's type is `{object_type}`"
            ),
        );
    }
    match uuid::Uuid::try_parse(uuid) {
        Ok(u)
            if u.get_variant() == uuid::Variant::RFC4122
                && u.hyphenated().to_string() == uuid.to_ascii_lowercase() =>
        {
            if object_type == "process" {
                // Process defines no ID contributing properties: its id is random.
                if u.get_version_num() != 4 {
                    report.error(
                        path,
                        "sco-id-uuid4",
                        "a process object has no ID contributing properties, so its id MUST be a UUIDv4",
                    );
                }
            } else if let Some(props) = optional_id_contributing(object_type)
                && !props.iter().any(|p| obj.contains_key(*p))
            {
                // §2.9: without any ID contributing property, the id is random.
                if u.get_version_num() != 4 {
                    report.error(
                        path,
                        "sco-id-uuid4",
                        format!(
                            "this {object_type} has none of its ID contributing properties ({}), so its id MUST be a UUIDv4",
                            props.join(", ")
                        ),
                    );
                }
            } else if k == Kind::Sco && u.get_version_num() != 5 {
                report.warning(
                    path,
                    "sco-id-uuid5",
                    "cyber-observable ids SHOULD be UUIDv5 (deterministic from the ID contributing properties)",
                );
            }
        }
        _ => report.error(
            path,
            "id-uuid",
            format!("`{uuid}` in `{id}` is not an RFC 4122 UUID in its hyphenated form"),
        ),
    }
}

/// The ID contributing properties of the SCOs whose contributing properties are
/// all optional (§6): with none of them present, the id is a UUIDv4.
fn optional_id_contributing(object_type: &str) -> Option<&'static [&'static str]> {
    Some(match object_type {
        "artifact" => &["hashes", "payload_bin"],
        "email-message" => &["from_ref", "subject", "body"],
        "user-account" => &["account_type", "user_id", "account_login"],
        "windows-registry-key" => &["key", "values"],
        "x509-certificate" => &["hashes", "serial_number"],
        _ => return None,
    })
}

fn check_property_names(obj: &Map<String, Value>, base: &str, report: &mut Report) {
    for key in obj.keys() {
        if key == "id" {
            continue;
        }
        let ok = (3..=250).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            report.error(
                format!("{base}/{}", pointer_escape(key)),
                "property-name",
                format!(
                    "property name `{key}` must be 3 to 250 characters of a-z, 0-9 and underscore"
                ),
            );
        }
    }
}

/// A timestamp as a comparable key: (seconds-ish digits, nanoseconds).
fn timestamp_key(s: &str) -> Option<(String, u64)> {
    let body = s.strip_suffix('Z')?;
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    if whole.len() != 19 || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos = format!("{frac:0<9}").parse().ok()?;
    Some((whole.to_string(), nanos))
}

/// Whether a property's value is a timestamp, across every object type (a `match`:
/// it runs for every property of every object).
fn is_timestamp_property(key: &str) -> bool {
    matches!(
        key,
        "created"
            | "modified"
            | "valid_from"
            | "valid_until"
            | "first_seen"
            | "last_seen"
            | "first_observed"
            | "last_observed"
            | "start_time"
            | "stop_time"
            | "start"
            | "end"
            | "published"
            | "analysis_started"
            | "analysis_ended"
            | "submitted"
            | "ctime"
            | "mtime"
            | "atime"
            | "date"
            | "created_time"
            | "modified_time"
            | "validity_not_before"
            | "validity_not_after"
            | "account_created"
            | "account_expires"
            | "credential_last_changed"
            | "account_first_login"
            | "account_last_login"
            | "object_modified"
            | "time_date_stamp"
            | "private_key_usage_period_not_before"
            | "private_key_usage_period_not_after"
    )
}

/// Whether an RFC 3339 timestamp's fields name a real instant (February 30th and
/// hour 24 match the timestamp grammar but not the calendar). Text that does not
/// match the grammar is the schema's finding, not this one's.
fn calendar_ok(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let shaped = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':';
    if !shaped {
        return Ok(());
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        s.get(r)
            .filter(|t| t.bytes().all(|c| c.is_ascii_digit()))?
            .parse()
            .ok()
    };
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return Ok(());
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(format!("month {month:02} does not exist")),
    };
    if day == 0 || day > days {
        return Err(format!("day {day:02} is not in month {month:02} of {year}"));
    }
    if hour > 23 || minute > 59 {
        return Err(format!("{hour:02}:{minute:02} is not a time of day"));
    }
    // RFC 3339 admits a leap second (:60).
    if second > 60 {
        return Err(format!("second {second:02} does not exist"));
    }
    Ok(())
}

fn check_timestamps(obj: &Map<String, Value>, base: &str, report: &mut Report) {
    // (earlier, later, strictly later?): every "MUST be later than (or equal to)"
    // pair of the specification — common `modified` (§3.2), `valid_until` of an
    // indicator (§4.7), `last_seen` of campaign, infrastructure, intrusion set,
    // malware, threat actor and sighting (§4.2, §4.8, §4.9, §4.11, §4.17, §5.2),
    // `last_observed` of observed data (§4.14), `stop_time` of a relationship
    // (§5.1) and `end` of network traffic (§6.12).
    const PAIRS: &[(&str, &str, bool)] = &[
        ("created", "modified", false),
        ("valid_from", "valid_until", true),
        ("first_seen", "last_seen", false),
        ("first_observed", "last_observed", false),
        ("start_time", "stop_time", true),
        ("start", "end", false),
    ];
    // The last two pairs are those types' own (a custom type may mean anything by
    // `start` and `end`).
    let object_type = obj.get("type").and_then(Value::as_str).unwrap_or("");
    for (key, value) in obj {
        if let Some(text) = value.as_str()
            && is_timestamp_property(key)
            && let Err(why) = calendar_ok(text)
        {
            report.error(
                format!("{base}/{}", pointer_escape(key)),
                "timestamp",
                format!(
                    "`{key}` ({}) is not a real instant: {why}",
                    crate::text::bounded(text, 64)
                ),
            );
        }
    }
    // Observed data's deprecated embedded objects hold observables too.
    if let Some(objects) = obj.get("objects").and_then(Value::as_object) {
        for (key, embedded) in objects {
            if let Some(embedded) = embedded.as_object() {
                check_timestamps(
                    embedded,
                    &format!("{base}/objects/{}", pointer_escape(key)),
                    report,
                );
            }
        }
    }
    for (early, late, strict) in PAIRS {
        let own_type = match *early {
            "start_time" => Some("relationship"),
            "start" => Some("network-traffic"),
            _ => None,
        };
        if own_type.is_some_and(|t| t != object_type) {
            continue;
        }
        let (Some(a), Some(b)) = (
            obj.get(*early).and_then(Value::as_str),
            obj.get(*late).and_then(Value::as_str),
        ) else {
            continue;
        };
        let (Some(ka), Some(kb)) = (timestamp_key(a), timestamp_key(b)) else {
            continue; // malformed timestamps are the schema's findings
        };
        let bad = if *strict { kb <= ka } else { kb < ka };
        if bad {
            report.error(
                format!("{base}/{late}"),
                "timestamp-order",
                format!(
                    "`{late}` ({b}) must be {} `{early}` ({a})",
                    if *strict {
                        "later than"
                    } else {
                        "the same as or later than"
                    }
                ),
            );
        }
    }
}

/// `lang` of any object and of a granular marking, a language content's
/// `contents` keys and a software object's `languages` are RFC 5646 tags (§3.2,
/// §7.1, §7.2.3, §6.14).
fn check_languages(obj: &Map<String, Value>, object_type: &str, base: &str, report: &mut Report) {
    let mut check = |path: String, what: &str, tag: &str| {
        if let Err(why) = super::lang::check(tag) {
            report.error(
                path,
                "lang-tag",
                format!(
                    "{what} `{}` is not an RFC 5646 language tag: {why}",
                    crate::text::bounded(tag, 64)
                ),
            );
        }
    };
    if let Some(tag) = obj.get("lang").and_then(Value::as_str) {
        check(format!("{base}/lang"), "`lang`", tag);
    }
    for (i, marking) in obj
        .get("granular_markings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(tag) = marking.get("lang").and_then(Value::as_str) {
            check(
                format!("{base}/granular_markings/{i}/lang"),
                "the granular marking's `lang`",
                tag,
            );
        }
    }
    if object_type == "language-content"
        && let Some(contents) = obj.get("contents").and_then(Value::as_object)
    {
        for key in contents.keys() {
            check(
                format!("{base}/contents/{}", pointer_escape(key)),
                "the `contents` key",
                key,
            );
        }
    }
    if object_type == "software" {
        for (i, tag) in obj
            .get("languages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(tag) = tag.as_str() {
                check(format!("{base}/languages/{i}"), "the language", tag);
            }
        }
    }
}

/// A marking definition never marks itself (§7.2: no circular references), by
/// `object_marking_refs` or by a granular marking's `marking_ref`. (A cycle through
/// two definitions is not looked for.)
fn check_marking_cycles(
    obj: &Map<String, Value>,
    object_type: &str,
    base: &str,
    report: &mut Report,
) {
    if object_type != "marking-definition" {
        return;
    }
    let Some(id) = obj.get("id").and_then(Value::as_str) else {
        return;
    };
    for (i, r) in obj
        .get("object_marking_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if r.as_str() == Some(id) {
            report.error(
                format!("{base}/object_marking_refs/{i}"),
                "marking-circular-ref",
                "a marking definition cannot mark itself (a circular reference)",
            );
        }
    }
    for (i, m) in obj
        .get("granular_markings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if m.get("marking_ref").and_then(Value::as_str) == Some(id) {
            report.error(
                format!("{base}/granular_markings/{i}/marking_ref"),
                "marking-circular-ref",
                "a marking definition cannot mark itself (a circular reference)",
            );
        }
    }
}

fn check_ref(
    object_type: &str,
    property: &str,
    value: &str,
    path: String,
    report: &mut Report,
    refs: &mut Vec<(String, String)>,
) {
    let Some((target, uuid)) = value.split_once("--") else {
        report.error(
            path,
            "ref-format",
            format!("`{property}` holds `{value}`, which is not a STIX identifier (`type--UUID`)"),
        );
        return;
    };
    if uuid::Uuid::try_parse(uuid).is_err() {
        report.error(
            path,
            "ref-format",
            format!("`{property}` holds `{value}`, whose UUID part is malformed"),
        );
        return;
    }
    if let Some(targets) = ref_targets(object_type, property)
        && !targets.allows(target)
    {
        report.error(
            path.clone(),
            "ref-type",
            format!(
                "`{property}` must point at {}, not at a `{target}`",
                targets.describe()
            ),
        );
    }
    refs.push((path, value.to_string()));
}

fn check_refs(
    obj: &Map<String, Value>,
    object_type: &str,
    base: &str,
    report: &mut Report,
    refs: &mut Vec<(String, String)>,
) {
    for (key, value) in obj {
        if key.ends_with("_ref") {
            if let Some(v) = value.as_str() {
                check_ref(object_type, key, v, format!("{base}/{key}"), report, refs);
            }
        } else if key.ends_with("_refs")
            && let Some(items) = value.as_array()
        {
            for (i, item) in items.iter().enumerate() {
                if let Some(v) = item.as_str() {
                    check_ref(
                        object_type,
                        key,
                        v,
                        format!("{base}/{key}/{i}"),
                        report,
                        refs,
                    );
                }
            }
        }
    }
    // email-message's MIME parts refer to their bodies.
    if let Some(parts) = obj.get("body_multipart").and_then(Value::as_array) {
        for (i, part) in parts.iter().enumerate() {
            if let Some(v) = part.get("body_raw_ref").and_then(Value::as_str) {
                let path = format!("{base}/body_multipart/{i}/body_raw_ref");
                check_ref(object_type, "body_raw_ref", v, path, report, refs);
            }
        }
    }
}

/// Resolves a granular-marking selector (`description`, `labels.[1]`,
/// `external_references.[0].source_name`) in `obj`.
fn selector_resolves(obj: &Map<String, Value>, selector: &str) -> bool {
    let mut parts = selector.split('.');
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut current) = obj.get(first) else {
        return false;
    };
    for part in parts {
        let next = match part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            Some(index) => index
                .parse::<usize>()
                .ok()
                .and_then(|i| current.as_array().and_then(|a| a.get(i))),
            None => current.as_object().and_then(|o| o.get(part)),
        };
        match next {
            Some(v) => current = v,
            None => return false,
        }
    }
    true
}

fn check_granular_markings(
    obj: &Map<String, Value>,
    base: &str,
    report: &mut Report,
    refs: &mut Vec<(String, String)>,
) {
    let Some(markings) = obj.get("granular_markings").and_then(Value::as_array) else {
        return;
    };
    let object_type = obj.get("type").and_then(Value::as_str).unwrap_or("");
    for (i, marking) in markings.iter().enumerate() {
        let at = format!("{base}/granular_markings/{i}");
        // §7.2.3: a granular marking is either a language or a marking, never both.
        match (
            marking.get("lang").is_some(),
            marking.get("marking_ref").is_some(),
        ) {
            (true, true) => report.error(
                at.clone(),
                "granular-marking-lang-or-ref",
                "a granular marking sets `lang` or `marking_ref`, not both",
            ),
            (false, false) if marking.is_object() => report.error(
                at.clone(),
                "granular-marking-lang-or-ref",
                "a granular marking needs `lang` or `marking_ref`",
            ),
            _ => {}
        }
        if let Some(r) = marking.get("marking_ref").and_then(Value::as_str) {
            check_ref(
                object_type,
                "marking_ref",
                r,
                format!("{at}/marking_ref"),
                report,
                refs,
            );
        }
        for (j, selector) in marking
            .get("selectors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(s) = selector.as_str() else { continue };
            if !selector_resolves(obj, s) {
                report.error(
                    format!("{at}/selectors/{j}"),
                    "granular-marking-selector",
                    format!("the selector `{s}` names no property of this object"),
                );
            }
        }
    }
}

fn check_extensions(obj: &Map<String, Value>, k: Kind, base: &str, report: &mut Report) {
    let Some(extensions) = obj.get("extensions").and_then(Value::as_object) else {
        return;
    };
    for name in extensions.keys() {
        let path = format!("{base}/extensions/{}", pointer_escape(name));
        if let Some(uuid) = name.strip_prefix("extension-definition--") {
            if uuid::Uuid::try_parse(uuid).is_err() {
                report.error(
                    path,
                    "extension-name",
                    format!("`{name}` is not `extension-definition--<UUID>`"),
                );
            }
        } else if !(k == Kind::Sco && PREDEFINED_EXTENSIONS.contains(&name.as_str())) {
            report.warning(
                path,
                "custom-extension",
                format!(
                    "`{name}` is neither a predefined extension nor `extension-definition--<UUID>`; STIX 2.1 deprecates custom extensions without a definition"
                ),
            );
        }
    }
}

fn check_vocabularies(
    obj: &Map<String, Value>,
    object_type: &str,
    base: &str,
    report: &mut Report,
) {
    for (t, property, values) in VOCABS {
        if *t != object_type {
            continue;
        }
        let found: Vec<(String, &str)> = match obj.get(*property) {
            Some(Value::String(s)) => vec![(format!("{base}/{property}"), s.as_str())],
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_str().map(|s| (format!("{base}/{property}/{i}"), s)))
                .collect(),
            _ => continue,
        };
        for (path, value) in found {
            if !values.contains(&value) {
                report.warning(
                    path,
                    "vocab",
                    format!("`{value}` is not in the suggested vocabulary for `{property}`"),
                );
            }
        }
    }
}

fn check_hashes(obj: &Map<String, Value>, base: &str, report: &mut Report) {
    let Some(hashes) = obj.get("hashes").and_then(Value::as_object) else {
        return;
    };
    for name in hashes.keys() {
        if !HASH_ALGORITHMS.contains(&name.as_str()) {
            report.warning(
                format!("{base}/hashes/{}", pointer_escape(name)),
                "hash-name",
                format!(
                    "`{name}` is not a name from the hash-algorithm vocabulary ({})",
                    HASH_ALGORITHMS.join(", ")
                ),
            );
        }
    }
}

/// Hash algorithms whose values have a fixed form, by name with hyphens removed
/// and upper-cased (`SHA-256`, `sha256` and `'SHA-256'` alike), and that form:
/// hex digits of a length, or ssdeep's alphabet.
fn hash_form(name: &str) -> Option<(&'static str, Option<&'static [usize]>)> {
    let key: String = name
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    Some(match key.as_str() {
        "MD5" => ("MD5", Some(&[32])),
        "SHA1" => ("SHA-1", Some(&[40])),
        "SHA224" => ("SHA-224", Some(&[56])),
        "SHA256" => ("SHA-256", Some(&[64])),
        "SHA384" => ("SHA-384", Some(&[96])),
        "SHA512" => ("SHA-512", Some(&[128])),
        "SHA3224" => ("SHA3-224", Some(&[56])),
        "SHA3256" => ("SHA3-256", Some(&[64])),
        "SHA3384" => ("SHA3-384", Some(&[96])),
        "SHA3512" => ("SHA3-512", Some(&[128])),
        "RIPEMD160" => ("RIPEMD-160", Some(&[40])),
        "WHIRLPOOL" => ("WHIRLPOOL", Some(&[128])),
        "MD6" => ("MD6", Some(&[32, 40, 56, 64, 96, 128])),
        "SSDEEP" => ("SSDEEP", None),
        _ => return None,
    })
}

/// `file:hashes.'SHA-256' = '…'`: the value fits the algorithm (§9.5: the
/// hashes of a pattern are those of the `hashes` type, whose MD5 is 32 hex
/// digits, SHA-256 64…).
fn check_pattern_hash(c: &pattern::Comparison, path: &str, report: &mut Report) {
    let [.., parent, name] = c.path.as_slice() else {
        return;
    };
    if parent != "hashes" {
        return;
    }
    let Some((algorithm, lengths)) = hash_form(name) else {
        return;
    };
    let v = &c.value;
    let fits = match lengths {
        Some(lengths) => lengths.contains(&v.len()) && v.bytes().all(|b| b.is_ascii_hexdigit()),
        None => {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'+' | b':' | b'.'))
        }
    };
    if !fits {
        let want = match lengths {
            Some(l) => format!(
                "{} hex digits",
                l.iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => "1 to 128 characters of a-z, A-Z, 0-9, /, +, : and .".into(),
        };
        report.error(
            path.to_string(),
            "pattern-hash",
            format!(
                "at character {}: `{}` is not a {algorithm} value ({want})",
                c.at,
                crate::text::bounded(v, 64)
            ),
        );
    }
}

fn check_pattern(obj: &Map<String, Value>, base: &str, report: &mut Report) {
    if obj.get("pattern_type").and_then(Value::as_str) != Some("stix") {
        return;
    }
    let Some(text) = obj.get("pattern").and_then(Value::as_str) else {
        return;
    };
    let path = format!("{base}/pattern");
    match pattern::parse(text) {
        Ok(parsed) => {
            for f in &parsed.findings {
                report.error(
                    path.clone(),
                    f.rule,
                    format!("at character {}: {}", f.at, f.message),
                );
            }
            for c in &parsed.comparisons {
                check_pattern_hash(c, &path, report);
            }
            let mut seen = HashSet::new();
            for t in parsed.object_types {
                if kind(&t) != Kind::Sco && seen.insert(t.clone()) {
                    report.warning(
                        path.clone(),
                        "pattern-object-type",
                        format!(
                            "the pattern names `{t}`, which is not a STIX cyber-observable type"
                        ),
                    );
                }
            }
        }
        Err(e) => report.error(
            path,
            "pattern-syntax",
            format!(
                "the STIX pattern is malformed at character {}: {}",
                e.at, e.message
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn indicator() -> Value {
        json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-06T20:03:48.000Z",
            "modified": "2016-04-06T20:03:48.000Z",
            "indicator_types": ["malicious-activity"],
            "pattern": "[ipv4-addr:value = '198.51.100.1']",
            "pattern_type": "stix",
            "valid_from": "2016-01-01T00:00:00Z"
        })
    }

    fn rules(r: &Report) -> Vec<&str> {
        r.errors.iter().map(|f| f.rule.as_str()).collect()
    }

    #[test]
    fn a_valid_indicator_passes() {
        let r = validate(indicator());
        assert!(r.valid, "{r:#?}");
        assert!(r.warnings.is_empty(), "{r:#?}");
    }

    #[test]
    fn each_semantic_rule_is_reported_by_name() {
        let cases: Vec<(&str, Value)> = vec![
            (
                "id-type-mismatch",
                json!({"id": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}),
            ),
            (
                "timestamp-order",
                json!({"modified": "2016-04-06T20:03:47.999Z"}),
            ),
            (
                "timestamp-order",
                json!({"valid_until": "2015-01-01T00:00:00Z"}),
            ),
            (
                "ref-type",
                json!({"created_by_ref": "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}),
            ),
            ("ref-format", json!({"created_by_ref": "identity-8e2e2d2b"})),
            (
                "pattern-syntax",
                json!({"pattern": "[ipv4-addr:value = '1.2.3.4'"}),
            ),
            ("property-name", json!({"BadName": 1})),
            (
                "granular-marking-selector",
                json!({"granular_markings": [{
                "marking_ref": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
                "selectors": ["no_such_property"]}]}),
            ),
        ];
        for (rule, change) in cases {
            let mut doc = indicator();
            for (k, v) in change.as_object().unwrap() {
                doc[k] = v.clone();
            }
            let r = validate(doc);
            assert!(rules(&r).contains(&rule), "{rule}: {r:#?}");
        }
    }

    #[test]
    fn bundles_check_duplicates_and_leave_unresolved_refs_as_warnings() {
        let mut rel = json!({
            "type": "relationship", "spec_version": "2.1",
            "id": "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad",
            "created": "2016-04-06T20:06:37.000Z", "modified": "2016-04-06T20:06:37.000Z",
            "relationship_type": "indicates",
            "source_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "target_ref": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b"
        });
        let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": [indicator(), rel.clone()]});
        let r = validate(bundle);
        assert!(r.valid, "{r:#?}");
        assert_eq!(r.warnings.len(), 1, "{r:#?}");
        assert_eq!(r.warnings[0].rule, "unresolved-ref");
        assert_eq!(r.warnings[0].path, "/objects/1/target_ref");

        rel["target_ref"] = json!("marking-definition--f88d31f6-486f-44da-b317-01333bde0b82");
        let bundle = json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": [indicator(), indicator(), rel]});
        let r = validate(bundle);
        assert!(
            r.warnings.iter().any(|w| w.rule == "duplicate-object"),
            "{r:#?}"
        );
        assert!(rules(&r).contains(&"ref-type"), "{r:#?}");
    }

    #[test]
    fn garbage_is_a_report_not_a_panic() {
        for bytes in [
            &b""[..],
            b"null",
            b"[1,2]",
            b"{\"type\": 5}",
            b"{\"type\": \"bundle\", \"objects\": [1, null, {}]}",
        ] {
            let r = validate_bytes(bytes);
            assert!(!r.valid, "{}", String::from_utf8_lossy(bytes));
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(!validate_bytes(deep.as_bytes()).valid);
    }
}
