//! The public API, on top of every other layer: the [`Runtime`] and its
//! builder, loaded components ([`ActorComponent`]), [`ActorOptions`], and
//! programs run as drivers. The only layer that knows components by name,
//! so it is also where guests' requests to spawn land (`spawn.rs`).
//!
//! Inside, too, files import only downward: `component` (what a loaded
//! component knows of itself) ← `options` ← `spawn` ← `driver`, and
//! `runtime`, which loads components.

mod component;
mod directory;
mod driver;
mod options;
mod pool;
mod runtime;
mod spawn;

pub use component::ActorComponent;
pub use directory::NodeEvent;
#[cfg(feature = "cluster")]
pub(crate) use directory::Placer;
pub use options::{ActorOptions, Placement};
pub use pool::ActorPool;
#[cfg(feature = "cluster")]
pub(crate) use runtime::{ClusterSettings, RuntimeInner};
pub use runtime::{Runtime, RuntimeBuilder};
