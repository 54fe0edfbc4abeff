//! Driver programs: a component that exports `wasi:cli/run` runs as the
//! "driver" of a Ray program, spawning and calling actors through
//! `wactor:runtime/actors`. The driver may spawn its own component, so a
//! whole program can be one `.wasm`.
//!
//! Either `wasi:cli/run` will do:
//!
//! - WASI 0.2's `run` is sync: the driver blocks with `get-blocking` and
//!   `wait-blocking`, like Ray's driver script calling `ray.get`;
//! - WASI 0.3's `run` is async: the driver awaits `get` and `wait` (and
//!   HTTP, sockets) like a Ray driver with top-level `await`.
//!
//! Both run on the async-actor scheduler (one instance, its own event
//! loop), which WASI 0.3 needs; blocking is allowed in either, as a driver
//! has no other calls to stall.

use super::component::{ActorComponent, OwnComponent};
use super::options::ActorOptions;
use crate::error::{DeathCause, Error, Result};
use crate::guest::Role;

impl ActorComponent {
    /// Runs the component as a driver program and returns its exit status:
    /// 0 when `run` returns `ok`, 1 when it returns `err`, or the status it
    /// passed to WASI `exit`. A trap is an [`Error::ActorDied`] with the
    /// trap and its wasm backtrace. `options` give the program's name, its
    /// arguments ([`ActorOptions::args`]), its output, and the components it
    /// may spawn besides its own ([`ActorOptions::allow_component`]).
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] if the component is not a program; otherwise
    /// as for [`spawn`](ActorComponent::spawn).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let program = runtime.load("program.wasm")?;
    /// let status = program
    ///     .run_driver(wactor::ActorOptions::new().args(["program.wasm", "--fast"]))
    ///     .await?;
    /// std::process::exit(status);
    /// # }
    /// ```
    pub async fn run_driver(&self, options: ActorOptions) -> Result<i32> {
        let Some(entry) = self.command_entry() else {
            return Err(Error::Unsupported {
                origin: self.name().to_string(),
                reason: "it does not export `wasi:cli/run`, so it cannot run as a program; \
                         call one of its methods instead (e.g. `wactor run --invoke`)"
                    .into(),
                source: None,
            });
        };
        let entry = entry.name().to_string();
        let own = OwnComponent::Strong(self.clone());
        let driver = self.spawn_with(options.max_concurrency(1), Role::Driver, own, None)?;
        match driver.call(&entry, ())?.await {
            Ok(_) => Ok(0),
            Err(Error::MethodFailed { .. }) => Ok(1),
            Err(Error::ActorDied {
                cause: DeathCause::Exited(status),
                ..
            }) => Ok(status),
            Err(e) => Err(e),
        }
    }
}
