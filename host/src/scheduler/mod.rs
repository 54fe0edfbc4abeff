//! The schedulers: the tasks that own an actor's instances and run its calls.
//!
//! - [`async_actor`]: one instance, one tokio task driving the store's
//!   component-model event loop; calls interleave up to `max_concurrency`.
//! - [`threaded`]: `max_concurrency` instances, one tokio task each, pulling
//!   calls from one shared FIFO queue.
//!
//! Both follow the same rules on death, so that no call is ever lost: the
//! cause is recorded first, then the mailbox is closed (a racing `call` then
//! sees its send fail and resolves its own ref), then every running and
//! queued call is resolved with [`Error::ActorDied`](crate::Error::ActorDied).

pub(crate) mod async_actor;
pub(crate) mod threaded;

use std::sync::Arc;

use tokio::sync::mpsc;
use wasmtime::component::{Func, Instance, ResourceAny, Type, Val};
use wasmtime::{AsContextMut, Store, UpdateDeadline};

use crate::actor::{ActorHandle, ActorOptions, ActorShared, Call};
use crate::bindings::ObjectRefResource;
use crate::component::{ActorComponent, ActorKind, Method};
use crate::error::{DeathCause, Error, Result};
use crate::object_ref::{Outcome, Promise};
use crate::runtime::DEFAULT_TIME_SLICE;
use crate::sandbox::{ActorState, GuestEnv, Role};
use crate::value::Arg;

pub(crate) fn spawn(component: ActorComponent, options: ActorOptions) -> Result<ActorHandle> {
    let role = match component.kind() {
        ActorKind::Async => Role::AsyncActor,
        ActorKind::Threaded => Role::ThreadedActor,
    };
    spawn_as(component, options, role)
}

/// Spawns with an explicit role. A driver runs on the async scheduler, whose
/// event loop lets its sync `run` call async imports.
pub(crate) fn spawn_as(
    component: ActorComponent,
    options: ActorOptions,
    role: Role,
) -> Result<ActorHandle> {
    let kind = component.kind();
    let max_concurrency = options
        .max_concurrency
        .unwrap_or(kind.default_max_concurrency());
    if let Some(missing) = options.dirs.iter().find(|d| !d.host.is_dir()) {
        return Err(Error::InvalidRequest(format!(
            "cannot give the actor {} as {}: it is not a directory",
            missing.host.display(),
            missing.guest
        )));
    }
    if max_concurrency == 0 {
        return Err(Error::InvalidRequest(
            "max_concurrency must be at least 1".into(),
        ));
    }
    let runtime = component.inner.runtime.clone();
    let id = runtime.next_actor_id();
    let name: Arc<str> = match &options.name {
        Some(name) => name.as_str().into(),
        None => format!("{}-{id}", component.name()).into(),
    };
    let shared = Arc::new(ActorShared::new(
        id,
        name,
        component,
        max_concurrency,
        &options,
    ));
    let (mailbox, rx) = mpsc::unbounded_channel();
    let task_shared = shared.clone();
    let mut options = options;
    options.my_mailbox = Some(mailbox.downgrade());
    match role {
        Role::AsyncActor | Role::Driver => {
            runtime
                .tokio()
                .spawn(async_actor::run(task_shared, rx, options, role))
        }
        Role::ThreadedActor => runtime
            .tokio()
            .spawn(threaded::run(task_shared, rx, options)),
    };
    Ok(ActorHandle { shared, mailbox })
}

/// A store and instance for one actor instance, with its methods resolved.
pub(crate) async fn instantiate(
    shared: &Arc<ActorShared>,
    options: &ActorOptions,
    role: Role,
) -> std::result::Result<(Store<ActorState>, Vec<Func>), DeathCause> {
    let component = &shared.component.inner;
    // Threaded actors run on the engine without the async ABI when their
    // component links there (a sync call costs a quarter as much).
    let sync = match role {
        Role::ThreadedActor => shared.component.sync_variant().await,
        Role::AsyncActor | Role::Driver => None,
    };
    let pre = sync.map_or(&component.pre, |variant| &variant.pre);
    let engine = pre.engine();
    let env = GuestEnv {
        own: shared.component.clone(),
        children: Arc::new(options.inherited()),
    };
    let my_mailbox = options
        .my_mailbox
        .clone()
        .ok_or_else(|| DeathCause::Trap("the actor has no mailbox (a wactor bug)".into()))?;
    let state = ActorState::new(shared.clone(), my_mailbox, role, env, options);
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.budget);
    // Yield to the executor at every epoch tick (a no-op when the engine
    // does not interrupt guests): a guest that spins cannot starve others.
    // Through tokio's `yield_now`, which lets the timer and I/O drivers run
    // before the guest resumes; a plain self-wake would only let them run
    // every few dozen task polls, delaying every timer by that much.
    store.set_epoch_deadline(1);
    let settings = &component.runtime.inner.builder;
    let slice = settings.time_slice.unwrap_or(DEFAULT_TIME_SLICE);
    let threshold = settings.lag_warning;
    store.epoch_deadline_callback(move |mut store| {
        let state = store.data_mut();
        if let Some(ran) = state.lag.tick(slice, threshold) {
            tracing::warn!(
                target: "wactor::lag",
                actor = %state.actor,
                method = state.current_method.as_deref().unwrap_or("(unknown: async calls interleave)"),
                ran_ms = ran.as_millis() as u64,
                "a guest has computed for {} ms without yielding; the actor's other calls wait meanwhile",
                ran.as_millis()
            );
        }
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(tokio::task::yield_now()),
        ))
    });
    let instance: Instance = pre
        .instantiate_async(&mut store)
        .await
        .map_err(|e| DeathCause::Trap(format!("instantiation failed: {}", trap_message(&e))))?;
    let funcs = component
        .methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            // The method's export in the compilation instantiated.
            let export = sync.map_or(m.export, |variant| variant.exports[i]);
            instance
                .get_func(store.as_context_mut(), export)
                .ok_or_else(|| DeathCause::Trap(format!("export `{}` is missing", m.name())))
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok((store, funcs))
}

/// Where a call's result lands: a method returns one value or none, so one
/// slot, of which the call is given as many as the method returns.
pub(crate) struct ResultSlot {
    returns: bool,
    slot: [Val; 1],
}

impl ResultSlot {
    pub(crate) fn for_method(method: &Method) -> Self {
        ResultSlot {
            returns: method.result().is_some(),
            slot: [Val::Bool(false)],
        }
    }

    /// The slots to pass to the call.
    pub(crate) fn slots(&mut self) -> &mut [Val] {
        &mut self.slot[..usize::from(self.returns)]
    }

    /// What the call returned, after it returned.
    pub(crate) fn take(self) -> Option<Val> {
        let [value] = self.slot;
        self.returns.then_some(value)
    }
}

/// Turns what the guest returned into what the caller gets: the value, the
/// `ok` payload of a `result` (its `err` payload becomes
/// [`Error::MethodFailed`]), or `()` (an empty tuple) for no result.
pub(crate) fn outcome(actor: &str, method: &Method, result: Option<Val>) -> Outcome {
    let unit = || Val::Tuple(Vec::new());
    let Some(value) = result else {
        return Ok(unit());
    };
    match (method.result(), value) {
        (Some(Type::Result(_)), Val::Result(Ok(payload))) => Ok(payload.map_or_else(unit, |v| *v)),
        (Some(Type::Result(_)), Val::Result(Err(payload))) => Err(Error::MethodFailed {
            actor: actor.to_string(),
            method: method.name().to_string(),
            error: payload.map(|v| *v),
        }),
        (_, value) => Ok(value),
    }
}

/// The arguments as plain values, if none is an [`ObjectRef`] (the common
/// case, which needs no store); otherwise the arguments back.
pub(crate) fn plain_args(args: Vec<Arg>) -> std::result::Result<Vec<Val>, Vec<Arg>> {
    if args.iter().any(|a| matches!(a, Arg::Ref(_))) {
        return Err(args);
    }
    Ok(args
        .into_iter()
        .filter_map(|a| match a {
            Arg::Val(v) => Some(v),
            Arg::Ref(_) => None,
        })
        .collect())
}

/// Turns the arguments of a call into values of `store`: an [`ObjectRef`]
/// becomes a handle in the store's table.
pub(crate) fn lower_args(
    mut store: impl AsContextMut<Data = ActorState>,
    args: Vec<Arg>,
) -> wasmtime::Result<Vec<Val>> {
    args.into_iter()
        .map(|arg| match arg {
            Arg::Val(v) => Ok(v),
            Arg::Ref(r) => {
                let handle = store
                    .as_context_mut()
                    .data_mut()
                    .table
                    .push(ObjectRefResource(r))?;
                Ok(Val::Resource(ResourceAny::try_from_resource(
                    handle, &mut store,
                )?))
            }
        })
        .collect()
}

/// Resolves `promise` with `outcome`. A method that returns an `object-ref`
/// resolves to that ref's value once it is there (the handle is taken out
/// of the callee's store), so callers see values, never handles.
pub(crate) fn settle(
    mut store: impl AsContextMut<Data = ActorState>,
    promise: Promise,
    outcome: Outcome,
) {
    match outcome {
        Ok(Val::Resource(handle)) => {
            let taken = handle
                .try_into_resource::<ObjectRefResource>(&mut store)
                .and_then(|h| Ok(store.as_context_mut().data_mut().table.delete(h)?));
            match taken {
                Ok(ObjectRefResource(inner)) => {
                    tokio::spawn(async move { promise.resolve(inner.await) });
                }
                Err(e) => promise.resolve(Err(Error::InvalidRequest(format!(
                    "the method returned a resource that is not an object-ref: {e}"
                )))),
            }
        }
        outcome => promise.resolve(outcome),
    }
}

/// Starts the deadline of a call that just started, if the actor has one:
/// past it, the call fails with a timeout and the actor is retired. Abort the
/// returned handle when the call finishes in time.
pub(crate) fn watch_deadline(
    shared: &Arc<ActorShared>,
    promise: &Promise,
    method: &Method,
) -> Option<tokio::task::AbortHandle> {
    let deadline = shared.call_deadline?;
    let call = promise.object_ref()?;
    let shared = shared.clone();
    let method = method.name().to_string();
    let watchdog = tokio::spawn(async move {
        tokio::time::sleep(deadline).await;
        if !call.is_ready() {
            tracing::warn!(actor = %shared.name, method, ?deadline, "call ran past its deadline");
            call.fail(Error::Timeout(deadline));
            shared.die(DeathCause::DeadlineExceeded { method, deadline });
        }
    });
    Some(watchdog.abort_handle())
}

/// Why an actor died, from the error that ended its instance.
pub(crate) fn death_cause(error: &wasmtime::Error) -> DeathCause {
    match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        Some(exit) => DeathCause::Exited(exit.0),
        None => DeathCause::Trap(trap_message(error)),
    }
}

/// The text of a trap: the trap itself first, then the wasm backtrace that
/// wasmtime attaches as context. (Not `{:?}`, which would add the host's
/// Rust backtrace when `RUST_BACKTRACE` is set.)
pub(crate) fn trap_message(error: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = error.chain().map(|c| c.to_string()).collect();
    parts.reverse();
    parts.join("\n").trim().to_string()
}

/// Resolves every running and queued call of a dead actor (see module docs).
pub(crate) fn bury(
    shared: &ActorShared,
    mailbox: &mut mpsc::UnboundedReceiver<Call>,
    running: impl IntoIterator<Item = Promise>,
) {
    let error = shared.died_error();
    for promise in running {
        promise.resolve(Err(error.clone()));
    }
    mailbox.close();
    while let Ok(call) = mailbox.try_recv() {
        call.promise.resolve(Err(error.clone()));
    }
}
