//! The node's keys, kept in the data directory (files of mode 0600, created on first
//! start): the Ed25519 key that signs access tokens, the key that encrypts secrets
//! at rest (XChaCha20-Poly1305), and the key of the audit chain's MACs.
//!
//! Several nodes sharing one PostgreSQL must share these files (copy the data
//! directory's `*.key` files); a node with other keys cannot read the secrets or
//! verify the tokens and audit chain the others wrote. The compile cache's key
//! (`compile-cache.key`) authenticates this node's compiled artifacts (see
//! `runtime::CompileCache`) and need not be shared.
//!
//! The token-signing key rotates (`airlock token-key rotate`): the new key signs
//! from then on, and the old one moves to `jwt-ed25519.retired.json` with the time
//! it retired, so tokens it signed still verify (and `/.well-known/jwks.json` still
//! lists it) until they have all expired. A running server notices the change
//! within [`TOKEN_KEY_RELOAD_SECS`].

use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// 32 random bytes from the operating system.
pub fn random_bytes() -> std::io::Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(b)
}

/// Random bytes as unpadded base64url, for ids and secrets.
pub fn random_token() -> std::io::Result<String> {
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes()?))
}

/// The file holding the seed of the current token-signing key.
pub const TOKEN_KEY_FILE: &str = "jwt-ed25519.key";
/// The file listing retired token-signing keys (JSON).
pub const RETIRED_TOKEN_KEYS_FILE: &str = "jwt-ed25519.retired.json";
/// How often a running server looks for a rotated token-signing key.
pub const TOKEN_KEY_RELOAD_SECS: u64 = 5;

/// A token-signing key that signs no more but still verifies what it signed.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct RetiredKey {
    /// Its Ed25519 seed, base64.
    seed: String,
    /// When it stopped signing (unix seconds).
    pub retired_at: u64,
}

impl RetiredKey {
    /// Its seed.
    pub fn seed(&self) -> Option<[u8; 32]> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.seed)
            .ok()?
            .try_into()
            .ok()
    }
}

/// The node's keys.
#[derive(Clone)]
pub struct Keys {
    /// Seed of the Ed25519 token-signing key.
    pub jwt_seed: [u8; 32],
    /// Token-signing keys retired by a rotation, oldest first.
    pub retired_jwt: Vec<RetiredKey>,
    secrets: [u8; 32],
    audit: [u8; 32],
    /// Key of the compile cache's MACs.
    pub compile_cache: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted (was the data directory's secrets.key replaced?)")]
pub struct OpenError;

/// Creates `dir` (and its parents) readable by this user only (0700); warns when an
/// existing one is open to others — it holds keys, the database and secrets.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"),
            "the data directory is open to other users (it holds keys, the database and secrets); `chmod 700` it");
    }
    Ok(())
}

/// Creates `file` empty with mode 0600 unless it exists (SQLite then gives its WAL
/// and shared-memory files the same mode).
pub fn private_file(file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A key file's 32 bytes, from its base64 text.
fn parse_key(path: &Path, text: &str) -> std::io::Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
    bytes.try_into().map_err(|_| {
        std::io::Error::other(format!("{}: expected 32 bytes of base64", path.display()))
    })
}

fn load_or_create(dir: &Path, name: &str) -> std::io::Result<[u8; 32]> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_key(&path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = random_bytes()?;
            write_private(
                &path,
                base64::engine::general_purpose::STANDARD
                    .encode(key)
                    .as_bytes(),
            )?;
            Ok(key)
        }
        Err(e) => Err(e),
    }
}

/// The retired token-signing keys listed in `dir` (none when the file is absent).
pub fn retired_token_keys(dir: &Path) -> std::io::Result<Vec<RetiredKey>> {
    let path = dir.join(RETIRED_TOKEN_KEYS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Replaces the token-signing key in `dir` with a new one, listing the old one as
/// retired at `now` (unix seconds). Keys retired more than `keep_secs` ago are
/// dropped from the list: every token they signed has expired. The list is written
/// before the new key, each by an atomic rename, so a crash between the two leaves
/// the old key current (and also listed, which is harmless).
pub fn rotate_token_key(dir: &Path, now: u64, keep_secs: u64) -> std::io::Result<()> {
    let current = load_or_create(dir, TOKEN_KEY_FILE)?;
    let mut retired = retired_token_keys(dir)?;
    retired.retain(|k| k.retired_at + keep_secs > now);
    retired.push(RetiredKey {
        seed: base64::engine::general_purpose::STANDARD.encode(current),
        retired_at: now,
    });
    let list = serde_json::to_vec_pretty(&retired).map_err(std::io::Error::other)?;
    replace_private(&dir.join(RETIRED_TOKEN_KEYS_FILE), &list)?;
    let fresh = base64::engine::general_purpose::STANDARD.encode(random_bytes()?);
    replace_private(&dir.join(TOKEN_KEY_FILE), fresh.as_bytes())
}

/// Writes `path` (mode 0600) through a temporary file and a rename: a reader sees
/// the old contents or the new, never a part.
fn replace_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    write_private(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

impl Keys {
    /// Loads the keys from `dir`, creating any that are missing.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Keys> {
        private_dir(dir)?;
        Ok(Keys {
            jwt_seed: load_or_create(dir, TOKEN_KEY_FILE)?,
            retired_jwt: retired_token_keys(dir)?,
            secrets: load_or_create(dir, "secrets.key")?,
            audit: load_or_create(dir, "audit.key")?,
            compile_cache: load_or_create(dir, "compile-cache.key")?,
        })
    }

    /// These keys with the token-signing key and the retired list as they are now
    /// in `dir`, read as given (`key`, `retired`: the two files' bytes) and never
    /// created: what a running server takes up after a rotation.
    pub fn with_token_keys(&self, dir: &Path, key: &[u8], retired: &[u8]) -> std::io::Result<Keys> {
        let key_path = dir.join(TOKEN_KEY_FILE);
        let text = std::str::from_utf8(key)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", key_path.display())))?;
        let retired_jwt = if retired.is_empty() {
            Vec::new()
        } else {
            serde_json::from_slice(retired).map_err(|e| {
                std::io::Error::other(format!(
                    "{}: {e}",
                    dir.join(RETIRED_TOKEN_KEYS_FILE).display()
                ))
            })?
        };
        Ok(Keys {
            jwt_seed: parse_key(&key_path, text)?,
            retired_jwt,
            ..self.clone()
        })
    }

    /// Encrypts `plain` with a fresh random nonce; the nonce leads the result.
    pub fn seal(&self, plain: &[u8]) -> std::io::Result<Vec<u8>> {
        let cipher = XChaCha20Poly1305::new((&self.secrets).into());
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
        let mut out = nonce.to_vec();
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), plain)
            .map_err(|_| std::io::Error::other("encryption failed"))?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`Keys::seal`] produced.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let (nonce, body) = sealed.split_at_checked(24).ok_or(OpenError)?;
        let cipher = XChaCha20Poly1305::new((&self.secrets).into());
        cipher
            .decrypt(XNonce::from_slice(nonce), body)
            .map_err(|_| OpenError)
    }

    /// HMAC-SHA256 of `message` under the audit key, hex.
    pub fn audit_mac(&self, message: &[u8]) -> String {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.audit) {
            Ok(m) => m,
            // Any key length is valid for HMAC; this arm cannot be reached.
            Err(_) => return String::new(),
        };
        mac.update(message);
        crate::time::hex(&mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_unaltered() {
        let dir = std::env::temp_dir().join(format!("airlock-keys-{}", uuid::Uuid::new_v4()));
        let keys = Keys::load_or_create(&dir).unwrap();
        let again = Keys::load_or_create(&dir).unwrap();
        let sealed = keys.seal(b"token-123").unwrap();
        assert_eq!(again.open(&sealed).unwrap(), b"token-123");
        assert!(!sealed.windows(9).any(|w| w == b"token-123"));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(keys.open(&tampered).is_err());
        let other = Keys::load_or_create(&dir.join("other")).unwrap();
        assert!(other.open(&sealed).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join("secrets.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
