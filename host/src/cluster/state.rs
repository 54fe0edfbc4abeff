//! What a member keeps: the actors it serves for peers and what it owes
//! them (`Serving`), and what it knows of other members' actors and
//! components (`Remote`). Plain state, below the code that uses it
//! (`node.rs`, `remote.rs`, `member.rs`).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, Weak};

use super::wire::{self, Request};
use crate::actor::{ActorHandle, ActorShared};
use crate::api::ActorComponent;
use crate::error::DeathCause;
use crate::object_ref::ObjectRef;

/// How many ended actors are remembered, so that late calls are told why.
const TOMBSTONES: usize = 10_000;

/// The actors this member runs for peers, and what it owes them.
#[derive(Default)]
pub(crate) struct Serving {
    pub(super) actors: Mutex<HashMap<String, Hosted>>,
    pub(super) tombstones: Mutex<HashMap<String, DeathCause>>,
    /// Calls running for peers, by (caller, seq): to cancel them.
    pub(super) inflight: Mutex<HashMap<(String, u64), ObjectRef>>,
    /// Refs sent to peers, by (ref id, peer), with how many fetches are due.
    pub(super) exports: Mutex<HashMap<(u64, String), (ObjectRef, usize)>>,
    /// This member's own actors whose handles were passed to peers: the
    /// key each is served under.
    pub(super) passed: Mutex<HashMap<crate::ActorId, String>>,
    /// Set when the member leaves: it reports its actors' ends itself,
    /// before it says it stopped.
    pub(super) stopping: std::sync::atomic::AtomicBool,
}

pub(super) enum Hosted {
    /// Its component is being loaded; calls wait here, in order.
    Starting {
        calls: Vec<(Request, Option<String>)>,
        killed: bool,
    },
    Running {
        handle: ActorHandle,
        owner: String,
        /// Stops answering for its name when it ends.
        name_task: Option<tokio::task::AbortHandle>,
    },
}

impl Serving {
    /// Actors running here for peers.
    pub(crate) fn count(&self) -> usize {
        self.actors.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Instances they hold.
    pub(crate) fn instances(&self) -> u64 {
        let actors = self.actors.lock().unwrap_or_else(|e| e.into_inner());
        actors
            .values()
            .map(|h| match h {
                Hosted::Starting { .. } => 1,
                Hosted::Running { handle, .. } => match handle.kind() {
                    crate::ActorKind::Async => 1,
                    crate::ActorKind::Threaded => handle.max_concurrency() as u64,
                },
            })
            .sum()
    }

    /// What `wactor status` lists.
    pub(crate) fn rows(&self) -> Vec<wire::ActorRow> {
        let actors = self.actors.lock().unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<_> = actors
            .values()
            .filter_map(|h| match h {
                Hosted::Running { handle, .. } => {
                    let stats = handle.stats();
                    Some(wire::ActorRow {
                        name: handle.name().to_string(),
                        component: handle.component_name().to_string(),
                        kind: format!("{:?}", handle.kind()).to_lowercase(),
                        queued: stats.queued,
                        running: stats.running,
                    })
                }
                Hosted::Starting { .. } => None,
            })
            .collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        rows
    }

    /// Serves a local actor whose handle is passed to a peer; its key.
    pub(crate) fn serve_local(
        &self,
        handle: &ActorHandle,
        me: &str,
        new_key: impl FnOnce() -> String,
    ) -> String {
        let mut passed = self.passed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = passed.get(&handle.id()) {
            return key.clone();
        }
        let key = new_key();
        passed.insert(handle.id(), key.clone());
        self.actors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                key.clone(),
                Hosted::Running {
                    handle: handle.clone(),
                    owner: me.to_string(),
                    name_task: None,
                },
            );
        key
    }

    /// The actor served here under `key`.
    pub(crate) fn served(&self, key: &str) -> Option<ActorHandle> {
        match self
            .actors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            Some(Hosted::Running { handle, .. }) => Some(handle.clone()),
            _ => None,
        }
    }

    /// Counts `r` as sent to `peer`, to be fetched once.
    pub(crate) fn export(&self, r: &ObjectRef, peer: &str) {
        let mut exports = self.exports.lock().unwrap_or_else(|e| e.into_inner());
        exports
            .entry((r.id(), peer.to_string()))
            .or_insert_with(|| (r.clone(), 0))
            .1 += 1;
    }

    /// Takes one due fetch of ref `id` by `peer`.
    pub(crate) fn take_export(&self, id: u64, peer: &str) -> Option<ObjectRef> {
        let mut exports = self.exports.lock().unwrap_or_else(|e| e.into_inner());
        let key = (id, peer.to_string());
        let entry = exports.get_mut(&key)?;
        entry.1 -= 1;
        let r = entry.0.clone();
        if entry.1 == 0 {
            exports.remove(&key);
        }
        Some(r)
    }

    /// The member `owner` left or was lost: its actors here are killed,
    /// and what was owed to it is forgotten.
    pub(crate) fn owner_gone(&self, owner: &str, name: &str, stopped: bool) {
        let gone: Vec<ActorHandle> = {
            let mut actors = self.actors.lock().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<String> = actors
                .iter()
                .filter(|(_, h)| matches!(h, Hosted::Running { owner: o, .. } if o == owner))
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter()
                .filter_map(|k| match actors.remove(k) {
                    Some(Hosted::Running { handle, .. }) => Some(handle),
                    _ => None,
                })
                .collect()
        };
        let why = if stopped { "left" } else { "was lost" };
        for handle in gone {
            tracing::debug!(
                actor = handle.name(),
                owner = name,
                "killing an actor whose owner {why}"
            );
            handle.kill();
        }
        self.exports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(_, peer), _| peer != owner);
        self.inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(caller, _), _| caller != owner);
    }

    pub(super) fn bury(&self, key: &str, cause: DeathCause) {
        let mut tombs = self.tombstones.lock().unwrap_or_else(|e| e.into_inner());
        if tombs.len() >= TOMBSTONES {
            tombs.clear();
        }
        tombs.insert(key.to_string(), cause);
    }
}

/// What a member knows of other members' actors and components.
#[derive(Default)]
pub(crate) struct Remote {
    /// Peers that left or were lost: (name, whether it left cleanly).
    pub(super) gone: Mutex<HashMap<String, (String, bool)>>,
    /// Handles' states of actors on other nodes, by node.
    pub(super) mirrors: Mutex<Vec<(String, Weak<ActorShared>)>>,
    /// Components loaded here, by hash.
    pub(super) loaded: Mutex<HashMap<String, ActorComponent>>,
    /// Component bytes peers may ask for, by hash.
    pub(super) sources: Mutex<HashMap<String, Arc<[u8]>>>,
    /// One component is fetched and compiled at a time.
    pub(crate) load_lock: tokio::sync::Mutex<()>,
    pub(super) next_key: AtomicU64,
    pub(super) next_call: AtomicU64,
}

impl Remote {
    pub(crate) fn gone(&self, peer: &str) -> Option<(String, bool)> {
        self.gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(peer)
            .cloned()
    }

    /// Records that `peer` is gone; true the first time.
    pub(crate) fn mark_gone(&self, peer: &str, name: &str, stopped: bool) -> bool {
        self.gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(peer.to_string(), (name.to_string(), stopped))
            .is_none()
    }

    /// `peer` is heard again (it was only silent): it may be asked again.
    pub(crate) fn back(&self, peer: &str) {
        self.gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(peer);
    }

    /// Marks dead every handle of an actor on `peer`.
    pub(crate) fn peer_gone(&self, peer: &str, name: &str, stopped: bool) {
        let dead: Vec<Arc<ActorShared>> = {
            let mut mirrors = self.mirrors.lock().unwrap_or_else(|e| e.into_inner());
            let mut dead = Vec::new();
            mirrors.retain(|(node, shared)| match shared.upgrade() {
                Some(s) if node == peer => {
                    dead.push(s);
                    false
                }
                Some(_) => true,
                None => false,
            });
            dead
        };
        for shared in dead {
            shared.die(node_cause(name, stopped));
        }
    }

    pub(crate) fn loaded(&self, hash: &str) -> Option<ActorComponent> {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    pub(crate) fn keep_loaded(&self, hash: &str, component: ActorComponent) {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash.to_string(), component);
    }

    pub(crate) fn source(&self, hash: &str) -> Option<Arc<[u8]>> {
        self.sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    pub(super) fn add_mirror(&self, node: &str, shared: &Arc<ActorShared>) {
        let mut mirrors = self.mirrors.lock().unwrap_or_else(|e| e.into_inner());
        if mirrors.len() > 64 && mirrors.len().is_power_of_two() {
            mirrors.retain(|(_, s)| s.strong_count() > 0);
        }
        mirrors.push((node.to_string(), Arc::downgrade(shared)));
    }
}

pub(super) fn node_cause(name: &str, stopped: bool) -> DeathCause {
    if stopped {
        DeathCause::NodeStopped {
            node: name.to_string(),
        }
    } else {
        DeathCause::NodeLost {
            node: name.to_string(),
        }
    }
}
