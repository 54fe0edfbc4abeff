//! The host side of `wit/runtime.wit` (`wactor:runtime`), plus WASI.
//!
//! Defined by hand on the linker rather than through `bindgen!` so each
//! function can pick its calling convention: `async func`s (`sleep`,
//! `object-ref.get`, `wait`) must be defined with `func_wrap_concurrent` (a
//! plain async host function fails to link: "type mismatch with async");
//! `get-blocking` is sync for the guest but async on the host
//! (`func_wrap_async`: the guest's fiber waits, the thread does not); the
//! rest are plain sync functions. The integration tests load real guests
//! built against `wit/`, so a drift between this file and the WIT fails at
//! link time in the tests.

use std::time::Duration;

use wasmtime::component::{ComponentType, Lift, Linker, Lower, Resource, ResourceType};
use wasmtime::{AsContextMut, StoreContextMut};

use crate::actor::ActorHandle;
use crate::error::Error;
use crate::json;
use crate::object_ref::{ObjectRef, Outcome};
use crate::sandbox::{ActorState, Role};

/// The interface names, with the package version the guests import.
const TIME: &str = "wactor:runtime/time@0.1.0";
const LOGGING: &str = "wactor:runtime/logging@0.1.0";
const ACTORS: &str = "wactor:runtime/actors@0.1.0";

/// An `object-ref` handle's entry in a store's resource table.
pub(crate) struct ObjectRefResource(pub(crate) ObjectRef);

/// An `actor` handle's entry in a store's resource table.
pub(crate) struct ActorResource(ActorHandle);

/// `wactor:runtime/logging.level`.
#[derive(ComponentType, Lift, Clone, Copy, Debug)]
#[component(enum)]
#[repr(u8)]
#[allow(dead_code)] // constructed by lifting from the guest
enum Level {
    #[component(name = "trace")]
    Trace,
    #[component(name = "debug")]
    Debug,
    #[component(name = "info")]
    Info,
    #[component(name = "warn")]
    Warn,
    #[component(name = "error")]
    Error,
}

/// `wactor:runtime/actors.error`.
#[derive(ComponentType, Lower, Clone, Debug)]
#[component(variant)]
enum GuestError {
    #[component(name = "method-failed")]
    MethodFailed(String),
    #[component(name = "actor-died")]
    ActorDied(String),
    #[component(name = "timeout")]
    Timeout,
    #[component(name = "cancelled")]
    Cancelled,
    #[component(name = "invalid")]
    Invalid(String),
    #[component(name = "would-block")]
    WouldBlock(String),
    #[component(name = "overloaded")]
    Overloaded(String),
}

impl From<Error> for GuestError {
    fn from(error: Error) -> Self {
        match error {
            Error::MethodFailed { error, .. } => GuestError::MethodFailed(
                error.map_or_else(|| "null".to_string(), |v| json::to_json(&v).to_string()),
            ),
            e @ Error::ActorDied { .. } => GuestError::ActorDied(e.to_string()),
            Error::Timeout(_) => GuestError::Timeout,
            Error::Cancelled => GuestError::Cancelled,
            Error::InvalidRequest(why) => GuestError::Invalid(why),
            e @ Error::Backpressure { .. } => GuestError::Overloaded(e.to_string()),
            e => GuestError::Invalid(e.to_string()),
        }
    }
}

/// `wactor:runtime/actors.actor-options`.
#[derive(ComponentType, Lift, Clone, Debug)]
#[component(record)]
struct GuestActorOptions {
    name: Option<String>,
    #[component(name = "max-concurrency")]
    max_concurrency: Option<u32>,
}

type GuestResult<T> = Result<T, GuestError>;

/// An outcome as the guest sees it: the value as JSON, or the error.
fn to_guest(outcome: Outcome) -> GuestResult<String> {
    outcome
        .map(|v| json::to_json(&v).to_string())
        .map_err(GuestError::from)
}

/// Defines WASI and `wactor:runtime` on `linker`. Without `concurrent`
/// (an engine without the component model's async ABI), the `async func`s
/// (`sleep`, `object-ref.get`, `wait`) are left out: a component that
/// imports them does not link there, and runs on the concurrent engine.
pub(crate) fn add_to_linker(
    linker: &mut Linker<ActorState>,
    concurrent: bool,
) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;

    if concurrent {
        linker
            .instance(TIME)?
            .func_wrap_concurrent("sleep", |_accessor, (millis,): (u64,)| {
                Box::pin(async move {
                    tokio::time::sleep(Duration::from_millis(millis)).await;
                    Ok(())
                })
            })?;
    }

    linker.instance(LOGGING)?.func_wrap(
        "log",
        |store: StoreContextMut<'_, ActorState>, (level, message): (Level, String)| {
            let actor = &*store.data().actor;
            match level {
                Level::Trace => tracing::trace!(target: "wactor::guest", actor, "{message}"),
                Level::Debug => tracing::debug!(target: "wactor::guest", actor, "{message}"),
                Level::Info => tracing::info!(target: "wactor::guest", actor, "{message}"),
                Level::Warn => tracing::warn!(target: "wactor::guest", actor, "{message}"),
                Level::Error => tracing::error!(target: "wactor::guest", actor, "{message}"),
            }
            Ok(())
        },
    )?;

    add_actors(linker, concurrent)
}

fn add_actors(linker: &mut Linker<ActorState>, concurrent: bool) -> wasmtime::Result<()> {
    let mut actors = linker.instance(ACTORS)?;

    actors.resource(
        "object-ref",
        ResourceType::host::<ObjectRefResource>(),
        |mut store, rep| {
            store
                .data_mut()
                .table
                .delete(Resource::<ObjectRefResource>::new_own(rep))?;
            Ok(())
        },
    )?;
    actors.resource(
        "actor",
        ResourceType::host::<ActorResource>(),
        |mut store, rep| {
            store
                .data_mut()
                .table
                .delete(Resource::<ActorResource>::new_own(rep))?;
            Ok(())
        },
    )?;

    actors.func_wrap(
        "[method]object-ref.clone",
        |mut store: StoreContextMut<'_, ActorState>, (this,): (Resource<ObjectRefResource>,)| {
            let table = &mut store.data_mut().table;
            let r = table.get(&this)?.0.clone();
            Ok((table.push(ObjectRefResource(r))?,))
        },
    )?;
    actors.func_wrap(
        "[method]object-ref.id",
        |store: StoreContextMut<'_, ActorState>, (this,): (Resource<ObjectRefResource>,)| {
            Ok((store.data().table.get(&this)?.0.id(),))
        },
    )?;
    actors.func_wrap(
        "[method]object-ref.is-ready",
        |store: StoreContextMut<'_, ActorState>, (this,): (Resource<ObjectRefResource>,)| {
            Ok((store.data().table.get(&this)?.0.is_ready(),))
        },
    )?;
    actors.func_wrap(
        "[method]object-ref.cancel",
        |store: StoreContextMut<'_, ActorState>, (this,): (Resource<ObjectRefResource>,)| {
            store.data().table.get(&this)?.0.cancel();
            Ok(())
        },
    )?;
    if concurrent {
        add_awaiting_functions(&mut actors)?;
    }
    actors.func_wrap_async(
        "[method]object-ref.get-blocking",
        |store: StoreContextMut<'_, ActorState>,
         (this, timeout_ms): (Resource<ObjectRefResource>, Option<u64>)| {
            let state = store.data();
            let looked_up = state.table.get(&this).map(|r| r.0.clone());
            let role = state.role;
            let me = state.me.clone();
            Box::new(async move {
                let r = looked_up?;
                if let Some(why) = me.self_deadlock(&r) {
                    return Ok((Err(GuestError::WouldBlock(why)),));
                }
                if role == Role::AsyncActor {
                    // Blocking here would stall every call of this actor,
                    // and deadlock if the result needs this actor (Ray
                    // warns and hangs; we refuse).
                    return Ok((Err(GuestError::WouldBlock(
                        "get-blocking called from an async actor would block its event loop; \
                         await `get` instead"
                            .into(),
                    )),));
                }
                let outcome = match timeout_ms {
                    None => r.await,
                    Some(ms) => {
                        let timeout = Duration::from_millis(ms);
                        tokio::time::timeout(timeout, r)
                            .await
                            .unwrap_or(Err(Error::Timeout(timeout)))
                    }
                };
                Ok((to_guest(outcome),))
            })
        },
    )?;

    actors.func_wrap(
        "[method]actor.name",
        |store: StoreContextMut<'_, ActorState>, (this,): (Resource<ActorResource>,)| {
            Ok((store.data().table.get(&this)?.0.name().to_string(),))
        },
    )?;
    actors.func_wrap(
        "[method]actor.kill",
        |store: StoreContextMut<'_, ActorState>, (this,): (Resource<ActorResource>,)| {
            store.data().table.get(&this)?.0.kill();
            Ok(())
        },
    )?;
    actors.func_wrap(
        "[method]actor.call",
        |mut store: StoreContextMut<'_, ActorState>,
         (this, method, args, refs): (
            Resource<ActorResource>,
            String,
            String,
            Vec<Resource<ObjectRefResource>>,
        )| {
            let table = &mut store.data_mut().table;
            let refs = refs
                .into_iter()
                .map(|h| Ok(table.delete(h)?.0))
                .collect::<wasmtime::Result<Vec<_>>>()?;
            let actor = table.get(&this)?.0.clone();
            let called = actor.call_json_with_refs(&method, &args, &refs);
            Ok((match called {
                Ok(r) => Ok(table.push(ObjectRefResource(r))?),
                Err(e) => Err(GuestError::from(e)),
            },))
        },
    )?;

    actors.func_wrap(
        "spawn",
        |mut store: StoreContextMut<'_, ActorState>,
         (component, options): (Option<String>, GuestActorOptions)| {
            let state = store.data_mut();
            let chosen = state.env.component(component.as_deref());
            // Spawned actors get what their spawner has: the same components,
            // directories, environment and output streams.
            let mut spawn_options = (*state.env.children).clone();
            if let Some(name) = options.name {
                spawn_options = spawn_options.name(name);
            }
            if let Some(n) = options.max_concurrency {
                spawn_options = spawn_options.max_concurrency(n as usize);
            }
            let spawned = chosen.and_then(|c| c.spawn(spawn_options));
            Ok((match spawned {
                Ok(actor) => Ok(state.table.push(ActorResource(actor))?),
                Err(e) => Err(GuestError::from(e)),
            },))
        },
    )?;

    actors.func_wrap(
        "submit",
        |mut store: StoreContextMut<'_, ActorState>,
         (component, function, args, refs): (
            Option<String>,
            String,
            String,
            Vec<Resource<ObjectRefResource>>,
        )| {
            let state = store.data_mut();
            let refs = refs
                .into_iter()
                .map(|h| Ok(state.table.delete(h)?.0))
                .collect::<wasmtime::Result<Vec<_>>>()?;
            let submitted = state
                .env
                .component(component.as_deref())
                .and_then(|c| c.task_pool()?.call_json_with_refs(&function, &args, &refs));
            Ok((match submitted {
                Ok(r) => Ok(state.table.push(ObjectRefResource(r))?),
                Err(e) => Err(GuestError::from(e)),
            },))
        },
    )?;

    actors.func_wrap(
        "current",
        |mut store: StoreContextMut<'_, ActorState>, (): ()| {
            let state = store.data_mut();
            let me = state.current_actor().ok_or_else(|| {
                wasmtime::Error::msg("the current actor is shutting down: no handles remain")
            })?;
            Ok((state.table.push(ActorResource(me))?,))
        },
    )?;

    actors.func_wrap(
        "put",
        |mut store: StoreContextMut<'_, ActorState>, (value,): (String,)| {
            // Unparseable JSON is stored as the failure it is, so the
            // mistake surfaces where the value is used.
            let r = match serde_json::from_str::<serde_json::Value>(&value) {
                Ok(json) => crate::put(json::untyped(&json)),
                Err(e) => ObjectRef::resolved(Err(Error::InvalidRequest(format!(
                    "put was given invalid JSON ({e}): {value}"
                )))),
            };
            Ok((store
                .as_context_mut()
                .data_mut()
                .table
                .push(ObjectRefResource(r))?,))
        },
    )?;

    Ok(())
}

/// The `async func`s of `actors`, which only an engine with the component
/// model's async ABI can define.
fn add_awaiting_functions(
    actors: &mut wasmtime::component::LinkerInstance<'_, ActorState>,
) -> wasmtime::Result<()> {
    actors.func_wrap_concurrent(
        "[method]object-ref.get",
        |accessor, (this,): (Resource<ObjectRefResource>,)| {
            Box::pin(async move {
                let (r, deadlock) = accessor.with(|mut access| {
                    let state = access.get();
                    let r = state.table.get(&this).map(|r| r.0.clone())?;
                    let deadlock = state.me.self_deadlock(&r);
                    wasmtime::Result::<_>::Ok((r, deadlock))
                })?;
                if let Some(why) = deadlock {
                    return Ok((Err(GuestError::WouldBlock(why)),));
                }
                Ok((to_guest(r.await),))
            })
        },
    )?;

    actors.func_wrap_concurrent(
        "wait",
        |accessor,
         (refs, num_returns, timeout_ms): (
            Vec<Resource<ObjectRefResource>>,
            u32,
            Option<u64>,
        )| {
            Box::pin(async move {
                let refs = accessor.with(|mut access| {
                    refs.iter()
                        .map(|h| Ok(access.get().table.get(h)?.0.clone()))
                        .collect::<wasmtime::Result<Vec<_>>>()
                })?;
                let timeout = timeout_ms.map(Duration::from_millis);
                let waited = crate::wait(refs.clone(), num_returns as usize, timeout).await;
                let result = waited.map_err(GuestError::from).map(|_| {
                    refs.iter()
                        .enumerate()
                        .filter(|(_, r)| r.is_ready())
                        .map(|(i, _)| i as u32)
                        .collect::<Vec<u32>>()
                });
                Ok((result,))
            })
        },
    )?;
    Ok(())
}
