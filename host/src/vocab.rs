//! The contract's vocabularies as types: output standards, connector categories and
//! push authentication methods, each spelt (serde, [`FromStr`], [`Display`](std::fmt::Display)) exactly
//! as DESIGN.md, the WIT and the API write them.
//!
//! This is the bottom floor: it depends on nothing else in the crate (only std and
//! serde — the fuzz targets compile it from its source file), and the names appear
//! as literals here and nowhere else in the host (the WIT and the validators' own
//! rule texts aside).
//!
//! **Invariant:** `X::from_str(x.as_str()) == Ok(x)` for every value, and `ALL`
//! lists every value once, in the order the API shows them.

use std::fmt;
use std::str::FromStr;

/// A name that is not one of a vocabulary's: says which vocabulary and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// What was given.
    pub given: String,
    /// The vocabulary's names.
    pub allowed: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not one of {}",
            self.given,
            self.allowed.join(", ")
        )
    }
}

impl std::error::Error for UnknownName {}

/// `names` as a sentence's list: `a, b or c`.
pub fn either(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_string(),
        None => String::new(),
    }
}

/// Defines a closed vocabulary: the enum, `ALL`, `NAMES`, `as_str`, `FromStr`,
/// `Display`, and serde as its name.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order the API lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every name, in the same order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name, as DESIGN.md and the API write it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownName { given: s.to_string(), allowed: $name::NAMES }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

vocabulary! {
    /// An output standard a connector declares. Every one but [`Standard::Json`] is
    /// validated before anyone sees the output.
    pub enum Standard {
        /// STIX 2.1 (JSON), cyber-threat intelligence.
        Stix21 => "stix-2.1",
        /// OASIS CAP 1.2 (XML), emergency alerts.
        Cap12 => "cap-1.2",
        /// AIS, ITU-R M.1371 (NMEA sentences, or JSON reports).
        Ais => "ais",
        /// NIEM 6 (XML or JSON-LD).
        Niem => "niem",
        /// STANAG 4607 (binary GMTI packets).
        Stanag4607 => "stanag-4607",
        /// Any JSON document: not a standard Airlock can check.
        Json => "json",
    }
}

impl Standard {
    /// Whether outputs in this standard are validated (and quarantined when invalid).
    pub const fn is_validated(self) -> bool {
        !matches!(self, Standard::Json)
    }

    /// The event type of this standard's messages on the bus: one subject token.
    pub const fn event_type(self) -> &'static str {
        match self {
            Standard::Stix21 => "stix",
            Standard::Cap12 => "cap",
            other => other.as_str(),
        }
    }
}

vocabulary! {
    /// A connector's category in the catalogue.
    pub enum Category {
        /// Open-source intelligence feeds.
        Osint => "osint",
        /// Financial data.
        Financial => "financial",
        /// Social media.
        Social => "social",
        /// Dark-web monitoring.
        DarkWeb => "dark-web",
        /// Sensors and telemetry (AIS, GMTI…).
        Telemetry => "telemetry",
        /// Anything else.
        Custom => "custom",
    }
}

vocabulary! {
    /// How a push connector authenticates its events.
    pub enum AuthMethod {
        /// Standard Webhooks HMAC-SHA256 over the body.
        HmacSha256 => "hmac-sha256",
        /// An OAuth2 bearer token of a client issued for the connector.
        Oauth2 => "oauth2",
        /// An `alk_` API key in `X-API-Key`.
        ApiKey => "api-key",
        /// An RFC 9421 RSA signature.
        Rsa => "rsa",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_and_serialises_as_itself() {
        fn check<T>(all: &[T], names: &[&str])
        where
            T: FromStr<Err = UnknownName>
                + fmt::Display
                + serde::Serialize
                + serde::de::DeserializeOwned
                + PartialEq
                + fmt::Debug,
        {
            assert_eq!(all.len(), names.len());
            for (v, name) in all.iter().zip(names) {
                assert_eq!(v.to_string(), *name);
                assert_eq!(&name.parse::<T>().unwrap(), v);
                assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{name}\""));
                let back: T = serde_json::from_str(&format!("\"{name}\"")).unwrap();
                assert_eq!(&back, v);
            }
        }
        check(Standard::ALL, Standard::NAMES);
        check(Category::ALL, Category::NAMES);
        check(AuthMethod::ALL, AuthMethod::NAMES);
    }

    #[test]
    fn an_unknown_name_says_what_is_allowed() {
        let e = "stix-2.0".parse::<Standard>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "`stix-2.0` is not one of stix-2.1, cap-1.2, ais, niem, stanag-4607, json"
        );
        assert!(serde_json::from_str::<Category>("\"news\"").is_err());
    }

    #[test]
    fn lists_read_as_sentences() {
        assert_eq!(either(&["a", "b", "c"]), "a, b or c");
        assert_eq!(either(&["a"]), "a");
        assert_eq!(either(&[]), "");
    }

    #[test]
    fn event_types_are_single_subject_tokens() {
        for s in Standard::ALL {
            let t = s.event_type();
            assert!(!t.contains('.') && !t.is_empty(), "{t}");
        }
        assert_eq!(Standard::Stix21.event_type(), "stix");
        assert!(!Standard::Json.is_validated());
    }
}
