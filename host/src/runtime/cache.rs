//! The compile cache: compiled components on local disk, keyed by the component's
//! digest and the engine's compatibility hash (wasmtime version and settings).
//!
//! Threat: `deserialize` runs machine code from the file, and wasmtime documents it
//! as unsafe on input it did not produce. So every file carries an HMAC-SHA256 of
//! its artifact under a key only this node holds (in the data directory), written
//! with the artifact and checked — in constant time — *before* `deserialize`. A
//! file that is short, corrupt, foreign or made by another engine is deleted and the
//! component compiled again; it is never loaded.
//!
//! File layout: `<dir>/<digest>-<engine hash>.cwasm` = 32-byte MAC ‖ artifact.
//! Writes go to a temporary file renamed into place, so a reader never sees half.

use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use wasmtime::Engine;
use wasmtime::component::Component as WasmComponent;

/// Counters, for tests and metrics.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Artifacts loaded from disk.
    pub hits: AtomicU64,
    /// Components compiled (absent or discarded file).
    pub misses: AtomicU64,
    /// Files discarded: short, corrupt, foreign or incompatible.
    pub rejected: AtomicU64,
}

/// A compile cache in one directory.
#[derive(Debug)]
pub struct CompileCache {
    dir: PathBuf,
    key: [u8; 32],
    engine_hash: String,
    /// What happened so far.
    pub stats: CacheStats,
}

const MAC_LEN: usize = 32;

impl CompileCache {
    /// A cache in `dir` (created if missing) for artifacts of `engine`, authenticated
    /// with `key`.
    pub fn new(dir: &Path, key: [u8; 32], engine: &Engine) -> std::io::Result<CompileCache> {
        std::fs::create_dir_all(dir)?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Ok(CompileCache {
            dir: dir.to_path_buf(),
            key,
            engine_hash: format!("{:016x}", h.finish()),
            stats: CacheStats::default(),
        })
    }

    /// The file that holds `digest`'s artifact for this engine.
    pub fn path(&self, digest: &str) -> PathBuf {
        self.dir
            .join(format!("{digest}-{}.cwasm", self.engine_hash))
    }

    fn mac(&self) -> Option<Hmac<Sha256>> {
        // HMAC accepts any key length, so this is always `Some`.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).ok()
    }

    /// The cached component for `digest`, or one compiled from `bytes` (and cached).
    pub fn load(
        &self,
        engine: &Engine,
        digest: &str,
        bytes: &[u8],
    ) -> wasmtime::Result<WasmComponent> {
        let path = self.path(digest);
        if let Some(c) = self.read(engine, &path) {
            self.stats.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(c);
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let component = WasmComponent::new(engine, bytes)?;
        if let Err(e) = self.write(&path, &component) {
            // A cache that cannot be written only costs time.
            tracing::warn!(path = %path.display(), error = %e, "cannot write the compile cache");
        }
        Ok(component)
    }

    fn read(&self, engine: &Engine, path: &Path) -> Option<WasmComponent> {
        let file = std::fs::read(path).ok()?;
        let verified = file.split_at_checked(MAC_LEN).and_then(|(tag, artifact)| {
            let mut mac = self.mac()?;
            mac.update(artifact);
            mac.verify_slice(tag).ok().map(|()| artifact)
        });
        let Some(artifact) = verified else {
            self.reject(
                path,
                "its MAC does not match: corrupt or not written by this node",
            );
            return None;
        };
        // SAFETY: `artifact` is exactly what `WasmComponent::serialize` produced on
        // this node: its HMAC under this node's private key was verified just above,
        // and nothing else can produce a valid tag. wasmtime additionally refuses an
        // artifact from another engine version or configuration.
        #[allow(unsafe_code)]
        let component = unsafe { WasmComponent::deserialize(engine, artifact) };
        match component {
            Ok(c) => Some(c),
            Err(e) => {
                self.reject(path, &format!("{e:#}"));
                None
            }
        }
    }

    fn reject(&self, path: &Path, why: &str) {
        self.stats.rejected.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(path = %path.display(), why, "discarding a compile-cache file");
        let _ = std::fs::remove_file(path);
    }

    fn write(&self, path: &Path, component: &WasmComponent) -> anyhow::Result<()> {
        let artifact = component.serialize()?;
        let mut mac = self
            .mac()
            .ok_or_else(|| anyhow::anyhow!("the cache key was refused"))?;
        mac.update(&artifact);
        let mut file = mac.finalize().into_bytes().to_vec();
        file.extend_from_slice(&artifact);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &file)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}
