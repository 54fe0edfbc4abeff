//! The [`Runtime`]: the engines, the compiled-component cache and the
//! threads actors run on; [`RuntimeBuilder`] configures it.
//!
//! Everything expensive happens once per runtime or once per component:
//! the engine and linker are built at [`RuntimeBuilder::build`], a component
//! is compiled (or read from the on-disk cache) and linked at
//! [`Runtime::load`], and spawning an actor only instantiates it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::component::ActorComponent;
use super::directory::{Directory, NodeEvent, Placer};
use crate::actor::{ActorHandle, Executor};
use crate::engine::{
    CompiledComponent, DEFAULT_LAG_WARNING, DEFAULT_TIME_SLICE, EngineSettings, Engines, MemoryInit,
};
use crate::error::{Error, Result};
use crate::guest::{Capabilities, Capability, default_max_memory};

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
    thread_per_core: Option<bool>,
    task_pool_size: Option<usize>,
    time_slice: Option<Duration>,
    lag_warning: Duration,
    memory_init: MemoryInit,
    max_component_size: u64,
    max_memory: usize,
    max_value_size: usize,
    capabilities: Capabilities,
    metrics: bool,
    timeline: Option<crate::observe::Timeline>,
    pub(crate) cluster: Option<ClusterSettings>,
}

/// How a runtime joins a cluster ([`RuntimeBuilder::nats`]).
#[derive(Clone)]
pub(crate) struct ClusterSettings {
    pub(crate) url: String,
    pub(crate) name: Option<String>,
    pub(crate) serve: bool,
    pub(crate) on_event: Option<Arc<dyn Fn(NodeEvent) + Send + Sync>>,
    /// Joins the cluster: set by `RuntimeBuilder::nats`, in the cluster
    /// layer (which sits above this one).
    pub(crate) join: Option<JoinCluster>,
}

/// How [`RuntimeBuilder::build`] joins a cluster.
pub(crate) type JoinCluster = fn(&Runtime, &ClusterSettings) -> Result<Arc<dyn Placer>>;

impl std::fmt::Debug for ClusterSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSettings")
            .field("url", &self.url)
            .field("name", &self.name)
            .field("serve", &self.serve)
            .finish_non_exhaustive()
    }
}

/// The default [`RuntimeBuilder::max_value_size`]: 4 MiB. A call's
/// arguments are held decoded, as wasmtime `Val`s, which for a list of
/// small items take up to ~40 times the JSON's bytes while they are read.
const DEFAULT_MAX_VALUE_SIZE: usize = 4 << 20;

/// The default [`RuntimeBuilder::max_component_size`]: 256 MiB (a Python
/// component is about 18 MiB).
const DEFAULT_MAX_COMPONENT_SIZE: u64 = 256 << 20;

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            pooling: true,
            max_instances: 1000,
            cache_dir: default_cache_dir(),
            worker_threads: None,
            thread_per_core: None,
            task_pool_size: None,
            time_slice: Some(DEFAULT_TIME_SLICE),
            lag_warning: DEFAULT_LAG_WARNING,
            memory_init: MemoryInit::default(),
            max_component_size: DEFAULT_MAX_COMPONENT_SIZE,
            max_memory: default_max_memory(),
            max_value_size: DEFAULT_MAX_VALUE_SIZE,
            capabilities: Capabilities::default(),
            metrics: false,
            timeline: None,
            cluster: None,
        }
    }
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

    /// The number of worker threads the runtime starts for its actors
    /// (default: one per core). Ignored when actors run on the tokio
    /// runtime the runtime was built in (see [`thread_per_core`](Self::thread_per_core)).
    pub fn worker_threads(mut self, count: usize) -> Self {
        self.worker_threads = Some(count.max(1));
        self
    }

    /// Where actors run. `true`: on worker threads of the runtime's own,
    /// each with an event loop of its own, an actor staying on the one it
    /// was placed on (an actor a guest spawns shares its spawner's worker
    /// while that worker has no more than one actor over the least loaded
    /// one). Calls between actors of one worker, and from tasks started
    /// there with [`Runtime::spawn`], then never wake another thread.
    /// `false`: as tasks of a work-stealing tokio runtime, the one the
    /// runtime is built in (or one of its own outside any).
    ///
    /// The default is `true` outside a tokio runtime and `false` inside
    /// one, where the embedder's tasks are the callers: a call from another
    /// thread to a worker that sleeps has to wake it, which costs more than
    /// a trivial call. `docs/benchmarks.md` has the figures both ways.
    ///
    /// ```
    /// # fn main() -> wactor::Result<()> {
    /// let runtime = wactor::Runtime::builder()
    ///     .thread_per_core(true)
    ///     .worker_threads(2)
    ///     .build()?;
    /// # drop(runtime);
    /// # Ok(())
    /// # }
    /// ```
    pub fn thread_per_core(mut self, on: bool) -> Self {
        self.thread_per_core = Some(on);
        self
    }

    /// Adds a [`Capability`]: imports of the embedder's that every actor of
    /// the runtime may use, with state per instance (see its docs for an
    /// example). Adding a capability of a type already added replaces it.
    pub fn capability(mut self, capability: impl Capability) -> Self {
        self.capabilities.add(capability);
        self
    }

    /// The most linear memory (and tables) all actors of the runtime may
    /// use together, in bytes (default: three quarters of the machine's
    /// physical memory). An instance that would grow past it traps with
    /// "memory limit exceeded", naming this limit, as past its own
    /// [`ActorOptions::memory_limit`](crate::ActorOptions::memory_limit);
    /// an instance gives its share back when it goes.
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// The most bytes of JSON one value may have between a guest and the
    /// host (default 4 MiB): the arguments of a guest's `actor.call` or
    /// `submit`, a `put`, a result a guest gets. A larger one is refused
    /// before any work is done on it, with
    /// [`Error::QuotaExceeded`](crate::Error::QuotaExceeded) (in the guest,
    /// `overloaded`), so the host spends no time or memory on it.
    pub fn max_value_size(mut self, bytes: usize) -> Self {
        self.max_value_size = bytes;
        self
    }

    /// Reports calls, actors and the instance pool through the [`metrics`]
    /// facade (off by default; off, calls pay nothing for it). The library
    /// installs no exporter: install a recorder first (e.g.
    /// `metrics-exporter-prometheus`, as `wactor --metrics` does), since
    /// metric handles are made when a component loads. Calls are counted
    /// and timed in the library and reach the recorder once a second
    /// (handing the recorder each call would cost a quarter of the call
    /// rate); gauges and deaths reach it at once. The metrics and their labels are listed in
    /// `docs/ray-api.md`.
    ///
    /// ```
    /// let runtime = wactor::Runtime::builder().metrics(true).build()?;
    /// # Ok::<(), wactor::Error>(())
    /// ```
    pub fn metrics(mut self, on: bool) -> Self {
        self.metrics = on;
        self
    }

    /// Writes every call to `timeline` (a Chrome-trace file Perfetto opens;
    /// Ray's `ray timeline`). See [`Timeline`](crate::Timeline).
    pub fn timeline(mut self, timeline: crate::observe::Timeline) -> Self {
        self.timeline = Some(timeline);
        self
    }

    /// The largest component file [`Runtime::load`] reads, in bytes
    /// (default 256 MiB); a larger one is refused before it is read.
    pub fn max_component_size(mut self, bytes: u64) -> Self {
        self.max_component_size = bytes;
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

    /// How a new instance's linear memory gets the component's initial
    /// data (default [`MemoryInit::BySize`] with [`DEFAULT_COPY_UP_TO`]:
    /// copied for components with up to 256 KiB of data segments, mapped
    /// copy-on-write above).
    ///
    /// Copy-on-write shares the image's pages between instances, which
    /// matters for guests with megabytes of initial data (a Python guest's
    /// interpreter snapshot). Copying avoids a memory mapping per instance,
    /// and the cross-core TLB flushes that come with it, so small guests
    /// spawn faster copied (see `docs/benchmarks.md`). Under `BySize` the
    /// runtime keeps an engine for each way, made when a component needs
    /// it.
    ///
    /// [`DEFAULT_COPY_UP_TO`]: crate::DEFAULT_COPY_UP_TO
    pub fn memory_init(mut self, init: MemoryInit) -> Self {
        self.memory_init = init;
        self
    }

    /// Shorthand for [`memory_init`](Self::memory_init):
    /// [`MemoryInit::CopyOnWrite`] for every component if `enabled`, else
    /// [`MemoryInit::Copy`].
    pub fn copy_on_write(self, enabled: bool) -> Self {
        self.memory_init(if enabled {
            MemoryInit::CopyOnWrite
        } else {
            MemoryInit::Copy
        })
    }

    /// The runtime's name in its cluster (see `nats`); default
    /// `<host>-<pid>`. Pins ([`Placement::Node`](crate::Placement::Node))
    /// and errors name nodes by it.
    pub fn node_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_settings().name = Some(name.into());
        self
    }

    /// Whether peers in the cluster may place actors in this runtime
    /// (default `true`, as for `wactor node`; `wactor run --nats` says
    /// `false`: a program's runtime runs the program and places its
    /// actors on the nodes).
    pub fn serve_actors(mut self, serve: bool) -> Self {
        self.cluster_settings().serve = serve;
        self
    }

    /// Calls `sink` for each actor this runtime starts for a peer, and
    /// each that dies (what `wactor node` prints).
    pub fn on_node_event(mut self, sink: impl Fn(NodeEvent) + Send + Sync + 'static) -> Self {
        self.cluster_settings().on_event = Some(Arc::new(sink));
        self
    }

    pub(crate) fn cluster_settings(&mut self) -> &mut ClusterSettings {
        self.cluster.get_or_insert_with(|| ClusterSettings {
            url: String::new(),
            name: None,
            serve: true,
            on_event: None,
            join: None,
        })
    }

    /// Builds the runtime.
    ///
    /// Inside a tokio runtime, actors run on that runtime; outside, the
    /// runtime starts worker threads of its own, one per core (see
    /// [`thread_per_core`](Self::thread_per_core)), which stop when the last
    /// handle of the runtime, its components and its actors is dropped.
    ///
    /// # Errors
    ///
    /// [`Error::Setup`] if the engine (e.g. its instance pool), a
    /// capability's imports or the threads cannot be set up.
    pub fn build(self) -> Result<Runtime> {
        let executor = Executor::new(self.thread_per_core, self.worker_threads)
            .map_err(|e| Error::setup("the tokio runtime", Arc::new(e)))?;
        let settings = EngineSettings {
            pooling: self.pooling,
            max_instances: self.max_instances,
            time_slice: self.time_slice,
            lag_warning: self.lag_warning,
            memory_init: self.memory_init,
            max_memory: self.max_memory,
            max_value_size: self.max_value_size,
            metrics: self.metrics,
            timeline: self.timeline,
        };
        let engines = Engines::new(settings, self.capabilities, self.cache_dir.as_deref())?;
        let runtime = Runtime {
            inner: Arc::new(RuntimeInner {
                engines: Arc::new(engines),
                executor: Arc::new(executor),
                task_pool_size: self
                    .task_pool_size
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from)),
                max_component_size: self.max_component_size,
                directory: Arc::default(),
            }),
        };
        if self.metrics {
            start_sampler(&runtime);
        }
        if let Some(cluster) = &self.cluster {
            let join = cluster.join.ok_or_else(|| Error::InvalidOption {
                option: "nats",
                reason: "cluster settings were given, but no NATS URL to join \
                         (RuntimeBuilder::nats)"
                    .into(),
            })?;
            let placer = join(&runtime, cluster)?;
            runtime.inner.directory.join(placer);
        }
        Ok(runtime)
    }
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
    pub(crate) engines: Arc<Engines>,
    pub(crate) executor: Arc<Executor>,
    pub(crate) task_pool_size: usize,
    pub(crate) max_component_size: u64,
    pub(crate) directory: Arc<Directory>,
}

impl Runtime {
    /// A runtime with the default configuration (see [`RuntimeBuilder`]).
    ///
    /// # Errors
    ///
    /// As for [`RuntimeBuilder::build`].
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
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be read; [`Error::InvalidComponent`]
    /// if it is not a regular file (a FIFO, a device such as `/dev/zero`)
    /// or is larger than [`max_component_size`](RuntimeBuilder::max_component_size),
    /// checked before it is read; otherwise as for
    /// [`load_bytes`](Runtime::load_bytes), with the path as the origin.
    pub fn load(&self, path: impl AsRef<Path>) -> Result<ActorComponent> {
        let path = path.as_ref();
        let bytes = read_component_file(path, self.inner.max_component_size)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "actor".into());
        self.load_bytes(&name, &bytes)
            .map_err(|e| with_origin(e, &path.display().to_string()))
    }

    /// Loads a component from bytes; `name` names it in messages and is the
    /// prefix of its actors' default names.
    ///
    /// # Errors
    ///
    /// [`Error::NotAComponent`] for a core module, [`Error::InvalidComponent`]
    /// for bytes that are not a valid component, [`Error::Unsupported`] for
    /// a component that imports what the host does not provide.
    pub fn load_bytes(&self, name: &str, bytes: &[u8]) -> Result<ActorComponent> {
        // The name prefixes every default actor name, and so errors and
        // labelled output: no control characters, and not unbounded.
        let name = crate::value::escape_controls(name);
        let name = crate::value::abbreviate(&name, 200);
        let name = name.as_ref();
        check_is_component(name, bytes)?;
        let compiled = CompiledComponent::load(self.inner.engines.clone(), name, bytes)?;
        // In a cluster, peers may ask for the bytes by their hash.
        let hash = self.inner.directory.cluster().map(|cluster| {
            let hash = crate::engine::content_hash(bytes);
            cluster.keep_source(&hash, Arc::from(bytes));
            Arc::from(hash)
        });
        Ok(ActorComponent::new(
            Arc::new(compiled),
            self.inner.executor.clone(),
            self.inner.task_pool_size,
            self.inner.directory.clone(),
            hash,
        ))
    }

    /// The live actor spawned with `name` ([`ActorOptions::name`](crate::ActorOptions::name)),
    /// in this runtime or, once it joined a cluster, on any node. Ray's
    /// `ray.get_actor(name)`. In a cluster this waits for one round trip
    /// to the nodes (and, the first time a component is seen, for its
    /// bytes and their compilation): call it from a thread that may block.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchActor`] if no live actor has the name;
    /// [`Error::Unavailable`] if the cluster cannot be reached.
    ///
    /// ```
    /// # fn main() -> Result<(), wactor::Error> {
    /// use wactor::{ActorOptions, Runtime};
    /// let runtime = Runtime::new()?;
    /// let counter = runtime.load(wactor_examples::COUNTER)?;
    /// let _a = counter.spawn(ActorOptions::new().name("tally"))?;
    /// let found = runtime.get_actor("tally")?;
    /// assert_eq!(found.call_typed::<i64>("add", (2i64,))?.get(None)?, 2);
    /// assert!(counter.spawn(ActorOptions::new().name("tally")).is_err());
    /// assert!(runtime.get_actor("nobody").is_err());
    /// # Ok(()) }
    /// ```
    pub fn get_actor(&self, name: &str) -> Result<ActorHandle> {
        self.inner.directory.get(name)
    }

    /// The wasmtime engine of async actors, for embedders that want to
    /// inspect or share it. (Under [`MemoryInit::BySize`], async actors of
    /// components with large images run on its copy-on-write twin.)
    pub fn engine(&self) -> &wasmtime::Engine {
        &self.inner.engines.concurrent().engine
    }

    /// Runs `task` on the threads actors run on, where an actor spawned
    /// now would go, and returns its handle. With
    /// [`thread_per_core`](RuntimeBuilder::thread_per_core), a task that
    /// makes many calls is best run here: actors it spawns go to its own
    /// worker (while that worker has no more than its share), and a call
    /// to an actor on the same worker wakes no other thread.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use wasmtime::component::Val;
    ///
    /// let runtime = wactor::Runtime::builder().thread_per_core(true).build()?;
    /// let counter = runtime.load(wactor_examples::COUNTER)?;
    /// let total = runtime
    ///     .spawn(async move {
    ///         // Spawned here, the actor shares this task's worker.
    ///         let actor = counter.spawn(wactor::ActorOptions::new())?;
    ///         for _ in 0..9 {
    ///             actor.call("add", vec![Val::S64(1)])?.await?;
    ///         }
    ///         actor.call("add", vec![Val::S64(1)])?.await
    ///     })
    ///     .await??;
    /// assert_eq!(total, Val::S64(10));
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.executor.spawn(task)
    }
}

/// `$WACTOR_CACHE_DIR`, else `$XDG_CACHE_HOME/wactor`, else `~/.cache/wactor`.
/// Unit tests use a cache of their own under the system's temporary
/// directory, never the user's.
#[cfg(not(test))]
fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("WACTOR_CACHE_DIR") {
        return Some(dir.into());
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(Path::new(&dir).join("wactor"));
    }
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache").join("wactor"))
}

#[cfg(test)]
fn default_cache_dir() -> Option<PathBuf> {
    Some(std::env::temp_dir().join("wactor-unit-test-cache"))
}

/// The bytes of the component file at `path`: a regular file of at most
/// `limit` bytes, checked before reading (so `/dev/zero`, a FIFO or a huge
/// file is refused at once), and read no further than `limit` even if it
/// grows meanwhile.
fn read_component_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let io = |e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source: Arc::new(e),
    };
    let refuse = |reason: String| Error::InvalidComponent {
        origin: path.display().to_string(),
        reason,
        source: None,
    };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(refuse(
            "it is not a regular file (a directory, a FIFO or a device): components are read \
             from files"
                .into(),
        ));
    }
    let too_big = |size: u64| {
        refuse(format!(
            "it is {size} bytes, more than the {limit} a component may have \
             (RuntimeBuilder::max_component_size, wactor run --max-component-size)"
        ))
    };
    if metadata.len() > limit {
        return Err(too_big(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    std::fs::File::open(path)
        .map_err(io)?
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Rejects what is not a component before handing it to the compiler, whose
/// message for a core module does not say what to do about it.
fn check_is_component(origin: &str, bytes: &[u8]) -> Result<()> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        let reason = if bytes.is_empty() {
            "the file is empty".to_string()
        } else {
            "it does not start with the WebAssembly magic bytes `\\0asm` (is it a text `.wat` \
             file, or not wasm at all?)"
                .to_string()
        };
        return Err(Error::InvalidComponent {
            origin: origin.to_string(),
            reason,
            source: None,
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
        Error::InvalidComponent { reason, source, .. } => Error::InvalidComponent {
            origin: path.to_string(),
            reason,
            source,
        },
        Error::NotAComponent { .. } => Error::NotAComponent {
            origin: path.to_string(),
        },
        Error::Unsupported { reason, source, .. } => Error::Unsupported {
            origin: path.to_string(),
            reason,
            source,
        },
        other => other,
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("cache", &self.inner.engines.cache_dir())
            .finish_non_exhaustive()
    }
}

/// How often the sampled gauges are set.
const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// Sets the sampled gauges every [`SAMPLE_PERIOD`] while the runtime lives:
/// queue depths, the pooling allocators, and how late a timer fires on the
/// runtime's threads (their event-loop lag).
fn start_sampler(runtime: &Runtime) {
    let engines = Arc::downgrade(&runtime.inner.engines);
    runtime.inner.executor.spawn(async move {
        let metrics = crate::observe::RuntimeMetrics::new();
        let probe = Duration::from_millis(100);
        loop {
            let asked = std::time::Instant::now();
            tokio::time::sleep(probe).await;
            metrics.set_lag(asked.elapsed().saturating_sub(probe));
            let Some(engines) = engines.upgrade() else {
                return;
            };
            engines.sample(&metrics);
            drop(engines);
            tokio::time::sleep(SAMPLE_PERIOD - probe).await;
        }
    });
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn unit_tests_never_use_the_users_compile_cache() {
        let dir = RuntimeBuilder::default().cache_dir.unwrap();
        assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
    }
}
