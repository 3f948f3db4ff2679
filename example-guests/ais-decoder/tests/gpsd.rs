//! Compares the decoder with gpsd's expected output and throws real-world and
//! hostile input at it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ais_decoder::decode::{
    DecodeError, Decoder, HARD_MAX_PARTIALS, MAX_LINE_LEN, Reassembler, Report, SUPPORTED_TYPES,
    Sentence, decode_lines, decode_payload, parse_sentence,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const PAIRED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/standards/ais/gpsd/sample.aivdm.paired.jsonl"
);

/// The other data files sit next to the paired file.
fn data_file(relative: &str) -> String {
    let ais_dir = PAIRED
        .strip_suffix("gpsd/sample.aivdm.paired.jsonl")
        .unwrap();
    let path = format!("{ais_dir}{relative}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Messages per type in the paired file whose gpsd decode is not null. If a
/// type stops being compared (or is compared for fewer messages) the test
/// fails here.
const EXPECTED_COUNTS: &[(u8, usize)] = &[
    (1, 4),
    (2, 1),
    (3, 1),
    (4, 4),
    (5, 3),
    (6, 13),
    (7, 3),
    (8, 18),
    (9, 2),
    (10, 2),
    (11, 1),
    (12, 7),
    (13, 1),
    (14, 3),
    (15, 3),
    (16, 2),
    (17, 2),
    (18, 3),
    (19, 1),
    (20, 5),
    (21, 2),
    (22, 3),
    (23, 1),
    (24, 2),
    (25, 3),
    (26, 5),
    (27, 2),
];

/// Types whose own layout carries a position (as opposed to 6/8, where gpsd
/// may find one inside an application payload we do not interpret).
const POSITION_TYPES: &[u8] = &[1, 2, 3, 4, 9, 11, 17, 18, 19, 21, 27];

/// Fields that must be present in our report whenever gpsd has them.
const MUST_MATCH_IF_PRESENT: &[&str] = &[
    "speed",
    "course",
    "heading",
    "shipname",
    "callsign",
    "destination",
];

/// Allowed difference for a numeric field: gpsd prints lat/lon with 7
/// decimals (1e-6 is then safe), type 27 with 4 and type 17 with 1; the
/// corners of 22/23 with 6. Everything else is printed exactly.
fn tolerance(msg_type: u8, key: &str) -> f64 {
    match (msg_type, key) {
        (27, "lat" | "lon") => 0.5e-4 + 1e-9,
        (17, "lat" | "lon") => 0.05 + 1e-9,
        (_, "lat" | "lon" | "ne_lat" | "ne_lon" | "sw_lat" | "sw_lon") => 1e-6,
        _ => 1e-9,
    }
}

/// Feeds the sentences of one message through a fresh decoder and expects
/// exactly one result.
fn decode_message_lines(sentences: &[Value]) -> Result<Report, DecodeError> {
    let mut decoder = Decoder::new();
    let mut results: Vec<_> = sentences
        .iter()
        .filter_map(|s| decoder.push_line(s.as_str().unwrap()))
        .collect();
    assert_eq!(results.len(), 1, "one result expected for {sentences:?}");
    results.pop().unwrap()
}

/// Fields where we knowingly differ from gpsd, with the reason. They are
/// not compared (and listed in the test output).
const KNOWN_DIFFERENCES: &[(u8, &str, &str)] = &[(
    26,
    "radio",
    "gpsd prints 0 for every type 26; we return the trailing 20-bit \
     communication state (selector flag + state) of ITU-R M.1371-5 msg 26",
)];

/// Compares every field our report shares with gpsd's; returns how many
/// were compared and pushes a description of each mismatch.
fn compare(
    line: u64,
    msg_type: u8,
    ours: &Map<String, Value>,
    gpsd: &Map<String, Value>,
    mismatches: &mut Vec<String>,
) -> usize {
    let mut compared = 0;
    for (key, mine) in ours {
        let Some(theirs) = gpsd.get(key) else {
            continue;
        };
        if KNOWN_DIFFERENCES
            .iter()
            .any(|(t, k, _)| *t == msg_type && k == key)
        {
            continue;
        }
        compared += 1;
        let same = match (mine, theirs) {
            (Value::Number(a), Value::Number(b)) => {
                let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                (a - b).abs() <= tolerance(msg_type, key)
            }
            // gpsd prints the corners of types 22/23 as quoted decimals.
            (Value::Number(a), Value::String(b)) => b
                .parse::<f64>()
                .is_ok_and(|b| (a.as_f64().unwrap() - b).abs() <= tolerance(msg_type, key)),
            _ => mine == theirs,
        };
        if !same {
            mismatches.push(format!(
                "line {line}, type {msg_type}, {key}: ours {mine}, gpsd {theirs}"
            ));
        }
    }
    compared
}

#[test]
fn matches_gpsd_for_every_supported_message() {
    let text = std::fs::read_to_string(PAIRED).unwrap();
    let mut counts: BTreeMap<u8, usize> = BTreeMap::new();
    let mut fields_compared: BTreeMap<u8, usize> = BTreeMap::new();
    let mut not_emitted: BTreeMap<u8, std::collections::BTreeSet<String>> = BTreeMap::new();
    let mut unpaired = 0;
    let mut mismatches = Vec::new();

    for record in text.lines() {
        let record: Value = serde_json::from_str(record).unwrap();
        let line = record["line"].as_u64().unwrap();
        let report = decode_message_lines(record["sentences"].as_array().unwrap())
            .unwrap_or_else(|e| panic!("line {line}: {e}"));
        let ours = serde_json::to_value(&report).unwrap();
        let ours = ours.as_object().unwrap();

        let Some(gpsd) = record["gpsd"].as_object() else {
            // gpsd drops type 24 halves it cannot pair; we still decode them.
            assert_eq!(
                report.msg_type, 24,
                "line {line}: only type 24 may be unpaired"
            );
            unpaired += 1;
            continue;
        };
        let msg_type = u8::try_from(gpsd["type"].as_u64().unwrap()).unwrap();
        assert!(
            SUPPORTED_TYPES.contains(&msg_type),
            "line {line}: gpsd decoded type {msg_type} which we do not claim"
        );

        assert_eq!(ours["type"], gpsd["type"], "line {line}: type");
        assert_eq!(ours["mmsi"], gpsd["mmsi"], "line {line}: mmsi");
        assert_eq!(ours["repeat"], gpsd["repeat"], "line {line}: repeat");
        if POSITION_TYPES.contains(&msg_type) {
            for key in ["lat", "lon"] {
                assert!(ours.contains_key(key), "line {line}: no {key}");
                assert!(gpsd.contains_key(key), "line {line}: gpsd has no {key}");
            }
        }
        for key in MUST_MATCH_IF_PRESENT {
            let required = match msg_type {
                // Application payloads of 6/8 are not interpreted here.
                6 | 8 => false,
                // gpsd merges parts A and B; each of our reports is one part.
                24 => match report.partno {
                    Some(0) => *key == "shipname",
                    _ => *key == "callsign",
                },
                _ => true,
            };
            if required && gpsd.contains_key(*key) {
                assert!(ours.contains_key(*key), "line {line}: missing {key}");
            }
        }

        *fields_compared.entry(msg_type).or_default() +=
            compare(line, msg_type, ours, gpsd, &mut mismatches);
        *counts.entry(msg_type).or_default() += 1;
        for key in gpsd.keys() {
            if !ours.contains_key(key) {
                not_emitted.entry(msg_type).or_default().insert(key.clone());
            }
        }
    }

    println!("type: messages compared (fields compared) / gpsd fields we do not emit");
    for (msg_type, n) in &counts {
        let missing: Vec<_> = not_emitted
            .get(msg_type)
            .map(|s| s.iter().map(String::as_str).collect())
            .unwrap_or_default();
        println!(
            "  {msg_type:>2}: {n:>2} ({:>3}) / {}",
            fields_compared[msg_type],
            missing.join(" ")
        );
    }
    println!("  unpaired type 24 halves decoded: {unpaired}");
    for (msg_type, key, reason) in KNOWN_DIFFERENCES {
        println!("  not compared: type {msg_type} {key}: {reason}");
    }
    assert!(
        mismatches.is_empty(),
        "mismatches with gpsd:\n{}",
        mismatches.join("\n")
    );

    let expected: BTreeMap<u8, usize> = EXPECTED_COUNTS.iter().copied().collect();
    assert_eq!(counts, expected);
    for msg_type in SUPPORTED_TYPES {
        assert!(
            counts.get(msg_type).copied().unwrap_or(0) > 0,
            "type {msg_type} never compared"
        );
    }
    assert_eq!(unpaired, 5);
}

#[test]
fn pyais_sample_goes_through() {
    let text = data_file("pyais/nmea_data_sample.txt");
    let results = decode_lines(&text);
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let empty = results
        .iter()
        .filter(|r| matches!(r, Err(DecodeError::EmptyPayload)))
        .count();
    let other: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| !matches!(e, DecodeError::EmptyPayload))
        .collect();
    println!("nmea_data_sample: {ok} decoded, {empty} empty payloads, other errors {other:?}");
    assert!(other.is_empty(), "{other:?}");
    // 898 lines: 20 are first halves of type 5 whose second halves are not
    // in the file (they stay pending, then are dropped), the rest decode or
    // are empty payloads.
    assert_eq!(ok + empty + 20, text.lines().count());
    assert_eq!((ok, empty), (778, 100));

    // Line by line as well, each on its own: never a panic.
    for line in text.lines() {
        if let Ok(sentence) = parse_sentence(line) {
            let _ = decode_payload(&sentence.payload, sentence.fill_bits);
        }
    }
}

#[test]
fn mixed_input_gives_reports_and_typed_errors() {
    let text = data_file("pyais/mixed.txt");
    let mut decoder = Decoder::new();
    let mut ok = 0;
    let mut not_ais = 0;
    let mut other = Vec::new();
    for line in text.lines() {
        match decoder.push_line(line) {
            Some(Ok(report)) => {
                assert!(report.mmsi > 0);
                ok += 1;
            }
            Some(Err(DecodeError::NotAis { header })) => {
                assert!(
                    header.starts_with("GP")
                        || header.starts_with("II")
                        || header.starts_with("PGHP")
                );
                not_ais += 1;
            }
            Some(Err(e)) => other.push(e.to_string()),
            None => {}
        }
    }
    println!("mixed.txt: {ok} reports, {not_ais} non-AIS sentences, errors: {other:#?}");
    // 8 plain single-fragment AIS lines, the 2-fragment type 5 and the
    // 2-fragment SAVDM type 5 behind valid tag blocks.
    assert_eq!(ok, 10);
    // $GPGGA, $GPRTE, $GPR00, $IIMWV and two $PGHP.
    assert_eq!(not_ais, 6);
    // "foobar", "IamNotAnAisMessage1111" and three tag blocks whose
    // checksum is the invalid one-digit "*A".
    assert_eq!(other.len(), 5, "{other:#?}");
}

#[test]
fn gpsd_sample_file_decodes_in_one_stream() {
    let text = data_file("gpsd/sample.aivdm");
    let results = decode_lines(&text);
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    println!("sample.aivdm: {ok} reports, errors: {errors:?}");
    // Every paired message (97 gpsd decodes + 5 type 24 halves gpsd drops).
    assert_eq!(ok, 102);
    // The one deliberately invalid line lacks its leading '!'.
    assert!(matches!(errors.as_slice(), [DecodeError::NotNmea { .. }]));
}

#[test]
fn bad_checksums_and_garbage_are_errors() {
    let cases = [
        "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B",
        "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*",
        "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*+A",
        "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*G1",
        "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0",
        "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4",
        "!AIVDM",
        "!",
        "!*",
        "!,,,,,,*00",
        "!AIVDM,1,1,,A,,0*",
        "AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
        "$GPGGA,184353.07,1929.045,S,02410.506,E,1,04,2.6,100.00,M,-33.9,M,,0000*6D",
        "\\",
        "\\*\\",
        "\\s:x*00\\!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
        "\\c:12ab*00\\!AIVDM",
        "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0,9*4A",
        "!AIVDM,1,1,,A,ä,0*00",
        "\u{0}\u{1}\u{ff}",
        "garbage",
        "!AIVDM,0,1,,A,1,0*00",
        "!AIVDM,10,1,,A,1,0*00",
    ];
    for case in cases {
        let result = parse_sentence(case);
        assert!(result.is_err(), "{case:?} parsed as {result:?}");
        let message = result.unwrap_err().to_string();
        assert!(!message.is_empty());
    }
    assert_eq!(
        parse_sentence("!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B"),
        Err(DecodeError::BadChecksum {
            expected: 0x4A,
            found: 0x4B
        })
    );
    let long = format!("!AIVDM,1,1,,A,{},0*00", "1".repeat(MAX_LINE_LEN));
    assert!(matches!(
        parse_sentence(&long),
        Err(DecodeError::LineTooLong { .. })
    ));
    // Error texts are meant for people.
    let text = DecodeError::BadChecksum {
        expected: 0x4A,
        found: 0x4B,
    }
    .to_string();
    assert!(text.contains("4A") && text.contains("4B"), "{text}");
}

/// Small deterministic generator so the fuzz-style tests are reproducible.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn with_checksum(body: &str) -> String {
    let sum = body.bytes().fold(0u8, |a, b| a ^ b);
    format!("!{body}*{sum:02X}")
}

#[test]
fn random_and_mutated_input_never_panics() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let alphabet: Vec<char> = "!$\\*,:0123456789ABCDEFVMOW`abcdw@;<>?~é\u{0}\r\n"
        .chars()
        .collect();
    let seeds: Vec<String> = data_file("gpsd/sample.aivdm")
        .lines()
        .filter(|l| l.starts_with('!'))
        .map(str::to_string)
        .collect();
    let mut decoder = Decoder::new();
    for round in 0..20_000 {
        let line: String = if round % 2 == 0 {
            (0..rng.below(120))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect()
        } else {
            // Mutate a real sentence and fix the checksum so that the
            // mutation reaches the decoder instead of the checksum check.
            let seed = &seeds[rng.below(seeds.len())];
            let body = seed
                .strip_prefix('!')
                .and_then(|s| s.split_once('*'))
                .map(|(b, _)| b)
                .unwrap();
            let mut chars: Vec<char> = body.chars().collect();
            for _ in 0..1 + rng.below(3) {
                match rng.below(3) {
                    0 if !chars.is_empty() => {
                        let i = rng.below(chars.len());
                        chars[i] = alphabet[rng.below(alphabet.len())];
                    }
                    1 if !chars.is_empty() => {
                        chars.truncate(rng.below(chars.len()));
                    }
                    _ => chars.insert(
                        rng.below(chars.len() + 1),
                        alphabet[rng.below(alphabet.len())],
                    ),
                }
            }
            with_checksum(&chars.into_iter().collect::<String>())
        };
        let _ = decoder.push_line(&line);
    }

    // Every message type with every payload length up to 100 characters.
    for msg_type in 0..64u8 {
        for len in 0..100 {
            let mut payload = String::new();
            let first = if msg_type < 40 {
                msg_type + b'0'
            } else {
                msg_type + b'8'
            };
            payload.push(char::from(first));
            for _ in 0..len {
                let v = rng.below(64) as u8;
                payload.push(char::from(if v < 40 { v + b'0' } else { v + b'8' }));
            }
            for fill in 0..=5 {
                match decode_payload(&payload, fill) {
                    Ok(report) => assert_eq!(report.msg_type, msg_type),
                    Err(e) => assert!(!e.to_string().is_empty()),
                }
            }
        }
    }
}

#[test]
fn orphan_and_out_of_order_fragments_are_dropped() {
    let first = "!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C";
    let second = "!AIVDM,2,2,1,A,88888888880,2*25";
    let mut decoder = Decoder::new();

    // A second fragment with nothing before it.
    assert!(matches!(
        decoder.push_line(second),
        Some(Err(DecodeError::OrphanFragment {
            number: 2,
            count: 2,
            sequence_id: Some(1),
            channel: Some('A')
        }))
    ));
    assert_eq!(decoder.reassembler().pending(), 0);

    // The real pair still works afterwards.
    assert!(decoder.push_line(first).is_none());
    assert_eq!(decoder.reassembler().pending(), 1);
    let report = decoder.push_line(second).unwrap().unwrap();
    assert_eq!((report.msg_type, report.mmsi), (5, 351_759_000));
    assert_eq!(report.shipname.as_deref(), Some("EVER DIADEM"));
    assert_eq!(decoder.reassembler().pending(), 0);

    // Interleaved: two messages on different sequence ids.
    let a1 = "!AIVDM,2,1,6,B,542M92h00001@<7;?G0PD4i@R0<tqA8tj37>220o0h:2240Ht50000000000,0*3B";
    let a2 = "!AIVDM,2,2,6,B,00000000000,2*21";
    let b1 = "!AIVDM,2,1,2,A,542M92h00001@<7;?G0PD4i@R0<tqA8tj37>220o0h:2240Ht500000000000000,0*3C";
    let b2 = "!AIVDM,2,2,2,A,0000002,2*24";
    let results = decode_lines(&[a1, b1, a2, b2].join("\n"));
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r.unwrap().callsign.as_deref(), Some("TCA2350"));
    }

    // Out of order: fragment 3 of 3 right after fragment 1.
    let mut reassembler = Reassembler::new();
    let frag = |number: u8| Sentence {
        talker: "AI".into(),
        own_ship: false,
        fragment_count: 3,
        fragment_number: number,
        sequence_id: Some(7),
        channel: Some('A'),
        payload: "85Mwp".into(),
        fill_bits: 0,
        tag_block: None,
    };
    assert_eq!(reassembler.push(frag(1)), Ok(None));
    assert_eq!(
        reassembler.push(frag(3)),
        Err(DecodeError::FragmentOutOfOrder {
            expected: 2,
            found: 3,
            count: 3
        })
    );
    assert_eq!(reassembler.pending(), 0);
    assert!(matches!(
        reassembler.push(frag(2)),
        Err(DecodeError::OrphanFragment { .. })
    ));

    // Hand-built sentences cannot bypass the checks parse_sentence makes.
    assert!(matches!(
        reassembler.push(frag(0)),
        Err(DecodeError::FragmentNumberOutOfRange {
            number: 0,
            count: 3
        })
    ));
    let mut huge = frag(1);
    huge.payload = "0".repeat(100_000);
    assert!(matches!(
        reassembler.push(huge),
        Err(DecodeError::PayloadTooLong { .. })
    ));
    assert_eq!(reassembler.pending(), 0);
}

/// A first fragment for key number `i` (distinct for i < 11 * 63 * 8).
fn first_fragment(i: usize) -> Sentence {
    let channels: Vec<char> = ('A'..='Z').chain('a'..='z').chain('0'..='9').collect();
    let channel = i % (channels.len() + 1);
    let rest = i / (channels.len() + 1);
    let seq = rest % 11;
    let count = 2 + (rest / 11) % 8;
    Sentence {
        talker: "AI".into(),
        own_ship: false,
        fragment_count: count as u8,
        fragment_number: 1,
        sequence_id: (seq < 10).then_some(seq as u8),
        channel: channels.get(channel).copied(),
        payload: "55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8".into(),
        fill_bits: 0,
        tag_block: None,
    }
}

#[test]
fn reassembler_bound_holds_with_thousands_of_partials() {
    let distinct = 11 * 63 * 8;
    let mut reassembler = Reassembler::with_limits(64, u64::MAX);
    for i in 0..distinct {
        assert_eq!(reassembler.push(first_fragment(i)), Ok(None));
        assert!(reassembler.pending() <= 64);
    }
    assert_eq!(reassembler.pending(), 64);
    assert_eq!(reassembler.dropped(), (distinct - 64) as u64);

    // Even an absurd limit is capped.
    let mut reassembler = Reassembler::with_limits(usize::MAX, u64::MAX);
    for i in 0..distinct {
        let _ = reassembler.push(first_fragment(i));
    }
    assert_eq!(reassembler.pending(), HARD_MAX_PARTIALS.min(distinct));

    // The default decoder stays bounded on the same flood.
    let mut default = Reassembler::default();
    for round in 0..3 {
        for i in 0..distinct {
            let _ = default.push(first_fragment(i + round));
        }
    }
    assert!(default.pending() <= ais_decoder::decode::DEFAULT_MAX_PARTIALS);
}

#[test]
fn stale_partials_expire() {
    let mut reassembler = Reassembler::with_limits(16, 10);
    assert_eq!(reassembler.push(first_fragment(0)), Ok(None));
    let single = parse_sentence("!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A").unwrap();
    for _ in 0..11 {
        assert!(reassembler.push(single.clone()).unwrap().is_some());
    }
    assert_eq!(reassembler.pending(), 0);
    assert_eq!(reassembler.dropped(), 1);
    let mut second = first_fragment(0);
    second.fragment_number = 2;
    assert!(matches!(
        reassembler.push(second),
        Err(DecodeError::OrphanFragment { .. })
    ));
}

#[test]
fn report_json_uses_gpsd_names() {
    let results = decode_lines("!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n");
    let report = results[0].as_ref().unwrap();
    let json = serde_json::to_value(report).unwrap();
    assert_eq!(json["type"], 1);
    assert_eq!(json["turn"], "fastleft");
    assert_eq!(json["heading"], 215);
    assert!(json.get("shipname").is_none(), "absent fields are omitted");
}
