//! Host directories granted to a guest. Nothing outside a granted
//! directory is reachable through it: `..`, absolute paths and symlinks that
//! lead out are refused (WASI with cap-std). By default a guest sees no
//! files at all.

use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use crate::error::{Error, Result};

/// What a guest may do in a directory it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirAccess {
    /// Read files and list entries; no writes.
    ReadOnly,
    /// Read, create, write, rename and delete inside it.
    ReadWrite,
}

/// A host directory made visible to a guest at a path of its own.
#[derive(Debug, Clone)]
pub(crate) struct Preopen {
    pub(crate) host: std::path::PathBuf,
    pub(crate) guest: String,
    pub(crate) access: DirAccess,
}

impl Preopen {
    /// Checks that the host directory exists and is a directory, so a wrong
    /// path fails at spawn rather than inside every instance.
    pub(crate) fn check(&self) -> Result<()> {
        if self.host.is_dir() {
            return Ok(());
        }
        Err(Error::InvalidOption {
            option: "preopen_dir",
            reason: format!(
                "cannot give the actor {} as {}: it is not a directory",
                self.host.display(),
                self.guest
            ),
        })
    }

    /// Opens the directory into a new instance's WASI context. A directory
    /// that cannot be opened (removed since spawn, say) fails the instance:
    /// a guest silently missing a granted directory is worse than no guest.
    pub(crate) fn open(&self, wasi: &mut WasiCtxBuilder) -> std::result::Result<(), String> {
        let perms = match self.access {
            DirAccess::ReadOnly => FsPerms::ReadOnly,
            DirAccess::ReadWrite => FsPerms::ReadWrite,
        };
        wasi.preopened_dir(&self.host, &self.guest, perms)
            .map(drop)
            .map_err(|e| {
                format!(
                    "cannot open the granted directory {} (as {}): {e:#}",
                    self.host.display(),
                    self.guest
                )
            })
    }
}
