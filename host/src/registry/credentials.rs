//! Push connectors' credentials: issued at registration, rotated with a grace
//! window. A secret is shown once, in the answer that issues it; the store keeps
//! only a sealed (HMAC: the server must recompute signatures) or hashed (API key,
//! OAuth client secret) form, or the sender's public key (RSA).

use super::views::{CredentialView, Rotated};
use super::{Registry, RegistryError, audit_entry, internal};
use crate::store::{ClientRow, PushCredentialRow, Rows, Store};
use crate::time::{now_ms, rfc3339};
use crate::vocab::AuthMethod;

/// A checked RSA public key in PEM, for an `rsa` credential; `None` for other
/// methods (which must not bring one).
pub(super) fn rsa_key(
    method: Option<AuthMethod>,
    public_key: Option<&str>,
) -> Result<Option<String>, RegistryError> {
    let bad = |message: String| RegistryError::BadRequest {
        code: "invalid_public_key",
        message,
    };
    match (method, public_key) {
        (Some(AuthMethod::Rsa), Some(pem)) => {
            crate::auth::httpsig::parse_public_key(pem).map_err(bad)?;
            Ok(Some(pem.trim().to_string()))
        }
        (Some(AuthMethod::Rsa), None) => Err(RegistryError::BadRequest {
            code: "public_key_required",
            message: "an `rsa` connector brings its RSA public key: send `public_key` (PEM, 2048 \
                      to 8192 bits)"
                .into(),
        }),
        (_, Some(_)) => Err(bad(
            "`public_key` is only for `rsa` connectors; the other methods are issued a credential"
                .into(),
        )),
        (_, None) => Ok(None),
    }
}

impl Registry {
    /// Issues a push connector a new credential (same shape as at registration);
    /// the previous one stays valid for the rotation grace, then lapses. Audited
    /// with the actor; the answer holds the new credential (shown this once) and
    /// when the previous stops being accepted (UTC). Watching caches forget the
    /// connector.
    pub async fn rotate_credential(
        &self,
        tenant: &str,
        actor: &str,
        id: &str,
        public_key: Option<&str>,
    ) -> Result<Rotated, RegistryError> {
        let connector = self.connector(tenant, id).await?;
        let Some(method) = connector
            .auth_method
            .as_deref()
            .and_then(|m| m.parse::<AuthMethod>().ok())
        else {
            return Err(RegistryError::Conflict {
                code: "no_rotatable_credential",
                message: "this connector is not a push connector: it has no credential to rotate"
                    .into(),
            });
        };
        let public_key = rsa_key(Some(method), public_key)?;
        let grace_ms = i64::try_from(self.rotation_grace.as_millis()).unwrap_or(i64::MAX);
        let until = now_ms().saturating_add(grace_ms);
        let mut tx = self.store.begin(Rows::Tenant(tenant)).await?;
        let retired = Store::retire_push_credentials(&mut tx, &connector.id, until).await?;
        let credential = self
            .issue_credential(
                &mut tx,
                tenant,
                &connector.id,
                method,
                public_key.as_deref(),
            )
            .await?;
        let previous_valid_until = rfc3339(until);
        let detail = serde_json::json!({"method": method, "grace_secs": self.rotation_grace.as_secs(),
            "previous_valid_until": previous_valid_until, "retired": retired});
        self.commit_audited(
            tx,
            audit_entry(
                tenant,
                actor,
                "connector.credentials.rotate",
                &connector.id,
                detail,
            ),
        )
        .await?;
        self.changed(&connector.id);
        Ok(Rotated {
            credential: Some(credential),
            previous_valid_until,
        })
    }

    /// Creates a push connector's credential inside `tx` and returns it (to be shown
    /// once): HMAC secrets stored sealed, API keys hashed, an `oauth2` credential as
    /// a new OAuth client of the tenant holding only `events:ingest`, an `rsa`
    /// credential as the sender's checked `public_key` under a new key id.
    pub(super) async fn issue_credential(
        &self,
        tx: &mut crate::store::WriteTx,
        tenant: &str,
        connector_id: &str,
        method: AuthMethod,
        public_key: Option<&str>,
    ) -> Result<CredentialView, RegistryError> {
        use base64::Engine as _;
        let mut row = PushCredentialRow {
            id: uuid::Uuid::new_v4().to_string(),
            tenant_id: tenant.into(),
            connector_id: connector_id.into(),
            method: method.as_str().into(),
            secret_sealed: None,
            secret_hash: None,
            created_ms: now_ms(),
            valid_until_ms: None,
            client_id: None,
            public_key: None,
            key_id: None,
        };
        let shown = match method {
            AuthMethod::Oauth2 => {
                let secret = format!("acs_{}", crate::keys::random_token().map_err(internal)?);
                let client = ClientRow {
                    id: format!("cli_{}", uuid::Uuid::new_v4().simple()),
                    tenant_id: tenant.into(),
                    secret_hash: crate::auth::hash_secret(&secret),
                    scopes: vec![crate::auth::Scope::EventsIngest.as_str().to_string()],
                    label: format!("push connector {connector_id}"),
                };
                Store::insert_client(tx, &client).await?;
                row.client_id = Some(client.id.clone());
                CredentialView::Oauth2 {
                    client_id: client.id,
                    client_secret: secret,
                    token_url: format!("{}/oauth/token", self.public_base),
                }
            }
            AuthMethod::HmacSha256 => {
                let secret = crate::auth::push::new_webhook_secret().map_err(internal)?;
                let sealed = self.keys.seal(secret.as_bytes()).map_err(internal)?;
                row.secret_sealed = Some(base64::engine::general_purpose::STANDARD.encode(sealed));
                CredentialView::HmacSha256 { secret }
            }
            AuthMethod::ApiKey => {
                let key = crate::auth::push::new_api_key().map_err(internal)?;
                row.secret_hash = Some(crate::auth::hash_secret(&key));
                CredentialView::ApiKey { key }
            }
            AuthMethod::Rsa => {
                let key_id = format!("key_{}", uuid::Uuid::new_v4().simple());
                row.public_key = public_key.map(str::to_string);
                row.key_id = Some(key_id.clone());
                CredentialView::Rsa { key_id }
            }
        };
        Store::insert_push_credential(tx, &row).await?;
        Ok(shown)
    }
}
