//! The compile cache: a second load skips compilation; a corrupt, truncated or
//! foreign artifact is discarded and recompiled, never deserialized.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use airlock_host::runtime::{Grants, Runtime};
use airlock_tests::guests;

const KEY: [u8; 32] = [7; 32];

fn dir() -> PathBuf {
    std::env::temp_dir().join(format!("airlock-cache-{}", uuid::Uuid::new_v4()))
}

fn runtime(dir: &Path, key: [u8; 32]) -> Runtime {
    Runtime::new().unwrap().with_cache(dir, key).unwrap()
}

/// (hits, misses, rejected) of a runtime's cache.
fn stats(r: &Runtime) -> (u64, u64, u64) {
    let s = &r.cache().unwrap().stats;
    (
        s.hits.load(Ordering::Relaxed),
        s.misses.load(Ordering::Relaxed),
        s.rejected.load(Ordering::Relaxed),
    )
}

fn decode_works(r: &Runtime) {
    let c = r
        .load(&std::fs::read(guests::AIS_DECODER).unwrap())
        .unwrap();
    let (out, _) = c
        .invoke(
            "decode",
            airlock_tests::AIS_DECODE_INPUT,
            "{}",
            Grants::default(),
        )
        .unwrap();
    assert!(String::from_utf8_lossy(&out[0].body).contains("366053209"));
}

fn artifact(d: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn a_second_runtime_loads_from_the_cache_without_compiling() {
    let d = dir();
    let first = runtime(&d, KEY);
    decode_works(&first);
    assert_eq!(stats(&first), (0, 1, 0));
    let second = runtime(&d, KEY);
    decode_works(&second);
    assert_eq!(stats(&second), (1, 0, 0), "the artifact was reused");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn corrupt_truncated_and_foreign_artifacts_are_discarded_and_recompiled() {
    let d = dir();
    decode_works(&runtime(&d, KEY));
    let path = artifact(&d);
    let good = std::fs::read(&path).unwrap();

    // One flipped bit in the machine code.
    let mut corrupt = good.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x01;
    std::fs::write(&path, &corrupt).unwrap();
    let r = runtime(&d, KEY);
    decode_works(&r);
    assert_eq!(
        stats(&r),
        (0, 1, 1),
        "the corrupt file was rejected, not loaded"
    );
    assert_eq!(
        std::fs::read(&path).unwrap().len(),
        good.len(),
        "and rewritten"
    );

    // Shorter than a MAC.
    std::fs::write(&path, b"short").unwrap();
    let r = runtime(&d, KEY);
    decode_works(&r);
    assert_eq!(stats(&r), (0, 1, 1));

    // Written by a node with another key: a valid artifact, but not provably ours.
    let other = dir();
    decode_works(&runtime(&other, [9; 32]));
    std::fs::copy(artifact(&other), &path).unwrap();
    let r = runtime(&d, KEY);
    decode_works(&r);
    assert_eq!(
        stats(&r),
        (0, 1, 1),
        "a foreign artifact is never deserialized"
    );

    // After all that the cache is healthy again.
    let r = runtime(&d, KEY);
    decode_works(&r);
    assert_eq!(stats(&r), (1, 0, 0));
    std::fs::remove_dir_all(&d).unwrap();
    std::fs::remove_dir_all(&other).unwrap();
}
