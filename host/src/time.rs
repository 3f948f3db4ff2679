//! The host's clock and how it writes times: milliseconds since the Unix epoch in
//! rows, RFC 3339 UTC with milliseconds in answers and audit rows. The calendar
//! arithmetic is the SDK's [`Timestamp`] (one implementation for guests and host).

use airlock_sdk::time::Timestamp;

/// Milliseconds since the Unix epoch, now (0 if the clock is before the epoch).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `ms` since the epoch as RFC 3339 UTC with milliseconds: `2026-11-23T11:21:07.005Z`.
pub fn rfc3339(ms: i64) -> String {
    Timestamp::from_unix_millis(ms).to_rfc3339_millis()
}

/// Lowercase hex of `bytes` (digests, MACs, non-UTF-8 bodies).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc_with_milliseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_795_432_867_005), "2026-11-23T11:21:07.005Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn hex_is_lowercase_and_two_digits_per_byte() {
        assert_eq!(hex(&[0, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(hex(&[]), "");
    }
}
