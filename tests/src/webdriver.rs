//! A small W3C WebDriver client over HTTP, driving Debian's headless Chromium
//! through its `chromedriver` (both from the packages `chromium` and
//! `chromium-driver`, which `scripts/test` installs). Only what the console's
//! browser tests need: navigate, find, click, type, read, run a script, resize and
//! take screenshots.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running `chromedriver` and one browser session; both end when it drops.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    base: String,
    profile: std::path::PathBuf,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts `chromedriver` on a free port and a headless Chromium of `width`×`height`.
    #[allow(clippy::panic, clippy::unwrap_used)] // a test fixture: fail loudly
    pub async fn start(width: u32, height: u32) -> Browser {
        for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: install Debian's chromium and chromium-driver \
                 (`apt-get install -y chromium chromium-driver`; scripts/test does)"
            );
        }
        let port = crate::free_port();
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("airlock-chromium-{}", uuid::Uuid::new_v4()));
        // Headless, and quiet on a closed network: no background connections.
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-extensions".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {r}"))
            .to_string();
        Browser {
            driver,
            http,
            session,
            base,
            profile,
        }
    }

    #[allow(clippy::panic, clippy::unwrap_used)]
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r: Value = req.send().await.unwrap().json().await.unwrap();
        if r["value"].get("error").is_some() {
            panic!("webdriver {path}: {}", r["value"]);
        }
        r["value"].clone()
    }

    /// Like `call`, but a WebDriver error is `None` (e.g. no such element yet).
    async fn try_call(&self, method: reqwest::Method, path: &str, body: Value) -> Option<Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if !body.is_null() {
            req = req.json(&body);
        }
        let r: Value = req.send().await.ok()?.json().await.ok()?;
        if r["value"].get("error").is_some() {
            None
        } else {
            Some(r["value"].clone())
        }
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    /// The elements matching the CSS `selector` now.
    pub async fn all(&self, selector: &str) -> Vec<Element> {
        let found = self
            .try_call(
                reqwest::Method::POST,
                "/elements",
                json!({"using": "css selector", "value": selector}),
            )
            .await
            .unwrap_or(Value::Null);
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|id| Element(id.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching `selector`, waiting up to 20 s for it.
    #[allow(clippy::panic)]
    pub async fn find(&self, selector: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(e) = self.all(selector).await.into_iter().next() {
                return e;
            }
            if Instant::now() > deadline {
                let text = self.text_of("body").await;
                let log = self.console_log().await;
                panic!(
                    "no element matches `{selector}` after 20 s; the page says:\n{text}\n\
                     its console:\n{log}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to 20 s until the text of the first element matching `selector`
    /// satisfies `ok`; returns that text.
    #[allow(clippy::panic)]
    pub async fn wait_text(&self, selector: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut last = String::new();
        loop {
            if let Some(e) = self.all(selector).await.into_iter().next() {
                last = self.text(&e).await;
                if ok(&last) {
                    return last;
                }
            }
            if Instant::now() > deadline {
                let text = self.text_of("body").await;
                let log = self.console_log().await;
                panic!(
                    "`{selector}` never showed {what}; its text was {last:?}; the page \
                     says:\n{text}\nits console:\n{log}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the page wrote to its console, and its errors, one per line.
    pub async fn console_log(&self) -> String {
        let log = self
            .try_call(reqwest::Method::POST, "/se/log", json!({"type": "browser"}))
            .await
            .unwrap_or(Value::Null);
        log.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| format!("{} {}", e["level"], e["message"]))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// The visible text of `e`.
    pub async fn text(&self, e: &Element) -> String {
        self.try_call(
            reqwest::Method::GET,
            &format!("/element/{}/text", e.0),
            Value::Null,
        )
        .await
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
    }

    /// The visible text of the first element matching `selector` ("" if none).
    pub async fn text_of(&self, selector: &str) -> String {
        match self.all(selector).await.into_iter().next() {
            Some(e) => self.text(&e).await,
            None => String::new(),
        }
    }

    /// The DOM property `name` of `e` (e.g. `value`).
    pub async fn property(&self, e: &Element, name: &str) -> Value {
        self.call(
            reqwest::Method::GET,
            &format!("/element/{}/property/{name}", e.0),
            None,
        )
        .await
    }

    /// Clicks `e`.
    pub async fn click(&self, e: &Element) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/click", e.0),
            Some(json!({})),
        )
        .await;
    }

    /// Clears `e` and types `text` into it.
    pub async fn fill(&self, e: &Element, text: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/clear", e.0),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn run(&self, script: &str, args: Vec<Value>) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Resizes the window.
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Saves a PNG of the viewport to `path`.
    #[allow(clippy::unwrap_used)]
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Browser {
    /// Ends the session (and with it the browser) and the driver.
    pub async fn quit(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
        // Drop stops the driver and anything left of the browser.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // A browser the driver left behind (a test that panicked mid-session).
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(self.profile.display().to_string())
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
