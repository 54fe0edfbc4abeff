//! The host side of `wit/runtime.wit` (`wactor:runtime`), plus WASI 0.2.
//!
//! The traits are generated from the WIT by `bindgen!`, so a change to the
//! WIT that the host does not follow fails to compile. Calling conventions:
//! `async func`s (`time.sleep`, `awaiting.get`, `awaiting.wait`) take an
//! `Accessor` and run concurrently with the instance's other calls;
//! `get-blocking` is sync for the guest but async on the host (the guest's
//! fiber waits, the thread does not); the rest are plain sync functions.
//!
//! The async funcs live in interfaces of their own (`time`, `awaiting`), so
//! the engine without the component model's async ABI, which cannot define
//! them, links every other interface whole.

use std::time::Duration;

use wasmtime::component::{Accessor, HasData, Linker, Resource};

use super::capability::EngineKind;
use super::state::{ActorState, Role, SpawnRequest};
use crate::actor::{ActorHandle, recorded_wait};
use crate::error::{Error, full_text};
use crate::object_ref::{Charge, ObjectRef, Stored};
use crate::value::json;

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wactor:runtime/actor",
        imports: {
            "wactor:runtime/types.[method]object-ref.get-blocking": async | trappable,
            "wactor:runtime/types.[method]actor.call": async | trappable,
            "wactor:runtime/types.[method]actor.call-with": async | trappable,
            "wactor:runtime/types.[method]actor.call-stream": async | trappable,
            "wactor:runtime/types.[method]item-stream.next-blocking": async | trappable,
            "wactor:runtime/actors.submit": async | trappable,
            "wactor:runtime/actors.wait-blocking": async | trappable,
            default: trappable,
        },
        with: {
            "wactor:runtime/types.object-ref": super::ObjectRefResource,
            "wactor:runtime/types.actor": super::ActorResource,
            "wactor:runtime/types.item-stream": super::ItemStreamResource,
        },
        require_store_data_send: true,
    });
}

use generated::wactor::runtime::{actors, awaiting, logging, time, types};

// `pub` because `bindgen!`'s `with` re-exports them; this module is private,
// so they stay inside the crate.
#[allow(unreachable_pub)]
pub use crate::object_ref::ObjectRefResource;

/// An `actor` handle's entry in a store's resource table.
#[allow(unreachable_pub)]
pub struct ActorResource(pub(crate) ActorHandle);

/// An `item-stream`'s entry in a store's resource table. Shared, so that
/// `awaiting.next` can wait on it without holding the table.
#[allow(unreachable_pub)]
pub struct ItemStreamResource(std::sync::Arc<tokio::sync::Mutex<crate::ItemStream>>);

/// The next item of `items` as the guest gets it: `None` at the end.
async fn next_item(
    items: &std::sync::Arc<tokio::sync::Mutex<crate::ItemStream>>,
) -> Option<Result<String, types::Error>> {
    let mut items = items.lock().await;
    Some(match items.next_item().await? {
        Ok(item) => Ok(json::to_json_text(&item)),
        Err(e) => Err(e.into()),
    })
}

/// How generated bindings reach an instance's [`ActorState`].
struct Guest;

impl HasData for Guest {
    type Data<'a> = &'a mut ActorState;
}

/// Defines WASI 0.2 and `wactor:runtime` on `linker`. On the engine
/// without the component model's async ABI, the interfaces of `async func`s
/// (`time`, `awaiting`) are left out: a component that imports them does not
/// link there, and runs on the concurrent engine.
pub(crate) fn add_to_linker(
    linker: &mut Linker<ActorState>,
    engine: EngineKind,
) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    #[cfg(feature = "http")]
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    fn state(state: &mut ActorState) -> &mut ActorState {
        state
    }
    types::add_to_linker::<_, Guest>(linker, state)?;
    logging::add_to_linker::<_, Guest>(linker, state)?;
    actors::add_to_linker::<_, Guest>(linker, state)?;
    if engine.supports_async_imports() {
        time::add_to_linker::<_, Guest>(linker, state)?;
        awaiting::add_to_linker::<_, Guest>(linker, state)?;
        // WASI 0.3 needs the async ABI: async actors and programs only.
        wasmtime_wasi::p3::add_to_linker(linker)?;
        #[cfg(feature = "http")]
        wasmtime_wasi_http::p3::add_to_linker(linker)?;
        super::lookup::add_to_linker(linker)?;
    }
    Ok(())
}

impl From<Error> for types::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::MethodFailed { error, .. } => types::Error::MethodFailed(
                error.map_or_else(|| "null".to_string(), |v| json::to_json(&v).to_string()),
            ),
            e @ Error::ActorDied { .. } => types::Error::ActorDied(e.to_string()),
            Error::Timeout(_) => types::Error::Timeout,
            Error::Cancelled => types::Error::Cancelled,
            Error::WouldBlock { reason } => types::Error::WouldBlock(reason),
            e @ (Error::Backpressure { .. } | Error::QuotaExceeded { .. }) => {
                types::Error::Overloaded(e.to_string())
            }
            e @ Error::Unavailable { .. } => types::Error::Unavailable(e.to_string()),
            e => types::Error::Invalid(full_text(&e)),
        }
    }
}

/// A result as the guest sees it: the value as JSON, or the error; a
/// value whose JSON is over `limit` bytes is refused rather than copied in.
fn to_guest(stored: &Stored, limit: usize) -> Result<String, types::Error> {
    let text = stored.json().map_err(types::Error::from)?;
    check_size(&text, limit).map_err(types::Error::from)?;
    Ok(text)
}

/// [`to_guest`] on tokio's blocking pool for a large value (writing its
/// JSON takes as long as reading it), so other actors need not wait.
async fn to_guest_aside(stored: Stored, limit: usize) -> Result<String, types::Error> {
    let large = match &stored {
        Stored::Outcome(Ok(value)) => crate::value::footprint(value) >= READ_ASIDE,
        Stored::Held(held) => held.1.bytes() >= READ_ASIDE,
        Stored::Json(_) | Stored::Outcome(Err(_)) => false,
    };
    if !large {
        return to_guest(&stored, limit);
    }
    aside(move || to_guest(&stored, limit))
        .await
        .unwrap_or_else(|e| Err(types::Error::from(e)))
}

/// Arguments longer than this are read on tokio's blocking pool, so that
/// reading them (up to `max_value_size`, tens of milliseconds) holds up
/// only the calling guest, not the other actors on its worker thread.
const READ_ASIDE: usize = 64 << 10;

/// Long values read or written at once, process-wide: one per core.
/// Reading takes memory many times the JSON's size for a moment, so many
/// guests sending long arguments together wait their turn rather than add
/// it all up.
static READING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    tokio::sync::Semaphore::new(cores)
});

/// Runs `read` (reading a guest's JSON arguments and queuing the call) on
/// the blocking pool if the arguments are long, else here.
async fn read_arguments(
    len: usize,
    read: impl FnOnce() -> crate::error::Result<ObjectRef> + Send + 'static,
) -> crate::error::Result<ObjectRef> {
    if len < READ_ASIDE {
        return read();
    }
    aside(read).await.unwrap_or_else(Err)
}

/// Runs `work` on tokio's blocking pool, in its turn among [`READING`].
///
/// # Errors
///
/// [`Error::InvalidValue`] if `work` panicked.
async fn aside<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> crate::error::Result<T> {
    // The semaphore is never closed, so a permit always comes.
    let _turn = READING.acquire().await;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::InvalidValue {
            reason: format!("converting a long value failed: {e}"),
            source: None,
        })
}

/// Refuses JSON text from or for a guest that is over `limit` bytes,
/// before any work is done on it.
fn check_size(text: &str, limit: usize) -> crate::error::Result<()> {
    if text.len() > limit {
        return Err(Error::QuotaExceeded {
            what: "bytes in one value",
            limit,
            raise_with: "RuntimeBuilder::max_value_size",
        });
    }
    Ok(())
}

/// The refs behind `handles`, taken out of the table (they were passed as
/// `own`, so the table's entries end here).
fn take_refs(
    table: &mut wasmtime::component::ResourceTable,
    handles: Vec<Resource<ObjectRefResource>>,
) -> wasmtime::Result<Vec<ObjectRef>> {
    handles
        .into_iter()
        .map(|h| Ok(table.delete(h)?.0))
        .collect()
}

impl ActorState {
    /// Charges the JSON `text` a guest hands the host to its program, after
    /// checking it against the size of one value.
    fn charge(&self, text: &str) -> crate::error::Result<Charge> {
        check_size(text, self.me.limits.max_value_size)?;
        self.spawner.byte_quota().charge(text.len())
    }
}

/// The refs behind `handles`, lent (`borrow`): the table keeps its entries.
fn lent_refs(
    table: &wasmtime::component::ResourceTable,
    handles: &[Resource<ObjectRefResource>],
) -> wasmtime::Result<Vec<ObjectRef>> {
    handles
        .iter()
        .map(|h| Ok(table.get(h)?.0.clone()))
        .collect()
}

/// Pushes the ref a request produced, or passes its error to the guest.
fn push_ref(
    table: &mut wasmtime::component::ResourceTable,
    made: crate::error::Result<ObjectRef>,
) -> wasmtime::Result<Result<Resource<ObjectRefResource>, types::Error>> {
    Ok(match made {
        Ok(r) => Ok(table.push(ObjectRefResource(r))?),
        Err(e) => Err(types::Error::from(e)),
    })
}

impl types::Host for ActorState {}

impl types::HostItemStream for ActorState {
    async fn next_blocking(
        &mut self,
        this: Resource<ItemStreamResource>,
        timeout_ms: Option<u64>,
    ) -> wasmtime::Result<Option<Result<String, types::Error>>> {
        if self.role == Role::AsyncActor {
            return Ok(Some(Err(types::Error::WouldBlock(
                "next-blocking called from an async actor would block its event loop; await \
                 `awaiting.next` instead"
                    .into(),
            ))));
        }
        let items = self.table.get(&this)?.0.clone();
        Ok(match timeout_ms {
            None => next_item(&items).await,
            Some(ms) => tokio::time::timeout(Duration::from_millis(ms), next_item(&items))
                .await
                .unwrap_or(Some(Err(types::Error::Timeout))),
        })
    }

    fn drop(&mut self, this: Resource<ItemStreamResource>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl types::HostObjectRef for ActorState {
    fn clone(
        &mut self,
        this: Resource<ObjectRefResource>,
    ) -> wasmtime::Result<Resource<ObjectRefResource>> {
        let r = self.table.get(&this)?.0.clone();
        Ok(self.table.push(ObjectRefResource(r))?)
    }

    fn id(&mut self, this: Resource<ObjectRefResource>) -> wasmtime::Result<u64> {
        Ok(self.table.get(&this)?.0.id())
    }

    fn is_ready(&mut self, this: Resource<ObjectRefResource>) -> wasmtime::Result<bool> {
        Ok(self.table.get(&this)?.0.is_ready())
    }

    async fn get_blocking(
        &mut self,
        this: Resource<ObjectRefResource>,
        timeout_ms: Option<u64>,
    ) -> wasmtime::Result<Result<String, types::Error>> {
        let r = self.table.get(&this)?.0.clone();
        if let Some(deadlock) = self.me.self_deadlock(&r) {
            return Ok(Err(deadlock.into()));
        }
        if self.role == Role::AsyncActor {
            // Blocking here would stall every call of this actor, and
            // deadlock if the result needs this actor (Ray warns and hangs;
            // we refuse).
            return Ok(Err(types::Error::WouldBlock(
                "get-blocking called from an async actor would block its event loop; \
                 await `awaiting.get` instead"
                    .into(),
            )));
        }
        let stored = match timeout_ms {
            None => recorded_wait(&self.me, std::slice::from_ref(&r), 1, r.clone().stored())
                .await
                .unwrap_or_else(|e| Stored::Outcome(Err(e))),
            Some(ms) => {
                let timeout = Duration::from_millis(ms);
                tokio::time::timeout(timeout, r.stored())
                    .await
                    .unwrap_or(Stored::Outcome(Err(Error::Timeout(timeout))))
            }
        };
        Ok(to_guest_aside(stored, self.me.limits.max_value_size).await)
    }

    fn cancel(&mut self, this: Resource<ObjectRefResource>) -> wasmtime::Result<()> {
        self.table.get(&this)?.0.cancel();
        Ok(())
    }

    fn drop(&mut self, this: Resource<ObjectRefResource>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl ActorState {
    /// `actor.call` / `call-with`: the arguments read against the method's
    /// signature, off the worker threads when large.
    async fn call_passing(
        &mut self,
        this: Resource<ActorResource>,
        method: String,
        args: String,
        refs: Vec<Resource<ObjectRefResource>>,
        actors: Vec<crate::call::ActorArg>,
    ) -> wasmtime::Result<Result<Resource<ObjectRefResource>, types::Error>> {
        let refs = take_refs(&mut self.table, refs)?;
        let actor = self.table.get(&this)?.0.clone();
        let called = match self.charge(&args) {
            Err(e) => Err(e),
            Ok(charge) => {
                read_arguments(args.len(), move || {
                    actor.call_json_with_refs(&method, &args, &refs, &actors, Some(charge))
                })
                .await
            }
        };
        push_ref(&mut self.table, called)
    }
}

impl types::HostActor for ActorState {
    fn name(&mut self, this: Resource<ActorResource>) -> wasmtime::Result<String> {
        Ok(self.table.get(&this)?.0.name().to_string())
    }

    async fn call(
        &mut self,
        this: Resource<ActorResource>,
        method: String,
        args: String,
        refs: Vec<Resource<ObjectRefResource>>,
    ) -> wasmtime::Result<Result<Resource<ObjectRefResource>, types::Error>> {
        self.call_passing(this, method, args, refs, Vec::new())
            .await
    }

    async fn call_with(
        &mut self,
        this: Resource<ActorResource>,
        method: String,
        args: String,
        refs: Vec<Resource<ObjectRefResource>>,
        actors: Vec<Resource<ActorResource>>,
    ) -> wasmtime::Result<Result<Resource<ObjectRefResource>, types::Error>> {
        let actors = actors
            .iter()
            .map(|a| Ok(self.table.get(a)?.0.to_arg()))
            .collect::<wasmtime::Result<Vec<_>>>()?;
        self.call_passing(this, method, args, refs, actors).await
    }

    async fn call_stream(
        &mut self,
        this: Resource<ActorResource>,
        method: String,
        args: String,
        refs: Vec<Resource<ObjectRefResource>>,
    ) -> wasmtime::Result<Result<Resource<ItemStreamResource>, types::Error>> {
        let refs = take_refs(&mut self.table, refs)?;
        let actor = self.table.get(&this)?.0.clone();
        let called = match self.charge(&args) {
            Err(e) => Err(e),
            Ok(charge) => actor.call_stream_json(&method, &args, &refs, Some(charge)),
        };
        Ok(match called {
            Ok(items) => Ok(self.table.push(ItemStreamResource(std::sync::Arc::new(
                tokio::sync::Mutex::new(items),
            )))?),
            Err(e) => Err(e.into()),
        })
    }

    fn kill(&mut self, this: Resource<ActorResource>) -> wasmtime::Result<()> {
        self.table.get(&this)?.0.kill();
        Ok(())
    }

    fn drop(&mut self, this: Resource<ActorResource>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}

impl logging::Host for ActorState {
    fn log(&mut self, level: logging::Level, message: String) -> wasmtime::Result<()> {
        let actor = &*self.me.name;
        // One message, one line: a guest cannot forge the host's log lines.
        let message = crate::value::escape_controls(&message);
        match level {
            logging::Level::Trace => tracing::trace!(target: "wactor::guest", actor, "{message}"),
            logging::Level::Debug => tracing::debug!(target: "wactor::guest", actor, "{message}"),
            logging::Level::Info => tracing::info!(target: "wactor::guest", actor, "{message}"),
            logging::Level::Warn => tracing::warn!(target: "wactor::guest", actor, "{message}"),
            logging::Level::Error => tracing::error!(target: "wactor::guest", actor, "{message}"),
        }
        Ok(())
    }
}

impl actors::Host for ActorState {
    fn spawn(
        &mut self,
        component: Option<String>,
        options: types::ActorOptions,
    ) -> wasmtime::Result<Result<Resource<ActorResource>, types::Error>> {
        let request = SpawnRequest {
            name: options.name,
            max_concurrency: options.max_concurrency,
            max_pending_calls: options.max_pending_calls,
            memory_limit: options.memory_limit,
            call_deadline_ms: options.call_deadline_ms,
            node: options.node,
            max_restarts: options.max_restarts,
            max_task_retries: options.max_task_retries,
            concurrency_groups: options
                .concurrency_groups
                .into_iter()
                .map(|g| crate::actor::GroupSpec {
                    name: g.name,
                    max_concurrency: g.max_concurrency as usize,
                    methods: g.methods,
                })
                .collect(),
        };
        Ok(match self.spawner.spawn(component.as_deref(), request) {
            Ok(actor) => Ok(self.table.push(ActorResource(actor))?),
            Err(e) => Err(e.into()),
        })
    }

    async fn submit(
        &mut self,
        component: Option<String>,
        function: String,
        args: String,
        refs: Vec<Resource<ObjectRefResource>>,
    ) -> wasmtime::Result<Result<Resource<ObjectRefResource>, types::Error>> {
        let refs = take_refs(&mut self.table, refs)?;
        let spawner = self.spawner.clone();
        let submitted = match self.charge(&args) {
            Err(e) => Err(e),
            Ok(charge) => {
                read_arguments(args.len(), move || {
                    spawner.submit(component.as_deref(), &function, &args, &refs, Some(charge))
                })
                .await
            }
        };
        push_ref(&mut self.table, submitted)
    }

    async fn wait_blocking(
        &mut self,
        refs: Vec<Resource<ObjectRefResource>>,
        num_returns: u32,
        timeout_ms: Option<u64>,
    ) -> wasmtime::Result<Result<Vec<u32>, types::Error>> {
        let refs = lent_refs(&self.table, &refs)?;
        if self.role == Role::AsyncActor {
            return Ok(Err(types::Error::WouldBlock(
                "wait-blocking called from an async actor would block its event loop; await \
                 `awaiting.wait` instead"
                    .into(),
            )));
        }
        Ok(wait_for(&self.me, refs, num_returns, timeout_ms).await)
    }

    fn current(&mut self) -> wasmtime::Result<Resource<ActorResource>> {
        let me = self.current_actor().ok_or_else(|| {
            wasmtime::Error::msg("the current actor is shutting down: no handles remain")
        })?;
        Ok(self.table.push(ActorResource(me))?)
    }

    fn get_actor(
        &mut self,
        name: String,
    ) -> wasmtime::Result<Result<Resource<ActorResource>, types::Error>> {
        Ok(match self.spawner.get_actor(&name) {
            Ok(actor) => Ok(self.table.push(ActorResource(actor))?),
            Err(e) => Err(e.into()),
        })
    }

    fn put(&mut self, value: String) -> wasmtime::Result<Resource<ObjectRefResource>> {
        // Kept as the text it came as, charged to the program: nothing is
        // decoded unless the host itself reads it (then JSON that does not
        // parse fails where it is used). Over a limit, the ref holds the
        // refusal.
        let r = match self.charge(&value) {
            Ok(charge) => ObjectRef::put_json(value, Some(charge)),
            Err(refused) => ObjectRef::resolved(Err(refused)),
        };
        Ok(self.table.push(ObjectRefResource(r))?)
    }
}

impl time::Host for ActorState {}

impl<T> time::HostWithStore<T> for Guest {
    async fn sleep(_accessor: &Accessor<T, Self>, millis: u64) -> wasmtime::Result<()> {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        Ok(())
    }
}

impl awaiting::Host for ActorState {}

impl<T> awaiting::HostWithStore<T> for Guest {
    async fn get(
        accessor: &Accessor<T, Self>,
        this: Resource<ObjectRefResource>,
    ) -> wasmtime::Result<Result<String, types::Error>> {
        let (r, me) = accessor.with(|mut access| {
            let state = access.get();
            let r = state.table.get(&this).map(|r| r.0.clone())?;
            wasmtime::Result::<_>::Ok((r, state.me.clone()))
        })?;
        if let Some(deadlock) = me.self_deadlock(&r) {
            return Ok(Err(deadlock.into()));
        }
        let stored = recorded_wait(&me, std::slice::from_ref(&r), 1, r.clone().stored())
            .await
            .unwrap_or_else(|e| Stored::Outcome(Err(e)));
        Ok(to_guest_aside(stored, me.limits.max_value_size).await)
    }

    async fn next(
        accessor: &Accessor<T, Self>,
        this: Resource<ItemStreamResource>,
    ) -> wasmtime::Result<Option<Result<String, types::Error>>> {
        let items = accessor.with(|mut access| {
            let state = access.get();
            wasmtime::Result::<_>::Ok(state.table.get(&this)?.0.clone())
        })?;
        Ok(next_item(&items).await)
    }

    async fn wait(
        accessor: &Accessor<T, Self>,
        refs: Vec<Resource<ObjectRefResource>>,
        num_returns: u32,
        timeout_ms: Option<u64>,
    ) -> wasmtime::Result<Result<Vec<u32>, types::Error>> {
        let (refs, me) = accessor.with(|mut access| {
            let state = access.get();
            let refs = lent_refs(&state.table, &refs)?;
            wasmtime::Result::<_>::Ok((refs, state.me.clone()))
        })?;
        Ok(wait_for(&me, refs, num_returns, timeout_ms).await)
    }
}

/// `wait` and `wait-blocking`: the indices of the first `num_returns` ready
/// refs once that many are ready (or the timeout passed); a wait without a
/// timeout is recorded in the deadlock graph.
async fn wait_for(
    me: &std::sync::Arc<crate::actor::ActorShared>,
    refs: Vec<ObjectRef>,
    num_returns: u32,
    timeout_ms: Option<u64>,
) -> Result<Vec<u32>, types::Error> {
    let num_returns = num_returns as usize;
    let timeout = timeout_ms.map(Duration::from_millis);
    let waited = crate::object_ref::wait(refs.clone(), num_returns, timeout);
    let waited = match timeout {
        None if num_returns <= refs.len() => recorded_wait(me, &refs, num_returns, waited)
            .await
            .unwrap_or_else(Err),
        _ => waited.await,
    };
    match waited {
        Ok(_) => Ok(crate::object_ref::ready_indices(&refs, num_returns)
            .into_iter()
            .map(|i| i as u32)
            .collect()),
        Err(e) => Err(e.into()),
    }
}
