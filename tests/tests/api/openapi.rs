//! The OpenAPI document against the router: every route is in it and every
//! documented route exists; an independent validator accepts it; and every answer
//! the API tests receive through [`crate::harness::Env::call`] matches the
//! response schema the document gives for its route and status
//! ([`check_answer`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

use crate::harness::{Db, Env};

/// The document the server serves, as JSON.
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::to_value(airlock_host::api::openapi::document()).unwrap())
}

/// The documented path template `path` falls under (the one with the most literal
/// segments when several do).
fn template_of(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    document()["paths"]
        .as_object()?
        .keys()
        .filter_map(|t| {
            let ts: Vec<&str> = t.split('/').collect();
            let fits = ts.len() == segments.len()
                && ts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            fits.then(|| (ts.iter().filter(|t| !t.starts_with('{')).count(), t.clone()))
        })
        .max()
        .map(|(_, t)| t)
}

/// Panics when `body`, answered with `status` to `method path`, does not match the
/// schema the document gives that response (or `default`). Routes the document
/// lacks, methods a route does not take, and answers without a JSON schema (204,
/// SSE) are not checked here: the route tests below cover those.
pub fn check_answer(method: &str, path: &str, status: u16, body: &Value) {
    let path = path.split('?').next().unwrap_or(path);
    let Some(template) = template_of(path) else {
        return;
    };
    let op = &document()["paths"][&template][method.to_ascii_lowercase()];
    if op.is_null() {
        return;
    }
    let responses = &op["responses"];
    let key = if responses.get(status.to_string()).is_some() {
        status.to_string()
    } else {
        "default".to_string()
    };
    let schema = &responses[&key]["content"]["application/json"]["schema"];
    if schema.is_null() {
        return;
    }
    let validator = validator(&format!("{method} {template} {key}"), schema);
    if let Err(e) = validator.validate(body) {
        panic!(
            "{method} {path} answered {status} with a body that does not match the OpenAPI \
             document's schema for `{template}` {key}: {e}\n{body}"
        );
    }
}

/// A compiled validator of `schema`, its `$ref`s resolved in the document's
/// components; cached by `key`.
fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(key) {
        return v.clone();
    }
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("$defs".into(), document()["components"]["schemas"].clone());
    } else {
        root = json!({"allOf": [root], "$defs": document()["components"]["schemas"]});
    }
    let text = root
        .to_string()
        .replace("#/components/schemas/", "#/$defs/");
    let compiled = Arc::new(
        jsonschema::validator_for(&serde_json::from_str(&text).unwrap())
            .unwrap_or_else(|e| panic!("the document's schema for {key} does not compile: {e}")),
    );
    cache
        .lock()
        .unwrap()
        .insert(key.to_string(), compiled.clone());
    compiled
}

/// `(METHOD, /path)` of every `.route(…)` in the API's router sources.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src");
    let mut files = vec![dir.join("api.rs")];
    let mut stack = vec![dir.join("api")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let mut routes = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            // The call's text: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            let call = &rest[..end];
            let path = call.split('"').nth(1).unwrap().to_string();
            let handlers = &call[call.find(',').unwrap()..];
            for method in ["get", "post", "delete", "put", "patch"] {
                let starts = handlers.match_indices(&format!("{method}(")).any(|(i, _)| {
                    let before = handlers[..i].chars().last().unwrap_or(' ');
                    !before.is_alphanumeric() && before != '_'
                });
                if starts {
                    routes.insert((method.to_ascii_uppercase(), path.clone()));
                }
            }
        }
    }
    routes
}

/// `(METHOD, /path)` of every operation in the document.
fn routes_in_document() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (path, item) in document()["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "delete", "put", "patch"].contains(&method.as_str()) {
                routes.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    routes
}

#[test]
fn every_route_of_the_router_is_in_the_document_and_no_other() {
    let source = routes_in_source();
    let documented = routes_in_document();
    assert!(
        source.len() > 25,
        "the scan found too few routes: {source:?}"
    );
    let missing: Vec<_> = source.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&source).collect();
    assert!(
        extra.is_empty(),
        "documented routes the router lacks: {extra:?}"
    );
}

/// Every documented route answers on a live server (not the router's fallback), and
/// the document it serves is the one generated, valid for an independent validator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_valid_and_its_routes_exist() {
    let env = Env::start(Db::Sqlite).await;
    let (s, served) = env.call("GET", "/openapi.json", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(&served, document());
    assert_eq!(served["openapi"], "3.1.0");
    let schemes = served["components"]["securitySchemes"].as_object().unwrap();
    for name in [
        "oauth2",
        "webhookSignature",
        "apiKey",
        "pushBearer",
        "httpSignature",
    ] {
        assert!(schemes.contains_key(name), "security scheme {name}");
    }
    let scopes = &schemes["oauth2"]["flows"]["clientCredentials"]["scopes"];
    assert!(scopes.get("connectors:manage").is_some(), "{scopes}");

    for (method, template) in routes_in_document() {
        let path = template
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let r = env
            .http
            .request(method.parse().unwrap(), env.url(&path))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        assert_ne!(status, 405, "{method} {template}: {text}");
        assert!(
            !(status == 404 && text.contains("no such route")),
            "{method} {template} is documented but not routed"
        );
    }

    // An independent validator (openapi-spec-validator, OpenAPI 3.1).
    let python = std::env::var("AIRLOCK_TEST_PYTHON").unwrap_or_else(|_| {
        panic!("AIRLOCK_TEST_PYTHON is not set: run the suite with scripts/test")
    });
    let file = env.data_dir.join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&served).unwrap()).unwrap();
    let cli = std::path::Path::new(&python).with_file_name("openapi-spec-validator");
    let out = std::process::Command::new(&cli)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    env.stop().await;
}

/// The schema check itself fails on an answer that breaks the document.
#[test]
fn an_answer_that_breaks_its_schema_is_caught() {
    let good = json!({"total": 0, "registered": 0, "active": 0, "degraded": 0, "error": 0,
                      "disabled": 0, "by_category": {}});
    check_answer("GET", "/api/registry/summary", 200, &good);
    let bad = json!({"total": "many"});
    let caught =
        std::panic::catch_unwind(|| check_answer("GET", "/api/registry/summary", 200, &bad));
    assert!(caught.is_err(), "a summary without its counts passed");
    let error = json!({"error": {"code": "not_found", "message": "no such connector"}});
    check_answer("GET", "/api/connectors/abc", 404, &error);
    let caught = std::panic::catch_unwind(|| {
        check_answer("GET", "/api/connectors/abc", 404, &json!({"oops": 1}))
    });
    assert!(caught.is_err(), "an error without its shape passed");
}
