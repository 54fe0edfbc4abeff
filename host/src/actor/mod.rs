//! Actors as callers see them: the [`ActorHandle`], the state its clones
//! share with the actor's scheduler, and the executor that keeps its
//! threads. Above the call layer, below the guest interface (whose
//! instances hold handles of the actors they spawned).

mod deadlock;
mod executor;
mod groups;
mod handle;
mod program;
mod shared;

pub(crate) use deadlock::recorded as recorded_wait;
pub(crate) use executor::{Executor, Home};
pub use groups::MAX_CONCURRENCY_GROUPS;
pub(crate) use groups::{ConcurrencyGroups, GroupSlot, GroupSpec};
pub use handle::{ActorHandle, TypedRef};
pub(crate) use program::{Program, ProgramSlot};
pub(crate) use shared::{ActorShared, Limits};
