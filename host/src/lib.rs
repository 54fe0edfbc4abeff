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
//! # Errors and panics
//!
//! Every fallible function returns [`Error`] and says in its `# Errors`
//! section which variants it gives. No function of the API panics, on any
//! input: bad bytes, unknown methods, wrong arguments, any [`Duration`](std::time::Duration)
//! (a timeout too long to represent waits as long as it takes), a trapping
//! or runaway guest. Each becomes an error or a [`DeathCause`], and every
//! [`ObjectRef`] resolves.
//!
//! # Layers
//!
//! The crate is built in layers, each importing only the ones below it
//! (`docs/architecture.md` draws them and walks one call through):
//!
//! | layer | modules | what |
//! | --- | --- | --- |
//! | values | `value`, `ids` | WIT types, WAVE, the JSON of `docs/values.md`; actor ids |
//! | errors | `error` | [`Error`], [`DeathCause`] |
//! | refs | `object_ref` | [`ObjectRef`], `put`, `wait` |
//! | calls | `call` | methods, arguments, the queued call and its envelope, mailboxes, counters |
//! | actors | `actor` | [`ActorHandle`] and what its clones share |
//! | guest interface | `guest` | store data, the host side of `wactor:runtime` and WASI, the sandbox, capabilities |
//! | engines | `engine` | the two engines and their linkers, the compile cache, loaded components |
//! | schedulers | `scheduler` | the tasks that run calls: async actors, threaded actors, one call lifecycle |
//! | API | `api` | [`Runtime`], [`ActorComponent`], [`ActorOptions`], drivers |

mod actor;
mod api;
mod call;
#[cfg(feature = "cluster")]
pub mod cluster;
mod engine;
mod error;
mod guest;
mod ids;
mod object_ref;
mod observe;
mod scheduler;
mod value;

pub use actor::{ActorHandle, MAX_CONCURRENCY_GROUPS, TypedRef};
pub use api::{
    ActorComponent, ActorOptions, ActorPool, NodeEvent, Placement, Runtime, RuntimeBuilder,
};
pub use call::{ActorArg, ActorKind, ActorStats, Arg, FromVal, IntoArg, IntoArgs, IntoVal, Method};
pub use engine::{DEFAULT_COPY_UP_TO, DEFAULT_LAG_WARNING, DEFAULT_TIME_SLICE, MemoryInit};
pub use error::{DeathCause, Error, Result, Source};
pub use guest::{
    ActorInfo, ActorState, Capability, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING_CALLS,
    DEFAULT_MAX_PROGRAM_BYTES, DEFAULT_MEMORY_LIMIT, DirAccess, EngineKind, GuestOutput,
    MAX_NAME_LEN, NetGrant, NetGrantError, OutputCapture,
};
pub use ids::ActorId;
pub use object_ref::{
    ItemStream, ObjectRef, Outcome, STREAM_BUFFER, get_all, put, wait, wait_blocking,
};
pub use observe::{TIMELINE_BUFFER, Timeline};
pub use value::json::to_json_text as to_json;

/// Component values, as used for dynamic arguments and results.
pub use wasmtime::component::Val;
