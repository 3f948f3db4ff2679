//! The three ways into a connector — `invoke`, `poll` with a cursor, `ingest` of a
//! pushed event — each through the real runtime, with typed results.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use airlock_host::runtime::bindings::airlock::connector::types::ConnectorError;
use airlock_host::runtime::{
    CallDone, CallError, CallRequest, Component, Entry, InboundEvent, Limits, PollState,
};
use airlock_tests::guests;
use serde_json::{Value, json};

fn load(path: &str) -> Component {
    airlock_tests::load_guest(path, Limits::default()).1
}

fn call(component: &Component, entry: Entry<'_>) -> Result<CallDone, CallError> {
    component.call(CallRequest::local(entry, "{}"))
}

fn body(done: &CallDone, i: usize) -> Value {
    serde_json::from_slice(&done.outputs[i].body).unwrap()
}

#[test]
fn a_poll_returns_its_outputs_the_next_cursor_and_whether_more_is_ready() {
    let probe = load(guests::PROBE);
    let first = call(&probe, Entry::Poll { cursor: None }).unwrap();
    assert_eq!(body(&first, 0), json!({"page": 0}));
    assert_eq!(
        first.poll,
        Some(PollState {
            next_cursor: Some("1".into()),
            more: true
        })
    );
    let last = call(&probe, Entry::Poll { cursor: Some("2") }).unwrap();
    assert_eq!(body(&last, 0), json!({"page": 2}));
    assert!(!last.poll.unwrap().more);
    // A bad cursor is the connector's typed error; invoke calls carry no poll state.
    let err = call(&probe, Entry::Poll { cursor: Some("x") }).unwrap_err();
    assert!(
        matches!(err, CallError::Connector(ConnectorError::InvalidInput(_))),
        "{err:?}"
    );
    let done = call(
        &probe,
        Entry::Invoke {
            action: "work",
            input: "{}",
        },
    )
    .unwrap();
    assert!(done.poll.is_none());
}

#[test]
fn a_connector_that_does_not_poll_answers_unsupported() {
    let hostile = load(guests::HOSTILE);
    let err = call(&hostile, Entry::Poll { cursor: None }).unwrap_err();
    assert!(
        matches!(err, CallError::Connector(ConnectorError::Unsupported(_))),
        "{err:?}"
    );
}

#[test]
fn ingest_transforms_a_pushed_event() {
    let ais = load(guests::AIS_DECODER);
    let done = call(
        &ais,
        Entry::Ingest {
            event: InboundEvent {
                id: "evt-1".into(),
                content_type: "text/plain".into(),
                body: b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\n".to_vec(),
                received_at_ms: 1_700_000_000_000,
            },
        },
    )
    .unwrap();
    assert_eq!(done.outputs.len(), 1);
    assert_eq!(body(&done, 0)["mmsi"], 371798000);
    let err = call(
        &ais,
        Entry::Ingest {
            event: InboundEvent {
                id: "evt-2".into(),
                content_type: "application/octet-stream".into(),
                body: vec![0xff, 0xfe, 0x00],
                received_at_ms: 0,
            },
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, CallError::Connector(ConnectorError::InvalidInput(_))),
        "{err:?}"
    );
}

/// A lazily loaded kv state costs nothing to a call that never touches kv, is read
/// once by a call that does (and reported before and after), and a failed read is
/// an error the guest sees, not a trap.
#[test]
fn kv_state_is_read_only_when_the_guest_uses_kv() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use airlock_host::runtime::{KvError, KvMap, KvState};

    let probe = load(guests::PROBE);
    let reads = Arc::new(AtomicUsize::new(0));
    let lazy = |state: Result<KvMap, String>| {
        let reads = reads.clone();
        KvState::Lazy(Box::new(move || {
            reads.fetch_add(1, Ordering::SeqCst);
            state.map_err(KvError)
        }))
    };
    let stored: KvMap = [("count".to_string(), b"41".to_vec())].into();
    let run = |action: &str, kv: KvState| {
        probe.call(CallRequest {
            kv,
            ..CallRequest::local(
                Entry::Invoke {
                    action,
                    input: "{}",
                },
                "{}",
            )
        })
    };

    let done = run("work", lazy(Ok(stored.clone()))).unwrap();
    assert_eq!(reads.load(Ordering::SeqCst), 0, "work touches no kv");
    assert!(done.kv.is_none());

    let done = run("count", lazy(Ok(stored.clone()))).unwrap();
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    assert_eq!(body(&done, 0), json!({"count": 42}));
    let kv = done.kv.unwrap();
    assert_eq!(kv.before, stored);
    assert_eq!(kv.after["count"], b"42");

    // A state that cannot be read fails the call as the host's fault, whatever
    // the guest made of its failed kv call: nothing it did is kept without it.
    let failed = run("count", lazy(Err("the database is away".into())));
    assert!(
        matches!(&failed, Err(CallError::HostUnavailable(_))),
        "{failed:?}"
    );
    assert!(
        format!("{failed:?}").contains("the database is away"),
        "{failed:?}"
    );
}
