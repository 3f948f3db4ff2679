//! AIS decoding: NMEA `!AIVDM`/`!AIVDO` sentences (IEC 61162-1 / NMEA 0183
//! carrying ITU-R M.1371 messages) to JSON reports. The `ais-decoder` example
//! connector is built on it, and the host's AIS validator reads sentences with it.
//!
//! # Input format
//!
//! One sentence per line:
//!
//! ```text
//! [\tag-block*hh\]!ccVDM,count,number,seq-id,channel,payload,fill*hh[anything]
//! ```
//!
//! * `cc` is an AIS talker id ([`KNOWN_TALKERS`]: `AI`, `AB`, `BS`, `SA`, …),
//!   `VDM` is traffic heard from other stations, `VDO` is the own ship.
//! * The checksum is the XOR of every byte between `!` and `*`, written as two
//!   hex digits. Whatever follows those two digits is ignored: receivers such
//!   as the USCG network append `,s…,d…,T…` fields there and some logs keep
//!   escaped line ends.
//! * An optional NMEA 4.10 tag block (`\s:source,c:unixtime*hh\`) may precede
//!   the sentence; its own checksum is verified and its `s:`/`c:` values kept.
//! * `payload` is ITU "6-bit armoring": each character carries 6 bits; `fill`
//!   (0..=5) says how many bits at the end of the last fragment are padding.
//! * A message longer than one sentence is split into `count` fragments that
//!   share `seq-id` and `channel`; [`Reassembler`] puts them back together.
//!
//! Blank lines and lines starting with `#` are skipped by [`Decoder`] and
//! [`decode_lines`]; every other line yields a result or is a fragment that
//! waits for its siblings.
//!
//! # Output
//!
//! [`Report`] is one flat struct whose JSON field names and units mirror
//! gpsd's *scaled* JSON so the two can be compared field by field: lat/lon in
//! degrees, speed in knots, course in degrees, draught in metres. "Not
//! available" sentinels are kept as gpsd prints them (lat 91, lon 181,
//! heading 511, speed 102.3, course 360, `turn` `"n/a"`), so a consumer can
//! tell "unknown" from a value. Fields a message type does not carry are
//! omitted from the JSON rather than printed as zero; so are optional
//! trailing blocks a short message leaves out (e.g. `mmsi2..4` of type 7)
//! and a trailing `radio` field cut short by fill bits (gpsd prints the
//! partial value there; we print nothing rather than a wrong number).
//! 6-bit text ends at the first `@` and loses trailing spaces.
//!
//! # Supported message types
//!
//! Every type defined by ITU-R M.1371-5, 1 to 27 ([`SUPPORTED_TYPES`]).
//! For binary messages (6, 8, 25, 26) and DGNSS corrections (17) the
//! application payload is not interpreted: it is returned as gpsd does, as
//! `"data": "<bits>:<hex>"`. Type 24 is returned one part at a time
//! (`partno` 0 = part A with the name, 1 = part B with the rest); merging the
//! two halves by MMSI is left to the caller, because it needs state keyed by
//! MMSI that this module deliberately does not keep. Types 0 and 28..=63 are
//! not defined by the standard and give [`DecodeError::UnsupportedType`]
//! (with the type, repeat and MMSI when they could be read) instead of a
//! report, so garbage is never presented as data.
//!
//! # Bounds (this runs in a sandbox on untrusted input)
//!
//! * A line longer than [`MAX_LINE_LEN`] bytes is rejected before parsing.
//! * A fragment's payload is at most [`MAX_FRAGMENT_PAYLOAD`] characters and
//!   a reassembled message at most [`MAX_MESSAGE_PAYLOAD`] characters.
//! * [`Reassembler`] keeps at most `max_partials` incomplete messages
//!   (default [`DEFAULT_MAX_PARTIALS`], never above [`HARD_MAX_PARTIALS`]) and
//!   forgets one whose next fragment has not arrived within `max_age`
//!   sentences (default [`DEFAULT_MAX_AGE`]); there are no clocks here, so
//!   age is counted in sentences. Its memory is therefore bounded by
//!   `max_partials * (MAX_MESSAGE_PAYLOAD + MAX_LINE_LEN)` bytes (payload
//!   plus at most one tag block per partial) and small bookkeeping.
//! * Nothing panics on any input: all slicing goes through `get`, all bit
//!   reads are bounds-checked and turn into [`DecodeError::PayloadTooShort`].
//!
//! std only, no I/O, no threads, no clocks: the module compiles unchanged for
//! `wasm32-wasip2`.

use serde::Serialize;
use std::fmt;

/// Message types this module decodes into a [`Report`] (all ITU-R M.1371-5
/// types). Any other type yields [`DecodeError::UnsupportedType`].
pub const SUPPORTED_TYPES: &[u8] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    27,
];

/// Talker ids accepted in front of `VDM`/`VDO` (IEC 61162-1 AIS talkers plus
/// the common `BS` and `SA` used by shore networks).
pub const KNOWN_TALKERS: &[&str] = &["AB", "AD", "AI", "AN", "AR", "AS", "AT", "AX", "BS", "SA"];

/// Longest line (after trimming whitespace) that [`parse_sentence`] accepts,
/// in bytes. NMEA limits a sentence to 82 characters; the slack is for tag
/// blocks and receiver-appended fields.
pub const MAX_LINE_LEN: usize = 1024;

/// Longest payload of a single fragment, in armored characters.
pub const MAX_FRAGMENT_PAYLOAD: usize = 256;

/// Longest reassembled payload, in armored characters (3072 bits; the
/// longest legal AIS message is 5 slots, about 1008 data bits).
pub const MAX_MESSAGE_PAYLOAD: usize = 512;

/// Default number of incomplete multi-fragment messages a [`Reassembler`]
/// keeps at once.
pub const DEFAULT_MAX_PARTIALS: usize = 64;

/// Ceiling on `max_partials`, whatever the caller asks for, so a
/// misconfiguration cannot make the sandbox hold unbounded memory.
pub const HARD_MAX_PARTIALS: usize = 4096;

/// Default age, in sentences pushed, after which an incomplete message is
/// considered stale and dropped.
pub const DEFAULT_MAX_AGE: u64 = 200;

/// Everything that can go wrong between a text line and a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The line was empty (only whitespace).
    EmptyLine,
    /// The line is longer than [`MAX_LINE_LEN`].
    LineTooLong {
        /// Length of the line in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The line does not start with `!` or `$` (after an optional tag block).
    NotNmea {
        /// The first characters of the line.
        start: String,
    },
    /// A valid-looking NMEA sentence that is not `VDM`/`VDO` (e.g. `$GPGGA`).
    NotAis {
        /// The sentence's address field, e.g. `GPGGA`.
        header: String,
    },
    /// `ccVDM` where `cc` is not in [`KNOWN_TALKERS`].
    UnknownTalker {
        /// The two-character talker id found.
        talker: String,
    },
    /// No `*` introducing the checksum.
    MissingChecksum,
    /// The two characters after `*` are not hexadecimal digits.
    BadChecksumFormat {
        /// What followed the `*`.
        found: String,
    },
    /// The checksum does not match the sentence.
    BadChecksum {
        /// XOR computed over the sentence.
        expected: u8,
        /// Value written after `*`.
        found: u8,
    },
    /// A `\...\` tag block that cannot be parsed.
    BadTagBlock {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The tag block's own checksum does not match.
    BadTagBlockChecksum {
        /// XOR computed over the tag block.
        expected: u8,
        /// Value written after `*` in the tag block.
        found: u8,
    },
    /// A VDM/VDO sentence must have exactly 7 comma-separated fields.
    WrongFieldCount {
        /// Number of fields found.
        found: usize,
    },
    /// A field that has the wrong form (fragment count, sequence id, …).
    BadField {
        /// Which field.
        field: &'static str,
        /// Its text (clipped).
        value: String,
    },
    /// Fragment number is 0 or larger than the fragment count.
    FragmentNumberOutOfRange {
        /// Fragment number.
        number: u8,
        /// Fragment count.
        count: u8,
    },
    /// A payload character outside the 6-bit armoring alphabet.
    BadArmoring {
        /// The offending character.
        character: char,
        /// Its position (in characters) within the payload.
        position: usize,
    },
    /// A fragment or reassembled payload over [`MAX_FRAGMENT_PAYLOAD`] /
    /// [`MAX_MESSAGE_PAYLOAD`].
    PayloadTooLong {
        /// Length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The payload holds no bits at all.
    EmptyPayload,
    /// A fragment other than the first arrived with no message in progress
    /// for its (count, sequence id, channel); it is dropped.
    OrphanFragment {
        /// Fragment number.
        number: u8,
        /// Fragment count.
        count: u8,
        /// Sequential message id, if any.
        sequence_id: Option<u8>,
        /// Radio channel, if any.
        channel: Option<char>,
    },
    /// A fragment arrived whose number is not the one expected next; the
    /// incomplete message is dropped.
    FragmentOutOfOrder {
        /// Fragment number expected next.
        expected: u8,
        /// Fragment number received.
        found: u8,
        /// Fragment count.
        count: u8,
    },
    /// The payload ends before a field the message type requires.
    PayloadTooShort {
        /// Message type (0 if not even the type could be read).
        msg_type: u8,
        /// Bits available.
        bits: usize,
        /// Bits needed.
        needed: usize,
    },
    /// The message type is not one of [`SUPPORTED_TYPES`].
    UnsupportedType {
        /// Message type.
        msg_type: u8,
        /// Repeat indicator, if the payload was long enough.
        repeat: Option<u8>,
        /// Source MMSI, if the payload was long enough.
        mmsi: Option<u32>,
    },
    /// The message is structurally invalid (e.g. a reserved part number).
    Invalid {
        /// Message type.
        msg_type: u8,
        /// What is wrong.
        reason: &'static str,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyLine => write!(f, "empty line"),
            Self::LineTooLong { len, max } => {
                write!(f, "line is {len} bytes long; at most {max} are accepted")
            }
            Self::NotNmea { start } => write!(
                f,
                "not an NMEA sentence: line starts with {start:?} instead of '!' or '$'"
            ),
            Self::NotAis { header } => {
                write!(
                    f,
                    "{header:?} is not an AIS sentence (expected ..VDM or ..VDO)"
                )
            }
            Self::UnknownTalker { talker } => write!(
                f,
                "unknown AIS talker id {talker:?} (expected one of {})",
                KNOWN_TALKERS.join(", ")
            ),
            Self::MissingChecksum => write!(f, "sentence has no '*hh' checksum"),
            Self::BadChecksumFormat { found } => {
                write!(f, "checksum {found:?} is not two hexadecimal digits")
            }
            Self::BadChecksum { expected, found } => write!(
                f,
                "bad checksum: the sentence's characters XOR to {expected:02X} but it carries {found:02X}"
            ),
            Self::BadTagBlock { reason } => write!(f, "malformed NMEA 4.10 tag block: {reason}"),
            Self::BadTagBlockChecksum { expected, found } => write!(
                f,
                "bad tag block checksum: its characters XOR to {expected:02X} but it carries {found:02X}"
            ),
            Self::WrongFieldCount { found } => write!(
                f,
                "AIS sentence has {found} comma-separated fields; expected 7 \
                 (header, count, number, sequence id, channel, payload, fill bits)"
            ),
            Self::BadField { field, value } => write!(f, "invalid {field}: {value:?}"),
            Self::FragmentNumberOutOfRange { number, count } => write!(
                f,
                "fragment number {number} is outside 1..={count} (the fragment count)"
            ),
            Self::BadArmoring {
                character,
                position,
            } => write!(
                f,
                "payload character {character:?} at position {position} is not valid 6-bit \
                 armoring (allowed: '0'..='W' and '`'..='w')"
            ),
            Self::PayloadTooLong { len, max } => write!(
                f,
                "payload is {len} characters long; at most {max} are accepted"
            ),
            Self::EmptyPayload => write!(f, "empty payload: nothing to decode"),
            Self::OrphanFragment {
                number,
                count,
                sequence_id,
                channel,
            } => write!(
                f,
                "orphan fragment {number} of {count} (sequence id {}, channel {}): no earlier \
                 fragment of this message was seen; dropped",
                opt_text(sequence_id),
                opt_text(channel)
            ),
            Self::FragmentOutOfOrder {
                expected,
                found,
                count,
            } => write!(
                f,
                "fragment out of order: expected fragment {expected} of {count}, got {found}; \
                 the incomplete message was dropped"
            ),
            Self::PayloadTooShort {
                msg_type,
                bits,
                needed,
            } => write!(
                f,
                "payload too short for type {msg_type}: {bits} bits, at least {needed} needed"
            ),
            Self::UnsupportedType {
                msg_type,
                repeat: _,
                mmsi,
            } => write!(
                f,
                "message type {msg_type} (from MMSI {}) is not defined by ITU-R M.1371 and is \
                 not decoded",
                opt_text(mmsi)
            ),
            Self::Invalid { msg_type, reason } => {
                write!(f, "invalid type {msg_type} message: {reason}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Formats an optional value for error messages ("none" when absent).
fn opt_text<T: fmt::Display>(value: &Option<T>) -> String {
    match value {
        Some(v) => v.to_string(),
        None => "none".to_string(),
    }
}

/// Keeps error payloads small: an attacker-controlled line must not be
/// copied whole into every error value.
fn clip(text: &str) -> String {
    text.chars().take(24).collect()
}

/// XOR of all bytes, the NMEA checksum.
fn xor_checksum(text: &str) -> u8 {
    text.bytes().fold(0, |acc, b| acc ^ b)
}

/// Parses exactly two hex digits. `u8::from_str_radix` alone would accept
/// a leading `+`, which is not a valid checksum.
fn parse_hex2(text: &str) -> Option<u8> {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u8::from_str_radix(text, 16).ok()
    } else {
        None
    }
}

/// The NMEA 4.10 tag block that may precede a sentence (`\s:rcv,c:123*hh\`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TagBlock {
    /// `s:` source / receiver id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `c:` UNIX time as sent (seconds, some feeds use milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// The whole tag block text between the backslashes, without `*hh`.
    pub raw: String,
}

/// Splits a leading tag block off a line and verifies its checksum.
fn split_tag_block(line: &str) -> Result<(Option<TagBlock>, &str), DecodeError> {
    let Some(after) = line.strip_prefix('\\') else {
        return Ok((None, line));
    };
    let (inside, rest) = after.split_once('\\').ok_or(DecodeError::BadTagBlock {
        reason: "no closing backslash",
    })?;
    let (body, check) = inside.rsplit_once('*').ok_or(DecodeError::BadTagBlock {
        reason: "no '*hh' checksum",
    })?;
    let found = parse_hex2(check).ok_or(DecodeError::BadTagBlock {
        reason: "checksum is not two hexadecimal digits",
    })?;
    let expected = xor_checksum(body);
    if expected != found {
        return Err(DecodeError::BadTagBlockChecksum { expected, found });
    }
    let mut tag = TagBlock {
        raw: body.to_string(),
        ..TagBlock::default()
    };
    for item in body.split(',') {
        // Unknown keys (g:, n:, d:, r:, t:, …) are kept only in `raw`: they
        // do not change how the sentence is decoded.
        match item.split_once(':') {
            Some(("s", value)) => tag.source = Some(value.to_string()),
            Some(("c", value)) => {
                tag.time = Some(value.parse().map_err(|_| DecodeError::BadTagBlock {
                    reason: "c: (time) is not an unsigned integer",
                })?);
            }
            Some(_) => {}
            None => {
                return Err(DecodeError::BadTagBlock {
                    reason: "item without ':'",
                });
            }
        }
    }
    Ok((Some(tag), rest))
}

/// One parsed `!xxVDM`/`!xxVDO` sentence (one fragment of a message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Talker id, e.g. `AI`.
    pub talker: String,
    /// `true` for `VDO` (own ship), `false` for `VDM`.
    pub own_ship: bool,
    /// Number of fragments of the message (1..=9).
    pub fragment_count: u8,
    /// This fragment's number (1..=fragment_count).
    pub fragment_number: u8,
    /// Sequential message id (0..=9) linking fragments; absent on most
    /// single-fragment sentences.
    pub sequence_id: Option<u8>,
    /// Radio channel (`A`, `B`, sometimes `1`/`2`), if given.
    pub channel: Option<char>,
    /// Armored payload, already checked against the 6-bit alphabet.
    pub payload: String,
    /// Fill bits (0..=5) at the end of the payload.
    pub fill_bits: u8,
    /// Tag block that preceded the sentence, if any.
    pub tag_block: Option<TagBlock>,
}

/// Parses one line into a [`Sentence`]: tag block, checksum, the seven
/// fields. Text after the checksum's two hex digits is ignored.
pub fn parse_sentence(line: &str) -> Result<Sentence, DecodeError> {
    let line = line.trim();
    if line.is_empty() {
        return Err(DecodeError::EmptyLine);
    }
    if line.len() > MAX_LINE_LEN {
        return Err(DecodeError::LineTooLong {
            len: line.len(),
            max: MAX_LINE_LEN,
        });
    }
    let (tag_block, rest) = split_tag_block(line)?;
    let Some(after_bang) = rest.strip_prefix('!') else {
        // `$` sentences are valid NMEA but never carry AIS payloads.
        if let Some(after_dollar) = rest.strip_prefix('$') {
            return Err(DecodeError::NotAis {
                header: clip(header_of(after_dollar)),
            });
        }
        return Err(DecodeError::NotNmea { start: clip(rest) });
    };

    // Identify the sentence before checking the checksum so that e.g.
    // `!PGHP` gets "not AIS" rather than a less useful checksum complaint.
    let header = header_of(after_bang);
    let formatter = header.get(2..);
    let own_ship = match formatter {
        Some("VDM") => false,
        Some("VDO") => true,
        _ => {
            return Err(DecodeError::NotAis {
                header: clip(header),
            });
        }
    };

    let (body, after_star) = after_bang
        .split_once('*')
        .ok_or(DecodeError::MissingChecksum)?;
    let check_text = after_star.get(..2).unwrap_or(after_star);
    let found = parse_hex2(check_text).ok_or_else(|| DecodeError::BadChecksumFormat {
        found: clip(check_text),
    })?;
    let expected = xor_checksum(body);
    if expected != found {
        return Err(DecodeError::BadChecksum { expected, found });
    }

    let fields: Vec<&str> = body.split(',').collect();
    let [header, count, number, seq, channel, payload, fill] = fields.as_slice() else {
        return Err(DecodeError::WrongFieldCount {
            found: fields.len(),
        });
    };
    let talker = header.get(..2).unwrap_or_default();
    if !KNOWN_TALKERS.contains(&talker) {
        return Err(DecodeError::UnknownTalker {
            talker: clip(talker),
        });
    }

    let fragment_count = parse_digit(count, "fragment count")?;
    if fragment_count == 0 {
        return Err(bad_field("fragment count", count));
    }
    let fragment_number = parse_digit(number, "fragment number")?;
    if fragment_number == 0 || fragment_number > fragment_count {
        return Err(DecodeError::FragmentNumberOutOfRange {
            number: fragment_number,
            count: fragment_count,
        });
    }
    let sequence_id = if seq.is_empty() {
        None
    } else {
        Some(parse_digit(seq, "sequential message id")?)
    };
    let mut channel_chars = channel.chars();
    let channel = match (channel_chars.next(), channel_chars.next()) {
        (None, _) => None,
        (Some(c), None) if c.is_ascii_alphanumeric() => Some(c),
        _ => return Err(bad_field("channel", channel)),
    };
    if payload.len() > MAX_FRAGMENT_PAYLOAD {
        return Err(DecodeError::PayloadTooLong {
            len: payload.len(),
            max: MAX_FRAGMENT_PAYLOAD,
        });
    }
    // Validate the armoring here so that a bad character is reported on the
    // sentence that carries it, not later on the reassembled message.
    for (position, character) in payload.chars().enumerate() {
        if dearmor(character).is_none() {
            return Err(DecodeError::BadArmoring {
                character,
                position,
            });
        }
    }
    let fill_bits = parse_digit(fill, "fill bits")?;
    if fill_bits > 5 {
        return Err(bad_field("fill bits", fill));
    }

    Ok(Sentence {
        talker: talker.to_string(),
        own_ship,
        fragment_count,
        fragment_number,
        sequence_id,
        channel,
        payload: (*payload).to_string(),
        fill_bits,
        tag_block,
    })
}

/// The address field of a sentence: everything up to the first `,` or `*`.
fn header_of(text: &str) -> &str {
    text.split([',', '*']).next().unwrap_or_default()
}

fn bad_field(field: &'static str, value: &str) -> DecodeError {
    DecodeError::BadField {
        field,
        value: clip(value),
    }
}

/// A field that must be one decimal digit.
fn parse_digit(text: &str, field: &'static str) -> Result<u8, DecodeError> {
    match text.as_bytes() {
        [d] if d.is_ascii_digit() => Ok(d - b'0'),
        _ => Err(bad_field(field, text)),
    }
}

/// A complete (possibly reassembled) AIS message, ready for [`decode_message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Concatenated armored payload of all fragments.
    pub payload: String,
    /// Fill bits of the last fragment.
    pub fill_bits: u8,
    /// Radio channel, if given.
    pub channel: Option<char>,
    /// Talker id of the first fragment.
    pub talker: String,
    /// `true` for `VDO` (own ship).
    pub own_ship: bool,
    /// Number of fragments it was assembled from.
    pub fragments: u8,
    /// Tag block of the first fragment that had one.
    pub tag_block: Option<TagBlock>,
}

/// What identifies the fragments of one message on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FragmentKey {
    count: u8,
    sequence_id: Option<u8>,
    channel: Option<char>,
}

#[derive(Debug, Clone)]
struct Partial {
    key: FragmentKey,
    /// Fragment number expected next.
    next: u8,
    /// Value of the reassembler's sentence counter when the last fragment
    /// arrived; used to find stale and oldest partials.
    last_seen: u64,
    message: Message,
}

/// Reassembles multi-fragment messages, keyed by (fragment count,
/// sequential message id, channel).
///
/// Fragments of different messages may interleave. A fragment without its
/// predecessors is reported as [`DecodeError::OrphanFragment`] and dropped;
/// one out of sequence drops the message it belonged to. At most
/// `max_partials` incomplete messages are kept (the least recently extended
/// is evicted first) and one not extended within `max_age` sentences is
/// dropped as stale. [`Reassembler::dropped`] counts incomplete messages lost
/// to eviction, staleness or a restart with the same key.
#[derive(Debug, Clone)]
pub struct Reassembler {
    partials: Vec<Partial>,
    max_partials: usize,
    max_age: u64,
    /// Sentences pushed so far: the only notion of time available.
    clock: u64,
    dropped: u64,
}

impl Default for Reassembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Reassembler {
    /// A reassembler with [`DEFAULT_MAX_PARTIALS`] and [`DEFAULT_MAX_AGE`].
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MAX_PARTIALS, DEFAULT_MAX_AGE)
    }

    /// A reassembler keeping at most `max_partials` incomplete messages
    /// (clamped to 1..=[`HARD_MAX_PARTIALS`]) and dropping one whose next
    /// fragment has not come within `max_age` sentences (at least 1).
    pub fn with_limits(max_partials: usize, max_age: u64) -> Self {
        Self {
            partials: Vec::new(),
            max_partials: max_partials.clamp(1, HARD_MAX_PARTIALS),
            max_age: max_age.max(1),
            clock: 0,
            dropped: 0,
        }
    }

    /// Number of incomplete messages currently held.
    pub fn pending(&self) -> usize {
        self.partials.len()
    }

    /// Incomplete messages dropped so far (stale, evicted, or restarted).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Forgets every incomplete message (counted as dropped).
    pub fn clear(&mut self) {
        self.dropped = self.dropped.saturating_add(self.partials.len() as u64);
        self.partials.clear();
    }

    /// Feeds one sentence. Returns the complete message when this sentence
    /// completes one, `Ok(None)` when it is a fragment that must wait, and an
    /// error for orphan or out-of-order fragments and oversize messages.
    pub fn push(&mut self, sentence: Sentence) -> Result<Option<Message>, DecodeError> {
        self.clock = self.clock.saturating_add(1);
        self.expire();

        // `parse_sentence` guarantees these, but a `Sentence` can also be
        // built by hand: never let one bypass the bounds.
        if sentence.fragment_number == 0 || sentence.fragment_number > sentence.fragment_count {
            return Err(DecodeError::FragmentNumberOutOfRange {
                number: sentence.fragment_number,
                count: sentence.fragment_count,
            });
        }
        if sentence.payload.len() > MAX_FRAGMENT_PAYLOAD {
            return Err(DecodeError::PayloadTooLong {
                len: sentence.payload.len(),
                max: MAX_FRAGMENT_PAYLOAD,
            });
        }

        let Sentence {
            talker,
            own_ship,
            fragment_count,
            fragment_number,
            sequence_id,
            channel,
            payload,
            fill_bits,
            tag_block,
        } = sentence;

        if fragment_count == 1 {
            return Ok(Some(Message {
                payload,
                fill_bits,
                channel,
                talker,
                own_ship,
                fragments: 1,
                tag_block,
            }));
        }

        let key = FragmentKey {
            count: fragment_count,
            sequence_id,
            channel,
        };
        let index = self.partials.iter().position(|p| p.key == key);

        if fragment_number == 1 {
            // A new first fragment for a key in progress means the previous
            // message lost its tail: start over with the new one.
            if let Some(i) = index {
                self.remove(i);
                self.dropped = self.dropped.saturating_add(1);
            }
            if self.partials.len() >= self.max_partials {
                self.evict_oldest();
            }
            self.partials.push(Partial {
                key,
                next: 2,
                last_seen: self.clock,
                message: Message {
                    payload,
                    fill_bits,
                    channel,
                    talker,
                    own_ship,
                    fragments: fragment_count,
                    tag_block,
                },
            });
            return Ok(None);
        }

        let Some(i) = index else {
            return Err(DecodeError::OrphanFragment {
                number: fragment_number,
                count: fragment_count,
                sequence_id,
                channel,
            });
        };
        let Some(mut partial) = self.remove(i) else {
            return Err(DecodeError::OrphanFragment {
                number: fragment_number,
                count: fragment_count,
                sequence_id,
                channel,
            });
        };
        if fragment_number != partial.next {
            return Err(DecodeError::FragmentOutOfOrder {
                expected: partial.next,
                found: fragment_number,
                count: fragment_count,
            });
        }
        let total = partial.message.payload.len().saturating_add(payload.len());
        if total > MAX_MESSAGE_PAYLOAD {
            return Err(DecodeError::PayloadTooLong {
                len: total,
                max: MAX_MESSAGE_PAYLOAD,
            });
        }
        partial.message.payload.push_str(&payload);
        // Only the last fragment's fill bits count; earlier fragments should
        // say 0 and, if they do not, the bits are still real data.
        partial.message.fill_bits = fill_bits;
        if partial.message.tag_block.is_none() {
            partial.message.tag_block = tag_block;
        }
        if fragment_number == fragment_count {
            return Ok(Some(partial.message));
        }
        partial.next = fragment_number.saturating_add(1);
        partial.last_seen = self.clock;
        self.partials.push(partial);
        Ok(None)
    }

    /// Removes partial `i` if it exists (it always does when `i` comes from
    /// `position`, but this keeps the code free of panicking paths).
    fn remove(&mut self, i: usize) -> Option<Partial> {
        (i < self.partials.len()).then(|| self.partials.swap_remove(i))
    }

    fn evict_oldest(&mut self) {
        let oldest = self
            .partials
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| p.last_seen)
            .map(|(i, _)| i);
        if let Some(i) = oldest {
            self.remove(i);
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    fn expire(&mut self) {
        let (clock, max_age) = (self.clock, self.max_age);
        let before = self.partials.len();
        self.partials
            .retain(|p| clock.saturating_sub(p.last_seen) <= max_age);
        let gone = before.saturating_sub(self.partials.len());
        self.dropped = self.dropped.saturating_add(gone as u64);
    }
}

/// Value of one armoring character, or `None` outside the alphabet
/// (`'0'..='W'` → 0..=39, `` '`'..='w' `` → 40..=63).
pub fn dearmor(c: char) -> Option<u8> {
    match c {
        '0'..='W' => Some(c as u8 - b'0'),
        '`'..='w' => Some(c as u8 - b'0' - 8),
        _ => None,
    }
}

/// The ITU 6-bit character set: 0..=31 map to `@A..Z[\]^_`, 32..=63 to
/// `` !"#..?`` (i.e. ASCII 32..=63).
pub fn sixbit_char(value: u8) -> char {
    let v = value & 0x3f;
    if v < 32 {
        char::from(v + 64)
    } else {
        char::from(v)
    }
}

/// The de-armored payload: a sequence of bits, most significant first, with
/// the fill bits already removed. All reads are bounds-checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BitVec {
    bytes: Vec<u8>,
    len: usize,
}

impl BitVec {
    /// De-armors `payload` and drops `fill_bits` bits from the end.
    pub fn from_armored(payload: &str, fill_bits: u8) -> Result<Self, DecodeError> {
        let mut bytes = Vec::with_capacity(payload.len().saturating_mul(6) / 8 + 1);
        let mut acc: u32 = 0;
        let mut pending = 0u32;
        let mut total = 0usize;
        for (position, character) in payload.chars().enumerate() {
            let value = dearmor(character).ok_or(DecodeError::BadArmoring {
                character,
                position,
            })?;
            acc = (acc << 6) | u32::from(value);
            pending += 6;
            total = total.saturating_add(6);
            while pending >= 8 {
                pending -= 8;
                bytes.push((acc >> pending) as u8);
                acc &= (1 << pending) - 1;
            }
        }
        if pending > 0 {
            bytes.push((acc << (8 - pending)) as u8);
        }
        Ok(Self {
            bytes,
            len: total.saturating_sub(usize::from(fill_bits)),
        })
    }

    /// Number of bits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` when there are no bits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bit `index` (0 = first transmitted), or `None` past the end.
    pub fn bit(&self, index: usize) -> Option<bool> {
        if index >= self.len {
            return None;
        }
        let byte = self.bytes.get(index / 8)?;
        Some((byte >> (7 - index % 8)) & 1 == 1)
    }

    /// Unsigned field of `width` (0..=64) bits starting at `start`, or `None`
    /// if it does not fit in the payload.
    pub fn unsigned(&self, start: usize, width: usize) -> Option<u64> {
        if width > 64 || start.checked_add(width)? > self.len {
            return None;
        }
        let mut value = 0u64;
        for i in start..start + width {
            value = (value << 1) | u64::from(self.bit(i)?);
        }
        Some(value)
    }

    /// Two's complement signed field of `width` (0..=64) bits.
    pub fn signed(&self, start: usize, width: usize) -> Option<i64> {
        let raw = self.unsigned(start, width)?;
        if width == 0 {
            return Some(0);
        }
        // Move the field's sign bit to bit 63, then shift back
        // arithmetically to sign-extend.
        let shift = 64 - width as u32;
        Some(((raw << shift) as i64) >> shift)
    }

    /// 6-bit text of `width / 6` characters starting at `start`, cut at the
    /// first `@` (padding) and with trailing spaces removed; `None` if the
    /// field does not fit in the payload.
    pub fn text(&self, start: usize, width: usize) -> Option<String> {
        let chars = width / 6;
        let mut out = String::with_capacity(chars);
        for k in 0..chars {
            let value = self.unsigned(start.checked_add(k * 6)?, 6)?;
            out.push(sixbit_char(value as u8));
        }
        // '@' (value 0) is the padding/terminator: what follows it is not
        // text (transmitters leave garbage there), so stop at the first one.
        if let Some(end) = out.find('@') {
            out.truncate(end);
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        Some(out)
    }

    /// Bits `start..len` as gpsd's `"<bit count>:<hex>"` (see
    /// [`BitVec::hex_range`]).
    pub fn hex_from(&self, start: usize) -> String {
        self.hex_range(start, self.len)
    }

    /// Bits `start..end` as gpsd's `"<bit count>:<hex>"`; the range is
    /// clipped to the payload. When the count is not a multiple of 8, the
    /// last byte is completed with the payload bits that follow `end` (zeros
    /// past the payload's end), exactly as gpsd prints it; only the first
    /// `count` bits are significant either way.
    pub fn hex_range(&self, start: usize, end: usize) -> String {
        let end = end.min(self.len);
        let count = end.saturating_sub(start);
        let mut out = String::with_capacity(count / 4 + 8);
        out.push_str(&count.to_string());
        out.push(':');
        let mut pos = start;
        while pos < end {
            let available = (self.len - pos).min(8);
            let byte = self.unsigned(pos, available).unwrap_or(0) << (8 - available);
            out.push_str(&format!("{byte:02x}"));
            pos += 8;
        }
        out
    }
}

/// A decoded message. Field names and units follow gpsd's scaled JSON; every
/// field but `type`, `repeat` and `mmsi` is optional and only present for the
/// message types that carry it.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Report {
    /// Message type (1..=27).
    #[serde(rename = "type")]
    pub msg_type: u8,
    /// Repeat indicator (0..=3).
    pub repeat: u8,
    /// Source MMSI.
    pub mmsi: u32,

    // ---- positions (1-3, 4/11, 9, 17, 18, 19, 21, 27) ----
    /// Navigation status (0..=15, 15 = not defined).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u8>,
    /// Rate of turn as gpsd prints it: `"n/a"`, `"fastleft"`, `"fastright"`
    /// or degrees per minute with two decimals (negative = to port).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<String>,
    /// Speed over ground in knots (102.3 = n/a; types 9/27: whole knots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Position accuracy flag (true = better than 10 m).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<bool>,
    /// Longitude in degrees (181 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// Latitude in degrees (91 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Course over ground in degrees (360 = n/a; type 27: whole degrees, 511 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub course: Option<f64>,
    /// True heading in degrees (511 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading: Option<u16>,
    /// UTC second of the report (60 = n/a) or of the timestamp (4/11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub second: Option<u8>,
    /// Special manoeuvre indicator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maneuver: Option<u8>,
    /// RAIM flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raim: Option<bool>,
    /// Radio status (communication state), raw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radio: Option<u32>,
    /// Altitude in metres (type 9; 4095 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alt: Option<u16>,
    /// Regional reserved bits (18, 19).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved: Option<u8>,
    /// Regional application bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regional: Option<u8>,
    /// Class B unit flag: carrier-sense (true) vs SOTDMA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cs: Option<bool>,
    /// Class B display flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<bool>,
    /// Class B DSC flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsc: Option<bool>,
    /// Class B band flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band: Option<bool>,
    /// Class B message-22 flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg22: Option<bool>,
    /// Assigned-mode flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assigned: Option<bool>,
    /// Type 27: GNSS position latency flag (true = older than 5 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gnss: Option<bool>,

    // ---- UTC date and time (4/11) and ETA (5) ----
    /// UTC year (0 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<u16>,
    /// Month (0 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month: Option<u8>,
    /// Day (0 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<u8>,
    /// Hour (24 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hour: Option<u8>,
    /// Minute (60 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minute: Option<u8>,
    /// Types 4/11: `YYYY-MM-DDThh:mm:ssZ` from the fields above, as gpsd.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Type of position fixing device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epfd: Option<u8>,

    // ---- static and voyage data (5, 19, 24) ----
    /// AIS version indicator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ais_version: Option<u8>,
    /// IMO number (0 = n/a).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imo: Option<u32>,
    /// Call sign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callsign: Option<String>,
    /// Vessel name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipname: Option<String>,
    /// Ship and cargo type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shiptype: Option<u8>,
    /// Type 24 part number (0 = A, 1 = B).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partno: Option<u8>,
    /// Type 24 B: vendor id as 7 characters (manufacturer, model, serial).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendorid: Option<String>,
    /// Type 24 B: unit model code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<u8>,
    /// Type 24 B: unit serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<u32>,
    /// Type 24 B from an auxiliary craft (MMSI 98xxxxxxx): mothership MMSI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mothership_mmsi: Option<u32>,
    /// Distance from reference point to bow, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_bow: Option<u16>,
    /// Distance from reference point to stern, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_stern: Option<u16>,
    /// Distance from reference point to port side, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_port: Option<u8>,
    /// Distance from reference point to starboard side, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_starboard: Option<u8>,
    /// ETA as gpsd prints it, `MM-DDThh:mmZ`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta: Option<String>,
    /// Maximum present static draught, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draught: Option<f64>,
    /// Destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Data terminal equipment flag (0 = ready, 1 = not ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dte: Option<u8>,

    // ---- aid to navigation (21) ----
    /// Aid type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aid_type: Option<u8>,
    /// Aid name, including the name extension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Off-position indicator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub off_position: Option<bool>,
    /// Virtual aid flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_aid: Option<bool>,

    // ---- addressed / binary / safety messages (6, 7, 8, 10, 12-16, 25, 26) ----
    /// Sequence number (6, 12).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seqno: Option<u8>,
    /// Destination MMSI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_mmsi: Option<u32>,
    /// Retransmit flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmit: Option<bool>,
    /// Designated area code (6, 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dac: Option<u16>,
    /// Functional id (6, 8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fid: Option<u8>,
    /// Addressed flag (22, 25, 26).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addressed: Option<bool>,
    /// Structured (application id present) flag (25, 26).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured: Option<bool>,
    /// Application id (25, 26).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<u16>,
    /// Uninterpreted binary payload, `"<bits>:<hex>"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Safety-related text (12, 14).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// First acknowledged / interrogated / assigned MMSI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmsi1: Option<u32>,
    /// Second MMSI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmsi2: Option<u32>,
    /// Third MMSI (7, 13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmsi3: Option<u32>,
    /// Fourth MMSI (7, 13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmsi4: Option<u32>,
    /// Type 15: first message type requested from `mmsi1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type1_1: Option<u8>,
    /// Type 15: its slot offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset1_1: Option<u16>,
    /// Type 15: second message type requested from `mmsi1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type1_2: Option<u8>,
    /// Type 15: its slot offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset1_2: Option<u16>,
    /// Type 15: message type requested from `mmsi2`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type2_1: Option<u8>,
    /// Type 15: its slot offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset2_1: Option<u16>,
    /// Types 16/20: first slot offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset1: Option<u16>,
    /// Type 20: number of slots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number1: Option<u8>,
    /// Type 20: timeout in minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout1: Option<u8>,
    /// Types 16/20: increment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increment1: Option<u16>,
    /// Second slot offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset2: Option<u16>,
    /// Second number of slots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number2: Option<u8>,
    /// Second timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout2: Option<u8>,
    /// Second increment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increment2: Option<u16>,
    /// Third slot offset (20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset3: Option<u16>,
    /// Third number of slots (20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number3: Option<u8>,
    /// Third timeout (20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout3: Option<u8>,
    /// Third increment (20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increment3: Option<u16>,
    /// Fourth slot offset (20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset4: Option<u16>,
    /// Fourth number of slots (20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number4: Option<u8>,
    /// Fourth timeout (20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout4: Option<u8>,
    /// Fourth increment (20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub increment4: Option<u16>,

    // ---- channel management (22) and group assignment (23) ----
    /// Channel A number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_a: Option<u16>,
    /// Channel B number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_b: Option<u16>,
    /// Tx/Rx mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txrx: Option<u8>,
    /// High power flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<bool>,
    /// North-east corner longitude, degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ne_lon: Option<f64>,
    /// North-east corner latitude, degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ne_lat: Option<f64>,
    /// South-west corner longitude, degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sw_lon: Option<f64>,
    /// South-west corner latitude, degrees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sw_lat: Option<f64>,
    /// First addressed station (22).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest1: Option<u32>,
    /// Second addressed station (22).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest2: Option<u32>,
    /// Channel A bandwidth flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band_a: Option<bool>,
    /// Channel B bandwidth flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub band_b: Option<bool>,
    /// Transition zone size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zonesize: Option<u8>,
    /// Station type (23).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stationtype: Option<u8>,
    /// Reporting interval code (23).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<u8>,
    /// Quiet time in minutes (23).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet: Option<u8>,
}

/// Typed, bounds-checked field access for one message type: every read past
/// the end becomes `PayloadTooShort` naming the type.
struct Fields<'a> {
    bits: &'a BitVec,
    msg_type: u8,
}

impl Fields<'_> {
    fn too_short(&self, needed: usize) -> DecodeError {
        DecodeError::PayloadTooShort {
            msg_type: self.msg_type,
            bits: self.bits.len(),
            needed,
        }
    }

    /// Fails early with a clear message when the payload cannot hold the
    /// mandatory fields of the type.
    fn require(&self, needed: usize) -> Result<(), DecodeError> {
        if self.bits.len() < needed {
            Err(self.too_short(needed))
        } else {
            Ok(())
        }
    }

    /// Unsigned field of at most 32 bits.
    fn u(&self, start: usize, width: usize) -> Result<u32, DecodeError> {
        let width = width.min(32);
        self.bits
            .unsigned(start, width)
            .map(|v| v as u32)
            .ok_or_else(|| self.too_short(start.saturating_add(width)))
    }

    fn u8(&self, start: usize, width: usize) -> Result<u8, DecodeError> {
        self.u(start, width.min(8)).map(|v| v as u8)
    }

    fn u16(&self, start: usize, width: usize) -> Result<u16, DecodeError> {
        self.u(start, width.min(16)).map(|v| v as u16)
    }

    /// Signed field of at most 32 bits.
    fn i(&self, start: usize, width: usize) -> Result<i32, DecodeError> {
        let width = width.min(32);
        self.bits
            .signed(start, width)
            .map(|v| v as i32)
            .ok_or_else(|| self.too_short(start.saturating_add(width)))
    }

    fn flag(&self, pos: usize) -> Result<bool, DecodeError> {
        self.bits
            .bit(pos)
            .ok_or_else(|| self.too_short(pos.saturating_add(1)))
    }

    fn text(&self, start: usize, width: usize) -> Result<String, DecodeError> {
        self.bits
            .text(start, width)
            .ok_or_else(|| self.too_short(start.saturating_add(width)))
    }

    /// Text from `start` to the end of the payload, whole characters only
    /// (the free-text messages 12 and 14 and the type 21 name extension).
    fn text_to_end(&self, start: usize) -> String {
        let width = self.bits.len().saturating_sub(start) / 6 * 6;
        self.bits.text(start, width).unwrap_or_default()
    }

    /// Optional trailing field: `None` when the payload stops before it.
    fn opt_u(&self, start: usize, width: usize) -> Option<u32> {
        self.bits.unsigned(start, width.min(32)).map(|v| v as u32)
    }

    /// Longitude/latitude in 1/10000 minute (28/27-bit fields) to degrees.
    fn deg_10000(&self, start: usize, width: usize) -> Result<f64, DecodeError> {
        Ok(f64::from(self.i(start, width)?) / 600_000.0)
    }

    /// Longitude/latitude in 1/10 minute (17/18-bit fields) to degrees.
    fn deg_10(&self, start: usize, width: usize) -> Result<f64, DecodeError> {
        Ok(f64::from(self.i(start, width)?) / 600.0)
    }
}

/// Rate of turn as gpsd's scaled output: the AIS value is 4.733 times the
/// square root of degrees per minute, signed; -128 is "not available" and
/// ±127 mean "turning faster than 5° per 30 s" without a number.
fn turn_text(raw: i32) -> String {
    match raw {
        -128 => "n/a".to_string(),
        127 => "fastright".to_string(),
        -127 => "fastleft".to_string(),
        _ => {
            let root = f64::from(raw) / 4.733;
            let rate = root * root * f64::from(raw.signum());
            format!("{rate:.2}")
        }
    }
}

/// Decodes a complete message from the [`Reassembler`].
pub fn decode_message(message: &Message) -> Result<Report, DecodeError> {
    decode_payload(&message.payload, message.fill_bits)
}

/// De-armors and decodes one complete payload.
pub fn decode_payload(payload: &str, fill_bits: u8) -> Result<Report, DecodeError> {
    if payload.len() > MAX_MESSAGE_PAYLOAD {
        return Err(DecodeError::PayloadTooLong {
            len: payload.len(),
            max: MAX_MESSAGE_PAYLOAD,
        });
    }
    decode_bits(&BitVec::from_armored(payload, fill_bits)?)
}

/// Decodes a de-armored message.
pub fn decode_bits(bits: &BitVec) -> Result<Report, DecodeError> {
    if bits.is_empty() {
        return Err(DecodeError::EmptyPayload);
    }
    let msg_type = bits.unsigned(0, 6).map_or(0, |v| v as u8);
    let f = Fields { bits, msg_type };
    if !SUPPORTED_TYPES.contains(&msg_type) {
        return Err(DecodeError::UnsupportedType {
            msg_type,
            repeat: f.opt_u(6, 2).map(|v| v as u8),
            mmsi: f.opt_u(8, 30),
        });
    }
    // Every message starts with type, repeat indicator and source MMSI.
    f.require(38)?;
    let mut r = Report {
        msg_type,
        repeat: f.u8(6, 2)?,
        mmsi: f.u(8, 30)?,
        ..Report::default()
    };
    match msg_type {
        1..=3 => position_a(&f, &mut r)?,
        4 | 11 => base_station(&f, &mut r)?,
        5 => static_voyage(&f, &mut r)?,
        6 => binary_addressed(&f, &mut r)?,
        7 | 13 => acknowledge(&f, &mut r)?,
        8 => binary_broadcast(&f, &mut r)?,
        9 => sar_aircraft(&f, &mut r)?,
        10 => {
            f.require(70)?;
            r.dest_mmsi = Some(f.u(40, 30)?);
        }
        12 => {
            f.require(72)?;
            r.seqno = Some(f.u8(38, 2)?);
            r.dest_mmsi = Some(f.u(40, 30)?);
            r.retransmit = Some(f.flag(70)?);
            r.text = Some(f.text_to_end(72));
        }
        14 => {
            f.require(40)?;
            r.text = Some(f.text_to_end(40));
        }
        15 => interrogation(&f, &mut r)?,
        16 => assignment(&f, &mut r)?,
        17 => dgnss(&f, &mut r)?,
        18 => class_b(&f, &mut r)?,
        19 => class_b_extended(&f, &mut r)?,
        20 => data_link(&f, &mut r)?,
        21 => aid_to_navigation(&f, &mut r)?,
        22 => channel_management(&f, &mut r)?,
        23 => group_assignment(&f, &mut r)?,
        24 => static_data(&f, &mut r)?,
        25 | 26 => binary_slot(&f, &mut r)?,
        27 => long_range(&f, &mut r)?,
        _ => {
            // SUPPORTED_TYPES and this match must agree; if they ever do
            // not, say so instead of returning a half-filled report.
            return Err(DecodeError::UnsupportedType {
                msg_type,
                repeat: Some(r.repeat),
                mmsi: Some(r.mmsi),
            });
        }
    }
    Ok(r)
}

/// Types 1, 2, 3: class A position report (168 bits). A payload cut short
/// after the RAIM flag is still decoded, without `radio`.
fn position_a(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(149)?;
    r.status = Some(f.u8(38, 4)?);
    r.turn = Some(turn_text(f.i(42, 8)?));
    r.speed = Some(f64::from(f.u(50, 10)?) / 10.0);
    r.accuracy = Some(f.flag(60)?);
    r.lon = Some(f.deg_10000(61, 28)?);
    r.lat = Some(f.deg_10000(89, 27)?);
    r.course = Some(f64::from(f.u(116, 12)?) / 10.0);
    r.heading = Some(f.u16(128, 9)?);
    r.second = Some(f.u8(137, 6)?);
    r.maneuver = Some(f.u8(143, 2)?);
    r.raim = Some(f.flag(148)?);
    r.radio = f.opt_u(149, 19);
    Ok(())
}

/// Types 4 and 11: base station report / UTC date response.
fn base_station(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(149)?;
    let year = f.u16(38, 14)?;
    let month = f.u8(52, 4)?;
    let day = f.u8(56, 5)?;
    let hour = f.u8(61, 5)?;
    let minute = f.u8(66, 6)?;
    let second = f.u8(72, 6)?;
    r.timestamp = Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"
    ));
    (r.year, r.month, r.day) = (Some(year), Some(month), Some(day));
    (r.hour, r.minute, r.second) = (Some(hour), Some(minute), Some(second));
    r.accuracy = Some(f.flag(78)?);
    r.lon = Some(f.deg_10000(79, 28)?);
    r.lat = Some(f.deg_10000(107, 27)?);
    r.epfd = Some(f.u8(134, 4)?);
    r.raim = Some(f.flag(148)?);
    r.radio = f.opt_u(149, 19);
    Ok(())
}

/// Type 5: static and voyage related data (424 bits, two fragments).
fn static_voyage(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(422)?;
    r.ais_version = Some(f.u8(38, 2)?);
    r.imo = Some(f.u(40, 30)?);
    r.callsign = Some(f.text(70, 42)?);
    r.shipname = Some(f.text(112, 120)?);
    r.shiptype = Some(f.u8(232, 8)?);
    dimensions(f, r, 240)?;
    r.epfd = Some(f.u8(270, 4)?);
    let month = f.u8(274, 4)?;
    let day = f.u8(278, 5)?;
    let hour = f.u8(283, 5)?;
    let minute = f.u8(288, 6)?;
    r.eta = Some(format!("{month:02}-{day:02}T{hour:02}:{minute:02}Z"));
    (r.month, r.day, r.hour, r.minute) = (Some(month), Some(day), Some(hour), Some(minute));
    r.draught = Some(f64::from(f.u(294, 8)?) / 10.0);
    r.destination = Some(f.text(302, 120)?);
    // Some transponders send 420-423 bits; the DTE flag is then missing.
    r.dte = f.opt_u(422, 1).map(|v| v as u8);
    Ok(())
}

/// Bow/stern/port/starboard distances (30 bits starting at `start`).
fn dimensions(f: &Fields, r: &mut Report, start: usize) -> Result<(), DecodeError> {
    r.to_bow = Some(f.u16(start, 9)?);
    r.to_stern = Some(f.u16(start + 9, 9)?);
    r.to_port = Some(f.u8(start + 18, 6)?);
    r.to_starboard = Some(f.u8(start + 24, 6)?);
    Ok(())
}

/// Type 6: addressed binary message; the application data is not
/// interpreted.
fn binary_addressed(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(88)?;
    r.seqno = Some(f.u8(38, 2)?);
    r.dest_mmsi = Some(f.u(40, 30)?);
    r.retransmit = Some(f.flag(70)?);
    r.dac = Some(f.u16(72, 10)?);
    r.fid = Some(f.u8(82, 6)?);
    r.data = Some(f.bits.hex_from(88));
    Ok(())
}

/// Types 7 and 13: acknowledgements of up to four MMSIs.
fn acknowledge(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(70)?;
    r.mmsi1 = Some(f.u(40, 30)?);
    r.mmsi2 = f.opt_u(72, 30);
    r.mmsi3 = f.opt_u(104, 30);
    r.mmsi4 = f.opt_u(136, 30);
    Ok(())
}

/// Type 8: broadcast binary message; the application data is not
/// interpreted.
fn binary_broadcast(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(56)?;
    r.dac = Some(f.u16(40, 10)?);
    r.fid = Some(f.u8(50, 6)?);
    r.data = Some(f.bits.hex_from(56));
    Ok(())
}

/// Type 9: SAR aircraft position report (speed in whole knots).
fn sar_aircraft(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(148)?;
    r.alt = Some(f.u16(38, 12)?);
    r.speed = Some(f64::from(f.u(50, 10)?));
    r.accuracy = Some(f.flag(60)?);
    r.lon = Some(f.deg_10000(61, 28)?);
    r.lat = Some(f.deg_10000(89, 27)?);
    r.course = Some(f64::from(f.u(116, 12)?) / 10.0);
    r.second = Some(f.u8(128, 6)?);
    r.regional = Some(f.u8(134, 8)?);
    r.dte = Some(f.u8(142, 1)?);
    r.assigned = Some(f.flag(146)?);
    r.raim = Some(f.flag(147)?);
    r.radio = f.opt_u(148, 20);
    Ok(())
}

/// Type 15: interrogation (one to three requests).
fn interrogation(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(88)?;
    r.mmsi1 = Some(f.u(40, 30)?);
    r.type1_1 = Some(f.u8(70, 6)?);
    r.offset1_1 = Some(f.u16(76, 12)?);
    if f.bits.len() >= 108 {
        r.type1_2 = Some(f.u8(90, 6)?);
        r.offset1_2 = Some(f.u16(96, 12)?);
    }
    if f.bits.len() >= 158 {
        r.mmsi2 = Some(f.u(110, 30)?);
        r.type2_1 = Some(f.u8(140, 6)?);
        r.offset2_1 = Some(f.u16(146, 12)?);
    }
    Ok(())
}

/// Type 16: assigned mode command (one or two stations).
fn assignment(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(92)?;
    r.mmsi1 = Some(f.u(40, 30)?);
    r.offset1 = Some(f.u16(70, 12)?);
    r.increment1 = Some(f.u16(82, 10)?);
    if f.bits.len() >= 144 {
        r.mmsi2 = Some(f.u(92, 30)?);
        r.offset2 = Some(f.u16(122, 12)?);
        r.increment2 = Some(f.u16(134, 10)?);
    }
    Ok(())
}

/// Type 17: DGNSS broadcast; reference position in 1/10 minute, corrections
/// returned raw.
fn dgnss(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(80)?;
    r.lon = Some(f.deg_10(40, 18)?);
    r.lat = Some(f.deg_10(58, 17)?);
    r.data = Some(f.bits.hex_from(80));
    Ok(())
}

/// The speed/position/course/heading/second block shared by types 18 and 19.
fn class_b_position(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    r.reserved = Some(f.u8(38, 8)?);
    r.speed = Some(f64::from(f.u(46, 10)?) / 10.0);
    r.accuracy = Some(f.flag(56)?);
    r.lon = Some(f.deg_10000(57, 28)?);
    r.lat = Some(f.deg_10000(85, 27)?);
    r.course = Some(f64::from(f.u(112, 12)?) / 10.0);
    r.heading = Some(f.u16(124, 9)?);
    r.second = Some(f.u8(133, 6)?);
    Ok(())
}

/// Type 18: standard class B position report.
fn class_b(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(148)?;
    class_b_position(f, r)?;
    r.regional = Some(f.u8(139, 2)?);
    r.cs = Some(f.flag(141)?);
    r.display = Some(f.flag(142)?);
    r.dsc = Some(f.flag(143)?);
    r.band = Some(f.flag(144)?);
    r.msg22 = Some(f.flag(145)?);
    r.assigned = Some(f.flag(146)?);
    r.raim = Some(f.flag(147)?);
    r.radio = f.opt_u(148, 20);
    Ok(())
}

/// Type 19: extended class B position report (with name and dimensions).
fn class_b_extended(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(308)?;
    class_b_position(f, r)?;
    r.regional = Some(f.u8(139, 4)?);
    r.shipname = Some(f.text(143, 120)?);
    r.shiptype = Some(f.u8(263, 8)?);
    dimensions(f, r, 271)?;
    r.epfd = Some(f.u8(301, 4)?);
    r.raim = Some(f.flag(305)?);
    r.dte = Some(f.u8(306, 1)?);
    r.assigned = Some(f.flag(307)?);
    Ok(())
}

/// Type 20: data link management (one to four slot reservations).
fn data_link(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(70)?;
    // Each reservation is 30 bits: offset 12, number 4, timeout 3,
    // increment 11. Only reservations fully present are reported.
    let block = |n: usize| -> Option<(u16, u8, u8, u16)> {
        let start = 40 + 30 * n;
        Some((
            f.opt_u(start, 12)? as u16,
            f.opt_u(start + 12, 4)? as u8,
            f.opt_u(start + 16, 3)? as u8,
            f.opt_u(start + 19, 11)? as u16,
        ))
    };
    if let Some((o, n, t, i)) = block(0) {
        (r.offset1, r.number1, r.timeout1, r.increment1) = (Some(o), Some(n), Some(t), Some(i));
    }
    if let Some((o, n, t, i)) = block(1) {
        (r.offset2, r.number2, r.timeout2, r.increment2) = (Some(o), Some(n), Some(t), Some(i));
    }
    if let Some((o, n, t, i)) = block(2) {
        (r.offset3, r.number3, r.timeout3, r.increment3) = (Some(o), Some(n), Some(t), Some(i));
    }
    if let Some((o, n, t, i)) = block(3) {
        (r.offset4, r.number4, r.timeout4, r.increment4) = (Some(o), Some(n), Some(t), Some(i));
    }
    Ok(())
}

/// Type 21: aid-to-navigation report; names longer than 20 characters
/// continue in an extension after bit 272.
fn aid_to_navigation(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(272)?;
    r.aid_type = Some(f.u8(38, 5)?);
    let mut name = f.text(43, 120)?;
    name.push_str(&f.text_to_end(272));
    r.name = Some(name);
    r.accuracy = Some(f.flag(163)?);
    r.lon = Some(f.deg_10000(164, 28)?);
    r.lat = Some(f.deg_10000(192, 27)?);
    dimensions(f, r, 219)?;
    r.epfd = Some(f.u8(249, 4)?);
    r.second = Some(f.u8(253, 6)?);
    r.off_position = Some(f.flag(259)?);
    r.regional = Some(f.u8(260, 8)?);
    r.raim = Some(f.flag(268)?);
    r.virtual_aid = Some(f.flag(269)?);
    r.assigned = Some(f.flag(270)?);
    Ok(())
}

/// Type 22: channel management, either for an area or for two stations.
fn channel_management(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(145)?;
    r.channel_a = Some(f.u16(40, 12)?);
    r.channel_b = Some(f.u16(52, 12)?);
    r.txrx = Some(f.u8(64, 4)?);
    r.power = Some(f.flag(68)?);
    let addressed = f.flag(139)?;
    if addressed {
        r.dest1 = Some(f.u(69, 30)?);
        r.dest2 = Some(f.u(104, 30)?);
    } else {
        r.ne_lon = Some(f.deg_10(69, 18)?);
        r.ne_lat = Some(f.deg_10(87, 17)?);
        r.sw_lon = Some(f.deg_10(104, 18)?);
        r.sw_lat = Some(f.deg_10(122, 17)?);
    }
    r.addressed = Some(addressed);
    r.band_a = Some(f.flag(140)?);
    r.band_b = Some(f.flag(141)?);
    r.zonesize = Some(f.u8(142, 3)?);
    Ok(())
}

/// Type 23: group assignment command.
fn group_assignment(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(154)?;
    r.ne_lon = Some(f.deg_10(40, 18)?);
    r.ne_lat = Some(f.deg_10(58, 17)?);
    r.sw_lon = Some(f.deg_10(75, 18)?);
    r.sw_lat = Some(f.deg_10(93, 17)?);
    r.stationtype = Some(f.u8(110, 4)?);
    r.shiptype = Some(f.u8(114, 8)?);
    r.txrx = Some(f.u8(144, 2)?);
    r.interval = Some(f.u8(146, 4)?);
    r.quiet = Some(f.u8(150, 4)?);
    Ok(())
}

/// Type 24: class B static data, part A (name) or part B (type, vendor,
/// call sign, dimensions or mothership).
fn static_data(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(40)?;
    let partno = f.u8(38, 2)?;
    r.partno = Some(partno);
    match partno {
        0 => {
            f.require(160)?;
            r.shipname = Some(f.text(40, 120)?);
        }
        1 => {
            f.require(162)?;
            r.shiptype = Some(f.u8(40, 8)?);
            // The 42-bit vendor id is 3 characters of manufacturer then a
            // 4-bit model and 20-bit serial; gpsd shows all 7 characters
            // and also the two numbers, so do we.
            r.vendorid = Some(f.text(48, 42)?);
            r.model = Some(f.u8(66, 4)?);
            r.serial = Some(f.u(70, 20)?);
            r.callsign = Some(f.text(90, 42)?);
            // Auxiliary craft (MMSI 98MIDxxxx) carry their mothership's
            // MMSI where other stations carry their dimensions.
            if r.mmsi / 10_000_000 == 98 {
                r.mothership_mmsi = Some(f.u(132, 30)?);
            } else {
                dimensions(f, r, 132)?;
            }
        }
        _ => {
            return Err(DecodeError::Invalid {
                msg_type: 24,
                reason: "part number 2 or 3 is reserved (only 0 = A and 1 = B exist)",
            });
        }
    }
    Ok(())
}

/// Types 25 and 26: single/multiple slot binary messages. Type 26 ends with
/// a 20-bit radio status that is not part of the data.
fn binary_slot(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(40)?;
    let addressed = f.flag(38)?;
    let structured = f.flag(39)?;
    let mut pos = 40;
    if addressed {
        r.dest_mmsi = Some(f.u(pos, 30)?);
        pos += 30;
    }
    if structured {
        r.app_id = Some(f.u16(pos, 16)?);
        pos += 16;
    }
    let end = if f.msg_type == 26 {
        let end = f.bits.len().saturating_sub(20);
        if end < pos {
            return Err(f.too_short(pos + 20));
        }
        r.radio = Some(f.u(end, 20)?);
        end
    } else {
        f.bits.len()
    };
    r.addressed = Some(addressed);
    r.structured = Some(structured);
    r.data = Some(f.bits.hex_range(pos, end));
    Ok(())
}

/// Type 27: long-range broadcast; position in 1/10 minute, speed in whole
/// knots (63 = n/a), course in whole degrees (511 = n/a).
fn long_range(f: &Fields, r: &mut Report) -> Result<(), DecodeError> {
    f.require(95)?;
    r.accuracy = Some(f.flag(38)?);
    r.raim = Some(f.flag(39)?);
    r.status = Some(f.u8(40, 4)?);
    r.lon = Some(f.deg_10(44, 18)?);
    r.lat = Some(f.deg_10(62, 17)?);
    r.speed = Some(f64::from(f.u(79, 6)?));
    r.course = Some(f64::from(f.u(85, 9)?));
    r.gnss = Some(f.flag(94)?);
    Ok(())
}

/// Streaming front end: feeds text lines through [`parse_sentence`], a
/// [`Reassembler`] and [`decode_message`].
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    reassembler: Reassembler,
}

impl Decoder {
    /// A decoder with a default [`Reassembler`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder using the given reassembler (e.g. with other limits).
    pub fn with_reassembler(reassembler: Reassembler) -> Self {
        Self { reassembler }
    }

    /// The reassembler, to inspect `pending()` / `dropped()`.
    pub fn reassembler(&self) -> &Reassembler {
        &self.reassembler
    }

    /// Feeds one line. `None` for blank lines, `#` comments and fragments
    /// that wait for the rest of their message; otherwise the decoded report
    /// or the reason the line (or the message it completed) was rejected.
    pub fn push_line(&mut self, line: &str) -> Option<Result<Report, DecodeError>> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let sentence = match parse_sentence(line) {
            Ok(sentence) => sentence,
            Err(e) => return Some(Err(e)),
        };
        match self.reassembler.push(sentence) {
            Ok(Some(message)) => Some(decode_message(&message)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Decodes a block of text, one sentence per line, through one
/// [`Decoder`]. Results come in the order messages complete; blank lines,
/// comments and waiting fragments produce nothing.
pub fn decode_lines(text: &str) -> Vec<Result<Report, DecodeError>> {
    let mut decoder = Decoder::new();
    text.lines()
        .filter_map(|line| decoder.push_line(line))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// Arms 6-bit values back into payload characters (test helper).
    fn armor(values: &[u8]) -> String {
        values
            .iter()
            .map(|&v| {
                let c = if v < 40 { v + b'0' } else { v + b'0' + 8 };
                char::from(c)
            })
            .collect()
    }

    #[test]
    fn dearmor_covers_the_alphabet_and_nothing_else() {
        for v in 0..64u8 {
            let c = armor(&[v]).chars().next().unwrap();
            assert_eq!(dearmor(c), Some(v), "{c:?}");
        }
        for c in ['X', '_', '^', 'x', 'z', ' ', ',', '*', '!', 'é', '\0'] {
            assert_eq!(dearmor(c), None, "{c:?}");
        }
    }

    #[test]
    fn sixbit_text_maps_and_trims() {
        // "AB C" followed by '@' padding and spaces.
        let values = [1, 2, 32, 3, 0, 0, 32, 0];
        let bits = BitVec::from_armored(&armor(&values), 0).unwrap();
        assert_eq!(bits.text(0, 48).unwrap(), "AB C");
        // Digits and punctuation are in the upper half of the table.
        let bits = BitVec::from_armored(&armor(&[48, 57, 46, 45, 63]), 0).unwrap();
        assert_eq!(bits.text(0, 30).unwrap(), "09.-?");
        // All padding is the empty string.
        let bits = BitVec::from_armored(&armor(&[0, 0, 0]), 0).unwrap();
        assert_eq!(bits.text(0, 18).unwrap(), "");
        // Text ends at the first '@': what follows is not part of it.
        let bits = BitVec::from_armored(&armor(&[1, 0, 63, 2]), 0).unwrap();
        assert_eq!(bits.text(0, 24).unwrap(), "A");
        // Spaces before the padding are trimmed too.
        let bits = BitVec::from_armored(&armor(&[1, 32, 32, 0]), 0).unwrap();
        assert_eq!(bits.text(0, 24).unwrap(), "A");
        // Past the end there is no text.
        assert_eq!(bits.text(6, 24), None);
    }

    #[test]
    fn signed_fields_are_twos_complement() {
        // 12 bits: 0b1111_1111_1111 = -1, 0b1000_0000_0000 = -2048,
        // 0b0111_1111_1111 = 2047.
        let bits = BitVec::from_armored(&armor(&[63, 63, 32, 0, 31, 63]), 0).unwrap();
        assert_eq!(bits.signed(0, 12), Some(-1));
        assert_eq!(bits.signed(12, 12), Some(-2048));
        assert_eq!(bits.signed(24, 12), Some(2047));
        assert_eq!(bits.unsigned(0, 12), Some(4095));
        assert_eq!(bits.signed(0, 1), Some(-1));
        assert_eq!(bits.signed(0, 0), Some(0));
        assert_eq!(bits.signed(30, 7), None);
        // A full 36-bit read and the 64-bit limit.
        assert_eq!(bits.unsigned(0, 36), Some(0xFFF_800_7FF));
        assert_eq!(bits.unsigned(0, 65), None);
    }

    #[test]
    fn fill_bits_shorten_the_vector() {
        let bits = BitVec::from_armored("w", 2).unwrap();
        assert_eq!(bits.len(), 4);
        assert_eq!(bits.unsigned(0, 4), Some(15));
        assert_eq!(bits.unsigned(0, 5), None);
        let bits = BitVec::from_armored("", 5).unwrap();
        assert!(bits.is_empty());
    }

    #[test]
    fn hex_data_pads_the_last_byte() {
        let bits = BitVec::from_armored(&armor(&[63, 0]), 0).unwrap();
        assert_eq!(bits.hex_from(0), "12:fc00");
        assert_eq!(bits.hex_from(4), "8:c0");
        // A range ending mid-byte keeps the following payload bits.
        assert_eq!(bits.hex_range(0, 4), "4:fc");
        assert_eq!(bits.hex_range(4, 6), "2:c0");
        assert_eq!(bits.hex_from(12), "0:");
        assert_eq!(bits.hex_from(99), "0:");
    }

    #[test]
    fn turn_text_matches_gpsd() {
        assert_eq!(turn_text(-128), "n/a");
        assert_eq!(turn_text(127), "fastright");
        assert_eq!(turn_text(-127), "fastleft");
        assert_eq!(turn_text(0), "0.00");
        assert_eq!(turn_text(-4), "-0.71");
        assert_eq!(turn_text(126), "708.71");
    }

    #[test]
    fn parses_a_sentence_with_tag_block_and_trailer() {
        let s = parse_sentence("\\g:2-2-27300,n:636995*15\\!SAVDM,2,2,2,B,iP`88888880,2*5E,extra")
            .unwrap();
        assert_eq!(s.talker, "SA");
        assert_eq!((s.fragment_count, s.fragment_number), (2, 2));
        assert_eq!(s.sequence_id, Some(2));
        assert_eq!(s.channel, Some('B'));
        assert_eq!(s.fill_bits, 2);
        assert_eq!(s.tag_block.unwrap().raw, "g:2-2-27300,n:636995");
    }

    #[test]
    fn sentence_errors_are_specific() {
        let good = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A";
        assert!(parse_sentence(good).is_ok());
        assert_eq!(
            parse_sentence("!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B"),
            Err(DecodeError::BadChecksum {
                expected: 0x4A,
                found: 0x4B
            })
        );
        assert!(matches!(
            parse_sentence("!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0"),
            Err(DecodeError::MissingChecksum)
        ));
        assert!(matches!(
            parse_sentence("$GPGGA,1,2*00"),
            Err(DecodeError::NotAis { .. })
        ));
        assert!(matches!(
            parse_sentence("!QQVDM,1,1,,A,1,0*7E"),
            Err(DecodeError::UnknownTalker { .. }) | Err(DecodeError::BadChecksum { .. })
        ));
        assert!(matches!(
            parse_sentence("AIVDM,2,2,1,B,00000000000,2*26"),
            Err(DecodeError::NotNmea { .. })
        ));
    }

    #[test]
    fn unknown_talker_with_valid_checksum() {
        let body = "QQVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0";
        let line = format!("!{body}*{:02X}", xor_checksum(body));
        assert_eq!(
            parse_sentence(&line),
            Err(DecodeError::UnknownTalker {
                talker: "QQ".into()
            })
        );
    }

    #[test]
    fn bad_armoring_is_reported_with_position() {
        let body = "AIVDM,1,1,,A,15RT{t0P,0";
        let line = format!("!{body}*{:02X}", xor_checksum(body));
        assert_eq!(
            parse_sentence(&line),
            Err(DecodeError::BadArmoring {
                character: '{',
                position: 4
            })
        );
    }

    #[test]
    fn short_payload_names_the_type() {
        let err = decode_payload("15RTgt0PAso;90TK", 0).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::PayloadTooShort {
                msg_type: 1,
                bits: 96,
                needed: 149
            }
        ));
        assert!(err.to_string().contains("type 1"));
    }

    #[test]
    fn undefined_types_are_rejected_with_their_mmsi() {
        // Type 28 ('L'), repeat 0, then some bits.
        let err = decode_payload("L5RTgt0PAso;90TK", 0).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::UnsupportedType {
                msg_type: 28,
                mmsi: Some(_),
                ..
            }
        ));
    }
}
