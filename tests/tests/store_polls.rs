//! The poll store on both databases: a poll commits only under its lease and from
//! the count it started at, and a deployment keeps its newest 1 000 poll records.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use airlock_host::store::{DeploymentRow, NewConnector, PollFinish, PollRow, Polling, Rows, Store};

async fn store(postgres: bool) -> (Store, String, std::path::PathBuf) {
    let (store, tenant, dir) = airlock_tests::store_with_tenant(postgres, "store-polls").await;
    let mut tx = store.begin(Rows::All).await.unwrap();
    Store::insert_connector(
        &mut tx,
        &NewConnector {
            id: "c1",
            tenant_id: &tenant,
            name: "c",
            category: "custom",
            description: "",
            webhook_url: None,
            auth_method: None,
            output_standard: None,
        },
    )
    .await
    .unwrap();
    Store::upsert_deployment(
        &mut tx,
        &DeploymentRow {
            connector_id: "c1".into(),
            target: "default".into(),
            version: "0.1.0".into(),
            config: "{}".into(),
            secrets: None,
            allowed_hosts: "[]".into(),
            allowed_networks: "[]".into(),
            limits: "{}".into(),
            schedule: Some("every 1s".into()),
            created_ms: 1,
            updated_ms: 1,
            polling: Polling {
                next_poll_ms: Some(1),
                ..Polling::default()
            },
            held: None,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (store, tenant, dir)
}

fn record(tenant: &str, n: i64) -> PollRow {
    PollRow {
        id: format!("p{n}"),
        tenant_id: tenant.into(),
        connector_id: "c1".into(),
        target: "default".into(),
        started_ms: 1000 + n,
        finished_ms: 1000 + n,
        outcome: "empty".into(),
        outputs: 0,
        published: 0,
        quarantined: 0,
        cursor_before: Some(n.to_string()),
        cursor_after: Some((n + 1).to_string()),
        error: None,
        started_by: "schedule".into(),
        node: "n1".into(),
    }
}

async fn commits_need_the_lease_and_old_polls_are_pruned(postgres: bool) {
    let (store, tenant, dir) = store(postgres).await;
    let finish = |n: i64| PollFinish {
        cursor_after: Some((n + 1).to_string()),
        keep_lease_until_ms: Some(i64::MAX / 2),
        ..PollFinish::default()
    };
    // Not leased: nothing commits.
    assert!(
        !store
            .finish_poll("n1", 0, &record(&tenant, 0), &finish(0))
            .await
            .unwrap()
    );
    let claims = store.claim_due("n1", 10, 1_000_000, 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    // Another node cannot take it while leased.
    assert!(
        store
            .claim_due("n2", 20, 1_000_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .take_lease("c1", "default", "n2", 20, 1_000_000)
            .await
            .unwrap()
    );
    // From the wrong count, or by another node: nothing commits.
    assert!(
        !store
            .finish_poll("n1", 5, &record(&tenant, 0), &finish(0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .finish_poll("n2", 0, &record(&tenant, 0), &finish(0))
            .await
            .unwrap()
    );
    for n in 0..1100 {
        assert!(
            store
                .finish_poll("n1", n, &record(&tenant, n), &finish(n))
                .await
                .unwrap(),
            "poll {n}"
        );
    }
    let kept = store.polls(&tenant, "c1", "default", 5000).await.unwrap();
    assert_eq!(kept.len(), 1000, "the newest 1 000 are kept");
    assert_eq!(kept[0].id, "p1099");
    assert_eq!(kept[999].id, "p100");
    let last = store.last_polls(&tenant, "c1").await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0].id, "p1099");
    // A change of the deployment while a poll runs: that poll can no longer commit
    // (its count is stale and its lease is gone), so it cannot undo the change.
    let mut tx = store.begin(Rows::All).await.unwrap();
    let current = store.deployments(&tenant, "c1").await.unwrap().remove(0);
    Store::upsert_deployment(&mut tx, &current).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        !store
            .finish_poll("n1", 1100, &record(&tenant, 1100), &finish(1100))
            .await
            .unwrap()
    );
    assert!(
        store
            .take_lease("c1", "default", "n1", 40, 1_000_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_poll("n1", 1101, &record(&tenant, 1101), &finish(1101))
            .await
            .unwrap()
    );
    // A restarted node releases what it held; then the other node may take it.
    assert_eq!(store.release_leases_of("n1").await.unwrap(), 1);
    assert!(
        store
            .take_lease("c1", "default", "n2", 30, 1_000_000)
            .await
            .unwrap()
    );
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

airlock_tests::on_both_databases!(commits_need_the_lease_and_old_polls_are_pruned);
