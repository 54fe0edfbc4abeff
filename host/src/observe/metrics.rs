//! The metrics, through the `metrics` facade.
//!
//! | name | type | labels |
//! | --- | --- | --- |
//! | `wactor_actors` | gauge | `component`, `kind` (`async`, `threaded`), `state` (`alive`, `dead`: died, still referenced) |
//! | `wactor_calls_total` | counter | `component`, `method`, `outcome` (`ok`, `method_failed`, `actor_died`, `actor_restarted`, `timeout`, `cancelled`, `quota_exceeded`, `error`) |
//! | `wactor_call_duration_seconds` | histogram | `component`, `method`: from start to end, queueing not included |
//! | `wactor_queue_depth` | gauge | `component`: calls submitted and not yet started, sampled every second |
//! | `wactor_actor_deaths_total` | counter | `cause` (`trap`, `killed`, `exited`, `deadline_exceeded`, `instantiation`, `host_fault`, `shutdown`, `node_lost`, `node_stopped`) |
//! | `wactor_event_loop_lag_seconds` | gauge | how late a 100 ms timer fired on the runtime's threads, sampled every second |
//! | `wactor_pool_*` | gauges | `engine` (`concurrent`, `sync`): wasmtime's pooling allocator: `core_instances`, `component_instances`, `memories`, `tables`, `stacks`, `unused_warm_memories`, `unused_memory_bytes_resident` |
//!
//! Handles are made when a component loads; the per-method ones lazily,
//! on a method's first call with each outcome, so a component with many
//! exports costs series only for what runs.
//!
//! Calls are counted and timed here before the recorder sees them
//! ([`Durations`]): Prometheus's recorder keeps every sample until it
//! drains them, and handing it one a call cost a quarter of the batched
//! call rate (a million calls a second is a million samples to store).
//! A call adds one to its outcome's count and one to a bucket of
//! durations, two relaxed atomics of its method's; the sampler hands each
//! second's figures over (`increment`, `record_many`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, SharedString};

use super::OUTCOMES;
use crate::call::MethodTable;
use crate::error::DeathCause;

struct MethodMetrics {
    name: SharedString,
    /// Per outcome: the counter, and the calls since the last flush.
    calls: [OnceLock<(Counter, AtomicU64)>; OUTCOMES.len()],
    duration: OnceLock<(Histogram, Durations)>,
}

/// Sub-buckets per power of two: a duration is reported within 1/16
/// (6.25%) of its value.
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
/// Powers of two covered, in nanoseconds: up to 2^46 ns (19.5 hours);
/// longer calls count as that long.
const OCTAVES: u32 = 46;
const BUCKETS: usize = ((OCTAVES + 2 - SUB_BITS) as usize) * SUB as usize;

/// One method's call durations since the last flush, in log-linear
/// buckets of nanoseconds (the scheme of HdrHistogram): a call costs one
/// relaxed atomic add.
struct Durations {
    buckets: Box<[AtomicU64]>,
}

impl Durations {
    fn new() -> Self {
        Durations {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The bucket of `nanos`: values below [`SUB`] have one each; above,
    /// each power of two is split in [`SUB`] equal parts.
    fn bucket(nanos: u64) -> usize {
        if nanos < SUB {
            return nanos as usize;
        }
        let octave = (63 - nanos.leading_zeros()).min(OCTAVES);
        let nanos = nanos.min((1 << (OCTAVES + 1)) - 1);
        let part = (nanos >> (octave - SUB_BITS)) & (SUB - 1);
        ((octave + 1 - SUB_BITS) as usize) * SUB as usize + part as usize
    }

    /// The middle of `bucket`, in seconds.
    fn middle(bucket: usize) -> f64 {
        let sub = SUB as usize;
        if bucket < sub {
            return bucket as f64 * 1e-9;
        }
        let octave = (bucket / sub) as u32 + SUB_BITS - 1;
        let part = (bucket % sub) as f64;
        let width = (1u64 << (octave - SUB_BITS)) as f64;
        (SUB as f64 + part + 0.5) * width * 1e-9
    }

    fn add(&self, ran: Duration) {
        let nanos = u64::try_from(ran.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[Self::bucket(nanos)].fetch_add(1, Ordering::Relaxed);
    }

    /// Hands what was gathered to `histogram`, and starts again.
    fn flush(&self, histogram: &Histogram) {
        for (bucket, count) in self.buckets.iter().enumerate() {
            // Most buckets stay empty: read before writing.
            if count.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let n = count.swap(0, Ordering::Relaxed);
            histogram.record_many(Self::middle(bucket), n as usize);
        }
    }
}

/// One component's metric handles.
pub(crate) struct ComponentMetrics {
    component: SharedString,
    methods: Vec<MethodMetrics>,
    alive: Gauge,
    dead: Gauge,
    queue_depth: Gauge,
}

impl ComponentMetrics {
    pub(crate) fn new(component: &Arc<str>, methods: &MethodTable) -> Self {
        let name = SharedString::from(component.clone());
        let kind = match methods.kind() {
            crate::ActorKind::Async => "async",
            _ => "threaded",
        };
        let actors = |state: &'static str| metrics::gauge!("wactor_actors", "component" => name.clone(), "kind" => kind, "state" => state);
        ComponentMetrics {
            alive: actors("alive"),
            dead: actors("dead"),
            queue_depth: metrics::gauge!("wactor_queue_depth", "component" => name.clone()),
            methods: methods
                .iter()
                .map(|m| MethodMetrics {
                    name: SharedString::from(Arc::<str>::from(m.name())),
                    calls: Default::default(),
                    duration: OnceLock::new(),
                })
                .collect(),
            component: name,
        }
    }

    /// A call of `method` ended (`slot` in [`OUTCOMES`]) after running
    /// `ran`, if it ran.
    pub(crate) fn call_ended(&self, method: u32, slot: usize, ran: Option<Duration>) {
        let Some(m) = self.methods.get(method as usize) else {
            return;
        };
        let slot = slot.min(OUTCOMES.len() - 1);
        m.calls[slot]
            .get_or_init(|| {
                let counter = metrics::counter!(
                    "wactor_calls_total",
                    "component" => self.component.clone(),
                    "method" => m.name.clone(),
                    "outcome" => OUTCOMES[slot]
                );
                (counter, AtomicU64::new(0))
            })
            .1
            .fetch_add(1, Ordering::Relaxed);
        if let Some(ran) = ran {
            m.duration
                .get_or_init(|| {
                    let histogram = metrics::histogram!(
                        "wactor_call_duration_seconds",
                        "component" => self.component.clone(),
                        "method" => m.name.clone()
                    );
                    (histogram, Durations::new())
                })
                .1
                .add(ran);
        }
    }

    /// Hands the calls counted and timed since the last flush to the
    /// recorder.
    pub(crate) fn flush(&self) {
        for m in &self.methods {
            for (counter, since) in m.calls.iter().filter_map(OnceLock::get) {
                if since.load(Ordering::Relaxed) > 0 {
                    counter.increment(since.swap(0, Ordering::Relaxed));
                }
            }
            if let Some((histogram, durations)) = m.duration.get() {
                durations.flush(histogram);
            }
        }
    }

    /// An actor of the component was spawned.
    pub(crate) fn spawned(&self) {
        self.alive.increment(1.0);
    }

    /// An actor of the component died (`cause`).
    pub(crate) fn died(&self, cause: &DeathCause) {
        self.alive.decrement(1.0);
        self.dead.increment(1.0);
        metrics::counter!("wactor_actor_deaths_total", "cause" => cause_label(cause)).increment(1);
    }

    /// The last handle to an actor of the component is gone.
    pub(crate) fn dropped(&self, was_dead: bool) {
        if was_dead {
            self.dead.decrement(1.0);
        } else {
            self.alive.decrement(1.0);
        }
    }

    /// The calls now queued on the component's actors.
    pub(crate) fn set_queue_depth(&self, queued: u64) {
        self.queue_depth.set(queued as f64);
    }
}

impl Drop for ComponentMetrics {
    fn drop(&mut self) {
        // The last second's durations.
        self.flush();
    }
}

fn cause_label(cause: &DeathCause) -> &'static str {
    match cause {
        DeathCause::Trap(_) => "trap",
        DeathCause::Killed => "killed",
        DeathCause::Exited(_) => "exited",
        DeathCause::DeadlineExceeded { .. } => "deadline_exceeded",
        DeathCause::Instantiation(_) => "instantiation",
        DeathCause::HostFault(_) => "host_fault",
        DeathCause::Shutdown => "shutdown",
        DeathCause::NodeLost { .. } => "node_lost",
        DeathCause::NodeStopped { .. } => "node_stopped",
    }
}

/// The runtime-wide gauges, set by its sampler.
pub(crate) struct RuntimeMetrics {
    lag: Gauge,
}

impl RuntimeMetrics {
    pub(crate) fn new() -> Self {
        RuntimeMetrics {
            lag: metrics::gauge!("wactor_event_loop_lag_seconds"),
        }
    }

    pub(crate) fn set_lag(&self, lag: Duration) {
        self.lag.set(lag.as_secs_f64());
    }

    /// wasmtime's pooling-allocator figures for `engine`.
    pub(crate) fn set_pool(&self, engine: &'static str, pool: &wasmtime::PoolingAllocatorMetrics) {
        let set = |name: &'static str, value: f64| {
            metrics::gauge!(name, "engine" => engine).set(value);
        };
        set("wactor_pool_core_instances", pool.core_instances() as f64);
        set(
            "wactor_pool_component_instances",
            pool.component_instances() as f64,
        );
        set("wactor_pool_memories", pool.memories() as f64);
        set("wactor_pool_tables", pool.tables() as f64);
        set("wactor_pool_stacks", pool.stacks() as f64);
        set(
            "wactor_pool_unused_warm_memories",
            f64::from(pool.unused_warm_memories()),
        );
        set(
            "wactor_pool_unused_memory_bytes_resident",
            pool.unused_memory_bytes_resident() as f64,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_duration_is_reported_within_a_sixteenth_of_itself() {
        let mut last = 0;
        let mut nanos = 1u64;
        while nanos < 1 << OCTAVES {
            for n in [nanos, nanos + nanos / 3, nanos * 2 - 1] {
                let bucket = Durations::bucket(n);
                assert!(bucket < BUCKETS, "{n} ns: bucket {bucket}");
                let middle = Durations::middle(bucket) * 1e9;
                let error = (middle - n as f64).abs() / n as f64;
                assert!(error <= 1.0 / 16.0 + 1e-9, "{n} ns reported as {middle}");
                assert!(bucket >= last, "buckets grow with the duration");
                last = bucket;
            }
            nanos *= 2;
        }
        assert_eq!(Durations::bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn a_flush_hands_over_each_call_once() {
        let durations = Durations::new();
        for micros in [3, 3, 250, 1_000_000] {
            durations.add(Duration::from_micros(micros));
        }
        let total: u64 = durations
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum();
        assert_eq!(total, 4);
        durations.flush(&Histogram::noop());
        assert!(
            durations
                .buckets
                .iter()
                .all(|b| b.load(Ordering::Relaxed) == 0)
        );
    }
}
