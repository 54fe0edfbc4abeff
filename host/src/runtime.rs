//! The [`Runtime`]: one wasmtime engine, one linker, the compiled-component
//! cache and the tokio runtime that actors run on.
//!
//! Everything expensive happens once per runtime or once per component:
//! the engine and linker are built at [`RuntimeBuilder::build`], a component
//! is compiled (or read from the on-disk cache) and linked at
//! [`Runtime::load`], and spawning an actor only instantiates it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings;
use crate::cache::ComponentCache;
use crate::component::ActorComponent;
use crate::error::{Error, Result};
use crate::sandbox::ActorState;

/// Configures a [`Runtime`].
///
/// ```
/// let runtime = wactor::Runtime::builder()
///     .max_instances(100)
///     .cache_dir(None::<&str>) // compile every time; nothing on disk
///     .build()
///     .unwrap();
/// # drop(runtime);
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeBuilder {
    pooling: bool,
    max_instances: u32,
    cache_dir: Option<PathBuf>,
    worker_threads: Option<usize>,
    task_pool_size: Option<usize>,
    pub(crate) time_slice: Option<Duration>,
    pub(crate) lag_warning: Duration,
    copy_on_write: bool,
}

/// The default [`RuntimeBuilder::lag_warning`].
pub const DEFAULT_LAG_WARNING: Duration = Duration::from_millis(100);

/// The default [`RuntimeBuilder::time_slice`].
pub const DEFAULT_TIME_SLICE: Duration = Duration::from_millis(10);

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            pooling: true,
            max_instances: 1000,
            cache_dir: default_cache_dir(),
            worker_threads: None,
            task_pool_size: None,
            time_slice: Some(DEFAULT_TIME_SLICE),
            lag_warning: DEFAULT_LAG_WARNING,
            copy_on_write: true,
        }
    }
}

/// `$WACTOR_CACHE_DIR`, else `$XDG_CACHE_HOME/wactor`, else `~/.cache/wactor`.
fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WACTOR_CACHE_DIR") {
        return Some(dir.into());
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(Path::new(&dir).join("wactor"));
    }
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache").join("wactor"))
}

impl RuntimeBuilder {
    /// Whether to use wasmtime's pooling instance allocator (default: yes).
    ///
    /// The pool reserves address space for [`max_instances`] instances up
    /// front; instantiating from it is faster and does not run into the
    /// kernel's limit on memory mappings at high actor counts, where the
    /// on-demand allocator fails (see `docs/architecture.md`).
    ///
    /// [`max_instances`]: RuntimeBuilder::max_instances
    pub fn pooling(mut self, enabled: bool) -> Self {
        self.pooling = enabled;
        self
    }

    /// How many component instances may be live at once, over all actors
    /// (default 1000). An async actor is one instance; a threaded actor is
    /// `max_concurrency` instances.
    pub fn max_instances(mut self, count: u32) -> Self {
        self.max_instances = count.max(1);
        self
    }

    /// Where compiled components are cached, or `None` for no cache. The
    /// default is `$WACTOR_CACHE_DIR`, else `$XDG_CACHE_HOME/wactor`, else
    /// `~/.cache/wactor`. A broken or unwritable cache only costs a compile.
    pub fn cache_dir(mut self, dir: Option<impl Into<PathBuf>>) -> Self {
        self.cache_dir = dir.map(Into::into);
        self
    }

    /// The number of worker threads of the tokio runtime the runtime creates
    /// when it is built outside of one (default: one per core). Ignored when
    /// built inside a tokio runtime, whose threads it then uses.
    pub fn worker_threads(mut self, count: usize) -> Self {
        self.worker_threads = Some(count.max(1));
        self
    }

    /// How many instances run the stateless tasks of a sync-only component
    /// ([`ActorComponent::submit`]) at once (default: one per core). Tasks of
    /// a component with async exports share one instance, up to 1000 at once.
    pub fn task_pool_size(mut self, count: usize) -> Self {
        self.task_pool_size = Some(count.max(1));
        self
    }

    /// How long a guest may run before it yields to other work on its
    /// thread (default [`DEFAULT_TIME_SLICE`], 10 ms), or `None` to never
    /// interrupt guests. Guests are compiled with epoch checks and a thread
    /// ticks the epoch once per slice, so a guest that spins forever still
    /// lets every other actor run (and can be stopped). Off, guest code runs
    /// a little faster, but one spinning guest can starve its thread.
    pub fn time_slice(mut self, slice: Option<Duration>) -> Self {
        self.time_slice = slice;
        self
    }

    /// How long a guest may compute without yielding before the runtime logs
    /// a warning (`tracing`, target `wactor::lag`, with the actor, the method
    /// when known, and the time), once per stretch (default
    /// [`DEFAULT_LAG_WARNING`], 100 ms). It is what blocks an async actor's
    /// other calls: Ray users' "event loop is blocked" detector. Needs time
    /// slicing ([`time_slice`](RuntimeBuilder::time_slice)).
    pub fn lag_warning(mut self, after: Duration) -> Self {
        self.lag_warning = after;
        self
    }

    /// Whether a new instance maps its initial linear memory copy-on-write
    /// from the compiled component (default: yes, as wasmtime does) rather
    /// than copying the data segments in.
    ///
    /// Copy-on-write shares the image's pages between instances, which
    /// matters for guests with megabytes of initial data (a Python guest's
    /// interpreter snapshot). Copying avoids a memory mapping per instance,
    /// and the cross-core TLB flush that comes with it, so small guests
    /// spawn faster with it off when many actors start at once (see
    /// `docs/benchmarks.md`).
    pub fn copy_on_write(mut self, enabled: bool) -> Self {
        self.copy_on_write = enabled;
        self
    }

    /// Builds the runtime.
    ///
    /// Inside a tokio runtime, actors run on that runtime; outside, the
    /// runtime starts a multi-threaded tokio runtime of its own.
    pub fn build(self) -> Result<Runtime> {
        let (engine, linker) = self.engine(true)?;

        let tokio = match tokio::runtime::Handle::try_current() {
            Ok(handle) => TokioRuntime::Borrowed(handle),
            Err(_) => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.enable_all().thread_name("wactor-worker");
                if let Some(n) = self.worker_threads {
                    builder.worker_threads(n);
                }
                let rt = builder
                    .build()
                    .map_err(|e| Error::Setup(format!("cannot start tokio: {e}")))?;
                TokioRuntime::Owned(Some(rt))
            }
        };

        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                sync: tokio::sync::OnceCell::new(),
                builder: self.clone(),
                cache: self.cache_dir.map(ComponentCache::new),
                tokio,
                next_actor: AtomicU64::new(1),
                task_pool_size: self
                    .task_pool_size
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
            }),
        })
    }
}

impl RuntimeBuilder {
    /// An engine and a linker with the host's functions.
    ///
    /// `concurrent`: with the component model's async ABI (`async func`
    /// exports and imports, `run_concurrent`), which async actors and drivers
    /// need. Without it, a sync call into a guest costs a quarter as much
    /// (0.48 µs instead of 1.64 µs here), so threaded actors that import no
    /// `async func` run on such an engine (see `ActorComponent::sync_variant`).
    pub(crate) fn engine(&self, concurrent: bool) -> Result<(Engine, Linker<ActorState>)> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .wasm_component_model_async(concurrent)
            .concurrency_support(concurrent)
            .epoch_interruption(self.time_slice.is_some());
        config.memory_init_cow(self.copy_on_write);
        if self.pooling {
            let n = self.max_instances;
            let mut pool = PoolingAllocationConfig::default();
            // A Rust guest is one component instance with a few core instances
            // (the module and wit-component's shims), one memory, a few tables.
            pool.total_component_instances(n)
                .total_core_instances(n.saturating_mul(4))
                .total_memories(n)
                .total_tables(n.saturating_mul(4))
                // A fiber stack per instance: a store keeps the stack of its
                // last async call for the next one (wasmtime has no public
                // way to hand it back), so every live instance holds one.
                // With fewer stacks than instances, a burst of spawns
                // trapped ("maximum concurrent limit ... for fibers").
                // Stacks are reserved address space; only the pages a guest
                // touches become resident.
                .total_stacks(n);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&config).map_err(|e| Error::Setup(format!("{e:#}")))?;
        if let Some(slice) = self.time_slice {
            start_epoch_ticker(&engine, slice)?;
        }
        let mut linker = Linker::new(&engine);
        bindings::add_to_linker(&mut linker, concurrent)
            .map_err(|e| Error::Setup(format!("{e:#}")))?;
        Ok((engine, linker))
    }
}

/// The engine for threaded actors (see [`RuntimeBuilder::engine`]), made
/// when the first one spawns.
pub(crate) struct SyncEngine {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<ActorState>,
}

/// The host of many actors: a wasmtime engine, the host functions actors may
/// import, a cache of compiled components, and the threads actors run on.
///
/// Cloning is cheap; clones share everything.
///
/// ```
/// # fn main() -> Result<(), wactor::Error> {
/// use wactor::{ActorOptions, Runtime};
///
/// let runtime = Runtime::new()?;
/// let counter = runtime.load(wactor_examples::COUNTER)?;
/// let actor = counter.spawn(ActorOptions::new().name("counter"))?;
/// let total: i64 = actor.call_typed("add", (5i64,))?.get(None)?;
/// assert_eq!(total, 5);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<ActorState>,
    /// The engine without the component model's async ABI, made on first
    /// use; `None` if it could not be made or would not fit (then
    /// everything runs on `engine`).
    sync: tokio::sync::OnceCell<Option<SyncEngine>>,
    /// The configuration, kept to make that engine like the first.
    pub(crate) builder: RuntimeBuilder,
    cache: Option<ComponentCache>,
    tokio: TokioRuntime,
    next_actor: AtomicU64,
    pub(crate) task_pool_size: usize,
}

enum TokioRuntime {
    Borrowed(tokio::runtime::Handle),
    Owned(Option<tokio::runtime::Runtime>),
}

impl Drop for TokioRuntime {
    fn drop(&mut self) {
        // `shutdown_background` never blocks, so dropping the last `Runtime`
        // is safe from async code too. Pending calls resolve with a shutdown
        // error as their promises are dropped.
        if let TokioRuntime::Owned(rt) = self
            && let Some(rt) = rt.take()
        {
            rt.shutdown_background();
        }
    }
}

impl Runtime {
    /// A runtime with the default configuration (see [`RuntimeBuilder`]).
    pub fn new() -> Result<Runtime> {
        RuntimeBuilder::default().build()
    }

    /// Starts configuring a runtime.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// Loads the component at `path`: compiles it (or reads it from the
    /// cache), links it against the host, and works out its actor kind and
    /// methods. Spawn any number of actors from the result.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<ActorComponent> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "actor".into());
        self.load_bytes(&name, &bytes)
            .map_err(|e| with_origin(e, &path.display().to_string()))
    }

    /// Loads a component from bytes; `name` names it in messages and is the
    /// prefix of its actors' default names.
    pub fn load_bytes(&self, name: &str, bytes: &[u8]) -> Result<ActorComponent> {
        check_is_component(name, bytes)?;
        let inner = &self.inner;
        let component =
            self.compile(&inner.engine, bytes)
                .map_err(|e| Error::InvalidComponent {
                    origin: name.to_string(),
                    reason: format!("{e:#}"),
                })?;
        ActorComponent::new(self.clone(), name, component, bytes)
    }

    /// A fresh actor number, for default names.
    pub(crate) fn next_actor_id(&self) -> u64 {
        self.inner.next_actor.fetch_add(1, Ordering::Relaxed)
    }

    /// The tokio runtime actors run on.
    pub(crate) fn tokio(&self) -> &tokio::runtime::Handle {
        match &self.inner.tokio {
            TokioRuntime::Borrowed(handle) => handle,
            TokioRuntime::Owned(rt) => rt.as_ref().expect("the runtime is alive").handle(),
        }
    }

    /// The engine for threaded actors, made on first use; `None` if the
    /// process cannot afford a second pool.
    pub(crate) async fn sync_engine(&self) -> Option<&SyncEngine> {
        self.inner
            .sync
            .get_or_init(|| async {
                let builder = self.inner.builder.clone();
                if builder.pooling && !map_budget_allows_two_pools(builder.max_instances) {
                    tracing::info!(
                        max_instances = builder.max_instances,
                        "threaded actors share the async engine: a second instance pool of this \
                         size would pass the kernel's limit on memory mappings (vm.max_map_count)"
                    );
                    return None;
                }
                let made = tokio::task::spawn_blocking(move || builder.engine(false))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|made| made.map_err(|e| e.to_string()));
                match made {
                    Ok((engine, linker)) => Some(SyncEngine { engine, linker }),
                    Err(e) => {
                        tracing::warn!("threaded actors stay on the async engine: {e}");
                        None
                    }
                }
            })
            .await
            .as_ref()
    }

    /// Compiles `bytes` for `engine`, through the on-disk cache if there is one.
    pub(crate) fn compile(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        match &self.inner.cache {
            Some(cache) => cache.load_or_compile(engine, bytes),
            None => Component::new(engine, bytes),
        }
    }

    /// The wasmtime engine, for embedders that want to inspect or share it.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }
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
        .map_err(|e| Error::Setup(format!("cannot start the epoch thread: {e}")))
}

/// Rejects what is not a component before handing it to the compiler, whose
/// message for a core module does not say what to do about it.
fn check_is_component(origin: &str, bytes: &[u8]) -> Result<()> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        let reason = if bytes.is_empty() {
            "the file is empty".to_string()
        } else {
            "it does not start with the WebAssembly magic bytes `\\0asm` (is it a text `.wat` file, or not wasm at all?)".to_string()
        };
        return Err(Error::InvalidComponent {
            origin: origin.to_string(),
            reason,
        });
    }
    // Bytes 6..8 are the layer: 0 for core modules, 1 for components.
    if bytes[6..8] == [0, 0] {
        return Err(Error::NotAComponent {
            origin: origin.to_string(),
        });
    }
    Ok(())
}

/// Replaces the bare name in a load error by the path the user gave.
fn with_origin(error: Error, path: &str) -> Error {
    match error {
        Error::InvalidComponent { reason, .. } => Error::InvalidComponent {
            origin: path.to_string(),
            reason,
        },
        Error::NotAComponent { .. } => Error::NotAComponent {
            origin: path.to_string(),
        },
        Error::Unsupported { reason, .. } => Error::Unsupported {
            origin: path.to_string(),
            reason,
        },
        other => other,
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field(
                "cache",
                &self.inner.cache.as_ref().map(|c| c.dir().to_path_buf()),
            )
            .finish_non_exhaustive()
    }
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

    use super::*;

    #[test]
    fn core_modules_and_garbage_are_told_apart() {
        let core = b"\0asm\x01\0\0\0";
        assert!(matches!(
            check_is_component("m", core),
            Err(Error::NotAComponent { .. })
        ));
        assert!(matches!(
            check_is_component("m", b"(module)"),
            Err(Error::InvalidComponent { .. })
        ));
        let component = b"\0asm\x0d\0\x01\0";
        assert!(check_is_component("c", component).is_ok());
    }
}
