//! The serving side: what a member does with its peers' requests. It runs
//! their actors, answers their calls, and hands out the values of refs it
//! owns and the bytes of components it holds.
//!
//! Why each rule:
//! - **Requests are taken in arrival order, on one task**; a spawn whose
//!   component must first be fetched and compiled does not hold the rest
//!   up, but the calls to that actor wait behind it, in order.
//! - **An actor's owner is the member whose program spawned it**: when the
//!   owner leaves or is lost, its actors here are killed, as a program's
//!   actors end with it.
//! - **Each exported ref is counted per peer it was sent to** and dropped
//!   when that peer fetched it (or is gone), so refs do not pile up.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use super::NodeEvent;
use super::member::{Lost, Member};
use super::state::Hosted;
use super::wire::{
    self, BLOB, ComponentRef, FOUND, Request, SPAWNED, WireOptions, WireRef, failed_reply,
    read_value, value_reply,
};
use crate::actor::ActorHandle;
use crate::api::{ActorOptions, Placement};
use crate::error::{DeathCause, Error};
use crate::guest::GuestOutput;
use crate::object_ref::{ObjectRef, Stored};

/// How many bytes of a component go in one message (NATS's default
/// maximum payload is 1 MiB).
const BLOB_CHUNK: usize = 512 << 10;
impl Member {
    /// Stops every actor here: this member leaves.
    pub(crate) fn stop_served(&self) {
        let member = self;
        self.node
            .stopping
            .store(true, std::sync::atomic::Ordering::Release);
        let all: Vec<Hosted> = {
            let mut actors = self.node.actors.lock().unwrap_or_else(|e| e.into_inner());
            actors.drain().map(|(_, h)| h).collect()
        };
        for hosted in all {
            if let Hosted::Running { handle, owner, .. } = hosted {
                let cause = DeathCause::NodeStopped {
                    node: member.name.clone(),
                };
                handle.shared().die(cause.clone());
                // The program's own actors passed to peers are not reported.
                if owner != member.id {
                    member.event(NodeEvent::Died {
                        actor: handle.name().to_string(),
                        component: handle.component_name().to_string(),
                        cause: cause.to_string(),
                    });
                }
            }
        }
    }

    /// A request from a peer, in arrival order.
    pub(crate) fn request(self: &Arc<Self>, message: async_nats::Message) {
        let reply = message.reply.map(|r| r.to_string());
        let request = match serde_json::from_slice::<Request>(&message.payload) {
            Ok(request) => request,
            Err(e) => {
                if let Some(reply) = reply {
                    self.fail(
                        reply,
                        &Error::InvalidValue {
                            reason: format!("a cluster request that does not parse: {e}"),
                            source: None,
                        },
                    );
                }
                return;
            }
        };
        self.handle_request(request, reply);
    }

    fn handle_request(self: &Arc<Self>, request: Request, reply: Option<String>) {
        match request {
            Request::Spawn {
                key,
                owner,
                component,
                components,
                options,
            } => self.spawn_for(key, owner, component, components, options, reply),
            call @ Request::Call { .. } => self.call_for(call, reply),
            Request::Kill { actor } => {
                let hosted = self
                    .node
                    .actors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&actor);
                match hosted {
                    Some(Hosted::Running { handle, .. }) => handle.kill(),
                    Some(Hosted::Starting { calls, .. }) => {
                        // Put it back, marked: it dies once it starts.
                        self.node
                            .actors
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(
                                actor.clone(),
                                Hosted::Starting {
                                    calls,
                                    killed: true,
                                },
                            );
                    }
                    None => {}
                }
                self.node.bury(&actor, DeathCause::Killed);
            }
            Request::Release { actor } => {
                let mut actors = self.node.actors.lock().unwrap_or_else(|e| e.into_inner());
                if matches!(actors.get(&actor), Some(Hosted::Running { .. })) {
                    actors.remove(&actor);
                }
            }
            Request::CancelCall { from, seq } => {
                let r = self
                    .node
                    .inflight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&(from, seq));
                if let Some(r) = r {
                    r.cancel();
                }
            }
            Request::Fetch { from, id } => {
                let Some(reply) = reply else { return };
                match self.node.take_export(id, &from) {
                    Some(r) => self.reply_when_ready(&r, reply),
                    None => self.fail(
                        reply,
                        &Error::InvalidValue {
                            reason: format!(
                                "ObjectRef {id} of node `{}` was not passed to this peer, or was \
                                 fetched already",
                                self.name
                            ),
                            source: None,
                        },
                    ),
                }
            }
            Request::Cancel { id } => {
                let exports = self.node.exports.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((r, _)) = exports.iter().find(|((i, _), _)| *i == id).map(|(_, v)| v) {
                    r.cancel();
                }
            }
            Request::Blob { hash, offset } => {
                let Some(reply) = reply else { return };
                let payload = match self.remote.source(&hash) {
                    Some(bytes) => {
                        let start = usize::try_from(offset)
                            .unwrap_or(usize::MAX)
                            .min(bytes.len());
                        let end = (start + BLOB_CHUNK).min(bytes.len());
                        let mut out = BytesMut::with_capacity(9 + end - start);
                        out.put_u8(BLOB);
                        out.put_u64(bytes.len() as u64);
                        out.put_slice(&bytes[start..end]);
                        out.freeze()
                    }
                    None => Bytes::from(format!("no component with hash {hash} here")),
                };
                self.send(reply, None, payload);
            }
        }
    }

    /// Spawns an actor for a peer: loads its components (fetching what is
    /// missing), then starts it and lets the calls that waited through.
    fn spawn_for(
        self: &Arc<Self>,
        key: String,
        owner: String,
        component: ComponentRef,
        components: Vec<(String, ComponentRef)>,
        options: Box<WireOptions>,
        reply: Option<String>,
    ) {
        if !self.serves {
            if let Some(reply) = reply {
                self.fail(
                    reply,
                    &Error::InvalidOption {
                        option: "node",
                        reason: format!("`{}` runs a program and serves no actors", self.name),
                    },
                );
            }
            return;
        }
        self.node
            .actors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                key.clone(),
                Hosted::Starting {
                    calls: Vec::new(),
                    killed: false,
                },
            );
        let me = self.clone();
        let named = options.named;
        self.io.spawn(async move {
            let started = me.start_actor(&component, &components, *options).await;
            let waiting = me
                .node
                .actors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            let (calls, killed) = match waiting {
                Some(Hosted::Starting { calls, killed }) => (calls, killed),
                _ => (Vec::new(), true),
            };
            match started {
                Ok(handle) => {
                    if killed {
                        handle.kill();
                    }
                    if let Some(reply) = reply {
                        me.send(reply, None, Bytes::from_static(&[SPAWNED]));
                    }
                    me.event(NodeEvent::Started {
                        actor: handle.name().to_string(),
                        component: handle.component_name().to_string(),
                    });
                    let name_task =
                        named.then(|| me.answer_for_name(&handle, &key, &component));
                    me.watch(&handle, &key);
                    me.node
                        .actors
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(
                            key.clone(),
                            Hosted::Running {
                                handle,
                                owner,
                                name_task,
                            },
                        );
                    for (call, reply) in calls {
                        me.call_for(call, reply);
                    }
                }
                Err(e) => {
                    tracing::warn!(component = %component.name, error = %e, "could not spawn an actor for a peer");
                    me.node
                        .bury(&key, DeathCause::Instantiation(crate::error::full_text(&e)));
                    if let Some(reply) = reply {
                        me.fail(reply, &e);
                    }
                    for (_, reply) in calls {
                        if let Some(reply) = reply {
                            me.fail(reply, &e);
                        }
                    }
                }
            }
        });
    }

    async fn start_actor(
        self: &Arc<Self>,
        component: &ComponentRef,
        components: &[(String, ComponentRef)],
        wire: WireOptions,
    ) -> crate::Result<ActorHandle> {
        let main = self.component(component).await?;
        // Output labelled with the actor's name, as `wactor run` prints it;
        // a node's stdout that cannot be written loses the line and kills
        // no guest.
        let mut options = ActorOptions::new()
            .placement(Placement::Here)
            .stdout(GuestOutput::Labelled)
            .stderr(GuestOutput::Labelled);
        for (name, cref) in components {
            options = options.allow_component(name.clone(), self.component(cref).await?);
        }
        options.unlisted = !wire.named;
        options.name = wire.name;
        options.max_concurrency = wire.max_concurrency;
        options.max_pending_calls = wire.max_pending_calls;
        options.memory_limit = wire.memory_limit;
        options.call_deadline = wire.call_deadline_ms.map(std::time::Duration::from_millis);
        options.max_restarts = wire.max_restarts;
        options.max_task_retries = wire.max_task_retries;
        options.max_actors = wire.max_actors;
        options.max_program_bytes = wire.max_program_bytes;
        options.env = wire.env;
        options.args = wire.args;
        options.net_grants = wire.allow_net;
        options.allow_listen = wire.allow_listen;
        options.max_connections = wire.max_connections;
        options.concurrency_groups = wire.concurrency_groups;
        main.spawn(options)
    }

    /// Prints the actor's end, and forgets it, when it dies.
    fn watch(self: &Arc<Self>, handle: &ActorHandle, key: &str) {
        let mut dead = handle.shared().watch_death();
        let weak = Arc::downgrade(self);
        // The actor's names, kept apart from it: a killed actor's last
        // reference may go before this task wakes. (Its cause stays in the
        // receiver.)
        let (name, component) = (
            handle.shared().name.clone(),
            handle.shared().component.clone(),
        );
        let key = key.to_string();
        self.io.spawn(async move {
            // An error: the actor is gone without dying (its last handle
            // was dropped); then it holds no cause.
            let _ = dead.wait_for(Option::is_some).await;
            let Some(cause) = dead.borrow().clone() else {
                return;
            };
            let Some(me) = weak.upgrade() else { return };
            let hosted = me
                .node
                .actors
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            if let Some(Hosted::Running {
                name_task: Some(task),
                ..
            }) = hosted
            {
                task.abort();
            }
            me.node.bury(&key, cause.clone());
            if me.node.stopping.load(std::sync::atomic::Ordering::Acquire) {
                return;
            }
            me.event(NodeEvent::Died {
                actor: name.to_string(),
                component: component.to_string(),
                cause: cause.to_string(),
            });
        });
    }

    /// Answers `get-actor` and name claims for a named actor while it
    /// lives.
    fn answer_for_name(
        self: &Arc<Self>,
        handle: &ActorHandle,
        key: &str,
        component: &ComponentRef,
    ) -> tokio::task::AbortHandle {
        let client = self.client.clone();
        let subject = wire::name_subject(handle.name());
        let found = wire::Reply::Found {
            node: self.id.clone(),
            key: key.to_string(),
            component: ComponentRef {
                holder: self.id.clone(),
                ..component.clone()
            },
            max_concurrency: handle.max_concurrency(),
        };
        let mut payload = vec![FOUND];
        payload.extend(serde_json::to_vec(&found).unwrap_or_default());
        let payload = Bytes::from(payload);
        self.io
            .spawn(async move {
                use futures::StreamExt;
                let Ok(mut sub) = client.subscribe(subject).await else {
                    return;
                };
                while let Some(message) = sub.next().await {
                    if let Some(reply) = message.reply {
                        let _ = client.publish(reply, payload.clone()).await;
                    }
                }
            })
            .abort_handle()
    }

    /// A call from a peer; the reply goes out when its ref resolves.
    fn call_for(self: &Arc<Self>, call: Request, reply: Option<String>) {
        let Request::Call {
            actor,
            method,
            args,
            refs,
            actors: passed,
            from,
            seq,
        } = &call
        else {
            return;
        };
        let handle = {
            let mut actors = self.node.actors.lock().unwrap_or_else(|e| e.into_inner());
            match actors.get_mut(actor) {
                Some(Hosted::Starting { calls, .. }) => {
                    calls.push((call, reply));
                    return;
                }
                Some(Hosted::Running { handle, .. }) => handle.clone(),
                None => {
                    drop(actors);
                    let cause = self
                        .node
                        .tombstones
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(actor)
                        .cloned()
                        .unwrap_or(DeathCause::NodeStopped {
                            node: self.name.clone(),
                        });
                    if let Some(reply) = reply {
                        self.fail(
                            reply,
                            &Error::ActorDied {
                                actor: format!("{actor} (on node `{}`)", self.name),
                                cause,
                            },
                        );
                    }
                    return;
                }
            }
        };
        // Actor handles passed whose components are not loaded here wait
        // for them; the call goes on once they are.
        let mut actors = Vec::with_capacity(passed.len());
        for wire in passed {
            match self.actor_from_wire(wire) {
                Some(Ok(a)) => actors.push(a.to_arg()),
                Some(Err(e)) => {
                    if let Some(reply) = reply {
                        self.fail(reply, &e);
                    }
                    return;
                }
                None => {
                    let me = self.clone();
                    let components: Vec<ComponentRef> =
                        passed.iter().map(|w| w.component.clone()).collect();
                    self.io.spawn(async move {
                        for component in &components {
                            if let Err(e) = me.component(component).await {
                                if let Some(reply) = reply {
                                    me.fail(reply, &e);
                                }
                                return;
                            }
                        }
                        me.call_for(call, reply);
                    });
                    return;
                }
            }
        }
        let refs: Vec<ObjectRef> = refs.iter().map(|r| self.borrow(r)).collect();
        match handle.call_json_with_refs(method, args, &refs, &actors, None) {
            Err(e) => {
                if let Some(reply) = reply {
                    self.fail(reply, &e);
                }
            }
            Ok(r) => {
                let Some(reply) = reply else { return };
                let key = (from.clone(), *seq);
                self.node
                    .inflight
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key.clone(), r.clone());
                let weak = Arc::downgrade(self);
                r.on_resolved(move |stored| {
                    if let Some(me) = weak.upgrade() {
                        me.node
                            .inflight
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&key);
                        let bytes = me.fit(value_reply(stored));
                        me.send(reply, None, bytes);
                    }
                });
            }
        }
    }

    /// A ref passed by a peer, as a ref here: its value is fetched from its
    /// owner at once and kept.
    pub(crate) fn borrow(self: &Arc<Self>, wire_ref: &WireRef) -> ObjectRef {
        if wire_ref.owner == self.id
            && let Some(r) = self.node.take_export(wire_ref.id, &self.id)
        {
            return r;
        }
        let (r, promise) = ObjectRef::pending(None);
        let owner = wire_ref.owner.clone();
        let owner_name = self.peer_name(&owner);
        self.ask(
            &owner,
            &Request::Fetch {
                from: self.id.clone(),
                id: wire_ref.id,
            },
            Box::new(move |answer| match answer {
                Ok(bytes) => match read_value(&bytes) {
                    Ok(json) => promise.resolve_json(json),
                    Err(e) => promise.resolve(Err(e.into_error(|_| None))),
                },
                Err(lost) => promise.resolve(Err(lost_ref(&owner_name, &lost))),
            }),
        );
        // A cancel here cancels at the owner too.
        let weak = Arc::downgrade(self);
        let (owner, id) = (wire_ref.owner.clone(), wire_ref.id);
        r.on_resolved(move |stored| {
            if let (Stored::Outcome(Err(Error::Cancelled)), Some(me)) = (stored, weak.upgrade()) {
                me.tell(&owner, &Request::Cancel { id });
            }
        });
        r
    }

    /// Replies with `error`.
    pub(crate) fn fail(&self, reply: String, error: &Error) {
        self.send(reply, None, failed_reply(error));
    }

    pub(crate) fn event(&self, event: NodeEvent) {
        if let Some(sink) = &self.on_event {
            sink(event);
        }
    }
}

/// Why a ref of `owner` cannot be had.
fn lost_ref(owner: &str, lost: &Lost) -> Error {
    match lost {
        Lost::Disconnected => Error::Unavailable {
            actor: format!("(the owner of a ref, node `{owner}`)"),
            reason: super::member::lost_text(lost),
        },
        Lost::Peer { name, stopped } => Error::ActorDied {
            actor: format!("(the owner of a ref, node `{name}`)"),
            cause: if *stopped {
                DeathCause::NodeStopped { node: name.clone() }
            } else {
                DeathCause::NodeLost { node: name.clone() }
            },
        },
        Lost::TooLarge { max, .. } => Lost::too_large(*max),
        Lost::NoResponders => Error::ActorDied {
            actor: format!("(the owner of a ref, node `{owner}`)"),
            cause: DeathCause::NodeLost {
                node: owner.to_string(),
            },
        },
    }
}
