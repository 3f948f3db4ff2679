//! Credentials of push connectors, and the checks an inbound event passes before
//! its body is trusted: pure functions, no I/O, no clock (the caller passes `now`).
//!
//! - **HMAC-SHA256 per Standard Webhooks**: a secret `whsec_<base64 of 32 random
//!   bytes>`; a request carries `webhook-id`, `webhook-timestamp` (unix seconds) and
//!   `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//!   several space-separated signatures allowed (a sender mid-rotation signs with
//!   both secrets). [`verify_webhook`] accepts a request signed by any of the
//!   candidate secrets (the current one and, inside the rotation grace, the
//!   previous), compares in constant time, and refuses a timestamp outside the
//!   tolerance either way (a replay from the past, a clock far ahead).
//! - **API keys**: `alk_` + 32 characters of base64url randomness + a 6-character
//!   checksum of those. [`check_api_key_format`] refuses a mistyped or truncated key
//!   before any lookup (a lookup would cost a database round trip and time an
//!   attacker could measure); the store keeps only its SHA-256
//!   ([`crate::auth::hash_secret`], as for OAuth client secrets).
//!
//! Secrets never appear in `Debug` output or error messages.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Prefix of a webhook signing secret (Standard Webhooks).
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";
/// How far a `webhook-timestamp` may be from now, either way: 5 minutes.
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;
/// Prefix of an Airlock API key.
pub const API_KEY_PREFIX: &str = "alk_";
/// Characters of randomness in an API key (24 bytes, base64url).
const API_KEY_RANDOM: usize = 32;
/// Characters of checksum after the randomness.
const API_KEY_CHECKSUM: usize = 6;

/// Why an inbound request's credential was refused. The messages name what was
/// wrong with the request, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushAuthError {
    /// A header the method needs is absent.
    #[error("the `{0}` header is missing")]
    MissingHeader(&'static str),
    /// A header is present but malformed.
    #[error("the `{0}` header is malformed")]
    BadHeader(&'static str),
    /// The timestamp is older than the tolerance: possibly a replay.
    #[error("the request's timestamp is more than 5 minutes old")]
    TooOld,
    /// The timestamp is ahead of the tolerance.
    #[error("the request's timestamp is more than 5 minutes in the future")]
    TooNew,
    /// No signature matched any candidate secret (wrong secret or altered body).
    #[error("no signature matches: wrong secret, or the body was altered")]
    BadSignature,
    /// The API key is not in Airlock's format (mistyped or truncated).
    #[error("the API key is malformed (check it was copied whole)")]
    MalformedKey,
}

/// A new webhook signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_webhook_secret() -> std::io::Result<String> {
    Ok(format!(
        "{WEBHOOK_SECRET_PREFIX}{}",
        STANDARD.encode(crate::keys::random_bytes()?)
    ))
}

/// The key bytes of a `whsec_…` secret (the prefix is optional, as senders'
/// libraries accept both).
pub fn webhook_key(secret: &str) -> Option<Vec<u8>> {
    let b64 = secret.strip_prefix(WEBHOOK_SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(b64).ok().filter(|k| !k.is_empty())
}

fn webhook_mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new(&Default::default()));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// `v1,<base64 signature>` for a request, as a sender computes it.
pub fn sign_webhook(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = webhook_mac(key, id, &timestamp.to_string(), body).finalize();
    format!("v1,{}", STANDARD.encode(tag.into_bytes()))
}

/// The Standard Webhooks headers of a request.
#[derive(Debug, Clone, Copy)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp`.
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`.
    pub signature: Option<&'a str>,
}

/// Verifies a Standard Webhooks request against any of `keys`, at unix time
/// `now`. The headers' presence and the timestamp can be checked before the body
/// is read ([`check_webhook_headers`]); this checks them again, then the MAC.
pub fn verify_webhook(
    keys: &[&[u8]],
    headers: WebhookHeaders,
    body: &[u8],
    now: i64,
) -> Result<(), PushAuthError> {
    let (id, timestamp, signatures) = check_webhook_headers(headers, now)?;
    let mut matched = subtle::Choice::from(0u8);
    for key in keys {
        let expected = webhook_mac(key, id, timestamp, body)
            .finalize()
            .into_bytes();
        for sig in signatures.split_ascii_whitespace() {
            let Some(b64) = sig.strip_prefix("v1,") else {
                continue; // another scheme (e.g. v1a, asymmetric): not ours
            };
            if let Ok(given) = STANDARD.decode(b64) {
                matched |= given.as_slice().ct_eq(expected.as_slice());
            }
        }
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(PushAuthError::BadSignature)
    }
}

/// The checks that need no body: the three headers present, an id without
/// control characters, a timestamp within [`WEBHOOK_TOLERANCE_SECS`] of `now`.
/// Returns the id, the timestamp text and the signature list.
pub fn check_webhook_headers<'a>(
    headers: WebhookHeaders<'a>,
    now: i64,
) -> Result<(&'a str, &'a str, &'a str), PushAuthError> {
    let id = headers
        .id
        .ok_or(PushAuthError::MissingHeader("webhook-id"))?;
    let timestamp = headers
        .timestamp
        .ok_or(PushAuthError::MissingHeader("webhook-timestamp"))?;
    let signatures = headers
        .signature
        .ok_or(PushAuthError::MissingHeader("webhook-signature"))?;
    if id.is_empty() || id.len() > 256 || id.chars().any(char::is_control) {
        return Err(PushAuthError::BadHeader("webhook-id"));
    }
    let at: i64 = timestamp
        .parse()
        .map_err(|_| PushAuthError::BadHeader("webhook-timestamp"))?;
    if at < now.saturating_sub(WEBHOOK_TOLERANCE_SECS) {
        return Err(PushAuthError::TooOld);
    }
    if at > now.saturating_add(WEBHOOK_TOLERANCE_SECS) {
        return Err(PushAuthError::TooNew);
    }
    Ok((id, timestamp, signatures))
}

fn api_key_checksum(random: &str) -> String {
    let digest = Sha256::digest(format!("{API_KEY_PREFIX}{random}").as_bytes());
    URL_SAFE_NO_PAD
        .encode(digest)
        .chars()
        .take(API_KEY_CHECKSUM)
        .collect()
}

/// A new API key: `alk_` + 32 characters of randomness + a 6-character checksum.
pub fn new_api_key() -> std::io::Result<String> {
    let bytes = crate::keys::random_bytes()?;
    let random = URL_SAFE_NO_PAD.encode(&bytes[..24]);
    Ok(format!(
        "{API_KEY_PREFIX}{random}{}",
        api_key_checksum(&random)
    ))
}

/// Refuses a key that is not in Airlock's format, or whose checksum does not
/// match its randomness: a typo or a truncation, caught before any lookup.
pub fn check_api_key_format(key: &str) -> Result<(), PushAuthError> {
    let rest = key
        .strip_prefix(API_KEY_PREFIX)
        .ok_or(PushAuthError::MalformedKey)?;
    if rest.len() != API_KEY_RANDOM + API_KEY_CHECKSUM
        || !rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(PushAuthError::MalformedKey);
    }
    let (random, checksum) = rest.split_at(API_KEY_RANDOM);
    if bool::from(
        api_key_checksum(random)
            .as_bytes()
            .ct_eq(checksum.as_bytes()),
    ) {
        Ok(())
    } else {
        Err(PushAuthError::MalformedKey)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_763_900_000;

    fn headers<'a>(id: &'a str, ts: &'a str, sig: &'a str) -> WebhookHeaders<'a> {
        WebhookHeaders {
            id: Some(id),
            timestamp: Some(ts),
            signature: Some(sig),
        }
    }

    #[test]
    fn the_standard_webhooks_reference_vector_verifies() {
        // The example of the Standard Webhooks specification (and its libraries'
        // test suites): this secret, id, timestamp and body give this signature.
        let key = webhook_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = sign_webhook(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let h = headers("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", &sig);
        assert_eq!(verify_webhook(&[&key], h, body, 1614265330), Ok(()));
    }

    #[test]
    fn a_wrong_secret_a_tampered_body_or_a_stale_timestamp_is_refused() {
        let key = webhook_key(&new_webhook_secret().unwrap()).unwrap();
        let other = webhook_key(&new_webhook_secret().unwrap()).unwrap();
        let ts = NOW.to_string();
        let sig = sign_webhook(&key, "evt_1", NOW, b"{}");
        let ok = headers("evt_1", &ts, &sig);
        assert_eq!(verify_webhook(&[&key], ok, b"{}", NOW), Ok(()));
        assert_eq!(
            verify_webhook(&[&other], ok, b"{}", NOW),
            Err(PushAuthError::BadSignature)
        );
        assert_eq!(
            verify_webhook(&[&key], ok, b"{ }", NOW),
            Err(PushAuthError::BadSignature)
        );
        assert_eq!(
            verify_webhook(&[&key], ok, b"{}", NOW + 301),
            Err(PushAuthError::TooOld)
        );
        assert_eq!(
            verify_webhook(&[&key], ok, b"{}", NOW - 301),
            Err(PushAuthError::TooNew)
        );
        // The id is signed: another id with the same signature fails.
        let moved = headers("evt_2", &ts, &sig);
        assert_eq!(
            verify_webhook(&[&key], moved, b"{}", NOW),
            Err(PushAuthError::BadSignature)
        );
    }

    #[test]
    fn any_candidate_secret_and_any_listed_signature_may_match() {
        let old = webhook_key(&new_webhook_secret().unwrap()).unwrap();
        let new = webhook_key(&new_webhook_secret().unwrap()).unwrap();
        let ts = NOW.to_string();
        let both = format!(
            "v1a,ignored {} {}",
            sign_webhook(&old, "e", NOW, b"x"),
            sign_webhook(&new, "e", NOW, b"x")
        );
        // During a rotation's grace both secrets are candidates.
        assert_eq!(
            verify_webhook(&[&new, &old], headers("e", &ts, &both), b"x", NOW),
            Ok(())
        );
        // After it only the new one: a sender still signing with the old fails.
        let only_old = sign_webhook(&old, "e", NOW, b"x");
        assert_eq!(
            verify_webhook(&[&new], headers("e", &ts, &only_old), b"x", NOW),
            Err(PushAuthError::BadSignature)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let h = WebhookHeaders {
            id: Some("e"),
            timestamp: None,
            signature: Some("v1,AAAA"),
        };
        assert_eq!(
            check_webhook_headers(h, NOW),
            Err(PushAuthError::MissingHeader("webhook-timestamp"))
        );
        let h = headers("e", "yesterday", "v1,AAAA");
        assert_eq!(
            check_webhook_headers(h, NOW),
            Err(PushAuthError::BadHeader("webhook-timestamp"))
        );
        let h = headers("e\r\nx", "1", "v1,AAAA");
        assert_eq!(
            check_webhook_headers(h, NOW),
            Err(PushAuthError::BadHeader("webhook-id"))
        );
    }

    #[test]
    fn api_keys_carry_a_checksum_that_catches_any_one_character_change() {
        let key = new_api_key().unwrap();
        assert!(key.starts_with("alk_") && key.len() == 4 + 32 + 6, "{key}");
        assert_eq!(check_api_key_format(&key), Ok(()));
        for i in 4..key.len() {
            let mut bytes = key.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert_eq!(
                check_api_key_format(&changed),
                Err(PushAuthError::MalformedKey),
                "{i}"
            );
        }
        assert_eq!(
            check_api_key_format(&key[..key.len() - 1]),
            Err(PushAuthError::MalformedKey)
        );
        assert_eq!(
            check_api_key_format("sk_live_whatever"),
            Err(PushAuthError::MalformedKey)
        );
        assert_eq!(crate::auth::hash_secret(&key).len(), 64);
        assert_ne!(new_api_key().unwrap(), key);
    }

    #[test]
    fn secrets_never_reach_error_messages() {
        let secret = new_webhook_secret().unwrap();
        for e in [
            PushAuthError::BadSignature,
            PushAuthError::MalformedKey,
            PushAuthError::TooOld,
        ] {
            assert!(!e.to_string().contains(&secret[6..]));
        }
    }
}
