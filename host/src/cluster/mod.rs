//! The cluster: runtimes in many processes, joined over NATS, placing
//! actors on each other and calling them as if they were local.
//!
//! Join with [`RuntimeBuilder::nats`]; see what the cluster runs with
//! [`status`]. `docs/cluster.md` has the protocol, the ownership rules and
//! the failure semantics.
//!
//! ```no_run
//! # fn main() -> Result<(), wactor::Error> {
//! use wactor::{ActorOptions, Placement, Runtime};
//!
//! // A program's runtime: it places actors on the cluster's nodes.
//! let runtime = Runtime::builder()
//!     .nats("nats://127.0.0.1:4222")
//!     .serve_actors(false)
//!     .build()?;
//! let counter = runtime.load("counter.wasm")?;
//! let anywhere = counter.spawn(ActorOptions::new())?;
//! let pinned = counter.spawn(ActorOptions::new().placement(Placement::Node("b".into())))?;
//! let total: i64 = anywhere.call_typed("add", (2i64,))?.get(None)?;
//! # let _ = (pinned, total);
//! runtime.leave();
//! # Ok(()) }
//! ```

// The top layer: it spawns local actors for its peers through the API
// layer, which reaches it only through the `Placer` trait and the join
// function `RuntimeBuilder::nats` stores.
// - `wire`: subjects and messages;
// - `member`: the connection, its I/O thread, requests and waiters,
//   heartbeats and the peer table;
// - `node`: serving peers (their actors, their calls, the refs and
//   component bytes they fetch);
// - `remote`: actors on other nodes as handles here, and placement;
// - `state`: what a member keeps (served actors, exports, peers' actors).
mod member;
mod node;
mod remote;
mod state;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

pub use crate::api::NodeEvent;
use crate::api::{ClusterSettings, Placer, Runtime, RuntimeBuilder};
use crate::error::{Error, Result};

/// Where node events go.
pub(crate) type EventSink = Arc<dyn Fn(NodeEvent) + Send + Sync>;

impl RuntimeBuilder {
    /// Joins the cluster whose NATS server is at `url` (e.g.
    /// `nats://127.0.0.1:4222`) when the runtime is built: actors spawned
    /// from then on are placed on the cluster's nodes
    /// ([`ActorOptions::placement`](crate::ActorOptions::placement)), named
    /// actors are found on any node, and, unless
    /// [`serve_actors(false)`](RuntimeBuilder::serve_actors), peers may place
    /// actors here. [`build`](RuntimeBuilder::build) then waits for the
    /// connection (at most 5 s) and fails with [`Error::Unavailable`] if
    /// there is none.
    pub fn nats(mut self, url: impl Into<String>) -> Self {
        let settings = self.cluster_settings();
        settings.url = url.into();
        settings.join = Some(join);
        self
    }
}

impl Runtime {
    /// Leaves the cluster, if the runtime is in one: tells the peers (so
    /// the actors this runtime's programs spawned on them are killed) and
    /// stops the actors it runs for peers, whose calls fail with
    /// [`DeathCause::NodeStopped`](crate::DeathCause::NodeStopped). A
    /// process that ends without leaving is found lost by its peers within
    /// 3 s, with the same effect.
    pub fn leave(&self) {
        if let Some(cluster) = self.inner.directory.cluster() {
            cluster.leave();
        }
    }

    /// The runtime's name in its cluster, if it is in one.
    pub fn node_name(&self) -> Option<&str> {
        self.inner.directory.cluster().map(|c| c.node_name())
    }
}

fn join(runtime: &Runtime, settings: &ClusterSettings) -> Result<Arc<dyn Placer>> {
    let member = member::Member::join(runtime, settings)?;
    Ok(Arc::new(remote::ClusterPlacer(member)))
}

/// A member of a cluster, as [`status`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterNode {
    /// Its name (`wactor node --name`).
    pub name: String,
    /// Its id, fresh each time it joins.
    pub id: String,
    /// Whether it runs actors for peers (a node), or only places its own
    /// (a program's runtime).
    pub serves: bool,
    /// Instances it may still make.
    pub free_slots: u64,
    /// Bytes of memory it may still give guests.
    pub memory_headroom: u64,
    /// The actors it runs for peers.
    pub actors: Vec<ClusterActor>,
}

/// An actor a node runs, as [`status`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterActor {
    /// Its name.
    pub name: String,
    /// Its component's name.
    pub component: String,
    /// `async` or `threaded`.
    pub kind: String,
    /// Calls waiting in its queue.
    pub queued: u64,
    /// Calls running.
    pub running: u64,
}

/// Asks every member of the cluster at `url` what it runs, and gathers the
/// answers that come within `wait`. What `wactor status` prints.
///
/// # Errors
///
/// [`Error::Unavailable`] if NATS cannot be reached.
pub async fn status(url: &str, wait: Duration) -> Result<Vec<ClusterNode>> {
    let unavailable = |why: String| Error::Unavailable {
        actor: "(cluster)".into(),
        reason: format!("cannot reach NATS at {url}: {why}"),
    };
    let client = tokio::time::timeout(Duration::from_secs(5), async_nats::connect(url))
        .await
        .map_err(|_| unavailable("no connection within 5 s".into()))?
        .map_err(|e| unavailable(e.to_string()))?;
    let inbox = client.new_inbox();
    let mut answers = client
        .subscribe(inbox.clone())
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    client
        .publish_with_reply(wire::STATUS, inbox, bytes::Bytes::new())
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let mut nodes = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, answers.next()).await {
        let Ok(row) = serde_json::from_slice::<wire::NodeStatus>(&message.payload) else {
            continue;
        };
        nodes.push(ClusterNode {
            name: row.name,
            id: row.id,
            serves: row.serves,
            free_slots: row.free_slots,
            memory_headroom: row.headroom,
            actors: row
                .actors
                .into_iter()
                .map(|a| ClusterActor {
                    name: a.name,
                    component: a.component,
                    kind: a.kind,
                    queued: a.queued,
                    running: a.running,
                })
                .collect(),
        });
    }
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(nodes)
}
