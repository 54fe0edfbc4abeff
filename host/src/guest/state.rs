//! [`ActorState`]: the data of each instance's `Store`, and what the layers
//! above hand it (its configuration, and the [`Spawner`] through which a
//! guest reaches other components).

use std::any::{Any, TypeId};
use std::sync::{Arc, Weak};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
#[cfg(feature = "http")]
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::dirs::Preopen;
#[cfg(feature = "http")]
use super::http::HttpHooks;
use super::net::NetPolicy;
use super::output::{GuestOutput, Stream};
use super::sandbox::{LagWatch, MemoryBudget, SharedBudget};
use crate::actor::{ActorHandle, ActorShared};
use crate::call::Mailbox;
use crate::error::Result;
use crate::ids::ActorId;
use crate::object_ref::{ByteQuota, Charge, ObjectRef};

/// What kind of code runs in an instance; decides what may block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An async actor: all its calls share one event loop, so nothing may
    /// block it.
    AsyncActor,
    /// One instance of a threaded actor: blocking stalls only this instance.
    ThreadedActor,
    /// A `wasi:cli/run` driver program: sync code that may block.
    Driver,
}

/// What a guest spawning an actor may choose (`wactor:runtime/types.actor-options`).
#[derive(Debug, Clone, Default)]
pub(crate) struct SpawnRequest {
    pub(crate) name: Option<String>,
    pub(crate) max_concurrency: Option<u32>,
    pub(crate) max_pending_calls: Option<u32>,
    pub(crate) memory_limit: Option<u64>,
    pub(crate) call_deadline_ms: Option<u64>,
    pub(crate) node: Option<String>,
    pub(crate) max_restarts: Option<i64>,
    pub(crate) max_task_retries: Option<i64>,
    pub(crate) concurrency_groups: Vec<crate::actor::GroupSpec>,
}

/// What a guest may ask of the runtime beyond its own instance: actors of
/// other components, and tasks on their pools. The API layer, which knows
/// components, implements it; instances only hold it, so this layer needs
/// nothing above it.
pub(crate) trait Spawner: Send + Sync {
    /// Spawns an actor of `component` (the guest's own for `None`).
    fn spawn(&self, component: Option<&str>, request: SpawnRequest) -> Result<ActorHandle>;

    /// Runs `function` of `component` on its task pool.
    fn submit(
        &self,
        component: Option<&str>,
        function: &str,
        args: &str,
        refs: &[ObjectRef],
        charge: Option<Charge>,
    ) -> Result<ObjectRef>;

    /// The live actor named `name`, here or in the cluster.
    fn get_actor(&self, name: &str) -> Result<ActorHandle>;

    /// The allowance of bytes held in the host of the guest's program.
    fn byte_quota(&self) -> &Arc<ByteQuota>;
}

/// Everything each instance of one actor starts from.
#[derive(Clone)]
pub(crate) struct InstanceConfig {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) dirs: Vec<Preopen>,
    pub(crate) stdout: GuestOutput,
    pub(crate) stderr: GuestOutput,
    pub(crate) memory_limit: usize,
    pub(crate) net: Arc<NetPolicy>,
    pub(crate) data: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) spawner: Arc<dyn Spawner>,
}

/// The data of an actor instance's `Store`: its WASI context (only what was
/// granted), its handle table, its limits, and the state of each
/// [`Capability`](crate::Capability) (reached with
/// [`ActorState::capability`]). Host functions an embedder defines get it through
/// `StoreContextMut<'_, ActorState>`.
pub struct ActorState {
    pub(crate) me: Arc<ActorShared>,
    /// Its actor's mailbox, weakly: an actor must not keep itself alive.
    pub(crate) mailbox: Weak<dyn Mailbox>,
    pub(crate) role: Role,
    pub(crate) spawner: Arc<dyn Spawner>,
    pub(crate) budget: MemoryBudget,
    pub(crate) lag: LagWatch,
    /// The method of the call in progress, where there is exactly one
    /// (threaded actors), for lag warnings.
    pub(crate) current_method: Option<u32>,
    wasi: WasiCtx,
    net: Arc<NetPolicy>,
    #[cfg(feature = "http")]
    http: WasiHttpCtx,
    #[cfg(feature = "http")]
    http_hooks: HttpHooks,
    pub(crate) table: ResourceTable,
    pub(crate) capabilities: CapabilityStates,
    data: Option<Arc<dyn Any + Send + Sync>>,
}

impl ActorState {
    /// The state of a new instance of the actor `me`.
    ///
    /// # Errors
    ///
    /// Why the instance cannot be made (a granted directory that cannot be
    /// opened), for its death cause.
    pub(crate) fn new(
        me: Arc<ActorShared>,
        mailbox: Weak<dyn Mailbox>,
        role: Role,
        config: &InstanceConfig,
        capabilities: CapabilityStates,
        memory: Arc<SharedBudget>,
    ) -> std::result::Result<Self, String> {
        let mut wasi = WasiCtx::builder();
        wasi.args(&config.args);
        for (key, value) in &config.env {
            wasi.env(key, value);
        }
        for dir in &config.dirs {
            dir.open(&mut wasi)?;
        }
        config.net.apply(&mut wasi);
        let driver = role == Role::Driver;
        config
            .stdout
            .apply(&mut wasi, Stream::Stdout, &me.name, driver);
        config
            .stderr
            .apply(&mut wasi, Stream::Stderr, &me.name, driver);
        Ok(ActorState {
            me,
            mailbox,
            role,
            spawner: config.spawner.clone(),
            budget: MemoryBudget::new(config.memory_limit, memory),
            lag: LagWatch::default(),
            current_method: None,
            wasi: wasi.build(),
            net: config.net.clone(),
            #[cfg(feature = "http")]
            http: WasiHttpCtx::new(),
            #[cfg(feature = "http")]
            http_hooks: HttpHooks(config.net.clone()),
            table: ResourceTable::new(),
            capabilities,
            data: config.data.clone(),
        })
    }

    /// The id of the actor this instance belongs to.
    pub fn actor_id(&self) -> ActorId {
        self.me.id
    }

    /// The name of the actor this instance belongs to.
    pub fn actor_name(&self) -> &str {
        &self.me.name
    }

    /// The embedder's data given to the actor with
    /// [`ActorOptions::data`](crate::ActorOptions::data), if it is a `T`.
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.data.as_deref()?.downcast_ref()
    }

    /// The instance's table of resource handles, for a capability's own
    /// resources.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    /// What the actor may reach on the network.
    pub(crate) fn net_policy(&self) -> &Arc<NetPolicy> {
        &self.net
    }

    /// A handle to the actor this instance belongs to, while anyone else
    /// still holds one.
    pub(crate) fn current_actor(&self) -> Option<ActorHandle> {
        ActorHandle::upgrade(&self.me, &self.mailbox)
    }
}

/// One instance's capability states, by the capability's type. Kept
/// type-erased here, so that the store's data does not depend on the
/// capability layer that fills it.
#[derive(Default)]
pub(crate) struct CapabilityStates(Vec<(TypeId, Box<dyn Any + Send>)>);

impl CapabilityStates {
    /// Adds the state of the capability whose type is `key`.
    pub(crate) fn insert(&mut self, key: TypeId, state: Box<dyn Any + Send>) {
        self.0.push((key, state));
    }

    /// The state of the capability whose type is `key`, if it is an `S`.
    pub(crate) fn get_mut<S: Any>(&mut self, key: TypeId) -> Option<&mut S> {
        self.0
            .iter_mut()
            .find(|(k, _)| *k == key)
            .and_then(|(_, state)| state.downcast_mut())
    }
}

impl std::fmt::Debug for ActorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorState")
            .field("actor", &self.me.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl WasiView for ActorState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

#[cfg(feature = "http")]
impl WasiHttpView for ActorState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}
