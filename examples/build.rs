//! Builds the guest actors in `actors/` to `wasm32-wasip2` components.
//!
//! They live in a workspace of their own (they target wasm, the host does
//! not) and are built by a nested `cargo` into `<target-dir>/wactor-guests`,
//! a folder beside the host's build so a persistent `CARGO_TARGET_DIR` keeps
//! them too. The paths of the built components reach `src/lib.rs` through
//! `WACTOR_EXAMPLE_*` variables.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The components the guest build produces: (name, file). Actors are
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
];
const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let actors = manifest_dir.join("actors");
    for watched in [
        actors.clone(),
        manifest_dir.join("../guest-sdk"),
        manifest_dir.join("../wit"),
    ] {
        println!("cargo:rerun-if-changed={}", watched.display());
    }

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    // OUT_DIR is <target-dir>[/<triple>]/<profile>/build/<pkg>/out.
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .unwrap_or(&out_dir)
        .join("wactor-guests");

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(actors.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
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
        let file = target_dir.join(TARGET).join("release").join(file);
        assert!(
            file.exists(),
            "the guest build did not produce {}",
            file.display()
        );
        println!(
            "cargo:rustc-env=WACTOR_EXAMPLE_{}={}",
            name.replace('-', "_").to_uppercase(),
            path_str(&file)
        );
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str()
        .expect("the target directory's path must be UTF-8")
}
