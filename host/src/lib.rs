//! wactor: Ray's actor model for WebAssembly components.
//!
//! An actor is a Wasm component; its exports are its methods. Load a
//! component once with [`Runtime::load`], spawn any number of actors from it
//! with [`ActorComponent::spawn`], and call them with [`ActorHandle::call`],
//! which returns an [`ObjectRef`] at once. Await the ref, or block on it with
//! [`ObjectRef::get`].
//!
//! How calls are scheduled follows Ray's "AsyncIO / Concurrency for Actors":
//!
//! - a component with any `async func` export is an **async actor**: one
//!   instance whose calls interleave on one event loop, at most
//!   `max_concurrency` (default 1000) at once;
//! - a component with only sync exports is a **threaded actor**: a pool of
//!   `max_concurrency` (default 1) instances. The instances do not share
//!   memory, so a pool larger than one is a set of replicas.
//!
//! ```
//! # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
//! use std::time::{Duration, Instant};
//! use wactor::{ActorOptions, GuestOutput, Runtime};
//!
//! let runtime = Runtime::new()?;
//! let component = runtime.load(wactor_examples::ASYNC_ACTOR)?;
//! let actor = component.spawn(ActorOptions::new().stdout(GuestOutput::Discard))?;
//!
//! // 20 calls that each sleep 200 ms run at once on one instance.
//! let start = Instant::now();
//! let refs: Vec<_> = (0..20)
//!     .map(|_| actor.call_typed::<u32>("run-task", (200u64,)))
//!     .collect::<Result<_, _>>()?;
//! for r in refs {
//!     r.await?;
//! }
//! assert!(start.elapsed() < Duration::from_secs(3));
//! let peak: u32 = actor.call_typed("peak-concurrency", ())?.await?;
//! assert_eq!(peak, 20);
//! # Ok(()) }
//! ```
//!
//! See `docs/architecture.md` in the repository for how it is built.

mod actor;
mod bindings;
mod cache;
mod component;
mod driver;
mod error;
mod json;
mod object_ref;
mod runtime;
mod sandbox;
mod scheduler;
mod value;

pub use actor::{ActorHandle, ActorOptions, TypedRef};
pub use component::{ActorComponent, ActorKind, Method};
pub use error::{DeathCause, Error, Result};
pub use json::to_json_text as to_json;
pub use object_ref::{ObjectRef, Outcome, get_all, put, wait, wait_blocking};
pub use runtime::{DEFAULT_LAG_WARNING, DEFAULT_TIME_SLICE, Runtime, RuntimeBuilder};
pub use sandbox::{DEFAULT_MEMORY_LIMIT, DirAccess, GuestOutput, OutputCapture};
pub use value::{Arg, FromVal, IntoArg, IntoArgs, IntoVal};

/// Component values, as used for dynamic arguments and results.
pub use wasmtime::component::Val;
