//! Write [wactor](https://example.invalid/wactor) actors in Rust.
//!
//! An actor is a WebAssembly component whose exports are its methods. Give it
//! a WIT world that includes `wactor:runtime/actor` and declares the methods:
//!
//! ```wit
//! package my:greeter;
//!
//! world greeter {
//!     include wactor:runtime/actor@0.4.0;
//!     // `async func`: calls interleave on one instance (an async actor).
//!     export greet: async func(name: string, delay-ms: u64) -> string;
//! }
//! ```
//!
//! Generate the bindings of that world with [`actor!`] (the `wactor:runtime`
//! interfaces come from this crate) and implement the exports:
//!
//! ```ignore
//! wactor_guest::actor!("my:greeter/greeter"); // reads ./wit
//!
//! struct Greeter;
//!
//! impl Guest for Greeter {
//!     async fn greet(name: String, delay_ms: u64) -> String {
//!         wactor_guest::sleep(std::time::Duration::from_millis(delay_ms)).await;
//!         wactor_guest::info(&format!("greeting {name}"));
//!         format!("hello, {name}")
//!     }
//! }
//!
//! export!(Greeter);
//! ```
//!
//! (`actor!` is `wit_bindgen::generate!` with the path of the wactor WIT
//! files and a `with` entry per `wactor:runtime` interface; write that out
//! yourself if you need other options.)
//!
//! Build it with `cargo build --target wasm32-wasip2 --release`: the output
//! is a component that `wactor run` and the embedding API load directly. The
//! `examples/actors` folder of the wactor repository holds complete actors.
//!
//! The functions here only work inside a wactor host: on other targets they
//! compile (so that docs and `cargo check` work) but abort when called.

use std::time::Duration;

#[allow(missing_docs)] // generated from the documented WIT in `macros/wit/`
mod bindings {
    wactor_guest_macros::runtime_bindings!();
}

pub use bindings::wactor::runtime::{actors, awaiting, logging, time, types};
pub use logging::Level;

/// Generates the bindings of an actor's WIT world, with the
/// `wactor:runtime` interfaces taken from this crate: the `Guest` trait to
/// implement and the `export!` macro, as `wit_bindgen::generate!` does.
///
/// `actor!("my:pkg/my-world")` reads the world from the crate's `wit/`
/// folder; `actor!("my:pkg/my-world", "path/to/wit")` from another. The
/// crate needs no `wit-bindgen` dependency of its own.
///
/// ```ignore
/// wactor_guest::actor!("my:greeter/greeter");
///
/// struct Greeter;
///
/// impl Guest for Greeter {
///     async fn greet(name: String) -> String {
///         wactor_guest::sleep(std::time::Duration::from_millis(100)).await;
///         format!("hello, {name}")
///     }
/// }
///
/// export!(Greeter);
/// ```
pub use wactor_guest_macros::actor;

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}

mod pool;
mod refs;
pub use pool::ActorPool;
pub use refs::{
    Actor, Error, Items, ObjectRef, Options, gather, get_all_blocking, submit, submit_with_refs,
    wait, wait_blocking, wait_for,
};

/// Streams an export returns: `async fn numbers(..) -> StreamReader<u32>`
/// makes one with the world's generated `wit_stream::new()`, returns the
/// reader, and writes from a task started with [`spawn_local`] (writing
/// before returning would wait forever: the caller gets the reader only
/// once the export returns).
pub use wit_bindgen::{StreamReader, StreamResult, StreamWriter, spawn_local};

/// Suspends the calling task for `duration` (rounded down to milliseconds).
///
/// In an `async func` export, only this call waits: other calls on the same
/// actor keep running. Use `std::thread::sleep` in sync exports instead, where
/// blocking the instance is the intent.
pub async fn sleep(duration: Duration) {
    let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    time::sleep(millis).await;
}

/// Records `message` at `level` in the host's log, tagged with the actor.
pub fn log(level: Level, message: &str) {
    logging::log(level, message);
}

/// Records `message` at [`Level::Debug`].
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Records `message` at [`Level::Info`].
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Records `message` at [`Level::Warn`].
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Records `message` at [`Level::Error`].
pub fn error(message: &str) {
    log(Level::Error, message);
}
