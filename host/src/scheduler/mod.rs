//! The schedulers: the tasks that own an actor's instances and run its calls.
//!
//! - [`async_actor`]: one instance, one tokio task driving the store's
//!   component-model event loop; calls interleave up to `max_concurrency`.
//! - [`threaded`]: `max_concurrency` instances, one tokio task each, pulling
//!   calls from one shared FIFO queue.
//!
//! Both move calls through the one [`lifecycle`], and follow the same rules
//! on death, so that no call is ever lost: the cause is recorded first, then
//! the mailbox is closed (a racing `call` then sees its send fail and
//! resolves its own ref), then every running and queued call is resolved
//! with [`Error::ActorDied`](crate::Error::ActorDied).

mod async_actor;
mod caller_runs;
mod lifecycle;
mod queues;
mod streams;
mod threaded;

use std::sync::{Arc, Weak};

use wasmtime::component::{Func, Instance};
use wasmtime::{AsContextMut, Store, UpdateDeadline};

use crate::actor::{ActorHandle, ActorShared, Executor, Home, Limits, ProgramSlot};
use crate::call::{LocalMailbox, Mailbox};
use crate::engine::CompiledComponent;
use crate::error::DeathCause;
use crate::guest::{ActorInfo, ActorState, InstanceConfig, Role};
use crate::ids::ActorId;

/// Everything an actor is spawned with, resolved from the caller's options.
pub(crate) struct SpawnPlan {
    pub(crate) id: ActorId,
    pub(crate) name: Arc<str>,
    pub(crate) limits: Limits,
    pub(crate) instance: InstanceConfig,
    pub(crate) role: Role,
    /// Its place in its program, if a guest spawned it.
    pub(crate) program_slot: Option<ProgramSlot>,
}

/// Starts an actor of `component` and returns its handle at once.
/// Instantiation happens in the actor's task: spawning never compiles and
/// never blocks, and a failed instantiation kills the actor with the
/// reason, which every call then reports.
pub(crate) fn spawn(
    component: Arc<CompiledComponent>,
    executor: Arc<Executor>,
    plan: SpawnPlan,
) -> ActorHandle {
    let role = plan.role;
    let shared = Arc::new(
        ActorShared::new(
            plan.id,
            plan.name,
            component.name.clone(),
            component.methods.clone(),
            plan.limits,
            executor.clone(),
        )
        .with_observer(component.observer.clone()),
    );
    if let Some(observer) = &shared.observer {
        let me: std::sync::Weak<dyn crate::observe::Queued> = Arc::downgrade(&shared) as _;
        observer.spawned(me);
    }
    let (mailbox, rx) = LocalMailbox::new(shared.limits.groups.clone());
    let home = executor.place();
    // The default threaded actor, one instance, thread per core, runs a
    // call on the caller's thread while it is idle (`caller_runs`).
    let groups = &shared.limits.groups;
    let (mailbox, here) = if role == Role::ThreadedActor
        && executor.is_per_core()
        && groups.len() == 1
        && groups.limit(0) == 1
    {
        let here = caller_runs::CallerRuns::new(shared.clone(), executor.clone(), home);
        (mailbox.with_dispatch(here.clone()), Some(here))
    } else {
        (mailbox, None)
    };
    let handle = ActorHandle::new(shared.clone(), Arc::new(mailbox));
    let actor = Actor {
        shared,
        component,
        mailbox: handle.weak_mailbox(),
        config: plan.instance,
        role,
        executor: executor.clone(),
        home,
        _program_slot: plan.program_slot,
    };
    match role {
        Role::AsyncActor | Role::Driver => executor.spawn_actor(home, async_actor::run(actor, rx)),
        Role::ThreadedActor => executor.spawn_actor(home, threaded::run(actor, rx, here)),
    }
    handle
}

/// What a scheduler task owns of its actor, besides the queue.
pub(crate) struct Actor {
    pub(crate) shared: Arc<ActorShared>,
    pub(crate) component: Arc<CompiledComponent>,
    /// Its own mailbox, weakly (for retries and `current`): an actor must
    /// not keep itself alive.
    pub(crate) mailbox: Weak<dyn Mailbox>,
    pub(crate) config: InstanceConfig,
    pub(crate) role: Role,
    /// Where its task runs, and the worker it was placed on (its replicas
    /// go to the workers after it).
    pub(crate) executor: Arc<Executor>,
    pub(crate) home: Home,
    /// Given back to its program when the scheduler ends.
    _program_slot: Option<ProgramSlot>,
}

/// A new instance of the actor, with its methods' functions in method order.
///
/// Boxed: instantiating is a large future, needed once. Inline, it would
/// sit in every actor's task for the actor's whole life; boxed, its memory
/// is freed, and reused by the next spawn, as soon as the instance is made.
pub(crate) async fn instantiate(
    actor: &Actor,
) -> Result<(Store<ActorState>, Vec<Func>), DeathCause> {
    Box::pin(instantiate_now(actor)).await
}

async fn instantiate_now(actor: &Actor) -> Result<(Store<ActorState>, Vec<Func>), DeathCause> {
    let shared = &actor.shared;
    let linked = actor.component.linked_for(actor.role).await;
    let engines = &actor.component.engines;
    let info = ActorInfo {
        id: shared.id,
        name: &shared.name,
        component: &shared.component,
        kind: shared.kind(),
        data: actor.config.data.as_deref(),
    };
    let capabilities = engines
        .capabilities()
        .prepare(&info)
        .map_err(DeathCause::Instantiation)?;
    let state = ActorState::new(
        shared.clone(),
        actor.mailbox.clone(),
        actor.role,
        &actor.config,
        capabilities,
        engines.memory(),
    )
    .map_err(DeathCause::Instantiation)?;
    let mut store = Store::new(linked.pre.engine(), state);
    store.limiter(|state| &mut state.budget);
    // Yield to the executor at every epoch tick (a no-op when the engine
    // does not interrupt guests): a guest that spins cannot starve others.
    // Through tokio's `yield_now`, which lets the timer and I/O drivers run
    // before the guest resumes; a plain self-wake would only let them run
    // every few dozen task polls, delaying every timer by that much.
    store.set_epoch_deadline(1);
    let settings = &engines.settings;
    let slice = settings
        .time_slice
        .unwrap_or(crate::engine::DEFAULT_TIME_SLICE);
    let threshold = settings.lag_warning;
    store.epoch_deadline_callback(move |mut store| {
        let state = store.data_mut();
        if let Some(ran) = state.lag.tick(slice, threshold) {
            let method = state
                .current_method
                .map_or("(unknown: async calls interleave)", |m| {
                    state.me.methods.get(m).name()
                });
            tracing::warn!(
                target: "wactor::lag",
                actor = %state.me.name,
                method,
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
    let instance: Instance = linked
        .pre
        .instantiate_async(&mut store)
        .await
        .map_err(|e| DeathCause::Instantiation(trap_message(&e)))?;
    let funcs = shared
        .methods
        .iter()
        .zip(&linked.exports)
        .map(|(m, export)| {
            instance
                .get_func(store.as_context_mut(), export)
                .ok_or_else(|| {
                    DeathCause::Instantiation(format!("export `{}` is missing", m.name()))
                })
        })
        .collect::<Result<_, _>>()?;
    Ok((store, funcs))
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

#[cfg(test)]
mod tests;
