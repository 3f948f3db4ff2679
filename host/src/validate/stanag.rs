//! STANAG 4607 (NATO Ground Moving Target Indicator format, AEDP-07 Edition A):
//! one packet or a stream of them, binary and big-endian.
//!
//! - `packet-header`: a packet starts with 32 bytes — version (two ASCII digits),
//!   size, nationality (two upper-case letters), classification, class system,
//!   security code, exercise indicator, platform id (10 printable characters),
//!   mission id, job id; `packet-size`: the size covers the header, its segments and
//!   no more than the bytes present (a stream is packets back to back);
//! - `segment-size`: each segment (a 5-byte header: type, size) fits its packet, and
//!   a fixed-length segment (mission 44, job definition 73, test and status 19,
//!   platform location 28 bytes) has exactly its length; a dwell's size equals what
//!   its existence mask and target count imply;
//! - `dwell-mask`: a dwell's existence mask sets the mandatory fields (D2–D9,
//!   D24–D27), keeps latitude and longitude in pairs (scale factors D10/D11, high-
//!   resolution D32.2/D32.3 or delta D32.4/D32.5 — one kind, not both), gives the
//!   scale factors the delta form needs, and leaves the spare bits clear;
//! - `field-range`: enumerations and ranges a field defines — classification 1–5,
//!   exercise indicator 0–2 or 128–130, the mission's reference date, a dwell's
//!   last-dwell flag, class probability 0–100 %;
//! - `segment-type`: type 0 does not exist.
//!
//! Warnings: `reserved-segment` (a reserved or extension segment type, recorded
//! but not interpreted), `reserved-value` (a value the standard leaves for future
//! use, e.g. a platform type above 31).
//!
//! Segments other than mission, dwell, job definition, free text, test and status
//! and platform location (HRR, processing history, group, attached target, job
//! request and acknowledge…) are checked for framing only. Paths are
//! `/packets/P/segments/S` (0-based) with the field's name after it; messages give
//! byte offsets into the document.

use super::Report;

const PACKET_HEADER: usize = 32;
const SEGMENT_HEADER: usize = 5;

/// Validates a STANAG 4607 packet or stream of packets.
pub fn validate_bytes(bytes: &[u8]) -> Report {
    let mut r = Report::default();
    if bytes.is_empty() {
        r.error(
            "/",
            "packet-header",
            "The document is empty; a packet has a 32-byte header.",
        );
        return r.finish();
    }
    let mut offset = 0;
    let mut packet = 0;
    while offset < bytes.len() {
        match check_packet(&bytes[offset..], offset, packet, &mut r) {
            Some(size) => offset += size,
            None => break,
        }
        packet += 1;
    }
    r.finish()
}

/// Big-endian reads that never panic.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }
    fn u16(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.u8(at), self.u8(at + 1)])
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_be_bytes([
            self.u8(at),
            self.u8(at + 1),
            self.u8(at + 2),
            self.u8(at + 3),
        ])
    }
    fn text(&self, at: usize, len: usize) -> &[u8] {
        self.0.get(at..at + len).unwrap_or(&[])
    }
}

/// One packet at `base` of the document: its size when the stream can go on.
fn check_packet(b: &[u8], base: usize, index: usize, r: &mut Report) -> Option<usize> {
    let at = format!("/packets/{index}");
    if b.len() < PACKET_HEADER {
        r.error(
            &at,
            "packet-header",
            format!(
                "At byte {base}: {} bytes remain, fewer than a packet header's 32.",
                b.len()
            ),
        );
        return None;
    }
    let p = Bytes(b);
    let version = p.text(0, 2);
    if !version.iter().all(u8::is_ascii_digit) {
        r.error(
            format!("{at}/version"),
            "packet-header",
            format!(
                "At byte {base}: the version is {:?}; a packet starts with two ASCII digits \
                 (\"41\" for Edition A).",
                String::from_utf8_lossy(version)
            ),
        );
        // Not a packet at all: reading on would only report noise.
        return None;
    }
    let size = p.u32(2) as usize;
    if size < PACKET_HEADER || size > b.len() {
        r.error(
            format!("{at}/size"),
            "packet-size",
            format!(
                "At byte {base}: the packet claims {size} bytes, but {} remain (and a packet \
                 is at least its 32-byte header).",
                b.len()
            ),
        );
        return None;
    }
    if !p.text(6, 2).iter().all(u8::is_ascii_uppercase) {
        r.error(
            format!("{at}/nationality"),
            "packet-header",
            "The nationality is two upper-case letters (an ISO 3166 or NATO code).",
        );
    }
    let classification = p.u8(8);
    if !(1..=5).contains(&classification) {
        r.error(
            format!("{at}/classification"),
            "field-range",
            format!(
                "Classification is {classification}; it is 1 (top secret) to 5 (unclassified)."
            ),
        );
    }
    if !p
        .text(9, 2)
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b' ')
    {
        r.error(
            format!("{at}/class_system"),
            "packet-header",
            "The classification system is two letters or digits.",
        );
    }
    let exercise = p.u8(13);
    if !matches!(exercise, 0..=2 | 128..=130) {
        r.error(
            format!("{at}/exercise_indicator"),
            "field-range",
            format!(
                "Exercise indicator is {exercise}; it is 0–2 (operation: real, simulated, \
                 synthesized) or 128–130 (exercise: the same)."
            ),
        );
    }
    if !p.text(14, 10).iter().all(|c| (0x20..0x7f).contains(c)) {
        r.error(
            format!("{at}/platform_id"),
            "packet-header",
            "The platform id is 10 printable ASCII characters (space-padded).",
        );
    }
    let packet = &b[..size];
    let mut offset = PACKET_HEADER;
    let mut segment = 0;
    while offset < size {
        let seg_at = format!("{at}/segments/{segment}");
        let rest = &packet[offset..];
        if rest.len() < SEGMENT_HEADER {
            r.error(
                &seg_at,
                "segment-size",
                format!(
                    "At byte {}: {} bytes remain in the packet, fewer than a segment header's 5.",
                    base + offset,
                    rest.len()
                ),
            );
            break;
        }
        let s = Bytes(rest);
        let kind = s.u8(0);
        let seg_size = s.u32(1) as usize;
        if seg_size < SEGMENT_HEADER || seg_size > rest.len() {
            r.error(
                format!("{seg_at}/size"),
                "segment-size",
                format!(
                    "At byte {}: a type-{kind} segment claims {seg_size} bytes, but {} remain in \
                     the packet (and a segment is at least its 5-byte header).",
                    base + offset,
                    rest.len()
                ),
            );
            break;
        }
        let body = &rest[SEGMENT_HEADER..seg_size];
        check_segment(kind, body, &seg_at, base + offset, r);
        offset += seg_size;
        segment += 1;
    }
    Some(size)
}

/// Segment types, their names, and the body length of the fixed-size ones.
fn segment_kind(kind: u8) -> (&'static str, Option<usize>) {
    match kind {
        1 => ("mission", Some(39)),
        2 => ("dwell", None),
        3 => ("HRR", None),
        5 => ("job definition", Some(68)),
        6 => ("free text", None),
        7 => ("low reflectivity index", None),
        8 => ("group", None),
        9 => ("attached target", None),
        10 => ("test and status", Some(14)),
        11 => ("system-specific", None),
        12 => ("processing history", None),
        13 => ("platform location", Some(23)),
        101 => ("job request", None),
        102 => ("job acknowledge", None),
        _ => ("reserved", None),
    }
}

fn check_segment(kind: u8, body: &[u8], at: &str, byte: usize, r: &mut Report) {
    let (name, fixed) = segment_kind(kind);
    if kind == 0 {
        r.error(
            at,
            "segment-type",
            format!("At byte {byte}: segment type 0 does not exist."),
        );
        return;
    }
    if name == "reserved" {
        r.warning(
            at,
            "reserved-segment",
            format!(
                "At byte {byte}: segment type {kind} is {} — recorded, not interpreted.",
                if kind >= 128 {
                    "an extension"
                } else {
                    "reserved"
                }
            ),
        );
        return;
    }
    if let Some(len) = fixed
        && body.len() != len
    {
        r.error(
            format!("{at}/size"),
            "segment-size",
            format!(
                "At byte {byte}: a {name} segment is {} bytes, header included; this one is {}.",
                len + SEGMENT_HEADER,
                body.len() + SEGMENT_HEADER
            ),
        );
        return;
    }
    let b = Bytes(body);
    match kind {
        1 => {
            let platform = b.u8(24);
            if (32..=254).contains(&platform) {
                r.warning(
                    format!("{at}/platform_type"),
                    "reserved-value",
                    format!("Platform type {platform} is reserved for future use."),
                );
            }
            let (month, day) = (b.u8(37), b.u8(38));
            if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
                r.error(
                    format!("{at}/reference_time"),
                    "field-range",
                    format!(
                        "The mission's reference date has month {month} and day {day}; months \
                         are 1–12, days 1–31."
                    ),
                );
            }
        }
        2 => check_dwell(&b, body.len(), at, byte, r),
        6 if body.len() < 20 => {
            r.error(
                format!("{at}/size"),
                "segment-size",
                format!(
                    "At byte {byte}: a free text segment holds originator and recipient ids \
                         (10 bytes each) before its text; this one has {} bytes.",
                    body.len()
                ),
            );
        }
        _ => {}
    }
}

/// Dwell fields D2–D31 in existence-mask order (most significant bit first): name,
/// size in bytes, and whether the field is mandatory.
const DWELL_FIELDS: &[(&str, usize, bool)] = &[
    ("D2 revisit index", 2, true),
    ("D3 dwell index", 2, true),
    ("D4 last dwell of revisit", 1, true),
    ("D5 target report count", 2, true),
    ("D6 dwell time", 4, true),
    ("D7 sensor latitude", 4, true),
    ("D8 sensor longitude", 4, true),
    ("D9 sensor altitude", 4, true),
    ("D10 latitude scale factor", 4, false),
    ("D11 longitude scale factor", 4, false),
    ("D12 along-track uncertainty", 4, false),
    ("D13 cross-track uncertainty", 4, false),
    ("D14 altitude uncertainty", 2, false),
    ("D15 sensor track", 2, false),
    ("D16 sensor speed", 4, false),
    ("D17 sensor vertical velocity", 1, false),
    ("D18 sensor track uncertainty", 1, false),
    ("D19 sensor speed uncertainty", 2, false),
    ("D20 vertical velocity uncertainty", 2, false),
    ("D21 platform heading", 2, false),
    ("D22 platform pitch", 2, false),
    ("D23 platform roll", 2, false),
    ("D24 dwell centre latitude", 4, true),
    ("D25 dwell centre longitude", 4, true),
    ("D26 range half extent", 2, true),
    ("D27 dwell angle half extent", 2, true),
    ("D28 sensor heading", 2, false),
    ("D29 sensor pitch", 2, false),
    ("D30 sensor roll", 2, false),
    ("D31 minimum detectable velocity", 1, false),
];

/// Target report fields D32.1–D32.18, in mask order after D31: name and size.
const TARGET_FIELDS: &[(&str, usize)] = &[
    ("D32.1 MTI report index", 2),
    ("D32.2 high-resolution latitude", 4),
    ("D32.3 high-resolution longitude", 4),
    ("D32.4 delta latitude", 2),
    ("D32.5 delta longitude", 2),
    ("D32.6 geodetic height", 2),
    ("D32.7 line-of-sight velocity", 2),
    ("D32.8 wrap velocity", 2),
    ("D32.9 signal-to-noise ratio", 1),
    ("D32.10 classification", 1),
    ("D32.11 class probability", 1),
    ("D32.12 slant range uncertainty", 2),
    ("D32.13 cross range uncertainty", 2),
    ("D32.14 height uncertainty", 1),
    ("D32.15 radial velocity uncertainty", 2),
    ("D32.16 truth tag application", 1),
    ("D32.17 truth tag entity", 4),
    ("D32.18 radar cross section", 1),
];

fn check_dwell(b: &Bytes, len: usize, at: &str, byte: usize, r: &mut Report) {
    if len < 8 {
        r.error(
            format!("{at}/size"),
            "segment-size",
            format!("At byte {byte}: a dwell segment starts with an 8-byte existence mask; this one has {len} bytes."),
        );
        return;
    }
    let mask = u64::from_be_bytes([
        b.u8(0),
        b.u8(1),
        b.u8(2),
        b.u8(3),
        b.u8(4),
        b.u8(5),
        b.u8(6),
        b.u8(7),
    ]);
    let bit = |i: usize| mask & (1u64 << (63 - i)) != 0;
    let mask_at = format!("{at}/existence_mask");
    let mut fixed = 8;
    for (i, (name, size, mandatory)) in DWELL_FIELDS.iter().enumerate() {
        if bit(i) {
            fixed += size;
        } else if *mandatory {
            r.error(
                &mask_at,
                "dwell-mask",
                format!("The existence mask leaves out {name}, which every dwell carries."),
            );
        }
    }
    let target = |j: usize| bit(DWELL_FIELDS.len() + j);
    let pairs = [
        (bit(8), bit(9), "the scale factors D10 and D11"),
        (
            target(1),
            target(2),
            "D32.2 and D32.3 (high-resolution position)",
        ),
        (target(3), target(4), "D32.4 and D32.5 (delta position)"),
    ];
    for (a, b, what) in pairs {
        if a != b {
            r.error(
                &mask_at,
                "dwell-mask",
                format!("The existence mask has one of {what} without the other."),
            );
        }
    }
    if target(1) && target(3) {
        r.error(
            &mask_at,
            "dwell-mask",
            "Target reports give either a high-resolution position (D32.2/3) or a delta position (D32.4/5), not both.",
        );
    }
    if target(3) && !bit(8) {
        r.error(
            &mask_at,
            "dwell-mask",
            "Delta target positions (D32.4/5) need the dwell's scale factors (D10/D11).",
        );
    }
    let used = DWELL_FIELDS.len() + TARGET_FIELDS.len();
    if mask & ((1u64 << (64 - used)) - 1) != 0 {
        r.error(
            &mask_at,
            "dwell-mask",
            "The existence mask sets spare bits (after D32.18).",
        );
    }
    let per_target: usize = TARGET_FIELDS
        .iter()
        .enumerate()
        .filter(|(j, _)| target(*j))
        .map(|(_, (_, size))| size)
        .sum();
    // D5, the target report count, sits after whichever of D2–D4 are present.
    let before_d5: usize = DWELL_FIELDS[..3]
        .iter()
        .enumerate()
        .filter(|(i, _)| bit(*i))
        .map(|(_, (_, size, _))| size)
        .sum();
    let count = if bit(3) {
        usize::from(b.u16(8 + before_d5))
    } else {
        0
    };
    let expected = fixed + count * per_target;
    if expected != len {
        r.error(
            format!("{at}/size"),
            "segment-size",
            format!(
                "At byte {byte}: the mask and {count} target report(s) of {per_target} bytes make \
                 a {}-byte dwell segment; it is {} bytes.",
                expected + SEGMENT_HEADER,
                len + SEGMENT_HEADER
            ),
        );
        return;
    }
    if bit(2) {
        let last = b.u8(8 + 4);
        if last > 1 {
            r.error(
                format!("{at}/D4"),
                "field-range",
                format!("D4, last dwell of revisit, is {last}; it is 0 or 1."),
            );
        }
    }
    if target(10) {
        // Offset of D32.11 inside a report: the sizes of the present fields before it.
        let before: usize = TARGET_FIELDS[..10]
            .iter()
            .enumerate()
            .filter(|(j, _)| target(*j))
            .map(|(_, (_, size))| size)
            .sum();
        for t in 0..count {
            let p = b.u8(fixed + t * per_target + before);
            if p > 100 {
                r.error(
                    format!("{at}/targets/{t}/D32.11"),
                    "field-range",
                    format!("Target {t}'s class probability is {p} %; it is 0–100."),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet of one mission segment.
    fn mission_packet() -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(b"41");
        p.extend_from_slice(&(32u32 + 44).to_be_bytes());
        p.extend_from_slice(b"ZZ");
        p.push(5);
        p.extend_from_slice(b"ZZ");
        p.extend_from_slice(&[0, 0]);
        p.push(129);
        p.extend_from_slice(b"TEST000001");
        p.extend_from_slice(&7u32.to_be_bytes());
        p.extend_from_slice(&0u32.to_be_bytes());
        p.push(1);
        p.extend_from_slice(&44u32.to_be_bytes());
        p.extend_from_slice(b"MISSION PLAN");
        p.extend_from_slice(b"FLIGHT PLAN ");
        p.push(7);
        p.extend_from_slice(b"CONFIG    ");
        p.extend_from_slice(&2026u16.to_be_bytes());
        p.extend_from_slice(&[11, 23]);
        p
    }

    #[test]
    fn a_mission_packet_passes_and_a_stream_of_two_too() {
        let one = mission_packet();
        assert_eq!(one.len(), 76);
        assert!(validate_bytes(&one).valid, "{:#?}", validate_bytes(&one));
        let two = [one.clone(), one].concat();
        assert!(validate_bytes(&two).valid);
    }

    #[test]
    fn sizes_and_ranges_are_checked_with_offsets() {
        let mut p = mission_packet();
        p[8] = 9;
        let r = validate_bytes(&p);
        assert_eq!(r.errors[0].rule, "field-range");
        assert_eq!(r.errors[0].path, "/packets/0/classification");
        let r = validate_bytes(&p[..60]);
        assert_eq!(r.errors[0].rule, "packet-size", "{r:#?}");
        let mut p = mission_packet();
        p[74] = 13;
        assert_eq!(
            validate_bytes(&p).errors[0].path,
            "/packets/0/segments/0/reference_time"
        );
    }
}
