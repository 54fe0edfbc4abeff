//! The example actors of wactor, built from `examples/actors/*` to
//! `wasm32-wasip2` components by this crate's build script.
//!
//! Tests, benchmarks and the demo load them through the paths here:
//!
//! ```
//! let path = wactor_examples::ASYNC_ACTOR;
//! assert!(std::path::Path::new(path).exists());
//! assert_eq!(wactor_examples::path("async-actor"), Some(path));
//! ```

/// Ray's `AsyncActor`: `run-concurrent`, `run-task(millis)`, `peak-concurrency`,
/// `finished-tasks`. Every method that waits is an `async func`.
pub const ASYNC_ACTOR: &str = env!("WACTOR_EXAMPLE_ASYNC_ACTOR");

/// Ray's `ThreadedActor`: sync `task-1(millis)`, `task-2(millis)` and
/// `work(id, millis)`.
pub const THREADED_ACTOR: &str = env!("WACTOR_EXAMPLE_THREADED_ACTOR");

/// A stateful counter with sync `add(n)` and `value()`.
pub const COUNTER: &str = env!("WACTOR_EXAMPLE_COUNTER");

/// An async actor that fails on purpose: `divide` (error values), `echo`,
/// `crash-after` (traps), `describe` (many argument types), `note` (logs).
pub const FAULTY: &str = env!("WACTOR_EXAMPLE_FAULTY");

/// Every example as `(name, path)`.
pub const ALL: &[(&str, &str)] = &[
    ("async-actor", ASYNC_ACTOR),
    ("threaded-actor", THREADED_ACTOR),
    ("counter", COUNTER),
    ("faulty", FAULTY),
];

/// The path of the example called `name` (e.g. `"counter"`), if there is one.
pub fn path(name: &str) -> Option<&'static str> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}
