//! An on-disk cache of compiled components.
//!
//! Compiling a guest takes 40 ms (Rust) to 6 s (Python/JS, see DESIGN.md);
//! reading it back takes a fraction of that. Entries are keyed by the SHA-256
//! of the component's bytes and by the engine's compatibility hash (wasmtime
//! version, target, and every setting that changes code), so a stale entry is
//! never used. The cache is only an optimisation: any failure to read or
//! write it is logged and the component is compiled as usual.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;

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

    pub(crate) fn dir(&self) -> &std::path::Path {
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

    fn store(&self, path: &PathBuf, component: &Component) -> wasmtime::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let compiled = component.serialize()?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, compiled)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}
