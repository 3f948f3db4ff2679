//! `airlock push`: sends events to a push connector's webhook as an external system
//! would, signed with the connector's authentication method, one event per file.
//!
//! Invariants:
//! - Signing and sending are the library's (`airlock_host::sender`); this module
//!   turns flags into a `SenderAuth` and prints one JSON line per event.
//! - A usage error names the flag that is missing or wrong (and its environment
//!   variable, for the secrets), before anything is sent.
//! - Secrets are best given through the environment: clap reads them there and
//!   hides their values in `--help`.

use std::path::PathBuf;
use std::process::ExitCode;

use airlock_host::vocab::AuthMethod;

use super::read;

/// The arguments of `airlock push` (its help text is `Command::Push`'s doc).
#[derive(clap::Args)]
pub struct PushArgs {
    /// The webhook path's full URL (registration's `webhook_path` on the server),
    /// or `…/api/events/ingest` with `--connector`.
    #[arg(long)]
    to: String,
    /// The connector id, sent as `X-Connector-Id`.
    #[arg(long)]
    connector: Option<String>,
    /// `hmac-sha256`, `api-key`, `oauth2` or `rsa`.
    #[arg(long)]
    auth: String,
    /// HMAC: the `whsec_…` secret.
    #[arg(long, env = "AIRLOCK_PUSH_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// API key: the `alk_…` key.
    #[arg(long, env = "AIRLOCK_PUSH_KEY", hide_env_values = true)]
    key: Option<String>,
    /// OAuth2: the client id.
    #[arg(long)]
    client_id: Option<String>,
    /// OAuth2: the client secret.
    #[arg(long, env = "AIRLOCK_PUSH_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// OAuth2: the token URL registration returned.
    #[arg(long)]
    token_url: Option<String>,
    /// RSA: the key id registration returned.
    #[arg(long)]
    key_id: Option<String>,
    /// RSA: a PEM file holding the private key whose public half was registered.
    #[arg(long, env = "AIRLOCK_PUSH_PRIVATE_KEY_FILE", hide_env_values = true)]
    private_key: Option<PathBuf>,
    /// RSA: `rsa-pss-sha512` or `rsa-v1_5-sha256`.
    #[arg(long, default_value = "rsa-pss-sha512")]
    alg: String,
    /// The event id (idempotency key) when pushing one file; fresh ids otherwise.
    #[arg(long)]
    event_id: Option<String>,
    /// The events' content type.
    #[arg(long, default_value = "application/json")]
    content_type: String,
    /// The events (`-` reads stdin).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// `airlock push`: exit 0 when every event was accepted, 1 when any was refused,
/// 2 on a usage, I/O or network error (which stops the run).
pub fn push(args: PushArgs) -> ExitCode {
    use airlock_host::sender::{Sender, SenderAuth};
    let PushArgs {
        to,
        connector,
        auth,
        secret,
        key,
        client_id,
        client_secret,
        token_url,
        key_id,
        private_key,
        alg,
        event_id,
        content_type,
        files,
    } = args;
    let need =
        |v: Option<String>, flag: &str| v.ok_or_else(|| format!("--auth {auth} needs {flag}"));
    let method = match auth.parse::<AuthMethod>() {
        Ok(m) => m,
        Err(_) => {
            eprintln!(
                "error: unknown --auth `{auth}`: use {}",
                airlock_host::vocab::either(AuthMethod::NAMES)
            );
            return ExitCode::from(2);
        }
    };
    let sender_auth = match method {
        AuthMethod::HmacSha256 => {
            need(secret, "--secret (or AIRLOCK_PUSH_SECRET)").map(SenderAuth::Hmac)
        }
        AuthMethod::ApiKey => need(key, "--key (or AIRLOCK_PUSH_KEY)").map(SenderAuth::ApiKey),
        AuthMethod::Oauth2 => (|| {
            Ok(SenderAuth::OAuth2 {
                client_id: need(client_id, "--client-id")?,
                client_secret: need(
                    client_secret,
                    "--client-secret (or AIRLOCK_PUSH_CLIENT_SECRET)",
                )?,
                token_url: need(token_url, "--token-url")?,
            })
        })(),
        AuthMethod::Rsa => (|| {
            let key_id = need(key_id, "--key-id")?;
            let file = need(
                private_key.map(|p| p.display().to_string()),
                "--private-key FILE (or AIRLOCK_PUSH_PRIVATE_KEY_FILE)",
            )?;
            let alg = airlock_host::auth::httpsig::Alg::from_name(&alg)
                .ok_or_else(|| format!("--alg {alg}: use rsa-pss-sha512 or rsa-v1_5-sha256"))?;
            let pem =
                std::fs::read_to_string(&file).map_err(|e| format!("--private-key {file}: {e}"))?;
            SenderAuth::rsa(key_id, &pem, alg).map_err(|e| format!("--private-key {file}: {e}"))
        })(),
    };
    let sender_auth = match sender_auth {
        Ok(a) => a,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if event_id.is_some() && files.len() > 1 {
        eprintln!("error: --event-id names one event; give one file");
        return ExitCode::from(2);
    }
    let mut sender = Sender::new(to, connector, sender_auth);
    let mut refused = false;
    for file in &files {
        let body = match read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        match sender.send(&body, &content_type, event_id.as_deref()) {
            Ok(sent) => {
                refused |= sent.status != 202;
                let mut line =
                    serde_json::json!({"file": file.display().to_string(), "status": sent.status});
                if let (Some(o), Some(a)) = (line.as_object_mut(), sent.answer.as_object()) {
                    o.extend(a.clone());
                }
                println!("{line}");
            }
            Err(e) => {
                eprintln!("error: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::from(u8::from(refused))
}
