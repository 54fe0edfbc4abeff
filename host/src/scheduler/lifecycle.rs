//! One call's life on an actor, the same for both schedulers:
//!
//! ```text
//! queued ──start──► started ──finish──► finished / failed
//!   │                  ├──refuse──► failed (its arguments could not enter the instance)
//!   │                  ├──lost────► queued again (a retry) / failed (ActorRestarted)
//!   │                  ├──abandon─► failed (the actor died)
//!   │                  └──deadline► failed (Timeout; the watchdog retires the actor)
//!   └──cancelled, or the actor died──► failed, without running
//! ```
//!
//! Every transition resolves the caller's ref or hands the call on, and
//! keeps the actor's counters; a scheduler decides only *when* a call
//! moves. A started call's deadline watchdog lives inside it, so it ends
//! with the call on every path.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use wasmtime::AsContextMut;
use wasmtime::component::{Type, Val};

use crate::actor::{ActorShared, GroupSlot};
use crate::call::{Arg, Call, CallQueue, CallTrace, Mailbox, Method};
use crate::error::{DeathCause, Error};
use crate::guest::{ActorState, take_returned_ref};
use crate::object_ref::{ObjectRef, Outcome, Promise};
use crate::observe::Moment;

/// A call running on an instance.
pub(crate) struct Started {
    method: u32,
    promise: Promise,
    /// The arguments again, if the call may be retried.
    retry: Option<Vec<Arg>>,
    retries_left: u32,
    deadline: Option<Duration>,
    /// Where a stream's items go, if the caller reads them as they come.
    stream: Option<mpsc::Sender<Val>>,
    /// Its span and queueing time, if anyone looks.
    trace: Option<Box<CallTrace>>,
    /// When it started, if the actor's calls are observed.
    started_at: Option<Moment>,
    /// Ends with the call, however it ends.
    _watchdog: Option<Watchdog>,
    /// Its slot in its concurrency group, given back however it ends.
    _group: GroupSlot,
}

/// What a finished call gave back.
pub(crate) enum Returned {
    /// The method's value (none, for a method without a result).
    Value(Option<Val>),
    /// An ObjectRef the method returned: the caller gets its value.
    Ref(ObjectRef),
    /// A value the host cannot hand to the caller.
    Unusable(Error),
}

impl Returned {
    /// What a call left in its result slot, with an ObjectRef it returned
    /// taken out of the instance's table.
    pub(crate) fn take(store: impl AsContextMut<Data = ActorState>, value: Option<Val>) -> Self {
        match value {
            Some(Val::Resource(handle)) => match take_returned_ref(store, handle) {
                Ok(r) => Returned::Ref(r),
                Err(e) => Returned::Unusable(e),
            },
            value => Returned::Value(value),
        }
    }
}

/// Takes `call` out of the queue to run it, with its arguments; `None` if
/// it was cancelled while queued (it is then over).
///
/// It starts at `began` if the caller knows when: a worker that takes its
/// next call without waiting starts it when the last one ended, and calls
/// started in one turn of an async actor's loop start with the turn; each
/// saves a clock read (at a million calls a second, a visible part of what
/// metrics cost).
pub(crate) fn start(
    call: Call,
    actor: &Arc<ActorShared>,
    began: Option<Moment>,
) -> Option<(Started, Vec<Arg>)> {
    let queued_at = call.queued_at();
    let Call {
        method,
        args,
        promise,
        deadline,
        retries_left,
        // Running, the arguments are the callee's to hold: the caller's
        // program gets its bytes back.
        charge: _,
        stream,
        trace,
    } = call;
    if promise.is_settled() {
        never_ran(actor, method, queued_at, &Error::Cancelled);
        return None;
    }
    let retry = (retries_left > 0).then(|| args.clone());
    promise.mark_started();
    actor.counters.started();
    let group = actor.limits.groups.enter(actor.limits.groups.of(method));
    let watchdog = deadline.and_then(|d| Watchdog::start(actor, &promise, method, d));
    let started = Started {
        method,
        promise,
        retry,
        retries_left,
        deadline,
        stream,
        trace,
        started_at: actor
            .observer
            .as_ref()
            // Not before it was queued: it may have come after the last one ended.
            .map(|_| match (began, queued_at) {
                (Some(began), Some(queued)) => began.max(queued),
                (Some(began), None) => began,
                (None, _) => crate::observe::now(),
            }),
        _watchdog: watchdog,
        _group: group,
    };
    Some((started, args))
}

impl Started {
    /// The method's index in the actor's method table.
    pub(crate) fn method(&self) -> u32 {
        self.method
    }

    /// The call's span, to run it in (disabled if no subscriber wants it).
    pub(crate) fn span(&self) -> tracing::Span {
        self.trace
            .as_ref()
            .map_or_else(tracing::Span::none, |t| t.span.clone())
    }

    /// When it started, if the actor's calls are observed.
    pub(crate) fn started_at(&self) -> Option<Moment> {
        self.started_at
    }

    fn queued_at(&self) -> Option<Moment> {
        CallTrace::queued_at(self.trace.as_deref())
    }

    /// Where the items of the stream the method returns go: the caller's
    /// channel, or the call's value.
    pub(crate) fn stream_out(&self) -> super::streams::Out {
        match &self.stream {
            Some(tx) => super::streams::Out::Channel(tx.clone()),
            None => super::streams::Out::Collect,
        }
    }

    /// The call returned: its caller gets the value, or the method's `err`.
    /// Returns when it ended, if the actor's calls are observed.
    ///
    /// Here and below, the counters move before the ref resolves, so a
    /// caller that sees its result also sees it counted.
    pub(crate) fn finish(self, actor: &ActorShared, returned: Returned) -> Option<Moment> {
        match returned {
            Returned::Value(value) => {
                let outcome = outcome(&actor.name, actor.methods.get(self.method), value);
                actor.counters.tally(outcome.is_ok());
                let ended = self.ended(actor, outcome.as_ref().map(|_| ()));
                self.promise.resolve(outcome);
                ended
            }
            Returned::Ref(r) => {
                actor.counters.tally(true);
                let ended = self.ended(actor, Ok(()));
                self.promise.forward(&r);
                ended
            }
            Returned::Unusable(error) => self.fail(actor, error),
        }
    }

    /// The call ended with `error` on the caller's side.
    fn fail(self, actor: &ActorShared, error: Error) -> Option<Moment> {
        actor.counters.tally(false);
        let ended = self.ended(actor, Err(&error));
        self.promise.resolve(Err(error));
        ended
    }

    /// Reports how the call ended to the actor's observer.
    fn ended(&self, actor: &ActorShared, outcome: Result<(), &Error>) -> Option<Moment> {
        actor.call_ended(self.method, self.queued_at(), self.started_at, outcome)
    }

    /// Its arguments could not be moved into the instance (`error` is
    /// wasmtime's reason): it fails without having run.
    pub(crate) fn refuse(self, actor: &ActorShared, error: &wasmtime::Error) {
        let error = Error::Transfer {
            method: actor.methods.get(self.method).name().to_string(),
            reason: format!("{error:#}"),
        };
        self.fail(actor, error);
    }

    /// The instance died under the call and the actor is restarted: the
    /// call goes to the back of the queue if it has a retry left
    /// (`max_task_retries`), else fails with [`Error::ActorRestarted`].
    pub(crate) fn lost(self, actor: &ActorShared, cause: &DeathCause, mailbox: &Weak<dyn Mailbox>) {
        let queued_at = self.queued_at();
        let Started {
            method,
            promise,
            retry,
            retries_left,
            deadline,
            stream,
            trace,
            started_at,
            ..
        } = self;
        if let (Some(args), Some(mailbox)) = (retry, mailbox.upgrade()) {
            actor.counters.requeued();
            let call = Call {
                method,
                args,
                promise,
                deadline,
                retries_left: retries_left - 1,
                charge: None,
                stream,
                trace,
            };
            match mailbox.post(call) {
                Ok(()) => return,
                Err(call) => {
                    // The queue closed meanwhile: the actor is dying.
                    actor.counters.skipped(1);
                    actor.counters.tally(false);
                    call.promise.resolve(Err(actor.died_error()));
                    return;
                }
            }
        }
        actor.counters.tally(false);
        let error = Error::ActorRestarted {
            actor: actor.name.to_string(),
            cause: cause.clone(),
        };
        actor.call_ended(method, queued_at, started_at, Err(&error));
        promise.resolve(Err(error));
    }

    /// The actor died with the call running.
    pub(crate) fn abandon(self, actor: &ActorShared, error: Error) {
        self.fail(actor, error);
    }
}

/// Resolves every running and queued call of a dead actor, and closes its
/// queue: a `call` racing with this sees its send fail and resolves its
/// own ref with the recorded cause.
pub(crate) fn bury(
    actor: &ActorShared,
    mailbox: &mut CallQueue,
    running: impl IntoIterator<Item = Started>,
) {
    let error = actor.died_error();
    for call in running {
        call.abandon(actor, error.clone());
    }
    mailbox.close();
    while let Ok(call) = mailbox.try_recv() {
        never_ran(actor, call.method, call.queued_at(), &error);
        call.promise.resolve(Err(error.clone()));
    }
}

/// Resolves a call of a dead actor that was taken from its queue but never
/// started.
pub(crate) fn bury_taken(actor: &ActorShared, call: Call) {
    let error = actor.died_error();
    never_ran(actor, call.method, call.queued_at(), &error);
    call.promise.resolve(Err(error));
}

/// A queued call of `method` ends without having run, with `error`
/// (cancelled, or its actor died): counted and reported as such.
fn never_ran(actor: &ActorShared, method: u32, queued_at: Option<Moment>, error: &Error) {
    actor.counters.skipped(1);
    actor.counters.tally(false);
    actor.call_ended(method, queued_at, None, Err(error));
}

/// Turns what the guest returned into what the caller gets: the value, the
/// `ok` payload of a `result` (its `err` payload becomes
/// [`Error::MethodFailed`]), or `()` (an empty tuple) for no result.
pub(crate) fn outcome(actor: &str, method: &Method, result: Option<Val>) -> Outcome {
    let unit = || Val::Tuple(Vec::new());
    let Some(value) = result else {
        return Ok(unit());
    };
    match (method.result(), value) {
        (Some(Type::Result(_)), Val::Result(Ok(payload))) => Ok(payload.map_or_else(unit, |v| *v)),
        (Some(Type::Result(_)), Val::Result(Err(payload))) => Err(Error::MethodFailed {
            actor: actor.to_string(),
            method: method.name().to_string(),
            error: payload.map(|v| *v),
        }),
        (_, value) => Ok(value),
    }
}

/// Where a call's result lands: a method returns one value or none, so one
/// slot, of which the call is given as many as the method returns.
pub(crate) struct ResultSlot {
    returns: bool,
    slot: [Val; 1],
}

impl ResultSlot {
    pub(crate) fn for_method(method: &Method) -> Self {
        ResultSlot {
            returns: method.result().is_some(),
            slot: [Val::Bool(false)],
        }
    }

    /// The slots to pass to the call.
    pub(crate) fn slots(&mut self) -> &mut [Val] {
        &mut self.slot[..usize::from(self.returns)]
    }

    /// What the call returned, after it returned.
    pub(crate) fn take(self) -> Option<Val> {
        let [value] = self.slot;
        self.returns.then_some(value)
    }
}

/// The deadline of one running call: past it, the call fails with a
/// timeout and the actor is retired (a call that runs on cannot be stopped
/// any other way). Aborted when dropped, so it ends with its call.
struct Watchdog(AbortHandle);

impl Watchdog {
    fn start(
        actor: &Arc<ActorShared>,
        promise: &Promise,
        method: u32,
        deadline: Duration,
    ) -> Option<Watchdog> {
        let call = promise.object_ref()?;
        let actor = actor.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(deadline).await;
            if !call.is_ready() {
                let method = actor.methods.get(method).name().to_string();
                tracing::warn!(actor = %actor.name, method, ?deadline, "call ran past its deadline");
                call.fail(Error::Timeout(deadline));
                actor.die(DeathCause::DeadlineExceeded { method, deadline });
            }
        });
        Some(Watchdog(task.abort_handle()))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.abort();
    }
}
