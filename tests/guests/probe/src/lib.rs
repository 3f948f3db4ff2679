//! A well-behaved connector for the server's tests: its input chooses how long a call
//! takes and how it fails, so a test can drive a connector through every health
//! status with real guest calls; `count` keeps a counter in kv to show state persists.

use airlock_sdk::prelude::*;
use std::hint::black_box;

#[derive(Default)]
struct Probe;

/// The manifest's version: `probe2` builds this source with the `v2` feature.
#[cfg(feature = "v2")]
const VERSION: &str = "0.2.0";
#[cfg(not(feature = "v2"))]
const VERSION: &str = "0.1.0";

impl Connector for Probe {
    fn describe(&self) -> Manifest {
        Manifest::builder("probe", "Probe", VERSION)
            .vendor("Airlock tests")
            .description("Answers after a chosen delay, or fails as asked.")
            .category(Category::Telemetry)
            .capability("health-probe")
            .output_standard(OutputStandard::Json)
            .config_schema(json!({
                "type": "object",
                "properties": {
                    "label": {"type": "string", "maxLength": 20},
                    "threshold": {"type": "integer", "minimum": 0}
                },
                "additionalProperties": false
            }))
            .action(
                Action::new(
                    "work",
                    "Busy-waits `busy_ms`, then answers or fails as asked.",
                )
                .input_schema(json!({
                    "type": "object",
                    "properties": {
                        "busy_ms": {"type": "integer", "minimum": 0, "maximum": 2000},
                        "fail": {"enum": ["upstream", "trap", "invalid-input"]}
                    },
                    "additionalProperties": false
                }))
                .output(OutputStandard::Json),
            )
            .action(
                Action::new("count", "Adds one to a counter kept in kv and returns it.")
                    .output(OutputStandard::Json),
            )
            .action(
                Action::new(
                    "stix",
                    "Returns a one-indicator STIX bundle; `broken` makes it invalid (modified before created).",
                )
                .output(OutputStandard::Stix21),
            )
            .action(
                Action::new(
                    "cap",
                    "Returns a CAP 1.2 alert; `broken` makes it an Update without references.",
                )
                .output(OutputStandard::Cap12),
            )
            .action(
                Action::new(
                    "imports",
                    "Calls the host's clock `n` times (for measuring an import round trip).",
                )
                .output(OutputStandard::Json),
            )
            .build()
    }

    /// Pages 0, 1, 2 of a pretend feed: the cursor is the next page, `more` until 2.
    fn poll(&self, cursor: Option<String>, _ctx: &Context) -> Result<PollResult> {
        let page: u64 = match cursor.as_deref() {
            None => 0,
            Some(c) => c
                .parse()
                .map_err(|_| Error::invalid_input(format!("`{c}` is not a page cursor")))?,
        };
        Ok(PollResult {
            outputs: vec![Output::json(&json!({ "page": page }))?],
            next_cursor: Some((page + 1).to_string()),
            more: page < 2,
        })
    }

    fn validate_config(&self, config: &Value) -> Result<()> {
        // A rule the schema does not state, so the host must ask the guest.
        if config.get("label").and_then(Value::as_str) == Some("reject-me") {
            return Err(Error::invalid_config("the label `reject-me` is reserved"));
        }
        Ok(())
    }

    fn invoke(&self, action: &str, input: Value, ctx: &Context) -> Result<Vec<Output>> {
        match action {
            "work" => {
                let busy = input.get("busy_ms").and_then(Value::as_u64).unwrap_or(0);
                let start = airlock_sdk::clock::now_ms();
                while airlock_sdk::clock::now_ms().saturating_sub(start) < busy {
                    black_box(start);
                }
                match input.get("fail").and_then(Value::as_str) {
                    Some("upstream") => Err(Error::upstream(Some(502), "the upstream is down")),
                    Some("invalid-input") => Err(Error::invalid_input("asked to refuse")),
                    #[allow(clippy::panic)]
                    Some("trap") => panic!("asked to trap"),
                    _ => Ok(vec![Output::json(&json!({
                        "ok": true,
                        "version": VERSION,
                        "busy_ms": busy,
                        "label": ctx.config_value().get("label"),
                        "tenant": ctx.tenant_id(),
                    }))?]),
                }
            }
            "stix" => {
                let modified = if input.get("broken").and_then(Value::as_bool) == Some(true) {
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
                Ok(vec![
                    Output::json(&json!({"note": "a plain JSON output passes unvalidated"}))?,
                    Output::new(
                        OutputStandard::Stix21,
                        "application/stix+json;version=2.1",
                        bundle.to_string().into_bytes(),
                    ),
                ])
            }
            "cap" => {
                let msg_type = if input.get("broken").and_then(Value::as_bool) == Some(true) {
                    "Update"
                } else {
                    "Alert"
                };
                let alert = format!(
                    "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>P-1</identifier>\
                     <sender>probe@example</sender><sent>2026-11-23T10:00:00-00:00</sent>\
                     <status>Test</status><msgType>{msg_type}</msgType><scope>Public</scope></alert>"
                );
                Ok(vec![Output::new(
                    OutputStandard::Cap12,
                    "application/cap+xml",
                    alert.into_bytes(),
                )])
            }
            "imports" => {
                let n = input.get("n").and_then(Value::as_u64).unwrap_or(0);
                let mut sum = 0u64;
                for _ in 0..n {
                    sum = sum.wrapping_add(black_box(airlock_sdk::clock::now_ms()));
                }
                Ok(vec![Output::json(&json!({ "n": n, "sum": sum }))?])
            }
            "count" => {
                let n = airlock_sdk::kv::get("count")?
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(0)
                    + 1;
                airlock_sdk::kv::set("count", n.to_string().as_bytes())?;
                Ok(vec![Output::json(&json!({ "count": n }))?])
            }
            other => Err(Error::unknown_action(other)),
        }
    }
}

airlock_sdk::export_connector!(Probe);
