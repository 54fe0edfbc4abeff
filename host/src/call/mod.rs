//! What a call is, before any actor runs it: its method (looked up once, at
//! load), its arguments (Rust values, WAVE or JSON, checked against the
//! signature), the [`Call`] queued at an actor, its serialisable
//! [`CallEnvelope`], the [`Mailbox`] it is posted to, and the counters of an
//! actor's calls.
//!
//! This layer sits on the ObjectRef layer and knows nothing of instances,
//! stores or schedulers.

mod args;
mod envelope;
mod mailbox;
mod method;
mod queue;
mod stats;

pub(crate) use args::footprint;
pub use args::{ActorArg, Arg, FromVal, IntoArg, IntoArgs, IntoVal};
#[cfg(test)]
pub(crate) use envelope::CallEnvelope;
#[cfg(any(test, feature = "cluster"))]
pub(crate) use envelope::Sealed;
pub(crate) use envelope::{Call, CallTrace};
pub(crate) use mailbox::{Dispatch, LocalMailbox, Mailbox};
pub use method::{ActorKind, Method};
pub(crate) use method::{MethodTable, RefParam, ResourceNames, StreamItem};
pub(crate) use queue::CallQueue;
pub use stats::ActorStats;
pub(crate) use stats::CallCounters;
