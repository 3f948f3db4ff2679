//! Describes itself abusively: a path as its id, a 1 MiB name, 10 000 actions and a
//! config schema nested 10 000 levels deep. Loading it must fail with a finding per
//! field, none of which echoes the value.

use airlock_sdk::prelude::*;

#[derive(Default)]
struct AbusiveManifest;

impl Connector for AbusiveManifest {
    fn describe(&self) -> Manifest {
        let mut m = Manifest::builder("placeholder", "Abusive", "0.1.0")
            .vendor("Airlock tests")
            .description("An abusive manifest.")
            .category(Category::Custom)
            .build();
        m.id = "../../etc/passwd".into();
        m.name = "N".repeat(1024 * 1024);
        m.actions = (0..10_000)
            .map(
                |i| airlock_sdk::bindings::airlock::connector::types::Action {
                    name: format!("action-{i}"),
                    description: "One of many.".into(),
                    input_schema: "{}".into(),
                    output_standard: OutputStandard::Json,
                },
            )
            .collect();
        m.config_schema = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        m
    }

    fn invoke(&self, action: &str, _input: Value, _ctx: &Context) -> Result<Vec<Output>> {
        Err(Error::unknown_action(action))
    }
}

airlock_sdk::export_connector!(AbusiveManifest);
