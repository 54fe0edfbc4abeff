//! [`ActorOptions`]: how to spawn an actor, Ray's `.options(...)`.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::component::ActorComponent;
use crate::actor::GroupSpec;
use crate::guest::{DirAccess, GuestOutput, Preopen};

/// How to spawn an actor. Ray's `.options(...)`.
///
/// ```
/// use wactor::{ActorOptions, GuestOutput};
/// let options = ActorOptions::new()
///     .name("worker-1")
///     .max_concurrency(10)
///     .stdout(GuestOutput::Discard);
/// # drop(options);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ActorOptions {
    pub(crate) name: Option<String>,
    pub(crate) max_concurrency: Option<usize>,
    pub(crate) stdout: GuestOutput,
    pub(crate) stderr: GuestOutput,
    pub(crate) components: BTreeMap<String, ActorComponent>,
    pub(crate) args: Vec<String>,
    pub(crate) max_pending_calls: Option<usize>,
    pub(crate) max_actors: Option<usize>,
    pub(crate) max_program_bytes: Option<usize>,
    pub(crate) memory_limit: Option<usize>,
    pub(crate) call_deadline: Option<Duration>,
    pub(crate) max_restarts: i64,
    pub(crate) max_task_retries: i64,
    pub(crate) concurrency_groups: Vec<GroupSpec>,
    pub(crate) dirs: Vec<Preopen>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) net_grants: Vec<String>,
    pub(crate) allow_listen: bool,
    pub(crate) max_connections: Option<usize>,
    pub(crate) data: Option<ActorData>,
    pub(crate) placement: Placement,
    /// A name made up by the cluster for an actor a peer spawned: not
    /// registered, so not unique and not found by `get_actor`.
    pub(crate) unlisted: bool,
}

/// Where in a cluster an actor runs ([`ActorOptions::placement`]). Outside
/// a cluster every actor runs in its own runtime, whatever this says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// On the node with the most room (free instance slots, then memory
    /// headroom), this runtime's own included if it serves actors.
    #[default]
    Anywhere,
    /// In this runtime, never elsewhere.
    Here,
    /// On the node with this name (`wactor node --name`).
    Node(String),
}

/// The embedder's data for an actor ([`ActorOptions::data`]), shared by its
/// instances and inherited by the actors it spawns.
#[derive(Clone)]
pub(crate) struct ActorData(pub(crate) Arc<dyn Any + Send + Sync>);

impl std::fmt::Debug for ActorData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ActorData(..)")
    }
}

impl ActorOptions {
    /// The defaults: a generated name (`<component>-<id>`), Ray's default
    /// `max_concurrency` for the actor's kind, and the host's stdout and
    /// stderr.
    pub fn new() -> Self {
        ActorOptions::default()
    }

    /// Names the actor (in errors, logs and
    /// [`ActorHandle::name`](crate::ActorHandle::name)). The default is
    /// `<component>-<id>`, with the number of its [`ActorId`](crate::ActorId).
    /// A name is at most [`MAX_NAME_LEN`](crate::MAX_NAME_LEN) bytes, with
    /// no control characters; spawning refuses others.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// How many calls may run at once. For an async actor, the number of
    /// calls interleaved on its one instance (default 1000; later calls wait
    /// in FIFO order). For a threaded actor, the number of instances in its
    /// pool (default 1: calls run one at a time, in submission order).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = Some(n);
        self
    }

    /// Puts `methods` in a concurrency group of their own, `name`, in which
    /// at most `limit` calls run at once (Ray's `concurrency_groups` with
    /// `@ray.method(concurrency_group=...)`). Methods in no group share the
    /// default group, whose limit is
    /// [`max_concurrency`](ActorOptions::max_concurrency). Each group has
    /// its own FIFO queue: a full group holds back only its own calls. For
    /// an async actor the groups interleave on its one instance; for a
    /// threaded actor each group has its own `limit` instances. Repeat for
    /// more groups, up to [`MAX_CONCURRENCY_GROUPS`](crate::MAX_CONCURRENCY_GROUPS).
    ///
    /// Spawning fails with [`Error::InvalidOption`](crate::Error::InvalidOption)
    /// for an unknown method, a method in two groups, a limit of 0, or a
    /// name used twice (`default` is taken).
    ///
    /// ```
    /// // `spin` runs two at a time; every other method keeps its own slots.
    /// let options = wactor::ActorOptions::new().concurrency_group("slow", 2, ["spin"]);
    /// # drop(options);
    /// ```
    pub fn concurrency_group(
        mut self,
        name: impl Into<String>,
        limit: usize,
        methods: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.concurrency_groups.push(GroupSpec {
            name: name.into(),
            max_concurrency: limit,
            methods: methods.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// How many calls may wait in the actor's queue (submitted, not yet
    /// started) before [`ActorHandle::call`](crate::ActorHandle::call) fails at once with
    /// [`Error::Backpressure`](crate::Error::Backpressure) instead of
    /// queuing more. Default: [`DEFAULT_MAX_PENDING_CALLS`](crate::DEFAULT_MAX_PENDING_CALLS)
    /// (100,000); `usize::MAX` for no limit.
    /// Ray's `max_pending_calls`.
    pub fn max_pending_calls(mut self, n: usize) -> Self {
        self.max_pending_calls = Some(n);
        self
    }

    /// How many actors this actor's program may have alive at once: the
    /// actors its guest spawns, the actors those spawn, and so on (the actor
    /// itself does not count). Past it, a guest's `spawn` fails with
    /// `overloaded` ([`Error::QuotaExceeded`](crate::Error::QuotaExceeded)),
    /// so one program cannot take every instance slot from the others.
    /// Default: half of the runtime's
    /// [`max_instances`](crate::RuntimeBuilder::max_instances). Only for
    /// actors the host spawns: a program's actors share its count.
    pub fn max_actors(mut self, n: usize) -> Self {
        self.max_actors = Some(n);
        self
    }

    /// How many bytes this actor's program may have the host hold for it at
    /// once: the JSON of its guests' `put` values (until the last handle to
    /// the ref is dropped) and of the arguments of calls they queued (until
    /// the call starts). Past it, `put` makes a ref that fails and `call`
    /// fails, both with `overloaded`
    /// ([`Error::QuotaExceeded`](crate::Error::QuotaExceeded)). Default:
    /// [`DEFAULT_MAX_PROGRAM_BYTES`](crate::DEFAULT_MAX_PROGRAM_BYTES),
    /// 256 MiB. Only for actors the host spawns: a program's actors share it.
    ///
    /// ```
    /// let options = wactor::ActorOptions::new().max_program_bytes(64 << 20);
    /// # let _ = options;
    /// ```
    pub fn max_program_bytes(mut self, bytes: usize) -> Self {
        self.max_program_bytes = Some(bytes);
        self
    }

    /// The most bytes of linear memory and tables each instance of the actor
    /// may grow to (default [`DEFAULT_MEMORY_LIMIT`](crate::DEFAULT_MEMORY_LIMIT),
    /// 512 MiB). Growing past it traps the instance, so the actor dies with a
    /// cause that says "memory limit"; other actors are not affected. For a
    /// threaded actor, each instance of the pool has this budget.
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// How long one call may run once started (default: no deadline). A call
    /// past it resolves to [`Error::Timeout`](crate::Error::Timeout) and the
    /// actor is retired
    /// ([`DeathCause::DeadlineExceeded`](crate::DeathCause::DeadlineExceeded)): its other running and queued calls
    /// fail with [`Error::ActorDied`](crate::Error::ActorDied). Time spent
    /// queued does not count. Actors its guest spawns get the same deadline
    /// (or a shorter one they ask for).
    pub fn call_deadline(mut self, deadline: Duration) -> Self {
        self.call_deadline = Some(deadline);
        self
    }

    /// Makes the host directory `host` visible to the guest at `guest` (e.g.
    /// `/data`), with `access`. Nothing outside it is reachable through it:
    /// `..`, absolute paths and symlinks that lead out are refused (WASI
    /// with cap-std). By default a guest sees no files at all.
    pub fn preopen_dir(
        mut self,
        host: impl Into<std::path::PathBuf>,
        guest: impl Into<String>,
        access: DirAccess,
    ) -> Self {
        self.dirs.push(Preopen {
            host: host.into(),
            guest: guest.into(),
            access,
        });
        self
    }

    /// Sets an environment variable for the guest. By default a guest's
    /// environment is empty.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Grants the actor outgoing HTTP requests and TCP connections to
    /// `pattern`: `HOST:PORT`, `HOST:*` or `HOST` for any port, `*` for any
    /// host (see [`NetGrant`](crate::NetGrant)); repeat for more. By default
    /// an actor reaches no network at all. Every request, connect and name
    /// lookup is checked; an ungranted one fails inside the guest naming the
    /// address and this grant. Actors it spawns get the same grants, no
    /// more. A malformed pattern fails the spawn with
    /// [`Error::InvalidOption`](crate::Error::InvalidOption).
    ///
    /// ```
    /// let options = wactor::ActorOptions::new()
    ///     .allow_net("127.0.0.1:8000")
    ///     .allow_net("api.example.com:443");
    /// # drop(options);
    /// ```
    pub fn allow_net(mut self, pattern: impl Into<String>) -> Self {
        self.net_grants.push(pattern.into());
        self
    }

    /// Lets the actor bind and listen on TCP sockets (`wasi:sockets`) and
    /// accept connections: a server inside the guest. Denied by default.
    pub fn allow_listen(mut self, allow: bool) -> Self {
        self.allow_listen = allow;
        self
    }

    /// The most HTTP requests the actor has open at once (default
    /// [`DEFAULT_MAX_CONNECTIONS`](crate::DEFAULT_MAX_CONNECTIONS)); more
    /// wait for one to finish. Bounds the sockets and host buffers a guest
    /// can hold.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = Some(n);
        self
    }

    /// How many times the actor is restarted after a trap: 0 (the default)
    /// never, -1 without limit. Ray's `max_restarts`. On a restart, the
    /// calls that were running fail with
    /// [`Error::ActorRestarted`](crate::Error::ActorRestarted) (their
    /// instance is gone), queued calls stay queued and run on the new
    /// instance, and the guest's state starts fresh. For a threaded actor
    /// only the instance that trapped is replaced. A kill, an exit or a
    /// missed deadline is never restarted.
    pub fn max_restarts(mut self, n: i64) -> Self {
        self.max_restarts = n;
        self
    }

    /// How many times a call is run again when its instance dies under it
    /// and the actor is restarted (see [`max_restarts`](ActorOptions::max_restarts)):
    /// 0 (the default) never, -1 without limit. Only for idempotent methods:
    /// the call may have done part of its work before the trap. Calls that
    /// return an error value are not retried. Ray's `max_task_retries`.
    pub fn max_task_retries(mut self, n: i64) -> Self {
        self.max_task_retries = n;
        self
    }

    /// Where the guest's stdout goes (default: the host's stdout).
    pub fn stdout(mut self, output: GuestOutput) -> Self {
        self.stdout = output;
        self
    }

    /// Where the guest's stderr goes (default: the host's stderr).
    pub fn stderr(mut self, output: GuestOutput) -> Self {
        self.stderr = output;
        self
    }

    /// Lets the actor (and the actors it spawns) spawn actors from
    /// `component` under `name`, through `wactor:runtime/actors.spawn`. An
    /// actor can always spawn its own component; nothing else unless allowed
    /// here.
    pub fn allow_component(mut self, name: impl Into<String>, component: ActorComponent) -> Self {
        self.components.insert(name.into(), component);
        self
    }

    /// Gives the actor the embedder's `data`, which host functions read with
    /// [`ActorState::data`](crate::ActorState::data) and capabilities with
    /// [`ActorInfo::data`](crate::ActorInfo::data) (e.g. a tenant, a
    /// credential, a database handle). Shared by the actor's instances and
    /// inherited by the actors it spawns; the guest cannot see it.
    ///
    /// ```
    /// struct Tenant(&'static str);
    /// let options = wactor::ActorOptions::new().data(Tenant("acme"));
    /// # drop(options);
    /// ```
    pub fn data(mut self, data: impl Any + Send + Sync) -> Self {
        self.data = Some(ActorData(Arc::new(data)));
        self
    }

    /// What an actor spawned by this one gets of these options: the
    /// components, directories, environment, network grants, output streams and data, and
    /// the memory limit, queue limit and call deadline (which a guest may
    /// lower in its `actor-options`, never raise), so a guest cannot get
    /// more by spawning. Names, concurrency, restarts and arguments are the
    /// spawner's to choose anew.
    pub(crate) fn inherited(&self) -> ActorOptions {
        ActorOptions {
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
            components: self.components.clone(),
            dirs: self.dirs.clone(),
            env: self.env.clone(),
            net_grants: self.net_grants.clone(),
            allow_listen: self.allow_listen,
            max_connections: self.max_connections,
            data: self.data.clone(),
            memory_limit: self.memory_limit,
            max_pending_calls: self.max_pending_calls,
            call_deadline: self.call_deadline,
            ..ActorOptions::default()
        }
    }

    /// Where in a cluster the actor runs; by default on the node with the
    /// most room. Ray's `scheduling_strategy` (`NodeAffinitySchedulingStrategy`
    /// for [`Placement::Node`]).
    ///
    /// ```
    /// use wactor::{ActorOptions, Placement};
    /// let pinned = ActorOptions::new().placement(Placement::Node("gpu-1".into()));
    /// # drop(pinned);
    /// ```
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// The guest's command-line arguments (WASI `args`), e.g. for a driver.
    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }
}
