//! The upload quality gate's test guests: one source, built once per rule. The
//! `gate-clean` crate passes every rule; each `gate-<rule>` crate builds this source
//! with the feature of its name, which breaks exactly that rule; `gate-upgrade` is
//! `gate-clean`'s next version asking for more (an outbound host, a capability, a
//! secret), so deploying it is held for approval.

use airlock_sdk::prelude::*;

#[derive(Default)]
struct Gate;

/// A valid one-indicator STIX bundle; `broken`: `modified` before `created`.
fn bundle(broken: bool) -> Output {
    let modified = if broken {
        "2015-01-01T00:00:00.000Z"
    } else {
        "2016-04-06T20:03:48.000Z"
    };
    let bundle = json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [{
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2016-04-06T20:03:48.000Z", "modified": modified,
            "pattern": "[ipv4-addr:value = '198.51.100.1']",
            "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z"
        }]
    });
    Output::new(
        OutputStandard::Stix21,
        "application/stix+json;version=2.1",
        bundle.to_string().into_bytes(),
    )
}

impl Connector for Gate {
    fn describe(&self) -> Manifest {
        let id = if cfg!(feature = "id-format") {
            "Gate_Feed"
        } else {
            "gate-feed"
        };
        let version = if cfg!(feature = "semantic-version") {
            "1.0"
        } else if cfg!(feature = "upgrade") {
            "0.2.0"
        } else {
            "0.1.0"
        };
        let name = if cfg!(feature = "manifest-bounds") {
            "G".repeat(200)
        } else {
            "Gate feed".to_string()
        };
        let config_schema = if cfg!(feature = "schema-compiles") {
            json!({"type": 12})
        } else {
            json!({"type": "object", "additionalProperties": false})
        };
        let mut secrets = json!({"token": {"type": "string"}});
        if cfg!(feature = "upgrade") {
            secrets["signing_key"] = json!({"type": "string"});
        }
        let host = if cfg!(feature = "host-pattern") {
            "https://*.org"
        } else {
            "https://feeds.example.org"
        };
        let mut m = Manifest::builder(id, &name, version)
            .vendor("Airlock tests")
            .description("A connector for the upload quality gate's tests.")
            .category(Category::Osint)
            .capability("lookup");
        m = if cfg!(feature = "threat-intel-stix") {
            m.output_standard(OutputStandard::Json)
                .output_standard(OutputStandard::Stix21)
        } else {
            m.output_standard(OutputStandard::Stix21)
        };
        m = m
            .config_schema(config_schema)
            .secrets_schema(json!({"type": "object", "properties": secrets}))
            .outbound_host_with(host, Credential::bearer_from("token"))
            .action(
                Action::new("lookup", "Answers a one-indicator bundle and the version.")
                    .output(OutputStandard::Stix21),
            )
            .sample_output(bundle(cfg!(feature = "sample-output-valid")));
        if cfg!(feature = "upgrade") {
            m = m
                .capability("upload")
                .outbound_host("https://upload.example.org");
        }
        m.build()
    }

    fn invoke(&self, action: &str, _input: Value, _ctx: &Context) -> Result<Vec<Output>> {
        match action {
            "lookup" => Ok(vec![
                bundle(false),
                Output::json(&json!({"version": self.describe().version}))?,
            ]),
            other => Err(Error::unknown_action(other)),
        }
    }
}

airlock_sdk::export_connector!(Gate);
