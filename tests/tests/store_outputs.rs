//! Publishing outputs on both databases (`Store::record_outputs`, what an invoke's
//! group commit writes): messages and quarantined outputs commit together or not
//! at all, a refused row leaves nothing of its batch behind (the committer then
//! retries call by call on exactly that error), and the connection it failed on
//! goes back to the pool outside any transaction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use airlock_host::store::{MessageFilter, MessageRow, QuarantineRow, Store, StoreError};

fn message(tenant: &str, call: &str, index: i64) -> MessageRow {
    MessageRow {
        seq: 0,
        id: uuid::Uuid::new_v4().to_string(),
        tenant_id: tenant.into(),
        topic: format!("airlock.{tenant}.json"),
        event_type: "json".into(),
        connector_id: "c1".into(),
        source_kind: "call".into(),
        source_id: call.into(),
        source_index: index,
        standard: "json".into(),
        media_type: "application/json".into(),
        body: format!("{{\"n\":{index}}}").into_bytes(),
        published_ms: 1,
    }
}

fn quarantined(tenant: &str, id: &str) -> QuarantineRow {
    QuarantineRow {
        id: id.into(),
        tenant_id: tenant.into(),
        connector_id: "c1".into(),
        call_id: "call-q".into(),
        standard: "stix-2.1".into(),
        media_type: "application/stix+json".into(),
        body: b"{}".to_vec(),
        report: r#"{"valid":false,"errors":[]}"#.into(),
        created_ms: 1,
    }
}

async fn published(store: &Store, tenant: &str) -> Vec<(String, i64)> {
    store
        .messages(MessageFilter {
            tenant_id: tenant,
            event_type: None,
            connector_id: None,
            after: 0,
            limit: 10_000,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.source_id, m.source_index))
        .collect()
}

/// A batch the database refused: the error the committer retries call by call on.
fn assert_refused(result: Result<(), StoreError>) {
    assert!(
        matches!(result, Err(StoreError::Db(sqlx::Error::Database(_)))),
        "{result:?}"
    );
}

async fn outputs_commit_together_or_not_at_all(postgres: bool) {
    let (store, tenant, dir) = airlock_tests::store_with_tenant(postgres, "store-outputs").await;

    // 17 messages (one full 16-row statement and a single) and two quarantined.
    let batch: Vec<MessageRow> = (0..17).map(|i| message(&tenant, "call-1", i)).collect();
    let q = [quarantined(&tenant, "q1"), quarantined(&tenant, "q2")];
    store
        .record_outputs(
            &batch.iter().collect::<Vec<_>>(),
            &q.iter().collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let expected: Vec<(String, i64)> = (0..17).map(|i| ("call-1".to_string(), i)).collect();
    assert_eq!(published(&store, &tenant).await, expected);
    let (rows, total) = store.quarantined(&tenant, "c1", 10, 0).await.unwrap();
    assert_eq!(total, 2);
    assert!(
        rows.iter()
            .any(|r| r.id == "q1" && r.report.contains("valid"))
    );

    // The same source and index again is not published twice, and is no error.
    let again = message(&tenant, "call-1", 3);
    store.record_outputs(&[&again], &[]).await.unwrap();
    assert_eq!(published(&store, &tenant).await.len(), 17);

    // A batch with a row the database refuses (a quarantine id already stored,
    // placed last so the messages before it were written in the transaction)
    // fails as a database error and leaves none of its rows.
    let doomed: Vec<MessageRow> = (0..5).map(|i| message(&tenant, "call-2", i)).collect();
    let refused = quarantined(&tenant, "q1");
    assert_refused(
        store
            .record_outputs(&doomed.iter().collect::<Vec<_>>(), &[&refused])
            .await,
    );
    assert_eq!(published(&store, &tenant).await.len(), 17);
    assert_eq!(store.quarantined(&tenant, "c1", 10, 0).await.unwrap().1, 2);

    // A message of a tenant that does not exist, after a valid one: the valid
    // one is not published either.
    let beside = message(&tenant, "call-3", 0);
    let orphan = message("no-such-tenant", "call-3", 1);
    assert_refused(store.record_outputs(&[&beside, &orphan], &[]).await);
    assert_eq!(published(&store, &tenant).await.len(), 17);

    // Every pooled connection is usable and outside a transaction afterwards: a
    // connection left inside one would hold SQLite's write lock, and these
    // commits (more than the pool's connections, some concurrent) would wait
    // for it and fail.
    let mut writers = Vec::new();
    for n in 0..24 {
        let (store, tenant) = (store.clone(), tenant.clone());
        writers.push(tokio::spawn(async move {
            let rows: Vec<MessageRow> = (0..3)
                .map(|i| message(&tenant, &format!("after-{n}"), i))
                .collect();
            store
                .record_outputs(&rows.iter().collect::<Vec<_>>(), &[])
                .await
        }));
    }
    for w in writers {
        w.await.unwrap().unwrap();
    }
    assert_eq!(published(&store, &tenant).await.len(), 17 + 24 * 3);
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

airlock_tests::on_both_databases!(outputs_commit_together_or_not_at_all);
