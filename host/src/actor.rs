//! Actor handles: how callers reach an actor, and the state every handle and
//! the actor's scheduler share (its name, whether and why it died).

use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::component::{ActorComponent, ActorKind, Method};
use crate::error::{DeathCause, Error, Result};
use crate::object_ref::{ObjectRef, Promise};
use crate::sandbox::{DirAccess, GuestOutput, Preopen};
use crate::value::{Arg, FromVal, IntoArgs};

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
    pub(crate) memory_limit: Option<usize>,
    pub(crate) call_deadline: Option<Duration>,
    pub(crate) max_restarts: i64,
    pub(crate) max_task_retries: i64,
    pub(crate) dirs: Vec<Preopen>,
    pub(crate) env: Vec<(String, String)>,
    /// Set by the scheduler at spawn: the actor's own mailbox, weakly.
    pub(crate) my_mailbox: Option<mpsc::WeakUnboundedSender<Call>>,
}

impl ActorOptions {
    /// The defaults: a generated name, Ray's default `max_concurrency` for
    /// the actor's kind, and the host's stdout and stderr.
    pub fn new() -> Self {
        ActorOptions::default()
    }

    /// Names the actor (in errors, logs and [`ActorHandle::name`]). The
    /// default is `<component>-<n>`.
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

    /// How many calls may wait in the actor's queue (submitted, not yet
    /// started) before [`ActorHandle::call`] fails at once with
    /// [`Error::Backpressure`] instead of queuing more. Default: no limit.
    /// Ray's `max_pending_calls`.
    pub fn max_pending_calls(mut self, n: usize) -> Self {
        self.max_pending_calls = Some(n);
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
    /// past it resolves to [`Error::Timeout`] and the actor is retired
    /// ([`DeathCause::DeadlineExceeded`]): its other running and queued calls
    /// fail with [`Error::ActorDied`]. Time spent queued does not count.
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

    /// How many times the actor is restarted after a trap: 0 (the default)
    /// never, -1 without limit. Ray's `max_restarts`. On a restart, the
    /// calls that were running fail with [`Error::ActorRestarted`] (their
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

    /// What an actor spawned by this one gets of these options: the
    /// components, directories, environment and output streams. Limits,
    /// names and arguments are the spawner's to choose anew.
    pub(crate) fn inherited(&self) -> ActorOptions {
        ActorOptions {
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
            components: self.components.clone(),
            dirs: self.dirs.clone(),
            env: self.env.clone(),
            ..ActorOptions::default()
        }
    }

    /// The guest's command-line arguments (WASI `args`), e.g. for a driver.
    pub fn args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }
}

/// One queued call.
pub(crate) struct Call {
    pub(crate) method: Arc<Method>,
    pub(crate) args: Vec<Arg>,
    pub(crate) promise: Promise,
    /// Counts the call as queued until it is taken apart or dropped, when
    /// the actor limits its queue (the count is kept for that alone).
    pub(crate) _queued: Option<Queued>,
    /// How many more times the call may be run again if its instance dies
    /// under it and the actor is restarted.
    pub(crate) retries_left: u32,
}

impl Call {
    /// Queues the call again after its instance died under it, if it has a
    /// retry left and the actor can still be reached; otherwise returns its
    /// promise, to be failed.
    pub(crate) fn retry(
        shared: &Arc<ActorShared>,
        mailbox: Option<&mpsc::WeakUnboundedSender<Call>>,
        method: Arc<Method>,
        args: Vec<Arg>,
        promise: Promise,
        retries_left: u32,
    ) -> Result<(), Promise> {
        let Some(sender) = mailbox
            .and_then(|m| m.upgrade())
            .filter(|_| retries_left > 0)
        else {
            return Err(promise);
        };
        let call = Call {
            method,
            args,
            promise,
            _queued: Queued::enter(shared).map(|(slot, _)| slot),
            retries_left: retries_left - 1,
        };
        sender
            .send(call)
            .map_err(|mpsc::error::SendError(call)| call.promise)
    }
}

/// One call in `ActorShared::queued`, for as long as it exists.
pub(crate) struct Queued(Arc<ActorShared>);

impl Queued {
    /// Counts one more queued call if the actor limits its queue; also
    /// returns how many were queued before. Without a limit nothing is
    /// counted: the count would cost two contended atomics per call.
    fn enter(shared: &Arc<ActorShared>) -> Option<(Self, usize)> {
        shared.max_pending_calls?;
        let before = shared.queued.fetch_add(1, Ordering::AcqRel);
        Some((Queued(shared.clone()), before))
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A value alone on its cache line (64 bytes on x86-64 and most arm64).
#[repr(align(64))]
pub(crate) struct CacheLine<T>(pub(crate) T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// What the handles and the scheduler of one actor share.
pub(crate) struct ActorShared {
    pub(crate) id: u64,
    pub(crate) name: Arc<str>,
    /// Calls running now (started, not finished), kept by the scheduler.
    /// On a cache line of its own: the scheduler writes it at every call,
    /// and callers on other cores read the fields around it at every call.
    pub(crate) running: CacheLine<AtomicUsize>,
    /// Calls queued (submitted, not yet started).
    queued: AtomicUsize,
    max_pending_calls: Option<usize>,
    pub(crate) call_deadline: Option<Duration>,
    max_restarts: i64,
    restarts: AtomicU64,
    max_task_retries: u32,
    pub(crate) component: ActorComponent,
    pub(crate) max_concurrency: usize,
    death: Mutex<Option<DeathCause>>,
    /// Whether `death` is set: read on every call without taking the lock.
    died: AtomicBool,
    /// Flips to `true` once, when the actor dies; schedulers watch it to stop
    /// at once rather than after the call in progress.
    dead: watch::Sender<bool>,
}

impl ActorShared {
    pub(crate) fn new(
        id: u64,
        name: Arc<str>,
        component: ActorComponent,
        max_concurrency: usize,
        options: &ActorOptions,
    ) -> Self {
        ActorShared {
            call_deadline: options.call_deadline,
            max_restarts: options.max_restarts,
            max_task_retries: u32::try_from(options.max_task_retries).unwrap_or(u32::MAX),
            restarts: AtomicU64::new(0),
            id,
            name,
            running: CacheLine(AtomicUsize::new(0)),
            queued: AtomicUsize::new(0),
            max_pending_calls: options.max_pending_calls,
            component,
            max_concurrency,
            death: Mutex::new(None),
            died: AtomicBool::new(false),
            dead: watch::Sender::new(false),
        }
    }

    /// Marks the actor dead. The first cause is the one reported.
    pub(crate) fn die(&self, cause: DeathCause) {
        {
            let mut death = self.death.lock().unwrap_or_else(|e| e.into_inner());
            if death.is_none() {
                tracing::debug!(actor = %self.name, %cause, "actor died");
                *death = Some(cause);
                self.died.store(true, Ordering::Release);
            }
        }
        self.dead.send_replace(true);
    }

    pub(crate) fn death(&self) -> Option<DeathCause> {
        if !self.died.load(Ordering::Acquire) {
            return None;
        }
        self.death.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The error for calls that meet a dead actor.
    pub(crate) fn died_error(&self) -> Error {
        Error::ActorDied {
            actor: self.name.to_string(),
            cause: self.death().unwrap_or(DeathCause::Shutdown),
        }
    }

    /// Why waiting on `r` from inside this actor can never end, if it can't:
    /// `r` is a call queued on this same actor while every concurrency slot
    /// is taken (one of them by the waiting call).
    pub(crate) fn self_deadlock(&self, r: &ObjectRef) -> Option<String> {
        let full = self.running.load(Ordering::Acquire) >= self.max_concurrency;
        (full && r.queued_on() == Some(self.id)).then(|| {
            format!(
                "waiting for a call to this same actor ({}) that cannot start: all {} of its \
                 max_concurrency slots are taken, one by the waiting call; raise \
                 max_concurrency, or do not wait for calls to yourself",
                self.name, self.max_concurrency
            )
        })
    }

    /// Takes one restart if the policy allows another; returns its number.
    pub(crate) fn try_restart(&self) -> Option<u64> {
        if self.death().is_some() {
            return None;
        }
        let max = self.max_restarts;
        self.restarts
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (max < 0 || n < max as u64).then_some(n + 1)
            })
            .ok()
            .map(|n| n + 1)
    }

    /// How many times the actor was restarted.
    pub(crate) fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Acquire)
    }

    /// A receiver that sees the actor die.
    pub(crate) fn watch_death(&self) -> watch::Receiver<bool> {
        self.dead.subscribe()
    }
}

/// A handle to a running actor. Cloning is cheap; when every handle is gone,
/// the actor finishes the calls it has and stops, as a Ray actor does when
/// its handles go out of scope.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
/// use wactor::{ActorOptions, Runtime};
/// use wasmtime::component::Val;
///
/// let runtime = Runtime::new()?;
/// let actor = runtime.load(wactor_examples::ASYNC_ACTOR)?.spawn(ActorOptions::new())?;
/// // Both calls are queued at once and run concurrently.
/// let a = actor.call("run-task", vec![Val::U64(10)])?;
/// let b = actor.call("run-task", vec![Val::U64(10)])?;
/// let (a, b) = (a.await?, b.await?);
/// assert!(matches!(a, Val::U32(_)) && matches!(b, Val::U32(_)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ActorHandle {
    pub(crate) shared: Arc<ActorShared>,
    pub(crate) mailbox: mpsc::UnboundedSender<Call>,
}

impl ActorHandle {
    /// The actor's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// How its calls are scheduled.
    pub fn kind(&self) -> ActorKind {
        self.shared.component.kind()
    }

    /// How many calls may run at once (see [`ActorOptions::max_concurrency`]).
    pub fn max_concurrency(&self) -> usize {
        self.shared.max_concurrency
    }

    /// The component it was spawned from.
    pub fn component(&self) -> &ActorComponent {
        &self.shared.component
    }

    /// How many times it was restarted after a trap (see
    /// [`ActorOptions::max_restarts`]).
    pub fn restarts(&self) -> u64 {
        self.shared.restarts()
    }

    /// Why it died, or `None` while it lives.
    pub fn death_cause(&self) -> Option<DeathCause> {
        self.shared.death()
    }

    /// Queues a call of `method` and returns a ref to its result at once.
    /// Ray's `actor.method.remote(args)`.
    ///
    /// An unknown method or arguments that do not match the signature are
    /// rejected here, before anything is queued. Everything that happens
    /// later reaches the ref: the method's value (the `ok` payload, for a
    /// method returning `result`; `()` as an empty tuple for none), its
    /// `err` payload as [`Error::MethodFailed`], or [`Error::ActorDied`] if
    /// the actor dies first (also for calls made after it died).
    pub fn call(&self, method: &str, args: impl IntoArgs) -> Result<ObjectRef> {
        let method = self
            .shared
            .component
            .method_named(&self.shared.name, method)?
            .clone();
        let args = args.into_args();
        method.check_args(&args)?;
        self.enqueue(method, args)
    }

    /// Queues a call whose arguments were checked against `method`.
    fn enqueue(&self, method: Arc<Method>, args: Vec<Arg>) -> Result<ObjectRef> {
        if self.shared.death().is_some() {
            return Ok(ObjectRef::resolved(Err(self.shared.died_error())));
        }
        let (slot, queued) = Queued::enter(&self.shared).unzip();
        if let (Some(limit), Some(queued)) = (self.shared.max_pending_calls, queued)
            && queued >= limit
        {
            return Err(Error::Backpressure {
                actor: self.shared.name.to_string(),
                limit,
            });
        }
        let (object_ref, promise) =
            ObjectRef::pending(Some((self.shared.name.clone(), self.shared.id)));
        if let Err(mpsc::error::SendError(call)) = self.mailbox.send(Call {
            method,
            args,
            promise,
            _queued: slot,
            retries_left: self.shared.max_task_retries,
        }) {
            // The scheduler closed the mailbox: the actor died meanwhile.
            call.promise.resolve(Err(self.shared.died_error()));
        }
        Ok(object_ref)
    }

    /// [`call`](ActorHandle::call) with Rust arguments and a typed result.
    ///
    /// ```
    /// # fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let counter = runtime.load(wactor_examples::COUNTER)?.spawn(Default::default())?;
    /// counter.call_typed::<i64>("add", (2i64,))?;
    /// let total = counter.call_typed::<i64>("add", (3i64,))?.get(None)?;
    /// assert_eq!(total, 5);
    /// # Ok(()) }
    /// ```
    pub fn call_typed<R: FromVal>(&self, method: &str, args: impl IntoArgs) -> Result<TypedRef<R>> {
        Ok(TypedRef {
            inner: self.call(method, args)?,
            _marker: PhantomData,
        })
    }

    /// [`call`](ActorHandle::call) with the arguments as a JSON array, read
    /// against the method's signature as for calls between guests (see
    /// `docs/values.md`), e.g. from a web request. Read results back with
    /// [`to_json`](crate::to_json).
    ///
    /// ```
    /// # fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let counter = runtime.load(wactor_examples::COUNTER)?.spawn(Default::default())?;
    /// let total = counter.call_json("add", "[40]")?.get(None)?;
    /// assert_eq!(wactor::to_json(&total), "40");
    /// let err = counter.call_json("add", r#"["forty"]"#).unwrap_err();
    /// assert!(err.to_string().contains("argument `n` of `add` must be s64"));
    /// # Ok(()) }
    /// ```
    pub fn call_json(&self, method: &str, args: &str) -> Result<ObjectRef> {
        self.call_json_with_refs(method, args, &[])
    }

    /// [`call_json`](ActorHandle::call_json) where `{"$ref": i}` in `args`
    /// stands for `refs[i]`, as in calls from guests.
    pub(crate) fn call_json_with_refs(
        &self,
        method: &str,
        args: &str,
        refs: &[ObjectRef],
    ) -> Result<ObjectRef> {
        let method = self
            .shared
            .component
            .method_named(&self.shared.name, method)?
            .clone();
        // Read against the signature, so already checked.
        let args = method.args_from_json(args, refs)?;
        self.enqueue(method, args)
    }

    /// Kills the actor: running and queued calls, and every later call,
    /// resolve to [`Error::ActorDied`] with [`DeathCause::Killed`]. Ray's
    /// `ray.kill(actor)`.
    pub fn kill(&self) {
        self.shared.die(DeathCause::Killed);
    }
}

impl std::fmt::Debug for ActorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorHandle")
            .field("name", &self.shared.name)
            .field("kind", &self.kind())
            .field("max_concurrency", &self.shared.max_concurrency)
            .field("death", &self.shared.death())
            .finish()
    }
}

/// An [`ObjectRef`] whose value converts to `R`: await it, or
/// [`get`](TypedRef::get) it.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
/// let runtime = wactor::Runtime::new()?;
/// let actor = runtime.load(wactor_examples::FAULTY)?.spawn(Default::default())?;
/// let text: wactor::TypedRef<String> = actor.call_typed("echo", ("hi", 1u64))?;
/// assert_eq!(text.await?, "hi");
/// # Ok(()) }
/// ```
pub struct TypedRef<R> {
    inner: ObjectRef,
    _marker: PhantomData<fn() -> R>,
}

impl<R: FromVal> TypedRef<R> {
    /// Blocks until the result is there (see [`ObjectRef::get`]).
    pub fn get(&self, timeout: Option<Duration>) -> Result<R> {
        R::from_val(self.inner.get(timeout)?)
    }

    /// The untyped ref, e.g. to pass to [`wait`](crate::wait).
    pub fn object_ref(&self) -> &ObjectRef {
        &self.inner
    }
}

impl<R: FromVal> Future for TypedRef<R> {
    type Output = Result<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<R>> {
        Pin::new(&mut self.inner)
            .poll(cx)
            .map(|outcome| outcome.and_then(R::from_val))
    }
}
