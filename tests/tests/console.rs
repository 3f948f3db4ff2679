//! The web console, driven in Debian's headless Chromium (WebDriver) against a real
//! `airlock serve` (this build's binary) with the four examples preloaded, as
//! `./scripts/run` starts it: sign in, read the fleet, filter the catalogue, deploy
//! `osint-feed` through the form generated from its config schema (an invalid value
//! first, shown at its field), run the AIS decoder's `decode` action from its
//! form, disable a connector with a reason and find it in the audit view, and
//! watch a pushed event arrive in the live events view. Screenshots of each screen
//! go to `target/console-screenshots/`.

use std::path::{Path, PathBuf};

use airlock_tests::webdriver::Browser;
use serde_json::{Value, json};

const SENTENCE: &str = "!AIVDM,1,1,,B,15M67FC000G?ufbE`FepT@3n00Sa,0*5C";

struct Server {
    child: std::process::Child,
    base: String,
    http: reqwest::Client,
    token: String,
    client_id: String,
    client_secret: String,
    tenant: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(clippy::unwrap_used)]
async fn serve(dir: &Path) -> Server {
    let preload = dir.join("preload");
    airlock_tests::preload_examples(&preload);
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let port = airlock_tests::free_port();
    let child = airlock_tests::serve_process(
        &data,
        port,
        None,
        &["--preload".to_string(), preload.display().to_string()],
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    airlock_tests::wait_healthy(&http, &base).await;
    let boot: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("bootstrap.json")).unwrap())
            .unwrap();
    Server {
        token: airlock_tests::bootstrap_token(&http, &base, &boot).await,
        child,
        base,
        http,
        client_id: boot["client_id"].as_str().unwrap().to_string(),
        client_secret: boot["client_secret"].as_str().unwrap().to_string(),
        tenant: boot["tenant_id"].as_str().unwrap().to_string(),
    }
}

impl Server {
    #[allow(clippy::unwrap_used)]
    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Registers an API-key push connector declaring `standard`: its answer
    /// (`id`, `webhook_path`, the credential).
    #[allow(clippy::unwrap_used)]
    async fn register_push(&self, name: &str, category: &str, standard: &str) -> Value {
        self.http
            .post(format!("{}/api/connectors/register", self.base))
            .bearer_auth(&self.token)
            .json(
                &json!({"name": name, "category": category, "auth_method": "api-key",
                          "webhook_url": "https://sender.example/hooks",
                          "output_standard": standard}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Pushes `body` to the push connector `c` with `key` (its API key); the status.
    #[allow(clippy::unwrap_used)]
    async fn push(&self, c: &Value, key: &str, idempotency_key: &str, body: &str) -> u16 {
        self.http
            .post(format!(
                "{}{}",
                self.base,
                c["webhook_path"].as_str().unwrap()
            ))
            .header("x-api-key", key)
            .header("idempotency-key", idempotency_key)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    #[allow(clippy::unwrap_used)]
    async fn id_of(&self, name: &str) -> String {
        let list = self.get(&format!("/api/connectors?search={name}")).await;
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn shots() -> PathBuf {
    let dir = airlock_tests::airlock_bin_dir()
        .parent()
        .map(|t| t.join("console-screenshots"))
        .unwrap_or_else(|| PathBuf::from("console-screenshots"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::unwrap_used)]
async fn an_operator_runs_the_fleet_from_the_console() {
    let dir = std::env::temp_dir().join(format!("airlock-console-{}", uuid::Uuid::new_v4()));
    let server = serve(&dir).await;
    let base = server.base.clone();
    let shots = shots();

    // The page and its assets carry the console's headers.
    for (path, kind) in [
        ("/", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/style.css", "text/css"),
    ] {
        let r = server
            .http
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = r.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let r = server
        .http
        .get(format!("{base}/console/secrets.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let b = Browser::start(1280, 800).await;

    // Sign in: a wrong secret is refused with a sentence, the right one opens the fleet.
    b.goto(&format!("{base}/")).await;
    b.fill(&b.find("#client-id").await, &server.client_id).await;
    b.fill(&b.find("#client-secret").await, "not-the-secret")
        .await;
    b.click(&b.find("form.signin button[type=submit]").await)
        .await;
    b.wait_text("form.signin .form-error", "a refusal", |t| !t.is_empty())
        .await;
    b.screenshot(&shots.join("01-sign-in-refused.png")).await;
    // By keyboard alone: the id field, Tab, the secret, Enter.
    b.fill(&b.find("#client-secret").await, "").await;
    b.fill(
        &b.find("#client-id").await,
        &format!(
            "{}\u{E004}{}\u{E007}",
            server.client_id, server.client_secret
        ),
    )
    .await;
    // No token in any storage a script could read.
    b.wait_text("h1", "the fleet", |t| t == "Fleet").await;
    let stored = b
        .run(
            "return [document.cookie, localStorage.length, sessionStorage.length]",
            vec![],
        )
        .await;
    assert_eq!(stored, json!(["", 0, 0]));

    // The fleet: the right counts, one row per connector.
    b.wait_text(".tile[data-status=total] .count", "4", |t| t == "4")
        .await;
    assert_eq!(b.text_of(".tile[data-status=registered] .count").await, "4");
    assert_eq!(b.all("table.fleet tbody tr").await.len(), 4);
    assert_eq!(
        b.text_of("table.categories tr[data-category=telemetry] td")
            .await,
        "2"
    );
    b.screenshot(&shots.join("02-fleet.png")).await;

    // The catalogue, filtered by category, then searched by name.
    b.click(&b.find("#nav a[href='#/catalogue']").await).await;
    b.wait_text(".result-count", "4 connectors", |t| t == "4 connectors")
        .await;
    b.click(&b.find("#category option[value=telemetry]").await)
        .await;
    b.click(&b.find("form.filters button[type=submit]").await)
        .await;
    b.wait_text(".result-count", "2 connectors", |t| t == "2 connectors")
        .await;
    let mut names = Vec::new();
    for card in b.all(".card h2 a").await {
        names.push(b.text(&card).await);
    }
    names.sort();
    assert_eq!(names, ["ais-decoder", "cap-alerts"]);
    b.screenshot(&shots.join("03-catalogue-telemetry.png"))
        .await;
    b.click(&b.find("#category option[value='']").await).await;
    b.fill(&b.find("#q").await, "osint").await;
    b.click(&b.find("form.filters button[type=submit]").await)
        .await;
    b.wait_text(".result-count", "1 connector", |t| t == "1 connector")
        .await;
    let card = b.text_of(".card[data-connector=osint-feed]").await;
    assert!(
        card.contains("stix-2.1") && card.contains("https://feeds.example.org"),
        "the manifest's standards and hosts: {card}"
    );

    // Deploy osint-feed through the generated form: an invalid URL is shown at its field.
    b.click(&b.find(".card[data-connector=osint-feed] h2 a").await)
        .await;
    b.wait_text("h1", "the connector", |t| t.starts_with("osint-feed"))
        .await;
    b.click(&b.find("a.button[href$='/deploy']").await).await;
    let url = b.find("input[name='/feed_url']").await;
    assert_eq!(b.property(&url, "type").await, "url");
    // A secret is a password field, and the format select offers the schema's enum.
    assert_eq!(
        b.property(&b.find("input[name='/api_key']").await, "type")
            .await,
        "password"
    );
    assert!(b.all("select[name='/format'] option").await.len() >= 2);
    b.fill(&url, "ftp://feeds.example.org/v1/indicators.csv")
        .await;
    b.click(&b.find("form.deploy button[type=submit]").await)
        .await;
    let error = b
        .wait_text(
            "[data-path='/feed_url'] .field-error",
            "an error at feed_url",
            |t| !t.is_empty(),
        )
        .await;
    assert!(error.contains("https"), "{error}");
    assert_eq!(
        b.property(&url, "ariaInvalid").await,
        json!("true"),
        "the field is marked invalid"
    );
    assert_eq!(
        b.run("return document.activeElement.name", vec![]).await,
        json!("/feed_url"),
        "the focus moves to the first invalid field"
    );
    b.screenshot(&shots.join("04-deploy-invalid.png")).await;
    let osint = server.id_of("osint-feed").await;
    let before = server
        .get(&format!("/api/connectors/{osint}/deployments"))
        .await;
    assert_eq!(
        before["items"],
        json!([]),
        "nothing deployed by the refusal"
    );

    b.fill(&url, "https://feeds.example.org/v1/indicators.csv")
        .await;
    b.click(&b.find("input[value='https://feeds.example.org']").await)
        .await;
    // A new target: typed, and what was entered stays.
    b.click(&b.find("#deploy-target-choice option[value='']").await)
        .await;
    b.fill(&b.find("#deploy-target").await, "production").await;
    b.fill(&b.find("input[name='/api_key']").await, "k-123")
        .await;
    b.fill(&b.find("#deploy-schedule").await, "every 5m").await;
    b.click(&b.find("form.deploy button[type=submit]").await)
        .await;
    b.wait_text("#deploy-result", "success", |t| t.starts_with("Deployed"))
        .await;
    b.screenshot(&shots.join("05-deploy-done.png")).await;
    let after = server
        .get(&format!("/api/connectors/{osint}/deployments"))
        .await;
    let d = &after["items"][0];
    assert_eq!(d["target"], "production", "{after}");
    assert_eq!(d["has_secrets"], true);
    assert_eq!(
        d["config"]["feed_url"],
        "https://feeds.example.org/v1/indicators.csv"
    );
    assert_eq!(d["allowed_hosts"], json!(["https://feeds.example.org"]));
    assert_eq!(d["schedule"], "every 5m");
    // Defaults the form showed were sent as they were.
    assert_eq!(d["config"]["format"], "csv");
    // The screen reloaded on the deployed target: change only the schedule, leave
    // the secret empty: the stored secret stays.
    assert_eq!(
        b.property(&b.find("#deploy-target-choice").await, "value")
            .await,
        "production"
    );
    b.find("form.deploy .help").await;
    b.fill(&b.find("#deploy-schedule").await, "every 10m").await;
    b.click(&b.find("form.deploy button[type=submit]").await)
        .await;
    b.wait_text("#deploy-result", "success", |t| t.starts_with("Deployed"))
        .await;
    let again = server
        .get(&format!("/api/connectors/{osint}/deployments"))
        .await;
    let d = &again["items"][0];
    assert_eq!(
        (d["schedule"].clone(), d["has_secrets"].clone()),
        (json!("every 10m"), json!(true)),
        "{again}"
    );
    // A "new" target named like an existing one is refused before anything is sent.
    b.click(&b.find("#deploy-target-choice option[value='']").await)
        .await;
    b.fill(&b.find("#deploy-target").await, "production").await;
    b.click(&b.find("form.deploy button[type=submit]").await)
        .await;
    b.wait_text("#deploy-target-error", "the name taken", |t| {
        t.contains("exists")
    })
    .await;

    // Invoke the AIS decoder's `decode` from its form: an empty input first.
    let ais = server.id_of("ais-decoder").await;
    b.goto(&format!("{base}/#/connectors/{ais}")).await;
    b.click(&b.find("a.button[href$='/actions/decode']").await)
        .await;
    let sentences = b.find("textarea[name='/sentences']").await;
    b.click(&b.find("form button[type=submit]").await).await;
    b.wait_text(
        "[data-path='/sentences'] .field-error",
        "an error at sentences",
        |t| !t.is_empty(),
    )
    .await;
    b.fill(&sentences, SENTENCE).await;
    b.click(&b.find("form button[type=submit]").await).await;
    let shown = b
        .wait_text("#action-result", "the decoded report", |t| {
            t.contains("366053209")
        })
        .await;
    assert!(shown.contains("1 output published"), "{shown}");
    assert!(shown.contains("37.80211833333333"), "{shown}");
    b.screenshot(&shots.join("06-action-decode.png")).await;

    // Disable chat-notifier: a reason is required; then it is in the audit view.
    let chat = server.id_of("chat-notifier").await;
    b.goto(&format!("{base}/#/connectors/{chat}")).await;
    b.click(&b.find("#disable-form button[type=submit]").await)
        .await;
    b.wait_text("#disable-reason-error", "a reason asked for", |t| {
        t.contains("reason is required")
    })
    .await;
    b.fill(
        &b.find("#disable-reason").await,
        "Vendor rotating its webhook",
    )
    .await;
    b.click(&b.find("#disable-form button[type=submit]").await)
        .await;
    b.wait_text("h1 .badge", "disabled", |t| t == "disabled")
        .await;
    let row = b
        .wait_text(
            "table.audit tr[data-action='connector.disable']",
            "the disable in the audit view",
            |t| t.contains("Vendor rotating its webhook"),
        )
        .await;
    assert!(row.contains(&server.client_id), "the actor: {row}");
    b.run(
        "document.getElementById('audit-h').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot(&shots.join("07-connector-audit.png")).await;
    let status = server.get(&format!("/api/connectors/{chat}")).await;
    assert_eq!(status["status"], "disabled");
    // Enable again from the same screen.
    b.click(&b.find("#enable").await).await;
    b.wait_text("h1 .badge", "not disabled", |t| t != "disabled")
        .await;

    // The fleet counts what happened (refreshed on arrival).
    b.click(&b.find("#nav a[href='#/fleet']").await).await;
    b.wait_text(".tile[data-status=active] .count", "1 active", |t| t == "1")
        .await;
    b.wait_text(
        "table.fleet tr[data-connector=ais-decoder]",
        "the decode's heartbeat",
        |t| t.contains("1 recent, 0 failed"),
    )
    .await;
    b.screenshot(&shots.join("08-fleet-after.png")).await;

    // Events: a pushed event appears in the live view.
    let pushed = server
        .register_push("ticket-bridge", "custom", "json")
        .await;
    b.click(&b.find("#nav a[href='#/events']").await).await;
    b.wait_text("#events-state", "live", |t| t.starts_with("Live"))
        .await;
    let first_key = pushed["credential"]["key"].as_str().unwrap();
    let body = r#"{"ticket": 4711, "title": "Suspicious login from a new country"}"#;
    assert_eq!(
        server.push(&pushed, first_key, "ticket-4711", body).await,
        202
    );
    let message = b
        .wait_text("#messages li", "the pushed event", |t| t.contains("4711"))
        .await;
    assert!(
        message.contains(&format!("airlock.{}.json", server.tenant)),
        "{message}"
    );
    assert!(message.contains("\"title\": \"Suspicious login from a new country\""));
    b.screenshot(&shots.join("09-events-live.png")).await;

    // Rotate the push credential: the new key is shown once, and it pushes.
    let bridge = pushed["id"].as_str().unwrap();
    b.goto(&format!("{base}/#/connectors/{bridge}")).await;
    b.click(&b.find("#rotate").await).await;
    b.click(&b.find("#rotate-confirm").await).await;
    let key = b
        .wait_text("#credential-key", "the new key", |t| t.starts_with("alk_"))
        .await;
    assert_ne!(key, first_key);
    assert!(
        b.all("#rotation button").await.len() == 1,
        "one copy button"
    );
    b.screenshot(&shots.join("10-credential-rotated.png")).await;
    assert_eq!(
        server
            .push(&pushed, &key, "ticket-4712", r#"{"ticket": 4712}"#)
            .await,
        202,
        "the rotated key pushes"
    );

    // Quarantine: a STIX bridge's invalid bundle, with the validator's report.
    let stix = server
        .register_push("stix-bridge", "osint", "stix-2.1")
        .await;
    let invalid = r#"{"type": "bundle", "id": "bundle--not-a-uuid", "objects": []}"#;
    let key = stix["credential"]["key"].as_str().unwrap();
    assert_eq!(server.push(&stix, key, "bundle-1", invalid).await, 202);
    let stix_id = stix["id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server
        .get(&format!("/api/connectors/{stix_id}/quarantine"))
        .await["total"]
        != 1
    {
        assert!(std::time::Instant::now() < deadline, "never quarantined");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.goto(&format!("{base}/#/connectors/{stix_id}")).await;
    let report = b
        .wait_text(".quarantine table.report", "the report", |t| {
            t.contains("/id")
        })
        .await;
    assert!(
        report.contains("Rule") && report.contains("Message"),
        "{report}"
    );
    b.run(
        "document.getElementById('quarantine-h').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot(&shots.join("11-quarantine.png")).await;

    // A narrow window: the fleet reflows, nothing wider than the window but tables
    // inside their own scrolling boxes.
    b.resize(480, 900).await;
    b.click(&b.find("#nav a[href='#/fleet']").await).await;
    b.wait_text(".tile[data-status=total] .count", "6", |t| t == "6")
        .await;
    let fits = b
        .run(
            "return document.documentElement.scrollWidth <= window.innerWidth + 1",
            vec![],
        )
        .await;
    assert_eq!(fits, json!(true), "the page scrolls sideways at 480 px");
    b.screenshot(&shots.join("12-fleet-narrow.png")).await;

    // Signing out forgets the token: the next screen is the sign-in form.
    b.click(&b.find("#signout").await).await;
    b.find("form.signin").await;
    b.quit().await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The form generator on its own, in the browser: each kind of JSON Schema gets its
/// widget, the value read back is exactly what was entered (defaults included,
/// emptied optional fields left out), what is not a value is caught before sending,
/// the server's errors land at the field their path names (or the nearest
/// enclosing one), and a secret is never filled in.
#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::unwrap_used)]
async fn forms_are_generated_from_json_schema() {
    let dir = std::env::temp_dir().join(format!("airlock-forms-{}", uuid::Uuid::new_v4()));
    let server = serve(&dir).await;
    let b = Browser::start(1280, 800).await;
    b.goto(&format!("{}/", server.base)).await;
    b.find("#client-id").await;
    let schema = json!({
        "type": "object",
        "required": ["name", "mode"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 40, "description": "What to call it"},
            "mode": {"enum": ["fast", "safe"], "default": "safe"},
            "retries": {"type": "integer", "minimum": 0, "maximum": 5, "default": 2},
            "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "enabled": {"type": "boolean", "default": true},
            "contact": {"type": "string", "format": "email"},
            "endpoint": {"type": "object", "title": "Endpoint", "required": ["url"], "properties": {
                "url": {"type": "string", "format": "uri"},
                "timeout_s": {"type": "integer", "minimum": 1}
            }},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}},
            "extra": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
        }
    });
    let made = b
        .run(
            "const [schema] = arguments; return import('/console/form.js').then(({SchemaForm}) => {
               window.form = new SchemaForm(schema, {name: 't', legend: 'Test'});
               window.secret = new SchemaForm({type: 'object', properties: {token: {type: 'string', default: 'leak'}}},
                 {name: 's', secret: true, value: {token: 'old'}});
               document.getElementById('view').replaceChildren(form.element, secret.element);
               return 'made';
             })",
            vec![schema],
        )
        .await;
    assert_eq!(made, "made");

    // The widgets.
    let widget = |path: &str| format!("[data-path='{path}'] > :is(input, select, textarea)");
    let attrs = "const e = document.querySelector(arguments[0]); return e && [e.tagName, e.type, e.getAttribute('min'), e.getAttribute('max'), e.value];";
    for (path, expect) in [
        ("/name", json!(["INPUT", "text", null, null, ""])),
        ("/mode", json!(["SELECT", "select-one", null, null, "1"])),
        ("/retries", json!(["INPUT", "number", "0", "5", "2"])),
        ("/ratio", json!(["INPUT", "number", "0", "1", ""])),
        ("/enabled", json!(["INPUT", "checkbox", null, null, "on"])),
        ("/contact", json!(["INPUT", "email", null, null, ""])),
        ("/endpoint/url", json!(["INPUT", "url", null, null, ""])),
        ("/extra", json!(["TEXTAREA", "textarea", null, null, ""])),
    ] {
        let got = b.run(attrs, vec![json!(widget(path))]).await;
        assert_eq!(got, expect, "{path}");
    }
    assert_eq!(
        b.text_of("[data-path='/endpoint'] > legend").await,
        "Endpoint"
    );
    assert!(
        b.text_of("[data-path='/name'] .help")
            .await
            .contains("What to call it")
    );
    let label = b
        .run(
            "return document.querySelector(`label[for='${document.querySelector(arguments[0]).id}']`).textContent",
            vec![json!(widget("/name"))],
        )
        .await;
    assert_eq!(label, "name *", "labelled, and marked required");
    // A secret: a password field, never filled in from a value or a default.
    assert_eq!(
        b.run(attrs, vec![json!(widget("/token"))]).await,
        json!(["INPUT", "password", null, null, ""])
    );

    // Untouched: the required fields and the defaults, and no optional object or
    // list that nobody filled in (the endpoint's required url does not pull it in).
    assert_eq!(
        b.run("return form.read()", vec![]).await,
        json!({"value": {"name": "", "mode": "safe", "retries": 2, "enabled": true},
               "problems": [], "filled": false})
    );
    // Keys of the current value the schema does not name go back unchanged.
    let kept = b
        .run(
            "return import('/console/form.js').then(({SchemaForm}) => new SchemaForm(
               {type: 'object', properties: {known: {type: 'string'}}},
               {name: 'k', value: {known: 'a', x_extra: {deep: [1, 2]}}}).read().value)",
            vec![],
        )
        .await;
    assert_eq!(kept, json!({"known": "a", "x_extra": {"deep": [1, 2]}}));

    // Enter values; read them back.
    b.fill(&b.find(&widget("/name")).await, "edge").await;
    b.fill(&b.find(&widget("/ratio")).await, "0.5").await;
    b.fill(&b.find(&widget("/endpoint/url")).await, "https://x.example")
        .await;
    let add = b.find("[data-path='/tags'] > button").await;
    b.click(&add).await;
    b.click(&add).await;
    b.fill(&b.find(&widget("/tags/0")).await, "a").await;
    b.fill(&b.find(&widget("/tags/1")).await, "b").await;
    b.fill(&b.find(&widget("/extra")).await, "42").await;
    let read = b.run("return form.read()", vec![]).await;
    assert_eq!(
        read,
        json!({"value": {"name": "edge", "mode": "safe", "retries": 2, "ratio": 0.5,
                         "enabled": true, "endpoint": {"url": "https://x.example"},
                         "tags": ["a", "b"], "extra": 42},
               "problems": [], "filled": true})
    );
    // Remove the first tag, uncheck the box, empty a default: exactly that changes.
    b.click(&b.find("[data-path='/tags'] li button").await)
        .await;
    b.click(&b.find(&widget("/enabled")).await).await;
    b.fill(&b.find(&widget("/retries")).await, "").await;
    b.fill(&b.find(&widget("/extra")).await, "{not json").await;
    let read = b.run("return form.read()", vec![]).await;
    assert_eq!(
        read["value"],
        json!({"name": "edge", "mode": "safe", "ratio": 0.5, "enabled": false,
               "endpoint": {"url": "https://x.example"}, "tags": ["b"]})
    );
    assert_eq!(read["problems"][0]["path"], "/extra", "{read}");

    // The server's errors, at their fields.
    b.run(
        "form.showErrors([
           {path: '/endpoint/url', message: 'must be https'},
           {path: '/contact', message: 'is required'},
           {path: '/tags/0', message: 'too long'},
           {path: '/nowhere/deeper', message: 'is not allowed'}])",
        vec![],
    )
    .await;
    for (selector, text) in [
        (
            "[data-path='/endpoint/url'] > .field-error",
            "must be https",
        ),
        ("[data-path='/contact'] > .field-error", "is required"),
        ("[data-path='/tags/0'] > .field-error", "too long"),
        (
            "[data-form=t] > .field-error",
            "/nowhere/deeper: is not allowed",
        ),
    ] {
        assert_eq!(b.text_of(selector).await, text, "{selector}");
    }
    assert_eq!(
        b.run(
            "return document.activeElement.getAttribute('aria-invalid')",
            vec![]
        )
        .await,
        "true",
        "the focus is on an invalid field"
    );
    b.run("form.clearErrors()", vec![]).await;
    assert!(b.all("[aria-invalid=true]").await.is_empty());
    b.screenshot(&shots().join("13-generated-form.png")).await;
    b.quit().await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
