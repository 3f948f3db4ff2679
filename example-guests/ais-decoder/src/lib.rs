//! `ais-decoder`: an Airlock push connector that turns NMEA 0183 `!AIVDM`/`!AIVDO`
//! sentences (ITU-R M.1371 AIS) into JSON position and static reports.
//!
//! A receiver or an aggregator (AISHub, a coastal station's feed) pushes a batch of
//! sentences, one per line, to Airlock's ingest endpoint; `ingest` verifies each
//! checksum, reassembles multi-fragment messages (types 5, 19, 21, 24 …) within the
//! batch, de-armours the 6-bit payload and decodes every message type 1–27 (binary
//! payloads of types 6, 8, 17, 25, 26 are passed on as hex). Each decoded message
//! becomes one output of standard `ais`, a JSON report whose field names follow
//! gpsd's AIS JSON (`type`, `mmsi`, `lat`, `lon`, `speed`, `course`, `shipname`…), so
//! existing gpsd consumers read it unchanged.
//!
//! Lines that are not AIS are skipped with a warning; a batch in which nothing
//! decodes is [`Error::invalid_input`], so the push is quarantined rather than lost.
//! The same decoding is available as the `decode` action for ad-hoc use.

use airlock_sdk::prelude::*;
use airlock_sdk::{log, progress};

/// The decoder lives in the SDK ([`airlock_sdk::ais`]), shared with the host's
/// AIS validator.
pub use airlock_sdk::ais as decode;

/// The connector.
#[derive(Debug, Default)]
pub struct AisDecoder;

/// Batches larger than this are refused: a sandboxed call must stay bounded.
pub const MAX_LINES: usize = 100_000;

impl AisDecoder {
    fn decode_text(text: &str, config: &Value) -> Result<Vec<Output>> {
        let lines = text.lines().count();
        if lines > MAX_LINES {
            return Err(Error::invalid_input(format!(
                "the batch has {lines} lines; at most {MAX_LINES} are accepted per event"
            )));
        }
        let include_errors = config
            .get("log_errors")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        let mut outputs = Vec::new();
        let mut failures = 0usize;
        // The first failure's line and reason go in the answer, so a caller
        // learns why without reading the server's log.
        let mut first_failure: Option<(usize, String)> = None;
        let mut decoder = decode::Decoder::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match decoder.push_line(line) {
                None => {}
                Some(Ok(report)) => outputs.push(Output::of(OutputStandard::Ais, &report)?),
                Some(Err(e)) => {
                    failures += 1;
                    if first_failure.is_none() {
                        first_failure = Some((number + 1, e.to_string()));
                    }
                    if include_errors {
                        log::log_with(
                            log::Level::Warn,
                            "skipped an AIS line",
                            &[
                                ("line", &(number + 1).to_string()),
                                ("reason", &e.to_string()),
                            ],
                        );
                    }
                }
            }
            if number % 10_000 == 9_999 {
                progress::report(number as u64 + 1, Some(lines as u64));
            }
        }
        if outputs.is_empty() && failures > 0 {
            let (line, reason) = first_failure.unwrap_or_default();
            return Err(Error::invalid_input(format!(
                "none of the {failures} AIS sentence(s) in the event could be decoded \
                 (first, line {line}: {reason})"
            )));
        }
        Ok(outputs)
    }
}

fn sample_output() -> Option<Output> {
    let mut outputs = AisDecoder::decode_text(
        "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A",
        &Value::Null,
    )
    .ok()?;
    outputs.pop()
}

impl Connector for AisDecoder {
    fn describe(&self) -> Manifest {
        let mut builder =
            Manifest::builder("ais-decoder", "AIS NMEA decoder", env!("CARGO_PKG_VERSION"))
                .vendor("Airlock examples")
                .description(
                    "Decodes NMEA 0183 !AIVDM/!AIVDO sentences (ITU-R M.1371, message types 1-27, \
                 multi-fragment reassembly, checksums) pushed by AIS receivers into JSON reports \
                 with gpsd's field names.",
                )
                .category(Category::Telemetry)
                .capability("ingest")
                .capability("ais-decode")
                .output_standard(OutputStandard::Ais)
                .config_schema(json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "log_errors": {
                            "type": "boolean",
                            "default": true,
                            "description": "Log a warning for every line that does not decode."
                        }
                    }
                }))
                .action(
                    Action::new(
                        "decode",
                        "Decodes the NMEA sentences given as `sentences`, one per line.",
                    )
                    .input_schema(json!({
                        "type": "object",
                        "required": ["sentences"],
                        "additionalProperties": false,
                        "properties": { "sentences": { "type": "string", "minLength": 1 } }
                    }))
                    .output(OutputStandard::Ais),
                );
        if let Some(sample) = sample_output() {
            builder = builder.sample_output(sample);
        }
        builder.build()
    }

    fn invoke(&self, action: &str, input: Value, ctx: &Context) -> Result<Vec<Output>> {
        match action {
            "decode" => {
                let text = input
                    .get("sentences")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Error::invalid_input("`sentences` must be a string of NMEA lines")
                    })?;
                Self::decode_text(text, ctx.config_value())
            }
            other => Err(Error::unknown_action(other)),
        }
    }

    fn ingest(&self, event: &InboundEvent, ctx: &Context) -> Result<Vec<Output>> {
        let text = std::str::from_utf8(&event.body).map_err(|_| {
            Error::invalid_input(
                "the event body is not UTF-8 text; send NMEA sentences, one per line",
            )
        })?;
        Self::decode_text(text, ctx.config_value())
    }
}

airlock_sdk::export_connector!(AisDecoder);

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_sdk::testing::Harness;

    #[test]
    fn ingest_decodes_a_two_fragment_type_5_and_a_position() {
        let h = Harness::new(AisDecoder);
        let body = "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n\
                    !AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C\n\
                    !AIVDM,2,2,1,A,88888888880,2*25\n";
        let outputs = h.ingest(body.as_bytes(), "text/plain").unwrap();
        assert_eq!(outputs.len(), 2);
        let pos = outputs[0].body_json().unwrap();
        assert_eq!(pos["type"], 1);
        assert_eq!(pos["mmsi"], 371798000);
        assert!((pos["lat"].as_f64().unwrap() - 48.3816333).abs() < 1e-6);
        let stat = outputs[1].body_json().unwrap();
        assert_eq!(stat["type"], 5);
        assert_eq!(stat["mmsi"], 351759000);
        assert_eq!(stat["shipname"], "EVER DIADEM");
        assert!(outputs.iter().all(|o| o.standard == OutputStandard::Ais));
    }

    #[test]
    fn bad_lines_are_logged_and_an_undecodable_batch_is_refused() {
        let h = Harness::new(AisDecoder);
        let outputs = h
            .ingest(
                b"garbage\n!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n",
                "text/plain",
            )
            .unwrap();
        assert_eq!(outputs.len(), 1);
        assert_eq!(h.host().logs().len(), 1);
        let err = h
            .ingest(
                b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4B\n",
                "text/plain",
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
        assert!(matches!(
            h.ingest(&[0xff, 0xfe], "text/plain"),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn decode_action_validates_its_input() {
        let h = Harness::new(AisDecoder);
        let out = h
            .invoke(
                "decode",
                &json!({"sentences": "!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A"}),
            )
            .unwrap();
        assert_eq!(out.len(), 1);
        assert!(matches!(
            h.invoke("decode", &json!({})),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            h.invoke("nope", &json!({})),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn manifest_declares_ais_ingest_and_a_sample() {
        let m = Harness::new(AisDecoder).describe();
        assert_eq!(m.category, Category::Telemetry);
        assert!(m.capabilities.contains(&"ingest".to_string()));
        assert!(m.outbound_hosts.is_empty());
        assert_eq!(m.sample_output.unwrap().standard, OutputStandard::Ais);
    }
}
