//! Screening a call's outputs before anything downstream sees them: each output is
//! validated against the standard it declares; a valid one is handed on, an invalid
//! one is quarantined with its report.
//!
//! **Invariant:** nothing that fails validation is returned as an output or
//! published. Plain `json` outputs, which declare no standard, are only checked to
//! be JSON.
//! A source's valid outputs become bus messages and its invalid ones quarantine
//! rows, written together in one transaction (`Store::record_outputs`,
//! `Store::finish_events`).

use super::views::QuarantinedOutput;
use crate::bus::Topics;
use crate::runtime::bindings::airlock::connector::types::Output;
use crate::store::{MessageRow, QuarantineRow};
use crate::validate::{Report, validate};
use crate::vocab::Standard;

/// A call's outputs, sorted.
#[derive(Debug, Default)]
pub(super) struct Screened {
    /// Outputs that passed (or have no validator), in order, with their position.
    pub(super) passed: Vec<(usize, Output)>,
    /// Those that failed: position among the call's outputs, the output, the
    /// standard it was checked against, and the report.
    pub(super) failed: Vec<(usize, Output, Standard, Report)>,
}

/// Validates each output; CPU work, so callers run it off the async workers.
pub(super) fn screen(outputs: Vec<Output>) -> Screened {
    let mut screened = Screened::default();
    for (i, output) in outputs.into_iter().enumerate() {
        let standard = Standard::from(output.standard);
        // Plain `json` is checked to be JSON, nothing more.
        let report = validate(standard, &output.body);
        if report.valid {
            screened.passed.push((i, output));
        } else {
            screened.failed.push((i, output, standard, report));
        }
    }
    screened
}

/// Where outputs came from: a call or a pushed event of a connector.
#[derive(Debug, Clone, Copy)]
pub(super) struct Source<'a> {
    /// `call` or `event`.
    pub(super) kind: &'static str,
    /// The call's or event's id.
    pub(super) id: &'a str,
    /// The tenant.
    pub(super) tenant: &'a str,
    /// The connector.
    pub(super) connector: &'a str,
}

/// What a screened source writes: messages to publish, rows to quarantine, and
/// what an answer shows of the quarantined ones.
#[derive(Debug, Default)]
pub(super) struct Rows {
    pub(super) messages: Vec<MessageRow>,
    pub(super) quarantine: Vec<QuarantineRow>,
    pub(super) shown: Vec<QuarantinedOutput>,
}

/// Counts quarantined outputs (committed), by standard and first rule.
pub(super) fn count_quarantined(metrics: &crate::metrics::Metrics, shown: &[QuarantinedOutput]) {
    for q in shown {
        let rule = q.errors.first().map_or("unknown", |f| f.rule.as_str());
        metrics.quarantined(q.standard.as_str(), rule);
    }
}

/// Counts quarantine rows a commit wrote (their report is the stored JSON).
pub fn count_quarantine_rows(metrics: &crate::metrics::Metrics, rows: &[&QuarantineRow]) {
    for q in rows {
        let report: serde_json::Value = serde_json::from_str(&q.report).unwrap_or_default();
        let rule = report["errors"][0]["rule"].as_str().unwrap_or("unknown");
        let standard = q
            .standard
            .parse::<Standard>()
            .map_or("unknown", Standard::as_str);
        metrics.quarantined(standard, rule);
    }
}

/// The rows `screened` writes for `source`.
pub(super) fn rows(topics: &Topics, source: Source<'_>, screened: &Screened, now: i64) -> Rows {
    let mut rows = Rows::default();
    for (index, output) in &screened.passed {
        let standard = Standard::from(output.standard);
        let event_type = standard.event_type();
        rows.messages.push(MessageRow {
            seq: 0,
            id: crate::store::row_id(),
            tenant_id: source.tenant.into(),
            topic: topics.topic(source.tenant, event_type),
            event_type: event_type.into(),
            connector_id: source.connector.into(),
            source_kind: source.kind.into(),
            source_id: source.id.into(),
            source_index: i64::try_from(*index).unwrap_or(i64::MAX),
            standard: standard.as_str().into(),
            media_type: output.media_type.clone(),
            body: output.body.clone(),
            published_ms: now,
        });
    }
    for (index, output, standard, report) in &screened.failed {
        let id = crate::store::row_id();
        rows.quarantine.push(QuarantineRow {
            id: id.clone(),
            tenant_id: source.tenant.into(),
            connector_id: source.connector.into(),
            call_id: source.id.into(),
            standard: standard.as_str().into(),
            media_type: output.media_type.clone(),
            body: output.body.clone(),
            report: serde_json::to_string(report).unwrap_or_default(),
            created_ms: now,
        });
        rows.shown.push(QuarantinedOutput {
            id,
            index: *index,
            standard: *standard,
            errors: report.errors.clone(),
            warnings: report.warnings.clone(),
        });
    }
    rows
}
