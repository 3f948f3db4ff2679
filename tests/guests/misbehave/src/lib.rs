//! The frame of a single-misbehaviour guest: [`misbehave!`] makes a connector with
//! two actions, `run` (the misbehaviour) and `ok` (a normal call, for checking that
//! the host still serves). Each `hostile-*` crate is one misbehaviour, so a test
//! names exactly what it attacks with (tests/build.rs fails the build when a guest
//! has no test module).

pub use airlock_sdk;

/// `misbehave!("id", "what it does", |input| { ... })`: the body returns the `run`
/// action's `Result<Vec<Output>>`; `input` is its JSON input.
#[macro_export]
macro_rules! misbehave {
    ($id:literal, $what:literal, |$input:ident| $body:block) => {
        use $crate::airlock_sdk::prelude::*;

        #[derive(Default)]
        struct Misbehaving;

        impl Connector for Misbehaving {
            fn describe(&self) -> Manifest {
                Manifest::builder($id, $id, "0.1.0")
                    .vendor("Airlock tests")
                    .description($what)
                    .category(Category::Custom)
                    .action(Action::new("run", $what))
                    .action(Action::new("ok", "Answers {\"ok\": true}."))
                    .build()
            }

            fn invoke(&self, action: &str, input: Value, _ctx: &Context) -> Result<Vec<Output>> {
                match action {
                    "run" => {
                        let $input = input;
                        $body
                    }
                    "ok" => Ok(vec![Output::json(&json!({"ok": true}))?]),
                    other => Err(Error::unknown_action(other)),
                }
            }
        }

        $crate::airlock_sdk::export_connector!(Misbehaving);
    };
}
