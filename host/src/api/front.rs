//! The front door's connection policy: how long a client may take to send its
//! headers and its body, and how many connections are open at once.
//!
//! Threats: a client that opens connections and sends nothing, sends its headers a
//! byte a second, or declares `Content-Length: 1000` and sends two bytes, holds a
//! connection (a task, a socket, a file descriptor) for as long as it likes; enough
//! of them exhaust the node. So:
//! - the headers of each request must arrive within [`FrontLimits::header_timeout`]
//!   of the server starting to wait for them — which is also how long an idle
//!   keep-alive connection stays open between requests (hyper starts the same timer
//!   for both);
//! - a request's whole body must arrive within [`FrontLimits::body_timeout`] of its
//!   headers ([`DeadlineBody`]; a handler reading it then answers 408
//!   `request_timeout` and the connection closes);
//! - at most [`FrontLimits::max_connections`] connections are served at once; past
//!   it a new connection is closed at once and counted in the log, never queued.
//!
//! Invariant: these bound what a client holds, never what a handler may take: a
//! long invoke or an event stream is not cut by them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::Request;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// Connection limits, with their flags' defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontLimits {
    /// Time to receive a request's headers, and the longest an idle keep-alive
    /// connection stays open (`--header-timeout-ms`, default 20 s).
    pub header_timeout: Duration,
    /// Time to receive a request's whole body after its headers
    /// (`--body-timeout-ms`, default 60 s).
    pub body_timeout: Duration,
    /// Connections served at once (`--max-connections`, default 1 024).
    pub max_connections: usize,
}

impl Default for FrontLimits {
    fn default() -> Self {
        FrontLimits {
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes, then stops
/// accepting and waits for the open connections to finish their requests (at most
/// `GRACE`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: FrontLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    /// How long a stopping server waits for requests in flight.
    const GRACE: Duration = Duration::from_secs(10);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Told to every connection when the server stops: finish the request in
    // flight, then close. (hyper-util's GracefulShutdown cannot watch a
    // connection that may be upgraded to a WebSocket.)
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut refused: u64 = 0;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, say: wait a little rather than spin.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused += 1;
            let n = refused;
            // One line per 1 000 refusals at most, so a flood does not flood the log.
            if n % 1000 == 1 {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    refused = n,
                    "connection refused: the server is serving as many as --max-connections allows"
                );
            }
            drop(stream);
            continue;
        };
        let (stream, peer) = stream;
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let body_timeout = limits.body_timeout;
        let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
            // A request without a body (a GET) needs no deadline timer.
            let mut req = req.map(|b| {
                if b.is_end_stream() {
                    Body::new(b)
                } else {
                    Body::new(DeadlineBody::new(b, body_timeout))
                }
            });
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            app.clone().oneshot(req)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service)
            // GraphQL subscriptions switch the connection to a WebSocket.
            .with_upgrades();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            // A timed-out or reset connection is the client's business, not an error.
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stopped(&mut stop) => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    // Every slot back means every connection has closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(GRACE, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = GRACE.as_secs(),
            "connections still open after the grace period were closed"
        );
    }
    Ok(())
}

/// Returns once the server is stopping (or its stop signal is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = *stop.borrow_and_update();
        if now || stop.changed().await.is_err() {
            return;
        }
    }
}

/// A request body that must arrive whole by a deadline set when the headers did.
/// Past it, reading fails with [`BodyDeadline`].
pub struct DeadlineBody<B> {
    body: B,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

impl<B> DeadlineBody<B> {
    /// `body`, due within `timeout` from now.
    pub fn new(body: B, timeout: Duration) -> Self {
        DeadlineBody {
            body,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        }
    }
}

/// The request body did not arrive by its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s of its headers", .0.as_secs())]
pub struct BodyDeadline(pub Duration);

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            let timeout = self.timeout;
            return Poll::Ready(Some(Err(Box::new(BodyDeadline(timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Whether reading a body failed because it missed its deadline.
pub fn missed_deadline(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<BodyDeadline>() {
            return true;
        }
        cause = e.source();
    }
    false
}
