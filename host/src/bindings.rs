//! The host side of `wit/runtime.wit` (`wactor:runtime`), plus WASI.
//!
//! Defined by hand on the linker rather than through `bindgen!` so each
//! function can pick its calling convention: `sleep` is an `async func`
//! and must be defined with `func_wrap_concurrent` (a plain async host
//! function fails to link: "type mismatch with async"), while `log` is sync.
//! The integration tests load real guests built against `wit/`, so a drift
//! between this file and the WIT fails at link time in the tests.

use std::time::Duration;

use wasmtime::StoreContextMut;
use wasmtime::component::{ComponentType, Lift, Linker};

use crate::sandbox::ActorState;

/// The interface names, with the package version the guests import.
const TIME: &str = "wactor:runtime/time@0.1.0";
const LOGGING: &str = "wactor:runtime/logging@0.1.0";

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

pub(crate) fn add_to_linker(linker: &mut Linker<ActorState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;

    linker
        .instance(TIME)?
        .func_wrap_concurrent("sleep", |_accessor, (millis,): (u64,)| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok(())
            })
        })?;

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
    Ok(())
}
