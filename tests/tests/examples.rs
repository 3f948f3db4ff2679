//! Every example connector, built from source for wasm32-wasip2, loads in the real
//! host and declares a complete manifest whose JSON Schemas compile.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use airlock_host::runtime::{CallError, Grants, LoadError, Runtime};
use airlock_tests::guests;
use serde_json::{Value, json};

fn load(path: &str) -> airlock_host::runtime::Component {
    airlock_tests::load_guest(path, airlock_host::runtime::Limits::default()).1
}

fn compile_schema(what: &str, schema: &Value) {
    assert!(schema.is_object(), "{what} is not a JSON object: {schema}");
    jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{what} does not compile: {e}"));
}

#[test]
fn every_example_declares_a_complete_manifest_with_compiling_schemas() {
    for (name, path) in guests::ALL {
        let component = load(path);
        let m = component.manifest_json();
        assert_eq!(m.id, *name);
        assert_eq!(component.contract_version, "0.1.0");
        for (field, value) in [
            ("name", &m.name),
            ("vendor", &m.vendor),
            ("description", &m.description),
        ] {
            assert!(!value.trim().is_empty(), "{name}: empty {field}");
        }
        let parts: Vec<_> = m.version.split('.').collect();
        assert!(
            parts.len() == 3 && parts.iter().all(|p| p.parse::<u64>().is_ok()),
            "{name}: version {}",
            m.version
        );
        assert!(!m.capabilities.is_empty(), "{name}: no capabilities");
        assert!(
            !m.output_standards.is_empty(),
            "{name}: no output standards"
        );
        compile_schema(&format!("{name} config schema"), &m.config_schema);
        compile_schema(&format!("{name} secrets schema"), &m.secrets_schema);
        for action in &m.actions {
            compile_schema(
                &format!("{name} action {}", action["name"]),
                &action["input_schema"],
            );
            let standard = action["output_standard"].as_str().unwrap();
            assert!(
                m.output_standards.iter().any(|s| s == standard),
                "{name}: {standard} undeclared"
            );
        }
        for host in &m.outbound_hosts {
            let pattern = host["pattern"].as_str().unwrap();
            assert!(
                pattern.starts_with("https://"),
                "{name}: outbound host {pattern}"
            );
        }
        let sample = m
            .sample_output
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no sample output"));
        let standard = sample["standard"].as_str().unwrap();
        assert!(
            m.output_standards.iter().any(|s| s == standard),
            "{name}: sample in undeclared {standard}"
        );
        // Connectors import only the contract and WASI.
        assert!(
            component
                .imports
                .iter()
                .all(|i| i.starts_with("airlock:connector/") || i.starts_with("wasi:"))
        );
    }
}

#[test]
fn the_examples_declare_the_categories_and_standards_of_the_catalogue() {
    let expect = [
        (guests::OSINT_FEED, "osint", "stix-2.1"),
        (guests::CAP_ALERTS, "telemetry", "cap-1.2"),
        (guests::AIS_DECODER, "telemetry", "ais"),
        (guests::CHAT_NOTIFIER, "custom", "json"),
    ];
    for (path, category, standard) in expect {
        let m = load(path).manifest_json();
        assert_eq!(m.category, category, "{}", m.id);
        assert!(
            m.output_standards.iter().any(|s| s == standard),
            "{}: {:?}",
            m.id,
            m.output_standards
        );
    }
}

#[test]
fn the_ais_decoder_decodes_inside_the_sandbox() {
    let component = load(guests::AIS_DECODER);
    let input = json!({"sentences": "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"}).to_string();
    let (outputs, _) = component
        .invoke("decode", &input, "{}", Grants::default())
        .unwrap();
    assert_eq!(outputs.len(), 1);
    let report: Value = serde_json::from_slice(&outputs[0].body).unwrap();
    assert_eq!(report["mmsi"], 371798000);
    assert_eq!(report["type"], 1);
}

#[test]
fn typed_connector_errors_cross_the_boundary() {
    let component = load(guests::AIS_DECODER);
    let err = component
        .invoke("decode", "{}", "{}", Grants::default())
        .unwrap_err();
    assert!(matches!(err, CallError::Connector(_)), "{err:?}");
    // A person reads this: the kind in words, then the connector's sentence.
    assert_eq!(
        err.to_string(),
        "the connector failed: invalid input: `sentences` must be a string of NMEA lines"
    );
    let err = component
        .invoke("no-such-action", "{}", "{}", Grants::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the connector failed: unsupported: this connector has no action `no-such-action`"
    );
}

#[test]
fn outbound_http_is_denied_without_a_grant() {
    let component = load(guests::CHAT_NOTIFIER);
    let err = component
        .invoke(
            "post-message",
            r##"{"text":"hi","channel":"#x"}"##,
            "{}",
            Grants::default(),
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the connector failed: invalid config: the host refused: https://slack.com:443 is \
         declared but was not granted to this deployment by an admin"
    );
}

#[test]
fn non_components_are_refused_with_a_clear_error() {
    let runtime = Runtime::new().unwrap();
    let core_module = [0u8, b'a', b's', b'm', 1, 0, 0, 0];
    assert!(
        matches!(runtime.load(&core_module), Err(LoadError::NotAComponent(m)) if m.contains("core WebAssembly module"))
    );
    assert!(matches!(
        runtime.load(b"hello, world"),
        Err(LoadError::NotAComponent(_))
    ));
    let bytes = std::fs::read(guests::AIS_DECODER).unwrap();
    assert!(matches!(
        runtime.load(&bytes[..bytes.len() / 2]),
        Err(LoadError::NotAComponent(_))
    ));
}
