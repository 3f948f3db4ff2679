//! What a connector's manifest must be before anything stores, shows or obeys it:
//! every length and count bounded, ids and names well formed, no control
//! characters. Checked at load (`Runtime::load`), so `airlock inspect`, `airlock
//! run` and an upload refuse the same manifests with the same findings.
//!
//! Invariants:
//! - [`check`] is pure and total: it reads the manifest, returns every finding (each
//!   with a JSON Pointer into the manifest as the APIs show it), and never echoes a
//!   value back — a finding names the field and the bound, at most the first few
//!   characters of a short id.
//! - The bounds are generous for a real connector and small enough that a hostile
//!   one cannot make the registry, its answers or its logs large: the largest
//!   manifest that passes is a few hundred KiB.
//! - What needs more than the manifest (the connector's category, JSON Schema
//!   compilation, the host-pattern grammar, semantic versions) is the registry's.

use super::bindings::airlock::connector::types::{Credential, Manifest};
use crate::text::is_unprintable;

/// The longest id: lower kebab case, `[a-z0-9]+(-[a-z0-9]+)*`.
pub const MAX_ID: usize = 64;
/// The longest display name, vendor, version or capability.
pub const MAX_NAME: usize = 100;
/// The longest description of the connector.
pub const MAX_DESCRIPTION: usize = 4096;
/// The longest description of an action.
pub const MAX_ACTION_DESCRIPTION: usize = 1024;
/// The most actions a connector declares.
pub const MAX_ACTIONS: usize = 64;
/// The most capabilities a connector declares.
pub const MAX_CAPABILITIES: usize = 32;
/// The most outbound host patterns a connector declares.
pub const MAX_OUTBOUND_HOSTS: usize = 64;
/// The longest outbound host pattern or credential name.
pub const MAX_PATTERN: usize = 255;
/// The largest schema (config, secrets, or an action's input), bytes.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// The deepest nesting of a schema's JSON.
pub const MAX_SCHEMA_DEPTH: usize = 64;
/// The largest sample output body, bytes.
pub const MAX_SAMPLE_BYTES: usize = 64 * 1024;

/// One thing wrong with a manifest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestProblem {
    /// The rule it breaks: [`RULE_ID`] for the id, [`RULE_BOUNDS`] for anything
    /// else checked here.
    pub rule: &'static str,
    /// JSON Pointer into the manifest as the APIs show it (`/actions/3/name`).
    pub path: String,
    /// What is wrong, naming the bound; never the offending value.
    pub message: String,
}

/// The rule an id that is not lower kebab case breaks.
pub const RULE_ID: &str = "id-format";
/// The rule a manifest breaks with a field too long, too many items, a schema too
/// large or deep, or characters that make no sense where they are.
pub const RULE_BOUNDS: &str = "manifest-bounds";

/// Every problem with `m`, in manifest order; empty when it is fine.
pub fn check(m: &Manifest) -> Vec<ManifestProblem> {
    let mut found = Vec::new();
    if let Err(why) = kebab_id(&m.id) {
        found.push(ManifestProblem {
            rule: RULE_ID,
            path: "/id".into(),
            message: format!("the id {why}"),
        });
    }
    let mut bad = |path: String, message: String| {
        found.push(ManifestProblem {
            rule: RULE_BOUNDS,
            path,
            message,
        })
    };
    for (path, text, max) in [
        ("/name", &m.name, MAX_NAME),
        ("/vendor", &m.vendor, MAX_NAME),
        ("/version", &m.version, MAX_NAME),
    ] {
        if let Err(why) = line(text, max, path != "/vendor") {
            bad(path.into(), why);
        }
    }
    if let Err(why) = prose(&m.description, MAX_DESCRIPTION) {
        bad("/description".into(), why);
    }
    if m.capabilities.len() > MAX_CAPABILITIES {
        bad(
            "/capabilities".into(),
            format!(
                "{} capabilities; at most {MAX_CAPABILITIES}",
                m.capabilities.len()
            ),
        );
    } else {
        for (i, c) in m.capabilities.iter().enumerate() {
            if let Err(why) = slug(c, MAX_NAME) {
                bad(format!("/capabilities/{i}"), format!("a capability {why}"));
            }
        }
    }
    for (path, schema) in [
        ("/config_schema", &m.config_schema),
        ("/secrets_schema", &m.secrets_schema),
    ] {
        if let Err(why) = schema_text(schema) {
            bad(path.into(), why);
        }
    }
    if m.actions.len() > MAX_ACTIONS {
        bad(
            "/actions".into(),
            format!("{} actions; at most {MAX_ACTIONS}", m.actions.len()),
        );
    } else {
        for (i, a) in m.actions.iter().enumerate() {
            if let Err(why) = slug(&a.name, MAX_NAME) {
                bad(
                    format!("/actions/{i}/name"),
                    format!("an action name {why}"),
                );
            } else if m.actions[..i].iter().any(|b| b.name == a.name) {
                bad(
                    format!("/actions/{i}/name"),
                    "this action name is declared twice".into(),
                );
            }
            if let Err(why) = prose(&a.description, MAX_ACTION_DESCRIPTION) {
                bad(format!("/actions/{i}/description"), why);
            }
            if let Err(why) = schema_text(&a.input_schema) {
                bad(format!("/actions/{i}/input_schema"), why);
            }
        }
    }
    if m.outbound_hosts.len() > MAX_OUTBOUND_HOSTS {
        bad(
            "/outbound_hosts".into(),
            format!(
                "{} outbound hosts; at most {MAX_OUTBOUND_HOSTS}",
                m.outbound_hosts.len()
            ),
        );
    } else {
        for (i, h) in m.outbound_hosts.iter().enumerate() {
            if let Err(why) = line(&h.pattern, MAX_PATTERN, true) {
                bad(format!("/outbound_hosts/{i}/pattern"), why);
            }
            let names: Vec<(&str, &String)> = match &h.credential {
                None => vec![],
                Some(Credential::Bearer(s)) => vec![("secret", s)],
                Some(Credential::Basic(b)) => vec![
                    ("username_secret", &b.username_secret),
                    ("password_secret", &b.password_secret),
                ],
                Some(Credential::Header(c) | Credential::HmacSha256(c)) => {
                    vec![("header", &c.header), ("secret", &c.secret)]
                }
            };
            for (field, name) in names {
                if let Err(why) = line(name, MAX_PATTERN, true) {
                    bad(format!("/outbound_hosts/{i}/credential/{field}"), why);
                }
            }
        }
    }
    if let Some(sample) = &m.sample_output {
        if sample.body.len() > MAX_SAMPLE_BYTES {
            bad(
                "/sample_output/body".into(),
                format!(
                    "{} bytes; a sample output is at most {MAX_SAMPLE_BYTES}",
                    sample.body.len()
                ),
            );
        }
        if let Err(why) = line(&sample.media_type, MAX_PATTERN, true) {
            bad("/sample_output/media_type".into(), why);
        }
    }
    found
}

/// `text` as a connector id: 1 to [`MAX_ID`] bytes of lower kebab case (`osint-feed`),
/// so it reads the same as a name, a topic segment and a file name.
pub fn kebab_id(text: &str) -> Result<(), String> {
    let max = MAX_ID;
    if text.is_empty() || text.len() > max {
        return Err(format!("must be 1 to {max} characters, not {}", text.len()));
    }
    let words_ok = text.split('-').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if words_ok {
        Ok(())
    } else {
        Err("must be lower kebab case: words of `a-z` and `0-9` joined by single `-` (`osint-feed`)".into())
    }
}

/// `text` as a name: 1 to `max` bytes of `[a-z0-9._-]`, starting with a letter or
/// digit, with no `..` (so never a path).
fn slug(text: &str, max: usize) -> Result<(), String> {
    let ok_start = text
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let ok_rest = text
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if text.is_empty() || text.len() > max {
        Err(format!("must be 1 to {max} characters, not {}", text.len()))
    } else if !ok_start || !ok_rest || text.contains("..") {
        Err(
            "must be lowercase letters, digits, `.`, `_` or `-`, starting with a letter or digit and with no `..`"
                .into(),
        )
    } else {
        Ok(())
    }
}

/// `text` as a one-line label: at most `max` bytes (at least one when `required`),
/// no control or bidirectional formatting characters.
fn line(text: &str, max: usize, required: bool) -> Result<(), String> {
    if text.len() > max || (required && text.trim().is_empty()) {
        Err(format!(
            "must be {} to {max} bytes, not {}",
            usize::from(required),
            text.len()
        ))
    } else if text.chars().any(is_unprintable) {
        Err("must not contain control or bidirectional formatting characters".into())
    } else {
        Ok(())
    }
}

/// `text` as prose: at most `max` bytes; newlines and tabs allowed, other control
/// and bidirectional formatting characters not.
fn prose(text: &str, max: usize) -> Result<(), String> {
    if text.len() > max {
        Err(format!("must be at most {max} bytes, not {}", text.len()))
    } else if text
        .chars()
        .any(|c| is_unprintable(c) && !matches!(c, '\n' | '\t'))
    {
        Err("must not contain control characters other than newlines and tabs, nor bidirectional formatting characters".into())
    } else {
        Ok(())
    }
}

/// A schema's text: bounded in size and in nesting (the deepest `[`/`{` outside
/// strings), so that neither compiling nor showing it is costly. Whether it is
/// valid JSON Schema is the registry's question.
fn schema_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_SCHEMA_BYTES {
        return Err(format!(
            "{} bytes; a schema is at most {MAX_SCHEMA_BYTES}",
            text.len()
        ));
    }
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_SCHEMA_DEPTH {
        Err(format!(
            "nests {deepest} levels deep; a schema nests at most {MAX_SCHEMA_DEPTH}"
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::airlock::connector::types::{
        Action, Category, OutboundHost, OutputStandard,
    };

    fn manifest() -> Manifest {
        Manifest {
            id: "osint-feed".into(),
            name: "OSINT feed".into(),
            version: "1.2.0".into(),
            vendor: "Example".into(),
            description: "Line one.\nLine two.".into(),
            category: Category::Osint,
            capabilities: vec!["poll".into()],
            output_standards: vec![OutputStandard::Stix21],
            config_schema: r#"{"type":"object"}"#.into(),
            secrets_schema: "{}".into(),
            actions: vec![Action {
                name: "lookup".into(),
                description: "Looks up.".into(),
                input_schema: "{}".into(),
                output_standard: OutputStandard::Stix21,
            }],
            outbound_hosts: vec![OutboundHost {
                pattern: "https://*.abuse.ch".into(),
                credential: None,
            }],
            sample_output: None,
        }
    }

    fn paths(m: &Manifest) -> Vec<String> {
        check(m).into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn a_real_manifest_passes() {
        assert_eq!(check(&manifest()), vec![]);
    }

    #[test]
    fn hostile_manifests_are_refused_by_field_without_echo() {
        let mut m = manifest();
        m.id = "../../etc/passwd".into();
        m.name = "n".repeat(1 << 20);
        m.actions = (0..10_000)
            .map(|i| Action {
                name: format!("a{i}"),
                description: String::new(),
                input_schema: "{}".into(),
                output_standard: OutputStandard::Json,
            })
            .collect();
        m.config_schema = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let found = check(&m);
        let p: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(p, ["/id", "/name", "/config_schema", "/actions"]);
        let text = serde_json::to_string(&found).unwrap_or_default();
        assert!(text.len() < 1000, "{text}");
        assert!(!text.contains("passwd"), "{text}");
    }

    #[test]
    fn ids_are_kebab_case_and_never_paths() {
        for good in ["a", "osint-feed", "feed-2", "0day"] {
            let mut m = manifest();
            m.id = good.into();
            assert_eq!(paths(&m), Vec::<String>::new(), "{good}");
        }
        for bad in [
            "",
            "Feed",
            "-x",
            ".x",
            "a..b",
            "a/b",
            "a b",
            "é",
            "com.example.feed",
            "feed_2",
            "a--b",
            "a-",
            &"x".repeat(65),
        ] {
            let mut m = manifest();
            m.id = bad.into();
            assert_eq!(paths(&m), ["/id"], "{bad}");
            assert_eq!(check(&m)[0].rule, RULE_ID);
        }
    }

    #[test]
    fn control_characters_are_refused_where_they_make_no_sense() {
        let mut m = manifest();
        m.name = "Feed\u{1b}[31m".into();
        m.vendor = "V\u{202e}x".into();
        m.actions[0].name = "lookup".into();
        m.actions.push(m.actions[0].clone());
        m.outbound_hosts[0].pattern = "https://a.test\n".into();
        m.description = "tabs\tand\nnewlines are fine, NUL is not\u{0}".into();
        assert_eq!(
            paths(&m),
            [
                "/name",
                "/vendor",
                "/description",
                "/actions/1/name",
                "/outbound_hosts/0/pattern"
            ]
        );
    }

    #[test]
    fn schema_depth_counts_brackets_outside_strings_only() {
        assert!(schema_text(&format!("{{\"a\":\"{}\"}}", "[".repeat(1000))).is_ok());
        assert!(schema_text(&"[".repeat(65)).is_err());
        assert!(schema_text(&"[".repeat(64)).is_ok());
        assert!(schema_text(&" ".repeat(MAX_SCHEMA_BYTES + 1)).is_err());
    }
}
