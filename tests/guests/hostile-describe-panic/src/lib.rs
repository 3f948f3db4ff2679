//! Panics in `describe`: loading it must fail with one clear sentence.

use airlock_sdk::prelude::*;

#[derive(Default)]
struct DescribePanics;

impl Connector for DescribePanics {
    #[allow(clippy::panic)]
    fn describe(&self) -> Manifest {
        panic!("describe panicked on purpose")
    }

    fn invoke(&self, action: &str, _input: Value, _ctx: &Context) -> Result<Vec<Output>> {
        Err(Error::unknown_action(action))
    }
}

airlock_sdk::export_connector!(DescribePanics);
