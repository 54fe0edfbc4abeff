//! What the runtime tells about its calls: metrics through the `metrics`
//! facade, a timeline of every call, and `tracing` spans.
//!
//! Both metrics and the timeline are off unless the embedder asks
//! ([`RuntimeBuilder::metrics`](crate::RuntimeBuilder::metrics),
//! [`RuntimeBuilder::timeline`](crate::RuntimeBuilder::timeline)): a call
//! then reads no clock and touches no shared counter for them. When on,
//! each component gets one [`Observer`] at load, with its metric handles
//! made once per method (a call only bumps atomics, it never builds a key
//! or looks one up), and its actors share it.
//!
//! The library installs no exporter: the embedder's recorder (e.g.
//! `metrics-exporter-prometheus`, which `wactor --metrics` uses) gets the
//! figures. Labels are low-cardinality on purpose (component, method,
//! outcome, cause; never an actor id): a label per actor would grow the
//! exporter's memory with every actor ever spawned.

mod metrics;
mod timeline;

use std::sync::{Arc, Mutex, Weak};

pub(crate) use metrics::{ComponentMetrics, RuntimeMetrics};
pub use timeline::{TIMELINE_BUFFER, Timeline};

use crate::call::MethodTable;
use crate::error::Error;
use crate::ids::ActorId;

/// What a component's calls are reported to.
pub(crate) struct Observer {
    metrics: Option<ComponentMetrics>,
    timeline: Option<Timeline>,
    /// The methods' names, for the timeline.
    methods: Vec<Arc<str>>,
    /// The component's actors, for the sampled queue depth.
    actors: Mutex<Vec<Weak<dyn Queued>>>,
}

/// What the sampler reads of an actor.
pub(crate) trait Queued: Send + Sync {
    /// Calls submitted and not yet started.
    fn queued(&self) -> u64;
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("metrics", &self.metrics.is_some())
            .field("timeline", &self.timeline.is_some())
            .finish()
    }
}

/// A moment on the observers' clock: the CPU's time-stamp counter where it
/// is invariant (a read costs a few nanoseconds, a quarter of
/// `Instant::now`'s; metrics-util reads the same), else the OS's
/// monotonic clock. At a million calls a second, two reads a call were a
/// visible part of what metrics cost.
pub(crate) type Moment = quanta::Instant;

/// Now, on the observers' clock.
pub(crate) fn now() -> Moment {
    quanta::Instant::now()
}

/// The outcomes a call is counted under, as metric labels.
pub(crate) const OUTCOMES: [&str; 8] = [
    "ok",
    "method_failed",
    "actor_died",
    "actor_restarted",
    "timeout",
    "cancelled",
    "quota_exceeded",
    "error",
];

/// How a call ended, as an index into [`OUTCOMES`].
pub(crate) fn outcome_slot(outcome: &Result<(), &Error>) -> usize {
    match outcome {
        Ok(()) => 0,
        Err(Error::MethodFailed { .. }) => 1,
        Err(Error::ActorDied { .. }) => 2,
        Err(Error::ActorRestarted { .. }) => 3,
        Err(Error::Timeout(_)) => 4,
        Err(Error::Cancelled) => 5,
        Err(Error::QuotaExceeded { .. }) => 6,
        Err(_) => 7,
    }
}

impl Observer {
    /// The observer of `component`'s calls, if metrics or a timeline is on.
    pub(crate) fn new(
        component: &Arc<str>,
        methods: &MethodTable,
        metrics: bool,
        timeline: Option<&Timeline>,
    ) -> Option<Arc<Observer>> {
        if !metrics && timeline.is_none() {
            return None;
        }
        Some(Arc::new(Observer {
            metrics: metrics.then(|| ComponentMetrics::new(component, methods)),
            timeline: timeline.cloned(),
            methods: methods.iter().map(|m| Arc::from(m.name())).collect(),
            actors: Mutex::new(Vec::new()),
        }))
    }

    /// Counts `actor` among the component's live actors.
    pub(crate) fn spawned(&self, actor: Weak<dyn Queued>) {
        if let Some(metrics) = &self.metrics {
            metrics.spawned();
            let mut actors = self.actors.lock().unwrap_or_else(|e| e.into_inner());
            // Forget gone actors now and then, so the list stays as long
            // as the live ones.
            if actors.len() >= 64 && actors.len().is_power_of_two() {
                actors.retain(|a| a.strong_count() > 0);
            }
            actors.push(actor);
        }
    }

    /// Sets the component's queue depth from its live actors, and hands
    /// the call durations gathered to the recorder.
    pub(crate) fn sample(&self) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        metrics.flush();
        let mut actors = self.actors.lock().unwrap_or_else(|e| e.into_inner());
        let mut queued = 0;
        actors.retain(|a| match a.upgrade() {
            Some(actor) => {
                queued += actor.queued();
                true
            }
            None => false,
        });
        metrics.set_queue_depth(queued);
    }

    /// Whether its calls go to a timeline (their queueing time is kept).
    pub(crate) fn timeline(&self) -> bool {
        self.timeline.is_some()
    }

    /// The component's metrics, if they are on.
    pub(crate) fn metrics(&self) -> Option<&ComponentMetrics> {
        self.metrics.as_ref()
    }

    /// A call of `method` ended with `outcome`; it was queued at `queued`
    /// and ran from `started` (if it started) until now, which it returns.
    pub(crate) fn call_ended(
        &self,
        actor: (ActorId, &Arc<str>),
        method: u32,
        queued: Option<Moment>,
        started: Option<Moment>,
        outcome: usize,
    ) -> Moment {
        let now = now();
        if let Some(metrics) = &self.metrics {
            metrics.call_ended(
                method,
                outcome,
                started.map(|s| now.saturating_duration_since(s)),
            );
        }
        if let (Some(timeline), Some(name)) = (&self.timeline, self.methods.get(method as usize)) {
            timeline.call(actor, name, queued, started, now, OUTCOMES[outcome]);
        }
        now
    }
}
