//! The guest interface: what an instance may touch and how it reaches the
//! host. Its store data ([`ActorState`]), the host side of
//! `wactor:runtime` and WASI, the sandbox's per-instance limits, output and
//! granted directories, and the [`Capability`] seam for embedders' imports.
//!
//! Above the actor layer (instances hold handles of actors they spawned);
//! below the engines, which link it, and the schedulers, which run it. What
//! only the API layer knows (other components) reaches guests through the
//! [`Spawner`] it implements.

mod bindings;
mod capability;
mod dirs;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "http")]
mod http_client;
mod lookup;
mod net;
mod output;
mod sandbox;
mod state;
mod transfer;

pub(crate) use bindings::{ActorResource, add_to_linker};
pub(crate) use capability::Capabilities;
pub use capability::{ActorInfo, Capability, EngineKind};
pub use dirs::DirAccess;
pub(crate) use dirs::Preopen;
pub(crate) use net::NetPolicy;
pub use net::{DEFAULT_MAX_CONNECTIONS, NetGrant, NetGrantError};
pub use output::{GuestOutput, OutputCapture};
pub use sandbox::{
    DEFAULT_MAX_PENDING_CALLS, DEFAULT_MAX_PROGRAM_BYTES, DEFAULT_MEMORY_LIMIT, MAX_NAME_LEN,
};
pub(crate) use sandbox::{SharedBudget, default_max_memory, name_problem};
pub use state::ActorState;
pub(crate) use state::{InstanceConfig, Role, SpawnRequest, Spawner};
pub(crate) use transfer::{Lowered, lower_args, plain_args, release_lent, take_returned_ref};
