//! UTC timestamps with millisecond precision, formatted the way each standard wants.
//!
//! Connectors get the current time from the host clock ([`crate::clock::now`]) and
//! timestamps from feeds as text; both become a [`Timestamp`]. STIX 2.1 wants
//! `2024-01-02T03:04:05.678Z` (millisecond precision is what the official schemas
//! require for `created`/`modified`); CAP 1.2 wants `2024-01-02T03:04:05+00:00`
//! (its XSD forbids both `Z` and fractional seconds).
//!
//! The conversions are written out here (Howard Hinnant's civil-date algorithms) to
//! keep guests small: no date crate is pulled into every connector.

use std::fmt;

/// A point in time: milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    millis: i64,
}

/// Why a text could not be read as a timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampError {
    input: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a timestamp: expected `YYYY-MM-DD[T| ]hh:mm:ss[.fff][Z|±hh:mm]` or `YYYY-MM-DD`",
            self.input
        )
    }
}

impl std::error::Error for TimestampError {}

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00.000Z.
    pub const EPOCH: Timestamp = Timestamp { millis: 0 };

    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Timestamp { millis }
    }

    /// A timestamp from whole seconds since the Unix epoch.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp {
            millis: seconds.saturating_mul(1000),
        }
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.millis
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub const fn unix_seconds(self) -> i64 {
        self.millis.div_euclid(1000)
    }

    /// This timestamp moved by `millis` (negative moves it back).
    pub const fn add_millis(self, millis: i64) -> Self {
        Timestamp {
            millis: self.millis.saturating_add(millis),
        }
    }

    /// A timestamp from a calendar date and time of day in UTC.
    ///
    /// Returns `None` when a field is out of range (month 13, 31 February, hour 24…).
    pub fn from_utc(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        milli: u32,
    ) -> Option<Self> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
            || milli > 999
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60;
        // A leap second (60) is folded onto the next second, as Unix time does.
        let secs = secs + i64::from(second);
        Some(Timestamp {
            millis: secs * 1000 + i64::from(milli),
        })
    }

    /// Parses RFC 3339 and the common feed variants of it.
    ///
    /// Accepted: `2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.678Z`,
    /// `2024-01-02T03:04:05+01:00`, a space instead of `T`, no zone (read as UTC, as
    /// abuse.ch-style feeds mean it), and a bare date `2024-01-02` (midnight UTC).
    /// Fractions beyond milliseconds are truncated.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        parse(text.trim()).ok_or_else(|| TimestampError {
            input: text.to_string(),
        })
    }

    /// The calendar fields in UTC: (year, month, day, hour, minute, second, millisecond).
    pub fn to_utc(self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let days = self.millis.div_euclid(86_400_000);
        let ms_of_day = self.millis.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        // ms_of_day < 86_400_000, so every field below fits in u32.
        let ms = ms_of_day as u32;
        (
            year,
            month,
            day,
            ms / 3_600_000,
            ms / 60_000 % 60,
            ms / 1000 % 60,
            ms % 1000,
        )
    }

    /// RFC 3339 in UTC with millisecond precision, as STIX 2.1 wants:
    /// `2024-01-02T03:04:05.678Z`.
    pub fn to_rfc3339_millis(self) -> String {
        let (y, mo, d, h, mi, s, ms) = self.to_utc();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
    }

    /// RFC 3339 in UTC to the second: `2024-01-02T03:04:05Z`.
    pub fn to_rfc3339_seconds(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.to_utc();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// The CAP 1.2 `dateTime` form: `2024-01-02T03:04:05+00:00` (no `Z`, no fraction).
    pub fn to_cap(self) -> String {
        let (y, mo, d, h, mi, s, _) = self.to_utc();
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+00:00")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_millis())
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A tiny cursor over ASCII digits and separators.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let slice = self.bytes.get(self.pos..self.pos + n)?;
        let mut value = 0u32;
        for b in slice {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.pos += n;
        Some(value)
    }

    fn eat(&mut self, options: &[u8]) -> Option<u8> {
        let b = *self.bytes.get(self.pos)?;
        if options.contains(&b) {
            self.pos += 1;
            Some(b)
        } else {
            None
        }
    }

    fn done(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

fn parse(text: &str) -> Option<Timestamp> {
    let mut s = Scanner {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let year = s.digits(4)?;
    s.eat(b"-")?;
    let month = s.digits(2)?;
    s.eat(b"-")?;
    let day = s.digits(2)?;
    if s.done() {
        return Timestamp::from_utc(i64::from(year), month, day, 0, 0, 0, 0);
    }
    s.eat(b"Tt ")?;
    let hour = s.digits(2)?;
    s.eat(b":")?;
    let minute = s.digits(2)?;
    s.eat(b":")?;
    let second = s.digits(2)?;
    let mut milli = 0;
    if s.eat(b".,").is_some() {
        let start = s.pos;
        let mut scale = 100;
        while let Some(d) = s.digits(1) {
            milli += d * scale;
            scale /= 10;
        }
        if s.pos == start {
            return None;
        }
    }
    let offset_minutes: i64 = if s.done() || s.eat(b"Zz").is_some() {
        0
    } else {
        let sign = s.eat(b"+-")?;
        let oh = s.digits(2)?;
        s.eat(b":");
        let om = s.digits(2)?;
        if oh > 23 || om > 59 {
            return None;
        }
        let total = i64::from(oh * 60 + om);
        if sign == b'-' { -total } else { total }
    };
    if !s.done() {
        return None;
    }
    let local = Timestamp::from_utc(i64::from(year), month, day, hour, minute, second, milli)?;
    Some(local.add_millis(-offset_minutes * 60_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_epoch_and_a_leap_day() {
        assert_eq!(
            Timestamp::EPOCH.to_rfc3339_millis(),
            "1970-01-01T00:00:00.000Z"
        );
        let t = Timestamp::from_utc(2024, 2, 29, 23, 59, 58, 7).unwrap();
        assert_eq!(t.to_rfc3339_millis(), "2024-02-29T23:59:58.007Z");
        assert_eq!(t.to_cap(), "2024-02-29T23:59:58+00:00");
        assert_eq!(t.to_rfc3339_seconds(), "2024-02-29T23:59:58Z");
    }

    #[test]
    fn round_trips_every_day_for_four_centuries() {
        for days in (-146_097..146_097 * 2).step_by(13) {
            let t = Timestamp::from_unix_millis(days * 86_400_000 + 45_296_789);
            assert_eq!(Timestamp::parse(&t.to_rfc3339_millis()).unwrap(), t);
        }
    }

    #[test]
    fn matches_known_unix_times() {
        assert_eq!(
            Timestamp::parse("2001-09-09T01:46:40Z")
                .unwrap()
                .unix_seconds(),
            1_000_000_000
        );
        assert_eq!(
            Timestamp::parse("2038-01-19 03:14:07")
                .unwrap()
                .unix_seconds(),
            2_147_483_647
        );
    }

    #[test]
    fn applies_offsets_and_fractions() {
        let t = Timestamp::parse("2024-01-02T03:04:05.678912+01:30").unwrap();
        assert_eq!(t.to_rfc3339_millis(), "2024-01-02T01:34:05.678Z");
        let t = Timestamp::parse("2024-01-02T03:04:05-05:00").unwrap();
        assert_eq!(t.to_rfc3339_millis(), "2024-01-02T08:04:05.000Z");
        assert_eq!(
            Timestamp::parse("2024-01-02").unwrap().to_rfc3339_millis(),
            "2024-01-02T00:00:00.000Z"
        );
    }

    #[test]
    fn rejects_text_that_is_not_a_timestamp() {
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2023-02-29",
            "2024-01-02T24:00:00Z",
            "2024-01-02T03:04:05.Z",
            "2024-01-02T03:04:05+25:00",
            "2024-01-02T03:04:05Zjunk",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} parsed");
        }
        let msg = Timestamp::parse("nope").unwrap_err().to_string();
        assert!(msg.contains("`nope` is not a timestamp"), "{msg}");
    }
}
