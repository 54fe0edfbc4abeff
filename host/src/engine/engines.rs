//! A runtime's wasmtime engines and their linkers.
//!
//! The **concurrent** engine has the component model's async ABI, which
//! async actors and programs need. It makes every sync call into a guest
//! cost about four times as much (`cargo bench -p wactor-bench`), so
//! threaded actors run on a second, **sync** engine without it, made on
//! first use. Both link the same imports, but the sync engine leaves out
//! `async func`s (see [`EngineKind`]).
//!
//! How an instance's memory gets its initial data is an engine setting in
//! wasmtime, and neither way suits every guest ([`MemoryInit`]): mapping
//! the image copy-on-write costs a memory mapping per instance (and, with
//! several cores, the TLB flushes that come with it), copying costs a
//! write of every data byte. Under [`MemoryInit::BySize`] (the default)
//! the two engines above copy, and a component with a large image goes to
//! a copy-on-write twin of its engine, made when the first such component
//! loads: each engine has an instance pool of its own, so twins are made
//! only when a guest needs one, and only while the kernel's limit on
//! memory mappings allows another pool.

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

/// How a fresh instance's linear memory gets the component's initial data
/// ([`RuntimeBuilder::memory_init`](crate::RuntimeBuilder::memory_init)).
///
/// ```
/// use wactor::MemoryInit;
/// let small = MemoryInit::default();
/// assert_eq!(small, MemoryInit::BySize { copy_up_to: wactor::DEFAULT_COPY_UP_TO });
/// assert!(!small.copy_on_write_for(128)); // a Rust actor's few KiB: copied
/// assert!(small.copy_on_write_for(12 << 20)); // CPython's 12 MiB: mapped
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryInit {
    /// Map the image copy-on-write from the compiled component (wasmtime's
    /// default): instances share the pages they only read, which matters
    /// for guests with megabytes of initial data (an interpreter's
    /// snapshot), at a memory mapping per instance.
    CopyOnWrite,
    /// Copy the data segments into each instance's memory: no mapping per
    /// instance, so small guests spawn faster (a fifth to three quarters,
    /// `docs/benchmarks.md`), at a private copy of every data page.
    Copy,
    /// Copy for components with at most `copy_up_to` bytes of data
    /// segments, map copy-on-write above.
    BySize {
        /// The most bytes of data a component may have and be copied.
        copy_up_to: u64,
    },
}

/// The default threshold of [`MemoryInit::BySize`]: 256 KiB of data
/// segments. wactor's Rust and C guests have up to 50 KB and spawn faster
/// copied; Go (800 KB), JavaScript (3 MB) and Python (12 MB) faster mapped.
pub const DEFAULT_COPY_UP_TO: u64 = 256 * 1024;

impl Default for MemoryInit {
    fn default() -> Self {
        MemoryInit::BySize {
            copy_up_to: DEFAULT_COPY_UP_TO,
        }
    }
}

impl MemoryInit {
    /// Whether a component with `data_bytes` of data segments maps them
    /// copy-on-write.
    pub fn copy_on_write_for(self, data_bytes: u64) -> bool {
        match self {
            MemoryInit::CopyOnWrite => true,
            MemoryInit::Copy => false,
            MemoryInit::BySize { copy_up_to } => data_bytes > copy_up_to,
        }
    }

    /// Whether the runtime's first engines map copy-on-write (the twins,
    /// if any, do the other).
    fn first_engines_map(self) -> bool {
        self == MemoryInit::CopyOnWrite
    }
}

/// What the engines are made from (the engine part of the
/// [`RuntimeBuilder`](crate::RuntimeBuilder)).
#[derive(Debug, Clone)]
pub(crate) struct EngineSettings {
    pub(crate) pooling: bool,
    pub(crate) max_instances: u32,
    pub(crate) time_slice: Option<Duration>,
    pub(crate) lag_warning: Duration,
    pub(crate) memory_init: MemoryInit,
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
    /// The copy-on-write twins of the two (under `MemoryInit::BySize`), for
    /// components with large images; `None` inside if it cannot be made.
    concurrent_cow: std::sync::OnceLock<Option<EngineLinker>>,
    sync_cow: Retry<EngineLinker>,
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
        let cow = settings.memory_init.first_engines_map();
        let concurrent = build(&settings, &capabilities, EngineKind::Concurrent, cow)?;
        Ok(Engines {
            memory: Arc::new(SharedBudget::new(settings.max_memory)),
            cache: cache_dir.map(|dir| ComponentCache::new(dir.to_path_buf())),
            settings,
            capabilities,
            concurrent,
            sync: Retry::new(SYNC_ENGINE_RETRY),
            concurrent_cow: std::sync::OnceLock::new(),
            sync_cow: Retry::new(SYNC_ENGINE_RETRY),
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
        let twins = [
            ("sync", self.sync.made()),
            (
                "concurrent-cow",
                self.concurrent_cow.get().and_then(Option::as_ref),
            ),
            ("sync-cow", self.sync_cow.made()),
        ];
        for (name, made) in twins {
            if let Some(pool) = made.and_then(|e| e.engine.pooling_allocator_metrics()) {
                runtime.set_pool(name, &pool);
            }
        }
    }

    /// How many instance pools the engines made so far hold.
    fn pools(&self) -> u32 {
        let made = [
            true,
            self.sync.made().is_some(),
            self.concurrent_cow.get().is_some_and(Option::is_some),
            self.sync_cow.made().is_some(),
        ];
        made.into_iter().map(u32::from).sum()
    }

    /// Whether one more instance pool fits the kernel's limit on memory
    /// mappings (always, without pooling).
    fn another_pool_fits(&self) -> bool {
        !self.settings.pooling || map_budget_allows(self.pools() + 1, self.settings.max_instances)
    }

    /// The concurrent engine for the component `bytes`, and whether it maps
    /// its image copy-on-write: the first one, or under `BySize` for a
    /// large image its copy-on-write twin (made now if need be; if it
    /// cannot be, the first one does, copying).
    pub(crate) fn concurrent_for(&self, bytes: &[u8]) -> (&EngineLinker, bool) {
        let init = self.settings.memory_init;
        let first = init.first_engines_map();
        // Only `BySize` looks at the image; bytes that do not parse fail to
        // compile, with the reason, on the first engine.
        let maps = matches!(init, MemoryInit::BySize { .. })
            && init.copy_on_write_for(super::image::data_bytes(bytes).unwrap_or(0));
        if maps == first {
            return (&self.concurrent, first);
        }
        let twin = self.concurrent_cow.get_or_init(|| {
            if !self.another_pool_fits() {
                tracing::info!(
                    "components with large images copy them: another instance pool would pass \
                     the kernel's limit on memory mappings (vm.max_map_count)"
                );
                return None;
            }
            build(
                &self.settings,
                &self.capabilities,
                EngineKind::Concurrent,
                true,
            )
            .inspect_err(|e| {
                tracing::warn!(
                    "components with large images copy them (no copy-on-write engine): {}",
                    crate::error::full_text(e)
                );
            })
            .ok()
        });
        match twin {
            Some(twin) => (twin, true),
            None => (&self.concurrent, first),
        }
    }

    /// The sync engine that maps (`cow`) or copies images, made on first
    /// use; `None` if it cannot be made (see [`sync`](Self::sync)).
    pub(crate) async fn sync_for(&self, cow: bool) -> Option<&EngineLinker> {
        if cow == self.settings.memory_init.first_engines_map() {
            return self.sync().await;
        }
        self.sync_cow.get(async || self.make_sync(true).await).await
    }

    /// The engine of async actors and programs.
    pub(crate) fn concurrent(&self) -> &EngineLinker {
        &self.concurrent
    }

    /// The engine of threaded actors, made on first use; `None` if the
    /// process cannot afford another instance pool, or making it failed
    /// less than a second ago (it is tried again after that).
    pub(crate) async fn sync(&self) -> Option<&EngineLinker> {
        let cow = self.settings.memory_init.first_engines_map();
        self.sync.get(async || self.make_sync(cow).await).await
    }

    /// One attempt at a sync engine that maps (`cow`) or copies images.
    async fn make_sync(&self, cow: bool) -> Attempt<EngineLinker> {
        if !self.another_pool_fits() {
            tracing::info!(
                max_instances = self.settings.max_instances,
                "threaded actors share the async engine: another instance pool of this size \
                 would pass the kernel's limit on memory mappings (vm.max_map_count)"
            );
            return Attempt::Never;
        }
        let (settings, capabilities) = (self.settings.clone(), self.capabilities.clone());
        let made = tokio::task::spawn_blocking(move || {
            build(&settings, &capabilities, EngineKind::Sync, cow)
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
    copy_on_write: bool,
) -> Result<EngineLinker> {
    let concurrent = kind == EngineKind::Concurrent;
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(concurrent)
        .concurrency_support(concurrent)
        .epoch_interruption(settings.time_slice.is_some());
    config.memory_init_cow(copy_on_write);
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

/// Whether `pools` instance pools of `n` slots fit in the kernel's limit
/// on a process's memory mappings. Each pooled fiber stack costs two
/// mappings (its guard page splits the pool's region), for every slot,
/// from the start; each live instance costs about three (its memory's
/// accessible part, its copy-on-write image, the rest of its slot). At the
/// default limit of 65,530 that allows two pools up to about 8,600 slots.
fn map_budget_allows(pools: u32, n: u32) -> bool {
    let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(65_530);
    pools_fit(pools, n, limit)
}

fn pools_fit(pools: u32, n: u32, max_map_count: u64) -> bool {
    let n = u64::from(n);
    // The pools' stacks, one set of live instances, and room for the rest
    // of the process (libraries, threads, the heap).
    u64::from(pools) * (2 * n) + 3 * n + 5_000 <= max_map_count
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
    fn another_pool_is_made_only_within_the_kernels_mapping_limit() {
        assert!(super::pools_fit(2, 1000, 65_530));
        assert!(super::pools_fit(4, 1000, 65_530));
        assert!(super::pools_fit(2, 8_000, 65_530));
        assert!(!super::pools_fit(3, 8_000, 65_530));
        assert!(!super::pools_fit(2, 10_100, 65_530));
        assert!(super::pools_fit(2, 10_100, 262_144));
    }

    #[test]
    fn by_size_copies_small_images_and_maps_large_ones() {
        use super::MemoryInit;
        let by_size = MemoryInit::BySize { copy_up_to: 1000 };
        assert!(!by_size.copy_on_write_for(1000));
        assert!(by_size.copy_on_write_for(1001));
        assert!(MemoryInit::CopyOnWrite.copy_on_write_for(0));
        assert!(!MemoryInit::Copy.copy_on_write_for(u64::MAX));
    }
}
