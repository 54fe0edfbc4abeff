//! What crosses NATS: the subjects, and each message as JSON.
//!
//! Every member (a node, or a program's runtime) has an id (random hex) and
//! a name. It listens on `wactor.n.<id>` for requests and on
//! `wactor.r.<id>.*` for the replies to its own; a request carries
//! `wactor.r.<id>.<seq>` as its reply subject, and the `<seq>` finds the
//! waiter. Members announce themselves on `wactor.hb` every
//! [`HEARTBEAT_EVERY`](super::member::HEARTBEAT_EVERY) and say goodbye on
//! `wactor.bye`; a named actor's node listens on `wactor.name.<hex of the
//! name>`. `docs/cluster.md` lists every message.

use serde::{Deserialize, Serialize};

use bytes::Bytes;

use crate::error::{DeathCause, Error};
use crate::object_ref::Stored;

/// Heartbeats, from every member.
pub(crate) const HEARTBEAT: &str = "wactor.hb";
/// A member joining: every member answers with its heartbeat at once.
pub(crate) const HELLO: &str = "wactor.hello";
/// A member leaving cleanly.
pub(crate) const BYE: &str = "wactor.bye";
/// `wactor status`: every member answers with a [`NodeStatus`].
pub(crate) const STATUS: &str = "wactor.status";

/// Where a member takes requests.
pub(crate) fn node_subject(member: &str) -> String {
    format!("wactor.n.{member}")
}

/// The reply subject of a member's request number `seq`.
pub(crate) fn reply_subject(member: &str, seq: u64) -> String {
    format!("wactor.r.{member}.{seq}")
}

/// Every reply to a member's requests.
pub(crate) fn replies_of(member: &str) -> String {
    format!("wactor.r.{member}.*")
}

/// Where the node of the actor named `name` answers. Names may hold any
/// character but control characters, and subjects may not hold `.`, `*`,
/// `>` or spaces: so the name is written in hex.
pub(crate) fn name_subject(name: &str) -> String {
    format!("wactor.name.{}", crate::value::hex(name.as_bytes()))
}

/// A member's heartbeat: who it is and how much room it has.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Heartbeat {
    pub(crate) id: String,
    pub(crate) name: String,
    /// Whether actors may be placed on it (a `wactor node`), or it only
    /// places its own (a program's runtime).
    pub(crate) serves: bool,
    /// Instances it may still make.
    pub(crate) free_slots: u64,
    /// Bytes of memory it may still give guests.
    pub(crate) headroom: u64,
    /// Actors it runs for peers.
    pub(crate) actors: u64,
}

/// A component, by the hash of its bytes, and who has the bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ComponentRef {
    pub(crate) hash: String,
    pub(crate) name: String,
    /// The member that can send the bytes.
    pub(crate) holder: String,
}

/// The actor options that travel with a spawn. Directory grants, output
/// streams and embedder data stay with the node (see `docs/cluster.md`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct WireOptions {
    pub(crate) name: Option<String>,
    /// Whether the name was chosen (and so is registered), or made up.
    pub(crate) named: bool,
    pub(crate) max_concurrency: Option<usize>,
    pub(crate) max_pending_calls: Option<usize>,
    pub(crate) memory_limit: Option<usize>,
    pub(crate) call_deadline_ms: Option<u64>,
    pub(crate) max_restarts: i64,
    pub(crate) max_task_retries: i64,
    pub(crate) max_actors: Option<usize>,
    pub(crate) max_program_bytes: Option<usize>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) args: Vec<String>,
    pub(crate) allow_net: Vec<String>,
    pub(crate) allow_listen: bool,
    pub(crate) max_connections: Option<usize>,
    pub(crate) concurrency_groups: Vec<crate::actor::GroupSpec>,
}

/// A ref passed in a call: its owner's id and the owner's id for it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WireRef {
    pub(crate) owner: String,
    pub(crate) id: u64,
}

/// An actor handle passed in a call: where the actor is and what it runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct WireActor {
    pub(crate) node: String,
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) component: ComponentRef,
    pub(crate) max_concurrency: usize,
}

/// A request to a member, on its `wactor.n.<id>`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub(crate) enum Request {
    /// Spawn an actor, known from now on by `key`.
    Spawn {
        key: String,
        /// The member whose program the actor belongs to: when it leaves
        /// or is lost, the actor is killed.
        owner: String,
        component: ComponentRef,
        /// The components its guests may spawn from, by name.
        components: Vec<(String, ComponentRef)>,
        options: Box<WireOptions>,
    },
    /// Call a method of the actor `key`.
    Call {
        actor: String,
        method: String,
        args: String,
        refs: Vec<WireRef>,
        /// Actor handles passed (`{"$actor": i}` in `args`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        actors: Vec<WireActor>,
        /// The caller and its sequence number, to cancel the call by.
        from: String,
        seq: u64,
    },
    /// Kill the actor `key`.
    Kill { actor: String },
    /// Its spawner dropped its last handle: finish the calls it has, stop.
    Release { actor: String },
    /// Cancel the call `seq` of `from`.
    CancelCall { from: String, seq: u64 },
    /// Send the value of ref `id`, passed to `from` earlier, once it is there.
    Fetch { from: String, id: u64 },
    /// Cancel the call behind ref `id`.
    Cancel { id: u64 },
    /// Send bytes of the component `hash`, from `offset` on.
    Blob { hash: String, offset: u64 },
}

/// A reply, on the request's reply subject. (A [`Request::Blob`] is
/// answered with the bytes themselves.)
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "kebab-case")]
pub(crate) enum Reply {
    Spawned,
    Value {
        json: String,
    },
    Failed {
        error: WireError,
    },
    /// A named actor: where it is and what it runs.
    Found {
        node: String,
        key: String,
        component: ComponentRef,
        max_concurrency: usize,
    },
}

/// What `wactor status` hears from each member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NodeStatus {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) serves: bool,
    pub(crate) free_slots: u64,
    pub(crate) headroom: u64,
    pub(crate) actors: Vec<ActorRow>,
}

/// One actor in [`NodeStatus`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ActorRow {
    pub(crate) name: String,
    pub(crate) component: String,
    pub(crate) kind: String,
    pub(crate) queued: u64,
    pub(crate) running: u64,
}

/// An [`Error`] as it crosses; payloads of `method-failed` as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(crate) enum WireError {
    MethodFailed {
        actor: String,
        method: String,
        error: Option<String>,
    },
    ActorDied {
        actor: String,
        cause: WireCause,
    },
    ActorRestarted {
        actor: String,
        cause: WireCause,
    },
    Cancelled,
    Timeout {
        ms: u64,
    },
    Backpressure {
        actor: String,
        limit: usize,
    },
    Unavailable {
        actor: String,
        reason: String,
    },
    WouldBlock {
        reason: String,
    },
    NameTaken {
        name: String,
        holder: String,
    },
    /// Anything else: a bad request (`invalid` in a guest).
    Invalid {
        message: String,
    },
}

/// A [`DeathCause`] as it crosses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "kebab-case")]
pub(crate) enum WireCause {
    Trap { message: String },
    Killed,
    Exited { code: i32 },
    DeadlineExceeded { method: String, ms: u64 },
    Instantiation { why: String },
    HostFault { why: String },
    Shutdown,
    NodeLost { node: String },
    NodeStopped { node: String },
}

impl From<&DeathCause> for WireCause {
    fn from(cause: &DeathCause) -> Self {
        match cause {
            DeathCause::Trap(message) => WireCause::Trap {
                message: message.clone(),
            },
            DeathCause::Killed => WireCause::Killed,
            DeathCause::Exited(code) => WireCause::Exited { code: *code },
            DeathCause::DeadlineExceeded { method, deadline } => WireCause::DeadlineExceeded {
                method: method.clone(),
                ms: u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
            },
            DeathCause::Instantiation(why) => WireCause::Instantiation { why: why.clone() },
            DeathCause::HostFault(why) => WireCause::HostFault { why: why.clone() },
            DeathCause::NodeLost { node } => WireCause::NodeLost { node: node.clone() },
            DeathCause::NodeStopped { node } => WireCause::NodeStopped { node: node.clone() },
            _ => WireCause::Shutdown,
        }
    }
}

impl From<WireCause> for DeathCause {
    fn from(cause: WireCause) -> Self {
        match cause {
            WireCause::Trap { message } => DeathCause::Trap(message),
            WireCause::Killed => DeathCause::Killed,
            WireCause::Exited { code } => DeathCause::Exited(code),
            WireCause::DeadlineExceeded { method, ms } => DeathCause::DeadlineExceeded {
                method,
                deadline: std::time::Duration::from_millis(ms),
            },
            WireCause::Instantiation { why } => DeathCause::Instantiation(why),
            WireCause::HostFault { why } => DeathCause::HostFault(why),
            WireCause::Shutdown => DeathCause::Shutdown,
            WireCause::NodeLost { node } => DeathCause::NodeLost { node },
            WireCause::NodeStopped { node } => DeathCause::NodeStopped { node },
        }
    }
}

impl From<&Error> for WireError {
    fn from(error: &Error) -> Self {
        match error {
            Error::MethodFailed {
                actor,
                method,
                error,
            } => WireError::MethodFailed {
                actor: actor.clone(),
                method: method.clone(),
                error: error
                    .as_ref()
                    .map(|v| crate::value::json::to_json(v).to_string()),
            },
            Error::ActorDied { actor, cause } => WireError::ActorDied {
                actor: actor.clone(),
                cause: cause.into(),
            },
            Error::ActorRestarted { actor, cause } => WireError::ActorRestarted {
                actor: actor.clone(),
                cause: cause.into(),
            },
            Error::Cancelled => WireError::Cancelled,
            Error::Timeout(t) => WireError::Timeout {
                ms: u64::try_from(t.as_millis()).unwrap_or(u64::MAX),
            },
            Error::Backpressure { actor, limit } => WireError::Backpressure {
                actor: actor.clone(),
                limit: *limit,
            },
            Error::Unavailable { actor, reason } => WireError::Unavailable {
                actor: actor.clone(),
                reason: reason.clone(),
            },
            Error::WouldBlock { reason } => WireError::WouldBlock {
                reason: reason.clone(),
            },
            Error::NameTaken { name, holder } => WireError::NameTaken {
                name: name.clone(),
                holder: holder.clone(),
            },
            e => WireError::Invalid {
                message: crate::error::full_text(e),
            },
        }
    }
}

impl WireError {
    /// The error, reading a `method-failed` payload with `read` (the
    /// method's `err` type, where the receiver knows it).
    pub(crate) fn into_error(
        self,
        read: impl FnOnce(&str) -> Option<wasmtime::component::Val>,
    ) -> Error {
        match self {
            WireError::MethodFailed {
                actor,
                method,
                error,
            } => Error::MethodFailed {
                actor,
                method,
                error: error.as_deref().and_then(read),
            },
            WireError::ActorDied { actor, cause } => Error::ActorDied {
                actor,
                cause: cause.into(),
            },
            WireError::ActorRestarted { actor, cause } => Error::ActorRestarted {
                actor,
                cause: cause.into(),
            },
            WireError::Cancelled => Error::Cancelled,
            WireError::Timeout { ms } => Error::Timeout(std::time::Duration::from_millis(ms)),
            WireError::Backpressure { actor, limit } => Error::Backpressure { actor, limit },
            WireError::Unavailable { actor, reason } => Error::Unavailable { actor, reason },
            WireError::WouldBlock { reason } => Error::WouldBlock { reason },
            WireError::NameTaken { name, holder } => Error::NameTaken { name, holder },
            WireError::Invalid { message } => Error::InvalidValue {
                reason: message,
                source: None,
            },
        }
    }
}

/// The first byte of a reply says what follows.
pub(crate) const VALUE: u8 = b'v';
pub(crate) const FAILED: u8 = b'f';
pub(crate) const SPAWNED: u8 = b's';
pub(crate) const FOUND: u8 = b'n';
pub(crate) const BLOB: u8 = b'b';

/// A reply carrying what a ref's slot holds.
pub(crate) fn value_reply(stored: &Stored) -> Bytes {
    match stored.json() {
        Ok(json) => {
            let mut out = Vec::with_capacity(json.len() + 1);
            out.push(VALUE);
            out.extend_from_slice(json.as_bytes());
            out.into()
        }
        Err(e) => failed_reply(&e),
    }
}

/// A reply carrying an error.
pub(crate) fn failed_reply(error: &Error) -> Bytes {
    let mut out = vec![FAILED];
    out.extend(serde_json::to_vec(&WireError::from(error)).unwrap_or_default());
    out.into()
}

/// The JSON of a value reply, or the error of a failed one.
pub(crate) fn read_value(bytes: &[u8]) -> Result<String, WireError> {
    match bytes.split_first() {
        Some((&VALUE, json)) => Ok(String::from_utf8_lossy(json).into_owned()),
        Some((&FAILED, error)) => {
            Err(
                serde_json::from_slice(error).unwrap_or_else(|e| WireError::Invalid {
                    message: format!("a reply that does not parse: {e}"),
                }),
            )
        }
        _ => Err(WireError::Invalid {
            message: format!(
                "an unexpected reply: {}",
                crate::value::abbreviate(&String::from_utf8_lossy(bytes), 200)
            ),
        }),
    }
}

/// A blob reply: the component's total size and this chunk.
pub(crate) fn read_blob(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let (&BLOB, rest) = bytes.split_first()? else {
        return None;
    };
    let total = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    Some((total, &rest[8..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_subject_tokens_whatever_they_hold() {
        assert_eq!(name_subject("a.b *>"), "wactor.name.612e62202a3e");
        assert!(!name_subject("x").contains(' '));
    }

    #[test]
    fn errors_and_causes_cross_and_come_back_the_same() {
        let died = Error::ActorDied {
            actor: "a".into(),
            cause: DeathCause::NodeLost { node: "n2".into() },
        };
        let text = serde_json::to_string(&WireError::from(&died)).unwrap();
        let back = serde_json::from_str::<WireError>(&text)
            .unwrap()
            .into_error(|_| None);
        assert_eq!(back.to_string(), died.to_string());
        let failed = Error::MethodFailed {
            actor: "a".into(),
            method: "m".into(),
            error: Some(wasmtime::component::Val::String("no".into())),
        };
        let text = serde_json::to_string(&WireError::from(&failed)).unwrap();
        let back = serde_json::from_str::<WireError>(&text)
            .unwrap()
            .into_error(|json| {
                assert_eq!(json, "\"no\"");
                Some(wasmtime::component::Val::String("no".into()))
            });
        assert_eq!(back.to_string(), failed.to_string());
    }
}
