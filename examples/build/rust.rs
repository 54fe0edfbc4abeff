//! The Rust guests: a workspace of their own in `actors/`, built for
//! `wasm32-wasip2` by a nested `cargo`.

use std::env;
use std::process::Command;

use crate::Paths;
use crate::tools::announce;

/// The components the Rust build produces: (name, file). Actors are
/// `cdylib`s (file named after the crate, with `_`); programs are binaries
/// (file named after the binary).
const COMPONENTS: &[(&str, &str)] = &[
    ("async-actor", "async_actor.wasm"),
    ("threaded-actor", "threaded_actor.wasm"),
    ("counter", "counter.wasm"),
    ("faulty", "faulty.wasm"),
    ("async-get", "async_get.wasm"),
    ("run-tasks", "run_tasks.wasm"),
    ("threaded-tasks", "threaded-tasks.wasm"),
    ("pipeline", "pipeline.wasm"),
    ("greeter", "greeter.wasm"),
    ("file-store", "file_store.wasm"),
    ("http-fetch", "http_fetch.wasm"),
    ("crawler", "crawler.wasm"),
    ("threaded-fetch", "threaded_fetch.wasm"),
    ("conformance", "conformance.wasm"),
    ("streamer", "streamer.wasm"),
];
const TARGET: &str = "wasm32-wasip2";

pub(crate) fn build(paths: &Paths) {
    let actors = paths.examples.join("actors");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(actors.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&paths.out);
    // The outer build's flags and wrappers (clippy, coverage, RUSTFLAGS for
    // the host) must not leak into the wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("could not run cargo to build the guest actors: {e}"));
    if !status.success() {
        panic!(
            "building the guest actors in {} failed (see the errors above).\n\
             If the error says the `{TARGET}` target may not be installed, run:\n    \
             rustup target add {TARGET}",
            actors.display()
        );
    }
    for (name, file) in COMPONENTS {
        announce(name, &paths.out.join(TARGET).join("release").join(file));
    }
}
