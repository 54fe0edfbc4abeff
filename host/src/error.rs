//! The errors of the embedding API.
//!
//! Every error is `Clone` because one failure reaches every holder of an
//! [`ObjectRef`](crate::ObjectRef) (refs are shared, as in Ray), and every
//! message names what failed and what was expected, so a user can act on it
//! without reading our code.

use std::fmt;
use std::time::Duration;

use wasmtime::component::Val;

/// What can go wrong when loading components, spawning actors, calling
/// methods and waiting for results.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
/// use wactor::{Error, Val};
/// let runtime = wactor::Runtime::new()?;
/// let actor = runtime.load(wactor_examples::FAULTY)?.spawn(Default::default())?;
/// match actor.call("divide", (1i64, 0i64))?.await {
///     Err(Error::MethodFailed { error: Some(Val::String(why)), .. }) => {
///         assert_eq!(why, "cannot divide 1 by 0");
///     }
///     other => panic!("unexpected {other:?}"),
/// }
/// // The actor lives on.
/// assert_eq!(actor.call("divide", (6i64, 3i64))?.await?, Val::S64(2));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        reason: String,
    },

    /// The bytes are not valid WebAssembly, or not a valid component.
    #[error("{origin} is not a valid WebAssembly component: {reason}")]
    InvalidComponent {
        /// Where the bytes came from (a path, or the name given to them).
        origin: String,
        /// What the validator or compiler said.
        reason: String,
    },

    /// The bytes are a core WebAssembly module: actors must be components.
    #[error(
        "{origin} is a core WebAssembly module, not a component; actors must be components \
         (build Rust guests with `--target wasm32-wasip2`, or wrap a module with \
         `wasm-tools component new`)"
    )]
    NotAComponent {
        /// Where the bytes came from.
        origin: String,
    },

    /// The component is valid but cannot run as an actor here, e.g. it imports
    /// something the host does not provide.
    #[error("{origin} cannot run as an actor: {reason}")]
    Unsupported {
        /// Where the component came from.
        origin: String,
        /// What is missing or wrong.
        reason: String,
    },

    /// The runtime could not be set up (engine configuration, thread pool).
    #[error("cannot start the wactor runtime: {0}")]
    Setup(String),

    /// Creating an instance of the component failed.
    #[error("cannot instantiate actor {actor}: {reason}")]
    Instantiation {
        /// The actor's name.
        actor: String,
        /// What wasmtime said.
        reason: String,
    },

    /// The actor has no export of that name.
    #[error("actor {actor} has no method `{method}`; its methods are: {}", .available.join(", "))]
    UnknownMethod {
        /// The actor's name.
        actor: String,
        /// The name that was asked for.
        method: String,
        /// The methods it does have.
        available: Vec<String>,
    },

    /// The call passed the wrong number of arguments.
    #[error(
        "`{method}` takes {expected} argument(s) but {got} were given; its signature is {signature}"
    )]
    WrongArity {
        /// The method called.
        method: String,
        /// Its WIT signature.
        signature: String,
        /// How many it takes.
        expected: usize,
        /// How many were given.
        got: usize,
    },

    /// An argument does not have the parameter's type.
    #[error("argument `{param}` of `{method}` must be {expected}, but {got} was given")]
    WrongType {
        /// The method called.
        method: String,
        /// The parameter's name, followed by where inside it the mismatch is
        /// (`opts.repeat`, `tags[2]`) when it is nested.
        param: String,
        /// The WIT type expected there.
        expected: String,
        /// What was given instead.
        got: String,
    },

    /// Arguments written as text (WAVE) could not be parsed.
    #[error("cannot parse the arguments of `{method}` ({signature}): {reason}")]
    BadArguments {
        /// The method called.
        method: String,
        /// Its WIT signature.
        signature: String,
        /// What the parser said.
        reason: String,
    },

    /// The method returned the `err` case of its `result`. The actor lives on.
    /// This is Ray's `RayTaskError`.
    #[error("{actor}.{method} returned an error: {}", render(.error))]
    MethodFailed {
        /// The actor's name.
        actor: String,
        /// The method called.
        method: String,
        /// The error payload, if the `result` type has one.
        error: Option<Val>,
    },

    /// The actor is dead: it trapped, was killed, or its runtime shut down.
    /// Every running, queued and later call gets this. Ray's `ActorDiedError`.
    #[error("actor {actor} died: {cause}")]
    ActorDied {
        /// The actor's name.
        actor: String,
        /// Why it died.
        cause: DeathCause,
    },

    /// The call was cancelled with [`ObjectRef::cancel`](crate::ObjectRef::cancel)
    /// before it finished. Ray's `TaskCancelledError`.
    #[error("the call was cancelled")]
    Cancelled,

    /// The instance running the call trapped and the actor was restarted
    /// ([`ActorOptions::max_restarts`](crate::ActorOptions::max_restarts)):
    /// this call is lost with its instance; the actor lives on.
    #[error("actor {actor} was restarted while running this call: {cause}")]
    ActorRestarted {
        /// The actor's name.
        actor: String,
        /// Why its instance died.
        cause: DeathCause,
    },

    /// Waiting for a result took longer than the timeout given. The call goes
    /// on: waiting again may still succeed. Ray's `GetTimeoutError`.
    #[error("timed out after {0:?} waiting for a result")]
    Timeout(Duration),

    /// The actor's queue holds `max_pending_calls` calls already: the call
    /// was not queued. Retry later, or slow down. Ray's `PendingCallsLimitExceeded`.
    #[error(
        "actor {actor} has {limit} calls waiting already (its max_pending_calls): call refused"
    )]
    Backpressure {
        /// The actor's name.
        actor: String,
        /// Its `max_pending_calls`.
        limit: usize,
    },

    /// A blocking wait was asked for where it would deadlock (e.g. with
    /// `num_returns` larger than the number of refs).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// A result could not be converted to the Rust type asked for.
    #[error("expected a value of type {expected}, got {got}")]
    Conversion {
        /// The Rust type asked for.
        expected: &'static str,
        /// The value received.
        got: String,
    },
}

/// Why an actor died.
///
/// ```
/// # fn main() -> Result<(), wactor::Error> {
/// use wactor::{DeathCause, Error};
/// let runtime = wactor::Runtime::new()?;
/// let actor = runtime.load(wactor_examples::COUNTER)?.spawn(Default::default())?;
/// actor.kill();
/// let err = actor.call("add", (1i64,))?.get(None).unwrap_err();
/// assert!(matches!(err, Error::ActorDied { cause: DeathCause::Killed, .. }));
/// assert_eq!(actor.death_cause(), Some(DeathCause::Killed));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeathCause {
    /// The guest trapped (a panic, `unreachable`, out-of-bounds access, ...).
    /// The message includes the WebAssembly backtrace.
    Trap(String),
    /// [`ActorHandle::kill`](crate::ActorHandle::kill) was called.
    Killed,
    /// The guest called WASI `exit` with this status.
    Exited(i32),
    /// A call ran past its deadline ([`ActorOptions::call_deadline`](crate::ActorOptions::call_deadline)),
    /// so the actor was retired: it may be stuck, and a running call cannot
    /// be stopped any other way.
    DeadlineExceeded {
        /// The method of the call.
        method: String,
        /// The deadline it ran past.
        deadline: std::time::Duration,
    },
    /// The runtime shut down, or dropped the call without running it.
    Shutdown,
}

impl fmt::Display for DeathCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeathCause::Trap(message) => write!(f, "it trapped: {message}"),
            DeathCause::Killed => f.write_str("it was killed"),
            DeathCause::Exited(code) => write!(f, "it exited with status {code}"),
            DeathCause::DeadlineExceeded { method, deadline } => write!(
                f,
                "a call of `{method}` ran past its deadline of {deadline:?}, so the actor was retired"
            ),
            DeathCause::Shutdown => f.write_str("the runtime shut down before the call finished"),
        }
    }
}

/// A value as WAVE text, for messages.
pub(crate) fn render(value: &Option<Val>) -> String {
    match value {
        Some(v) => crate::value::to_wave(v),
        None => "(no payload)".to_string(),
    }
}

/// The result of the embedding API.
pub type Result<T, E = Error> = std::result::Result<T, E>;
