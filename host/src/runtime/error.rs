//! Why a call failed: [`CallError`], and the questions callers ask of it.
//!
//! Invariants:
//! - Guest misbehaviour is classified into a variant once, in the call path
//!   (`call.rs`), from the store's records and wasmtime's trap codes; a connector's
//!   own typed error is kept as it came ([`CallError::Connector`]).
//! - What a failure means for the caller is decided here, by matching on variants:
//!   [`CallError::is_sandbox_failure`], [`CallError::is_transient`],
//!   [`CallError::is_callers_fault`]. Callers ask these rather than compare messages
//!   or [`CallError::kind`] strings (which are names for heartbeats and API bodies).
//! - The `Display` texts are what `airlock run`, heartbeats and API bodies show:
//!   each names the limit that was hit, or carries the connector's own message.

use std::time::Duration;

use super::bindings::airlock::connector::types::ConnectorError;
use super::limits::{MAX_WASM_STACK, OUTPUT_OVERHEAD};

/// Why a call failed. Guest misbehaviour is classified once, in the call path, from
/// wasmtime's trap codes and the limiter's record; nothing downstream compares messages.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call used up its CPU deadline (an endless loop, say).
    #[error("the connector exceeded its CPU deadline of {} ms", .limit.as_millis())]
    Timeout {
        /// The deadline.
        limit: Duration,
    },
    /// The call used up its wall-clock budget (e.g. waiting on slow upstreams).
    #[error("the connector exceeded its wall-clock timeout of {} ms", .limit.as_millis())]
    WallClockTimeout {
        /// The timeout.
        limit: Duration,
    },
    /// The guest broke the contract in a way the types cannot express (e.g. an
    /// output whose media type says JSON but whose body is not JSON).
    #[error("the connector broke the contract: {0}")]
    ContractViolation(String),
    /// The host could not give the call what it needed (the connector's kv state
    /// could not be read): not the connector's fault, and worth another try.
    #[error("the host could not complete the call: {0}")]
    HostUnavailable(String),
    /// The guest tried to grow its memory past the limit.
    #[error("the connector exceeded its memory limit of {limit} bytes")]
    MemoryExceeded {
        /// The limit.
        limit: usize,
    },
    /// The call used up its fuel (fuel mode).
    #[error("the connector ran out of fuel ({limit} units)")]
    OutOfFuel {
        /// The fuel it had.
        limit: u64,
    },
    /// The call's outputs were larger than the limit (bodies plus a per-output
    /// overhead). `size` is where the call stood when it went over: bytes charged
    /// so far plus the output that did not fit.
    #[error(
        "the connector produced {size} bytes of output (counting {OUTPUT_OVERHEAD} per output); at most {limit} are accepted"
    )]
    OutputTooLarge {
        /// What it produced.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The call returned or emitted more outputs than the limit.
    #[error("the connector produced {count} outputs; at most {limit} are accepted per call")]
    TooManyOutputs {
        /// How many it produced (emitted so far plus the returned list).
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The guest handed the host more data in one transfer (the outputs it
    /// returned, or the arguments of one host call) than the host copies at once.
    #[error(
        "the connector handed the host more than {limit} bytes at once (in the outputs it returned, or in one host call)"
    )]
    TransferTooLarge {
        /// The most copied in one transfer (`transfer_limit`).
        limit: usize,
    },
    /// The guest overflowed a stack (runaway recursion): the engine's WebAssembly
    /// stack ([`MAX_WASM_STACK`]) or its own shadow stack in linear memory.
    #[error(
        "the connector overflowed its stack (deep or runaway recursion; the engine allows {MAX_WASM_STACK} bytes of WebAssembly stack)"
    )]
    StackOverflow,
    /// The guest trapped otherwise (panic, unreachable, out-of-bounds access…).
    #[error("the connector trapped: {0}")]
    Trapped(String),
    /// The connector returned a typed error.
    #[error("the connector failed: {}", connector_error_text(.0))]
    Connector(ConnectorError),
}

impl CallError {
    /// A stable snake_case name for the kind of failure (heartbeats and API bodies
    /// carry it).
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::Timeout { .. } => "timeout",
            CallError::WallClockTimeout { .. } => "wall_clock_timeout",
            CallError::ContractViolation(_) => "contract_violation",
            CallError::HostUnavailable(_) => "host_unavailable",
            CallError::MemoryExceeded { .. } => "memory_exceeded",
            CallError::StackOverflow => "stack_overflow",
            CallError::OutputTooLarge { .. } => "output_too_large",
            CallError::TooManyOutputs { .. } => "too_many_outputs",
            CallError::TransferTooLarge { .. } => "transfer_too_large",
            CallError::OutOfFuel { .. } => "out_of_fuel",
            CallError::Trapped(_) => "trapped",
            CallError::Connector(e) => match e {
                ConnectorError::InvalidConfig(_) => "invalid_config",
                ConnectorError::InvalidInput(_) => "invalid_input",
                ConnectorError::Upstream(_) => "upstream",
                ConnectorError::RateLimited(_) => "rate_limited",
                ConnectorError::Unsupported(_) => "unsupported",
                ConnectorError::Internal(_) => "internal",
            },
        }
    }

    /// Whether the guest itself misbehaved (as opposed to returning a typed error).
    pub fn is_sandbox_failure(&self) -> bool {
        !matches!(
            self,
            CallError::Connector(_) | CallError::HostUnavailable(_)
        )
    }

    /// Whether the host, not the connector, failed the call
    /// ([`CallError::HostUnavailable`]): it says nothing about the connector's health.
    pub fn is_hosts_fault(&self) -> bool {
        matches!(self, CallError::HostUnavailable(_))
    }

    /// Whether the same call is worth another try. False only for the failures a
    /// retry cannot fix: the connector refused the input or the config, or does not
    /// support what was asked (`invalid-input`, `invalid-config`, `unsupported`), or
    /// its outputs broke the contract or exceeded the output budget. Everything else
    /// may pass later: deadlines, upstream and rate-limit errors, the connector's
    /// internal errors, and the sandbox's memory, fuel, stack and trap failures,
    /// which can depend on what the upstream returned this time.
    pub fn is_transient(&self) -> bool {
        // No wildcard: a new variant has to be decided here.
        match self {
            CallError::Timeout { .. }
            | CallError::WallClockTimeout { .. }
            | CallError::MemoryExceeded { .. }
            | CallError::OutOfFuel { .. }
            | CallError::StackOverflow
            | CallError::Trapped(_)
            | CallError::HostUnavailable(_) => true,
            CallError::ContractViolation(_)
            | CallError::OutputTooLarge { .. }
            | CallError::TooManyOutputs { .. }
            | CallError::TransferTooLarge { .. } => false,
            CallError::Connector(e) => match e {
                ConnectorError::Upstream(_)
                | ConnectorError::RateLimited(_)
                | ConnectorError::Internal(_) => true,
                ConnectorError::InvalidInput(_)
                | ConnectorError::InvalidConfig(_)
                | ConnectorError::Unsupported(_) => false,
            },
        }
    }

    /// Whether the caller is to blame: the connector refused the action input or
    /// pushed event it was given (`invalid-input`). Such a failure says nothing about
    /// the connector's health; an invalid config is the deployment's to fix, not the
    /// caller's.
    pub fn is_callers_fault(&self) -> bool {
        matches!(self, CallError::Connector(ConnectorError::InvalidInput(_)))
    }
}

/// A connector error as a sentence: its kind, then the connector's own message.
pub fn connector_error_text(e: &ConnectorError) -> String {
    match e {
        ConnectorError::InvalidConfig(m) => format!("invalid config: {m}"),
        ConnectorError::InvalidInput(m) => format!("invalid input: {m}"),
        ConnectorError::Upstream(u) => match u.status {
            Some(status) => format!("upstream failure (HTTP {status}): {}", u.message),
            None => format!("upstream failure: {}", u.message),
        },
        ConnectorError::RateLimited(r) => {
            format!(
                "rate limited, retry after {} ms: {}",
                r.retry_after_ms, r.message
            )
        }
        ConnectorError::Unsupported(m) => format!("unsupported: {m}"),
        ConnectorError::Internal(m) => format!("internal error: {m}"),
    }
}

/// The field an `invalid-config` or `invalid-input` message names, and the rest of
/// the message.
///
/// Connectors name a field by starting the message with a JSON Pointer and `: `
/// (the SDK's `Error::invalid_config_at` writes it), e.g. `/feed_url: must use
/// https`. Anything else names no field.
pub fn connector_error_field(e: &ConnectorError) -> Option<(&str, &str)> {
    let (ConnectorError::InvalidConfig(m) | ConnectorError::InvalidInput(m)) = e else {
        return None;
    };
    let (pointer, rest) = m.split_once(": ")?;
    let plausible = pointer.starts_with('/')
        && pointer.len() <= 256
        && !pointer.chars().any(|c| c.is_whitespace() || c.is_control());
    plausible.then_some((pointer, rest))
}

#[cfg(test)]
mod tests {
    use super::super::bindings::airlock::connector::types::{RateLimit, UpstreamError};
    use super::*;

    #[test]
    fn a_message_that_starts_with_a_pointer_names_the_field() {
        let field = |e: ConnectorError| {
            connector_error_field(&e).map(|(p, m)| (p.to_string(), m.to_string()))
        };
        assert_eq!(
            field(ConnectorError::InvalidConfig(
                "/feed_url: must use https".into()
            )),
            Some(("/feed_url".into(), "must use https".into()))
        );
        assert_eq!(
            field(ConnectorError::InvalidInput("/a/0: bad".into())),
            Some(("/a/0".into(), "bad".into()))
        );
        for no in ["feed_url: bad", "/with space: bad", "/no-separator", ""] {
            assert_eq!(
                field(ConnectorError::InvalidConfig(no.into())),
                None,
                "{no}"
            );
        }
        assert_eq!(field(ConnectorError::Internal("/x: y".into())), None);
    }

    /// What the predicates must say of an error.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Expect {
        Transient,
        Permanent,
        CallersFault,
    }
    use Expect::{CallersFault, Permanent, Transient};

    /// One error of every variant, and of every connector error.
    fn every_error() -> Vec<(CallError, Expect)> {
        use ConnectorError::*;
        let ms = Duration::from_millis;
        let connector = CallError::Connector;
        let upstream = UpstreamError {
            status: Some(503),
            message: "down".into(),
        };
        let rate_limit = RateLimit {
            retry_after_ms: 100,
            message: "slow down".into(),
        };
        vec![
            (CallError::Timeout { limit: ms(5) }, Transient),
            (CallError::WallClockTimeout { limit: ms(5) }, Transient),
            (CallError::ContractViolation("not JSON".into()), Permanent),
            (CallError::MemoryExceeded { limit: 1 << 20 }, Transient),
            (CallError::OutOfFuel { limit: 10 }, Transient),
            (CallError::OutputTooLarge { size: 2, limit: 1 }, Permanent),
            (CallError::TooManyOutputs { count: 2, limit: 1 }, Permanent),
            (CallError::TransferTooLarge { limit: 1 }, Permanent),
            (CallError::StackOverflow, Transient),
            (CallError::Trapped("unreachable".into()), Transient),
            (connector(InvalidConfig("no url".into())), Permanent),
            (connector(InvalidInput("no id".into())), CallersFault),
            (connector(Upstream(upstream)), Transient),
            (connector(RateLimited(rate_limit)), Transient),
            (connector(Unsupported("no such action".into())), Permanent),
            (connector(Internal("bug".into())), Transient),
        ]
    }

    #[test]
    fn only_failures_a_retry_cannot_fix_are_permanent() {
        for (error, expect) in every_error() {
            assert_eq!(
                error.is_transient(),
                expect == Transient,
                "{}",
                error.kind()
            );
        }
    }

    #[test]
    fn only_a_refused_input_is_the_callers_fault() {
        for (error, expect) in every_error() {
            assert_eq!(
                error.is_callers_fault(),
                expect == CallersFault,
                "{}",
                error.kind()
            );
        }
    }

    /// The predicates replace comparisons of `kind()` strings in the registry
    /// (`registry/transform.rs`, `registry/calls.rs`); they must answer as those did.
    #[test]
    fn the_predicates_agree_with_the_kind_comparisons_they_replace() {
        let permanent = [
            "invalid_input",
            "invalid_config",
            "unsupported",
            "contract_violation",
            "output_too_large",
            "too_many_outputs",
            "transfer_too_large",
        ];
        for (error, _) in every_error() {
            let kind = error.kind();
            assert_eq!(error.is_transient(), !permanent.contains(&kind), "{kind}");
            assert_eq!(error.is_callers_fault(), kind == "invalid_input", "{kind}");
        }
    }

    /// The table above covers every kind, so the tests above see every variant.
    #[test]
    fn the_table_has_one_error_of_each_kind() {
        let mut kinds: Vec<_> = every_error().iter().map(|(e, _)| e.kind()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), 16);
    }
}
