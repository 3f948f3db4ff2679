//! Calling a loaded component: one fresh store and instance per call, under
//! [`Limits`], through the one export the call enters by ([`Entry`]).
//!
//! Invariants:
//! - Every guest call — `invoke`, `poll`, `ingest`, and the rare `describe` and
//!   `validate-config` — goes through `call_in_fresh_store`, so a call starts from
//!   nothing but what the request hands in (config, grants, kv) and its failures are
//!   classified into [`CallError`] in exactly one place (`classify`), from the
//!   limiter's and the clock's records first and wasmtime's trap codes second.
//! - A request's limits never exceed the component's memory (the pool's slots are
//!   sized for it) and never change fuel mode (an engine-wide setting).
//! - Outputs are checked after the call, in the order returned to the caller
//!   (emitted first): the output budget, then what the types cannot say (a JSON
//!   media type carries JSON, a text or XML one UTF-8); a failure of either fails
//!   the whole call.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use wasmtime::component::{ComponentExportIndex, Instance};
use wasmtime::{Engine, Store, Trap};

use super::bindings::airlock::connector::types::{self, CallContext, ConnectorError};
use super::bindings::{Connector, ConnectorPre};
use super::egress::{Egress, Grants};
use super::error::CallError;
use super::host::{CallTags, Captured, OutputOverrun, Overrun, StoreData};
use super::kv::{KvChange, KvState};
use super::limits::{EPOCH_TICK, Limits, OUTPUT_OVERHEAD};
use super::loader::Component;

/// The entry points' parameters and results as the contract types them.
type InvokeParams<'a> = (&'a str, &'a str, &'a CallContext);
type OutputsResult = (Result<Vec<types::Output>, ConnectorError>,);
type PollParams<'a> = (Option<&'a str>, &'a CallContext);
type PollResults = (Result<types::PollResult, ConnectorError>,);
type IngestParams<'a> = (&'a types::InboundEvent, &'a CallContext);

/// Which export a call enters the connector through.
#[derive(Debug)]
pub enum Entry<'a> {
    /// `invoke(action, input)`: an action, input as JSON text.
    Invoke {
        /// The action's name.
        action: &'a str,
        /// The action's input, JSON text.
        input: &'a str,
    },
    /// `poll(cursor)`: a scheduled pull, from the cursor the previous poll returned.
    Poll {
        /// The cursor, `None` on the first poll.
        cursor: Option<&'a str>,
    },
    /// `ingest(event)`: transform an event an external system pushed.
    Ingest {
        /// The event.
        event: types::InboundEvent,
    },
}

/// The export indices of a component's entry points, found once at load.
#[derive(Debug, Clone, Copy)]
pub(super) struct EntryExports {
    pub(super) invoke: ComponentExportIndex,
    pub(super) poll: ComponentExportIndex,
    pub(super) ingest: ComponentExportIndex,
}

/// What a poll returned besides its outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollState {
    /// The cursor for the next poll; `None` keeps the current one.
    pub next_cursor: Option<String>,
    /// More data is ready now: poll again at once.
    pub more: bool,
}

/// One call of a connector.
#[derive(Debug)]
pub struct CallRequest<'a> {
    /// The export to call and its arguments.
    pub entry: Entry<'a>,
    /// The deployment's config, JSON text.
    pub config: &'a str,
    /// What the deployment was granted.
    pub grants: Grants,
    /// The tenant the call runs for.
    pub tenant_id: &'a str,
    /// An id for logs and heartbeats.
    pub call_id: &'a str,
    /// The connector's kv state for this tenant before the call (or how to load it
    /// if the guest uses kv).
    pub kv: KvState,
    /// Limits for this call instead of the component's (a deployment's overrides,
    /// see [`Limits::with_overrides`]); memory is capped at the runtime's.
    pub limits: Option<Limits>,
}

impl<'a> CallRequest<'a> {
    /// A call as a local run makes it: tenant `local`, call id `local`, no grants,
    /// empty kv, the component's limits. Override fields with struct update syntax.
    pub fn local(entry: Entry<'a>, config: &'a str) -> Self {
        CallRequest {
            entry,
            config,
            grants: Grants::default(),
            tenant_id: "local",
            call_id: "local",
            kv: KvState::Loaded(BTreeMap::new()),
            limits: None,
        }
    }
}

/// What a successful call produced.
#[derive(Debug)]
pub struct CallDone {
    /// Outputs: emitted ones first, then the returned ones.
    pub outputs: Vec<types::Output>,
    /// Logs and progress.
    pub captured: Captured,
    /// The kv state before and after the call (the caller saves what changed);
    /// `None` when a lazily loaded state was never touched.
    pub kv: Option<KvChange>,
    /// For a poll: the next cursor and whether more is ready.
    pub poll: Option<PollState>,
}

impl Component {
    /// Calls `invoke(action, input)` with `config`; returns the outputs (emitted ones
    /// first, then the returned ones) and the call's other effects. A convenience
    /// over [`Component::call`] for local runs: tenant `local`, empty kv.
    pub fn invoke(
        &self,
        action: &str,
        input: &str,
        config: &str,
        grants: Grants,
    ) -> Result<(Vec<types::Output>, Captured), CallError> {
        let done = self.call(CallRequest {
            grants,
            ..CallRequest::local(Entry::Invoke { action, input }, config)
        })?;
        Ok((done.outputs, done.captured))
    }

    /// Calls the guest's `validate-config` (what a schema cannot say) in a fresh store.
    pub fn validate_config(&self, config: &str) -> Result<(), CallError> {
        call_guest(&self.pre, &self.engine, &self.limits, |g, s| {
            g.call_validate_config(s, config)
        })
    }

    /// Calls `invoke` as described by `request`, in a fresh store.
    pub fn call(&self, request: CallRequest<'_>) -> Result<CallDone, CallError> {
        // Memory cannot exceed the pool's slots, and fuel is an engine-wide mode.
        let limits = match request.limits {
            Some(l) => Limits {
                memory_bytes: l.memory_bytes.min(self.limits.memory_bytes),
                fuel: self.limits.fuel,
                ..l
            },
            None => self.limits,
        };
        let ctx = CallContext {
            call_id: request.call_id.to_string(),
            tenant_id: request.tenant_id.to_string(),
            config: request.config.to_string(),
        };
        let mut kv_after = None;
        let mut poll = None;
        let entry = request.entry;
        let (mut outputs, mut captured) = call_in_fresh_store(
            &self.pre,
            &self.engine,
            &limits,
            Egress::new(self.declared.clone(), request.grants)
                .with_transport(self.transport.clone()),
            Some(CallTags {
                tenant: request.tenant_id.to_string(),
                connector: self.manifest.id.clone(),
                version: self.manifest.version.clone(),
                call_id: request.call_id.to_string(),
            }),
            request.kv,
            |i, s| {
                // Only the export called is looked up and type-checked (against the
                // contract's types, so a mismatch is an error, never undefined
                // behaviour).
                let returned = match entry {
                    Entry::Invoke { action, input } => {
                        let f = i.get_typed_func::<InvokeParams<'_>, OutputsResult>(
                            &mut *s,
                            &self.exports.invoke,
                        )?;
                        f.call(&mut *s, (action, input, &ctx))?.0
                    }
                    Entry::Poll { cursor } => {
                        let f = i.get_typed_func::<PollParams<'_>, PollResults>(
                            &mut *s,
                            &self.exports.poll,
                        )?;
                        f.call(&mut *s, (cursor, &ctx))?.0.map(|p| {
                            poll = Some(PollState {
                                next_cursor: p.next_cursor,
                                more: p.more,
                            });
                            p.outputs
                        })
                    }
                    Entry::Ingest { event } => {
                        let f = i.get_typed_func::<IngestParams<'_>, OutputsResult>(
                            &mut *s,
                            &self.exports.ingest,
                        )?;
                        f.call(&mut *s, (&event, &ctx))?.0
                    }
                };
                let r = match returned {
                    Ok(outputs) => Ok(charge_returned(outputs, s)?),
                    Err(e) => Err(e),
                };
                kv_after = s.data_mut().take_kv();
                if s.data().kv_failure().is_some() {
                    wasmtime::bail!("the kv state could not be loaded");
                }
                Ok(r)
            },
        )?;
        // Emitted outputs come first, in emission order; they move, not copy. Both
        // kinds were charged to the output budgets as they came (`emit`,
        // `lift_outputs`).
        let mut all = std::mem::take(&mut captured.emitted);
        all.append(&mut outputs);
        check_outputs(&all)?;
        Ok(CallDone {
            outputs: all,
            captured,
            kv: kv_after,
            poll,
        })
    }
}

/// Charges the outputs a guest returned to what is left of the call's output
/// budgets (count, then bytes, each output its body plus [`OUTPUT_OVERHEAD`]). An
/// overrun is recorded for [`classify`] and ends the call. (What the host copied out
/// of the guest to get here was bounded while it was copied: [`transfer_limit`].)
fn charge_returned(
    outputs: Vec<types::Output>,
    s: &mut Store<StoreData>,
) -> wasmtime::Result<Vec<types::Output>> {
    let (left, mut budget) = (s.data().outputs_left, s.data().output_budget);
    if outputs.len() > left {
        s.data_mut().output_overrun = Some(OutputOverrun::Count(outputs.len()));
        wasmtime::bail!("the call returned more outputs than its limit allows");
    }
    for output in &outputs {
        let cost = output.body.len().saturating_add(OUTPUT_OVERHEAD);
        if cost > budget {
            s.data_mut().output_overrun = Some(OutputOverrun::Bytes { left: budget, cost });
            wasmtime::bail!("the call returned more output bytes than its budget allows");
        }
        budget -= cost;
    }
    s.data_mut().outputs_left = left - outputs.len();
    s.data_mut().output_budget = budget;
    Ok(outputs)
}

/// The most the host copies out of a guest in one transfer — the outputs a call
/// returns, or the arguments of one host call — enforced by wasmtime while it
/// copies (its "hostcall fuel"), before the host allocates: room for a call's whole
/// output budget in as many outputs as it may produce, and a mebibyte to spare.
/// Threat: a guest returning a million empty outputs made the host allocate a
/// record for each before any count could be checked. Past it, the call fails with
/// [`CallError::TransferTooLarge`].
pub fn transfer_limit(limits: &Limits) -> usize {
    const PER_OUTPUT: usize = std::mem::size_of::<types::Output>() + 64;
    limits
        .max_output_bytes
        .max(limits.max_http_request_bytes)
        .saturating_add(limits.max_outputs.saturating_mul(PER_OUTPUT))
        .saturating_add(1 << 20)
}

/// Runs `f` on a fresh instance in a fresh store under `limits`; returns its result
/// and the call's effects. Every guest call goes through here, so misbehaviour is
/// classified in exactly one place.
fn call_in_fresh_store<R>(
    pre: &ConnectorPre<StoreData>,
    engine: &Engine,
    limits: &Limits,
    egress: Egress,
    tags: Option<CallTags>,
    kv: KvState,
    f: impl FnOnce(&Instance, &mut Store<StoreData>) -> wasmtime::Result<Result<R, ConnectorError>>,
) -> Result<(R, Captured), CallError> {
    let mut store = Store::new(engine, StoreData::new(egress, kv, limits));
    store.set_hostcall_fuel(transfer_limit(limits));
    if let Some(tags) = tags {
        store.data_mut().set_tags(tags);
    }
    store.limiter(|s| s);
    // The first deadline is the smaller budget; when it passes, the callback checks
    // the budgets against the clock (time blocked in the host does not count against
    // the CPU deadline) and either extends the deadline by what is left or stops the
    // guest, recording which budget ran out.
    store.set_epoch_deadline(ticks(limits.cpu_deadline.min(limits.wall_clock)));
    store.epoch_deadline_callback(|mut ctx| match ctx.data_mut().clock().next_check() {
        Ok(left) => Ok(wasmtime::UpdateDeadline::Continue(ticks(left))),
        Err(_) => Err(Trap::Interrupt.into()),
    });
    // Instantiation consumes fuel too, so the budget is set before it.
    if let Some(fuel) = limits.fuel
        && let Err(e) = store.set_fuel(fuel)
    {
        return Err(CallError::Trapped(format!("cannot set fuel: {e:#}")));
    }
    // A bare instance: the generated `Connector` would look up and type-check every
    // export on each call; a call needs one (see `Component::call`).
    let outcome = pre
        .instance_pre()
        .instantiate(&mut store)
        .and_then(|instance| f(&instance, &mut store));
    let result = outcome.map_err(|e| classify(&e, store.data(), limits))?;
    store.data_mut().collect_stdio();
    let mut captured = std::mem::take(&mut store.data_mut().captured);
    if let Some(fuel) = limits.fuel {
        captured.fuel_consumed = store.get_fuel().ok().map(|left| fuel.saturating_sub(left));
    }
    result.map(|r| (r, captured)).map_err(CallError::Connector)
}

/// Calls one of the rare exports (`describe`, `validate-config`) through bindgen's
/// `Connector`, with no grants, tags or kv; hot calls go through `Component::call`.
pub(super) fn call_guest<R>(
    pre: &ConnectorPre<StoreData>,
    engine: &Engine,
    limits: &Limits,
    f: impl FnOnce(
        &super::bindings::exports::airlock::connector::guest::Guest,
        &mut Store<StoreData>,
    ) -> wasmtime::Result<Result<R, ConnectorError>>,
) -> Result<R, CallError> {
    call_in_fresh_store(
        pre,
        engine,
        limits,
        Egress::none(),
        None,
        KvState::Loaded(BTreeMap::new()),
        |i, s| f(Connector::new(&mut *s, i)?.airlock_connector_guest(), s),
    )
    .map(|(r, _)| r)
}

/// Epoch ticks covering `d`, at least one.
fn ticks(d: Duration) -> u64 {
    u64::try_from(d.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1)).unwrap_or(u64::MAX)
}

/// The one place a failed call becomes a [`CallError`]. The store's records come
/// first: a denied memory growth surfaces as whatever trap the guest hits next, and
/// both time budgets end in the same interrupt, so the trap alone would misname them.
fn classify(e: &wasmtime::Error, data: &StoreData, limits: &Limits) -> CallError {
    if let Some(why) = data.kv_failure() {
        return CallError::HostUnavailable(format!("the kv state could not be read: {why}"));
    }
    match data.output_overrun {
        Some(OutputOverrun::Count(returned)) => {
            return CallError::TooManyOutputs {
                count: limits.max_outputs - data.outputs_left + returned,
                limit: limits.max_outputs,
            };
        }
        Some(OutputOverrun::Bytes { left, cost }) => {
            return CallError::OutputTooLarge {
                size: limits.max_output_bytes - left + cost,
                limit: limits.max_output_bytes,
            };
        }
        None => {}
    }
    if data.memory_exceeded {
        return CallError::MemoryExceeded {
            limit: limits.memory_bytes,
        };
    }
    match data.clock_overrun() {
        Some(Overrun::Wall) => {
            return CallError::WallClockTimeout {
                limit: limits.wall_clock,
            };
        }
        Some(Overrun::Cpu) => {
            return CallError::Timeout {
                limit: limits.cpu_deadline,
            };
        }
        None => {}
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::Timeout {
            limit: limits.cpu_deadline,
        },
        Some(Trap::StackOverflow) => CallError::StackOverflow,
        Some(Trap::MemoryOutOfBounds) if recursed_into_the_fault(e) => CallError::StackOverflow,
        Some(Trap::OutOfFuel) => CallError::OutOfFuel {
            limit: limits.fuel.unwrap_or(0),
        },
        Some(trap) => CallError::Trapped(trap.to_string()),
        None if transfer_refused(e) => CallError::TransferTooLarge {
            limit: transfer_limit(limits),
        },
        None => CallError::Trapped(format!("{e:#}")),
    }
}

/// Whether wasmtime refused to copy more out of the guest than [`transfer_limit`].
/// Its error type is private, so this reads its message; the hostile guests' tests
/// pin that wording.
fn transfer_refused(e: &wasmtime::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .to_string()
            .contains("fuel allocated for hostcalls has been exhausted")
    })
}

/// Whether an out-of-bounds access was a guest's shadow stack running out. A guest
/// compiled from Rust or C keeps its stack in linear memory below its data
/// (`--stack-first`); deep recursion with large frames drives the stack pointer past
/// the bottom, where it wraps to an address beyond the memory, and the next access
/// traps as out of bounds. wasmtime does not say which address faulted, so this
/// reads the trap's backtrace: one function appearing [`SHADOW_STACK_FRAMES`] times
/// or more among its frames is recursion that ran out of stack.
fn recursed_into_the_fault(e: &wasmtime::Error) -> bool {
    let Some(backtrace) = e.downcast_ref::<wasmtime::WasmBacktrace>() else {
        return false;
    };
    let frames = backtrace.frames();
    // The faulting frame may be a helper (`memset`) the recursion called: any
    // function recurring that often among the frames counts.
    let mut seen: HashMap<u32, usize> = HashMap::new();
    frames.iter().any(|f| {
        let n = seen.entry(f.func_index()).or_default();
        *n += 1;
        *n >= SHADOW_STACK_FRAMES
    })
}

/// How many consecutive frames of the faulting function make an out-of-bounds trap
/// a stack overflow: 16 frames of 64 KiB fill a Rust guest's 1 MiB stack.
const SHADOW_STACK_FRAMES: usize = 8;

/// Checks what the types cannot: an output whose media type is JSON must carry a
/// JSON body, one that claims text or XML must be UTF-8.
fn check_outputs(outputs: &[types::Output]) -> Result<(), CallError> {
    for (i, o) in outputs.iter().enumerate() {
        // Stored as text and shown to readers: no control characters (a NUL would
        // fail every database write it shares a transaction with).
        if o.media_type.len() > 255 || o.media_type.chars().any(char::is_control) {
            return Err(CallError::ContractViolation(format!(
                "output {i} has a media type with control characters or over 255 bytes"
            )));
        }
        let media = o
            .media_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let Some((kind, sub)) = media.split_once('/') else {
            return Err(CallError::ContractViolation(format!(
                "output {i} has the media type `{}`, which is not `type/subtype`",
                o.media_type
            )));
        };
        let json = sub == "json" || sub.ends_with("+json");
        let text = kind == "text" || sub == "xml" || sub.ends_with("+xml");
        if json && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&o.body) {
            return Err(CallError::ContractViolation(format!(
                "output {i} is labelled `{}` but its body is not JSON: {e}",
                o.media_type
            )));
        }
        if text && std::str::from_utf8(&o.body).is_err() {
            return Err(CallError::ContractViolation(format!(
                "output {i} is labelled `{}` but its body is not UTF-8 text",
                o.media_type
            )));
        }
    }
    Ok(())
}
