//! STIX 2.1 output for connectors: typed builders whose JSON is valid against the
//! official OASIS STIX 2.1 JSON schemas and the specification's MUST rules.
//!
//! A connector turns feed rows into [`Observable`]s (found with [`classify`]),
//! [`Indicator`]s whose [`Pattern`] is derived from them, and the [`Malware`],
//! [`Identity`], [`Relationship`] and [`Sighting`] objects around them, then ships one
//! [`Bundle`]. What this module guarantees so that vendors need not know the spec:
//!
//! - Every SDO/SRO carries `type`, `spec_version: "2.1"`, an `id` of the form
//!   `<type>--<UUID>` (random UUIDv4 unless asked for a deterministic one), and
//!   `created`/`modified` at millisecond precision (`modified` defaults to `created`).
//! - Absent optional properties and empty lists are omitted: the schemas reject `null`
//!   and every list property has `minItems: 1`.
//! - SCO ids are the UUIDv5 of spec §2.9: namespace [`SCO_ID_NAMESPACE`] over the
//!   canonical (RFC 8785) JSON of the ID-contributing properties, so equal
//!   observables from different producers get equal ids.
//! - Pattern string literals escape `\` and `'`, and property names outside
//!   `[A-Za-z0-9_]` are quoted (`file:hashes.'SHA-256'`).
//! - The four TLP 1.0 markings use the fixed ids and JSON of spec §7.2.1.4.
//! - [`Bundle::to_json`] refuses rules the schemas cannot express: `modified` before
//!   `created`, `valid_until` not after `valid_from`, refs to objects of the wrong
//!   type, confidence above 100, external references without a locator.
//!
//! ```ignore
//! let now = clock::now();
//! let me = Identity::new(now, "Example Feed").with_identity_class("organization");
//! let ip = Observable::ipv4("198.51.100.3")?;
//! let ind = Indicator::for_observable(now, &ip, now)
//!     .with_indicator_type("malicious-activity")
//!     .with_created_by(me.id())
//!     .with_tlp(Tlp::Green)
//!     .with_deterministic_id("example-feed");
//! let mut bundle = Bundle::new();
//! bundle.add(Tlp::Green.marking_definition()).add(me).add(ip).add(ind);
//! let json = bundle.to_json()?;
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Serialize, Serializer};
use serde_json::Value;
use uuid::Uuid;

use crate::time::Timestamp;

/// The `spec_version` every object built here carries.
pub const SPEC_VERSION: &str = "2.1";

/// The UUIDv5 namespace STIX 2.1 §2.9 fixes for deterministic SCO ids.
pub const SCO_ID_NAMESPACE: &str = "00abedb4-aa42-466c-9c01-fed23315a9b7";
const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00ab_edb4_aa42_466c_9c01_fed2_3315_a9b7);

// Root of Airlock's deterministic SDO ids. It must never change, or every connector's
// re-polled objects would get new ids; it differs from the SCO namespace so the two
// id families cannot collide.
const SDO_NAMESPACE: Uuid = Uuid::from_u128(0xb16b_0c4c_491b_45d1_aaae_4f39_e5da_40b7);

/// Why a value or object cannot become valid STIX 2.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StixError {
    /// `value` is not a valid `what` (an IPv4 address, an identifier, a SHA-256…).
    InvalidValue {
        /// What the value was meant to be.
        what: &'static str,
        /// The rejected text.
        value: String,
    },
    /// The object `id` breaks a MUST rule of the specification.
    Rule {
        /// The offending object's id.
        id: String,
        /// The rule, in words.
        rule: String,
    },
    /// Serialising to JSON failed.
    Json(String),
}

impl fmt::Display for StixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StixError::InvalidValue { what, value } => write!(f, "`{value}` is not a valid {what}"),
            StixError::Rule { id, rule } => write!(f, "{id}: {rule}"),
            StixError::Json(msg) => write!(f, "STIX JSON serialisation failed: {msg}"),
        }
    }
}

impl std::error::Error for StixError {}

fn invalid(what: &'static str, value: &str) -> StixError {
    StixError::InvalidValue {
        what,
        value: value.to_string(),
    }
}

fn rule(id: &Identifier, rule: impl Into<String>) -> StixError {
    StixError::Rule {
        id: id.to_string(),
        rule: rule.into(),
    }
}

/// A STIX identifier, `<object-type>--<UUID>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Identifier(String);

impl Identifier {
    /// A fresh random (UUIDv4) identifier, the spec's default for SDOs and SROs.
    pub fn random(object_type: &str) -> Self {
        Identifier(format!("{object_type}--{}", Uuid::new_v4()))
    }

    /// A UUIDv5 identifier that is the same on every run for the same inputs.
    ///
    /// `seed` scopes the id to one producer (say `"abuse-ch-urlhaus"`) so two
    /// connectors describing different things with the same `key` never collide;
    /// `key` is the object's natural key (a pattern, a name…).
    pub fn deterministic(object_type: &str, seed: &str, key: &str) -> Self {
        let namespace = Uuid::new_v5(&SDO_NAMESPACE, seed.as_bytes());
        // Hashing the type too keeps, say, a malware and an identity that share a name
        // from also sharing a UUID.
        let name = format!("{object_type}:{key}");
        Identifier(format!(
            "{object_type}--{}",
            Uuid::new_v5(&namespace, name.as_bytes())
        ))
    }

    /// Reads an identifier, checking the form the schemas require (lower-case type,
    /// hyphenated RFC 4122 UUID of version 1-5).
    pub fn parse(text: &str) -> Result<Self, StixError> {
        let (object_type, uuid) = text
            .split_once("--")
            .ok_or_else(|| invalid("STIX identifier", text))?;
        let type_ok = is_object_type(object_type) && object_type.len() >= 3;
        let uuid_ok = uuid.len() == 36
            && Uuid::try_parse(uuid).is_ok_and(|u| {
                (1..=5).contains(&u.get_version_num()) && u.get_variant() == uuid::Variant::RFC4122
            });
        if type_ok && uuid_ok {
            Ok(Identifier(text.to_string()))
        } else {
            Err(invalid("STIX identifier", text))
        }
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The object type this identifier names (`indicator` for `indicator--…`).
    pub fn object_type(&self) -> &str {
        self.0.split_once("--").map_or("", |(t, _)| t)
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_object_type(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_lowercase())
        && !text.ends_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn expect_type(
    owner: &Identifier,
    field: &str,
    id: &Identifier,
    types: &[&str],
) -> Result<(), StixError> {
    if types.contains(&id.object_type()) {
        Ok(())
    } else {
        Err(rule(
            owner,
            format!("{field} must reference {}, not {id}", types.join(" or ")),
        ))
    }
}

fn check_time(owner: &Identifier, field: &str, t: Timestamp) -> Result<(), StixError> {
    // The RFC 3339 profile STIX uses has exactly four year digits.
    if (0..=9999).contains(&t.to_utc().0) {
        Ok(())
    } else {
        Err(rule(
            owner,
            format!("{field} {t} is outside years 0000-9999"),
        ))
    }
}

fn ser_time<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_millis())
}

fn ser_opt_time<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

// Setters for the optional text and list properties that make up most of each type.
macro_rules! setters {
    ($ty:ident { $($(#[$doc:meta])* $name:ident => $field:ident $($list:ident)?;)* }) => {
        impl $ty {$(
            $(#[$doc])*
            #[must_use]
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                setters!(@set self.$field, value.into() $(, $list)?);
                self
            }
        )*}
    };
    (@set $place:expr, $value:expr) => { $place = Some($value) };
    (@set $place:expr, $value:expr, list) => { push_unique(&mut $place, $value) };
}

/// A pointer to non-STIX information (a report, a CVE, a feed entry).
///
/// Besides `source_name`, at least one of url, external id or description must be set.
/// CVE and CAPEC ids must use source names `cve` and `capec`: the schemas reject a
/// `CVE-…` id under any other source name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalReference {
    source_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
}

setters!(ExternalReference {
    /// Sets where the information lives.
    with_url => url;
    /// Sets the source's own id for the information (`CVE-2021-44228`…).
    with_external_id => external_id;
    /// Sets a human-readable description of the reference.
    with_description => description;
});

impl ExternalReference {
    /// A reference to the named source; add a url, external id or description.
    pub fn new(source_name: impl Into<String>) -> Self {
        ExternalReference {
            source_name: source_name.into(),
            description: None,
            url: None,
            external_id: None,
        }
    }

    fn check(&self, owner: &Identifier) -> Result<(), StixError> {
        if self.url.is_none() && self.external_id.is_none() && self.description.is_none() {
            return Err(rule(
                owner,
                "an external reference needs a url, external_id or description",
            ));
        }
        let ext = self.external_id.as_deref().unwrap_or("");
        let ok = match self.source_name.as_str() {
            "cve" => is_prefixed_id(ext, "CVE-", true),
            "capec" => is_prefixed_id(ext, "CAPEC-", false),
            _ => !is_prefixed_id(ext, "CVE-", true) && !is_prefixed_id(ext, "CAPEC-", false),
        };
        if ok {
            Ok(())
        } else {
            Err(rule(
                owner,
                format!(
                    "external id `{ext}` does not fit source `{}`",
                    self.source_name
                ),
            ))
        }
    }
}

// CVE-YYYY-NNNN (year plus at least four digits) or CAPEC-N, as the schema spells them.
fn is_prefixed_id(text: &str, prefix: &str, with_year: bool) -> bool {
    let Some(rest) = text.strip_prefix(prefix) else {
        return false;
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !with_year {
        return all_digits(rest);
    }
    match rest.split_once('-') {
        Some((year, num)) => {
            year.len() == 4
                && all_digits(year)
                && all_digits(num)
                && num.len() >= 4
                && !(num.len() > 4 && num.starts_with('0'))
        }
        None => false,
    }
}

/// The four Traffic Light Protocol 1.0 markings predefined by STIX 2.1 §7.2.1.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tlp {
    /// TLP:WHITE, disclosure is not limited.
    White,
    /// TLP:GREEN, limited to the community.
    Green,
    /// TLP:AMBER, limited to participants' organisations.
    Amber,
    /// TLP:RED, for the named recipients only.
    Red,
}

impl Tlp {
    /// All four levels, least restrictive first.
    pub const ALL: [Tlp; 4] = [Tlp::White, Tlp::Green, Tlp::Amber, Tlp::Red];

    /// The fixed `marking-definition--…` id the spec assigns to this level.
    pub fn id(self) -> Identifier {
        let uuid = match self {
            Tlp::White => "613f2e26-407d-48c7-9eca-b8e91df99dc9",
            Tlp::Green => "34098fce-860f-48ae-8e50-ebd3cc5e41da",
            Tlp::Amber => "f88d31f6-486f-44da-b317-01333bde0b82",
            Tlp::Red => "5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        };
        Identifier(format!("marking-definition--{uuid}"))
    }

    /// The level's lower-case word (`green`).
    pub fn word(self) -> &'static str {
        match self {
            Tlp::White => "white",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::Red => "red",
        }
    }

    /// The marking definition object exactly as the spec gives it; include it in a
    /// bundle whose objects reference [`Tlp::id`].
    pub fn marking_definition(self) -> MarkingDefinition {
        MarkingDefinition {
            object_type: "marking-definition",
            spec_version: SPEC_VERSION,
            id: self.id(),
            created_by_ref: None,
            // 2017-01-20T00:00:00.000Z, fixed by the spec for all four levels.
            created: Timestamp::from_unix_seconds(1_484_870_400),
            definition_type: "tlp".to_string(),
            name: Some(format!("TLP:{}", self.word().to_ascii_uppercase())),
            definition: serde_json::json!({ "tlp": self.word() }),
        }
    }
}

/// A data marking: one of the [`Tlp`] levels or a custom statement (copyright,
/// terms of use). Marking definitions have no `modified`: they never change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarkingDefinition {
    #[serde(rename = "type")]
    object_type: &'static str,
    spec_version: &'static str,
    id: Identifier,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by_ref: Option<Identifier>,
    #[serde(serialize_with = "ser_time")]
    created: Timestamp,
    definition_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    definition: Value,
}

setters!(MarkingDefinition {
    /// Sets a display name.
    with_name => name;
});

impl MarkingDefinition {
    /// A statement marking (`definition_type: "statement"`), e.g. a copyright notice.
    pub fn statement(created: Timestamp, statement: impl Into<String>) -> Self {
        MarkingDefinition {
            object_type: "marking-definition",
            spec_version: SPEC_VERSION,
            id: Identifier::random("marking-definition"),
            created_by_ref: None,
            created,
            definition_type: "statement".to_string(),
            name: None,
            definition: serde_json::json!({ "statement": statement.into() }),
        }
    }

    /// This marking's identifier, for `object_marking_refs`.
    pub fn id(&self) -> &Identifier {
        &self.id
    }

    /// Records the identity that created the marking.
    #[must_use]
    pub fn with_created_by(mut self, identity: &Identifier) -> Self {
        self.created_by_ref = Some(identity.clone());
        self
    }

    /// Replaces the id, e.g. with one from [`Identifier::deterministic`].
    #[must_use]
    pub fn with_id(mut self, id: Identifier) -> Self {
        self.id = id;
        self
    }

    /// Checks the spec rules the schemas cannot express.
    pub fn check(&self) -> Result<(), StixError> {
        expect_type(&self.id, "id", &self.id, &["marking-definition"])?;
        if let Some(by) = &self.created_by_ref {
            expect_type(&self.id, "created_by_ref", by, &["identity"])?;
        }
        check_time(&self.id, "created", self.created)
    }
}

/// Properties shared by every SDO and SRO.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Common {
    #[serde(rename = "type")]
    object_type: &'static str,
    spec_version: &'static str,
    id: Identifier,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by_ref: Option<Identifier>,
    #[serde(serialize_with = "ser_time")]
    created: Timestamp,
    #[serde(serialize_with = "ser_time")]
    modified: Timestamp,
    #[serde(skip_serializing_if = "is_false")]
    revoked: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    object_marking_refs: Vec<Identifier>,
}

impl Common {
    fn new(object_type: &'static str, created: Timestamp) -> Self {
        Common {
            object_type,
            spec_version: SPEC_VERSION,
            id: Identifier::random(object_type),
            created_by_ref: None,
            created,
            modified: created,
            revoked: false,
            labels: Vec::new(),
            confidence: None,
            external_references: Vec::new(),
            object_marking_refs: Vec::new(),
        }
    }

    fn check(&self) -> Result<(), StixError> {
        let id = &self.id;
        expect_type(id, "id", id, &[self.object_type])?;
        if self.modified < self.created {
            return Err(rule(id, "modified must not be earlier than created"));
        }
        check_time(id, "created", self.created)?;
        check_time(id, "modified", self.modified)?;
        if let Some(c) = self.confidence
            && c > 100
        {
            return Err(rule(id, format!("confidence {c} is above 100")));
        }
        if let Some(by) = &self.created_by_ref {
            expect_type(id, "created_by_ref", by, &["identity"])?;
        }
        for r in &self.object_marking_refs {
            expect_type(id, "object_marking_refs", r, &["marking-definition"])?;
        }
        self.external_references
            .iter()
            .try_for_each(|r| r.check(id))
    }
}

// Inherent (not trait) methods so vendors find them without importing anything.
macro_rules! common_builders {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// This object's identifier.
            pub fn id(&self) -> &Identifier {
                &self.common.id
            }

            /// When the first version of this object was created.
            pub fn created(&self) -> Timestamp {
                self.common.created
            }

            /// When this version of the object was made (defaults to `created`).
            pub fn modified(&self) -> Timestamp {
                self.common.modified
            }

            /// Replaces the id, e.g. with one from [`Identifier::deterministic`].
            #[must_use]
            pub fn with_id(mut self, id: Identifier) -> Self {
                self.common.id = id;
                self
            }

            /// Marks this as a later version made at `modified` (not before `created`).
            #[must_use]
            pub fn with_modified(mut self, modified: Timestamp) -> Self {
                self.common.modified = modified;
                self
            }

            /// Records the identity that produced this object.
            #[must_use]
            pub fn with_created_by(mut self, identity: &Identifier) -> Self {
                self.common.created_by_ref = Some(identity.clone());
                self
            }

            /// Applies a marking definition (added once however often it is given).
            #[must_use]
            pub fn with_marking(mut self, marking: &Identifier) -> Self {
                push_unique(&mut self.common.object_marking_refs, marking.clone());
                self
            }

            /// Applies a TLP level; put [`Tlp::marking_definition`] in the bundle too.
            #[must_use]
            pub fn with_tlp(self, tlp: Tlp) -> Self {
                self.with_marking(&tlp.id())
            }

            /// Adds a free-form label.
            #[must_use]
            pub fn with_label(mut self, label: impl Into<String>) -> Self {
                push_unique(&mut self.common.labels, label.into());
                self
            }

            /// Sets the producer's confidence, 0-100 (the spec's scale).
            #[must_use]
            pub fn with_confidence(mut self, confidence: u8) -> Self {
                self.common.confidence = Some(confidence);
                self
            }

            /// Adds an external reference.
            #[must_use]
            pub fn with_external_reference(mut self, reference: ExternalReference) -> Self {
                self.common.external_references.push(reference);
                self
            }

            /// Marks the object as revoked (no longer considered valid by its producer).
            #[must_use]
            pub fn with_revoked(mut self, revoked: bool) -> Self {
                self.common.revoked = revoked;
                self
            }

            /// Gives the object a UUIDv5 id over `seed` and its natural key, so that
            /// re-polling a feed yields the same id. Call it after the fields that form
            /// the key, and pass a stable `created` too: all versions of an object must
            /// share it.
            #[must_use]
            pub fn with_deterministic_id(mut self, seed: &str) -> Self {
                self.common.id = Identifier::deterministic(self.common.object_type, seed, &self.natural_key());
                self
            }
        }
    )*};
}

common_builders!(Indicator, Malware, Identity, Relationship, Sighting);

/// An indicator SDO: a detection pattern and when it is valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    #[serde(flatten)]
    common: Common,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    indicator_types: Vec<String>,
    pattern: String,
    pattern_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pattern_version: Option<&'static str>,
    #[serde(serialize_with = "ser_time")]
    valid_from: Timestamp,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    valid_until: Option<Timestamp>,
}

setters!(Indicator {
    /// Sets the name.
    with_name => name;
    /// Sets the description.
    with_description => description;
    /// Adds a type from the `indicator-type-ov` vocabulary: `anomalous-activity`,
    /// `anonymization`, `benign`, `compromised`, `malicious-activity`, `attribution`,
    /// `unknown` (other values are allowed but less interoperable).
    with_indicator_type => indicator_types list;
});

impl Indicator {
    /// An indicator for `pattern`, valid from `valid_from`.
    pub fn new(created: Timestamp, pattern: Pattern, valid_from: Timestamp) -> Self {
        let pattern_version = (pattern.pattern_type == "stix").then_some(SPEC_VERSION);
        Indicator {
            common: Common::new("indicator", created),
            name: None,
            description: None,
            indicator_types: Vec::new(),
            pattern: pattern.text,
            pattern_type: pattern.pattern_type,
            pattern_version,
            valid_from,
            valid_until: None,
        }
    }

    /// An indicator matching `observable`, named after its value or hash.
    pub fn for_observable(
        created: Timestamp,
        observable: &Observable,
        valid_from: Timestamp,
    ) -> Self {
        let mut indicator = Indicator::new(created, observable.pattern(), valid_from);
        indicator.name = observable.display_value().map(str::to_string);
        indicator
    }

    /// Sets when the indicator stops being valid; must be after `valid_from`.
    #[must_use]
    pub fn with_valid_until(mut self, valid_until: Timestamp) -> Self {
        self.valid_until = Some(valid_until);
        self
    }

    fn natural_key(&self) -> String {
        format!("{}:{}", self.pattern_type, self.pattern)
    }

    /// Checks the spec rules the schemas cannot express.
    pub fn check(&self) -> Result<(), StixError> {
        self.common.check()?;
        check_time(&self.common.id, "valid_from", self.valid_from)?;
        match self.valid_until {
            Some(until) if until <= self.valid_from => Err(rule(
                &self.common.id,
                "valid_until must be later than valid_from",
            )),
            Some(until) => check_time(&self.common.id, "valid_until", until),
            None => Ok(()),
        }
    }
}

/// A malware SDO: a family (`is_family: true`) or one instance/sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Malware {
    #[serde(flatten)]
    common: Common,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    malware_types: Vec<String>,
    is_family: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
}

setters!(Malware {
    /// Sets the description.
    with_description => description;
    /// Adds a type from `malware-type-ov` (`ransomware`, `trojan`, `bot`, `backdoor`…).
    with_malware_type => malware_types list;
    /// Adds another name the malware is known by.
    with_alias => aliases list;
});

impl Malware {
    /// A malware object; `is_family` distinguishes a family from a single instance.
    pub fn new(created: Timestamp, name: impl Into<String>, is_family: bool) -> Self {
        Malware {
            common: Common::new("malware", created),
            name: name.into(),
            description: None,
            malware_types: Vec::new(),
            is_family,
            aliases: Vec::new(),
        }
    }

    fn natural_key(&self) -> String {
        self.name.clone()
    }

    /// Checks the spec rules the schemas cannot express.
    pub fn check(&self) -> Result<(), StixError> {
        self.common.check()
    }
}

/// An identity SDO: who produced the data (use it for `created_by_ref`) or a victim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    #[serde(flatten)]
    common: Common,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity_class: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    sectors: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_information: Option<String>,
}

setters!(Identity {
    /// Sets the class from `identity-class-ov`: `individual`, `group`, `system`,
    /// `organization`, `class`, `unknown`.
    with_identity_class => identity_class;
    /// Sets the description.
    with_description => description;
    /// Adds an industry sector from `industry-sector-ov` (`financial-services`…).
    with_sector => sectors list;
    /// Sets how to contact the identity.
    with_contact_information => contact_information;
});

impl Identity {
    /// An identity called `name`.
    pub fn new(created: Timestamp, name: impl Into<String>) -> Self {
        Identity {
            common: Common::new("identity", created),
            name: name.into(),
            description: None,
            identity_class: None,
            sectors: Vec::new(),
            contact_information: None,
        }
    }

    fn natural_key(&self) -> String {
        self.name.clone()
    }

    /// Checks the spec rules the schemas cannot express.
    pub fn check(&self) -> Result<(), StixError> {
        self.common.check()
    }
}

// SROs cannot point at these: they are not things a relationship can be about.
const NOT_REFERABLE: [&str; 5] = [
    "relationship",
    "sighting",
    "bundle",
    "marking-definition",
    "language-content",
];

/// A relationship SRO: `source_ref` *relationship_type* `target_ref`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relationship {
    #[serde(flatten)]
    common: Common,
    relationship_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    source_ref: Identifier,
    target_ref: Identifier,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    start_time: Option<Timestamp>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    stop_time: Option<Timestamp>,
}

setters!(Relationship {
    /// Sets the description.
    with_description => description;
});

impl Relationship {
    /// `source` *relationship_type* `target`; common types are `indicates`
    /// (indicator → malware), `based-on` (indicator → observable), `uses`,
    /// `attributed-to`, `related-to`. Types are lower-case words joined by `-`.
    pub fn new(
        created: Timestamp,
        relationship_type: impl Into<String>,
        source: &Identifier,
        target: &Identifier,
    ) -> Self {
        Relationship {
            common: Common::new("relationship", created),
            relationship_type: relationship_type.into(),
            description: None,
            source_ref: source.clone(),
            target_ref: target.clone(),
            start_time: None,
            stop_time: None,
        }
    }

    /// Sets the period the relationship held; `stop` must be after `start`.
    #[must_use]
    pub fn with_period(mut self, start: Option<Timestamp>, stop: Option<Timestamp>) -> Self {
        self.start_time = start;
        self.stop_time = stop;
        self
    }

    fn natural_key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.relationship_type, self.source_ref, self.target_ref
        )
    }

    /// Checks the spec rules the schemas cannot express.
    pub fn check(&self) -> Result<(), StixError> {
        let id = &self.common.id;
        self.common.check()?;
        let rt = &self.relationship_type;
        if rt.is_empty()
            || !rt
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(rule(
                id,
                format!("relationship_type `{rt}` must be lower-case words joined by -"),
            ));
        }
        for (field, r) in [
            ("source_ref", &self.source_ref),
            ("target_ref", &self.target_ref),
        ] {
            if NOT_REFERABLE.contains(&r.object_type()) {
                return Err(rule(id, format!("{field} cannot reference {r}")));
            }
        }
        if let (Some(start), Some(stop)) = (self.start_time, self.stop_time)
            && stop <= start
        {
            return Err(rule(id, "stop_time must be later than start_time"));
        }
        Ok(())
    }
}

/// A sighting SRO: something (usually an indicator) was seen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sighting {
    #[serde(flatten)]
    common: Common,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    first_seen: Option<Timestamp>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_time"
    )]
    last_seen: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    sighting_of_ref: Identifier,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    where_sighted_refs: Vec<Identifier>,
}

setters!(Sighting {
    /// Sets the description.
    with_description => description;
});

impl Sighting {
    /// A sighting of the SDO `of` (an indicator, malware…).
    pub fn new(created: Timestamp, of: &Identifier) -> Self {
        Sighting {
            common: Common::new("sighting", created),
            description: None,
            first_seen: None,
            last_seen: None,
            count: None,
            sighting_of_ref: of.clone(),
            where_sighted_refs: Vec::new(),
        }
    }

    /// Sets the first and last time it was seen (`last` not before `first`).
    #[must_use]
    pub fn with_seen(mut self, first: Timestamp, last: Timestamp) -> Self {
        self.first_seen = Some(first);
        self.last_seen = Some(last);
        self
    }

    /// Sets how many times it was seen (at most 999 999 999).
    #[must_use]
    pub fn with_count(mut self, count: u32) -> Self {
        self.count = Some(count);
        self
    }

    /// Adds the identity (or location) that saw it.
    #[must_use]
    pub fn with_where_sighted(mut self, identity: &Identifier) -> Self {
        push_unique(&mut self.where_sighted_refs, identity.clone());
        self
    }

    fn natural_key(&self) -> String {
        let seen = self
            .first_seen
            .map(Timestamp::to_rfc3339_millis)
            .unwrap_or_default();
        format!("{}:{seen}", self.sighting_of_ref)
    }

    /// Checks the spec rules the schemas cannot express.
    pub fn check(&self) -> Result<(), StixError> {
        let id = &self.common.id;
        self.common.check()?;
        if NOT_REFERABLE.contains(&self.sighting_of_ref.object_type()) {
            return Err(rule(
                id,
                format!("sighting_of_ref cannot reference {}", self.sighting_of_ref),
            ));
        }
        for r in &self.where_sighted_refs {
            expect_type(id, "where_sighted_refs", r, &["identity", "location"])?;
        }
        if self.count.is_some_and(|c| c > 999_999_999) {
            return Err(rule(id, "count must be at most 999999999"));
        }
        if let (Some(first), Some(last)) = (self.first_seen, self.last_seen)
            && last < first
        {
            return Err(rule(id, "last_seen must not be earlier than first_seen"));
        }
        Ok(())
    }
}

/// A hash algorithm from the spec's `hash-algorithm-ov`, ordered by the preference
/// spec §2.9 uses to pick the one hash that contributes to a file's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgorithm {
    /// `MD5`, 32 hex digits.
    Md5,
    /// `SHA-1`, 40 hex digits.
    Sha1,
    /// `SHA-256`, 64 hex digits.
    Sha256,
    /// `SHA-512`, 128 hex digits.
    Sha512,
    /// `SHA3-256`, 64 hex digits.
    Sha3_256,
    /// `SHA3-512`, 128 hex digits.
    Sha3_512,
}

impl HashAlgorithm {
    /// The vocabulary name used as the `hashes` key (`SHA-256`).
    pub fn stix_name(self) -> &'static str {
        match self {
            HashAlgorithm::Md5 => "MD5",
            HashAlgorithm::Sha1 => "SHA-1",
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha512 => "SHA-512",
            HashAlgorithm::Sha3_256 => "SHA3-256",
            HashAlgorithm::Sha3_512 => "SHA3-512",
        }
    }

    /// How many hex digits a digest of this algorithm has.
    pub fn hex_len(self) -> usize {
        match self {
            HashAlgorithm::Md5 => 32,
            HashAlgorithm::Sha1 => 40,
            HashAlgorithm::Sha256 | HashAlgorithm::Sha3_256 => 64,
            HashAlgorithm::Sha512 | HashAlgorithm::Sha3_512 => 128,
        }
    }
}

impl Serialize for HashAlgorithm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.stix_name())
    }
}

/// What an indicator string from a feed looks like; see [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObservableKind {
    /// A single IPv4 address.
    Ipv4,
    /// An IPv4 network in CIDR notation (`10.0.0.0/8`).
    Ipv4Cidr,
    /// A single IPv6 address.
    Ipv6,
    /// An IPv6 network in CIDR notation.
    Ipv6Cidr,
    /// A domain name.
    Domain,
    /// A URL with a scheme (`https://…`).
    Url,
    /// An e-mail address.
    Email,
    /// 32 hex digits.
    Md5,
    /// 40 hex digits.
    Sha1,
    /// 64 hex digits (taken as SHA-256, by far the commonest).
    Sha256,
    /// 128 hex digits (taken as SHA-512).
    Sha512,
}

impl ObservableKind {
    /// The STIX type of the observable this kind becomes (`ipv4-addr`, `file`…).
    pub fn stix_type(self) -> &'static str {
        match self {
            ObservableKind::Ipv4 | ObservableKind::Ipv4Cidr => "ipv4-addr",
            ObservableKind::Ipv6 | ObservableKind::Ipv6Cidr => "ipv6-addr",
            ObservableKind::Domain => "domain-name",
            ObservableKind::Url => "url",
            ObservableKind::Email => "email-addr",
            ObservableKind::Md5
            | ObservableKind::Sha1
            | ObservableKind::Sha256
            | ObservableKind::Sha512 => "file",
        }
    }

    /// The hash algorithm, for the four hash kinds.
    pub fn hash_algorithm(self) -> Option<HashAlgorithm> {
        match self {
            ObservableKind::Md5 => Some(HashAlgorithm::Md5),
            ObservableKind::Sha1 => Some(HashAlgorithm::Sha1),
            ObservableKind::Sha256 => Some(HashAlgorithm::Sha256),
            ObservableKind::Sha512 => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }
}

/// Says what a feed's indicator text is, or `None` if it is none of the supported
/// kinds. Surrounding whitespace is ignored; nothing else is normalised.
pub fn classify(text: &str) -> Option<ObservableKind> {
    let t = text.trim();
    if t.len() >= 32 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return match t.len() {
            32 => Some(ObservableKind::Md5),
            40 => Some(ObservableKind::Sha1),
            64 => Some(ObservableKind::Sha256),
            128 => Some(ObservableKind::Sha512),
            _ => None,
        };
    }
    if t.parse::<Ipv4Addr>().is_ok() {
        Some(ObservableKind::Ipv4)
    } else if is_cidr::<Ipv4Addr>(t, 32) {
        Some(ObservableKind::Ipv4Cidr)
    } else if t.parse::<Ipv6Addr>().is_ok() {
        Some(ObservableKind::Ipv6)
    } else if is_cidr::<Ipv6Addr>(t, 128) {
        Some(ObservableKind::Ipv6Cidr)
    } else if is_url(t) {
        Some(ObservableKind::Url)
    } else if is_email(t) {
        Some(ObservableKind::Email)
    } else if is_domain(t) {
        Some(ObservableKind::Domain)
    } else {
        None
    }
}

fn is_cidr<A: std::str::FromStr>(t: &str, max: u32) -> bool {
    let Some((addr, prefix)) = t.split_once('/') else {
        return false;
    };
    // The schema's prefix pattern allows only plain digits without leading zeros, where
    // u32's parser would also take "08" and "+8".
    let digits = !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit());
    let canonical = digits && (prefix == "0" || !prefix.starts_with('0'));
    canonical && prefix.parse::<u32>().is_ok_and(|p| p <= max) && addr.parse::<A>().is_ok()
}

fn is_domain(t: &str) -> bool {
    let labels: Vec<&str> = t.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c == '-' || c.is_alphanumeric())
    };
    // An all-digit last label would make "1.2.3.999" a domain.
    let tld_ok = labels
        .last()
        .is_some_and(|l| !l.bytes().all(|b| b.is_ascii_digit()));
    t.len() <= 253 && labels.len() >= 2 && labels.iter().all(label_ok) && tld_ok
}

fn is_email(t: &str) -> bool {
    let Some((local, domain)) = t.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    local_ok && is_domain(domain)
}

fn is_url(t: &str) -> bool {
    let Some((scheme, rest)) = t.split_once("://") else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    scheme_ok
        && !rest.is_empty()
        && !rest.starts_with('/')
        && !t.chars().any(|c| c.is_whitespace() || c.is_control())
}

// RFC 3986 requires these characters to be percent-encoded; feeds often leave them raw
// (or use IRIs), and the schemas check `format: uri`.
fn percent_encode_url(url: &str) -> String {
    const KEEP: &str = "-._~:/?#[]@!$&'()*+,;=";
    let bytes = url.as_bytes();
    let mut out = String::with_capacity(url.len());
    for (i, &b) in bytes.iter().enumerate() {
        let escape_ok = b == b'%'
            && bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
        if b.is_ascii_alphanumeric() || KEEP.as_bytes().contains(&b) || escape_ok {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A STIX Cyber-observable Object (SCO): `ipv4-addr`, `ipv6-addr`, `domain-name`,
/// `url`, `email-addr` or `file`. Its id is derived from its content (spec §2.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observable {
    #[serde(rename = "type")]
    object_type: &'static str,
    spec_version: &'static str,
    id: Identifier,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    hashes: BTreeMap<HashAlgorithm, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    object_marking_refs: Vec<Identifier>,
}

impl Observable {
    fn build(object_type: &'static str, value: Option<String>) -> Self {
        let mut o = Observable {
            object_type,
            spec_version: SPEC_VERSION,
            id: Identifier(String::new()),
            value,
            hashes: BTreeMap::new(),
            name: None,
            object_marking_refs: Vec::new(),
        };
        o.id = o.content_id();
        o
    }

    /// An `ipv4-addr`: a single address or a CIDR network.
    pub fn ipv4(addr: &str) -> Result<Self, StixError> {
        Self::of_kind(ObservableKind::Ipv4, addr)
    }

    /// An `ipv6-addr`: a single address or a CIDR network.
    pub fn ipv6(addr: &str) -> Result<Self, StixError> {
        Self::of_kind(ObservableKind::Ipv6, addr)
    }

    /// A `domain-name`.
    pub fn domain(name: &str) -> Result<Self, StixError> {
        Self::of_kind(ObservableKind::Domain, name)
    }

    /// A `url`. Characters RFC 3986 does not allow unescaped (non-ASCII, `"`, `\`,
    /// `{`…) are percent-encoded, so the value may differ from the input.
    pub fn url(url: &str) -> Result<Self, StixError> {
        Self::of_kind(ObservableKind::Url, url)
    }

    /// An `email-addr`.
    pub fn email(addr: &str) -> Result<Self, StixError> {
        Self::of_kind(ObservableKind::Email, addr)
    }

    /// A `file` known by one hash; add more with [`Observable::with_hash`].
    pub fn file_hash(algorithm: HashAlgorithm, hex: &str) -> Result<Self, StixError> {
        let mut o = Self::build("file", None);
        o.insert_hash(algorithm, hex)?;
        Ok(o)
    }

    /// The observable `text` is, as [`classify`] decides.
    pub fn detect(text: &str) -> Option<Self> {
        classify(text).and_then(|kind| Self::of_kind(kind, text).ok())
    }

    /// The observable of a known `kind` for `text` (surrounding whitespace ignored).
    /// The IPv4 and IPv6 kinds each accept both plain addresses and CIDR networks.
    pub fn of_kind(kind: ObservableKind, text: &str) -> Result<Self, StixError> {
        use ObservableKind as K;
        let t = text.trim();
        if let Some(algorithm) = kind.hash_algorithm() {
            return Self::file_hash(algorithm, t);
        }
        let (valid, what) = match kind {
            K::Ipv4 | K::Ipv4Cidr => (
                t.parse::<Ipv4Addr>().is_ok() || is_cidr::<Ipv4Addr>(t, 32),
                "IPv4 address",
            ),
            K::Ipv6 | K::Ipv6Cidr => (
                t.parse::<Ipv6Addr>().is_ok() || is_cidr::<Ipv6Addr>(t, 128),
                "IPv6 address",
            ),
            K::Domain => (is_domain(t), "domain name"),
            K::Url => (is_url(t), "URL"),
            K::Email => (is_email(t), "e-mail address"),
            K::Md5 | K::Sha1 | K::Sha256 | K::Sha512 => (false, "hash"),
        };
        if !valid {
            return Err(invalid(what, text));
        }
        let value = if kind == K::Url {
            percent_encode_url(t)
        } else {
            t.to_string()
        };
        Ok(Self::build(kind.stix_type(), Some(value)))
    }

    fn insert_hash(&mut self, algorithm: HashAlgorithm, hex: &str) -> Result<(), StixError> {
        let t = hex.trim();
        if self.object_type != "file" {
            return Err(invalid(
                "observable for a hash (only files have hashes)",
                self.id.as_str(),
            ));
        }
        if t.len() != algorithm.hex_len() || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(algorithm.stix_name(), hex));
        }
        self.hashes.insert(algorithm, t.to_string());
        self.id = self.content_id();
        Ok(())
    }

    /// Adds another hash of the same file (the id may change: it is content-derived).
    pub fn with_hash(mut self, algorithm: HashAlgorithm, hex: &str) -> Result<Self, StixError> {
        self.insert_hash(algorithm, hex)?;
        Ok(self)
    }

    /// Sets a file's name; the name contributes to the id. Fails on other types.
    pub fn with_file_name(mut self, name: impl Into<String>) -> Result<Self, StixError> {
        if self.object_type != "file" {
            return Err(invalid("observable for a file name", self.id.as_str()));
        }
        self.name = Some(name.into());
        self.id = self.content_id();
        Ok(self)
    }

    /// Applies a marking definition (does not change the id).
    #[must_use]
    pub fn with_marking(mut self, marking: &Identifier) -> Self {
        push_unique(&mut self.object_marking_refs, marking.clone());
        self
    }

    /// Applies a TLP level (does not change the id).
    #[must_use]
    pub fn with_tlp(self, tlp: Tlp) -> Self {
        self.with_marking(&tlp.id())
    }

    /// The content-derived identifier.
    pub fn id(&self) -> &Identifier {
        &self.id
    }

    /// The STIX type (`ipv4-addr`, `file`…).
    pub fn object_type(&self) -> &'static str {
        self.object_type
    }

    /// The `value` of address, domain and URL observables.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }

    /// A file's hash for `algorithm`, if known.
    pub fn hash(&self, algorithm: HashAlgorithm) -> Option<&str> {
        self.hashes.get(&algorithm).map(String::as_str)
    }

    // What a person would call this observable: its value, else its preferred hash.
    fn display_value(&self) -> Option<&str> {
        self.value
            .as_deref()
            .or_else(|| self.hashes.values().next().map(String::as_str))
            .or(self.name.as_deref())
    }

    // Spec §2.9: UUIDv5 over the canonical JSON of the ID-contributing properties
    // (`value`; for files `hashes` reduced to the single preferred hash, and `name`).
    // Written by hand, members pushed in sorted key order, rather than through
    // serde_json::Value, whose key order depends on a cargo feature (preserve_order)
    // that any other crate in the build may switch on.
    fn content_id(&self) -> Identifier {
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let mut members: Vec<(&str, String)> = Vec::new();
        if let Some((alg, hex)) = self.hashes.iter().next() {
            members.push((
                "hashes",
                format!("{{{}:{}}}", quote(alg.stix_name()), quote(hex)),
            ));
        }
        if let Some(name) = &self.name {
            members.push(("name", quote(name)));
        }
        if let Some(value) = &self.value {
            members.push(("value", quote(value)));
        }
        let body: Vec<String> = members
            .iter()
            .map(|(k, v)| format!("{}:{v}", quote(k)))
            .collect();
        let canonical = format!("{{{}}}", body.join(","));
        Identifier(format!(
            "{}--{}",
            self.object_type,
            Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes())
        ))
    }

    /// The comparisons that match this observable: `value = '…'`, or one per file hash.
    pub fn comparisons(&self) -> Vec<Comparison> {
        let t = self.object_type;
        if let Some(value) = &self.value {
            return vec![Comparison::equals(t, &["value"], value)];
        }
        let mut out: Vec<Comparison> = self
            .hashes
            .iter()
            .map(|(alg, hex)| Comparison::equals(t, &["hashes", alg.stix_name()], hex))
            .collect();
        if let (true, Some(name)) = (out.is_empty(), &self.name) {
            out.push(Comparison::equals(t, &["name"], name));
        }
        out
    }

    /// The STIX pattern matching this observable: `[ipv4-addr:value = '198.51.100.3']`;
    /// a file with several hashes matches on any of them.
    pub fn pattern(&self) -> Pattern {
        // Constructors guarantee a value, hash or name, so this is never empty.
        let comparisons = self.comparisons();
        let parts: Vec<&str> = comparisons.iter().map(Comparison::as_str).collect();
        Pattern::stix(format!("[{}]", parts.join(" OR ")))
    }

    /// Checks the spec rules the schemas cannot express.
    pub fn check(&self) -> Result<(), StixError> {
        for r in &self.object_marking_refs {
            expect_type(&self.id, "object_marking_refs", r, &["marking-definition"])?;
        }
        Ok(())
    }
}

/// One comparison of the STIX patterning language, `object:path OP 'literal'`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Comparison(String);

impl Comparison {
    /// `object_type:path = 'value'`; `path` is the property path, e.g. `["value"]` or
    /// `["hashes", "SHA-256"]` (rendered `hashes.'SHA-256'`).
    pub fn equals(object_type: &str, path: &[&str], value: &str) -> Self {
        Self::with_operator(object_type, path, "=", value)
    }

    /// `object_type:path ISSUBSET 'cidr'`: matches every address inside the network,
    /// where `=` only matches the network object itself.
    pub fn is_subset(object_type: &str, path: &[&str], cidr: &str) -> Self {
        Self::with_operator(object_type, path, "ISSUBSET", cidr)
    }

    fn with_operator(object_type: &str, path: &[&str], operator: &str, value: &str) -> Self {
        let path: Vec<String> = path.iter().map(|p| property_name(p)).collect();
        Comparison(format!(
            "{object_type}:{} {operator} {}",
            path.join("."),
            string_literal(value)
        ))
    }

    /// The comparison as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Names outside [A-Za-z0-9_] must be single-quoted in an object path.
fn property_name(name: &str) -> String {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        name.to_string()
    } else {
        string_literal(name)
    }
}

fn string_literal(value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
    format!("'{escaped}'")
}

/// An indicator pattern and the language it is written in (`stix` unless made with
/// [`Pattern::other`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pattern {
    pattern_type: String,
    text: String,
}

impl Pattern {
    fn stix(text: String) -> Self {
        Pattern {
            pattern_type: "stix".to_string(),
            text,
        }
    }

    /// One observation matching any of `comparisons` (`[a OR b OR c]`); `None` if
    /// there are none. The comparisons may be about different object types.
    pub fn any_of(comparisons: impl IntoIterator<Item = Comparison>) -> Option<Self> {
        let parts: Vec<String> = comparisons.into_iter().map(|c| c.0).collect();
        (!parts.is_empty()).then(|| Pattern::stix(format!("[{}]", parts.join(" OR "))))
    }

    /// A pattern written by hand, in STIX (`pattern_type` `stix`) or another language
    /// from `pattern-type-ov` (`pcre`, `sigma`, `snort`, `suricata`, `yara`). Not checked.
    pub fn other(pattern_type: impl Into<String>, text: impl Into<String>) -> Self {
        Pattern {
            pattern_type: pattern_type.into(),
            text: text.into(),
        }
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The pattern language.
    pub fn pattern_type(&self) -> &str {
        &self.pattern_type
    }
}

impl From<Comparison> for Pattern {
    fn from(c: Comparison) -> Self {
        Pattern::stix(format!("[{}]", c.0))
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A STIX object this module has no type for, kept as JSON (checked only for a
/// `type` and a matching `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct RawObject {
    id: Identifier,
    value: Value,
}

impl RawObject {
    /// Wraps `value`, which must be a JSON object with `type` and a matching `id`.
    pub fn new(value: Value) -> Result<Self, StixError> {
        let text = |key: &str| value.get(key).and_then(Value::as_str);
        let object_type =
            text("type").ok_or_else(|| invalid("STIX object (no `type`)", &value.to_string()))?;
        let id = Identifier::parse(text("id").unwrap_or(""))?;
        if id.object_type() != object_type {
            return Err(rule(&id, format!("id does not match type `{object_type}`")));
        }
        Ok(RawObject { id, value })
    }
}

impl Serialize for RawObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

/// Any object a [`Bundle`] can hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StixObject {
    /// An indicator SDO.
    Indicator(Indicator),
    /// A malware SDO.
    Malware(Malware),
    /// An identity SDO.
    Identity(Identity),
    /// A relationship SRO.
    Relationship(Relationship),
    /// A sighting SRO.
    Sighting(Sighting),
    /// A marking definition.
    MarkingDefinition(MarkingDefinition),
    /// A cyber-observable (SCO).
    Observable(Observable),
    /// Any other object, as JSON.
    Raw(RawObject),
}

impl StixObject {
    /// The object's identifier.
    pub fn id(&self) -> &Identifier {
        match self {
            StixObject::Indicator(o) => o.id(),
            StixObject::Malware(o) => o.id(),
            StixObject::Identity(o) => o.id(),
            StixObject::Relationship(o) => o.id(),
            StixObject::Sighting(o) => o.id(),
            StixObject::MarkingDefinition(o) => o.id(),
            StixObject::Observable(o) => o.id(),
            StixObject::Raw(o) => &o.id,
        }
    }

    /// Checks the spec rules the schemas cannot express.
    pub fn check(&self) -> Result<(), StixError> {
        match self {
            StixObject::Indicator(o) => o.check(),
            StixObject::Malware(o) => o.check(),
            StixObject::Identity(o) => o.check(),
            StixObject::Relationship(o) => o.check(),
            StixObject::Sighting(o) => o.check(),
            StixObject::MarkingDefinition(o) => o.check(),
            StixObject::Observable(o) => o.check(),
            StixObject::Raw(_) => Ok(()),
        }
    }
}

macro_rules! into_stix_object {
    ($($ty:ident),*) => {$(
        impl From<$ty> for StixObject {
            fn from(o: $ty) -> Self {
                StixObject::$ty(o)
            }
        }
    )*};
}

into_stix_object!(
    Indicator,
    Malware,
    Identity,
    Relationship,
    Sighting,
    MarkingDefinition,
    Observable
);

impl From<RawObject> for StixObject {
    fn from(o: RawObject) -> Self {
        StixObject::Raw(o)
    }
}

/// A STIX bundle: the envelope a connector ships. It has no `spec_version` (2.1
/// removed it from bundles) and holds each id once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bundle {
    #[serde(rename = "type")]
    object_type: &'static str,
    id: Identifier,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    objects: Vec<StixObject>,
    #[serde(skip)]
    index: HashMap<Identifier, usize>,
}

impl Default for Bundle {
    fn default() -> Self {
        Bundle::new()
    }
}

impl Bundle {
    /// An empty bundle with a random id.
    pub fn new() -> Self {
        Bundle {
            object_type: "bundle",
            id: Identifier::random("bundle"),
            objects: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// The bundle's identifier.
    pub fn id(&self) -> &Identifier {
        &self.id
    }

    /// Adds an object. An object whose id is already present replaces the earlier one
    /// in place, so adding the same observable or TLP marking for every feed row is
    /// harmless.
    pub fn add(&mut self, object: impl Into<StixObject>) -> &mut Self {
        let object = object.into();
        match self.index.get(object.id()) {
            Some(&i) => {
                if let Some(slot) = self.objects.get_mut(i) {
                    *slot = object;
                }
            }
            None => {
                self.index.insert(object.id().clone(), self.objects.len());
                self.objects.push(object);
            }
        }
        self
    }

    /// Adds an object given as JSON (see [`RawObject::new`] for what is checked).
    pub fn add_raw(&mut self, value: Value) -> Result<&mut Self, StixError> {
        Ok(self.add(RawObject::new(value)?))
    }

    /// The object with this id, if present.
    pub fn get(&self, id: &Identifier) -> Option<&StixObject> {
        self.index.get(id).and_then(|&i| self.objects.get(i))
    }

    /// The objects, in the order first added.
    pub fn objects(&self) -> &[StixObject] {
        &self.objects
    }

    /// How many objects the bundle holds.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// Whether the bundle holds no objects.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Checks every object against the spec rules the schemas cannot express.
    pub fn check(&self) -> Result<(), StixError> {
        self.objects.iter().try_for_each(StixObject::check)
    }

    /// The bundle as compact JSON, after [`Bundle::check`].
    pub fn to_json(&self) -> Result<String, StixError> {
        self.check()?;
        serde_json::to_string(self).map_err(|e| StixError::Json(e.to_string()))
    }

    /// The bundle as a JSON value, after [`Bundle::check`].
    pub fn to_value(&self) -> Result<Value, StixError> {
        self.check()?;
        serde_json::to_value(self).map_err(|e| StixError::Json(e.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

    fn t(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    fn json(object: &impl Serialize) -> Value {
        serde_json::to_value(object).unwrap()
    }

    #[test]
    fn sco_ids_match_the_python_stix2_library() {
        // Each expected id was printed by stix2 3.0.2, e.g.
        // `stix2.IPv4Address(value="198.51.100.3").id`.
        let cases = [
            (
                Observable::ipv4("198.51.100.3"),
                "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4",
            ),
            (
                Observable::ipv4("10.0.0.1"),
                "ipv4-addr--7dd44d27-f473-5ba9-b12b-0d3a61bbed2e",
            ),
            (
                Observable::ipv4("10.0.0.0/8"),
                "ipv4-addr--86428b07-0841-50f5-884f-260544a6ebee",
            ),
            (
                Observable::ipv6("2001:db8::1"),
                "ipv6-addr--6469e3a9-b053-5e34-a025-9396ae051d26",
            ),
            (
                Observable::domain("example.com"),
                "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7",
            ),
            (
                Observable::domain("bücher.example"),
                "domain-name--dbf3aff2-b3cd-57d2-9616-0ddfde9d01ad",
            ),
            (
                Observable::url("https://example.com/a?b=c&d='e'"),
                "url--06e9301a-f058-5a9e-8b19-2d4edc8300c5",
            ),
            (
                Observable::email("jdoe@example.com"),
                "email-addr--6deb37bd-12b7-54ae-805f-5f7146f3d171",
            ),
            (
                Observable::file_hash(HashAlgorithm::Sha256, SHA256),
                "file--22f8ff52-8f62-5f03-a53a-6f50f54fd74c",
            ),
            (
                Observable::file_hash(
                    HashAlgorithm::Sha1,
                    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                ),
                "file--fa6e66a5-f019-51f9-8ab5-812023e58c6e",
            ),
            // MD5 is preferred over SHA-256 whatever the insertion order.
            (
                Observable::file_hash(HashAlgorithm::Sha256, SHA256)
                    .and_then(|f| f.with_hash(HashAlgorithm::Md5, MD5)),
                "file--02fff920-f614-527c-81d1-6353633a6d21",
            ),
            (
                Observable::file_hash(HashAlgorithm::Sha256, SHA256)
                    .and_then(|f| f.with_file_name("evil.exe")),
                "file--ea77c8f6-0159-59c7-9a67-9b96bdb2af91",
            ),
        ];
        for (observable, expected) in cases {
            assert_eq!(observable.unwrap().id().as_str(), expected);
        }
    }

    #[test]
    fn url_values_are_percent_encoded_before_hashing() {
        // stix2: URL(value="http://example.com/%C3%BC%22").id
        let url = Observable::url("http://example.com/ü\"").unwrap();
        assert_eq!(url.value(), Some("http://example.com/%C3%BC%22"));
        assert_eq!(
            url.id().as_str(),
            "url--d4fa63bb-c0fd-5644-95e1-68c0094fc1dd"
        );
        let kept = Observable::url("http://x.example/a%20b?q=1").unwrap();
        assert_eq!(kept.value(), Some("http://x.example/a%20b?q=1"));
        assert_eq!(
            Observable::url("http://x.example/100%").unwrap().value(),
            Some("http://x.example/100%25")
        );
    }

    #[test]
    fn sco_namespace_constant_matches_the_uuid() {
        assert_eq!(SCO_NAMESPACE.to_string(), SCO_ID_NAMESPACE);
    }

    #[test]
    fn patterns_escape_literals_and_quote_property_names() {
        let c = Comparison::equals("file", &["name"], r"it's a \ path");
        assert_eq!(c.as_str(), r"file:name = 'it\'s a \\ path'");
        let c = Comparison::equals("file", &["hashes", "SHA-256"], SHA256);
        assert_eq!(c.as_str(), format!("file:hashes.'SHA-256' = '{SHA256}'"));
        let c = Comparison::equals("file", &["hashes", "MD5"], MD5);
        assert_eq!(c.as_str(), format!("file:hashes.MD5 = '{MD5}'"));
        assert_eq!(
            Comparison::is_subset("ipv4-addr", &["value"], "10.0.0.0/8").as_str(),
            "ipv4-addr:value ISSUBSET '10.0.0.0/8'"
        );
    }

    #[test]
    fn observables_produce_their_patterns() {
        let cases = [
            ("198.51.100.3", "[ipv4-addr:value = '198.51.100.3']"),
            ("10.0.0.0/8", "[ipv4-addr:value = '10.0.0.0/8']"),
            ("2001:db8::/32", "[ipv6-addr:value = '2001:db8::/32']"),
            ("evil.example", "[domain-name:value = 'evil.example']"),
            (
                "http://evil.example/x'y",
                r"[url:value = 'http://evil.example/x\'y']",
            ),
            (
                "o'brien@example.com",
                r"[email-addr:value = 'o\'brien@example.com']",
            ),
            (
                SHA256,
                "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
            ),
        ];
        for (text, pattern) in cases {
            assert_eq!(
                Observable::detect(text).unwrap().pattern().as_str(),
                pattern,
                "{text}"
            );
        }
        let file = Observable::file_hash(HashAlgorithm::Sha256, SHA256)
            .unwrap()
            .with_hash(HashAlgorithm::Md5, MD5)
            .unwrap();
        assert_eq!(
            file.pattern().as_str(),
            format!("[file:hashes.MD5 = '{MD5}' OR file:hashes.'SHA-256' = '{SHA256}']")
        );
    }

    #[test]
    fn any_of_joins_comparisons_with_or() {
        let ip = Observable::ipv4("198.51.100.3").unwrap();
        let domain = Observable::domain("evil.example").unwrap();
        let p = Pattern::any_of(ip.comparisons().into_iter().chain(domain.comparisons())).unwrap();
        assert_eq!(
            p.as_str(),
            "[ipv4-addr:value = '198.51.100.3' OR domain-name:value = 'evil.example']"
        );
        assert_eq!(p.pattern_type(), "stix");
        assert!(Pattern::any_of([]).is_none());
        let single: Pattern = Comparison::equals("url", &["value"], "http://a.example/").into();
        assert_eq!(single.as_str(), "[url:value = 'http://a.example/']");
    }

    #[test]
    fn classify_recognises_feed_values() {
        use ObservableKind as K;
        let cases = [
            ("1.2.3.4", Some(K::Ipv4)),
            (" 198.51.100.3\n", Some(K::Ipv4)),
            ("10.0.0.0/8", Some(K::Ipv4Cidr)),
            ("10.0.0.0/33", None),
            ("10.0.0.0/08", None),
            ("10.0.0.0/+8", None),
            ("10.0.0.0/", None),
            ("0.0.0.0/0", Some(K::Ipv4Cidr)),
            ("01.2.3.4", None),
            ("256.1.1.1", None),
            ("2001:db8::1", Some(K::Ipv6)),
            ("2001:db8::/32", Some(K::Ipv6Cidr)),
            ("example.com", Some(K::Domain)),
            ("sub-1.xn--bcher-kva.example", Some(K::Domain)),
            ("bücher.example", Some(K::Domain)),
            ("-bad.example", None),
            ("localhost", None),
            ("1.2.3.999", None),
            ("https://example.com/path?q=1", Some(K::Url)),
            ("hxxp://defanged.example/", Some(K::Url)),
            ("http://", None),
            ("http://a b.example/", None),
            ("jdoe@example.com", Some(K::Email)),
            ("jdoe@@example.com", None),
            (MD5, Some(K::Md5)),
            ("da39a3ee5e6b4b0d3255bfef95601890afd80709", Some(K::Sha1)),
            (SHA256, Some(K::Sha256)),
            (&"ab".repeat(64), Some(K::Sha512)),
            (&"ab".repeat(17), None),
            ("", None),
            ("not an indicator", None),
        ];
        for (text, kind) in cases {
            assert_eq!(classify(text), kind, "{text:?}");
        }
        assert_eq!(K::Sha256.stix_type(), "file");
        assert_eq!(K::Ipv4Cidr.stix_type(), "ipv4-addr");
        assert_eq!(K::Md5.hash_algorithm(), Some(HashAlgorithm::Md5));
    }

    #[test]
    fn observable_constructors_reject_bad_values() {
        assert!(Observable::ipv4("1.2.3").is_err());
        assert!(Observable::ipv6("1.2.3.4").is_err());
        assert!(Observable::domain("no spaces.example").is_err());
        assert!(Observable::url("example.com/no-scheme").is_err());
        assert!(Observable::email("nobody").is_err());
        assert!(Observable::file_hash(HashAlgorithm::Sha256, MD5).is_err());
        assert!(
            Observable::file_hash(HashAlgorithm::Md5, "zz41d8cd98f00b204e9800998ecf8427").is_err()
        );
        let ip = Observable::ipv4("1.2.3.4").unwrap();
        assert!(ip.clone().with_hash(HashAlgorithm::Md5, MD5).is_err());
        assert!(ip.with_file_name("x").is_err());
        let err = Observable::ipv4("1.2.3").unwrap_err().to_string();
        assert_eq!(err, "`1.2.3` is not a valid IPv4 address");
    }

    #[test]
    fn timestamps_serialize_with_milliseconds() {
        let created = t("2024-01-02T03:04:05Z");
        let ind = Indicator::new(
            created,
            Observable::ipv4("1.2.3.4").unwrap().pattern(),
            t("2024-01-02T03:04:05.5Z"),
        )
        .with_valid_until(t("2025-01-01"));
        let v = json(&ind);
        assert_eq!(v["created"], "2024-01-02T03:04:05.000Z");
        assert_eq!(v["modified"], "2024-01-02T03:04:05.000Z");
        assert_eq!(v["valid_from"], "2024-01-02T03:04:05.500Z");
        assert_eq!(v["valid_until"], "2025-01-01T00:00:00.000Z");
        let later = ind.with_modified(t("2024-02-01T00:00:00.123Z"));
        assert_eq!(json(&later)["modified"], "2024-02-01T00:00:00.123Z");
    }

    #[test]
    fn empty_and_absent_fields_are_omitted() {
        let created = t("2024-01-02T03:04:05Z");
        let ind = Indicator::new(
            created,
            Pattern::other("stix", "[url:value = 'x']"),
            created,
        );
        let v = json(&ind);
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "created",
                "id",
                "modified",
                "pattern",
                "pattern_type",
                "pattern_version",
                "spec_version",
                "type",
                "valid_from"
            ]
        );
        let text = serde_json::to_string(&ind).unwrap();
        assert!(!text.contains("null") && !text.contains("[]"), "{text}");
        let ip = json(&Observable::ipv4("1.2.3.4").unwrap());
        assert_eq!(ip.as_object().unwrap().len(), 4, "{ip}");
        assert!(ip.get("created").is_none());
        assert_eq!(ip["spec_version"], "2.1");
        let bundle = json(&Bundle::new());
        assert!(bundle.get("objects").is_none() && bundle.get("spec_version").is_none());
    }

    #[test]
    fn full_indicator_json_is_as_expected() {
        let created = t("2024-01-02T03:04:05.678Z");
        let me = Identity::new(created, "Example Feed").with_identity_class("organization");
        let ind = Indicator::for_observable(
            created,
            &Observable::domain("evil.example").unwrap(),
            created,
        )
        .with_indicator_type("malicious-activity")
        .with_indicator_type("malicious-activity")
        .with_description("C2 domain")
        .with_created_by(me.id())
        .with_tlp(Tlp::Amber)
        .with_tlp(Tlp::Amber)
        .with_label("c2")
        .with_confidence(80)
        .with_external_reference(ExternalReference::new("feed").with_url("https://feed.example/1"))
        .with_deterministic_id("example-feed");
        let v = json(&ind);
        assert_eq!(v["type"], "indicator");
        assert_eq!(v["name"], "evil.example");
        assert_eq!(
            v["indicator_types"],
            serde_json::json!(["malicious-activity"])
        );
        assert_eq!(
            v["object_marking_refs"],
            serde_json::json!([Tlp::Amber.id()])
        );
        assert_eq!(v["created_by_ref"], me.id().as_str());
        assert_eq!(v["confidence"], 80);
        assert_eq!(v["labels"], serde_json::json!(["c2"]));
        assert_eq!(v["external_references"][0]["url"], "https://feed.example/1");
        assert_eq!(v["pattern"], "[domain-name:value = 'evil.example']");
        assert!(ind.check().is_ok());
    }

    #[test]
    fn tlp_markings_are_exactly_the_spec_objects() {
        let expected = [
            (
                Tlp::White,
                "613f2e26-407d-48c7-9eca-b8e91df99dc9",
                "white",
                "WHITE",
            ),
            (
                Tlp::Green,
                "34098fce-860f-48ae-8e50-ebd3cc5e41da",
                "green",
                "GREEN",
            ),
            (
                Tlp::Amber,
                "f88d31f6-486f-44da-b317-01333bde0b82",
                "amber",
                "AMBER",
            ),
            (
                Tlp::Red,
                "5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
                "red",
                "RED",
            ),
        ];
        for (tlp, uuid, word, upper) in expected {
            assert_eq!(tlp.id().as_str(), format!("marking-definition--{uuid}"));
            let text = serde_json::to_string(&tlp.marking_definition()).unwrap();
            assert_eq!(
                text,
                format!(
                    "{{\"type\":\"marking-definition\",\"spec_version\":\"2.1\",\
                     \"id\":\"marking-definition--{uuid}\",\"created\":\"2017-01-20T00:00:00.000Z\",\
                     \"definition_type\":\"tlp\",\"name\":\"TLP:{upper}\",\"definition\":{{\"tlp\":\"{word}\"}}}}"
                )
            );
            assert!(tlp.marking_definition().check().is_ok());
        }
        assert_eq!(Tlp::ALL.len(), 4);
    }

    #[test]
    fn deterministic_ids_are_stable_v5_and_scoped() {
        let created = t("2024-01-01");
        let make = |seed: &str| {
            Indicator::new(
                created,
                Observable::ipv4("1.2.3.4").unwrap().pattern(),
                created,
            )
            .with_deterministic_id(seed)
        };
        let a = make("feed-a");
        assert_eq!(a.id(), make("feed-a").id());
        assert_ne!(a.id(), make("feed-b").id());
        let parsed = Identifier::parse(a.id().as_str()).unwrap();
        assert_eq!(parsed.object_type(), "indicator");
        assert_eq!(
            Uuid::parse_str(&a.id().as_str()["indicator--".len()..])
                .unwrap()
                .get_version_num(),
            5
        );
        // Same key, different type: different UUIDs, not just different prefixes.
        let m = Malware::new(created, "x", true).with_deterministic_id("s");
        let i = Identity::new(created, "x").with_deterministic_id("s");
        assert_ne!(
            m.id().as_str()["malware--".len()..],
            i.id().as_str()["identity--".len()..]
        );
        // Pinned (computed with Python's uuid.uuid5) so that a refactor cannot silently
        // change the ids every connector has already published.
        assert_eq!(
            a.id().as_str(),
            "indicator--07753f71-e3d5-592a-845e-0eb06cc7eab1"
        );
    }

    #[test]
    fn identifiers_are_parsed_strictly() {
        assert!(Identifier::parse("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_ok());
        for bad in [
            "indicator",
            "Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f",
            "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f",
            "indicator--not-a-uuid",
            "x--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        ] {
            assert!(Identifier::parse(bad).is_err(), "{bad}");
        }
        assert!(
            Identifier::random("malware")
                .as_str()
                .starts_with("malware--")
        );
    }

    #[test]
    fn spec_rules_outside_the_schemas_are_checked() {
        let created = t("2024-01-02T00:00:00Z");
        let pattern = || Observable::ipv4("1.2.3.4").unwrap().pattern();
        let ind = Indicator::new(created, pattern(), created);
        assert!(ind.clone().with_modified(t("2024-01-01")).check().is_err());
        assert!(ind.clone().with_valid_until(created).check().is_err());
        assert!(ind.clone().with_confidence(101).check().is_err());
        assert!(ind.clone().with_created_by(&Tlp::Red.id()).check().is_err());
        assert!(ind.clone().with_marking(ind.id()).check().is_err());
        assert!(
            ind.clone()
                .with_id(Identifier::random("malware"))
                .check()
                .is_err()
        );
        assert!(
            ind.clone()
                .with_external_reference(ExternalReference::new("feed"))
                .check()
                .is_err()
        );
        let cve = |source: &str, id: &str| {
            ind.clone()
                .with_external_reference(ExternalReference::new(source).with_external_id(id))
                .check()
                .is_ok()
        };
        assert!(cve("cve", "CVE-2021-44228"));
        assert!(!cve("nvd", "CVE-2021-44228"));
        assert!(!cve("cve", "44228"));
        assert!(cve("capec", "CAPEC-66"));
        let marking = Tlp::Green.id();
        assert!(
            Relationship::new(created, "indicates", ind.id(), &marking)
                .check()
                .is_err()
        );
        assert!(
            Relationship::new(created, "Indicates", ind.id(), ind.id())
                .check()
                .is_err()
        );
        let rel = Relationship::new(created, "related-to", ind.id(), ind.id());
        assert!(
            rel.clone()
                .with_period(Some(created), Some(created))
                .check()
                .is_err()
        );
        assert!(rel.check().is_ok());
        let sighting = Sighting::new(created, ind.id());
        assert!(
            sighting
                .clone()
                .with_seen(created, t("2024-01-01"))
                .check()
                .is_err()
        );
        assert!(sighting.clone().with_count(1_000_000_000).check().is_err());
        assert!(
            sighting
                .clone()
                .with_where_sighted(ind.id())
                .check()
                .is_err()
        );
        assert!(Sighting::new(created, &marking).check().is_err());
        assert!(
            Indicator::new(t("0000-01-01").add_millis(-1), pattern(), created)
                .check()
                .is_err()
        );

        let mut bundle = Bundle::new();
        bundle.add(ind.with_confidence(101));
        let err = bundle.to_json().unwrap_err();
        assert!(
            err.to_string().contains("confidence 101 is above 100"),
            "{err}"
        );
    }

    #[test]
    fn bundle_keeps_one_object_per_id_and_accepts_raw_json() {
        let created = t("2024-01-02T00:00:00Z");
        let mut bundle = Bundle::new();
        bundle
            .add(Tlp::Green.marking_definition())
            .add(Observable::ipv4("1.2.3.4").unwrap())
            .add(Observable::ipv4(" 1.2.3.4 ").unwrap().with_tlp(Tlp::Green))
            .add(Tlp::Green.marking_definition());
        assert_eq!(bundle.len(), 2);
        let ip = Observable::ipv4("1.2.3.4").unwrap();
        match bundle.get(ip.id()) {
            Some(StixObject::Observable(o)) => {
                assert_eq!(o.object_marking_refs, vec![Tlp::Green.id()])
            }
            other => panic!("{other:?}"),
        }
        let note = serde_json::json!({
            "type": "note", "spec_version": "2.1", "id": "note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
            "created": "2024-01-02T00:00:00.000Z", "modified": "2024-01-02T00:00:00.000Z",
            "content": "seen in the wild", "object_refs": [ip.id()],
        });
        bundle.add_raw(note.clone()).unwrap();
        assert!(bundle.add_raw(serde_json::json!({"type": "note", "id": "indicator--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"})).is_err());
        assert!(bundle.add_raw(serde_json::json!({"id": "x"})).is_err());
        assert!(bundle.add_raw(serde_json::json!([])).is_err());
        bundle.add(Malware::new(created, "Emotet", true));
        let v = bundle.to_value().unwrap();
        assert_eq!(v["type"], "bundle");
        assert!(v["id"].as_str().unwrap().starts_with("bundle--"));
        assert_eq!(v["objects"].as_array().unwrap().len(), 4);
        assert_eq!(v["objects"][2], note);
        assert_eq!(bundle.objects()[0].id(), &Tlp::Green.id());
        assert!(!bundle.is_empty());
    }

    #[test]
    fn module_doc_example_builds() {
        let now = t("2024-05-06T07:08:09.010Z");
        let run = || -> Result<String, StixError> {
            let me = Identity::new(now, "Example Feed").with_identity_class("organization");
            let ip = Observable::ipv4("198.51.100.3")?;
            let ind = Indicator::for_observable(now, &ip, now)
                .with_indicator_type("malicious-activity")
                .with_created_by(me.id())
                .with_tlp(Tlp::Green)
                .with_deterministic_id("example-feed");
            let mut bundle = Bundle::new();
            bundle
                .add(Tlp::Green.marking_definition())
                .add(me)
                .add(ip)
                .add(ind);
            bundle.to_json()
        };
        let json = run().unwrap();
        assert!(
            json.contains("[ipv4-addr:value = '198.51.100.3']"),
            "{json}"
        );
    }
}
