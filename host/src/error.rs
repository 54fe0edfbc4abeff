//! The errors of the embedding API.
//!
//! Every error is `Clone` because one failure reaches every holder of an
//! [`ObjectRef`](crate::ObjectRef) (refs are shared, as in Ray), so causes
//! from other libraries are kept behind an `Arc` and reached through
//! [`std::error::Error::source`]. Every message names what failed and what
//! was expected, so a user can act on it without reading our code.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Val;

/// The cause of an [`Error`] that came from another library (the operating
/// system, wasmtime, a parser), shared by the clones of the error.
pub type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

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
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: Arc<std::io::Error>,
    },

    /// The bytes are not valid WebAssembly, or not a valid component.
    #[error("{origin} is not a valid WebAssembly component: {reason}")]
    InvalidComponent {
        /// Where the bytes came from (a path, or the name given to them).
        origin: String,
        /// What is wrong, in short.
        reason: String,
        /// What the validator or compiler said, when it said something.
        #[source]
        source: Option<Source>,
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
        /// What wasmtime said, when it said something.
        #[source]
        source: Option<Source>,
    },

    /// The runtime could not be set up (engine configuration, thread pool).
    #[error("cannot start the wactor runtime: {what}")]
    Setup {
        /// What could not be set up.
        what: String,
        /// Why.
        #[source]
        source: Source,
    },

    /// An option given to [`spawn`](crate::ActorComponent::spawn) or to the
    /// runtime cannot be used.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option, as named in [`ActorOptions`](crate::ActorOptions).
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A guest asked to spawn from a component it was not given.
    #[error(
        "no component named `{name}` was made available to this actor (available: {}); the \
         host allows components by name, e.g. `wactor run --component {name}=path.wasm`",
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    ComponentNotAllowed {
        /// The name asked for.
        name: String,
        /// The names it may use.
        available: Vec<String>,
    },

    /// The actor has no export of that name.
    #[error("actor {actor} has no method `{method}`; its methods are: {}", .available.join(", "))]
    UnknownMethod {
        /// The actor's (or component's) name.
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

    /// Arguments written as text (WAVE or JSON) could not be parsed.
    #[error("cannot parse the arguments of `{method}` ({signature}): {reason}")]
    BadArguments {
        /// The method called.
        method: String,
        /// Its WIT signature.
        signature: String,
        /// What the parser said, and where.
        reason: String,
    },

    /// A value could not be stored or handed over: JSON that does not parse
    /// (a guest's `put`), or a result the host cannot pass to its caller.
    #[error("invalid value: {reason}")]
    InvalidValue {
        /// What is wrong with it.
        reason: String,
        /// What the parser said, when it said something.
        #[source]
        source: Option<Source>,
    },

    /// The method returns a resource handle that cannot leave its actor
    /// (anything but one top-level `object-ref`: another resource type, a
    /// handle nested in a list or record, a future or stream). It is
    /// refused before it runs, so no handle is left behind in the callee.
    #[error(
        "`{method}` ({signature}) cannot be called from outside its actor: it returns {what}, \
         and only a top-level object-ref, or a stream the host can read, can leave an actor"
    )]
    UnreturnableResult {
        /// The method called.
        method: String,
        /// Its WIT signature.
        signature: String,
        /// The handle type it returns.
        what: String,
    },

    /// [`ActorHandle::call_stream`](crate::ActorHandle::call_stream) of a
    /// method that does not return a `stream<T>`: use `call`.
    #[error(
        "`{method}` ({signature}) does not return a stream: call it with `call`, not `call_stream`"
    )]
    NotAStream {
        /// The method called.
        method: String,
        /// Its WIT signature.
        signature: String,
    },

    /// The arguments of a call could not be moved into the callee's
    /// instance (e.g. its table of handles is full). The call did not run.
    #[error("cannot pass the arguments of `{method}` into the actor: {reason}")]
    Transfer {
        /// The method called.
        method: String,
        /// What wasmtime said.
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

    /// The actor could not be reached, and whether the call ran is unknown:
    /// the connection to the cluster (NATS) broke while it was in flight.
    /// The actor may live on; calling again may succeed. Ray's
    /// `ActorUnavailableError`.
    #[error("actor {actor} is unavailable: {reason}")]
    Unavailable {
        /// The actor's name.
        actor: String,
        /// What broke.
        reason: String,
    },

    /// An actor with this name lives already (in this runtime, or anywhere
    /// in its cluster): names given with
    /// [`ActorOptions::name`](crate::ActorOptions::name) are unique, so
    /// that [`Runtime::get_actor`](crate::Runtime::get_actor) finds one actor.
    #[error("the actor name `{name}` is taken (by an actor {holder})")]
    NameTaken {
        /// The name asked for.
        name: String,
        /// Where the actor holding it lives.
        holder: String,
    },

    /// No live actor has this name ([`Runtime::get_actor`](crate::Runtime::get_actor)).
    #[error("no actor is named `{name}`{where_}")]
    NoSuchActor {
        /// The name asked for.
        name: String,
        /// Where was looked (empty, or " in the cluster").
        where_: &'static str,
    },

    /// A quota of the sandbox is used up: the request was refused, and
    /// nothing else changed. Retry once some of what counts against it is
    /// gone, or raise the limit.
    #[error("too many {what}: the limit is {limit} (raise it with {raise_with})")]
    QuotaExceeded {
        /// What is counted.
        what: &'static str,
        /// The limit.
        limit: usize,
        /// The option that sets it.
        raise_with: &'static str,
    },

    /// Waiting here would never end, or would stall other calls: a blocking
    /// get inside an async actor, or a wait for a call that cannot start.
    #[error("would block: {reason}")]
    WouldBlock {
        /// Why, and what to do instead.
        reason: String,
    },

    /// [`wait`](crate::wait) was asked for more results than it was given
    /// refs: it could never return.
    #[error("cannot wait for {num_returns} results among {refs} refs")]
    InvalidWait {
        /// How many results were asked for.
        num_returns: usize,
        /// How many refs were given.
        refs: usize,
    },

    /// A result could not be converted to the Rust type asked for.
    #[error("expected a value of type {expected}, got {got}")]
    Conversion {
        /// The Rust type asked for.
        expected: &'static str,
        /// The value received.
        got: String,
    },
}

impl Error {
    /// Whether trying again may succeed: a wait that timed out (the call
    /// goes on), a call refused by backpressure (the queue drains), a
    /// quota used up (what counts against it may go), or a call lost with a
    /// restarted instance (the actor lives on). The other
    /// errors repeat if the same thing is tried again.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(wactor::Error::Timeout(Duration::from_secs(1)).is_retryable());
    /// assert!(!wactor::Error::Cancelled.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Timeout(_)
                | Error::Backpressure { .. }
                | Error::QuotaExceeded { .. }
                | Error::ActorRestarted { .. }
                | Error::Unavailable { .. }
        )
    }

    /// An [`Error::InvalidComponent`] for bytes wasmtime refused.
    pub(crate) fn invalid_component(origin: &str, error: wasmtime::Error) -> Error {
        Error::InvalidComponent {
            origin: origin.to_string(),
            reason: "wasmtime cannot validate or compile it".into(),
            source: Some(source(error)),
        }
    }

    /// An [`Error::Setup`] for what wasmtime or the OS refused.
    pub(crate) fn setup(what: &str, source: Source) -> Error {
        Error::Setup {
            what: what.to_string(),
            source,
        }
    }
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
        deadline: Duration,
    },
    /// No instance could be made: the component's start code trapped, a
    /// granted directory could not be opened, or the instance pool is full.
    Instantiation(String),
    /// The host failed while serving the actor (a bug in wactor or in an
    /// embedder's capability): the actor was stopped rather than left in a
    /// state nobody can vouch for.
    HostFault(String),
    /// The runtime shut down, or dropped the call without running it.
    Shutdown,
    /// The cluster node the actor ran on stopped heartbeating (it crashed,
    /// was killed, or lost its network) and was declared lost.
    NodeLost {
        /// The node's name.
        node: String,
    },
    /// The cluster node the actor ran on was stopped (SIGINT/SIGTERM, or
    /// its runtime left the cluster).
    NodeStopped {
        /// The node's name.
        node: String,
    },
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
            DeathCause::Instantiation(why) => write!(f, "no instance could be made: {why}"),
            DeathCause::HostFault(why) => write!(f, "the host failed while serving it: {why}"),
            DeathCause::Shutdown => f.write_str("the runtime shut down before the call finished"),
            DeathCause::NodeLost { node } => write!(
                f,
                "its node `{node}` was lost (no heartbeat within the cluster's failure timeout)"
            ),
            DeathCause::NodeStopped { node } => write!(f, "its node `{node}` stopped"),
        }
    }
}

/// A value as WAVE text, for messages.
fn render(value: &Option<Val>) -> String {
    match value {
        Some(v) => crate::value::to_wave(v),
        None => "(no payload)".to_string(),
    }
}

/// A wasmtime error as a shareable [`Source`], its chain intact.
pub(crate) fn source(error: wasmtime::Error) -> Source {
    Arc::from(error.into_boxed_dyn_error())
}

/// `error` and every cause behind it, `: `-separated, for places that can
/// only carry text (a guest's error string, a log line).
pub(crate) fn full_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

/// The result of the embedding API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_kept_and_reachable() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let error = Error::Io {
            path: "x.wasm".into(),
            source: Arc::new(io),
        };
        let source = std::error::Error::source(&error).expect("a source");
        assert_eq!(source.to_string(), "no such file");
        assert_eq!(full_text(&error), "cannot read x.wasm: no such file");
    }

    #[test]
    fn only_waiting_again_backpressure_and_restarts_are_retryable() {
        assert!(Error::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(
            Error::Backpressure {
                actor: "a".into(),
                limit: 1
            }
            .is_retryable()
        );
        assert!(
            Error::ActorRestarted {
                actor: "a".into(),
                cause: DeathCause::Trap("x".into())
            }
            .is_retryable()
        );
        assert!(
            !Error::ActorDied {
                actor: "a".into(),
                cause: DeathCause::Killed
            }
            .is_retryable()
        );
        assert!(!Error::Cancelled.is_retryable());
    }

    #[test]
    fn a_wasmtime_error_keeps_its_chain_as_a_source() {
        let error = wasmtime::Error::msg("inner").context("outer");
        let e = Error::invalid_component("c.wasm", error);
        let text = full_text(&e);
        assert!(text.contains("outer") && text.contains("inner"), "{text}");
    }
}
