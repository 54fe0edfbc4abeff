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

/// Program: Ray's first async-actor example (4 × `run-concurrent` via a
/// blocking get, then one awaited by another actor). `wactor run` it.
pub const ASYNC_GET: &str = env!("WACTOR_EXAMPLE_ASYNC_GET");

/// Program: 50 × `run-task` on one async actor; its first argument, if any,
/// is `max_concurrency`.
pub const RUN_TASKS: &str = env!("WACTOR_EXAMPLE_RUN_TASKS");

/// Program: Ray's threaded-actor example, `task-1` and `task-2` on a pool of 2.
pub const THREADED_TASKS: &str = env!("WACTOR_EXAMPLE_THREADED_TASKS");

/// Program and actor: ObjectRefs passed from actor A to B to C; prints 44.
/// Its methods: `produce(n, millis)`, `add-one(input: object-ref)`,
/// `relay(input: object-ref) -> object-ref`.
pub const PIPELINE: &str = env!("WACTOR_EXAMPLE_PIPELINE");

/// A threaded actor that imports a capability the embedder adds,
/// `wactor-examples:host/greetings`: `greet(name)` returns its `greeting`.
pub const GREETER: &str = env!("WACTOR_EXAMPLE_GREETER");

/// A threaded actor that reads, writes and lists files in the directories
/// it was granted: `read-file`, `write-file`, `list-dir`.
pub const FILE_STORE: &str = env!("WACTOR_EXAMPLE_FILE_STORE");

/// An async actor that fetches URLs over `wasi:http@0.3.0`:
/// `fetch(url) -> result<string, string>` and `peak-in-flight`. Needs a
/// grant (`--allow-net HOST:PORT`).
pub const HTTP_FETCH: &str = env!("WACTOR_EXAMPLE_HTTP_FETCH");

/// Program (an async `wasi:cli/run@0.3.0`): fans its URL arguments out
/// over `--fetchers N` actors of the component allowed as "http-fetch" and
/// takes the answers with `wait` as they come.
pub const CRAWLER: &str = env!("WACTOR_EXAMPLE_CRAWLER");

/// A threaded actor with `fetch(url)` over WASI 0.2's blocking
/// `wasi:http` (each instance fetches one URL at a time).
pub const THREADED_FETCH: &str = env!("WACTOR_EXAMPLE_THREADED_FETCH");

/// Python (componentize-py): `http-fetch` over `wasi:http@0.3.0`, the same
/// methods as the Rust one.
pub const PY_HTTP_FETCH: &str = env!("WACTOR_EXAMPLE_PY_HTTP_FETCH");

/// Python (componentize-py): Ray's `AsyncActor` with `run-concurrent`,
/// `run-task` (1 s) and `peak-concurrency`.
pub const PY_ASYNC_ACTOR: &str = env!("WACTOR_EXAMPLE_PY_ASYNC_ACTOR");

/// Python (componentize-py): a driver program that spawns the component
/// made available as "counter" and calls `add` on it.
pub const PY_DRIVER: &str = env!("WACTOR_EXAMPLE_PY_DRIVER");

/// The conformance actor in Rust: one `echo-*` method per kind of WIT type
/// (`examples/wit/guests.wit`, world `conformance`), the same in every
/// guest language.
pub const CONFORMANCE: &str = env!("WACTOR_EXAMPLE_CONFORMANCE");

/// Python (componentize-py): the conformance actor.
pub const PY_CONFORMANCE: &str = env!("WACTOR_EXAMPLE_PY_CONFORMANCE");

/// C: Ray's `AsyncActor`, the exports of [`ASYNC_ACTOR`], its async methods
/// written with `examples/c/include/wactor_async.h`.
pub const C_ASYNC_ACTOR: &str = env!("WACTOR_EXAMPLE_C_ASYNC_ACTOR");

/// C: Ray's `ThreadedActor`, the exports of [`THREADED_ACTOR`], with the
/// sync imports only (`actor-sync`).
pub const C_THREADED_ACTOR: &str = env!("WACTOR_EXAMPLE_C_THREADED_ACTOR");

/// C: the conformance actor.
pub const C_CONFORMANCE: &str = env!("WACTOR_EXAMPLE_C_CONFORMANCE");

/// JavaScript (componentize-js): Ray's `ThreadedActor`, the exports of
/// [`THREADED_ACTOR`], on the sync world.
pub const JS_THREADED_ACTOR: &str = env!("WACTOR_EXAMPLE_JS_THREADED_ACTOR");

/// JavaScript (componentize-js): the conformance actor.
pub const JS_CONFORMANCE: &str = env!("WACTOR_EXAMPLE_JS_CONFORMANCE");

/// Go (`wit-bindgen-go`): Ray's `ThreadedActor`, the exports of
/// [`THREADED_ACTOR`], on the sync world.
pub const GO_THREADED_ACTOR: &str = env!("WACTOR_EXAMPLE_GO_THREADED_ACTOR");

/// Go (`wit-bindgen-go`): the conformance actor.
pub const GO_CONFORMANCE: &str = env!("WACTOR_EXAMPLE_GO_CONFORMANCE");

/// An async actor with streaming results: `numbers(n, millis) -> stream<u32>`
/// (one item every `millis`), `words(text) -> stream<string>`, `written()`,
/// `ping()`, `double(x, millis)`, and from the consuming side
/// `read-numbers(n, millis)` (`call-stream` on an actor it spawns) and
/// `pool-map(actors, values, unordered)` (an `ActorPool`).
pub const STREAMER: &str = env!("WACTOR_EXAMPLE_STREAMER");

/// Every example as `(name, path)`.
pub const ALL: &[(&str, &str)] = &[
    ("async-actor", ASYNC_ACTOR),
    ("threaded-actor", THREADED_ACTOR),
    ("counter", COUNTER),
    ("faulty", FAULTY),
    ("async-get", ASYNC_GET),
    ("run-tasks", RUN_TASKS),
    ("threaded-tasks", THREADED_TASKS),
    ("pipeline", PIPELINE),
    ("greeter", GREETER),
    ("file-store", FILE_STORE),
    ("http-fetch", HTTP_FETCH),
    ("crawler", CRAWLER),
    ("threaded-fetch", THREADED_FETCH),
    ("py-async-actor", PY_ASYNC_ACTOR),
    ("py-driver", PY_DRIVER),
    ("py-http-fetch", PY_HTTP_FETCH),
    ("conformance", CONFORMANCE),
    ("py-conformance", PY_CONFORMANCE),
    ("c-async-actor", C_ASYNC_ACTOR),
    ("c-threaded-actor", C_THREADED_ACTOR),
    ("c-conformance", C_CONFORMANCE),
    ("js-threaded-actor", JS_THREADED_ACTOR),
    ("js-conformance", JS_CONFORMANCE),
    ("go-threaded-actor", GO_THREADED_ACTOR),
    ("go-conformance", GO_CONFORMANCE),
    ("streamer", STREAMER),
];

/// The path of the example called `name` (e.g. `"counter"`), if there is one.
pub fn path(name: &str) -> Option<&'static str> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_reachable_by_name_and_built() {
        let mut names: Vec<&str> = ALL.iter().map(|(n, _)| *n).collect();
        for (name, file) in ALL {
            assert_eq!(path(name), Some(*file), "{name}");
            let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{name}: {file}: {e}"));
            // A component, not a core module: the layer field of the header.
            assert_eq!(
                &bytes[..8],
                b"\0asm\x0d\0\x01\0",
                "{name} is not a component"
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "two examples share a name");
        for language in ["", "py-", "c-", "js-", "go-"] {
            let name = format!("{language}conformance");
            assert!(path(&name).is_some(), "no {name}");
        }
        assert_eq!(path("no-such-example"), None);
    }
}
