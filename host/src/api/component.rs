//! [`ActorComponent`]: a loaded component, ready to spawn actors from.
//!
//! The kind is decided at load, once, from the exports, following Ray: a
//! class with any `async def` is an async actor; one with none is a threaded
//! actor. What a component knows of itself is here; spawning actors from
//! it, which needs [`ActorOptions`](crate::ActorOptions), is in `spawn.rs`.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use wasmtime::component::Val;

use super::directory::Directory;
use crate::actor::{ActorHandle, Executor};
use crate::call::{ActorKind, Method};
use crate::engine::CompiledComponent;
use crate::error::Result;
use crate::guest::Role;

/// A compiled, linked component, ready to spawn actors from. Cheap to clone.
///
/// ```
/// # fn main() -> Result<(), wactor::Error> {
/// let runtime = wactor::Runtime::new()?;
/// let component = runtime.load(wactor_examples::ASYNC_ACTOR)?;
/// assert_eq!(component.kind(), wactor::ActorKind::Async);
/// let run_task = component.method("run-task").unwrap();
/// assert_eq!(run_task.signature(), "async func(millis: u64) -> u32");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ActorComponent {
    pub(crate) inner: Arc<ComponentInner>,
}

pub(crate) struct ComponentInner {
    pub(crate) compiled: Arc<CompiledComponent>,
    /// The threads its actors run on (kept by each actor too).
    pub(crate) executor: Arc<Executor>,
    /// The size of its task pool, if it is sync-only.
    pub(crate) task_pool_size: usize,
    /// The actor that runs this component's stateless tasks, spawned on the
    /// first `submit` and again after it dies. Its instances hold this
    /// component only weakly, so the pool cannot keep the component (and
    /// itself) alive: it stops when the component is dropped.
    pub(crate) task_pool: Mutex<Option<ActorHandle>>,
    /// Its runtime's named actors and cluster.
    pub(crate) directory: Arc<Directory>,
    /// The SHA-256 of its bytes (hex), when its runtime is in a cluster:
    /// components travel between nodes by this hash.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))] // the cluster's
    pub(crate) hash: Option<Arc<str>>,
}

/// How an actor's instances hold the component they may spawn more of.
#[derive(Clone)]
pub(crate) enum OwnComponent {
    /// Strongly: an actor keeps its component while it lives.
    Strong(ActorComponent),
    /// Weakly: the component's own task pool, which the component holds.
    Weak(Weak<ComponentInner>),
}

impl OwnComponent {
    pub(crate) fn get(&self) -> Option<ActorComponent> {
        match self {
            OwnComponent::Strong(c) => Some(c.clone()),
            OwnComponent::Weak(w) => w.upgrade().map(|inner| ActorComponent { inner }),
        }
    }
}

impl ActorComponent {
    pub(crate) fn new(
        compiled: Arc<CompiledComponent>,
        executor: Arc<Executor>,
        task_pool_size: usize,
        directory: Arc<Directory>,
        hash: Option<Arc<str>>,
    ) -> Self {
        ActorComponent {
            inner: Arc::new(ComponentInner {
                compiled,
                executor,
                task_pool_size,
                task_pool: Mutex::new(None),
                directory,
                hash,
            }),
        }
    }

    /// The SHA-256 of its bytes, in hex, if its runtime is in a cluster.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))] // the cluster's
    pub(crate) fn hash(&self) -> Option<&Arc<str>> {
        self.inner.hash.as_ref()
    }

    /// The method table its actors are called through.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))] // the cluster's
    pub(crate) fn method_table(&self) -> &Arc<crate::call::MethodTable> {
        &self.inner.compiled.methods
    }

    /// The component's name (its file stem, or the name given to
    /// [`Runtime::load_bytes`](crate::Runtime::load_bytes)).
    pub fn name(&self) -> &str {
        &self.inner.compiled.name
    }

    /// How its actors are scheduled.
    pub fn kind(&self) -> ActorKind {
        self.inner.compiled.methods.kind()
    }

    /// Its methods, in export order.
    pub fn methods(&self) -> impl ExactSizeIterator<Item = &Method> {
        self.inner.compiled.methods.iter()
    }

    /// Whether its instances map their initial memory copy-on-write from
    /// the compiled component, rather than copying its data in: as the
    /// runtime's [`MemoryInit`](crate::MemoryInit) chose by its size.
    ///
    /// ```
    /// # fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// // 128 bytes of data segments: copied by default.
    /// assert!(!runtime.load(wactor_examples::COUNTER)?.copy_on_write());
    /// # Ok(()) }
    /// ```
    pub fn copy_on_write(&self) -> bool {
        self.inner.compiled.copy_on_write
    }

    /// The names of the interfaces and functions it imports from the host.
    pub fn imports(&self) -> &[String] {
        &self.inner.compiled.imports
    }

    /// The method called `name`. A function of an exported interface may be
    /// named by its bare function name when no other method has that name.
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.inner.compiled.methods.find(name)
    }

    /// Reads a call written as for `wasmtime run --invoke`: the method's
    /// name, then its arguments in WAVE (`run-task(1000)`; a method without
    /// parameters may be named alone).
    ///
    /// # Errors
    ///
    /// [`Error::UnknownMethod`](crate::Error::UnknownMethod) (listing the methods there are), or
    /// [`Error::BadArguments`](crate::Error::BadArguments) with where the arguments stopped parsing.
    ///
    /// ```
    /// # fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let component = runtime.load(wactor_examples::ASYNC_ACTOR)?;
    /// let (method, args) = component.parse_invoke("run-task(1000)")?;
    /// assert_eq!((method.name(), args), ("run-task", vec![wactor::Val::U64(1000)]));
    /// assert!(component.parse_invoke("nope()").is_err());
    /// # Ok(()) }
    /// ```
    pub fn parse_invoke(&self, text: &str) -> Result<(&Method, Vec<Val>)> {
        self.inner.compiled.methods.parse_invoke(self.name(), text)
    }

    /// The component's `wasi:cli/run` export, if it is a program.
    pub fn command_entry(&self) -> Option<&Method> {
        self.inner.compiled.methods.command_entry()
    }

    /// The role of this component's actors.
    pub(crate) fn role(&self) -> Role {
        match self.kind() {
            ActorKind::Async => Role::AsyncActor,
            ActorKind::Threaded => Role::ThreadedActor,
        }
    }
}

impl fmt::Debug for ActorComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorComponent")
            .field("name", &self.name())
            .field("kind", &self.kind())
            .field(
                "methods",
                &self.methods().map(Method::name).collect::<Vec<_>>(),
            )
            .finish()
    }
}
