//! Identities: [`ActorId`]. At the bottom with the values, so every layer
//! can name an actor without importing the layer that runs it.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies an actor for as long as its process lives: never reused, the
/// same in every clone of its handle, in errors and in logs.
///
/// ```
/// # fn main() -> Result<(), wactor::Error> {
/// let runtime = wactor::Runtime::new()?;
/// let counter = runtime.load(wactor_examples::COUNTER)?;
/// let (a, b) = (counter.spawn(Default::default())?, counter.spawn(Default::default())?);
/// assert_ne!(a.id(), b.id());
/// assert_eq!(a.id(), a.clone().id());
/// assert_eq!(a.id().to_string(), format!("actor-{}", a.id().as_u64()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActorId(u64);

static NEXT_ACTOR: AtomicU64 = AtomicU64::new(1);

impl ActorId {
    /// A fresh id, unique within the process.
    pub(crate) fn next() -> ActorId {
        ActorId(NEXT_ACTOR.fetch_add(1, Ordering::Relaxed))
    }

    /// The number behind the id, e.g. for a metrics label or a map key.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actor-{}", self.0)
    }
}
