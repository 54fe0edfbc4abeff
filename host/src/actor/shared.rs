//! What every handle of an actor and its scheduler share: who it is, its
//! limits, its counters, and whether and why it died.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::executor::Executor;
use super::groups::ConcurrencyGroups;
use crate::call::{ActorKind, CallCounters, MethodTable};
use crate::error::{DeathCause, Error};
use crate::ids::ActorId;
use crate::object_ref::ObjectRef;
use crate::observe::{Moment, Observer, Queued};

/// An actor's limits, fixed at spawn.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// Calls running at once (async) or instances (threaded).
    pub(crate) max_concurrency: usize,
    /// Calls that may wait in the queue; beyond, calls are refused.
    pub(crate) max_pending_calls: Option<usize>,
    /// How long one call may run once started.
    pub(crate) call_deadline: Option<Duration>,
    /// Restarts after a trap: 0 never, -1 without limit.
    pub(crate) max_restarts: i64,
    /// Times a call lost with its instance is run again.
    pub(crate) max_task_retries: u32,
    /// The most bytes of JSON in one value the actor's guest may send or
    /// receive (arguments, a `put`, a result).
    pub(crate) max_value_size: usize,
    /// Its concurrency groups (always the default one, of
    /// `max_concurrency`).
    pub(crate) groups: Arc<ConcurrencyGroups>,
}

/// The state an actor's handles and its scheduler share.
pub(crate) struct ActorShared {
    pub(crate) id: ActorId,
    pub(crate) name: Arc<str>,
    /// The name of the component it runs.
    pub(crate) component: Arc<str>,
    /// The hash of that component's bytes, when its runtime is in a
    /// cluster (for passing the actor to another node).
    pub(crate) component_hash: std::sync::OnceLock<Arc<str>>,
    pub(crate) methods: Arc<MethodTable>,
    pub(crate) limits: Limits,
    pub(crate) counters: CallCounters,
    /// Whether `dead` holds a cause: read on every call without a lock.
    died: AtomicBool,
    /// Why it died, set once, when it dies; schedulers watch it to stop at
    /// once rather than after the call in progress, and a watcher still
    /// reads it after the actor is gone (the receiver keeps the last value).
    dead: watch::Sender<Option<DeathCause>>,
    /// Keeps the threads the actor runs on for as long as a handle exists.
    _executor: Arc<Executor>,
    /// What its calls are reported to, if metrics or a timeline are on.
    pub(crate) observer: Option<Arc<Observer>>,
}

impl ActorShared {
    pub(crate) fn new(
        id: ActorId,
        name: Arc<str>,
        component: Arc<str>,
        methods: Arc<MethodTable>,
        limits: Limits,
        executor: Arc<Executor>,
    ) -> Self {
        ActorShared {
            id,
            name,
            component,
            component_hash: std::sync::OnceLock::new(),
            methods,
            limits,
            counters: CallCounters::default(),
            died: AtomicBool::new(false),
            dead: watch::Sender::new(None),
            _executor: executor,
            observer: None,
        }
    }

    /// The same, reporting to `observer`.
    pub(crate) fn with_observer(mut self, observer: Option<Arc<Observer>>) -> Self {
        self.observer = observer;
        self
    }

    /// Reports the end of a call of `method`, queued at `queued` and run
    /// from `started`, with `outcome`; when it ended, if it was observed.
    pub(crate) fn call_ended(
        &self,
        method: u32,
        queued: Option<Moment>,
        started: Option<Moment>,
        outcome: Result<(), &Error>,
    ) -> Option<Moment> {
        let observer = self.observer.as_ref()?;
        let slot = crate::observe::outcome_slot(&outcome);
        Some(observer.call_ended((self.id, &self.name), method, queued, started, slot))
    }

    /// How its calls are scheduled.
    pub(crate) fn kind(&self) -> ActorKind {
        self.methods.kind()
    }

    /// Marks the actor dead. The first cause is the one reported.
    pub(crate) fn die(&self, cause: DeathCause) {
        self.dead.send_if_modified(|death| {
            if death.is_some() {
                return false;
            }
            tracing::debug!(actor = %self.name, %cause, "actor died");
            if let Some(metrics) = self.observer.as_ref().and_then(|o| o.metrics()) {
                metrics.died(&cause);
            }
            *death = Some(cause);
            // Before the watchers wake, so that they see it dead.
            self.died.store(true, Ordering::Release);
            true
        });
    }

    /// Whether it died.
    pub(crate) fn is_dead(&self) -> bool {
        self.died.load(Ordering::Acquire)
    }

    /// Why it died, if it did.
    pub(crate) fn death(&self) -> Option<DeathCause> {
        if !self.is_dead() {
            return None;
        }
        self.dead.borrow().clone()
    }

    /// The error for calls that meet a dead actor.
    pub(crate) fn died_error(&self) -> Error {
        Error::ActorDied {
            actor: self.name.to_string(),
            cause: self.death().unwrap_or(DeathCause::Shutdown),
        }
    }

    /// Why waiting on `r` from inside this actor can never end, if it can't:
    /// `r` is a call queued on this same actor while every concurrency slot
    /// is taken (one of them by the waiting call).
    ///
    /// With concurrency groups, that is a call queued in a group whose
    /// slots are all taken while the waiting call holds one of them: the
    /// host cannot tell which group the waiting call is in (wasmtime does
    /// not say which call made an import call), so it refuses only when the
    /// waiting call might be in it, i.e. when the group is full.
    pub(crate) fn self_deadlock(&self, r: &ObjectRef) -> Option<Error> {
        let (on, group) = r.queued_on()?;
        let groups = &self.limits.groups;
        if on != self.id || !groups.is_full(group) {
            return None;
        }
        let max = groups.limit(group);
        let slots = if groups.len() == 1 {
            "max_concurrency slots".to_string()
        } else {
            format!("slots in concurrency group `{}`", groups.name(group))
        };
        Some(Error::WouldBlock {
            reason: format!(
                "waiting for a call to this same actor ({}) that cannot start: all {max} of its \
                 {slots} are taken, one by the waiting call; raise max_concurrency, or do not \
                 wait for calls to yourself",
                self.name
            ),
        })
    }

    /// Takes one restart if the policy allows another; returns its number.
    pub(crate) fn try_restart(&self) -> Option<u64> {
        if self.is_dead() {
            return None;
        }
        self.counters.try_restart(self.limits.max_restarts)
    }

    /// A receiver that sees the actor die.
    pub(crate) fn watch_death(&self) -> watch::Receiver<Option<DeathCause>> {
        self.dead.subscribe()
    }
}

impl Queued for ActorShared {
    fn queued(&self) -> u64 {
        self.counters.snapshot().queued
    }
}

impl Drop for ActorShared {
    fn drop(&mut self) {
        if let Some(metrics) = self.observer.as_ref().and_then(|o| o.metrics()) {
            metrics.dropped(self.is_dead());
        }
    }
}
