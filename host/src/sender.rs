//! The sending side of push connectors: what `airlock push` runs, and what a Rust
//! program can use to push events to Airlock.
//!
//! [`Sender`] signs each event with the connector's method — Standard Webhooks
//! HMAC-SHA256 (a fresh `webhook-id` unless one is given, the current timestamp),
//! an API key, or an OAuth2 access token that it fetches with the client
//! credentials grant, keeps until shortly before it expires, and fetches again
//! once if the server says the token is no longer good. Blocking (ureq); no
//! redirects are followed.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::auth::push::{sign_webhook, webhook_key};

/// How a sender authenticates. `Debug` names the method, never the secret.
#[derive(Clone)]
pub enum SenderAuth {
    /// A `whsec_…` secret.
    Hmac(String),
    /// An `alk_…` key.
    ApiKey(String),
    /// An OAuth2 client of the connector.
    OAuth2 {
        /// The client id.
        client_id: String,
        /// Its secret.
        client_secret: String,
        /// Where tokens come from (`…/oauth/token`).
        token_url: String,
    },
    /// An RSA key pair whose public half was registered (RFC 9421 signatures).
    Rsa {
        /// The key id registration returned.
        key_id: String,
        /// The private key.
        private_key: std::sync::Arc<rsa::RsaPrivateKey>,
        /// The signature algorithm.
        alg: crate::auth::httpsig::Alg,
    },
}

impl SenderAuth {
    /// RSA from a PEM private key (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`).
    pub fn rsa(
        key_id: String,
        pem: &str,
        alg: crate::auth::httpsig::Alg,
    ) -> Result<SenderAuth, String> {
        use rsa::pkcs1::DecodeRsaPrivateKey as _;
        use rsa::pkcs8::DecodePrivateKey as _;
        let pem = pem.trim();
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|_| "the private key is not an RSA private key in PEM".to_string())?;
        Ok(SenderAuth::Rsa {
            key_id,
            private_key: std::sync::Arc::new(key),
            alg,
        })
    }
}

impl std::fmt::Debug for SenderAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SenderAuth::Hmac(_) => f.write_str("Hmac(<redacted>)"),
            SenderAuth::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            SenderAuth::Rsa { key_id, alg, .. } => f
                .debug_struct("Rsa")
                .field("key_id", key_id)
                .field("alg", alg)
                .finish_non_exhaustive(),
            SenderAuth::OAuth2 {
                client_id,
                token_url,
                ..
            } => f
                .debug_struct("OAuth2")
                .field("client_id", client_id)
                .field("token_url", token_url)
                .finish_non_exhaustive(),
        }
    }
}

/// What the server answered one push.
#[derive(Debug, Clone)]
pub struct Sent {
    /// HTTP status (202 when accepted).
    pub status: u16,
    /// The JSON answer: `{"id", "duplicate"}` or `{"error": {"code", "message"}}`.
    pub answer: Value,
}

/// Pushes events to one ingest URL.
pub struct Sender {
    url: String,
    connector: Option<String>,
    auth: SenderAuth,
    agent: ureq::Agent,
    token: Option<(String, Instant)>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, key or token.
        f.debug_struct("Sender")
            .field("url", &self.url)
            .field("connector", &self.connector)
            .finish_non_exhaustive()
    }
}

/// A sender's failure to reach the server or to get a token.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The secret is not a `whsec_…` secret.
    #[error("the HMAC secret is not a whsec_… secret")]
    BadSecret,
    /// The server could not be reached, or answered something unreadable.
    #[error("{0}")]
    Transport(String),
    /// The token endpoint refused the client.
    #[error("the token endpoint refused the client: {0}")]
    Token(String),
}

impl Sender {
    /// A sender to `url` (the webhook path's full URL, or `…/api/events/ingest`
    /// with `connector` set, which it sends as `X-Connector-Id`).
    pub fn new(url: impl Into<String>, connector: Option<String>, auth: SenderAuth) -> Sender {
        Sender {
            url: url.into(),
            connector,
            auth,
            agent: ureq::AgentBuilder::new()
                .redirects(0)
                .timeout(Duration::from_secs(30))
                .build(),
            token: None,
        }
    }

    fn bearer(&mut self, renew: bool) -> Result<String, SendError> {
        let SenderAuth::OAuth2 {
            client_id,
            client_secret,
            token_url,
        } = &self.auth
        else {
            return Err(SendError::Token("not an OAuth2 sender".into()));
        };
        if let Some((token, until)) = &self.token
            && !renew
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let response = self.agent.post(token_url).send_form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("scope", "events:ingest"),
        ]);
        let body: Value = match response {
            Ok(r) => json(r).map_err(SendError::Transport)?,
            Err(ureq::Error::Status(_, r)) => {
                let v = json(r).unwrap_or(Value::Null);
                return Err(SendError::Token(
                    v["error"]["message"].as_str().unwrap_or("refused").into(),
                ));
            }
            Err(e) => return Err(SendError::Transport(e.to_string())),
        };
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| SendError::Token("no access_token in the answer".into()))?
            .to_string();
        // Renew half a minute early, so a token never expires in flight.
        let life = body["expires_in"].as_u64().unwrap_or(60).saturating_sub(30);
        self.token = Some((token.clone(), Instant::now() + Duration::from_secs(life)));
        Ok(token)
    }

    /// Pushes one event. `event_id` is the idempotency key (`webhook-id`, or
    /// `Idempotency-Key` for the other methods); a fresh one when `None`.
    pub fn send(
        &mut self,
        body: &[u8],
        content_type: &str,
        event_id: Option<&str>,
    ) -> Result<Sent, SendError> {
        let id = event_id
            .map(str::to_string)
            .unwrap_or_else(|| format!("evt_{}", uuid::Uuid::new_v4().simple()));
        let sent = self.attempt(body, content_type, &id, false)?;
        let expired = sent.status == 401 && sent.answer["error"]["code"] == "bad_token";
        if expired && matches!(self.auth, SenderAuth::OAuth2 { .. }) {
            return self.attempt(body, content_type, &id, true);
        }
        Ok(sent)
    }

    fn attempt(
        &mut self,
        body: &[u8],
        content_type: &str,
        id: &str,
        renew: bool,
    ) -> Result<Sent, SendError> {
        let mut req = self.agent.post(&self.url).set("content-type", content_type);
        if let Some(c) = &self.connector {
            req = req.set("x-connector-id", c);
        }
        req = match self.auth.clone() {
            SenderAuth::Hmac(secret) => {
                let key = webhook_key(&secret).ok_or(SendError::BadSecret)?;
                let ts = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or_default();
                req.set("webhook-id", id)
                    .set("webhook-timestamp", &ts.to_string())
                    .set("webhook-signature", &sign_webhook(&key, id, ts, body))
            }
            SenderAuth::ApiKey(key) => req.set("x-api-key", &key).set("idempotency-key", id),
            SenderAuth::OAuth2 { .. } => {
                let token = self.bearer(renew)?;
                req.set("authorization", &format!("Bearer {token}"))
                    .set("idempotency-key", id)
            }
            SenderAuth::Rsa {
                key_id,
                private_key,
                alg,
            } => {
                let created = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or_default();
                let headers = crate::auth::httpsig::sign(
                    &private_key,
                    &key_id,
                    alg,
                    "POST",
                    path_of(&self.url),
                    body,
                    created,
                    Some(id),
                )
                .map_err(|e| SendError::Transport(e.to_string()))?;
                headers.iter().fold(req, |r, (k, v)| r.set(k, v))
            }
        };
        let response = match req.send_bytes(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(SendError::Transport(e.to_string())),
        };
        let status = response.status();
        let answer = json(response).unwrap_or(Value::Null);
        Ok(Sent { status, answer })
    }
}

/// The path of an absolute URL (what the server sees as `@path`).
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("/")
}

/// A response's body as JSON (at most 1 MiB read).
fn json(response: ureq::Response) -> Result<Value, String> {
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut std::io::Read::take(response.into_reader(), 1024 * 1024),
        &mut text,
    )
    .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("the answer is not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signed_path_is_the_urls_path() {
        assert_eq!(
            super::path_of("http://h:1/api/events/ingest/t/c?x=1"),
            "/api/events/ingest/t/c"
        );
        assert_eq!(super::path_of("http://h:1"), "/");
        assert_eq!(super::path_of("https://h/a#f"), "/a");
    }
}
