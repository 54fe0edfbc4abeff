//! One runtime's membership in a cluster: its NATS connection, the thread
//! that does its I/O, requests and their waiters, and the table of peers
//! kept by heartbeats.
//!
//! Why each rule:
//! - **All NATS I/O runs on a thread of its own** (a current-thread tokio
//!   runtime), not on the actors' threads: a sync host function (a guest's
//!   `get-actor`, a named spawn) may block for one round trip, and it must
//!   never wait on a task queued behind itself.
//! - **Outgoing messages go through one FIFO outbox**, so calls to one actor
//!   arrive in the order they were made (a threaded actor with one
//!   instance runs them in that order), and posting a call stays sync.
//! - **A peer is lost after [`LOST_AFTER`] without a heartbeat**; what
//!   waited on it fails with its loss at once. While this member itself is
//!   disconnected from NATS it judges nobody (it cannot hear them), and the
//!   clocks restart when it reconnects.
//! - **A disconnect fails every request in flight** with
//!   [`Error::Unavailable`]: its reply may be lost, and nothing may hang.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use async_nats::{Client, Event};
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::wire::{self, Heartbeat};
use crate::api::{ActorComponent, ClusterSettings, Runtime};
use crate::error::{Error, Result};
use crate::object_ref::ObjectRef;

/// How often a member says it lives.
pub(crate) const HEARTBEAT_EVERY: Duration = Duration::from_millis(500);
/// How long a peer may stay silent before it is declared lost.
pub(crate) const LOST_AFTER: Duration = Duration::from_millis(2000);
/// How long a joining member waits to hear from the others.
const HELLO_WAIT: Duration = Duration::from_millis(300);
/// How long a request that should be answered at once may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request got no reply.
#[derive(Debug, Clone)]
pub(crate) enum Lost {
    /// Nobody listens on its subject (NATS said so).
    NoResponders,
    /// The peer asked was lost (or left, if `stopped`).
    Peer { name: String, stopped: bool },
    /// This member's connection to NATS broke.
    Disconnected,
    /// The request was not sent: it is larger than the server takes in
    /// one message.
    TooLarge { size: usize, max: usize },
}

impl Lost {
    /// The error a message too large for NATS gets.
    pub(crate) fn too_large(max: usize) -> Error {
        Error::QuotaExceeded {
            what: "bytes in one cluster message (a call's arguments or a value)",
            limit: max,
            raise_with: "nats-server's max_payload",
        }
    }
}

/// What a reply brings: its bytes, or why there are none.
pub(crate) type Answer = std::result::Result<Bytes, Lost>;

type Waiter = Box<dyn FnOnce(Answer) + Send>;

/// A peer as its heartbeats tell it.
pub(crate) struct Peer {
    pub(crate) beat: Heartbeat,
    pub(crate) seen: Instant,
    /// Actors placed on it since its last heartbeat (which does not count
    /// them yet), so that a burst of spawns spreads.
    pub(crate) placed: u64,
}

/// A message for the outbox.
struct Out {
    subject: String,
    reply: Option<String>,
    payload: Bytes,
}

/// This runtime in the cluster.
pub(crate) struct Member {
    pub(crate) id: String,
    pub(crate) name: String,
    /// Whether peers may place actors here.
    pub(crate) serves: bool,
    runtime: Weak<crate::api::RuntimeInner>,
    pub(crate) client: Client,
    pub(crate) io: tokio::runtime::Handle,
    outbox: mpsc::UnboundedSender<Out>,
    seq: AtomicU64,
    waiters: Mutex<HashMap<u64, (Option<String>, Waiter)>>,
    pub(crate) peers: Mutex<HashMap<String, Peer>>,
    connected: AtomicBool,
    /// Stops the I/O thread when the member is dropped.
    _stop: tokio::sync::oneshot::Sender<()>,
    pub(crate) node: super::state::Serving,
    pub(crate) remote: super::state::Remote,
    pub(crate) on_event: Option<super::EventSink>,
}

impl Member {
    /// Connects to `url` and joins: starts the I/O thread, the heartbeats
    /// and the listeners.
    pub(crate) fn join(runtime: &Runtime, settings: &ClusterSettings) -> Result<Arc<Member>> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let io_runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::setup("the cluster's I/O thread", Arc::new(e)))?;
        let io = io_runtime.handle().clone();
        std::thread::Builder::new()
            .name("wactor-cluster".into())
            .spawn(move || {
                io_runtime.block_on(async move {
                    let _ = stop_rx.await;
                });
                io_runtime.shutdown_background();
            })
            .map_err(|e| Error::setup("the cluster's I/O thread", Arc::new(e)))?;
        let me: Arc<std::sync::OnceLock<Weak<Member>>> = Arc::default();
        let events = me.clone();
        let url = settings.url.clone();
        io.spawn(async move {
            let connected = async_nats::ConnectOptions::new()
                .name("wactor")
                .retry_on_initial_connect()
                .max_reconnects(None)
                .event_callback(move |event| {
                    let me = events.get().and_then(Weak::upgrade);
                    async move {
                        if let Some(me) = me {
                            me.connection_event(event);
                        }
                    }
                })
                .connect(url.as_str());
            // `retry_on_initial_connect` returns at once; the first
            // connection is awaited with `flush` below.
            let _ = ready_tx.send(connected.await);
        });
        let client = ready_rx
            .recv()
            .map_err(|_| Error::Unavailable {
                actor: "(cluster)".into(),
                reason: "the cluster's I/O thread stopped".into(),
            })?
            .map_err(|e| unreachable_nats(&settings.url, &e.to_string()))?;
        let flushed = block_on_io(&io, {
            let client = client.clone();
            async move { tokio::time::timeout(REQUEST_TIMEOUT, client.flush()).await }
        });
        if !matches!(flushed, Some(Ok(Ok(())))) {
            return Err(unreachable_nats(
                &settings.url,
                "no connection within 5 s (is nats-server running there?)",
            ));
        }
        let id = new_id();
        let (outbox, outgoing) = mpsc::unbounded_channel();
        let member = Arc::new(Member {
            name: settings.name.clone().unwrap_or_else(|| default_name(&id)),
            id,
            serves: settings.serve,
            runtime: Arc::downgrade(&runtime.inner),
            client: client.clone(),
            io: io.clone(),
            outbox,
            seq: AtomicU64::new(1),
            waiters: Mutex::default(),
            peers: Mutex::default(),
            connected: AtomicBool::new(true),
            _stop: stop_tx,
            node: super::state::Serving::default(),
            remote: super::state::Remote::default(),
            on_event: settings.on_event.clone(),
        });
        let _ = me.set(Arc::downgrade(&member));
        member.start(outgoing)?;
        // Ask the others to say who they are, so the first spawn already
        // knows where it may go: wait for the first answer, then a little
        // more for the rest (on loopback they come within milliseconds).
        member.send(wire::HELLO.into(), None, Bytes::from(member.id.clone()));
        let start = Instant::now();
        while start.elapsed() < HELLO_WAIT && member.peers.lock().map_or(true, |p| p.is_empty()) {
            std::thread::sleep(Duration::from_millis(2));
        }
        if start.elapsed() < HELLO_WAIT {
            std::thread::sleep(Duration::from_millis(30));
        }
        Ok(member)
    }

    /// Subscribes and starts the loops, on the I/O thread.
    fn start(self: &Arc<Self>, mut outgoing: mpsc::UnboundedReceiver<Out>) -> Result<()> {
        let subscribed = block_on_io(&self.io, {
            let client = self.client.clone();
            let id = self.id.clone();
            async move {
                let replies = client.subscribe(wire::replies_of(&id)).await?;
                let requests = client.subscribe(wire::node_subject(&id)).await?;
                let beats = client.subscribe(wire::HEARTBEAT).await?;
                let byes = client.subscribe(wire::BYE).await?;
                let status = client.subscribe(wire::STATUS).await?;
                let hellos = client.subscribe(wire::HELLO).await?;
                client.flush().await.map_err(|e| {
                    async_nats::SubscribeError::with_source(
                        async_nats::client::SubscribeErrorKind::Other,
                        e,
                    )
                })?;
                Ok::<_, async_nats::SubscribeError>((
                    replies, requests, beats, byes, status, hellos,
                ))
            }
        });
        let (mut replies, mut requests, mut beats, mut byes, mut status, mut hellos) =
            match subscribed {
                Some(Ok(subs)) => subs,
                Some(Err(e)) => return Err(unreachable_nats("the cluster", &e.to_string())),
                None => return Err(unreachable_nats("the cluster", "the I/O thread stopped")),
            };
        let client = self.client.clone();
        self.io.spawn(async move {
            while let Some(out) = outgoing.recv().await {
                let sent = match out.reply {
                    Some(reply) => {
                        client
                            .publish_with_reply(out.subject, reply, out.payload)
                            .await
                    }
                    None => client.publish(out.subject, out.payload).await,
                };
                if let Err(e) = sent {
                    tracing::debug!(error = %e, "a cluster message could not be sent");
                }
            }
        });
        let weak = Arc::downgrade(self);
        self.io.spawn(async move {
            while let Some(message) = replies.next().await {
                let Some(me) = weak.upgrade() else { break };
                me.answer(message);
            }
        });
        let weak = Arc::downgrade(self);
        self.io.spawn(async move {
            while let Some(message) = requests.next().await {
                let Some(me) = weak.upgrade() else { break };
                me.request(message);
            }
        });
        let weak = Arc::downgrade(self);
        self.io.spawn(async move {
            while let Some(message) = beats.next().await {
                let Some(me) = weak.upgrade() else { break };
                if let Ok(beat) = serde_json::from_slice::<Heartbeat>(&message.payload) {
                    me.heard(beat);
                }
            }
        });
        let weak = Arc::downgrade(self);
        self.io.spawn(async move {
            while let Some(message) = byes.next().await {
                let Some(me) = weak.upgrade() else { break };
                let id = String::from_utf8_lossy(&message.payload).into_owned();
                me.peer_gone(&id, true);
            }
        });
        let weak = Arc::downgrade(self);
        self.io.spawn(async move {
            while let Some(message) = hellos.next().await {
                let Some(me) = weak.upgrade() else { break };
                if message.payload != me.id.as_bytes() {
                    me.beat();
                }
            }
        });
        let weak = Arc::downgrade(self);
        self.io.spawn(async move {
            while let Some(message) = status.next().await {
                let Some(me) = weak.upgrade() else { break };
                if let Some(reply) = message.reply {
                    let row = me.status();
                    if let Ok(text) = serde_json::to_vec(&row) {
                        me.send(reply.to_string(), None, text.into());
                    }
                }
            }
        });
        let weak = Arc::downgrade(self);
        self.io.spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT_EVERY / 2);
            let mut beat_due = Instant::now();
            loop {
                tick.tick().await;
                let Some(me) = weak.upgrade() else { break };
                if Instant::now() >= beat_due {
                    beat_due = Instant::now() + HEARTBEAT_EVERY;
                    me.beat();
                }
                me.judge();
            }
        });
        self.beat();
        Ok(())
    }

    /// The runtime this member belongs to, while it lives.
    pub(crate) fn runtime(&self) -> Option<Runtime> {
        self.runtime.upgrade().map(|inner| Runtime { inner })
    }

    /// The most bytes the server takes in one message.
    pub(crate) fn max_payload(&self) -> usize {
        // Headers and subjects take a little of it.
        self.client.server_info().max_payload.saturating_sub(1024)
    }

    /// A reply as it may be sent: one too large for the server becomes
    /// the error saying so, so the asker is not left waiting.
    pub(crate) fn fit(&self, reply: Bytes) -> Bytes {
        let max = self.max_payload();
        if reply.len() <= max {
            reply
        } else {
            wire::failed_reply(&Lost::too_large(max))
        }
    }

    /// Queues a message.
    pub(crate) fn send(&self, subject: String, reply: Option<String>, payload: Bytes) {
        let _ = self.outbox.send(Out {
            subject,
            reply,
            payload,
        });
    }

    /// Sends `request` to `member` and calls `then` with the reply (or why
    /// there is none), once. `then` may run on any thread.
    pub(crate) fn ask(&self, member: &str, request: &wire::Request, then: Waiter) {
        match serde_json::to_vec(request) {
            Ok(payload) => self.ask_subject(
                wire::node_subject(member),
                Some(member.to_string()),
                payload.into(),
                then,
            ),
            Err(e) => tracing::error!(error = %e, "a cluster request could not be encoded"),
        }
    }

    /// Sends `request` to `member`, expecting no reply (a kill, a release,
    /// a cancel): nothing waits for it.
    pub(crate) fn tell(&self, member: &str, request: &wire::Request) {
        match serde_json::to_vec(request) {
            Ok(payload) => self.send(wire::node_subject(member), None, payload.into()),
            Err(e) => tracing::error!(error = %e, "a cluster request could not be encoded"),
        }
    }

    /// [`ask`](Self::ask) on any subject; `peer` is the member answering,
    /// if known, so its loss fails the request.
    pub(crate) fn ask_subject(
        &self,
        subject: String,
        peer: Option<String>,
        payload: Bytes,
        then: Waiter,
    ) {
        if !self.connected.load(Ordering::Acquire) {
            then(Err(Lost::Disconnected));
            return;
        }
        let max = self.max_payload();
        if payload.len() > max {
            then(Err(Lost::TooLarge {
                size: payload.len(),
                max,
            }));
            return;
        }
        if let Some(peer) = &peer
            && let Some(lost) = self.lost_peer(peer)
        {
            then(Err(lost));
            return;
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        self.waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(seq, (peer, then));
        self.send(subject, Some(wire::reply_subject(&self.id, seq)), payload);
    }

    /// [`ask_subject`](Self::ask_subject), waiting for the answer (at most
    /// [`REQUEST_TIMEOUT`]) on this thread. Not on the I/O thread.
    pub(crate) fn ask_blocking(
        &self,
        subject: String,
        peer: Option<String>,
        payload: Bytes,
    ) -> Option<Answer> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.ask_subject(
            subject,
            peer,
            payload,
            Box::new(move |answer| {
                let _ = tx.send(answer);
            }),
        );
        rx.recv_timeout(REQUEST_TIMEOUT).ok()
    }

    /// Hands a reply to its waiter.
    fn answer(&self, message: async_nats::Message) {
        let Some(seq) = message
            .subject
            .rsplit('.')
            .next()
            .and_then(|s| s.parse::<u64>().ok())
        else {
            return;
        };
        let waiter = self
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&seq);
        if let Some((_, then)) = waiter {
            if message.status == Some(async_nats::StatusCode::NO_RESPONDERS) {
                then(Err(Lost::NoResponders));
            } else {
                then(Ok(message.payload));
            }
        }
    }

    /// Whether `peer` is known to be gone, and how.
    fn lost_peer(&self, peer: &str) -> Option<Lost> {
        if peer == self.id {
            return None;
        }
        let gone = self.remote.gone(peer)?;
        Some(Lost::Peer {
            name: gone.0,
            stopped: gone.1,
        })
    }

    /// Publishes this member's heartbeat.
    fn beat(&self) {
        let (free_slots, headroom) = self.room();
        let beat = Heartbeat {
            id: self.id.clone(),
            name: self.name.clone(),
            serves: self.serves,
            free_slots,
            headroom,
            actors: self.node.count() as u64,
        };
        if let Ok(payload) = serde_json::to_vec(&beat) {
            self.send(wire::HEARTBEAT.into(), None, payload.into());
        }
    }

    /// Instances this runtime may still make, and memory it may still give.
    pub(crate) fn room(&self) -> (u64, u64) {
        let Some(runtime) = self.runtime() else {
            return (0, 0);
        };
        let engines = &runtime.inner.engines;
        let slots = u64::from(engines.settings.max_instances);
        let used = self.node.instances();
        let memory = engines.settings.max_memory;
        (
            slots.saturating_sub(used),
            memory.saturating_sub(engines.memory().used()) as u64,
        )
    }

    /// A heartbeat came.
    fn heard(&self, beat: Heartbeat) {
        if beat.id == self.id {
            return;
        }
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let fresh = !peers.contains_key(&beat.id);
        if fresh {
            tracing::debug!(node = %beat.name, id = %beat.id, "a cluster member joined");
            self.remote.back(&beat.id);
        }
        peers.insert(
            beat.id.clone(),
            Peer {
                beat,
                seen: Instant::now(),
                placed: 0,
            },
        );
    }

    /// Declares lost every peer silent for [`LOST_AFTER`].
    fn judge(&self) {
        if !self.connected.load(Ordering::Acquire) {
            return;
        }
        let silent: Vec<String> = {
            let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
            peers
                .iter()
                .filter(|(_, p)| p.seen.elapsed() > LOST_AFTER)
                .map(|(id, _)| id.clone())
                .collect()
        };
        for id in silent {
            self.peer_gone(&id, false);
        }
    }

    /// A peer left (`stopped`) or was lost: fail what waits on it, kill
    /// the actors it owned here, mark its actors dead.
    pub(crate) fn peer_gone(&self, id: &str, stopped: bool) {
        if id == self.id {
            return;
        }
        let peer = self
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        let name = peer.map_or_else(|| id.to_string(), |p| p.beat.name);
        if self.remote.mark_gone(id, &name, stopped) {
            if stopped {
                tracing::info!(node = %name, "a cluster member left");
            } else {
                tracing::warn!(node = %name, "a cluster member was lost: no heartbeat for {LOST_AFTER:?}");
            }
        }
        let failed: Vec<Waiter> = {
            let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
            let keys: Vec<u64> = waiters
                .iter()
                .filter(|(_, (peer, _))| peer.as_deref() == Some(id))
                .map(|(k, _)| *k)
                .collect();
            keys.into_iter()
                .filter_map(|k| waiters.remove(&k).map(|(_, w)| w))
                .collect()
        };
        for then in failed {
            then(Err(Lost::Peer {
                name: name.clone(),
                stopped,
            }));
        }
        self.remote.peer_gone(id, &name, stopped);
        self.node.owner_gone(id, &name, stopped);
    }

    /// NATS told of a change in the connection.
    fn connection_event(&self, event: Event) {
        match event {
            Event::Disconnected => {
                self.connected.store(false, Ordering::Release);
                tracing::warn!("lost the connection to NATS; requests in flight fail");
                let failed: Vec<Waiter> = {
                    let mut waiters = self.waiters.lock().unwrap_or_else(|e| e.into_inner());
                    waiters.drain().map(|(_, (_, w))| w).collect()
                };
                for then in failed {
                    then(Err(Lost::Disconnected));
                }
            }
            Event::Connected => {
                // Nobody could be heard while we were away: start the
                // clocks again rather than declare everyone lost.
                let now = Instant::now();
                for peer in self
                    .peers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .values_mut()
                {
                    peer.seen = now;
                }
                self.connected.store(true, Ordering::Release);
                tracing::info!("connected to NATS again");
                self.beat();
            }
            _ => {}
        }
    }

    /// Leaves: says goodbye, and stops this member's actors with
    /// [`DeathCause::NodeStopped`](crate::DeathCause::NodeStopped).
    pub(crate) fn leave(&self) {
        self.stop_served();
        let client = self.client.clone();
        let id = self.id.clone();
        let _ = block_on_io(&self.io, async move {
            let _ = client.publish(wire::BYE, id.into()).await;
            let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
        });
    }

    /// The serving members with room, best first: (id, name).
    pub(crate) fn candidates(&self) -> Vec<(String, String)> {
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<(u64, u64, String, String)> = peers
            .iter()
            .filter(|(_, p)| p.beat.serves)
            .map(|(id, p)| {
                (
                    p.beat.free_slots.saturating_sub(p.placed),
                    p.beat.headroom,
                    id.clone(),
                    p.beat.name.clone(),
                )
            })
            .collect();
        if self.serves {
            let (slots, headroom) = self.room();
            rows.push((slots, headroom, self.id.clone(), self.name.clone()));
        }
        // Most free slots first, then most memory (in 64 MiB steps, so
        // that noise does not decide); ties go by a hash of this member
        // and the peer, so programs that each spawn a few actors do not
        // all pick the same node.
        let tie = |peer: &str| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (&self.id, peer).hash(&mut h);
            h.finish()
        };
        rows.sort_by_key(|(slots, headroom, id, _)| {
            (
                std::cmp::Reverse(*slots),
                std::cmp::Reverse(*headroom >> 26),
                tie(id),
            )
        });
        rows.into_iter()
            .map(|(_, _, id, name)| (id, name))
            .collect()
    }

    /// Counts an actor placed on `peer` until its next heartbeat.
    pub(crate) fn placed_on(&self, peer: &str) {
        if let Some(p) = self
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(peer)
        {
            p.placed += 1;
        }
    }

    /// The member called `name` (or with that id), among the living.
    pub(crate) fn find_peer(&self, name: &str) -> Option<String> {
        if name == self.name || name == self.id {
            return Some(self.id.clone());
        }
        let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers
            .iter()
            .find(|(id, p)| p.beat.name == name || id.as_str() == name)
            .map(|(id, _)| id.clone())
    }

    /// The names of the living serving members, for messages.
    pub(crate) fn node_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|p| p.beat.serves)
            .map(|p| p.beat.name.clone())
            .collect();
        if self.serves {
            names.push(self.name.clone());
        }
        names.sort();
        names
    }

    /// The name of member `id`, if known.
    pub(crate) fn peer_name(&self, id: &str) -> String {
        if id == self.id {
            return self.name.clone();
        }
        self.peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .map_or_else(|| id.to_string(), |p| p.beat.name.clone())
    }

    /// A component by its hash: loaded here already, or fetched from
    /// `holder` and loaded (compiled, or read from the compile cache).
    pub(crate) async fn component(
        self: &Arc<Self>,
        cref: &wire::ComponentRef,
    ) -> Result<ActorComponent> {
        if let Some(c) = self.remote.loaded(&cref.hash) {
            return Ok(c);
        }
        let _one_at_a_time = self.remote.load_lock.lock().await;
        if let Some(c) = self.remote.loaded(&cref.hash) {
            return Ok(c);
        }
        let runtime = self.runtime().ok_or_else(|| Error::Unavailable {
            actor: cref.name.clone(),
            reason: "this runtime is shutting down".into(),
        })?;
        let bytes = match self.remote.source(&cref.hash) {
            Some(bytes) => bytes,
            None => self.fetch_component(cref, &runtime).await?,
        };
        let name = cref.name.clone();
        let hash = cref.hash.clone();
        let component = tokio::task::spawn_blocking(move || runtime.load_bytes(&name, &bytes))
            .await
            .map_err(|e| Error::Unavailable {
                actor: cref.name.clone(),
                reason: format!("loading the component failed: {e}"),
            })??;
        self.remote.keep_loaded(&hash, component.clone());
        Ok(component)
    }

    /// Asks `cref.holder` for the bytes of a component, chunk by chunk.
    async fn fetch_component(
        self: &Arc<Self>,
        cref: &wire::ComponentRef,
        runtime: &Runtime,
    ) -> Result<Arc<[u8]>> {
        let limit = runtime.inner.max_component_size;
        let mut bytes: Vec<u8> = Vec::new();
        loop {
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.ask(
                &cref.holder,
                &wire::Request::Blob {
                    hash: cref.hash.clone(),
                    offset: bytes.len() as u64,
                },
                Box::new(move |answer| {
                    let _ = tx.send(answer);
                }),
            );
            let unavailable = |reason: String| Error::Unavailable {
                actor: cref.name.clone(),
                reason,
            };
            let chunk = tokio::time::timeout(REQUEST_TIMEOUT, rx)
                .await
                .map_err(|_| unavailable("the component's holder did not answer in 5 s".into()))?
                .map_err(|_| unavailable("the cluster stopped".into()))?
                .map_err(|lost| {
                    unavailable(format!("fetching the component: {}", lost_text(&lost)))
                })?;
            let Some((total, data)) = wire::read_blob(&chunk) else {
                return Err(unavailable(format!(
                    "the component's holder does not have it: {}",
                    String::from_utf8_lossy(&chunk)
                )));
            };
            if total > limit {
                return Err(Error::InvalidComponent {
                    origin: cref.name.clone(),
                    reason: format!(
                        "it is {total} bytes, more than the runtime's max_component_size of {limit}"
                    ),
                    source: None,
                });
            }
            bytes.extend_from_slice(data);
            if bytes.len() as u64 >= total || data.is_empty() {
                break;
            }
        }
        if crate::engine::content_hash(&bytes) != cref.hash {
            return Err(Error::InvalidComponent {
                origin: cref.name.clone(),
                reason: "the bytes received do not have the hash asked for".into(),
                source: None,
            });
        }
        Ok(bytes.into())
    }

    /// What `wactor status` shows of this member.
    fn status(&self) -> wire::NodeStatus {
        let (free_slots, headroom) = self.room();
        wire::NodeStatus {
            id: self.id.clone(),
            name: self.name.clone(),
            serves: self.serves,
            free_slots,
            headroom,
            actors: self.node.rows(),
        }
    }

    /// Sends `object_ref`'s value to `reply` once it is there.
    pub(crate) fn reply_when_ready(self: &Arc<Self>, object_ref: &ObjectRef, reply: String) {
        let weak = Arc::downgrade(self);
        object_ref.on_resolved(move |stored| {
            if let Some(me) = weak.upgrade() {
                let reply_bytes = me.fit(wire::value_reply(stored));
                me.send(reply, None, reply_bytes);
            }
        });
    }
}

/// Runs `future` on the I/O thread and waits for it here.
pub(crate) fn block_on_io<F>(io: &tokio::runtime::Handle, future: F) -> Option<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    io.spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().ok()
}

/// What a [`Lost`] means, in words.
pub(crate) fn lost_text(lost: &Lost) -> String {
    match lost {
        Lost::NoResponders => "nobody answers there (its node is gone)".into(),
        Lost::Peer {
            name,
            stopped: false,
        } => format!("node `{name}` was lost"),
        Lost::Peer {
            name,
            stopped: true,
        } => format!("node `{name}` stopped"),
        Lost::Disconnected => "the connection to NATS broke".into(),
        Lost::TooLarge { size, max } => {
            format!("the message is {size} bytes, over NATS's max_payload of {max}")
        }
    }
}

fn unreachable_nats(url: &str, why: &str) -> Error {
    Error::Unavailable {
        actor: "(cluster)".into(),
        reason: format!("cannot join the cluster at {url}: {why}"),
    }
}

/// A fresh member id: 16 hex digits, from the clock and the process.
fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// `<host>-<pid>`, or the id's start when the host name is unknown.
fn default_name(id: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if host.is_empty() {
        format!("node-{}", &id[..8])
    } else {
        format!("{host}-{}", std::process::id())
    }
}
