//! A call, in the two forms it takes: [`Call`] in this process (values, refs
//! and the promise that resolves the caller's ref), and [`CallEnvelope`]
//! when it has to cross a process boundary (method name, arguments as the
//! JSON of `docs/values.md`, refs by id, deadline).
//!
//! Schedulers only ever see [`Call`]s. A mailbox that delivers elsewhere
//! (the cluster's) seals each call into an envelope, keeps its promise, and
//! on the far side opens the envelope into a fresh local call: the
//! schedulers do not change.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::args::{ActorArg, Arg};
use super::method::MethodTable;
use crate::error::{Error, Result};
use crate::object_ref::{Charge, ObjectRef, Promise};
use crate::value::json;

/// One call on its way to, or queued at, an actor.
pub(crate) struct Call {
    /// The method's index in the actor's [`MethodTable`].
    pub(crate) method: u32,
    /// The arguments, already checked against the method's signature.
    pub(crate) args: Vec<Arg>,
    /// Resolves the caller's ref.
    pub(crate) promise: Promise,
    /// How long the call may run once started (the actor's
    /// `call_deadline`), if it may not run forever.
    pub(crate) deadline: Option<Duration>,
    /// How many more times the call may be run again if its instance dies
    /// under it and the actor is restarted.
    pub(crate) retries_left: u32,
    /// The bytes of its arguments, charged to the calling guest's program
    /// while the call waits in the queue (given back when it starts).
    #[expect(dead_code, reason = "held for its Drop, which gives the bytes back")]
    pub(crate) charge: Option<Charge>,
    /// Where the items go, one by one, if the method returns a stream and
    /// the caller reads it as it comes (`call_stream`); else a stream's
    /// items are collected into the call's value.
    pub(crate) stream: Option<tokio::sync::mpsc::Sender<wasmtime::component::Val>>,
    /// Its span and queueing time, if anyone looks: boxed, so that a call
    /// nobody observes stays small (it moves through channels).
    pub(crate) trace: Option<Box<CallTrace>>,
}

impl Call {
    /// When it was queued, if its actor's calls go to a timeline.
    pub(crate) fn queued_at(&self) -> Option<crate::observe::Moment> {
        CallTrace::queued_at(self.trace.as_deref())
    }
}

/// What is kept of a call for metrics, the timeline and `tracing`.
#[derive(Debug)]
pub(crate) struct CallTrace {
    /// When it was queued, if the actor's calls go to a timeline.
    pub(crate) queued_at: Option<crate::observe::Moment>,
    /// The call's span, a child of the caller's (disabled unless a
    /// subscriber wants `wactor::call` at info level).
    pub(crate) span: tracing::Span,
}

impl CallTrace {
    /// The trace of a call made now, if its actor's calls go to a
    /// timeline (`timeline`) or a subscriber wants its span. Metrics alone
    /// need none of it: they time a call from its start.
    /// When the call of `trace` was queued, if it is known.
    pub(crate) fn queued_at(trace: Option<&CallTrace>) -> Option<crate::observe::Moment> {
        trace.and_then(|t| t.queued_at)
    }

    pub(crate) fn start(timeline: bool, span: tracing::Span) -> Option<Box<CallTrace>> {
        (timeline || !span.is_disabled()).then(|| {
            Box::new(CallTrace {
                queued_at: timeline.then(crate::observe::now),
                span,
            })
        })
    }
}

/// A call as bytes can carry it: everything but the promise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CallEnvelope {
    /// The method's name (names are stable across processes; indices are
    /// not, if two builds of a component differ).
    pub(crate) method: String,
    /// The arguments as a JSON array; `{"$ref": i}` stands for `refs[i]`.
    pub(crate) args: String,
    /// The ids of the ObjectRefs passed, for the receiver to resolve.
    pub(crate) refs: Vec<u64>,
    /// The call's deadline in milliseconds, if it has one.
    pub(crate) deadline_ms: Option<u64>,
    /// How many times it may still be retried.
    pub(crate) retries: u32,
}

impl Call {
    /// Seals the call into an envelope, and hands back its promise for the
    /// sender to resolve when the result comes back, and the refs and
    /// actors passed (`{"$ref": i}` and `{"$actor": i}` in the envelope's
    /// arguments), for the sender to make reachable from the far side.
    #[cfg_attr(not(any(test, feature = "cluster")), allow(dead_code))] // the cluster's mailbox
    pub(crate) fn seal(self, methods: &MethodTable) -> Sealed {
        let mut passed_refs = Vec::new();
        let mut actors = Vec::new();
        let args = self
            .args
            .into_iter()
            .map(|arg| match arg {
                Arg::Val(v) => json::to_json(&v),
                Arg::Ref(r) => {
                    passed_refs.push(r);
                    serde_json::json!({ "$ref": passed_refs.len() - 1 })
                }
                Arg::Actor(a) => {
                    actors.push(a);
                    serde_json::json!({ "$actor": actors.len() - 1 })
                }
            })
            .collect::<Vec<_>>();
        let refs = passed_refs.iter().map(ObjectRef::id).collect();
        let envelope = CallEnvelope {
            method: methods.get(self.method).name().to_string(),
            args: serde_json::Value::Array(args).to_string(),
            refs,
            deadline_ms: self
                .deadline
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            retries: self.retries_left,
        };
        Sealed {
            envelope,
            promise: self.promise,
            refs: passed_refs,
            actors,
        }
    }
}

/// A call [sealed](Call::seal) for another process.
#[cfg_attr(not(any(test, feature = "cluster")), allow(dead_code))] // the cluster's
pub(crate) struct Sealed {
    pub(crate) envelope: CallEnvelope,
    pub(crate) promise: Promise,
    pub(crate) refs: Vec<ObjectRef>,
    pub(crate) actors: Vec<ActorArg>,
}

impl CallEnvelope {
    /// Opens the envelope into a call of an actor with `methods` (`owner`
    /// names it in errors), resolving passed refs with `resolve` and
    /// resolving `promise` with its result.
    ///
    /// # Errors
    ///
    /// What a call with these arguments would get at the call site: an
    /// unknown method, arguments that do not fit, or a ref id that
    /// `resolve` does not know ([`Error::InvalidValue`]).
    #[cfg_attr(not(test), allow(dead_code))] // the cluster's mailbox is the user
    pub(crate) fn open(
        self,
        methods: &MethodTable,
        owner: &str,
        resolve: impl Fn(u64) -> Option<ObjectRef>,
        promise: Promise,
    ) -> Result<Call> {
        let method = methods.resolve(owner, &self.method)?;
        let refs = self
            .refs
            .iter()
            .map(|&id| {
                resolve(id).ok_or_else(|| Error::InvalidValue {
                    reason: format!("the call passes ObjectRef {id}, which is not known here"),
                    source: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let args = method.args_from_json(&self.args, &refs, &[])?;
        Ok(Call {
            method: method.index(),
            args,
            promise,
            deadline: self.deadline_ms.map(Duration::from_millis),
            retries_left: self.retries,
            charge: None,
            stream: None,
            trace: None,
        })
    }
}
