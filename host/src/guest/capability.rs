//! Host capabilities: imports an embedder adds for its actors.
//!
//! A capability follows the lifecycle of a Spin factor:
//!
//! 1. **configure**: [`Capability::add_to_linker`] defines its imports, once
//!    per engine of the runtime ([`EngineKind`]: the concurrent engine of
//!    async actors and programs, and the engine of threaded actors, which
//!    cannot host `async func` imports);
//! 2. **prepare**: [`Capability::prepare`] makes its state for each new
//!    instance, from what it may know of the actor ([`ActorInfo`], with
//!    the embedder's typed per-actor data);
//! 3. **run**: its host functions find that state through
//!    [`ActorState::capability`].
//!
//! wactor's own imports (`wactor:runtime`, WASI) are set up the same way,
//! before the embedder's.

use std::any::{Any, TypeId};
use std::sync::Arc;

use wasmtime::component::Linker;

use super::state::{ActorState, CapabilityStates};
use crate::call::ActorKind;
use crate::ids::ActorId;

/// Which of a runtime's two engines a linker belongs to.
///
/// Async actors and programs run on the **concurrent** engine, which has
/// the component model's async ABI (`async func` imports and exports).
/// Threaded actors run on the **sync** engine, where a call into a guest
/// costs a quarter as much but `async func` imports cannot be defined: a
/// component that imports one runs on the concurrent engine instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EngineKind {
    /// With the component model's async ABI.
    Concurrent,
    /// Without it.
    Sync,
}

impl EngineKind {
    /// Whether `async func` imports may be defined on this engine's linker
    /// (`func_wrap_concurrent`).
    pub fn supports_async_imports(self) -> bool {
        self == EngineKind::Concurrent
    }
}

/// What a capability may know of the actor an instance belongs to.
#[derive(Debug)]
pub struct ActorInfo<'a> {
    pub(crate) id: ActorId,
    pub(crate) name: &'a str,
    pub(crate) component: &'a str,
    pub(crate) kind: ActorKind,
    pub(crate) data: Option<&'a (dyn Any + Send + Sync)>,
}

impl ActorInfo<'_> {
    /// The actor's id.
    pub fn id(&self) -> ActorId {
        self.id
    }

    /// The actor's name.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The name of the component it runs.
    pub fn component(&self) -> &str {
        self.component
    }

    /// How its calls are scheduled.
    pub fn kind(&self) -> ActorKind {
        self.kind
    }

    /// The embedder's data given to the actor with
    /// [`ActorOptions::data`](crate::ActorOptions::data), if it is a `T`.
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.data?.downcast_ref()
    }
}

/// A set of host imports an embedder gives actors, with state per instance.
/// Register it with [`RuntimeBuilder::capability`](crate::RuntimeBuilder::capability).
///
/// ```
/// # fn main() -> Result<(), wactor::Error> {
/// use wactor::{ActorInfo, ActorOptions, ActorState, Capability, EngineKind, GuestOutput};
/// use wasmtime::StoreContextMut;
/// use wasmtime::component::Linker;
///
/// /// `wactor-examples:host/greetings`: `greeting(name) -> string`.
/// struct Greetings;
///
/// /// The salutation of one actor, chosen by the embedder at spawn.
/// struct Salutation(&'static str);
///
/// impl Capability for Greetings {
///     /// How many greetings this instance asked for.
///     type InstanceState = u32;
///
///     fn add_to_linker(
///         &self,
///         linker: &mut Linker<ActorState>,
///         _engine: EngineKind,
///     ) -> wasmtime::Result<()> {
///         linker.instance("wactor-examples:host/greetings")?.func_wrap(
///             "greeting",
///             |mut store: StoreContextMut<'_, ActorState>, (name,): (String,)| {
///                 let salutation = store.data().data::<Salutation>().map_or("hello", |s| s.0);
///                 let count = store.data_mut().capability::<Greetings>().expect("prepared");
///                 *count += 1;
///                 Ok((format!("{salutation}, {name} (#{count})"),))
///             },
///         )
///     }
///
///     fn prepare(&self, _actor: &ActorInfo<'_>) -> wasmtime::Result<u32> {
///         Ok(0)
///     }
/// }
///
/// let runtime = wactor::Runtime::builder().capability(Greetings).build()?;
/// let greeter = runtime.load(wactor_examples::GREETER)?;
/// let actor = greeter.spawn(ActorOptions::new().data(Salutation("good day")))?;
/// let text: String = actor.call_typed("greet", ("Ray",))?.get(None)?;
/// assert_eq!(text, "good day, Ray (#1)");
/// # Ok(()) }
/// ```
pub trait Capability: Send + Sync + 'static {
    /// This capability's state in one instance.
    type InstanceState: Send + 'static;

    /// Configure: defines the capability's imports on the linker of one of
    /// the runtime's engines. Called once per engine. On
    /// [`EngineKind::Sync`], define no `async func` imports: leave them out,
    /// and components that import them run on the concurrent engine.
    ///
    /// # Errors
    ///
    /// Whatever the linker refused; the runtime fails to build with it.
    fn add_to_linker(
        &self,
        linker: &mut Linker<ActorState>,
        engine: EngineKind,
    ) -> wasmtime::Result<()>;

    /// Prepare: the state of one new instance of `actor` (an async actor
    /// has one instance; a threaded actor one per pool slot, and every
    /// restart makes a new one).
    ///
    /// # Errors
    ///
    /// An error fails the instance: the actor dies with
    /// [`DeathCause::Instantiation`](crate::DeathCause::Instantiation).
    fn prepare(&self, actor: &ActorInfo<'_>) -> wasmtime::Result<Self::InstanceState>;
}

/// A [`Capability`] with its state type erased, as the runtime keeps it.
trait ErasedCapability: Send + Sync {
    fn add_to_linker(
        &self,
        linker: &mut Linker<ActorState>,
        engine: EngineKind,
    ) -> wasmtime::Result<()>;
    fn prepare(&self, actor: &ActorInfo<'_>) -> wasmtime::Result<Box<dyn Any + Send>>;
    fn key(&self) -> TypeId;
    fn type_name(&self) -> &'static str;
}

impl<C: Capability> ErasedCapability for C {
    fn add_to_linker(
        &self,
        linker: &mut Linker<ActorState>,
        engine: EngineKind,
    ) -> wasmtime::Result<()> {
        Capability::add_to_linker(self, linker, engine)
    }

    fn prepare(&self, actor: &ActorInfo<'_>) -> wasmtime::Result<Box<dyn Any + Send>> {
        Ok(Box::new(Capability::prepare(self, actor)?))
    }

    fn key(&self) -> TypeId {
        TypeId::of::<C>()
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<C>()
    }
}

/// The capabilities of a runtime, in the order they were added.
#[derive(Clone, Default)]
pub(crate) struct Capabilities(Vec<Arc<dyn ErasedCapability>>);

impl Capabilities {
    /// Adds `capability`, replacing one of the same type.
    pub(crate) fn add<C: Capability>(&mut self, capability: C) {
        self.0.retain(|c| c.key() != TypeId::of::<C>());
        self.0.push(Arc::new(capability));
    }

    /// Configure: every capability's imports on `linker`.
    pub(crate) fn add_to_linker(
        &self,
        linker: &mut Linker<ActorState>,
        engine: EngineKind,
    ) -> wasmtime::Result<()> {
        for capability in &self.0 {
            capability.add_to_linker(linker, engine).map_err(|e| {
                e.context(format!(
                    "capability {} could not define its imports",
                    capability.type_name()
                ))
            })?;
        }
        Ok(())
    }

    /// Prepare: every capability's state for a new instance of `actor`.
    pub(crate) fn prepare(&self, actor: &ActorInfo<'_>) -> Result<CapabilityStates, String> {
        let mut states = CapabilityStates::default();
        for capability in &self.0 {
            let state = capability.prepare(actor).map_err(|e| {
                format!(
                    "capability {} refused the instance: {e:#}",
                    capability.type_name()
                )
            })?;
            states.insert(capability.key(), state);
        }
        Ok(states)
    }
}

impl ActorState {
    /// This instance's state of capability `C`, made by its
    /// [`prepare`](Capability::prepare); `None` if the runtime does not have
    /// the capability.
    pub fn capability<C: Capability>(&mut self) -> Option<&mut C::InstanceState> {
        self.capabilities.get_mut(TypeId::of::<C>())
    }
}

impl std::fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|c| c.type_name()))
            .finish()
    }
}
