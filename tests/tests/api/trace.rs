//! Request ids: echoed when usable, made up otherwise, on every answer.

use crate::harness::{Db, Env};

async fn id_of(env: &Env, path: &str, sent: Option<&str>, token: bool) -> (u16, String) {
    let mut req = env.http.get(env.url(path));
    if let Some(id) = sent {
        req = req.header("x-request-id", id);
    }
    if token {
        req = req.bearer_auth(&env.token);
    }
    let r = req.send().await.unwrap();
    let id = r
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id() {
    let env = Env::start(Db::Sqlite).await;
    // A usable id comes back as sent, on success and on refusals alike.
    for (path, token, status) in [
        ("/api/registry/summary", true, 200),
        ("/api/registry/summary", false, 401),
        ("/no/such/route", false, 404),
    ] {
        let (s, id) = id_of(&env, path, Some("support-ticket-42"), token).await;
        assert_eq!((s, id.as_str()), (status, "support-ticket-42"), "{path}");
    }
    // Without one, or with one that could break a log line, a fresh one.
    for sent in [None, Some("has space"), Some(&*"x".repeat(129))] {
        let (_, id) = id_of(&env, "/healthz", sent, false).await;
        assert_eq!(id.len(), 32, "{sent:?}: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    let (_, a) = id_of(&env, "/healthz", None, false).await;
    let (_, b) = id_of(&env, "/healthz", None, false).await;
    assert_ne!(a, b);
    env.stop().await;
}
