//! Screening a call's outputs before anything downstream sees them: each output is
//! validated against the standard it declares; a valid one is handed on, an invalid
//! one is quarantined with its report.
//!
//! **Invariant:** nothing that fails validation is returned as an output (or, when
//! the bus lands, published). Plain `json` outputs, which declare no standard,
//! pass unvalidated.

use crate::runtime::bindings::airlock::connector::types::{Output, OutputStandard};
use crate::validate::{Report, Standard, validate};

/// A call's outputs, sorted.
#[derive(Debug, Default)]
pub(super) struct Screened {
    /// Outputs that passed (or have no validator), in order.
    pub(super) passed: Vec<Output>,
    /// Those that failed: position among the call's outputs, the output, the
    /// standard it was checked against, and the report.
    pub(super) failed: Vec<(usize, Output, Standard, Report)>,
}

/// The validator standard of an output standard (`None` for plain JSON).
fn standard_of(s: OutputStandard) -> Option<Standard> {
    match s {
        OutputStandard::Stix21 => Some(Standard::Stix21),
        OutputStandard::Cap12 => Some(Standard::Cap12),
        OutputStandard::Ais => Some(Standard::Ais),
        OutputStandard::Niem => Some(Standard::Niem),
        OutputStandard::Stanag4607 => Some(Standard::Stanag4607),
        OutputStandard::Json => None,
    }
}

/// Validates each output; CPU work, so callers run it off the async workers.
pub(super) fn screen(outputs: Vec<Output>) -> Screened {
    let mut screened = Screened::default();
    for (i, output) in outputs.into_iter().enumerate() {
        let checked = standard_of(output.standard).map(|s| (s, validate(s, &output.body)));
        match checked {
            Some((s, r)) if !r.valid => screened.failed.push((i, output, s, r)),
            _ => screened.passed.push(output),
        }
    }
    screened
}
