//! Actors and ObjectRefs from inside a guest, typed with serde.
//!
//! Arguments and results cross as JSON (the mapping is in the wactor
//! repository's `docs/values.md`): `call("add", (1, 2))` sends `[1,2]`, and
//! the host reads it against the method's WIT signature.

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{actors, awaiting, types};

/// Why a call, a wait or a request failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The method returned `err`; its payload as JSON text.
    MethodFailed(String),
    /// The actor died; why.
    ActorDied(String),
    /// The wait took longer than its timeout.
    Timeout,
    /// The call was cancelled.
    Cancelled,
    /// The request was wrong; what was expected.
    Invalid(String),
    /// Blocking would stall an event loop or deadlock: await instead.
    WouldBlock(String),
    /// The actor's queue is full: the call was not queued.
    Overloaded(String),
    /// The actor could not be reached (the cluster's connection broke);
    /// whether the call ran is unknown.
    Unavailable(String),
    /// A value could not be encoded or decoded as the Rust type asked for.
    Decode(String),
}

impl From<types::Error> for Error {
    fn from(e: types::Error) -> Self {
        match e {
            types::Error::MethodFailed(json) => Error::MethodFailed(json),
            types::Error::ActorDied(why) => Error::ActorDied(why),
            types::Error::Timeout => Error::Timeout,
            types::Error::Cancelled => Error::Cancelled,
            types::Error::Invalid(why) => Error::Invalid(why),
            types::Error::WouldBlock(why) => Error::WouldBlock(why),
            types::Error::Overloaded(why) => Error::Overloaded(why),
            types::Error::Unavailable(why) => Error::Unavailable(why),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MethodFailed(json) => write!(f, "the method failed: {json}"),
            Error::ActorDied(why) => f.write_str(why),
            Error::Timeout => f.write_str("timed out"),
            Error::Cancelled => f.write_str("the call was cancelled"),
            Error::Invalid(why) => write!(f, "invalid request: {why}"),
            Error::WouldBlock(why) => f.write_str(why),
            Error::Overloaded(why) => f.write_str(why),
            Error::Unavailable(why) => f.write_str(why),
            Error::Decode(why) => write!(f, "cannot decode the value: {why}"),
        }
    }
}

impl std::error::Error for Error {}

fn decode<T: DeserializeOwned>(json: &str) -> Result<T, Error> {
    serde_json::from_str(json).map_err(|e| Error::Decode(format!("{e}: {json}")))
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Decode(e.to_string()))
}

fn millis(timeout: Option<Duration>) -> Option<u64> {
    timeout.map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX))
}

/// The result of a call, now or later. Ray's `ObjectRef`.
#[derive(Debug)]
pub struct ObjectRef(types::ObjectRef);

impl Clone for ObjectRef {
    fn clone(&self) -> Self {
        ObjectRef(self.0.clone())
    }
}

impl ObjectRef {
    /// Wraps a raw handle, e.g. one received as an `own<object-ref>` argument.
    pub fn from_raw(raw: types::ObjectRef) -> Self {
        ObjectRef(raw)
    }

    /// The raw handle, e.g. to return it from a method.
    pub fn into_raw(self) -> types::ObjectRef {
        self.0
    }

    /// Stores `value` and returns a ref to it. Ray's `ray.put`.
    pub fn put<T: Serialize + ?Sized>(value: &T) -> Result<ObjectRef, Error> {
        Ok(ObjectRef(actors::put(&encode(value)?)))
    }

    /// Identifies the result within the host.
    pub fn id(&self) -> u64 {
        self.0.id()
    }

    /// Whether the result is there.
    pub fn is_ready(&self) -> bool {
        self.0.is_ready()
    }

    /// Cancels the call: a queued call never runs; every handle to the
    /// result resolves to [`Error::Cancelled`]. Ray's `ray.cancel`.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Waits for the result without blocking the actor. Ray's `await ref`.
    pub async fn get<T: DeserializeOwned>(&self) -> Result<T, Error> {
        decode(&awaiting::get(&self.0).await?)
    }

    /// Blocks until the result is there or `timeout` passes. For sync code
    /// (drivers, threaded actors); an async actor gets [`Error::WouldBlock`].
    /// Ray's `ray.get(ref, timeout=...)`.
    pub fn get_blocking<T: DeserializeOwned>(&self, timeout: Option<Duration>) -> Result<T, Error> {
        decode(&self.0.get_blocking(millis(timeout))?)
    }
}

/// How to spawn an actor. Ray's `.options(...)`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    name: Option<String>,
    max_concurrency: Option<u32>,
    max_pending_calls: Option<u32>,
    memory_limit: Option<u64>,
    call_deadline_ms: Option<u64>,
    node: Option<String>,
    max_restarts: Option<i64>,
    max_task_retries: Option<i64>,
    concurrency_groups: Vec<types::ConcurrencyGroup>,
}

impl Options {
    /// The defaults: a generated name, Ray's default `max_concurrency`.
    pub fn new() -> Self {
        Options::default()
    }

    /// Names the actor.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Calls at once (async actor) or instances (threaded actor).
    pub fn max_concurrency(mut self, n: u32) -> Self {
        self.max_concurrency = Some(n);
        self
    }

    /// Calls that may wait in the actor's queue before calls are refused
    /// with `overloaded`. At most this actor's own limit.
    pub fn max_pending_calls(mut self, n: u32) -> Self {
        self.max_pending_calls = Some(n);
        self
    }

    /// Bytes of linear memory and tables each of the actor's instances may
    /// grow to. At most this actor's own limit.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// How long one call of the actor may run before it fails with
    /// `timeout` (and the actor is retired). At most this actor's own
    /// deadline, if it has one.
    pub fn call_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.call_deadline_ms = Some(u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// In a cluster, the node to run the actor on (by its `--name`);
    /// default: the node with the most room.
    pub fn node(mut self, node: impl Into<String>) -> Self {
        self.node = Some(node.into());
        self
    }

    /// How many times the actor is restarted after a trap: 0 (the
    /// default) never, -1 without limit. Ray's `max_restarts`.
    pub fn max_restarts(mut self, n: i64) -> Self {
        self.max_restarts = Some(n);
        self
    }

    /// How many times a call is run again when its instance dies under it
    /// and the actor is restarted: 0 (the default) to 100. Only for
    /// idempotent methods. Ray's `max_task_retries`.
    pub fn max_task_retries(mut self, n: i64) -> Self {
        self.max_task_retries = Some(n);
        self
    }

    /// Puts `methods` in a concurrency group `name` of at most `limit`
    /// calls at once, with a queue of its own; other methods share
    /// `max_concurrency`. Ray's `concurrency_groups`.
    pub fn concurrency_group(mut self, name: &str, limit: u32, methods: &[&str]) -> Self {
        self.concurrency_groups.push(types::ConcurrencyGroup {
            name: name.to_string(),
            max_concurrency: limit,
            methods: methods.iter().map(|m| m.to_string()).collect(),
        });
        self
    }
}

/// A handle to an actor.
#[derive(Debug)]
pub struct Actor(types::Actor);

impl Actor {
    /// Spawns an actor from this guest's own component. Ray's `Actor.remote()`.
    pub fn spawn(options: Options) -> Result<Actor, Error> {
        Actor::spawn_from(None, options)
    }

    /// Spawns an actor from the component the host made available as `name`
    /// (or from this guest's own, for `None`).
    pub fn spawn_from(name: Option<&str>, options: Options) -> Result<Actor, Error> {
        let options = types::ActorOptions {
            name: options.name,
            max_concurrency: options.max_concurrency,
            max_pending_calls: options.max_pending_calls,
            memory_limit: options.memory_limit,
            call_deadline_ms: options.call_deadline_ms,
            node: options.node,
            max_restarts: options.max_restarts,
            max_task_retries: options.max_task_retries,
            concurrency_groups: options.concurrency_groups,
        };
        Ok(Actor(actors::spawn(name, &options)?))
    }

    /// The live actor spawned with `name`, here or anywhere in the
    /// cluster. Ray's `ray.get_actor(name)`.
    pub fn get(name: &str) -> Result<Actor, Error> {
        Ok(Actor(actors::get_actor(name)?))
    }

    /// Wraps a raw handle, e.g. one received as an `own<actor>` argument.
    pub fn from_raw(raw: types::Actor) -> Self {
        Actor(raw)
    }

    /// The raw handle, e.g. to pass it to generated bindings.
    pub fn into_raw(self) -> types::Actor {
        self.0
    }

    /// The actor running this code. Ray's
    /// `ray.get_runtime_context().current_actor`.
    pub fn current() -> Actor {
        Actor(actors::current())
    }

    /// The actor's name.
    pub fn name(&self) -> String {
        self.0.name()
    }

    /// Queues a call and returns a ref to its result at once. `args` is a
    /// tuple with one element per parameter: `call("add", (1, 2))`, or `()`.
    /// Ray's `actor.method.remote(...)`.
    pub fn call<A: Serialize>(&self, method: &str, args: A) -> Result<ObjectRef, Error> {
        self.call_with_refs(method, args, Vec::new())
    }

    /// [`call`](Actor::call) passing ObjectRefs: a parameter of type
    /// `object-ref` takes `serde_json::json!({"$ref": i})` in `args`, meaning
    /// `refs[i]`. The callee receives its own handle and may await it.
    pub fn call_with_refs<A: Serialize>(
        &self,
        method: &str,
        args: A,
        refs: Vec<ObjectRef>,
    ) -> Result<ObjectRef, Error> {
        let json = args_json(args)?;
        let refs: Vec<_> = refs.into_iter().map(ObjectRef::into_raw).collect();
        Ok(ObjectRef(self.0.call(method, &json, refs)?))
    }

    /// [`call_with_refs`](Actor::call_with_refs) also passing actor
    /// handles: a parameter of type `actor` takes
    /// `serde_json::json!({"$actor": i})`, meaning `actors[i]`. The callee
    /// gets a handle of its own to the same actor (Ray's passing an actor
    /// handle to a task), wherever in the cluster either runs.
    pub fn call_with_actors<A: Serialize>(
        &self,
        method: &str,
        args: A,
        refs: Vec<ObjectRef>,
        actors: &[&Actor],
    ) -> Result<ObjectRef, Error> {
        let json = args_json(args)?;
        let refs: Vec<_> = refs.into_iter().map(ObjectRef::into_raw).collect();
        let actors: Vec<_> = actors.iter().map(|a| &a.0).collect();
        Ok(ObjectRef(self.0.call_with(method, &json, refs, &actors)?))
    }

    /// Calls `method`, which returns a `stream<T>`, and gives its items as
    /// they come. Ray's `num_returns="streaming"`. (`call` of the same
    /// method gives a ref to the list of all items.)
    pub fn call_stream<A: Serialize>(&self, method: &str, args: A) -> Result<Items, Error> {
        let json = args_json(args)?;
        Ok(Items(self.0.call_stream(method, &json, Vec::new())?))
    }

    /// Kills the actor. Ray's `ray.kill`.
    pub fn kill(&self) {
        self.0.kill();
    }
}

/// The items of a stream a call returns, as they come
/// ([`Actor::call_stream`]). Ray's `ObjectRefGenerator`.
#[derive(Debug)]
pub struct Items(types::ItemStream);

impl Items {
    /// The next item, waiting for it without blocking the actor; `None`
    /// once the stream ended, `Some(Err(..))` if the call failed. Ray's
    /// `await anext(gen)`.
    pub async fn next<T: DeserializeOwned>(&mut self) -> Option<Result<T, Error>> {
        awaiting::next(&self.0).await.map(|item| decode(&item?))
    }

    /// The next item, blocking for at most `timeout` (for sync code); a
    /// [`Error::Timeout`] leaves the stream going on.
    pub fn next_blocking<T: DeserializeOwned>(
        &mut self,
        timeout: Option<Duration>,
    ) -> Option<Result<T, Error>> {
        self.0
            .next_blocking(millis(timeout))
            .map(|item| decode(&item?))
    }
}

/// Runs `function` of `component` (this guest's own for `None`) as a
/// stateless task on the component's shared pool; returns a ref at once.
/// `args` is a tuple, as for [`Actor::call`]. Ray's `f.remote(...)`.
pub fn submit<A: Serialize>(
    component: Option<&str>,
    function: &str,
    args: A,
) -> Result<ObjectRef, Error> {
    submit_with_refs(component, function, args, Vec::new())
}

/// [`submit`] passing ObjectRefs, as for [`Actor::call_with_refs`].
pub fn submit_with_refs<A: Serialize>(
    component: Option<&str>,
    function: &str,
    args: A,
    refs: Vec<ObjectRef>,
) -> Result<ObjectRef, Error> {
    let json = args_json(args)?;
    let refs: Vec<_> = refs.into_iter().map(ObjectRef::into_raw).collect();
    Ok(ObjectRef(actors::submit(component, function, &json, refs)?))
}

fn args_json<A: Serialize>(args: A) -> Result<String, Error> {
    let mut json = serde_json::to_value(args).map_err(|e| Error::Decode(e.to_string()))?;
    if json.is_null() {
        json = serde_json::Value::Array(Vec::new());
    }
    Ok(json.to_string())
}

/// Awaits every ref, in order. Ray's `asyncio.gather(*refs)` / `ray.get(refs)`
/// in async code.
pub async fn gather<T: DeserializeOwned>(refs: &[ObjectRef]) -> Result<Vec<T>, Error> {
    let mut values = Vec::with_capacity(refs.len());
    for r in refs {
        values.push(r.get().await?);
    }
    Ok(values)
}

/// Blocks until every ref is there; for sync code. Ray's `ray.get(refs)`.
pub fn get_all_blocking<T: DeserializeOwned>(
    refs: &[ObjectRef],
    timeout: Option<Duration>,
) -> Result<Vec<T>, Error> {
    refs.iter().map(|r| r.get_blocking(timeout)).collect()
}

/// Waits until `num_returns` of `refs` are ready or `timeout` passes; returns
/// the indices of the ready ones. Ray's `ray.wait` / `asyncio.wait`.
pub async fn wait(
    refs: &[ObjectRef],
    num_returns: usize,
    timeout: Option<Duration>,
) -> Result<Vec<usize>, Error> {
    let raw: Vec<&types::ObjectRef> = refs.iter().map(|r| &r.0).collect();
    let num = u32::try_from(num_returns).unwrap_or(u32::MAX);
    let ready = awaiting::wait(raw, num, millis(timeout)).await?;
    Ok(ready.into_iter().map(|i| i as usize).collect())
}

/// [`wait`] for sync code (threaded actors, drivers): blocks the instance
/// until `num_returns` of `refs` are ready or `timeout` passes, and returns
/// the indices of the ready ones. An async actor gets [`Error::WouldBlock`].
/// Ray's `ray.wait`.
pub fn wait_blocking(
    refs: &[ObjectRef],
    num_returns: usize,
    timeout: Option<Duration>,
) -> Result<Vec<usize>, Error> {
    let raw: Vec<&types::ObjectRef> = refs.iter().map(|r| &r.0).collect();
    let num = u32::try_from(num_returns).unwrap_or(u32::MAX);
    let ready = actors::wait_blocking(&raw, num, millis(timeout))?;
    Ok(ready.into_iter().map(|i| i as usize).collect())
}

/// Awaits `r` for at most `timeout`. Ray's `asyncio.wait_for`.
pub async fn wait_for<T: DeserializeOwned>(r: &ObjectRef, timeout: Duration) -> Result<T, Error> {
    let ready = wait(std::slice::from_ref(r), 1, Some(timeout)).await?;
    if ready.is_empty() {
        return Err(Error::Timeout);
    }
    r.get().await
}
