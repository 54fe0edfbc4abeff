//! Where actors are found and placed: the names of a runtime's named actors
//! and, once the runtime joined a cluster, the cluster that places actors
//! and finds names on other nodes.
//!
//! The cluster layer sits above this one (it spawns local actors for its
//! peers), so it reaches spawning through the [`Placer`] trait defined
//! here: the import still points down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::actor::{ActorHandle, ActorShared, ProgramSlot};
use crate::call::Mailbox;
use crate::error::{Error, Result};

/// What a runtime, its components and their actors share about where
/// actors are.
#[derive(Default)]
pub(crate) struct Directory {
    names: Mutex<HashMap<Arc<str>, Named>>,
    cluster: OnceLock<Arc<dyn Placer>>,
}

/// A named actor, held weakly: a name does not keep its actor alive.
struct Named {
    shared: Weak<ActorShared>,
    mailbox: Weak<dyn Mailbox>,
}

impl Named {
    fn handle(&self) -> Option<ActorHandle> {
        let shared = self.shared.upgrade()?;
        let handle = ActorHandle::upgrade(&shared, &self.mailbox)?;
        (!shared.is_dead()).then_some(handle)
    }
}

/// The cluster, as spawning sees it.
#[cfg_attr(not(feature = "cluster"), allow(dead_code))] // the cluster's
pub(crate) trait Placer: Send + Sync {
    /// Spawns an actor of `component` (an `ActorComponent`) with `options`
    /// (its `ActorOptions`) on another node if placement picks one (taking
    /// `slot`, the program's count of the actor, into the handle), or
    /// returns `None` to spawn it here. The two are passed as `Any` so that
    /// this file, which the component holds, needs neither.
    fn place(
        &self,
        component: &dyn std::any::Any,
        options: &dyn std::any::Any,
        slot: &mut Option<ProgramSlot>,
    ) -> Option<Result<ActorHandle>>;

    /// The actor named `name` on another node, if one lives.
    fn find(&self, name: &str) -> Result<Option<ActorHandle>>;

    /// Whether `name` is free in the whole cluster; `Err(NameTaken)` if a
    /// node has it.
    fn claim(&self, name: &str) -> Result<()>;

    /// The bytes a component was loaded from are kept (peers may ask for
    /// them), and this names them.
    fn keep_source(&self, hash: &str, bytes: Arc<[u8]>);

    /// Leaves the cluster: says goodbye, stops the actors run here for peers.
    fn leave(&self);

    /// This runtime's name in the cluster.
    fn node_name(&self) -> &str;
}

/// What a cluster node tells of the actors it runs for peers
/// ([`RuntimeBuilder::on_node_event`](crate::RuntimeBuilder::on_node_event)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// An actor was started here.
    Started {
        /// Its name.
        actor: String,
        /// Its component's name.
        component: String,
    },
    /// An actor that ran here died.
    Died {
        /// Its name.
        actor: String,
        /// Its component's name.
        component: String,
        /// Why, in words.
        cause: String,
    },
}

impl Directory {
    /// The cluster, if the runtime joined one.
    pub(crate) fn cluster(&self) -> Option<&Arc<dyn Placer>> {
        self.cluster.get()
    }

    /// Joins `placer`'s cluster; false if a cluster was joined already.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))] // the cluster's
    pub(crate) fn join(&self, placer: Arc<dyn Placer>) -> bool {
        self.cluster.set(placer).is_ok()
    }

    /// Holds `name` for the actor `spawn` makes, if no live actor has it.
    ///
    /// # Errors
    ///
    /// [`Error::NameTaken`] if a live actor holds it here (or, when
    /// `cluster` is set, on another node); else what `spawn` returns.
    pub(crate) fn register(
        &self,
        name: &str,
        cluster: bool,
        spawn: impl FnOnce() -> Result<ActorHandle>,
    ) -> Result<ActorHandle> {
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(named) = names.get(name)
            && named.handle().is_some()
        {
            return Err(Error::NameTaken {
                name: name.to_string(),
                holder: "in this runtime".into(),
            });
        }
        if cluster && let Some(placer) = self.cluster.get() {
            placer.claim(name)?;
        }
        let handle = spawn()?;
        names.insert(
            name.into(),
            Named {
                shared: Arc::downgrade(handle.shared()),
                mailbox: handle.weak_mailbox(),
            },
        );
        // Forget names whose actors are gone, so the map stays as large as
        // the live named actors.
        if names.len() > 64 && names.len().is_power_of_two() {
            names.retain(|_, named| named.handle().is_some());
        }
        Ok(handle)
    }

    /// The live actor named `name` in this runtime.
    pub(crate) fn local(&self, name: &str) -> Option<ActorHandle> {
        let names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names.get(name).and_then(Named::handle)
    }

    /// The live actor named `name`, here or in the cluster.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchActor`] if none has it; [`Error::Unavailable`] if the
    /// cluster could not be asked.
    pub(crate) fn get(&self, name: &str) -> Result<ActorHandle> {
        if let Some(handle) = self.local(name) {
            return Ok(handle);
        }
        match self.cluster.get() {
            Some(placer) => placer.find(name)?.ok_or_else(|| Error::NoSuchActor {
                name: crate::value::abbreviate(name, 200).into_owned(),
                where_: " in the cluster",
            }),
            None => Err(Error::NoSuchActor {
                name: crate::value::abbreviate(name, 200).into_owned(),
                where_: "",
            }),
        }
    }
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("clustered", &self.cluster.get().is_some())
            .finish_non_exhaustive()
    }
}
