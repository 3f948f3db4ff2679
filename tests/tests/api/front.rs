//! Slow clients at the front door: a connection that sends nothing, headers a byte
//! at a time, or less body than it declared is closed (or answered 408) after its
//! timeout; past the connection cap new connections are closed on arrival; a
//! long-lived event stream is not cut by any of it.

use std::time::{Duration, Instant};

use airlock_host::api::FrontLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Db, Env};

const TIMEOUT: Duration = Duration::from_millis(600);

async fn env(max_connections: usize) -> Env {
    Env::start_configured(Db::Sqlite, |o| {
        o.front = FrontLimits {
            header_timeout: TIMEOUT,
            body_timeout: TIMEOUT,
            max_connections,
        }
    })
    .await
}

async fn connect(env: &Env) -> TcpStream {
    TcpStream::connect(env.base.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection; what it sent, and when.
async fn until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the connection open for 10 s");
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let env = env(64).await;
    let mut s = connect(&env).await;
    let (_, after) = until_closed(&mut s).await;
    assert!(after >= TIMEOUT - Duration::from_millis(100), "{after:?}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_sent_a_byte_at_a_time_are_cut_off_at_the_header_timeout() {
    let env = env(64).await;
    let mut s = connect(&env).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let started = Instant::now();
    let mut cut = false;
    for b in request {
        if s.write_all(&[*b]).await.is_err() {
            cut = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Sending it all would take > 3 s; the server gave up long before.
    let (answer, _) = until_closed(&mut s).await;
    assert!(cut || !answer.contains("200 OK"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_millis(request.len() as u64 * 50),
        "the server waited for every byte"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_declared_is_answered_408_after_the_body_timeout() {
    let env = env(64).await;
    for path in [
        "/api/connectors/register".to_string(),
        format!("/api/events/ingest/{}/{}", env.tenant, uuid::Uuid::new_v4()),
    ] {
        let mut s = connect(&env).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"",
            env.token
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let (answer, after) = until_closed(&mut s).await;
        if path.starts_with("/api/connectors") {
            assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
            assert!(answer.contains("request_timeout"), "{answer}");
        } else {
            // The ingest route refuses an unknown connector from its headers,
            // before reading the body: an early answer, then the close.
            assert!(answer.starts_with("HTTP/1.1 401"), "{path}: {answer}");
        }
        assert!(after < Duration::from_secs(5), "{path}: {after:?}");
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_are_closed_on_arrival() {
    let env = env(3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(&env).await);
    }
    // Let the server take the three before the fourth arrives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = connect(&env).await;
    let (answer, after) = until_closed(&mut fourth).await;
    assert!(answer.is_empty(), "{answer}");
    assert!(
        after < TIMEOUT / 2,
        "closed after {after:?}, not on arrival"
    );
    // The held ones time out and free their slots; the server serves again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = reqwest::get(env.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_outlives_the_header_timeout() {
    let env = env(64).await;
    let mut stream = env
        .http
        .get(env.url("/api/events/stream"))
        .bearer_auth(&env.token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    // Three header timeouts later the stream is still open: reading it times out
    // on our side (or yields keep-alive comments), it does not end.
    let deadline = Instant::now() + TIMEOUT * 3;
    while Instant::now() < deadline {
        match tokio::time::timeout(deadline - Instant::now(), stream.chunk()).await {
            Err(_) => break,
            Ok(Ok(Some(_))) => continue,
            Ok(other) => panic!("the stream ended: {other:?}"),
        }
    }
    drop(stream);
    env.stop().await;
}
