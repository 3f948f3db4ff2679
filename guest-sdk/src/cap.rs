//! OASIS CAP 1.2 (Common Alerting Protocol) alerts, built with typed builders and
//! written as XML.
//!
//! Connectors that relay warnings (weather services, civil protection, sensor
//! networks…) describe an alert with [`Alert`], [`Info`], [`Resource`] and [`Area`]
//! and call [`Alert::to_xml`] (or [`Alert::to_xml_pretty`]). The XML is written by
//! hand rather than with an XML crate to keep WebAssembly guests small; every text
//! is escaped (`& < > " '`, and CR so parsers do not turn it into LF) and elements
//! come in exactly the order of the XSD's `<sequence>`s, in the namespace
//! `urn:oasis:names:tc:emergency:cap:1.2`. Output is deterministic: the same alert
//! always gives the same bytes.
//!
//! Writing refuses, with a [`CapError`] naming the field, what the CAP 1.2 XSD or
//! specification forbids and a builder can see:
//!
//! * `identifier`, `sender` and the sender/identifier of each [`Reference`] empty
//!   or containing whitespace, commas, `<` or `&` (§3.2.1);
//! * `msgType` Update, Cancel, Ack or Error without `references`;
//! * `scope` Restricted without `restriction`, Private without `addresses`;
//! * an `addresses` or `incidents` entry that is empty or holds a `"` (entries with
//!   whitespace are quoted, as §3.2.1 says, so a quote cannot be carried);
//! * an `info` without `category`, or a `language` that is not an `xs:language`;
//! * a polygon with fewer than 4 points once its ring is closed, a latitude outside
//!   ±90 or longitude outside ±180 (WGS 84), a circle radius negative or not finite;
//! * `altitude`/`ceiling` not finite or too large for an `xs:decimal` validators
//!   accept, `ceiling` without `altitude` or below it;
//! * `web` that is not an absolute URI, `web`/`uri` that break RFC 3986 in ways
//!   `xs:anyURI` validators reject (two `#`, bad `%` escapes, bad scheme or port);
//! * a timestamp outside years 0001–9999 (the XSD wants exactly four year digits);
//! * characters XML 1.0 cannot carry (controls other than tab, LF and CR; U+FFFE,
//!   U+FFFF).
//!
//! Not checked: that identifiers are unique, that referenced alerts exist, that
//! `derefUri` is base64 or `digest` a SHA-1. XML signatures are not produced.

// The SDK denies missing docs crate-wide; repeated here so the module holds to it on its own.
#![deny(missing_docs)]

use std::fmt;

use crate::time::Timestamp;

/// The namespace of every CAP 1.2 element.
pub const CAP_NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// Defines a CAP enumeration: the Rust enum, its XSD spelling and `Display`.
macro_rules! cap_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the XSD's order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The exact spelling of the CAP 1.2 XSD.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value spelt exactly `text` in the XSD (case-sensitive, as the XSD is).
            pub fn from_cap(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

cap_enum! {
    /// `<status>`: how the alert should be handled.
    Status {
        /// Actionable by all targeted recipients.
        Actual => "Actual",
        /// Actionable only by designated exercise participants.
        Exercise => "Exercise",
        /// For messages that support alert network internal functions.
        System => "System",
        /// Technical testing only; all recipients disregard it.
        Test => "Test",
        /// A preliminary template or draft, not actionable.
        Draft => "Draft",
    }
}

cap_enum! {
    /// `<msgType>`: the nature of the alert message.
    MsgType {
        /// Initial information requiring attention.
        Alert => "Alert",
        /// Updates and supersedes the earlier message(s) in `references`.
        Update => "Update",
        /// Cancels the earlier message(s) in `references`.
        Cancel => "Cancel",
        /// Acknowledges receipt of the message(s) in `references`.
        Ack => "Ack",
        /// Reports rejection of the message(s) in `references`.
        Error => "Error",
    }
}

cap_enum! {
    /// `<scope>`: who the alert is for.
    Scope {
        /// For general dissemination to unrestricted audiences.
        Public => "Public",
        /// For users with a known operational requirement (needs `restriction`).
        Restricted => "Restricted",
        /// For the specified `addresses` only.
        Private => "Private",
    }
}

cap_enum! {
    /// `<category>`: the category of the subject event.
    Category {
        /// Geophysical (including landslide).
        Geo => "Geo",
        /// Meteorological (including flood).
        Met => "Met",
        /// General emergency and public safety.
        Safety => "Safety",
        /// Law enforcement, military, homeland and local/private security.
        Security => "Security",
        /// Rescue and recovery.
        Rescue => "Rescue",
        /// Fire suppression and rescue.
        Fire => "Fire",
        /// Medical and public health.
        Health => "Health",
        /// Pollution and other environmental.
        Env => "Env",
        /// Public and private transportation.
        Transport => "Transport",
        /// Utility, telecommunication, other non-transport infrastructure.
        Infra => "Infra",
        /// Chemical, biological, radiological, nuclear or high-yield explosive.
        Cbrne => "CBRNE",
        /// Other events.
        Other => "Other",
    }
}

cap_enum! {
    /// `<responseType>`: the action recommended for the audience.
    ResponseType {
        /// Take shelter in place.
        Shelter => "Shelter",
        /// Relocate.
        Evacuate => "Evacuate",
        /// Make preparations.
        Prepare => "Prepare",
        /// Execute a pre-planned activity.
        Execute => "Execute",
        /// Avoid the subject event.
        Avoid => "Avoid",
        /// Attend to information sources.
        Monitor => "Monitor",
        /// Evaluate the information (not for public warnings).
        Assess => "Assess",
        /// The event no longer poses a threat.
        AllClear => "AllClear",
        /// No action recommended.
        None => "None",
    }
}

cap_enum! {
    /// `<urgency>`: how soon responsive action should be taken.
    Urgency {
        /// Responsive action should be taken immediately.
        Immediate => "Immediate",
        /// Responsive action should be taken soon (within the next hour).
        Expected => "Expected",
        /// Responsive action should be taken in the near future.
        Future => "Future",
        /// Responsive action is no longer required.
        Past => "Past",
        /// Urgency not known.
        Unknown => "Unknown",
    }
}

cap_enum! {
    /// `<severity>`: how bad the subject event is.
    Severity {
        /// Extraordinary threat to life or property.
        Extreme => "Extreme",
        /// Significant threat to life or property.
        Severe => "Severe",
        /// Possible threat to life or property.
        Moderate => "Moderate",
        /// Minimal to no known threat to life or property.
        Minor => "Minor",
        /// Severity not known.
        Unknown => "Unknown",
    }
}

cap_enum! {
    /// `<certainty>`: how sure the sender is that the event occurs.
    Certainty {
        /// Determined to have occurred or to be ongoing.
        Observed => "Observed",
        /// Likely (p > ~50%).
        Likely => "Likely",
        /// Possible but not likely (p <= ~50%).
        Possible => "Possible",
        /// Not expected to occur (p ~ 0).
        Unlikely => "Unlikely",
        /// Certainty not known.
        Unknown => "Unknown",
    }
}

/// Which CAP rule a [`CapError`] is about; match on this rather than on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CapErrorKind {
    /// An identifier or sender (of the alert or a reference) breaks §3.2.1.
    InvalidIdentifier,
    /// `msgType` Update, Cancel, Ack or Error without `references`.
    MissingReferences,
    /// `scope` Restricted without `restriction`.
    MissingRestriction,
    /// `scope` Private without `addresses`.
    MissingAddresses,
    /// An `addresses` or `incidents` entry cannot be written in a CAP list.
    InvalidListEntry,
    /// An `info` has no `category`.
    MissingCategory,
    /// A `language` is not an `xs:language` (such as `en-US`).
    InvalidLanguage,
    /// A polygon has fewer than 4 points once its ring is closed.
    PolygonTooShort,
    /// A latitude or longitude is outside WGS 84 ranges or not finite.
    CoordinateOutOfRange,
    /// A circle radius is negative or not finite.
    InvalidRadius,
    /// An altitude or ceiling cannot be written as an `xs:decimal`.
    InvalidDecimal,
    /// A `ceiling` without `altitude`, or below it.
    InvalidCeiling,
    /// A `web` or `uri` is not a URI an `xs:anyURI` validator accepts.
    InvalidUri,
    /// A timestamp outside the years 0001–9999.
    TimestampOutOfRange,
    /// A character XML 1.0 cannot carry.
    ForbiddenCharacter,
}

/// Why an alert could not be written: the field (e.g. `info[0].area[1].polygon[0]`),
/// the rule broken and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapError {
    field: String,
    kind: CapErrorKind,
    message: String,
}

impl CapError {
    fn new(field: impl Into<String>, kind: CapErrorKind, message: impl Into<String>) -> Self {
        CapError {
            field: field.into(),
            kind,
            message: message.into(),
        }
    }

    /// Where in the alert the problem is, e.g. `identifier` or `info[1].area[0].circle[2]`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The rule that was broken.
    pub fn kind(&self) -> CapErrorKind {
        self.kind
    }
}

impl fmt::Display for CapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CAP alert refused: {}: {}", self.field, self.message)
    }
}

impl std::error::Error for CapError {}

/// An earlier alert, as `<references>` names it: `sender,identifier,sent`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// The `sender` of the earlier alert.
    pub sender: String,
    /// The `identifier` of the earlier alert.
    pub identifier: String,
    /// The `sent` time of the earlier alert.
    pub sent: Timestamp,
}

impl Reference {
    /// A reference to the alert `identifier` sent by `sender` at `sent`.
    pub fn new(sender: impl Into<String>, identifier: impl Into<String>, sent: Timestamp) -> Self {
        Reference {
            sender: sender.into(),
            identifier: identifier.into(),
            sent,
        }
    }
}

impl fmt::Display for Reference {
    /// The CAP form `sender,identifier,2024-01-02T03:04:05+00:00` (not validated).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{}",
            self.sender,
            self.identifier,
            self.sent.to_cap()
        )
    }
}

/// A CAP `<alert>`: the message envelope, with zero or more [`Info`] blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    identifier: String,
    sender: String,
    sent: Timestamp,
    status: Status,
    msg_type: MsgType,
    source: Option<String>,
    scope: Scope,
    restriction: Option<String>,
    addresses: Vec<String>,
    codes: Vec<String>,
    note: Option<String>,
    references: Vec<Reference>,
    incidents: Vec<String>,
    infos: Vec<Info>,
}

impl Alert {
    /// An alert with its required elements. `identifier` must be unique for
    /// `sender`; both may not contain spaces, commas, `<` or `&`.
    pub fn new(
        identifier: impl Into<String>,
        sender: impl Into<String>,
        sent: Timestamp,
        status: Status,
        msg_type: MsgType,
        scope: Scope,
    ) -> Self {
        Alert {
            identifier: identifier.into(),
            sender: sender.into(),
            sent,
            status,
            msg_type,
            source: None,
            scope,
            restriction: None,
            addresses: Vec::new(),
            codes: Vec::new(),
            note: None,
            references: Vec::new(),
            incidents: Vec::new(),
            infos: Vec::new(),
        }
    }

    /// `<source>`: the operator or device that originated the alert.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// `<restriction>`: the rule limiting distribution (required for [`Scope::Restricted`]).
    pub fn restriction(mut self, restriction: impl Into<String>) -> Self {
        self.restriction = Some(restriction.into());
        self
    }

    /// Adds recipients to `<addresses>` (required for [`Scope::Private`]).
    /// Entries containing whitespace are written in double quotes.
    pub fn addresses<S: Into<String>>(mut self, addresses: impl IntoIterator<Item = S>) -> Self {
        self.addresses.extend(addresses.into_iter().map(Into::into));
        self
    }

    /// Adds a `<code>`: a special handling code (e.g. `IPAWSv1.0`); may be repeated.
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.codes.push(code.into());
        self
    }

    /// `<note>`: a message or comment, e.g. the reason for a Cancel or Error.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Adds earlier alerts to `<references>` (required unless `msgType` is Alert).
    pub fn references(mut self, references: impl IntoIterator<Item = Reference>) -> Self {
        self.references.extend(references);
        self
    }

    /// Adds incident names to `<incidents>`, which collates messages about one
    /// incident. Names containing whitespace are written in double quotes.
    pub fn incidents<S: Into<String>>(mut self, incidents: impl IntoIterator<Item = S>) -> Self {
        self.incidents.extend(incidents.into_iter().map(Into::into));
        self
    }

    /// Adds an `<info>` block (one per language, typically).
    pub fn info(mut self, info: Info) -> Self {
        self.infos.push(info);
        self
    }

    /// A [`Reference`] to this alert, for the Update, Cancel or Ack that follows it.
    pub fn as_reference(&self) -> Reference {
        Reference::new(self.sender.clone(), self.identifier.clone(), self.sent)
    }

    /// Checks every rule listed in the [module documentation](self) without writing.
    pub fn validate(&self) -> Result<(), CapError> {
        check_identifier("identifier", &self.identifier)?;
        check_identifier("sender", &self.sender)?;
        check_time("sent", self.sent)?;
        check_opt_text("source", self.source.as_deref())?;
        check_opt_text("restriction", self.restriction.as_deref())?;
        if self.scope == Scope::Restricted && self.restriction.is_none() {
            return Err(CapError::new(
                "restriction",
                CapErrorKind::MissingRestriction,
                "scope Restricted requires a <restriction> describing who may receive the alert",
            ));
        }
        check_list("addresses", &self.addresses)?;
        if self.scope == Scope::Private && self.addresses.is_empty() {
            return Err(CapError::new(
                "addresses",
                CapErrorKind::MissingAddresses,
                "scope Private requires at least one recipient in <addresses>",
            ));
        }
        for (i, code) in self.codes.iter().enumerate() {
            check_text(&format!("code[{i}]"), code)?;
        }
        check_opt_text("note", self.note.as_deref())?;
        for (i, reference) in self.references.iter().enumerate() {
            check_identifier(&format!("references[{i}].sender"), &reference.sender)?;
            check_identifier(
                &format!("references[{i}].identifier"),
                &reference.identifier,
            )?;
            check_time(&format!("references[{i}].sent"), reference.sent)?;
        }
        if self.msg_type != MsgType::Alert && self.references.is_empty() {
            return Err(CapError::new(
                "references",
                CapErrorKind::MissingReferences,
                format!(
                    "msgType {} requires <references> naming the earlier alert(s) it applies to",
                    self.msg_type
                ),
            ));
        }
        check_list("incidents", &self.incidents)?;
        for (i, info) in self.infos.iter().enumerate() {
            info.validate(&format!("info[{i}]"))?;
        }
        Ok(())
    }

    /// The alert as a compact XML document (declaration, then one line).
    pub fn to_xml(&self) -> Result<String, CapError> {
        self.validate()?;
        Ok(self.write(false))
    }

    /// The alert as an XML document indented by two spaces per level. The added
    /// whitespace only sits between elements, so it means the same as [`Alert::to_xml`].
    pub fn to_xml_pretty(&self) -> Result<String, CapError> {
        self.validate()?;
        Ok(self.write(true))
    }

    fn write(&self, pretty: bool) -> String {
        let mut w = XmlWriter::new(pretty);
        w.open_root();
        w.leaf("identifier", &self.identifier);
        w.leaf("sender", &self.sender);
        w.leaf("sent", &self.sent.to_cap());
        w.leaf("status", self.status.as_str());
        w.leaf("msgType", self.msg_type.as_str());
        w.opt_leaf("source", self.source.as_deref());
        w.leaf("scope", self.scope.as_str());
        w.opt_leaf("restriction", self.restriction.as_deref());
        if !self.addresses.is_empty() {
            w.leaf("addresses", &join_list(&self.addresses));
        }
        for code in &self.codes {
            w.leaf("code", code);
        }
        w.opt_leaf("note", self.note.as_deref());
        if !self.references.is_empty() {
            let refs: Vec<String> = self.references.iter().map(ToString::to_string).collect();
            w.leaf("references", &refs.join(" "));
        }
        if !self.incidents.is_empty() {
            w.leaf("incidents", &join_list(&self.incidents));
        }
        for info in &self.infos {
            info.write(&mut w);
        }
        w.close("alert");
        w.finish()
    }
}

/// A CAP `<info>` block: the event, its urgency, severity and certainty, with
/// texts in one language, resources and areas.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    language: Option<String>,
    categories: Vec<Category>,
    event: String,
    response_types: Vec<ResponseType>,
    urgency: Urgency,
    severity: Severity,
    certainty: Certainty,
    audience: Option<String>,
    event_codes: Vec<(String, String)>,
    effective: Option<Timestamp>,
    onset: Option<Timestamp>,
    expires: Option<Timestamp>,
    sender_name: Option<String>,
    headline: Option<String>,
    description: Option<String>,
    instruction: Option<String>,
    web: Option<String>,
    contact: Option<String>,
    parameters: Vec<(String, String)>,
    resources: Vec<Resource>,
    areas: Vec<Area>,
}

impl Info {
    /// An info block with its required elements. At least one category is needed
    /// (an empty list is refused when writing); more can be added with [`Info::category`].
    pub fn new(
        categories: impl IntoIterator<Item = Category>,
        event: impl Into<String>,
        urgency: Urgency,
        severity: Severity,
        certainty: Certainty,
    ) -> Self {
        Info {
            language: None,
            categories: categories.into_iter().collect(),
            event: event.into(),
            response_types: Vec::new(),
            urgency,
            severity,
            certainty,
            audience: None,
            event_codes: Vec::new(),
            effective: None,
            onset: None,
            expires: None,
            sender_name: None,
            headline: None,
            description: None,
            instruction: None,
            web: None,
            contact: None,
            parameters: Vec::new(),
            resources: Vec::new(),
            areas: Vec::new(),
        }
    }

    /// Adds a `<category>`.
    pub fn category(mut self, category: Category) -> Self {
        self.categories.push(category);
        self
    }

    /// `<language>`: an RFC 3066 code such as `en-US` or `fr-CA` (CAP's default is `en-US`).
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Adds a `<responseType>`: a recommended action.
    pub fn response_type(mut self, response_type: ResponseType) -> Self {
        self.response_types.push(response_type);
        self
    }

    /// `<audience>`: the intended audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Adds an `<eventCode>`: a system-specific code, e.g. (`SAME`, `SVR`).
    pub fn event_code(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.event_codes.push((name.into(), value.into()));
        self
    }

    /// `<effective>`: when the information takes effect.
    pub fn effective(mut self, at: Timestamp) -> Self {
        self.effective = Some(at);
        self
    }

    /// `<onset>`: the expected start of the event.
    pub fn onset(mut self, at: Timestamp) -> Self {
        self.onset = Some(at);
        self
    }

    /// `<expires>`: when the information stops being valid.
    pub fn expires(mut self, at: Timestamp) -> Self {
        self.expires = Some(at);
        self
    }

    /// `<senderName>`: the human-readable name of the issuing agency.
    pub fn sender_name(mut self, name: impl Into<String>) -> Self {
        self.sender_name = Some(name.into());
        self
    }

    /// `<headline>`: a brief headline (CAP suggests about 160 characters at most).
    pub fn headline(mut self, headline: impl Into<String>) -> Self {
        self.headline = Some(headline.into());
        self
    }

    /// `<description>`: an extended description of the event.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `<instruction>`: the recommended action, in words.
    pub fn instruction(mut self, instruction: impl Into<String>) -> Self {
        self.instruction = Some(instruction.into());
        self
    }

    /// `<web>`: an absolute URI with more information (e.g. `https://…`).
    pub fn web(mut self, uri: impl Into<String>) -> Self {
        self.web = Some(uri.into());
        self
    }

    /// `<contact>`: how to follow up or confirm the alert.
    pub fn contact(mut self, contact: impl Into<String>) -> Self {
        self.contact = Some(contact.into());
        self
    }

    /// Adds a `<parameter>`: a system-specific value, e.g. (`maxWindGust`, `70 mph`).
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.push((name.into(), value.into()));
        self
    }

    /// Adds a `<resource>`: a file with supplemental information.
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resources.push(resource);
        self
    }

    /// Adds an `<area>`: a geographic area the info applies to.
    pub fn area(mut self, area: Area) -> Self {
        self.areas.push(area);
        self
    }

    fn validate(&self, at: &str) -> Result<(), CapError> {
        if let Some(language) = &self.language
            && !is_xs_language(language)
        {
            return Err(CapError::new(
                format!("{at}.language"),
                CapErrorKind::InvalidLanguage,
                format!("`{language}` is not a language code such as `en-US` (xs:language)"),
            ));
        }
        if self.categories.is_empty() {
            return Err(CapError::new(
                format!("{at}.category"),
                CapErrorKind::MissingCategory,
                "an <info> needs at least one <category>",
            ));
        }
        check_text(&format!("{at}.event"), &self.event)?;
        check_opt_text(&format!("{at}.audience"), self.audience.as_deref())?;
        check_pairs(&format!("{at}.eventCode"), &self.event_codes)?;
        for (name, time) in [
            ("effective", self.effective),
            ("onset", self.onset),
            ("expires", self.expires),
        ] {
            if let Some(time) = time {
                check_time(&format!("{at}.{name}"), time)?;
            }
        }
        for (name, text) in [
            ("senderName", &self.sender_name),
            ("headline", &self.headline),
            ("description", &self.description),
            ("instruction", &self.instruction),
            ("contact", &self.contact),
        ] {
            check_opt_text(&format!("{at}.{name}"), text.as_deref())?;
        }
        if let Some(web) = &self.web {
            check_uri(&format!("{at}.web"), web, true)?;
        }
        check_pairs(&format!("{at}.parameter"), &self.parameters)?;
        for (i, resource) in self.resources.iter().enumerate() {
            resource.validate(&format!("{at}.resource[{i}]"))?;
        }
        for (i, area) in self.areas.iter().enumerate() {
            area.validate(&format!("{at}.area[{i}]"))?;
        }
        Ok(())
    }

    fn write(&self, w: &mut XmlWriter) {
        w.open("info");
        w.opt_leaf("language", self.language.as_deref());
        for category in &self.categories {
            w.leaf("category", category.as_str());
        }
        w.leaf("event", &self.event);
        for response_type in &self.response_types {
            w.leaf("responseType", response_type.as_str());
        }
        w.leaf("urgency", self.urgency.as_str());
        w.leaf("severity", self.severity.as_str());
        w.leaf("certainty", self.certainty.as_str());
        w.opt_leaf("audience", self.audience.as_deref());
        for pair in &self.event_codes {
            w.pair("eventCode", pair);
        }
        w.opt_leaf(
            "effective",
            self.effective.map(Timestamp::to_cap).as_deref(),
        );
        w.opt_leaf("onset", self.onset.map(Timestamp::to_cap).as_deref());
        w.opt_leaf("expires", self.expires.map(Timestamp::to_cap).as_deref());
        w.opt_leaf("senderName", self.sender_name.as_deref());
        w.opt_leaf("headline", self.headline.as_deref());
        w.opt_leaf("description", self.description.as_deref());
        w.opt_leaf("instruction", self.instruction.as_deref());
        w.opt_leaf("web", self.web.as_deref());
        w.opt_leaf("contact", self.contact.as_deref());
        for pair in &self.parameters {
            w.pair("parameter", pair);
        }
        for resource in &self.resources {
            resource.write(w);
        }
        for area in &self.areas {
            area.write(w);
        }
        w.close("info");
    }
}

/// A CAP `<resource>`: a file (image, audio, document) supplementing an [`Info`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    description: String,
    mime_type: String,
    size: Option<u64>,
    uri: Option<String>,
    deref_uri: Option<String>,
    digest: Option<String>,
}

impl Resource {
    /// A resource with its required `<resourceDesc>` and `<mimeType>` (e.g. `image/png`).
    pub fn new(description: impl Into<String>, mime_type: impl Into<String>) -> Self {
        Resource {
            description: description.into(),
            mime_type: mime_type.into(),
            size: None,
            uri: None,
            deref_uri: None,
            digest: None,
        }
    }

    /// `<size>`: the approximate size in bytes.
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = Some(bytes);
        self
    }

    /// `<uri>`: where to get the file (absolute, or relative naming a `derefUri`).
    pub fn uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// `<derefUri>`: the file itself, base64-encoded, for links that lack a network.
    pub fn deref_uri(mut self, base64: impl Into<String>) -> Self {
        self.deref_uri = Some(base64.into());
        self
    }

    /// `<digest>`: the SHA-1 hash of the file, in hex.
    pub fn digest(mut self, sha1_hex: impl Into<String>) -> Self {
        self.digest = Some(sha1_hex.into());
        self
    }

    fn validate(&self, at: &str) -> Result<(), CapError> {
        check_text(&format!("{at}.resourceDesc"), &self.description)?;
        check_text(&format!("{at}.mimeType"), &self.mime_type)?;
        if let Some(uri) = &self.uri {
            check_uri(&format!("{at}.uri"), uri, false)?;
        }
        check_opt_text(&format!("{at}.derefUri"), self.deref_uri.as_deref())?;
        check_opt_text(&format!("{at}.digest"), self.digest.as_deref())
    }

    fn write(&self, w: &mut XmlWriter) {
        w.open("resource");
        w.leaf("resourceDesc", &self.description);
        w.leaf("mimeType", &self.mime_type);
        w.opt_leaf("size", self.size.map(|s| s.to_string()).as_deref());
        w.opt_leaf("uri", self.uri.as_deref());
        w.opt_leaf("derefUri", self.deref_uri.as_deref());
        w.opt_leaf("digest", self.digest.as_deref());
        w.close("resource");
    }
}

/// A CAP `<area>`: a described place, optionally with polygons, circles, geocodes
/// and an altitude range. Coordinates are WGS 84 decimal degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    description: String,
    polygons: Vec<Vec<(f64, f64)>>,
    circles: Vec<(f64, f64, f64)>,
    geocodes: Vec<(String, String)>,
    altitude: Option<f64>,
    ceiling: Option<f64>,
}

impl Area {
    /// An area with its required `<areaDesc>`, e.g. `Sacramento County, CA`.
    pub fn new(description: impl Into<String>) -> Self {
        Area {
            description: description.into(),
            polygons: Vec::new(),
            circles: Vec::new(),
            geocodes: Vec::new(),
            altitude: None,
            ceiling: None,
        }
    }

    /// Adds a `<polygon>` of `(latitude, longitude)` points. CAP wants a closed ring,
    /// so the first point is appended when the last differs from it; at least 4
    /// points (a triangle plus closure) are required when writing.
    pub fn polygon(mut self, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        let mut ring: Vec<(f64, f64)> = points.into_iter().collect();
        if let (Some(&first), Some(&last)) = (ring.first(), ring.last())
            && first != last
        {
            ring.push(first);
        }
        self.polygons.push(ring);
        self
    }

    /// Adds a `<circle>`: centre latitude and longitude, radius in kilometres.
    pub fn circle(mut self, lat: f64, lon: f64, radius_km: f64) -> Self {
        self.circles.push((lat, lon, radius_km));
        self
    }

    /// Adds a `<geocode>`, e.g. (`SAME`, `006109`) or (`EMMA_ID`, `DE001`).
    pub fn geocode(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.geocodes.push((name.into(), value.into()));
        self
    }

    /// `<altitude>`: the specific or minimum altitude, in feet above mean sea level.
    pub fn altitude(mut self, feet: f64) -> Self {
        self.altitude = Some(feet);
        self
    }

    /// `<ceiling>`: the maximum altitude, in feet; only valid with an altitude.
    pub fn ceiling(mut self, feet: f64) -> Self {
        self.ceiling = Some(feet);
        self
    }

    fn validate(&self, at: &str) -> Result<(), CapError> {
        check_text(&format!("{at}.areaDesc"), &self.description)?;
        for (i, ring) in self.polygons.iter().enumerate() {
            let field = format!("{at}.polygon[{i}]");
            for &(lat, lon) in ring {
                check_point(&field, lat, lon)?;
            }
            if ring.len() < 4 {
                return Err(CapError::new(
                    field,
                    CapErrorKind::PolygonTooShort,
                    format!(
                        "has {} point(s) once its ring is closed; CAP needs at least 4, the first and last equal",
                        ring.len()
                    ),
                ));
            }
        }
        for (i, &(lat, lon, radius)) in self.circles.iter().enumerate() {
            let field = format!("{at}.circle[{i}]");
            check_point(&field, lat, lon)?;
            if !(radius.is_finite() && radius >= 0.0) {
                return Err(CapError::new(
                    field,
                    CapErrorKind::InvalidRadius,
                    format!("radius {radius} km must be a finite number >= 0"),
                ));
            }
        }
        check_pairs(&format!("{at}.geocode"), &self.geocodes)?;
        for (name, value) in [("altitude", self.altitude), ("ceiling", self.ceiling)] {
            if let Some(value) = value {
                check_decimal(&format!("{at}.{name}"), value)?;
            }
        }
        match (self.altitude, self.ceiling) {
            (None, Some(_)) => Err(CapError::new(
                format!("{at}.ceiling"),
                CapErrorKind::InvalidCeiling,
                "a <ceiling> may only be used together with an <altitude>",
            )),
            (Some(altitude), Some(ceiling)) if ceiling < altitude => Err(CapError::new(
                format!("{at}.ceiling"),
                CapErrorKind::InvalidCeiling,
                format!("ceiling {ceiling} ft is below altitude {altitude} ft"),
            )),
            _ => Ok(()),
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        w.open("area");
        w.leaf("areaDesc", &self.description);
        for ring in &self.polygons {
            let points: Vec<String> = ring
                .iter()
                .map(|(lat, lon)| format!("{lat},{lon}"))
                .collect();
            w.leaf("polygon", &points.join(" "));
        }
        for (lat, lon, radius) in &self.circles {
            w.leaf("circle", &format!("{lat},{lon} {radius}"));
        }
        for pair in &self.geocodes {
            w.pair("geocode", pair);
        }
        w.opt_leaf("altitude", self.altitude.map(format_decimal).as_deref());
        w.opt_leaf("ceiling", self.ceiling.map(format_decimal).as_deref());
        w.close("area");
    }
}

/// Refuses characters that XML 1.0 (§2.2 `Char`) cannot carry, even escaped.
fn check_text(field: &str, text: &str) -> Result<(), CapError> {
    let bad = text.chars().find(|&c| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
    });
    match bad {
        Some(c) => Err(CapError::new(
            field,
            CapErrorKind::ForbiddenCharacter,
            format!(
                "contains U+{:04X}, which XML 1.0 cannot carry",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

fn check_opt_text(field: &str, text: Option<&str>) -> Result<(), CapError> {
    text.map_or(Ok(()), |text| check_text(field, text))
}

fn check_pairs(field: &str, pairs: &[(String, String)]) -> Result<(), CapError> {
    for (i, (name, value)) in pairs.iter().enumerate() {
        check_text(&format!("{field}[{i}].valueName"), name)?;
        check_text(&format!("{field}[{i}].value"), value)?;
    }
    Ok(())
}

/// CAP 1.2 §3.2.1: identifiers and senders may not contain spaces, commas or the
/// restricted characters `<` and `&`. Other whitespace is refused too, because
/// `<references>` is whitespace-separated.
fn check_identifier(field: &str, value: &str) -> Result<(), CapError> {
    check_text(field, value)?;
    let problem = if value.is_empty() {
        Some("is empty".to_string())
    } else {
        value
            .chars()
            .find(|&c| c.is_whitespace() || matches!(c, ',' | '<' | '&'))
            .map(|c| format!("contains {c:?}"))
    };
    match problem {
        Some(problem) => Err(CapError::new(
            field,
            CapErrorKind::InvalidIdentifier,
            format!(
                "`{value}` {problem}; CAP 1.2 §3.2.1 forbids spaces, commas and the restricted characters < and &"
            ),
        )),
        None => Ok(()),
    }
}

/// Checks entries of a space-separated CAP list (`addresses`, `incidents`).
fn check_list(field: &str, entries: &[String]) -> Result<(), CapError> {
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("{field}[{i}]");
        check_text(&at, entry)?;
        let problem = if entry.is_empty() {
            "is empty"
        } else if entry.contains('"') {
            // Entries with whitespace are quoted and CAP defines no escape inside quotes.
            "contains a double quote, which a CAP list cannot carry"
        } else {
            continue;
        };
        return Err(CapError::new(
            at,
            CapErrorKind::InvalidListEntry,
            format!("`{entry}` {problem}"),
        ));
    }
    Ok(())
}

/// Joins list entries with spaces, quoting those with whitespace (§3.2.1).
fn join_list(entries: &[String]) -> String {
    let quoted: Vec<String> = entries
        .iter()
        .map(|e| {
            if e.chars().any(char::is_whitespace) {
                format!("\"{e}\"")
            } else {
                e.clone()
            }
        })
        .collect();
    quoted.join(" ")
}

/// The XSD's dateTime pattern has exactly four year digits and xs:dateTime has no
/// year 0000, so only years 1–9999 can be written.
fn check_time(field: &str, time: Timestamp) -> Result<(), CapError> {
    let (year, ..) = time.to_utc();
    if (1..=9999).contains(&year) {
        Ok(())
    } else {
        Err(CapError::new(
            field,
            CapErrorKind::TimestampOutOfRange,
            format!("year {year} is outside 0001-9999, which CAP's dateTime pattern allows"),
        ))
    }
}

fn check_point(field: &str, lat: f64, lon: f64) -> Result<(), CapError> {
    // `contains` is false for NaN, so non-finite values are refused here too.
    if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
        Ok(())
    } else {
        Err(CapError::new(
            field,
            CapErrorKind::CoordinateOutOfRange,
            format!("point ({lat}, {lon}) is outside WGS 84 (latitude ±90, longitude ±180)"),
        ))
    }
}

/// Altitudes are written with at most 6 decimals; below 1e15 that stays within the
/// 24 digits libxml2 (behind xmllint and many CAP validators) accepts for xs:decimal.
fn check_decimal(field: &str, value: f64) -> Result<(), CapError> {
    if value.is_finite() && value.abs() < 1e15 {
        Ok(())
    } else {
        Err(CapError::new(
            field,
            CapErrorKind::InvalidDecimal,
            format!("{value} ft is not a finite number below 1e15"),
        ))
    }
}

fn format_decimal(value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// `xs:language`: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`.
fn is_xs_language(text: &str) -> bool {
    let mut parts = text.split('-');
    let ok_len = |p: &str| (1..=8).contains(&p.len());
    parts
        .next()
        .is_some_and(|p| ok_len(p) && p.bytes().all(|b| b.is_ascii_alphabetic()))
        && parts.all(|p| ok_len(p) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Checks a `web` or `uri` against the RFC 3986 structure that `xs:anyURI`
/// validators enforce. Characters a URI cannot hold literally (spaces, non-ASCII,
/// `<>"{}|\^` and backquote) are fine: XSD escapes them before parsing.
fn check_uri(field: &str, uri: &str, absolute: bool) -> Result<(), CapError> {
    check_text(field, uri)?;
    match uri_problem(uri, absolute) {
        Some(problem) => Err(CapError::new(
            field,
            CapErrorKind::InvalidUri,
            format!("`{uri}` {problem}"),
        )),
        None => Ok(()),
    }
}

fn uri_problem(uri: &str, absolute: bool) -> Option<&'static str> {
    let bytes = uri.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
        if b == b'%' && !(hex(i + 1) && hex(i + 2)) {
            return Some("has a `%` not followed by two hex digits");
        }
    }
    let (rest, fragment) = uri.split_once('#').unwrap_or((uri, ""));
    if fragment.contains('#') {
        return Some("contains more than one `#`");
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    if query.contains(['[', ']']) {
        return Some("has `[` or `]` in its query");
    }
    // A scheme is whatever precedes the first `:`, unless a `/` comes before it.
    let rest = match rest.split_once(':') {
        Some((scheme, after)) if !scheme.contains('/') => {
            let valid = scheme
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic())
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
            if !valid {
                return Some("has an invalid scheme (expected e.g. `https:`)");
            }
            after
        }
        _ if absolute => return Some("is not an absolute URI (no scheme such as `https:`)"),
        _ => rest,
    };
    let path = match rest.strip_prefix("//") {
        Some(after) => {
            let (authority, path) = after.split_once('/').unwrap_or((after, ""));
            if let Some(problem) = authority_problem(authority) {
                return Some(problem);
            }
            path
        }
        None => rest,
    };
    if path.contains(['[', ']']) {
        return Some("has `[` or `]` outside an IPv6 host");
    }
    None
}

fn authority_problem(authority: &str) -> Option<&'static str> {
    let host_port = match authority.split_once('@') {
        Some((_, host_port)) if host_port.contains('@') => {
            return Some("has more than one `@` in its authority");
        }
        Some((userinfo, host_port)) if !userinfo.contains(['[', ']']) => host_port,
        Some(_) => return Some("has `[` or `]` in its user info"),
        None => authority,
    };
    let port = match host_port.strip_prefix('[') {
        Some(literal) => match literal.split_once(']') {
            Some((_, "")) => None,
            Some((_, after)) => match after.strip_prefix(':') {
                Some(port) => Some(port),
                None => return Some("has text after its `[…]` host"),
            },
            None => return Some("has an unclosed `[` in its host"),
        },
        None if host_port.contains(['[', ']']) => return Some("has `[` or `]` in its host"),
        None => host_port.split_once(':').map(|(_, port)| port),
    };
    // RFC 3986 allows an empty port but libxml2 rejects it, so it is refused too.
    match port {
        Some(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => {
            Some("has a port that is empty or not a number")
        }
        _ => None,
    }
}

/// Appends `text` with the five XML special characters escaped.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Parsers turn a literal CR (or CRLF) into LF (XML 1.0 §2.11); a character
            // reference survives, so the text reads back exactly as given.
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A minimal element writer; validation happened before, so it cannot fail.
struct XmlWriter {
    out: String,
    pretty: bool,
    depth: usize,
}

impl XmlWriter {
    fn new(pretty: bool) -> Self {
        XmlWriter {
            out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            pretty,
            depth: 0,
        }
    }

    fn indent(&mut self) {
        if self.pretty {
            if !self.out.ends_with('\n') {
                self.out.push('\n');
            }
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
    }

    fn open_root(&mut self) {
        self.indent();
        self.out.push_str("<alert xmlns=\"");
        self.out.push_str(CAP_NAMESPACE);
        self.out.push_str("\">");
        self.depth += 1;
    }

    fn open(&mut self, name: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape_into(&mut self.out, text);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }

    /// The `valueName`/`value` pair of `eventCode`, `parameter` and `geocode`.
    fn pair(&mut self, name: &str, (value_name, value): &(String, String)) {
        self.open(name);
        self.leaf("valueName", value_name);
        self.leaf("value", value);
        self.close(name);
    }

    fn finish(mut self) -> String {
        self.out.push('\n');
        self.out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(1_704_164_645 + seconds) // 2024-01-02T03:04:05Z
    }

    fn alert() -> Alert {
        Alert::new(
            "ID-1",
            "warn@example.org",
            t(0),
            Status::Actual,
            MsgType::Alert,
            Scope::Public,
        )
    }

    fn info() -> Info {
        Info::new(
            [Category::Met],
            "Storm",
            Urgency::Immediate,
            Severity::Severe,
            Certainty::Observed,
        )
    }

    fn refused(alert: &Alert) -> CapError {
        let err = alert.to_xml().unwrap_err();
        assert_eq!(alert.to_xml_pretty().unwrap_err(), err);
        assert_eq!(alert.validate().unwrap_err(), err);
        err
    }

    /// Asserts that each tag first appears after the previous one.
    fn assert_order(xml: &str, tags: &[&str]) {
        let mut last = 0;
        for tag in tags {
            let open = format!("<{tag}>");
            let pos = xml[last..]
                .find(&open)
                .unwrap_or_else(|| panic!("{open} missing or out of order in {xml}"));
            last += pos + open.len();
        }
    }

    #[test]
    fn writes_a_minimal_alert_exactly() {
        assert_eq!(
            alert().to_xml().unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\
             <identifier>ID-1</identifier><sender>warn@example.org</sender>\
             <sent>2024-01-02T03:04:05+00:00</sent><status>Actual</status>\
             <msgType>Alert</msgType><scope>Public</scope></alert>\n"
        );
    }

    #[test]
    fn pretty_output_indents_and_only_differs_in_whitespace() {
        let a = alert().info(info().area(Area::new("Here").geocode("SAME", "006109")));
        let pretty = a.to_xml_pretty().unwrap();
        assert!(
            pretty.contains("\n  <identifier>ID-1</identifier>\n"),
            "{pretty}"
        );
        assert!(
            pretty.contains("\n      <geocode>\n        <valueName>SAME</valueName>"),
            "{pretty}"
        );
        assert!(pretty.ends_with("\n  </info>\n</alert>\n"), "{pretty}");
        let squeezed: String = pretty.lines().map(str::trim).collect::<Vec<_>>().join("");
        let compact = a.to_xml().unwrap();
        assert_eq!(squeezed, compact.lines().collect::<Vec<_>>().join(""));
        assert_eq!(compact.matches('\n').count(), 2);
        assert_eq!(a.to_xml().unwrap(), compact, "output is deterministic");
    }

    #[test]
    fn escapes_markup_quotes_and_carriage_returns() {
        let mut out = String::new();
        escape_into(&mut out, "a & b < c > d \"e\" 'f' \r\n\tä€😀");
        assert_eq!(
            out,
            "a &amp; b &lt; c &gt; d &quot;e&quot; &apos;f&apos; &#13;\n\tä€😀"
        );
        let xml = alert()
            .note("</note><evil>&amp;")
            .info(info().headline("R&D <\"Q\" 'A'>"))
            .to_xml()
            .unwrap();
        assert!(
            xml.contains("<note>&lt;/note&gt;&lt;evil&gt;&amp;amp;</note>"),
            "{xml}"
        );
        assert!(
            xml.contains("<headline>R&amp;D &lt;&quot;Q&quot; &apos;A&apos;&gt;</headline>"),
            "{xml}"
        );
    }

    #[test]
    fn alert_elements_follow_the_xsd_sequence() {
        let xml = alert()
            .incidents(["fire 7"])
            .references([Reference::new("a@b", "X", t(-60))])
            .note("n")
            .code("c2")
            .addresses(["x"])
            .restriction("r")
            .source("s")
            .info(info())
            .code("c3")
            .to_xml()
            .unwrap();
        assert_order(
            &xml,
            &[
                "identifier",
                "sender",
                "sent",
                "status",
                "msgType",
                "source",
                "scope",
                "restriction",
                "addresses",
                "code",
                "code",
                "note",
                "references",
                "incidents",
                "info",
            ],
        );
        assert!(xml.contains("<code>c2</code><code>c3</code>"), "{xml}");
    }

    #[test]
    fn info_resource_and_area_elements_follow_the_xsd_sequence() {
        let full = info()
            .area(
                Area::new("A")
                    .ceiling(2000.0)
                    .altitude(1000.5)
                    .geocode("FIPS6", "006017")
                    .circle(38.0, -120.0, 10.0)
                    .polygon([(38.0, -120.0), (38.5, -120.0), (38.5, -119.5)]),
            )
            .resource(
                Resource::new("map", "image/png")
                    .digest("ab")
                    .deref_uri("aGk=")
                    .uri("https://example.org/m.png")
                    .size(1234),
            )
            .parameter("p", "v")
            .contact("c")
            .web("https://example.org/")
            .instruction("i")
            .description("d")
            .headline("h")
            .sender_name("sn")
            .expires(t(3))
            .onset(t(2))
            .effective(t(1))
            .event_code("SAME", "SVR")
            .audience("all")
            .response_type(ResponseType::Shelter)
            .response_type(ResponseType::AllClear)
            .category(Category::Cbrne)
            .language("en-US");
        let xml = alert().info(full).to_xml().unwrap();
        assert_order(
            &xml,
            &[
                "info",
                "language",
                "category",
                "category",
                "event",
                "responseType",
                "responseType",
                "urgency",
                "severity",
                "certainty",
                "audience",
                "eventCode",
                "valueName",
                "value",
                "effective",
                "onset",
                "expires",
                "senderName",
                "headline",
                "description",
                "instruction",
                "web",
                "contact",
                "parameter",
                "resource",
                "resourceDesc",
                "mimeType",
                "size",
                "uri",
                "derefUri",
                "digest",
                "area",
                "areaDesc",
                "polygon",
                "circle",
                "geocode",
                "altitude",
                "ceiling",
            ],
        );
        for expected in [
            "<category>Met</category><category>CBRNE</category>",
            "<responseType>AllClear</responseType>",
            "<effective>2024-01-02T03:04:06+00:00</effective>",
            "<polygon>38,-120 38.5,-120 38.5,-119.5 38,-120</polygon>",
            "<circle>38,-120 10</circle>",
            "<altitude>1000.5</altitude><ceiling>2000</ceiling>",
            "<size>1234</size>",
        ] {
            assert!(xml.contains(expected), "{expected} not in {xml}");
        }
    }

    #[test]
    fn references_are_comma_joined_triples_separated_by_spaces() {
        let first = Reference::new("KSTO@NWS.NOAA.GOV", "KSTO1055887203", t(0));
        assert_eq!(
            first.to_string(),
            "KSTO@NWS.NOAA.GOV,KSTO1055887203,2024-01-02T03:04:05+00:00"
        );
        let earlier = alert();
        assert_eq!(
            earlier.as_reference(),
            Reference::new("warn@example.org", "ID-1", t(0))
        );
        let xml = Alert::new(
            "ID-2",
            "warn@example.org",
            t(60),
            Status::Actual,
            MsgType::Update,
            Scope::Public,
        )
        .references([first, earlier.as_reference()])
        .to_xml()
        .unwrap();
        assert!(
            xml.contains(
                "<references>KSTO@NWS.NOAA.GOV,KSTO1055887203,2024-01-02T03:04:05+00:00 \
                 warn@example.org,ID-1,2024-01-02T03:04:05+00:00</references>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn quotes_addresses_and_incidents_with_whitespace() {
        let xml = Alert::new(
            "I",
            "S",
            t(0),
            Status::Actual,
            MsgType::Alert,
            Scope::Private,
        )
        .addresses(["ops@example.org", "Fire Dept 12", "tab\there"])
        .incidents(["storm-7", "Big Fire"])
        .to_xml()
        .unwrap();
        assert!(
            xml.contains("<addresses>ops@example.org &quot;Fire Dept 12&quot; &quot;tab\there&quot;</addresses>"),
            "{xml}"
        );
        assert!(
            xml.contains("<incidents>storm-7 &quot;Big Fire&quot;</incidents>"),
            "{xml}"
        );
    }

    #[test]
    fn closes_polygon_rings_only_when_open() {
        let square = [(1.0, 1.0), (1.0, 2.0), (2.0, 2.0), (2.0, 1.0)];
        let open = Area::new("a").polygon(square);
        let mut closed_ring = square.to_vec();
        closed_ring.push((1.0, 1.0));
        let closed = Area::new("a").polygon(closed_ring);
        assert_eq!(open, closed);
        let xml = alert().info(info().area(open)).to_xml().unwrap();
        assert!(
            xml.contains("<polygon>1,1 1,2 2,2 2,1 1,1</polygon>"),
            "{xml}"
        );
    }

    #[test]
    fn refuses_bad_identifiers_and_senders() {
        for (bad, shown) in [
            ("has space", "' '"),
            ("a,b", "','"),
            ("a<b", "'<'"),
            ("a&b", "'&'"),
            ("tab\tx", "'\\t'"),
        ] {
            let err = refused(&Alert::new(
                bad,
                "s",
                t(0),
                Status::Actual,
                MsgType::Alert,
                Scope::Public,
            ));
            assert_eq!(
                (err.kind(), err.field()),
                (CapErrorKind::InvalidIdentifier, "identifier")
            );
            assert!(
                err.to_string().contains(&format!("contains {shown}")),
                "{err}"
            );
            assert!(
                err.to_string().contains("§3.2.1 forbids spaces, commas"),
                "{err}"
            );
            let err = refused(&Alert::new(
                "i",
                bad,
                t(0),
                Status::Actual,
                MsgType::Alert,
                Scope::Public,
            ));
            assert_eq!(err.field(), "sender");
        }
        let err = refused(&Alert::new(
            "",
            "s",
            t(0),
            Status::Actual,
            MsgType::Alert,
            Scope::Public,
        ));
        assert_eq!(
            err.to_string(),
            "CAP alert refused: identifier: `` is empty; CAP 1.2 §3.2.1 forbids spaces, commas and the restricted characters < and &"
        );
        let err = refused(&alert().references([Reference::new("a b", "x", t(0))]));
        assert_eq!(err.field(), "references[0].sender");
        let err = refused(&alert().references([
            Reference::new("a", "x", t(0)),
            Reference::new("a", "x,y", t(0)),
        ]));
        assert_eq!(err.field(), "references[1].identifier");
    }

    #[test]
    fn refuses_updates_cancels_acks_and_errors_without_references() {
        for msg_type in [
            MsgType::Update,
            MsgType::Cancel,
            MsgType::Ack,
            MsgType::Error,
        ] {
            let a = Alert::new("i", "s", t(0), Status::Actual, msg_type, Scope::Public);
            let err = refused(&a);
            assert_eq!(
                (err.kind(), err.field()),
                (CapErrorKind::MissingReferences, "references")
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "CAP alert refused: references: msgType {msg_type} requires <references> naming the earlier alert(s) it applies to"
                )
            );
            a.references([alert().as_reference()]).to_xml().unwrap();
        }
    }

    #[test]
    fn refuses_restricted_without_restriction_and_private_without_addresses() {
        let restricted = Alert::new(
            "i",
            "s",
            t(0),
            Status::Actual,
            MsgType::Alert,
            Scope::Restricted,
        );
        let err = refused(&restricted);
        assert_eq!(err.kind(), CapErrorKind::MissingRestriction);
        assert_eq!(
            err.to_string(),
            "CAP alert refused: restriction: scope Restricted requires a <restriction> describing who may receive the alert"
        );
        restricted.restriction("Police only").to_xml().unwrap();

        let private = Alert::new(
            "i",
            "s",
            t(0),
            Status::Actual,
            MsgType::Alert,
            Scope::Private,
        );
        let err = refused(&private);
        assert_eq!(err.kind(), CapErrorKind::MissingAddresses);
        assert_eq!(
            err.to_string(),
            "CAP alert refused: addresses: scope Private requires at least one recipient in <addresses>"
        );
        let err = refused(&private.clone().addresses(Vec::<String>::new()));
        assert_eq!(err.kind(), CapErrorKind::MissingAddresses);
        private.addresses(["a@b"]).to_xml().unwrap();
    }

    #[test]
    fn refuses_list_entries_that_cannot_be_written() {
        let err = refused(&alert().addresses(["ok", "say \"hi\""]));
        assert_eq!(
            (err.kind(), err.field()),
            (CapErrorKind::InvalidListEntry, "addresses[1]")
        );
        assert!(err.to_string().contains("contains a double quote"), "{err}");
        let err = refused(&alert().incidents([""]));
        assert_eq!(
            err.to_string(),
            "CAP alert refused: incidents[0]: `` is empty"
        );
    }

    #[test]
    fn refuses_short_polygons() {
        for (points, kept) in [
            (vec![(1.0, 1.0), (2.0, 2.0)], 3),
            (vec![(1.0, 1.0), (2.0, 2.0), (1.0, 1.0)], 3),
            (vec![(1.0, 1.0)], 1),
            (vec![], 0),
        ] {
            let a = alert().info(
                info().area(
                    Area::new("x")
                        .polygon([(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)])
                        .polygon(points),
                ),
            );
            let err = refused(&a);
            assert_eq!(
                (err.kind(), err.field()),
                (CapErrorKind::PolygonTooShort, "info[0].area[0].polygon[1]")
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "CAP alert refused: info[0].area[0].polygon[1]: has {kept} point(s) once its ring is closed; CAP needs at least 4, the first and last equal"
                )
            );
        }
    }

    #[test]
    fn refuses_coordinates_out_of_range() {
        for (lat, lon) in [
            (90.1, 0.0),
            (-91.0, 0.0),
            (0.0, 180.5),
            (0.0, -181.0),
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
        ] {
            let err = refused(&alert().info(info().area(Area::new("x").polygon([
                (0.0, 0.0),
                (lat, lon),
                (1.0, 1.0),
            ]))));
            assert_eq!(
                (err.kind(), err.field()),
                (
                    CapErrorKind::CoordinateOutOfRange,
                    "info[0].area[0].polygon[0]"
                )
            );
            let err = refused(&alert().info(info().area(Area::new("x").circle(lat, lon, 1.0))));
            assert_eq!(err.field(), "info[0].area[0].circle[0]");
            assert!(
                err.to_string()
                    .contains("is outside WGS 84 (latitude ±90, longitude ±180)"),
                "{err}"
            );
        }
        // The edges themselves are valid.
        alert()
            .info(info().area(Area::new("x").polygon([(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)])))
            .to_xml()
            .unwrap();
    }

    #[test]
    fn refuses_bad_radii_altitudes_and_ceilings() {
        let err = refused(&alert().info(info().area(Area::new("x").circle(1.0, 1.0, -1.0))));
        assert_eq!(err.kind(), CapErrorKind::InvalidRadius);
        assert_eq!(
            err.to_string(),
            "CAP alert refused: info[0].area[0].circle[0]: radius -1 km must be a finite number >= 0"
        );
        let err = refused(&alert().info(info().area(Area::new("x").ceiling(10.0))));
        assert_eq!(err.kind(), CapErrorKind::InvalidCeiling);
        assert_eq!(
            err.to_string(),
            "CAP alert refused: info[0].area[0].ceiling: a <ceiling> may only be used together with an <altitude>"
        );
        let err = refused(&alert().info(info().area(Area::new("x").altitude(10.0).ceiling(5.0))));
        assert_eq!(
            err.to_string(),
            "CAP alert refused: info[0].area[0].ceiling: ceiling 5 ft is below altitude 10 ft"
        );
        for bad in [f64::NAN, f64::NEG_INFINITY, 1e15] {
            let err = refused(&alert().info(info().area(Area::new("x").altitude(bad))));
            assert_eq!(
                (err.kind(), err.field()),
                (CapErrorKind::InvalidDecimal, "info[0].area[0].altitude")
            );
        }
        assert_eq!(format_decimal(1e-30), "0");
        assert_eq!(format_decimal(-0.25), "-0.25");
        assert_eq!(format_decimal(123_456_789.123_456_7), "123456789.123457");
    }

    #[test]
    fn refuses_an_info_without_category() {
        let empty = Info::new(
            [],
            "Storm",
            Urgency::Past,
            Severity::Minor,
            Certainty::Likely,
        );
        let err = refused(&alert().info(info()).info(empty.clone()));
        assert_eq!(
            (err.kind(), err.field()),
            (CapErrorKind::MissingCategory, "info[1].category")
        );
        assert_eq!(
            err.to_string(),
            "CAP alert refused: info[1].category: an <info> needs at least one <category>"
        );
        alert()
            .info(empty.category(Category::Other))
            .to_xml()
            .unwrap();
    }

    #[test]
    fn refuses_languages_that_are_not_xs_language() {
        for good in ["en", "en-US", "fr-CA", "de-DE-1996", "x-klingon"] {
            assert!(is_xs_language(good), "{good}");
        }
        for bad in [
            "",
            "en_US",
            "en-",
            "-en",
            "1en",
            "toolonglang",
            "en US",
            "en-toolongsub",
        ] {
            assert!(!is_xs_language(bad), "{bad}");
        }
        let err = refused(&alert().info(info().language("en_US")));
        assert_eq!(
            err.to_string(),
            "CAP alert refused: info[0].language: `en_US` is not a language code such as `en-US` (xs:language)"
        );
    }

    #[test]
    fn refuses_uris_anyuri_validators_reject() {
        for good in [
            "https://example.org/a b/ä?q=<x>#frag",
            "http://[::1]:8080/x",
            "http://user:pw@example.org/",
            "urn:oasis:names:tc:emergency:cap:1.2",
            "mailto:ops@example.org",
            "http://e.org/%41%2f",
        ] {
            assert_eq!(uri_problem(good, true), None, "{good}");
        }
        assert_eq!(uri_problem("maps/m.png", false), None);
        assert_eq!(uri_problem("a/b:c", false), None);
        for (bad, problem) in [
            (
                "maps/m.png",
                "is not an absolute URI (no scheme such as `https:`)",
            ),
            ("http://e.org/#a#b", "contains more than one `#`"),
            (
                "http://e.org/%zz",
                "has a `%` not followed by two hex digits",
            ),
            (
                "http://e.org/%4",
                "has a `%` not followed by two hex digits",
            ),
            (":foo", "has an invalid scheme (expected e.g. `https:`)"),
            (
                "1http://e.org",
                "has an invalid scheme (expected e.g. `https:`)",
            ),
            (
                "http://e.org:abc/",
                "has a port that is empty or not a number",
            ),
            ("http://e.org:/", "has a port that is empty or not a number"),
            ("http://a@b@c/", "has more than one `@` in its authority"),
            ("http://[::1]x/", "has text after its `[…]` host"),
            ("http://[::1/", "has an unclosed `[` in its host"),
            ("http://e.org/a[b]", "has `[` or `]` outside an IPv6 host"),
            ("http://e.org/?a[b]", "has `[` or `]` in its query"),
        ] {
            assert_eq!(uri_problem(bad, true), Some(problem), "{bad}");
        }
        let err = refused(&alert().info(info().web("www.example.org")));
        assert_eq!(
            (err.kind(), err.field()),
            (CapErrorKind::InvalidUri, "info[0].web")
        );
        let err =
            refused(&alert().info(info().resource(Resource::new("r", "text/plain").uri("x#1#2"))));
        assert_eq!(
            err.to_string(),
            "CAP alert refused: info[0].resource[0].uri: `x#1#2` contains more than one `#`"
        );
    }

    #[test]
    fn refuses_timestamps_outside_four_digit_years() {
        let year_10000 = Timestamp::from_utc(10_000, 1, 1, 0, 0, 0, 0).unwrap();
        let err = refused(&Alert::new(
            "i",
            "s",
            year_10000,
            Status::Actual,
            MsgType::Alert,
            Scope::Public,
        ));
        assert_eq!(
            err.to_string(),
            "CAP alert refused: sent: year 10000 is outside 0001-9999, which CAP's dateTime pattern allows"
        );
        let year_0 = Timestamp::from_utc(0, 12, 31, 0, 0, 0, 0).unwrap();
        let err = refused(&alert().info(info().expires(year_0)));
        assert_eq!(
            (err.kind(), err.field()),
            (CapErrorKind::TimestampOutOfRange, "info[0].expires")
        );
        let err = refused(&alert().references([Reference::new("a", "b", year_0)]));
        assert_eq!(err.field(), "references[0].sent");
        let edge = Timestamp::from_utc(9999, 12, 31, 23, 59, 59, 999).unwrap();
        let xml = alert().info(info().onset(edge)).to_xml().unwrap();
        assert!(
            xml.contains("<onset>9999-12-31T23:59:59+00:00</onset>"),
            "{xml}"
        );
    }

    #[test]
    fn refuses_characters_xml_cannot_carry() {
        let err = refused(&alert().info(info().area(Area::new("x").geocode("SAME", "00\u{7}1"))));
        assert_eq!(err.kind(), CapErrorKind::ForbiddenCharacter);
        assert_eq!(
            err.to_string(),
            "CAP alert refused: info[0].area[0].geocode[0].value: contains U+0007, which XML 1.0 cannot carry"
        );
        let err = refused(&alert().note("\u{FFFE}"));
        assert_eq!(err.field(), "note");
        let err = refused(&Alert::new(
            "a\u{0}",
            "s",
            t(0),
            Status::Actual,
            MsgType::Alert,
            Scope::Public,
        ));
        assert_eq!(
            (err.kind(), err.field()),
            (CapErrorKind::ForbiddenCharacter, "identifier")
        );
        // Tab, LF and CR are allowed.
        alert().note("a\tb\nc\r\n").to_xml().unwrap();
    }

    #[test]
    fn enums_use_the_xsd_spellings() {
        assert_eq!(Category::Cbrne.as_str(), "CBRNE");
        assert_eq!(ResponseType::AllClear.to_string(), "AllClear");
        assert_eq!(MsgType::Ack.as_str(), "Ack");
        assert_eq!(
            Certainty::ALL
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>(),
            ["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
        );
        assert_eq!(Category::ALL.len(), 12);
        assert_eq!(ResponseType::ALL.len(), 9);
        assert_eq!(
            Status::ALL.len() + Scope::ALL.len() + MsgType::ALL.len(),
            13
        );
        for c in Category::ALL {
            assert_eq!(Category::from_cap(c.as_str()), Some(*c));
        }
        assert_eq!(Category::from_cap("cbrne"), None);
        assert_eq!(Severity::from_cap("Severe"), Some(Severity::Severe));
        assert_eq!(Urgency::from_cap("Expected"), Some(Urgency::Expected));
    }
}
