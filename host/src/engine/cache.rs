//! An on-disk cache of compiled components.
//!
//! Compiling a guest takes 40 ms (Rust) to 6 s (Python or JavaScript
//! guests; `docs/design.md`); reading it back takes a fraction of that. Entries are keyed by the SHA-256
//! of the component's bytes and by the engine's compatibility hash (wasmtime
//! version, target, and every setting that changes code), so a stale entry is
//! never used. The cache is only an optimisation: any failure to read or
//! write it is logged and the component is compiled as usual.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

pub(crate) struct ComponentCache {
    dir: PathBuf,
}

impl ComponentCache {
    pub(crate) fn new(dir: PathBuf) -> Self {
        ComponentCache { dir }
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, engine: &Engine, bytes: &[u8]) -> PathBuf {
        let mut engine_hash = std::hash::DefaultHasher::new();
        engine
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        let mut digest = Sha256::new();
        digest.update(bytes);
        digest.update(engine_hash.finish().to_le_bytes());
        let key: String = digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.dir.join(format!("{key}.cwasm"))
    }

    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> wasmtime::Result<Component> {
        let path = self.entry(engine, bytes);
        // Read the entry into memory rather than `deserialize_file`, which
        // maps the file: a file truncated or rewritten by another process
        // while mapped would crash this one with SIGBUS.
        if let Ok(compiled) = std::fs::read(&path) {
            // SAFETY: the bytes come from a file we wrote (atomically, by
            // rename) from `Component::serialize`, named by the hash of these
            // exact component bytes and this engine's compatibility hash, in
            // a directory we own; wasmtime also checks the header against
            // this engine. As with any code cache, whoever can write the
            // cache directory can run code in this process.
            #[allow(unsafe_code)]
            match unsafe { Component::deserialize(engine, &compiled) } {
                Ok(component) => {
                    tracing::debug!(path = %path.display(), "loaded compiled component from cache");
                    return Ok(component);
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable cache entry")
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        if let Err(e) = self.store(&path, &component) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot write the component cache");
        }
        Ok(component)
    }

    fn store(&self, path: &Path, component: &Component) -> wasmtime::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let compiled = component.serialize()?;
        // Written aside and renamed into place, so a reader never sees half
        // a file; the name is unique to this write, so two threads (or
        // processes) compiling the same component do not write one file.
        let tmp = temp_path(path);
        let written = std::fs::write(&tmp, compiled).and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(written?)
    }
}

/// A name beside `path` that no other write uses: the process id and a
/// counter of this process's writes.
fn temp_path(path: &Path) -> PathBuf {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    path.with_extension(format!("tmp.{}.{n}", std::process::id()))
}

/// The SHA-256 of `bytes` in hex: how a cluster names a component.
pub(crate) fn content_hash(bytes: &[u8]) -> String {
    crate::value::hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_write_gets_a_temp_file_of_its_own() {
        let path = Path::new("/cache/abc.cwasm");
        assert_ne!(temp_path(path), temp_path(path));
    }

    #[test]
    fn threads_compiling_one_component_into_one_cache_all_get_it() {
        let dir = std::env::temp_dir().join(format!(
            "wactor-cache-test-{}-{}",
            std::process::id(),
            line!()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let engine = Engine::default();
        let bytes = std::fs::read(wactor_examples::COUNTER).unwrap();
        let cache = std::sync::Arc::new(ComponentCache::new(dir.clone()));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (cache, engine, bytes) = (cache.clone(), engine.clone(), bytes.clone());
                std::thread::spawn(move || cache.load_or_compile(&engine, &bytes).is_ok())
            })
            .collect();
        assert!(threads.into_iter().all(|t| t.join().unwrap()));
        let entries: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            entries.len(),
            1,
            "one entry, no temp files left: {entries:?}"
        );
        assert!(cache.load_or_compile(&engine, &bytes).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
