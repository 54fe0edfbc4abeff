//! Engines and components: the wasmtime engines of a runtime with the
//! linker of every import (the guest interface, then the embedder's
//! capabilities), the on-disk cache of compiled components, and loading a
//! component into what actors are instantiated from.
//!
//! Above the guest interface (which it links), below the schedulers (which
//! instantiate what it compiled).

mod cache;
mod compiled;
mod engines;
mod image;
mod retry;

pub(crate) use cache::content_hash;
pub(crate) use compiled::CompiledComponent;
pub use engines::{DEFAULT_COPY_UP_TO, DEFAULT_LAG_WARNING, DEFAULT_TIME_SLICE, MemoryInit};
pub(crate) use engines::{EngineSettings, Engines};
