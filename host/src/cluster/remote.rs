//! The calling side: actors on other nodes, as handles here.
//!
//! A remote actor's handle is an ordinary [`ActorHandle`] whose mailbox is
//! a [`RemoteMailbox`]: calls are checked here against the component's own
//! method table (so a wrong call fails at the call site, as for a local
//! actor), sealed as JSON with refs by id, and the ref resolves when the
//! reply comes. The handle's own state mirrors the actor's: it dies when a
//! reply says the actor died, or when its node is lost.
//!
//! Why each rule:
//! - **The caller owns the ref of its call** (Ray's ownership): the value
//!   comes to it, and refs passed on are served from it.
//! - **A handle from `spawn` releases its actor when the last clone is
//!   dropped** (it finishes its calls and stops), unless it is named: a
//!   named actor lives until it is killed or its program ends, as others
//!   may hold it through `get-actor`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};

use bytes::Bytes;
use wasmtime::component::{Type, Val};

use super::member::{Lost, Member, block_on_io, lost_text};
use super::state::node_cause;
use super::wire::{self, ComponentRef, Request, WireActor, WireOptions, WireRef};
use super::wire::{FOUND, SPAWNED, read_value};
use crate::actor::{ActorHandle, ActorShared, Limits, ProgramSlot};
use crate::api::{ActorComponent, ActorOptions, Placement, Placer};
use crate::call::{ActorArg, Call, Mailbox, MethodTable, Sealed};
use crate::error::{DeathCause, Error, Result};
use crate::ids::ActorId;
use crate::object_ref::Stored;

impl Member {
    /// How a peer reaches the actor of a handle passed as an argument:
    /// where it lives if on another node, else this member, which from now
    /// on serves it to peers (and so keeps it while this member lives).
    pub(crate) fn wire_actor(&self, arg: &ActorArg) -> Result<WireActor> {
        let handle = ActorHandle::from_arg(arg).ok_or_else(|| Error::InvalidValue {
            reason: "an actor argument that is no actor".into(),
            source: None,
        })?;
        let shared = handle.shared();
        let hash = shared
            .component_hash
            .get()
            .ok_or_else(|| Error::InvalidValue {
                reason: format!(
                    "actor {} cannot be passed to another node: its component was loaded before \
                 the runtime joined the cluster",
                    shared.name
                ),
                source: None,
            })?;
        let (node, key, holder) = match handle
            .remote_mailbox()
            .and_then(|m| m.downcast_ref::<RemoteMailbox>())
        {
            Some(remote) => (remote.node.clone(), remote.key.clone(), remote.node.clone()),
            None => {
                let key = self.node.serve_local(&handle, &self.id, || {
                    let n = self.remote.next_key.fetch_add(1, Ordering::Relaxed);
                    format!("{}-{n}", self.id)
                });
                (self.id.clone(), key, self.id.clone())
            }
        };
        Ok(WireActor {
            node,
            key,
            name: shared.name.to_string(),
            component: ComponentRef {
                hash: hash.to_string(),
                name: shared.component.to_string(),
                holder,
            },
            max_concurrency: shared.limits.max_concurrency,
        })
    }

    /// A handle here to an actor passed by a peer, if its component is
    /// loaded here (else `None`: load it first).
    pub(crate) fn actor_from_wire(
        self: &Arc<Self>,
        wire: &WireActor,
    ) -> Option<Result<ActorHandle>> {
        if wire.node == self.id {
            return Some(self.node.served(&wire.key).ok_or_else(|| Error::ActorDied {
                actor: wire.name.clone(),
                cause: DeathCause::Killed,
            }));
        }
        let component = self.remote.loaded(&wire.component.hash)?;
        let limits = component
            .limits(&ActorOptions::new(), wire.max_concurrency)
            .ok()?;
        Some(Ok(mirror(
            self,
            &component,
            &wire.node,
            wire.key.clone(),
            wire.name.as_str().into(),
            limits,
            false,
            None,
        )))
    }
}

/// The mailbox of an actor on another node.
pub(crate) struct RemoteMailbox {
    member: Arc<Member>,
    node: String,
    node_name: String,
    key: String,
    methods: Arc<MethodTable>,
    shared: OnceLock<Weak<ActorShared>>,
    /// Whether dropping the last handle releases the actor.
    release: bool,
    _slot: Option<ProgramSlot>,
}

impl RemoteMailbox {
    fn die(&self, cause: DeathCause) {
        if let Some(shared) = self.shared.get().and_then(Weak::upgrade) {
            shared.die(cause);
        }
    }
}

impl Mailbox for RemoteMailbox {
    fn post(&self, call: Call) -> std::result::Result<(), Call> {
        if let Some((name, stopped)) = self.member.remote.gone(&self.node) {
            self.die(node_cause(&name, stopped));
            return Err(call);
        }
        let Some(shared) = self.shared.get().and_then(Weak::upgrade) else {
            return Err(call);
        };
        let index = call.method;
        let Sealed {
            envelope,
            promise,
            refs: passed,
            actors,
        } = call.seal(&self.methods);
        let actors = match actors
            .iter()
            .map(|a| self.member.wire_actor(a))
            .collect::<Result<Vec<_>>>()
        {
            Ok(actors) => actors,
            Err(e) => {
                shared.counters.skipped(1);
                shared.counters.tally(false);
                promise.resolve(Err(e));
                return Ok(());
            }
        };
        let refs = passed
            .iter()
            .map(|r| {
                self.member.node.export(r, &self.node);
                WireRef {
                    owner: self.member.id.clone(),
                    id: r.id(),
                }
            })
            .collect();
        let seq = self.member.remote.next_call.fetch_add(1, Ordering::Relaxed);
        let request = Request::Call {
            actor: self.key.clone(),
            method: envelope.method,
            args: envelope.args,
            refs,
            actors,
            from: self.member.id.clone(),
            seq,
        };
        shared.counters.started();
        // A cancel here cancels there too.
        if let Some(r) = promise.object_ref() {
            let member = Arc::downgrade(&self.member);
            let node = self.node.clone();
            r.on_resolved(move |stored| {
                if let (Stored::Outcome(Err(Error::Cancelled)), Some(member)) =
                    (stored, member.upgrade())
                {
                    let from = member.id.clone();
                    member.tell(&node, &Request::CancelCall { from, seq });
                }
            });
        }
        let methods = self.methods.clone();
        let weak = Arc::downgrade(&shared);
        let this = RemoteRef {
            node_name: self.node_name.clone(),
        };
        self.member.ask(
            &self.node,
            &request,
            Box::new(move |answer| {
                let Some(shared) = weak.upgrade() else { return };
                let method = methods.get(index);
                let outcome = match answer {
                    Ok(bytes) => match read_value(&bytes) {
                        Ok(json) => decode_value(method.result(), json),
                        Err(wire) => {
                            let err_type = match method.result() {
                                Some(Type::Result(r)) => r.err(),
                                _ => None,
                            };
                            let error = wire.into_error(|json| {
                                let json = serde_json::from_str(json).ok()?;
                                match &err_type {
                                    Some(ty) => crate::value::json::from_json(&json, ty).ok(),
                                    None => Some(crate::value::json::untyped(&json)),
                                }
                            });
                            if let Error::ActorDied { cause, .. } = &error {
                                shared.die(cause.clone());
                            }
                            Decoded::Outcome(Err(error))
                        }
                    },
                    Err(lost) => Decoded::Outcome(Err(this.lost(&shared, &lost))),
                };
                match outcome {
                    Decoded::Outcome(outcome) => {
                        shared.counters.tally(outcome.is_ok());
                        promise.resolve(outcome);
                    }
                    Decoded::Json(json) => {
                        shared.counters.tally(true);
                        promise.resolve_json(json);
                    }
                }
            }),
        );
        Ok(())
    }

    fn remote(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        Some(self)
    }

    fn kill(&self) {
        let actor = self.key.clone();
        self.member.tell(&self.node, &Request::Kill { actor });
    }
}

impl Drop for RemoteMailbox {
    fn drop(&mut self) {
        if self.release {
            let actor = self.key.clone();
            self.member.tell(&self.node, &Request::Release { actor });
        }
    }
}

/// What a reply's waiter needs to turn a lost reply into an error.
struct RemoteRef {
    node_name: String,
}

impl RemoteRef {
    fn lost(&self, shared: &ActorShared, lost: &Lost) -> Error {
        let cause = match lost {
            Lost::Disconnected => {
                return Error::Unavailable {
                    actor: shared.name.to_string(),
                    reason: format!(
                        "{}; the call may or may not have run on node `{}`",
                        lost_text(lost),
                        self.node_name
                    ),
                };
            }
            Lost::TooLarge { max, .. } => return Lost::too_large(*max),
            Lost::Peer { name, stopped } => node_cause(name, *stopped),
            Lost::NoResponders => DeathCause::NodeLost {
                node: self.node_name.clone(),
            },
        };
        shared.die(cause.clone());
        Error::ActorDied {
            actor: shared.name.to_string(),
            cause,
        }
    }
}

/// A value as a reply brings it.
enum Decoded {
    Outcome(crate::object_ref::Outcome),
    /// Kept as JSON: the method returned a ref, whose value's type is
    /// not in its signature.
    Json(String),
}

/// Reads a call's value as the method's result type says.
fn decode_value(result: Option<&Type>, json: String) -> Decoded {
    let ty = match result {
        None => return Decoded::Outcome(Ok(Val::Tuple(Vec::new()))),
        Some(Type::Result(r)) => match r.ok() {
            Some(ty) => ty,
            None => return Decoded::Outcome(Ok(Val::Tuple(Vec::new()))),
        },
        Some(ty) => ty.clone(),
    };
    if matches!(ty, Type::Own(_) | Type::Borrow(_)) {
        return Decoded::Json(json);
    }
    let parsed =
        serde_json::from_str::<serde_json::Value>(&json).map_err(|e| Error::InvalidValue {
            reason: format!("a peer sent a value that is not JSON: {e}"),
            source: None,
        });
    Decoded::Outcome(parsed.and_then(|json| {
        crate::value::json::from_json(&json, &ty).map_err(|m| Error::InvalidValue {
            reason: format!(
                "a peer sent a value that does not fit the method's result: {} at `{}`, \
                 expected {}",
                m.got, m.at, m.expected
            ),
            source: None,
        })
    }))
}

/// The cluster as spawning sees it.
pub(crate) struct ClusterPlacer(pub(crate) Arc<Member>);

/// A handle to actor `key` on `node`, spawned from `component`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn mirror(
    member: &Arc<Member>,
    component: &ActorComponent,
    node: &str,
    key: String,
    name: Arc<str>,
    limits: Limits,
    release: bool,
    slot: Option<ProgramSlot>,
) -> ActorHandle {
    let shared = Arc::new(ActorShared::new(
        ActorId::next(),
        name,
        component.name().into(),
        component.method_table().clone(),
        limits,
        component.inner.executor.clone(),
    ));
    let mailbox = RemoteMailbox {
        member: member.clone(),
        node: node.to_string(),
        node_name: member.peer_name(node),
        key,
        methods: component.method_table().clone(),
        shared: OnceLock::new(),
        release,
        _slot: slot,
    };
    let _ = mailbox.shared.set(Arc::downgrade(&shared));
    if let Some(hash) = component.hash() {
        let _ = shared.component_hash.set(hash.clone());
    }
    member.remote.add_mirror(node, &shared);
    ActorHandle::new(shared, Arc::new(mailbox))
}

impl ClusterPlacer {
    fn pick(&self, placement: &Placement) -> Option<Result<String>> {
        let member = &self.0;
        match placement {
            Placement::Here => None,
            Placement::Node(name) => match member.find_peer(name) {
                Some(id) if id == member.id => None,
                Some(id) => Some(Ok(id)),
                None => Some(Err(Error::InvalidOption {
                    option: "node",
                    reason: format!(
                        "no node named `{}` is in the cluster (its nodes: {})",
                        crate::value::abbreviate(name, 200),
                        list(&member.node_names())
                    ),
                })),
            },
            _ => match member.candidates().into_iter().next() {
                Some((id, _)) if id == member.id => None,
                Some((id, _)) => Some(Ok(id)),
                None => Some(Err(Error::Unavailable {
                    actor: "(new actor)".into(),
                    reason: "no node of the cluster serves actors: start one with `wactor node \
                             --nats URL`"
                        .into(),
                })),
            },
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The component's reference for peers.
fn component_ref(member: &Member, component: &ActorComponent) -> Result<ComponentRef> {
    let hash = component.hash().ok_or_else(|| Error::InvalidOption {
        option: "placement",
        reason: format!(
            "component `{}` was loaded before its runtime joined the cluster, so its bytes were \
             not kept for other nodes: load it again",
            component.name()
        ),
    })?;
    Ok(ComponentRef {
        hash: hash.to_string(),
        name: component.name().to_string(),
        holder: member.id.clone(),
    })
}

impl Placer for ClusterPlacer {
    fn place(
        &self,
        component: &dyn std::any::Any,
        options: &dyn std::any::Any,
        slot: &mut Option<ProgramSlot>,
    ) -> Option<Result<ActorHandle>> {
        let (Some(component), Some(options)) = (
            component.downcast_ref::<ActorComponent>(),
            options.downcast_ref::<ActorOptions>(),
        ) else {
            return Some(Err(Error::InvalidValue {
                reason: "placement was given something other than a component and options".into(),
                source: None,
            }));
        };
        let member = &self.0;
        let node = match self.pick(&options.placement)? {
            Ok(node) => node,
            Err(e) => return Some(Err(e)),
        };
        let main = match component_ref(member, component) {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        let mut components = Vec::new();
        for (name, c) in &options.components {
            match component_ref(member, c) {
                Ok(c) => components.push((name.clone(), c)),
                Err(e) => return Some(Err(e)),
            }
        }
        let n = member.remote.next_key.fetch_add(1, Ordering::Relaxed);
        let key = format!("{}-{n}", member.id);
        let named = options.name.is_some();
        let name: Arc<str> = match &options.name {
            Some(name) => name.as_str().into(),
            None => format!("{}-{}", component.name(), key).into(),
        };
        let max_concurrency = options
            .max_concurrency
            .unwrap_or(component.kind().default_max_concurrency());
        let limits = match component.limits(options, max_concurrency) {
            Ok(limits) => limits,
            Err(e) => return Some(Err(e)),
        };
        let wire_options = WireOptions {
            name: Some(name.to_string()),
            named,
            max_concurrency: options.max_concurrency,
            max_pending_calls: options.max_pending_calls,
            memory_limit: options.memory_limit,
            call_deadline_ms: options
                .call_deadline
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            max_restarts: options.max_restarts,
            max_task_retries: options.max_task_retries,
            max_actors: options.max_actors,
            max_program_bytes: options.max_program_bytes,
            env: options.env.clone(),
            args: options.args.clone(),
            allow_net: options.net_grants.clone(),
            allow_listen: options.allow_listen,
            max_connections: options.max_connections,
            concurrency_groups: options.concurrency_groups.clone(),
        };
        let handle = mirror(
            member,
            component,
            &node,
            key.clone(),
            name,
            limits,
            !named,
            slot.take(),
        );
        let weak = Arc::downgrade(handle.shared());
        let node_name = member.peer_name(&node);
        member.placed_on(&node);
        member.ask(
            &node,
            &Request::Spawn {
                key,
                owner: member.id.clone(),
                component: main,
                components,
                options: Box::new(wire_options),
            },
            Box::new(move |answer| {
                let Some(shared) = weak.upgrade() else { return };
                let why = match answer {
                    Ok(bytes) if bytes.first() == Some(&SPAWNED) => return,
                    Ok(bytes) => match read_value(&bytes) {
                        Err(wire) => crate::error::full_text(&wire.into_error(|_| None)),
                        Ok(_) => "an unexpected reply".into(),
                    },
                    Err(lost) => lost_text(&lost),
                };
                shared.die(DeathCause::Instantiation(format!(
                    "it could not be started on node `{node_name}`: {why}"
                )));
            }),
        );
        Some(Ok(handle))
    }

    fn find(&self, name: &str) -> Result<Option<ActorHandle>> {
        let member = &self.0;
        let unavailable = |reason: String| Error::Unavailable {
            actor: crate::value::abbreviate(name, 200).into_owned(),
            reason,
        };
        let answer = member
            .ask_blocking(wire::name_subject(name), None, Bytes::new())
            .ok_or_else(|| unavailable("nobody answered within 5 s".into()))?;
        let bytes = match answer {
            Err(Lost::NoResponders) => return Ok(None),
            Err(lost) => return Err(unavailable(lost_text(&lost))),
            Ok(bytes) => bytes,
        };
        let Some(wire::Reply::Found {
            node,
            key,
            component,
            max_concurrency,
        }) = found(&bytes)
        else {
            return Err(unavailable("an unexpected answer".into()));
        };
        let loader = member.clone();
        let cref = component.clone();
        let loaded = block_on_io(&member.io, async move { loader.component(&cref).await })
            .ok_or_else(|| unavailable("the cluster stopped".into()))??;
        let limits = loaded.limits(&ActorOptions::new(), max_concurrency)?;
        Ok(Some(mirror(
            member,
            &loaded,
            &node,
            key,
            name.into(),
            limits,
            false,
            None,
        )))
    }

    fn claim(&self, name: &str) -> Result<()> {
        let member = &self.0;
        let answer = member.ask_blocking(wire::name_subject(name), None, Bytes::new());
        match answer {
            Some(Err(Lost::NoResponders)) => Ok(()),
            Some(Ok(bytes)) => {
                let holder = match found(&bytes) {
                    Some(wire::Reply::Found { node, .. }) => {
                        format!("on node `{}`", member.peer_name(&node))
                    }
                    _ => "elsewhere in the cluster".into(),
                };
                Err(Error::NameTaken {
                    name: name.to_string(),
                    holder,
                })
            }
            Some(Err(lost)) => Err(Error::Unavailable {
                actor: name.to_string(),
                reason: format!("the name could not be checked: {}", lost_text(&lost)),
            }),
            None => Err(Error::Unavailable {
                actor: name.to_string(),
                reason: "the name could not be checked: no answer within 5 s".into(),
            }),
        }
    }

    fn keep_source(&self, hash: &str, bytes: Arc<[u8]>) {
        self.0
            .remote
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(hash.to_string(), bytes);
    }

    fn leave(&self) {
        self.0.leave();
    }

    fn node_name(&self) -> &str {
        &self.0.name
    }
}

fn found(bytes: &[u8]) -> Option<wire::Reply> {
    let (&FOUND, json) = bytes.split_first()? else {
        return None;
    };
    serde_json::from_slice(json).ok()
}
