//! Validates alerts written by `airlock_sdk::cap` against the official OASIS CAP 1.2
//! XSD with xmllint, and proves the harness rejects broken documents.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use airlock_sdk::cap::{
    Alert, Area, Category, Certainty, Info, MsgType, Reference, Resource, ResponseType, Scope,
    Severity, Status, Urgency,
};
use airlock_sdk::time::Timestamp;

const CAP_XSD: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/standards/cap1.2/schema/CAP-v1.2.xsd"
);

/// What xmllint said about one document.
struct Verdict {
    valid: bool,
    stderr: String,
}

/// Runs `xmllint --noout --nonet --schema CAP_XSD file`. Never skips: a missing
/// xmllint or XSD fails the test, so the suite cannot pass without validating.
fn xmllint(file: &Path) -> Verdict {
    assert!(
        Path::new(CAP_XSD).is_file(),
        "CAP 1.2 XSD not found at {CAP_XSD}"
    );
    let output = match Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", CAP_XSD])
        .arg(file)
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!(
            "cannot run xmllint ({e}); these tests need it: install it with \
             `apt-get install libxml2-utils`"
        ),
    };
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    Verdict {
        valid: output.status.success(),
        stderr,
    }
}

fn write_temp(name: &str, xml: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cap_xsd_{name}.xml"));
    std::fs::write(&path, xml).unwrap();
    path
}

/// Writes the alert compact and pretty, and requires xmllint to accept both.
fn assert_schema_valid(name: &str, alert: &Alert) -> String {
    let compact = alert.to_xml().unwrap_or_else(|e| panic!("{name}: {e}"));
    let pretty = alert
        .to_xml_pretty()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    for (variant, xml) in [("compact", &compact), ("pretty", &pretty)] {
        let path = write_temp(&format!("{name}_{variant}"), xml);
        let verdict = xmllint(&path);
        assert!(
            verdict.valid,
            "{name} ({variant}) is not CAP 1.2 valid:\n{}\n{xml}",
            verdict.stderr
        );
    }
    compact
}

/// Reads one element's text back through libxml2, to prove escaping round-trips.
fn xpath_text(file: &Path, element: &str) -> String {
    let output = Command::new("xmllint")
        .arg("--xpath")
        .arg(format!("string(//*[local-name()='{element}'])"))
        .arg(file)
        .output()
        .expect("xmllint runs (apt-get install libxml2-utils)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    // xmllint ends the printed string with one newline of its own.
    match text.strip_suffix('\n') {
        Some(text) => text.to_string(),
        None => text,
    }
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse(text).unwrap()
}

fn thunderstorm_warning() -> Alert {
    Alert::new(
        "NWS-KSTO-2024-0617-001",
        "w-nws.webmaster@noaa.gov",
        at("2024-06-17T21:57:00Z"),
        Status::Actual,
        MsgType::Alert,
        Scope::Public,
    )
    .source("Doppler radar KDAX")
    .code("IPAWSv1.0")
    .info(
        Info::new(
            [Category::Met],
            "Severe Thunderstorm Warning",
            Urgency::Immediate,
            Severity::Severe,
            Certainty::Observed,
        )
        .language("en-US")
        .response_type(ResponseType::Shelter)
        .audience("General public")
        .event_code("SAME", "SVR")
        .event_code("NationalWeatherService", "SVW")
        .effective(at("2024-06-17T21:57:00Z"))
        .onset(at("2024-06-17T22:00:00Z"))
        .expires(at("2024-06-17T23:00:00Z"))
        .sender_name("National Weather Service Sacramento CA")
        .headline("Severe Thunderstorm Warning issued June 17 at 2:57PM PDT")
        .description(
            "At 254 PM PDT, Doppler radar indicated a severe thunderstorm over south central \
             Alpine County, moving southwest at 5 mph.\nHAZARD...60 mph wind gusts and \
             quarter size hail.",
        )
        .instruction("Take cover in a substantial shelter until the storm passes.")
        .web("https://www.weather.gov/sto/")
        .contact("NWS Sacramento, +1 916 979 3041")
        .parameter("maxWindGust", "60 mph")
        .parameter("maxHailSize", "1.00")
        .parameter("VTEC", "/O.NEW.KSTO.SV.W.0042.240617T2157Z-240617T2300Z/")
        .resource(
            Resource::new("Radar image", "image/png")
                .size(48_213)
                .uri("https://radar.weather.gov/ridge/standard/KDAX_loop.gif")
                .digest("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        )
        .area(
            Area::new("Alpine, CA; Calaveras, CA; Tuolumne, CA")
                .polygon(vec![
                    (38.47, -120.14),
                    (38.34, -119.95),
                    (38.52, -119.74),
                    (38.62, -119.89),
                ])
                .circle(38.47, -119.95, 12.5)
                .geocode("SAME", "006003")
                .geocode("SAME", "006009")
                .geocode("UGC", "CAC003")
                .altitude(0.0)
                .ceiling(45_000.0),
        ),
    )
}

#[test]
fn severe_thunderstorm_warning_is_schema_valid() {
    let xml = assert_schema_valid("thunderstorm", &thunderstorm_warning());
    assert!(
        xml.contains(
            "<polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>"
        ),
        "{xml}"
    );
}

#[test]
fn update_referencing_the_earlier_alert_is_schema_valid() {
    let earlier = thunderstorm_warning();
    let update = Alert::new(
        "NWS-KSTO-2024-0617-002",
        "w-nws.webmaster@noaa.gov",
        at("2024-06-17T22:30:00Z"),
        Status::Actual,
        MsgType::Update,
        Scope::Public,
    )
    .references([earlier.as_reference()])
    .incidents(["KSTO SV.W.0042", "storm-0617"])
    .info(
        Info::new(
            [Category::Met],
            "Severe Thunderstorm Warning",
            Urgency::Expected,
            Severity::Moderate,
            Certainty::Likely,
        )
        .headline("Severe Thunderstorm Warning remains in effect until 4:00PM PDT")
        .area(Area::new("Alpine, CA").geocode("SAME", "006003")),
    );
    let xml = assert_schema_valid("update", &update);
    assert!(
        xml.contains(
            "<references>w-nws.webmaster@noaa.gov,NWS-KSTO-2024-0617-001,2024-06-17T21:57:00+00:00</references>"
        ),
        "{xml}"
    );

    let cancel = Alert::new(
        "NWS-KSTO-2024-0617-003",
        "w-nws.webmaster@noaa.gov",
        at("2024-06-17T22:45:00Z"),
        Status::Actual,
        MsgType::Cancel,
        Scope::Public,
    )
    .note("The storm has weakened below severe limits.")
    .references([earlier.as_reference(), update.as_reference()]);
    assert_schema_valid("cancel", &cancel);

    // An acknowledgement of another agency's alert (the OASIS spec's example #2).
    let ack = Alert::new(
        "ACK-0001",
        "relay@airlock.example",
        at("2003-06-17T22:00:00Z"),
        Status::Actual,
        MsgType::Ack,
        Scope::Public,
    )
    .references([Reference::new(
        "KSTO@NWS.NOAA.GOV",
        "KSTO1055887203",
        at("2003-06-17T14:57:00-07:00"),
    )]);
    let xml = assert_schema_valid("ack", &ack);
    assert!(
        xml.contains(
            "<references>KSTO@NWS.NOAA.GOV,KSTO1055887203,2003-06-17T21:57:00+00:00</references>"
        ),
        "{xml}"
    );
}

#[test]
fn restricted_and_private_alerts_are_schema_valid() {
    let restricted = Alert::new(
        "CBRNE-DRILL-17",
        "ops@civil-protection.example",
        at("2024-03-01T08:00:00Z"),
        Status::Exercise,
        MsgType::Alert,
        Scope::Restricted,
    )
    .restriction("Emergency services and hospital incident commanders only")
    .note("Regional CBRNE exercise DRILL-17")
    .info(
        Info::new(
            [Category::Cbrne, Category::Health, Category::Rescue],
            "Chemical release (exercise)",
            Urgency::Immediate,
            Severity::Extreme,
            Certainty::Possible,
        )
        .response_type(ResponseType::Evacuate)
        .response_type(ResponseType::Assess)
        .area(Area::new("Industrial park north").circle(52.52, 13.405, 2.0)),
    );
    assert_schema_valid("restricted", &restricted);

    let private = Alert::new(
        "PRIV-0001",
        "dispatch@utility.example",
        at("2024-03-02T10:15:30Z"),
        Status::Actual,
        MsgType::Alert,
        Scope::Private,
    )
    .addresses(["grid-ops@utility.example", "Substation 7 Crew"])
    .info(
        Info::new(
            [Category::Infra],
            "Transformer overload",
            Urgency::Expected,
            Severity::Moderate,
            Certainty::Likely,
        )
        .response_type(ResponseType::Monitor),
    );
    let xml = assert_schema_valid("private", &private);
    assert!(
        xml.contains(
            "<addresses>grid-ops@utility.example &quot;Substation 7 Crew&quot;</addresses>"
        ),
        "{xml}"
    );
}

#[test]
fn alert_with_two_languages_is_schema_valid() {
    let area = || {
        Area::new("Montréal")
            .polygon([
                (45.41, -73.98),
                (45.70, -73.98),
                (45.70, -73.47),
                (45.41, -73.47),
            ])
            .geocode("profile:CAP-CP:Location:0.3", "2466")
    };
    let alert = Alert::new(
        "EC-MSC-2024-01-15-001",
        "cap-pac@canada.ca",
        at("2024-01-15T11:00:00Z"),
        Status::Actual,
        MsgType::Alert,
        Scope::Public,
    )
    .code("profile:CAP-CP:0.4")
    .info(
        Info::new(
            [Category::Met],
            "freezing rain",
            Urgency::Future,
            Severity::Moderate,
            Certainty::Likely,
        )
        .language("en-CA")
        .headline("Freezing rain warning in effect")
        .area(area()),
    )
    .info(
        Info::new(
            [Category::Met],
            "pluie verglaçante",
            Urgency::Future,
            Severity::Moderate,
            Certainty::Likely,
        )
        .language("fr-CA")
        .headline("Avertissement de pluie verglaçante en vigueur")
        .description("Prévoyez des routes glacées ; « soyez prudents ».")
        .area(area()),
    );
    let xml = assert_schema_valid("bilingual", &alert);
    assert_eq!(xml.matches("<info>").count(), 2);
}

#[test]
fn awkward_text_is_escaped_schema_valid_and_reads_back_unchanged() {
    let headline = "Flood & mudslide: levels <3 m> \"rising\" at O'Hare — Überflutung, 洪水 🌊";
    let description = "Line one\r\nLine two\twith tab & <b>not markup</b> ]]> 'quoted'";
    let alert = Alert::new(
        "ESC-TEST-1",
        "sender@example.org",
        at("2024-05-05T05:05:05Z"),
        Status::Test,
        MsgType::Alert,
        Scope::Public,
    )
    .source("Ops <night shift> & \"friends\"")
    .note("Ünïcödé note with 'apostrophes' & <angle brackets>")
    .info(
        Info::new(
            [Category::Geo, Category::Env],
            "Flood <test>",
            Urgency::Unknown,
            Severity::Unknown,
            Certainty::Unknown,
        )
        .headline(headline)
        .description(description)
        .web("https://example.org/alerts?id=1&lang=de#Überflutung")
        .parameter("a&b", "<c>")
        .area(Area::new("Köln & \"Umgebung\"").geocode("NUTS3", "DEA23")),
    );
    let xml = assert_schema_valid("awkward", &alert);
    let path = write_temp("awkward_readback", &xml);
    assert_eq!(xpath_text(&path, "headline"), headline);
    assert_eq!(xpath_text(&path, "description"), description);
    assert_eq!(xpath_text(&path, "areaDesc"), "Köln & \"Umgebung\"");
    assert_eq!(
        xpath_text(&path, "web"),
        "https://example.org/alerts?id=1&lang=de#Überflutung"
    );
}

#[test]
fn harness_accepts_the_oasis_spec_example() {
    let example = Path::new(CAP_XSD)
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples/oasis-spec/Oasis_ThunderstormWarning.xml");
    let verdict = xmllint(&example);
    assert!(verdict.valid, "{}", verdict.stderr);
}

#[test]
fn harness_rejects_a_document_without_sender() {
    let xml = thunderstorm_warning().to_xml().unwrap();
    let broken = xml.replace("<sender>w-nws.webmaster@noaa.gov</sender>", "");
    assert_ne!(broken, xml, "the edit must remove <sender>");
    let verdict = xmllint(&write_temp("broken_no_sender", &broken));
    assert!(!verdict.valid, "xmllint accepted an alert without <sender>");
    assert!(
        verdict.stderr.contains("sender"),
        "xmllint should complain about the missing sender:\n{}",
        verdict.stderr
    );
}

#[test]
fn harness_rejects_z_timestamps_and_misordered_elements() {
    let xml = thunderstorm_warning().to_xml().unwrap();
    // CAP's dateTime pattern forbids `Z`; the writer never produces it.
    let zulu = xml.replace("2024-06-17T21:57:00+00:00", "2024-06-17T21:57:00Z");
    assert_ne!(zulu, xml);
    let verdict = xmllint(&write_temp("broken_zulu", &zulu));
    assert!(!verdict.valid, "xmllint accepted a `Z` timestamp");

    let swapped = xml.replace(
        "<status>Actual</status><msgType>Alert</msgType>",
        "<msgType>Alert</msgType><status>Actual</status>",
    );
    assert_ne!(swapped, xml);
    let verdict = xmllint(&write_temp("broken_order", &swapped));
    assert!(!verdict.valid, "xmllint accepted misordered elements");
}
