//! Where a connector's kv state lives between calls.
//!
//! A call sees its state as a map: the caller hands it in through
//! `CallRequest::kv` — loaded, or as a loader the call runs the first time the guest
//! touches kv ([`KvState::Lazy`], so a call that never uses kv costs no read) — and
//! saves what changed after (from `CallDone::kv`, absent when kv was never loaded).
//! State is scoped to one tenant × connector; the caps on keys, values and entries
//! are enforced by the `kv` import during the call. [`KvStore`] is the storage
//! behind that: the server's database implements it (`store::Store`), and
//! `airlock run --kv FILE` uses [`FileKv`], a JSON file, so a vendor can run a
//! connector locally across several calls with its cursors kept.
//!
//! Saving after the call, not during it, means a call that fails (a trap, a
//! timeout) leaves the stored state as it was.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;

use base64::Engine as _;

/// A connector's kv state.
pub type KvMap = BTreeMap<String, Vec<u8>>;

/// Reads a connector's kv state (on the call's thread, which may block).
pub type KvLoader = Box<dyn FnOnce() -> Result<KvMap, KvError> + Send>;

/// Where a call's kv state comes from.
pub enum KvState {
    /// Already loaded.
    Loaded(KvMap),
    /// Loaded the first time the guest calls a kv function.
    Lazy(KvLoader),
}

impl std::fmt::Debug for KvState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvState::Loaded(m) => write!(f, "Loaded({} entries)", m.len()),
            KvState::Lazy(_) => f.write_str("Lazy"),
        }
    }
}

impl From<KvMap> for KvState {
    fn from(map: KvMap) -> Self {
        KvState::Loaded(map)
    }
}

/// A call's kv state before and after it (the caller saves the difference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvChange {
    /// As loaded.
    pub before: KvMap,
    /// As the call left it.
    pub after: KvMap,
}

/// Why kv state could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[error("kv storage: {0}")]
pub struct KvError(pub String);

/// Storage of kv state per tenant × connector.
pub trait KvStore: Send + Sync {
    /// The state of `connector` for `tenant` (empty when there is none).
    fn load(
        &self,
        tenant: &str,
        connector: &str,
    ) -> impl Future<Output = Result<KvMap, KvError>> + Send;

    /// Stores `after`, given the `before` the call started from; implementations
    /// write only the difference, atomically.
    fn save(
        &self,
        tenant: &str,
        connector: &str,
        before: &KvMap,
        after: &KvMap,
    ) -> impl Future<Output = Result<(), KvError>> + Send;
}

/// kv state in one JSON file: `{"<tenant>/<connector>": {"<key>": "<base64>"}}`.
/// Written to a temporary file and renamed over the old one, so a crash leaves
/// either the old or the new state, never a torn file.
#[derive(Debug, Clone)]
pub struct FileKv {
    path: PathBuf,
}

type FileState = BTreeMap<String, BTreeMap<String, String>>;

impl FileKv {
    /// State kept in `path` (created on the first save).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileKv { path: path.into() }
    }

    fn read(&self) -> Result<FileState, KvError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                KvError(format!(
                    "{} is not a kv file written by airlock: {e}",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileState::new()),
            Err(e) => Err(KvError(format!("cannot read {}: {e}", self.path.display()))),
        }
    }
}

fn scope(tenant: &str, connector: &str) -> String {
    format!("{tenant}/{connector}")
}

impl KvStore for FileKv {
    async fn load(&self, tenant: &str, connector: &str) -> Result<KvMap, KvError> {
        let state = self.read()?;
        let Some(entries) = state.get(&scope(tenant, connector)) else {
            return Ok(KvMap::new());
        };
        entries
            .iter()
            .map(|(k, v)| {
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .map(|bytes| (k.clone(), bytes))
                    .map_err(|e| KvError(format!("the value of `{k}` is not base64: {e}")))
            })
            .collect()
    }

    async fn save(
        &self,
        tenant: &str,
        connector: &str,
        before: &KvMap,
        after: &KvMap,
    ) -> Result<(), KvError> {
        if before == after {
            return Ok(());
        }
        let mut state = self.read()?;
        let encoded = after
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    base64::engine::general_purpose::STANDARD.encode(v),
                )
            })
            .collect();
        state.insert(scope(tenant, connector), encoded);
        let text = serde_json::to_vec_pretty(&state).map_err(|e| KvError(e.to_string()))?;
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| KvError(format!("cannot write {}: {e}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_file_keeps_state_per_tenant_and_connector() {
        let dir = std::env::temp_dir().join(format!("airlock-kv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kv = FileKv::new(dir.join("kv.json"));
        let empty = KvMap::new();
        assert!(block_on(kv.load("t1", "feed")).unwrap().is_empty());
        let state = KvMap::from([("cursor".to_string(), vec![0, 1, 255])]);
        block_on(kv.save("t1", "feed", &empty, &state)).unwrap();
        block_on(kv.save(
            "t2",
            "feed",
            &empty,
            &KvMap::from([("cursor".to_string(), b"other".to_vec())]),
        ))
        .unwrap();
        assert_eq!(block_on(kv.load("t1", "feed")).unwrap(), state);
        assert!(block_on(kv.load("t1", "other")).unwrap().is_empty());
        assert_eq!(
            block_on(kv.load("t2", "feed")).unwrap()["cursor"],
            b"other".to_vec()
        );
        std::fs::write(dir.join("kv.json"), "not json").unwrap();
        let err = block_on(kv.load("t1", "feed")).unwrap_err();
        assert!(err.to_string().contains("not a kv file"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
