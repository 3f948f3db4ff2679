//! `airlock login --server URL`: signs in to an Airlock server with an OAuth
//! client's credentials and keeps them for `upload` and `connectors`; and the
//! [`Session`] those commands talk to the server through.
//!
//! Invariants:
//! - The client id and secret come from `AIRLOCK_CLIENT_ID` / `AIRLOCK_CLIENT_SECRET`
//!   or a prompt (the secret read without echo on a terminal); never from a flag, so
//!   they stay out of shell history and `ps`.
//! - They are kept in `login.json` under the user's config directory
//!   (`$AIRLOCK_CONFIG_DIR`, else `$XDG_CONFIG_HOME/airlock`, else
//!   `~/.config/airlock`), created with mode 0600 and replaced atomically, as `gh`
//!   and `docker login` keep theirs. The access token is kept beside them and
//!   fetched again half a minute before it expires, or when the server refuses it.
//! - Login checks the credentials by fetching a token: nothing is stored for a
//!   client the server refuses.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The arguments of `airlock login` (its help text is `Command::Login`'s doc).
#[derive(clap::Args)]
pub struct LoginArgs {
    /// The server's base URL (`https://airlock.example.org`).
    #[arg(long)]
    server: String,
}

/// What `login` stores.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    server: String,
    client_id: String,
    client_secret: String,
    access_token: Option<String>,
    /// Seconds since the Unix epoch.
    expires_at: Option<u64>,
    scope: Option<String>,
}

/// Signs in and stores the credentials.
pub fn login(args: &LoginArgs) -> anyhow::Result<ExitCode> {
    let server = args.server.trim_end_matches('/').to_string();
    if !(server.starts_with("https://") || server.starts_with("http://")) {
        bail!("--server must be an http:// or https:// URL, such as https://airlock.example.org");
    }
    let client_id = match std::env::var("AIRLOCK_CLIENT_ID") {
        Ok(v) if !v.is_empty() => v,
        _ => prompt("Client id: ", false)?,
    };
    let client_secret = match std::env::var("AIRLOCK_CLIENT_SECRET") {
        Ok(v) if !v.is_empty() => v,
        _ => prompt("Client secret: ", true)?,
    };
    let mut session = Session {
        agent: agent(),
        stored: Stored {
            server,
            client_id,
            client_secret,
            access_token: None,
            expires_at: None,
            scope: None,
        },
        path: config_dir()?.join("login.json"),
    };
    session.refresh()?;
    let s = &session.stored;
    eprintln!(
        "Logged in to {} as {} (scopes: {}); credentials kept in {}",
        s.server,
        s.client_id,
        s.scope.as_deref().unwrap_or("?"),
        session.path.display()
    );
    println!(
        "{}",
        serde_json::json!({"server": s.server, "client_id": s.client_id, "scope": s.scope,
            "credentials": session.path.display().to_string()})
    );
    Ok(ExitCode::SUCCESS)
}

fn prompt(label: &str, secret: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let value = if secret && stdin.is_terminal() {
        rpassword::prompt_password(label).context("cannot read the secret")?
    } else {
        if stdin.is_terminal() {
            eprint!("{label}");
            std::io::stderr().flush().ok();
        }
        let mut line = String::new();
        stdin.read_line(&mut line).context("cannot read stdin")?;
        line
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        bail!(
            "no {} given: type it, or set AIRLOCK_CLIENT_{}",
            label.trim_end_matches([':', ' ']).to_lowercase(),
            if secret { "SECRET" } else { "ID" }
        );
    }
    Ok(value)
}

/// The user's Airlock config directory.
fn config_dir() -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os("AIRLOCK_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("airlock"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".config/airlock")),
        None => bail!("no config directory: set AIRLOCK_CONFIG_DIR or HOME"),
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout_connect(Duration::from_secs(10))
        // A large component's compile on the server takes a while.
        .timeout_read(Duration::from_secs(600))
        .build()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The server answered "no" (an error status, or nothing of that name): the
/// command exits 1, not 2 (`main.rs` looks for this error).
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// A server's answer: its status and JSON body (`Null` when it had none).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, parsed.
    pub body: Value,
}

impl Answer {
    /// The body when the status is 2xx; else the server's error, as a sentence
    /// ([`Refused`]).
    pub fn ok(self) -> anyhow::Result<Value> {
        if (200..300).contains(&self.status) {
            Ok(self.body)
        } else {
            Err(Refused(self.error_text()).into())
        }
    }

    /// `code: message` of an error body, with the status.
    pub fn error_text(&self) -> String {
        let e = &self.body["error"];
        format!(
            "the server answered {}: {} ({})",
            self.status,
            e["message"].as_str().unwrap_or("no message"),
            e["code"].as_str().unwrap_or("no code")
        )
    }
}

/// A signed-in connection to the server `login` stored.
pub struct Session {
    agent: ureq::Agent,
    stored: Stored,
    path: PathBuf,
}

impl Session {
    /// The session `airlock login` stored.
    pub fn load() -> anyhow::Result<Session> {
        let path = config_dir()?.join("login.json");
        let text = std::fs::read_to_string(&path).map_err(|_| {
            anyhow::anyhow!(
                "not logged in (no {}): run `airlock login --server URL` first",
                path.display()
            )
        })?;
        let stored: Stored = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a login file; log in again", path.display()))?;
        Ok(Session {
            agent: agent(),
            stored,
            path,
        })
    }

    /// The server's base URL.
    pub fn server(&self) -> &str {
        &self.stored.server
    }

    /// A valid access token, fetched again when it expires within 30 s.
    fn token(&mut self) -> anyhow::Result<String> {
        match (&self.stored.access_token, self.stored.expires_at) {
            (Some(t), Some(until)) if unix_now() + 30 < until => Ok(t.clone()),
            _ => self.refresh(),
        }
    }

    /// Fetches a token with the client's credentials and stores it.
    fn refresh(&mut self) -> anyhow::Result<String> {
        let url = format!("{}/oauth/token", self.stored.server);
        let answer = match self.agent.post(&url).send_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &self.stored.client_id),
            ("client_secret", &self.stored.client_secret),
        ]) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => bail!("cannot reach {url}: {e}"),
        };
        let status = answer.status();
        let body: Value =
            serde_json::from_str(&answer.into_string().unwrap_or_default()).unwrap_or(Value::Null);
        if status != 200 {
            bail!(
                "{url} refused the client's credentials ({status}: {})",
                body["error_description"]
                    .as_str()
                    .or(body["error"]["message"].as_str())
                    .or(body["error"].as_str())
                    .unwrap_or("no reason given")
            );
        }
        let token = body["access_token"]
            .as_str()
            .context("the token answer has no access_token")?
            .to_string();
        self.stored.access_token = Some(token.clone());
        self.stored.expires_at = Some(unix_now() + body["expires_in"].as_u64().unwrap_or(60));
        self.stored.scope = body["scope"].as_str().map(str::to_string);
        self.save()?;
        Ok(token)
    }

    /// Writes the login file: 0600, replaced atomically.
    fn save(&self) -> anyhow::Result<()> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let dir = self
            .path
            .parent()
            .context("the login file has no directory")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        // A name of its own, so two commands refreshing at once never write into
        // each other's file; the rename makes one of them win whole.
        let tmp = dir.join(format!(
            ".login.json.{}.{}.tmp",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(serde_json::to_string_pretty(&self.stored)?.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::anyhow!("cannot write {}: {e}", self.path.display())
        })
    }

    /// Sends a request with the session's token (fetched again once if the server
    /// refuses it as expired or revoked). `send` gets the prepared request.
    pub fn call(
        &mut self,
        method: &str,
        path: &str,
        send: &mut dyn FnMut(ureq::Request) -> Result<ureq::Response, Box<ureq::Error>>,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.stored.server);
        let mut renewed = false;
        loop {
            let token = if renewed {
                self.refresh()?
            } else {
                self.token()?
            };
            let req = self
                .agent
                .request(method, &url)
                .set("authorization", &format!("Bearer {token}"));
            let response = match send(req).map_err(|e| *e) {
                Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                Err(e) => bail!("cannot reach {url}: {e}"),
            };
            let status = response.status();
            if status == 401 && !renewed {
                renewed = true;
                continue;
            }
            let text = response.into_string().unwrap_or_default();
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Ok(Answer { status, body });
        }
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> anyhow::Result<Answer> {
        self.call("GET", path, &mut |r| r.call().map_err(Box::new))
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&mut self, path: &str, body: &Value) -> anyhow::Result<Answer> {
        let text = body.to_string();
        self.call("POST", path, &mut |r| {
            r.set("content-type", "application/json")
                .send_string(&text)
                .map_err(Box::new)
        })
    }
}
