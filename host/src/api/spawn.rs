//! Spawning actors from a component: from the host API
//! ([`ActorComponent::spawn`], [`ActorComponent::submit`]) and from guests.
//!
//! A guest reaches, through `wactor:runtime/actors`, its own component (to
//! spawn more of itself) and the components the host made available by
//! name ([`GuestEnv`]). Actors it spawns get the same, and no more.

use std::sync::Arc;

use super::component::{ActorComponent, OwnComponent};
use super::directory::Directory;
use super::options::{ActorOptions, Placement};
use crate::actor::{ActorHandle, ConcurrencyGroups, Limits, Program};
use crate::call::{ActorKind, IntoArgs};
use crate::error::{Error, Result};
use crate::guest::{
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PENDING_CALLS, DEFAULT_MAX_PROGRAM_BYTES,
    DEFAULT_MEMORY_LIMIT, InstanceConfig, NetGrant, NetPolicy, Role, SpawnRequest, Spawner,
    name_problem,
};
use crate::ids::ActorId;
use crate::object_ref::{ByteQuota, Charge, ObjectRef};
use crate::scheduler::{self, SpawnPlan};

impl ActorComponent {
    /// Runs `function` as a stateless task and returns a ref to its result
    /// at once. Ray's `@ray.remote def f` / `f.remote(args)`.
    ///
    /// Tasks run on the component's shared task pool, an actor spawned on
    /// the first `submit`: for a sync-only component, a pool of
    /// [`RuntimeBuilder::task_pool_size`](crate::RuntimeBuilder::task_pool_size)
    /// instances; for one with async exports, one instance running up to
    /// 1000 tasks at once. Tasks must not rely on state left by other tasks:
    /// which instance runs which task is not specified. If a task traps, the
    /// tasks queued with it fail with [`Error::ActorDied`] and the next
    /// `submit` starts a fresh pool. The pool lives as long as the component.
    ///
    /// # Errors
    ///
    /// As for [`ActorHandle::call`].
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let faulty = runtime.load(wactor_examples::FAULTY)?;
    /// let q = faulty.submit("divide", (9i64, 3i64))?;
    /// assert_eq!(q.await?, wactor::Val::S64(3));
    /// # Ok(()) }
    /// ```
    pub fn submit(&self, function: &str, args: impl IntoArgs) -> Result<ObjectRef> {
        self.task_pool()?.call(function, args)
    }

    /// The actor that runs this component's tasks (see
    /// [`submit`](ActorComponent::submit)), spawned now if there is none or
    /// the last one died.
    pub(crate) fn task_pool(&self) -> Result<ActorHandle> {
        let mut pool = self
            .inner
            .task_pool
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(handle) = &*pool
            && handle.death_cause().is_none()
        {
            return Ok(handle.clone());
        }
        let size = match self.kind() {
            ActorKind::Async => ActorKind::Async.default_max_concurrency(),
            ActorKind::Threaded => self.inner.task_pool_size.min(self.pool_size()),
        };
        let options = ActorOptions::new()
            .name(format!("{}-tasks", self.name()))
            .max_concurrency(size)
            .placement(Placement::Here);
        let own = OwnComponent::Weak(Arc::downgrade(&self.inner));
        let handle = self.spawn_with(options, self.role(), own, None)?;
        *pool = Some(handle.clone());
        Ok(handle)
    }

    /// Spawns an actor: instantiates the component (once for an async actor,
    /// `max_concurrency` times for a threaded one) and starts serving calls.
    /// Returns at once; if instantiation fails, the actor is dead and every
    /// call resolves to an error that says why. Ray's `Actor.options(...).remote()`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a `max_concurrency` of 0 (or, for a
    /// threaded actor, more than the runtime's
    /// [`max_instances`](crate::RuntimeBuilder::max_instances)), a name that
    /// is empty, longer than [`MAX_NAME_LEN`](crate::MAX_NAME_LEN) bytes or
    /// holds control characters, or a granted directory that is not one.
    pub fn spawn(&self, options: ActorOptions) -> Result<ActorHandle> {
        let own = OwnComponent::Strong(self.clone());
        self.spawn_with(options, self.role(), own, None)
    }

    /// The limits an actor of this component spawned with `options` runs
    /// under, here or (as its handle sees them) on another node.
    pub(crate) fn limits(&self, options: &ActorOptions, max_concurrency: usize) -> Result<Limits> {
        let groups = ConcurrencyGroups::resolve(
            &options.concurrency_groups,
            max_concurrency,
            &self.inner.compiled.methods,
        )?;
        Ok(Limits {
            max_concurrency,
            max_pending_calls: Some(
                options
                    .max_pending_calls
                    .unwrap_or(DEFAULT_MAX_PENDING_CALLS),
            ),
            call_deadline: options.call_deadline,
            max_restarts: options.max_restarts,
            max_task_retries: u32::try_from(options.max_task_retries).unwrap_or(u32::MAX),
            max_value_size: self.inner.compiled.engines.settings.max_value_size,
            groups: Arc::new(groups),
        })
    }

    /// How many instances the runtime's pool holds.
    fn pool_size(&self) -> usize {
        self.inner.compiled.engines.settings.max_instances as usize
    }

    /// Spawns an actor in `role` whose guests reach their own component
    /// through `own`: into `program` if a guest spawns it, else as the
    /// first actor of a program of its own. A driver runs on the async
    /// scheduler, whose event loop lets its sync `run` call async imports.
    pub(crate) fn spawn_with(
        &self,
        options: ActorOptions,
        role: Role,
        own: OwnComponent,
        program: Option<Arc<Program>>,
    ) -> Result<ActorHandle> {
        let max_concurrency = options
            .max_concurrency
            .unwrap_or(self.kind().default_max_concurrency());
        if max_concurrency == 0 {
            return Err(Error::InvalidOption {
                option: "max_concurrency",
                reason: "it must be at least 1".into(),
            });
        }
        // A threaded actor makes one instance per unit of concurrency (in
        // each of its groups): more than the pool holds could never start,
        // and would only hold memory.
        let pool = self.pool_size();
        let instances = max_concurrency.saturating_add(
            options
                .concurrency_groups
                .iter()
                .fold(0usize, |n, g| n.saturating_add(g.max_concurrency)),
        );
        if role == Role::ThreadedActor && instances > pool {
            let what = if options.concurrency_groups.is_empty() {
                format!("{max_concurrency} is more than that")
            } else {
                format!(
                    "its concurrency groups and max_concurrency together ask for {instances}, \
                     more than that"
                )
            };
            return Err(Error::InvalidOption {
                option: "max_concurrency",
                reason: format!(
                    "a threaded actor runs one instance per concurrent call, and the runtime's \
                     pool holds {pool} instances (RuntimeBuilder::max_instances); {what}"
                ),
            });
        }
        for dir in &options.dirs {
            dir.check()?;
        }
        match options.name.clone().filter(|_| !options.unlisted) {
            // A name is unique among live actors (in the whole cluster, in
            // one), so that `get_actor` finds one.
            Some(name) => {
                check_name(&name)?;
                let directory = self.inner.directory.clone();
                let cluster = role != Role::Driver && options.placement != Placement::Here;
                directory.register(&name, cluster, || {
                    self.spawn_placed(options, role, own, program, max_concurrency)
                })
            }
            None => {
                if let Some(name) = &options.name {
                    check_name(name)?;
                }
                self.spawn_placed(options, role, own, program, max_concurrency)
            }
        }
    }

    /// [`spawn_with`](Self::spawn_with) once the options are checked: on
    /// another node if the cluster places it there, else here.
    fn spawn_placed(
        &self,
        options: ActorOptions,
        role: Role,
        own: OwnComponent,
        program: Option<Arc<Program>>,
        max_concurrency: usize,
    ) -> Result<ActorHandle> {
        let pool = self.pool_size();
        let id = ActorId::next();
        let name: Arc<str> = match &options.name {
            Some(name) => name.as_str().into(),
            None => format!("{}-{}", self.name(), id.as_u64()).into(),
        };
        let (program, mut program_slot) = match program {
            Some(program) => {
                let slot = program.admit()?;
                (program, Some(slot))
            }
            None => {
                let limit = options.max_actors.unwrap_or((pool / 2).max(1));
                let bytes = options
                    .max_program_bytes
                    .unwrap_or(DEFAULT_MAX_PROGRAM_BYTES);
                (Program::new(limit, bytes), None)
            }
        };
        if let Placement::Node(node) = &options.placement
            && self.inner.directory.cluster().is_none()
        {
            return Err(Error::InvalidOption {
                option: "node",
                reason: format!(
                    "this runtime is not in a cluster, so the actor cannot be placed on node \
                     `{}`",
                    crate::value::abbreviate(node, 200)
                ),
            });
        }
        if role != Role::Driver
            && let Some(cluster) = self.inner.directory.cluster()
            && let Some(placed) = cluster.place(self, &options, &mut program_slot)
        {
            return placed;
        }
        let env = GuestEnv::new(
            own,
            options.inherited(),
            program,
            self.inner.directory.clone(),
        );
        let limits = self.limits(&options, max_concurrency)?;
        let net = net_policy(&name, &options)?;
        let instance = InstanceConfig {
            args: options.args,
            env: options.env,
            dirs: options.dirs,
            stdout: options.stdout,
            stderr: options.stderr,
            memory_limit: options.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT),
            net,
            data: options.data.map(|d| d.0),
            spawner: Arc::new(env),
        };
        let plan = SpawnPlan {
            id,
            name,
            limits,
            instance,
            role,
            program_slot,
        };
        let handle = scheduler::spawn(
            self.inner.compiled.clone(),
            self.inner.executor.clone(),
            plan,
        );
        if let Some(hash) = &self.inner.hash {
            let _ = handle.shared().component_hash.set(hash.clone());
        }
        Ok(handle)
    }
}

/// The network the actor may reach, from its options.
fn net_policy(name: &Arc<str>, options: &ActorOptions) -> Result<Arc<NetPolicy>> {
    let grants = options
        .net_grants
        .iter()
        .map(|g| g.parse::<NetGrant>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::InvalidOption {
            option: "allow_net",
            reason: e.to_string(),
        })?;
    let max_connections = options.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
    if max_connections == 0 {
        return Err(Error::InvalidOption {
            option: "max_connections",
            reason: "it must be at least 1".into(),
        });
    }
    Ok(Arc::new(NetPolicy::new(
        name.clone(),
        grants,
        options.allow_listen,
        max_connections,
    )))
}

/// Refuses a name [`name_problem`] finds wrong.
fn check_name(name: &str) -> Result<()> {
    match name_problem(name) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidOption {
            option: "name",
            reason,
        }),
    }
}

/// The most `max-task-retries` a guest may ask for its children: a call
/// that traps every time runs at most this many times again.
const MAX_GUEST_TASK_RETRIES: i64 = 100;

/// `asked` if it is no more than `most`, the spawner's own limit: a guest
/// cannot give its children more than it has.
fn at_most<T: PartialOrd + std::fmt::Display>(
    option: &'static str,
    asked: T,
    most: T,
) -> Result<T> {
    if asked > most {
        return Err(Error::InvalidOption {
            option,
            reason: format!(
                "{asked} is more than the spawning actor's own {most}: a guest may lower the \
                 limits of the actors it spawns, never raise them"
            ),
        });
    }
    Ok(asked)
}

/// The [`Spawner`] of one actor's instances.
pub(crate) struct GuestEnv {
    own: OwnComponent,
    /// The program the actors it spawns join.
    program: Arc<Program>,
    /// The options actors spawned by this guest start from
    /// ([`ActorOptions::inherited`]).
    children: ActorOptions,
    directory: Arc<Directory>,
}

impl GuestEnv {
    pub(crate) fn new(
        own: OwnComponent,
        children: ActorOptions,
        program: Arc<Program>,
        directory: Arc<Directory>,
    ) -> Self {
        GuestEnv {
            own,
            children,
            program,
            directory,
        }
    }

    /// The component called `name`, or the guest's own for `None`.
    fn component(&self, name: Option<&str>) -> Result<ActorComponent> {
        let Some(name) = name else {
            return self.own.get().ok_or_else(|| Error::InvalidOption {
                option: "component",
                reason: "this actor's own component is being unloaded (every handle to it was \
                         dropped): it cannot spawn more of itself"
                    .into(),
            });
        };
        let components = &self.children.components;
        components
            .get(name)
            .cloned()
            .ok_or_else(|| Error::ComponentNotAllowed {
                name: crate::value::abbreviate(name, 200).into_owned(),
                available: components.keys().cloned().collect(),
            })
    }
}

impl Spawner for GuestEnv {
    fn spawn(&self, component: Option<&str>, request: SpawnRequest) -> Result<ActorHandle> {
        let chosen = self.component(component)?;
        // Spawned actors get what their spawner has: the same components,
        // directories, environment, output streams and data.
        let mut options = self.children.clone();
        if let Some(name) = request.name {
            options = options.name(name);
        }
        if let Some(n) = request.max_concurrency {
            options = options.max_concurrency(n as usize);
        }
        if let Some(node) = request.node {
            options = options.placement(Placement::Node(node));
        }
        if let Some(n) = request.max_restarts {
            if n < -1 {
                return Err(Error::InvalidOption {
                    option: "max-restarts",
                    reason: format!("{n} is not a count: use 0 or more, or -1 for no limit"),
                });
            }
            options = options.max_restarts(n);
        }
        if let Some(n) = request.max_task_retries {
            // A call that traps every time would otherwise run, trap and
            // restart its actor forever: a guest gets a bounded number.
            if !(0..=MAX_GUEST_TASK_RETRIES).contains(&n) {
                return Err(Error::InvalidOption {
                    option: "max-task-retries",
                    reason: format!(
                        "{n} is out of range: a guest may ask for 0 to {MAX_GUEST_TASK_RETRIES} \
                         retries"
                    ),
                });
            }
            options = options.max_task_retries(n);
        }
        options.concurrency_groups = request.concurrency_groups;
        // Limits a guest may lower for its children, never raise.
        let mine = &self.children;
        if let Some(n) = request.max_pending_calls {
            let most = mine.max_pending_calls.unwrap_or(DEFAULT_MAX_PENDING_CALLS);
            options.max_pending_calls = Some(at_most("max-pending-calls", n as usize, most)?);
        }
        if let Some(bytes) = request.memory_limit {
            let most = mine.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT);
            let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
            options.memory_limit = Some(at_most("memory-limit", bytes, most)?);
        }
        if let Some(ms) = request.call_deadline_ms {
            let ms = match mine.call_deadline {
                Some(most) => {
                    let most = u64::try_from(most.as_millis()).unwrap_or(u64::MAX);
                    at_most("call-deadline-ms", ms, most)?
                }
                None => ms,
            };
            options.call_deadline = Some(std::time::Duration::from_millis(ms));
        }
        let own = OwnComponent::Strong(chosen.clone());
        chosen.spawn_with(options, chosen.role(), own, Some(self.program.clone()))
    }

    fn submit(
        &self,
        component: Option<&str>,
        function: &str,
        args: &str,
        refs: &[ObjectRef],
        charge: Option<Charge>,
    ) -> Result<ObjectRef> {
        self.component(component)?.task_pool()?.call_json_with_refs(
            function,
            args,
            refs,
            &[],
            charge,
        )
    }

    fn get_actor(&self, name: &str) -> Result<ActorHandle> {
        self.directory.get(name)
    }

    fn byte_quota(&self) -> &Arc<ByteQuota> {
        self.program.bytes()
    }
}

#[cfg(test)]
mod tests {
    use crate::api::Runtime;

    #[test]
    fn the_task_pool_is_sized_by_the_runtime_for_sync_components() {
        let rt = Runtime::builder()
            .cache_dir(None::<&str>)
            .task_pool_size(3)
            .build()
            .unwrap();
        let threaded = rt.load(wactor_examples::THREADED_ACTOR).unwrap();
        let pool = threaded.task_pool().unwrap();
        assert_eq!(pool.max_concurrency(), 3);
        assert_eq!(pool.name(), "threaded_actor-tasks");
        let asynchronous = rt.load(wactor_examples::FAULTY).unwrap();
        assert_eq!(asynchronous.task_pool().unwrap().max_concurrency(), 1000);
    }
}
