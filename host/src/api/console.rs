//! The web console: `GET /` and its assets under `/console/`, embedded in the
//! binary (hand-written HTML, CSS and JavaScript modules in `host/console/`, no
//! build step and no CDN, so it works offline). The console is a client of the
//! same API as everyone else — GraphQL for the reads that span the fleet, REST for
//! the writes, whose 422 `details` it shows at the fields they name — with the
//! access token held in the page's memory only (no cookie, no storage).
//!
//! Invariants:
//! - Every console answer carries a Content-Security-Policy that allows only this
//!   origin's scripts, styles and connections (no inline script, no `eval`, no
//!   framing), `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
//! - The assets are a fixed list known at compile time: a name outside it is 404.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{ApiError, AppState};

/// What the console's pages may load and reach: this origin only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The page every console screen starts from (the screens are routed in the page).
const INDEX: &str = include_str!("../../console/index.html");

/// The assets: name, content type, text.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/app.js"),
    ),
    (
        "form.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/form.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/dom.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../console/style.css"),
    ),
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/console/{file}", get(asset))
}

#[utoipa::path(get, path = "/", tag = "meta", operation_id = "console",
    responses((status = 200, description = "The web console (HTML; see docs/console.md)", content_type = "text/html", body = String)))]
async fn index() -> Response {
    page("text/html; charset=utf-8", INDEX)
}

#[utoipa::path(get, path = "/console/{file}", tag = "meta", operation_id = "consoleAsset",
    params(("file" = String, Path, description = "An asset of the console (`app.js`, `form.js`, `dom.js`, `style.css`)")),
    responses((status = 200, description = "The asset", content_type = "text/javascript", body = String)))]
async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, text)) => page(content_type, text),
        None => ApiError::not_found("no such console asset").into_response(),
    }
}

/// `text` with the console's headers. Assets are revalidated on every load: they
/// change with the binary, and are small.
fn page(content_type: &'static str, text: &'static str) -> Response {
    let mut response = (StatusCode::OK, text).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-cache"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
