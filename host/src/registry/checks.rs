//! Checks of input that several operations share: names, vocabulary values, JSON
//! Schemas and the documents they judge, outbound host patterns, schedules. Pure
//! functions returning the [`RegistryError`] a caller answers with.

use std::str::FromStr;

use super::{FieldError, RegistryError};
use crate::vocab::UnknownName;

/// A connector's or target's name: 1 to 100 letters, digits, spaces, `-`, `_`, `.`.
pub(super) fn name_ok(name: &str) -> bool {
    !name.trim().is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'))
}

/// [`name_ok`], as the error registration answers.
pub(super) fn check_name(name: &str) -> Result<(), RegistryError> {
    if name_ok(name) {
        Ok(())
    } else {
        Err(RegistryError::BadRequest {
            code: "invalid_name",
            message: "`name` must be 1 to 100 characters: letters, digits, spaces, `-`, `_` or `.`"
                .into(),
        })
    }
}

/// `value` read as a value of the vocabulary `T`, or 400 naming `field` and the
/// allowed values.
pub(super) fn one_of<T: FromStr<Err = UnknownName>>(
    field: &str,
    value: &str,
) -> Result<T, RegistryError> {
    value.parse::<T>().map_err(|e| RegistryError::BadRequest {
        code: "invalid_field",
        message: format!(
            "`{field}` must be one of {}; got `{value}`",
            e.allowed.join(", ")
        ),
    })
}

/// Names for a sentence: `` `a`, `b` ``.
pub(super) fn backticked(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A JSON Schema compiled, or why it does not compile.
pub(super) fn compile_schema(schema: &serde_json::Value) -> Result<jsonschema::Validator, String> {
    jsonschema::validator_for(schema).map_err(|e| e.to_string())
}

/// Validates `doc` against `schema`; the errors name each failing field.
///
/// A missing required property is reported at the property's own path
/// (`/feed_url`), and an unexpected one at its key (`/user_agent`), one finding
/// per key, rather than at the object that holds them, so a form can show each
/// error beside its field.
pub(super) fn schema_errors(
    validator: &jsonschema::Validator,
    doc: &serde_json::Value,
) -> Vec<FieldError> {
    field_errors(validator, doc, true)
}

/// As [`schema_errors`], for secrets: the findings name fields and the rule
/// that failed, never a value (a validator's message quotes the instance).
pub(super) fn secret_schema_errors(
    validator: &jsonschema::Validator,
    doc: &serde_json::Value,
) -> Vec<FieldError> {
    field_errors(validator, doc, false)
}

fn field_errors(
    validator: &jsonschema::Validator,
    doc: &serde_json::Value,
    show_values: bool,
) -> Vec<FieldError> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let mut out = Vec::new();
    for e in validator.iter_errors(doc) {
        let parent = e.instance_path().to_string();
        match e.kind() {
            Kind::Required { property } => {
                let name = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_owned);
                out.push(FieldError {
                    rule: None,
                    path: format!("{parent}/{}", pointer_token(&name)),
                    message: "is required".into(),
                });
            }
            Kind::AdditionalProperties { unexpected }
            | Kind::UnevaluatedProperties { unexpected } => {
                for key in unexpected {
                    out.push(FieldError {
                        rule: None,
                        path: format!("{parent}/{}", pointer_token(key)),
                        message: "is not a property the schema declares".into(),
                    });
                }
            }
            _ if show_values => out.push(FieldError {
                rule: None,
                path: parent,
                message: e.to_string(),
            }),
            kind => out.push(FieldError {
                rule: None,
                path: parent,
                message: format!(
                    "does not satisfy `{}` of the secrets schema",
                    kind.keyword()
                ),
            }),
        }
    }
    out
}

/// One reference token of a JSON Pointer (RFC 6901): `~` and `/` escaped.
fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// 422 `code`: `what` is invalid, each field named in the message and listed.
pub(super) fn unprocessable(
    code: &'static str,
    what: &str,
    details: Vec<FieldError>,
) -> RegistryError {
    // Bounded, whatever the input: the first findings in the sentence, at most
    // MAX_DETAILS in the list, each message cut (a validator's message may quote
    // the input).
    const SHOWN: usize = 5;
    const MAX_DETAILS: usize = 50;
    const MAX_DETAIL: usize = 300;
    let mut fields: Vec<String> = details
        .iter()
        .take(SHOWN)
        .map(|d| {
            if d.path.is_empty() {
                format!("(document): {}", d.message)
            } else {
                format!("{}: {}", d.path, d.message)
            }
        })
        .collect();
    if details.len() > SHOWN {
        fields.push(format!("and {} more", details.len() - SHOWN));
    }
    let details = details
        .into_iter()
        .take(MAX_DETAILS)
        .map(|d| FieldError {
            rule: d.rule,
            path: crate::text::bounded(&d.path, MAX_DETAIL),
            message: crate::text::bounded(&d.message, MAX_DETAIL),
        })
        .collect();
    RegistryError::Unprocessable {
        code,
        message: format!("{what} is invalid: {}", fields.join("; ")),
        details,
    }
}

/// Checks an outbound host pattern with the same parser the SDK's HTTP client uses,
/// so a pattern the host accepts is one the guest side understands the same way.
pub(super) fn host_pattern(pattern: &str) -> Result<airlock_sdk::http::OriginPattern, String> {
    airlock_sdk::http::OriginPattern::parse(pattern)
}

/// Whether granting `grant` stays within what the manifest declares: it is one of
/// the declared patterns, or a single origin a declared pattern matches.
pub(super) fn grant_is_declared(grant: &str, declared: &[&str]) -> bool {
    if host_pattern(grant).is_err() {
        return false;
    }
    if declared.contains(&grant) {
        return true;
    }
    !grant.contains('*')
        && airlock_sdk::http::Origin::of_url(grant).is_some_and(|origin| {
            declared
                .iter()
                .filter_map(|d| host_pattern(d).ok())
                .any(|p| p.matches(&origin))
        })
}

/// `N{s|m|h}` with 0 < N < 2³² as milliseconds.
pub(crate) fn duration_ms(s: &str) -> Option<i64> {
    let (digits, unit) = s.split_at(s.len().saturating_sub(1));
    let scale = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    let n = digits.parse::<u32>().ok().filter(|&v| v > 0)?;
    Some(i64::from(n) * scale)
}

/// The period of a schedule `every N{s|m|h}` (N > 0), ms.
pub(crate) fn schedule_period_ms(s: &str) -> Option<i64> {
    s.strip_prefix("every ").and_then(duration_ms)
}

/// `every N{s|m|h}` with N > 0.
pub(super) fn schedule_ok(s: &str) -> bool {
    schedule_period_ms(s).is_some()
}

/// Free text a person wrote (a description, a disable reason): no control
/// characters — newlines and tabs only where `multiline` — and no bidirectional
/// formatting characters, which would make it read differently from what it is
/// wherever it is shown or logged. 400 `invalid_text`, naming the field.
pub(super) fn check_text(field: &str, text: &str, multiline: bool) -> Result<(), RegistryError> {
    let bad = text
        .chars()
        .any(|c| crate::text::is_unprintable(c) && !(multiline && matches!(c, '\n' | '\t')));
    if bad {
        return Err(RegistryError::BadRequest {
            code: "invalid_text",
            message: format!(
                "`{field}` may not contain control characters{} or bidirectional formatting characters",
                if multiline {
                    " other than newlines and tabs"
                } else {
                    ""
                }
            ),
        });
    }
    Ok(())
}

/// The longest `webhook_url`.
const MAX_WEBHOOK_URL: usize = 2048;

/// A `webhook_url` read as an outbound URL would be: at most 2 KiB, an absolute
/// http(s) URL with a host and no user info, and not an address in a non-public
/// range (loopback, private, link-local — where cloud metadata lives —, …). 400
/// `invalid_field`; the message never quotes the URL.
pub(super) fn check_webhook_url(u: &str) -> Result<(), RegistryError> {
    let bad = |why: &str| RegistryError::BadRequest {
        code: "invalid_field",
        message: format!("`webhook_url` {why}"),
    };
    if u.len() > MAX_WEBHOOK_URL {
        return Err(bad(&format!("is at most {MAX_WEBHOOK_URL} bytes")));
    }
    // Read as the egress policy reads a guest's URL: the same parser, the same
    // refusals.
    let (origin, _) = crate::runtime::read_outbound_url(u).map_err(|_| {
        bad("must be an absolute http:// or https:// URL with a host and no user info")
    })?;
    let ip = origin.host.parse::<std::net::IpAddr>().ok();
    if let Some(kind) = ip.and_then(crate::runtime::address_kind) {
        return Err(bad(&format!(
            "names a {kind} address; it must be a public one"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Category;

    #[test]
    fn host_patterns_and_schedules_are_checked() {
        assert!(host_pattern("https://api.example.com").is_ok());
        assert!(host_pattern("https://*.example.com:8443").is_ok());
        assert!(host_pattern("http://127.0.0.1:8080").is_ok());
        for bad in [
            "ftp://example.com",
            "https://example.com/path",
            "https://",
            "https://user@example.com",
            "https://a.*.example.com",
            "example.com",
        ] {
            let why = host_pattern(bad).unwrap_err();
            assert!(why.contains('`'), "{bad}: {why}");
        }
        assert!(schedule_ok("every 5m"));
        assert!(schedule_ok("every 30s"));
        assert!(!schedule_ok("every 0s"));
        assert!(!schedule_ok("hourly"));
        assert!(!schedule_ok("every 5d"));
        assert!(!schedule_ok("every -5s"));
        assert_eq!(schedule_period_ms("every 2s"), Some(2_000));
        assert_eq!(schedule_period_ms("every 3h"), Some(10_800_000));
        assert_eq!(duration_ms("90m"), Some(5_400_000));
        assert_eq!(duration_ms("m"), None);
    }

    #[test]
    fn a_vocabulary_value_outside_it_names_the_field_and_the_choices() {
        assert_eq!(
            one_of::<Category>("category", "osint").unwrap(),
            Category::Osint
        );
        let RegistryError::BadRequest { code, message } =
            one_of::<Category>("category", "news").unwrap_err()
        else {
            panic!("not a bad request")
        };
        assert_eq!(code, "invalid_field");
        assert_eq!(
            message,
            "`category` must be one of osint, financial, social, dark-web, telemetry, custom; got `news`"
        );
    }
}
