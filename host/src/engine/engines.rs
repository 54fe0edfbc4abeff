//! A runtime's two wasmtime engines and their linkers.
//!
//! The **concurrent** engine has the component model's async ABI, which
//! async actors and programs need. It makes every sync call into a guest
//! cost about four times as much (`cargo bench -p wactor-bench`), so
//! threaded actors run on a second, **sync** engine without it, made on
//! first use. Both link the same imports, but the sync engine leaves out
//! `async func`s (see [`EngineKind`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::cache::ComponentCache;
use super::retry::{Attempt, Retry};
use crate::error::{Error, Result};
use crate::guest::{ActorState, Capabilities, EngineKind, SharedBudget};

/// The default [`RuntimeBuilder::time_slice`](crate::RuntimeBuilder::time_slice).
pub const DEFAULT_TIME_SLICE: Duration = Duration::from_millis(10);

/// The default [`RuntimeBuilder::lag_warning`](crate::RuntimeBuilder::lag_warning).
pub const DEFAULT_LAG_WARNING: Duration = Duration::from_millis(100);

/// What the engines are made from (the engine part of the
/// [`RuntimeBuilder`](crate::RuntimeBuilder)).
#[derive(Debug, Clone)]
pub(crate) struct EngineSettings {
    pub(crate) pooling: bool,
    pub(crate) max_instances: u32,
    pub(crate) time_slice: Option<Duration>,
    pub(crate) lag_warning: Duration,
    pub(crate) copy_on_write: bool,
    /// The memory of all instances together, in bytes.
    pub(crate) max_memory: usize,
    /// The most bytes of JSON in one value between guests.
    pub(crate) max_value_size: usize,
    /// Whether calls are reported through the `metrics` facade.
    pub(crate) metrics: bool,
    /// Where every call is written, if anywhere.
    pub(crate) timeline: Option<crate::observe::Timeline>,
}

/// An engine and the linker of every import actors may use on it.
pub(crate) struct EngineLinker {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<ActorState>,
}

/// How long to wait before trying again to make the sync engine after a
/// failure (e.g. its instance pool could not be reserved).
const SYNC_ENGINE_RETRY: Duration = Duration::from_secs(1);

/// The engines of one runtime, with what they share: settings,
/// capabilities, and the cache of compiled components.
pub(crate) struct Engines {
    pub(crate) settings: EngineSettings,
    capabilities: Capabilities,
    concurrent: EngineLinker,
    sync: Retry<EngineLinker>,
    /// What every instance of both engines charges its memory to.
    memory: Arc<SharedBudget>,
    cache: Option<ComponentCache>,
    /// The observers of the components loaded, for the metrics sampler.
    observers: std::sync::Mutex<Vec<std::sync::Weak<crate::observe::Observer>>>,
}

impl Engines {
    /// Makes the concurrent engine now; the sync one waits for the first
    /// threaded actor.
    pub(crate) fn new(
        settings: EngineSettings,
        capabilities: Capabilities,
        cache_dir: Option<&Path>,
    ) -> Result<Engines> {
        let concurrent = build(&settings, &capabilities, EngineKind::Concurrent)?;
        Ok(Engines {
            memory: Arc::new(SharedBudget::new(settings.max_memory)),
            cache: cache_dir.map(|dir| ComponentCache::new(dir.to_path_buf())),
            settings,
            capabilities,
            concurrent,
            sync: Retry::new(SYNC_ENGINE_RETRY),
            observers: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The memory budget all instances share.
    pub(crate) fn memory(&self) -> Arc<SharedBudget> {
        self.memory.clone()
    }

    /// The observer of a component loaded now, if metrics or a timeline
    /// are on; the sampler finds it here.
    pub(crate) fn observer(
        &self,
        component: &Arc<str>,
        methods: &crate::call::MethodTable,
    ) -> Option<Arc<crate::observe::Observer>> {
        let observer = crate::observe::Observer::new(
            component,
            methods,
            self.settings.metrics,
            self.settings.timeline.as_ref(),
        )?;
        let mut observers = self.observers.lock().unwrap_or_else(|e| e.into_inner());
        observers.retain(|o| o.strong_count() > 0);
        observers.push(Arc::downgrade(&observer));
        Some(observer)
    }

    /// Sets the sampled gauges: each component's queue depth, and the
    /// pooling allocators' figures.
    pub(crate) fn sample(&self, runtime: &crate::observe::RuntimeMetrics) {
        let observers: Vec<_> = {
            let observers = self.observers.lock().unwrap_or_else(|e| e.into_inner());
            observers
                .iter()
                .filter_map(std::sync::Weak::upgrade)
                .collect()
        };
        for observer in observers {
            observer.sample();
        }
        if let Some(pool) = self.concurrent.engine.pooling_allocator_metrics() {
            runtime.set_pool("concurrent", &pool);
        }
        if let Some(sync) = self.sync.made()
            && let Some(pool) = sync.engine.pooling_allocator_metrics()
        {
            runtime.set_pool("sync", &pool);
        }
    }

    /// The engine of async actors and programs.
    pub(crate) fn concurrent(&self) -> &EngineLinker {
        &self.concurrent
    }

    /// The engine of threaded actors, made on first use; `None` if the
    /// process cannot afford a second instance pool, or making it failed
    /// less than a second ago (it is tried again after that).
    pub(crate) async fn sync(&self) -> Option<&EngineLinker> {
        self.sync
            .get(async || {
                let settings = &self.settings;
                if settings.pooling && !map_budget_allows_two_pools(settings.max_instances) {
                    tracing::info!(
                        max_instances = settings.max_instances,
                        "threaded actors share the async engine: a second instance pool of this \
                         size would pass the kernel's limit on memory mappings (vm.max_map_count)"
                    );
                    return Attempt::Never;
                }
                let (settings, capabilities) = (settings.clone(), self.capabilities.clone());
                let made = tokio::task::spawn_blocking(move || {
                    build(&settings, &capabilities, EngineKind::Sync)
                })
                .await;
                match made {
                    Ok(Ok(engine)) => Attempt::Made(engine),
                    Ok(Err(e)) => {
                        tracing::warn!(
                            "threaded actors use the async engine for now (trying again in \
                             {SYNC_ENGINE_RETRY:?}): {}",
                            crate::error::full_text(&e)
                        );
                        Attempt::Failed
                    }
                    Err(e) => {
                        tracing::warn!("making the engine of threaded actors failed: {e}");
                        Attempt::Failed
                    }
                }
            })
            .await
    }

    /// Compiles `bytes` for `engine`, through the on-disk cache if there is one.
    pub(crate) fn compile(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        match &self.cache {
            Some(cache) => cache.load_or_compile(engine, bytes),
            None => Component::new(engine, bytes),
        }
    }

    /// The embedder's capabilities, for preparing instances.
    pub(crate) fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// Where compiled components are cached, if anywhere.
    pub(crate) fn cache_dir(&self) -> Option<&Path> {
        self.cache.as_ref().map(ComponentCache::dir)
    }
}

/// An engine of `kind` and a linker with every import on it.
fn build(
    settings: &EngineSettings,
    capabilities: &Capabilities,
    kind: EngineKind,
) -> Result<EngineLinker> {
    let concurrent = kind == EngineKind::Concurrent;
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(concurrent)
        .concurrency_support(concurrent)
        .epoch_interruption(settings.time_slice.is_some());
    config.memory_init_cow(settings.copy_on_write);
    if settings.pooling {
        let n = settings.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        // A Rust guest is one component instance with a few core instances
        // (the module and wit-component's shims), one memory, a few tables.
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(4))
            .total_memories(n)
            .total_tables(n.saturating_mul(4))
            // A fiber stack per instance: a store keeps the stack of its
            // last async call for the next one (wasmtime has no public way
            // to hand it back), so every live instance holds one. With
            // fewer stacks than instances, a burst of spawns trapped
            // ("maximum concurrent limit ... for fibers"). Stacks are
            // reserved address space; only the pages a guest touches become
            // resident.
            .total_stacks(n);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    let engine =
        Engine::new(&config).map_err(|e| Error::setup("the engine", crate::error::source(e)))?;
    if let Some(slice) = settings.time_slice {
        start_epoch_ticker(&engine, slice)?;
    }
    let mut linker = Linker::new(&engine);
    crate::guest::add_to_linker(&mut linker, kind)
        .and_then(|()| capabilities.add_to_linker(&mut linker, kind))
        .map_err(|e| Error::setup("the host's imports", crate::error::source(e)))?;
    Ok(EngineLinker { engine, linker })
}

/// Whether two instance pools of `n` slots fit in the kernel's limit on a
/// process's memory mappings. Each pooled fiber stack costs two mappings
/// (its guard page splits the pool's region), for every slot, from the
/// start; each live instance costs about three (its memory's accessible
/// part, its copy-on-write image, the rest of its slot). At the default
/// limit of 65,530 that allows a second pool up to about 8,600 slots.
fn map_budget_allows_two_pools(n: u32) -> bool {
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(65_530);
    two_pools_fit(n, limit)
}

fn two_pools_fit(n: u32, max_map_count: u64) -> bool {
    let n = u64::from(n);
    // Two pools' stacks, one set of live instances, and room for the rest
    // of the process (libraries, threads, the heap).
    2 * (2 * n) + 3 * n + 5_000 <= max_map_count
}

/// Ticks `engine`'s epoch every `slice` until the engine is dropped: every
/// store yields when its deadline (one tick ahead) passes.
fn start_epoch_ticker(engine: &Engine, slice: Duration) -> Result<()> {
    let engine = engine.weak();
    std::thread::Builder::new()
        .name("wactor-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(slice);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::setup("the epoch thread", Arc::new(e)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_second_pool_is_made_only_within_the_kernels_mapping_limit() {
        assert!(super::two_pools_fit(1000, 65_530));
        assert!(super::two_pools_fit(8_000, 65_530));
        assert!(!super::two_pools_fit(10_100, 65_530));
        assert!(super::two_pools_fit(10_100, 262_144));
    }
}
