//! [`ActorHandle`]: how callers reach an actor.
//!
//! A call is checked here, at the call site (method, arity, types), counted,
//! and posted to the actor's [`Mailbox`] with the promise of the ref the
//! caller gets back at once.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use super::shared::ActorShared;
use crate::call::{
    ActorArg, ActorKind, ActorStats, Arg, Call, FromVal, IntoArg, IntoArgs, Mailbox, Method,
};
use crate::error::{DeathCause, Error, Result};
use crate::ids::ActorId;
use crate::object_ref::{Charge, ItemStream, ObjectRef};
use wasmtime::component::Val;

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
    shared: Arc<ActorShared>,
    mailbox: Arc<dyn Mailbox>,
}

impl ActorHandle {
    /// A handle to the actor `shared` whose calls go to `mailbox`.
    pub(crate) fn new(shared: Arc<ActorShared>, mailbox: Arc<dyn Mailbox>) -> Self {
        ActorHandle { shared, mailbox }
    }

    /// A handle from the parts an actor's own instance keeps (its mailbox
    /// weakly: an actor must not keep itself alive), while other handles
    /// still exist.
    pub(crate) fn upgrade(shared: &Arc<ActorShared>, mailbox: &Weak<dyn Mailbox>) -> Option<Self> {
        Some(ActorHandle {
            shared: shared.clone(),
            mailbox: mailbox.upgrade()?,
        })
    }

    /// Its mailbox, weakly.
    pub(crate) fn weak_mailbox(&self) -> Weak<dyn Mailbox> {
        Arc::downgrade(&self.mailbox)
    }

    /// What it shares with its scheduler (or, for an actor on another
    /// node, with the cluster's view of it).
    pub(crate) fn shared(&self) -> &Arc<ActorShared> {
        &self.shared
    }

    /// The actor's id: unique in the process, never reused.
    pub fn id(&self) -> ActorId {
        self.shared.id
    }

    /// The actor's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// How its calls are scheduled.
    pub fn kind(&self) -> ActorKind {
        self.shared.kind()
    }

    /// How many calls may run at once (see
    /// [`ActorOptions::max_concurrency`](crate::ActorOptions::max_concurrency)).
    pub fn max_concurrency(&self) -> usize {
        self.shared.limits.max_concurrency
    }

    /// The name of the component it was spawned from.
    pub fn component_name(&self) -> &str {
        &self.shared.component
    }

    /// Its methods, in export order.
    pub fn methods(&self) -> impl ExactSizeIterator<Item = &Method> {
        self.shared.methods.iter()
    }

    /// The method called `name`, as [`call`](Self::call) finds it.
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.shared.methods.find(name)
    }

    /// How many times it was restarted after a trap (see
    /// [`ActorOptions::max_restarts`](crate::ActorOptions::max_restarts)).
    pub fn restarts(&self) -> u64 {
        self.shared.counters.restarts()
    }

    /// Its calls so far: queued, running, finished, failed, and its
    /// restarts.
    pub fn stats(&self) -> ActorStats {
        self.shared.counters.snapshot()
    }

    /// Why it died, or `None` while it lives.
    pub fn death_cause(&self) -> Option<DeathCause> {
        self.shared.death()
    }

    /// Queues a call of `method` and returns a ref to its result at once.
    /// Ray's `actor.method.remote(args)`.
    ///
    /// Everything that happens after the call is queued reaches the ref:
    /// the method's value (the `ok` payload, for a method returning
    /// `result`; `()` as an empty tuple for none), its `err` payload as
    /// [`Error::MethodFailed`], or [`Error::ActorDied`] if the actor dies
    /// first (also for calls made after it died).
    ///
    /// # Errors
    ///
    /// Only what is wrong at the call site, before anything is queued:
    /// [`Error::UnknownMethod`], [`Error::WrongArity`], [`Error::WrongType`],
    /// and [`Error::Backpressure`] when the actor's queue is full.
    pub fn call(&self, method: &str, args: impl IntoArgs) -> Result<ObjectRef> {
        let method = self.shared.methods.resolve(&self.shared.name, method)?;
        let args = args.into_args();
        method.check_args(&args)?;
        self.enqueue(method.index(), args, None, None)
    }

    /// Calls `method`, which returns a `stream<T>`, and gives its items as
    /// they come. Ray's `actor.method.options(num_returns="streaming").remote()`.
    ///
    /// The host holds at most [`STREAM_BUFFER`](crate::STREAM_BUFFER) items
    /// ahead of the reader; while they are not read the actor's writes wait
    /// (backpressure). The call holds its concurrency slot until the stream
    /// ends. [`call`](Self::call) of the same method gives a ref to the list
    /// of all its items instead. From an actor on another node the items
    /// come all at once, when the stream ends.
    ///
    /// # Errors
    ///
    /// As for [`call`](Self::call), and [`Error::NotAStream`] for a method
    /// that returns no stream.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let streamer = runtime.load(wactor_examples::STREAMER)?.spawn(Default::default())?;
    /// let mut items = streamer.call_stream("numbers", (3u32, 10u64))?;
    /// while let Some(item) = items.next_item().await {
    ///     println!("{}", wactor::to_json(&item?));
    /// }
    /// # Ok(()) }
    /// ```
    pub fn call_stream(&self, method: &str, args: impl IntoArgs) -> Result<ItemStream> {
        let method = self.stream_method(method)?;
        let args = args.into_args();
        method.check_args(&args)?;
        self.enqueue_stream(method.index(), args, None)
    }

    /// [`call_stream`](Self::call_stream) with JSON arguments, `{"$ref": i}`
    /// standing for `refs[i]`, as from a guest.
    pub(crate) fn call_stream_json(
        &self,
        method: &str,
        args: &str,
        refs: &[ObjectRef],
        charge: Option<Charge>,
    ) -> Result<ItemStream> {
        let method = self.stream_method(method)?;
        let args = method.args_from_json(args, refs, &[])?;
        self.enqueue_stream(method.index(), args, charge)
    }

    fn stream_method(&self, name: &str) -> Result<&crate::call::Method> {
        let method = self.shared.methods.resolve(&self.shared.name, name)?;
        method.check_returnable()?;
        if !method.is_stream() {
            return Err(Error::NotAStream {
                method: method.name().to_string(),
                signature: method.signature(),
            });
        }
        Ok(method)
    }

    fn enqueue_stream(
        &self,
        method: u32,
        args: Vec<Arg>,
        charge: Option<Charge>,
    ) -> Result<ItemStream> {
        if self.mailbox.remote().is_some() {
            // The cluster carries a call's value, not its items one by one.
            return Ok(ItemStream::whole(self.enqueue(method, args, charge, None)?));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(crate::STREAM_BUFFER);
        let call = self.enqueue(method, args, charge, Some(tx))?;
        Ok(ItemStream::live(rx, call))
    }

    /// Queues a call whose arguments were checked against its method.
    fn enqueue(
        &self,
        method: u32,
        args: Vec<Arg>,
        charge: Option<Charge>,
        stream: Option<tokio::sync::mpsc::Sender<Val>>,
    ) -> Result<ObjectRef> {
        let shared = &*self.shared;
        if shared.is_dead() {
            return Ok(ObjectRef::resolved(Err(shared.died_error())));
        }
        shared
            .counters
            .admit(shared.limits.max_pending_calls)
            .map_err(|limit| Error::Backpressure {
                actor: shared.name.to_string(),
                limit,
            })?;
        let (object_ref, mut promise) = ObjectRef::pending(Some((
            shared.id,
            shared.name.clone(),
            shared.limits.groups.of(method),
        )));
        if let Some(charge) = &charge {
            promise.charge_value_to(charge.quota().clone());
        }
        let call = Call {
            method,
            args,
            promise,
            deadline: shared.limits.call_deadline,
            retries_left: shared.limits.max_task_retries,
            charge,
            stream,
            trace: crate::call::CallTrace::start(
                shared.observer.as_ref().is_some_and(|o| o.timeline()),
                tracing::info_span!(
                    target: "wactor::call",
                    "call",
                    actor = %shared.name,
                    method = shared.methods.get(method).name(),
                ),
            ),
        };
        if let Err(call) = self.mailbox.post(call) {
            // The scheduler closed the mailbox: the actor died meanwhile.
            shared.counters.skipped(1);
            shared.counters.tally(false);
            call.promise.resolve(Err(shared.died_error()));
        }
        Ok(object_ref)
    }

    /// [`call`](ActorHandle::call) with Rust arguments and a typed result.
    ///
    /// # Errors
    ///
    /// As for [`call`](ActorHandle::call).
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
    /// # Errors
    ///
    /// As for [`call`](ActorHandle::call), and [`Error::BadArguments`] for
    /// text that is not a JSON array.
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
        self.call_json_with_refs(method, args, &[], &[], None)
    }

    /// [`call_json`](ActorHandle::call_json) where `{"$ref": i}` in `args`
    /// stands for `refs[i]` and `{"$actor": i}` for `actors[i]`, as in
    /// calls from guests; `charge` (the bytes
    /// of `args`, charged to the calling guest's program) is held while
    /// the call is queued.
    pub(crate) fn call_json_with_refs(
        &self,
        method: &str,
        args: &str,
        refs: &[ObjectRef],
        actors: &[ActorArg],
        charge: Option<Charge>,
    ) -> Result<ObjectRef> {
        let method = self.shared.methods.resolve(&self.shared.name, method)?;
        // Read against the signature, so already checked.
        let args = method.args_from_json(args, refs, actors)?;
        let charge = match charge {
            // Queued, the arguments take what they take decoded (often
            // many times their JSON): that is what the program is charged.
            Some(mut charge) => {
                let held = crate::call::footprint(&args);
                charge.grow(held.saturating_sub(charge.bytes()))?;
                Some(charge)
            }
            None => None,
        };
        self.enqueue(method.index(), args, charge, None)
    }

    /// Kills the actor: running and queued calls, and every later call,
    /// resolve to [`Error::ActorDied`] with [`DeathCause::Killed`]. Ray's
    /// `ray.kill(actor)`.
    pub fn kill(&self) {
        self.mailbox.kill();
        self.shared.die(DeathCause::Killed);
    }
}

/// An actor handle is an argument for a parameter of type `actor`: the
/// callee gets a handle of its own to the same actor.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
/// let runtime = wactor::Runtime::new()?;
/// let counter = runtime.load(wactor_examples::COUNTER)?.spawn(Default::default())?;
/// let faulty = runtime.load(wactor_examples::FAULTY)?.spawn(Default::default())?;
/// let said: String = faulty.call_typed("call-add", (counter.clone(), 5i64))?.await?;
/// assert_eq!(said, "5");
/// # Ok(()) }
/// ```
impl IntoArg for ActorHandle {
    fn into_arg(self) -> Arg {
        Arg::Actor(ActorArg(Arc::new(self)))
    }
}

impl From<ActorHandle> for Arg {
    fn from(handle: ActorHandle) -> Self {
        handle.into_arg()
    }
}

impl ActorHandle {
    /// The handle an [`ActorArg`] carries.
    pub(crate) fn from_arg(arg: &ActorArg) -> Option<ActorHandle> {
        arg.0.downcast_ref::<ActorHandle>().cloned()
    }

    /// Its mailbox if that delivers to another process.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))] // the cluster's
    pub(crate) fn remote_mailbox(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        self.mailbox.remote()
    }

    /// The handle as an argument.
    pub(crate) fn to_arg(&self) -> ActorArg {
        ActorArg(Arc::new(self.clone()))
    }
}

impl std::fmt::Debug for ActorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorHandle")
            .field("id", &self.shared.id)
            .field("name", &self.shared.name)
            .field("kind", &self.kind())
            .field("max_concurrency", &self.shared.limits.max_concurrency)
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
    ///
    /// # Errors
    ///
    /// As for [`ObjectRef::get`], and [`Error::Conversion`] if the value is
    /// not an `R`.
    pub fn get(&self, timeout: Option<Duration>) -> Result<R> {
        R::from_val(self.inner.get(timeout)?)
    }

    /// The untyped ref, e.g. to pass to [`wait`](crate::wait).
    pub fn object_ref(&self) -> &ObjectRef {
        &self.inner
    }
}

impl<R> std::fmt::Debug for TypedRef<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TypedRef")
            .field(&self.inner)
            .field(&std::any::type_name::<R>())
            .finish()
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
