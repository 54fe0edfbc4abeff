//! Builds the example guests to components.
//!
//! - Rust guests (`actors/`) live in a workspace of their own (they target
//!   `wasm32-wasip2`, the host does not) and are built by a nested `cargo`.
//! - Python guests (`python/`) are built with componentize-py, pinned below
//!   and installed by this script into a virtual environment of its own.
//!
//! Everything goes to `<target-dir>/wactor-guests`, beside the host's build,
//! so a persistent `CARGO_TARGET_DIR` keeps it too. The paths of the built
//! components reach `src/lib.rs` through `WACTOR_EXAMPLE_*` variables.

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
    ("greeter", "greeter.wasm"),
    ("file-store", "file_store.wasm"),
    ("http-fetch", "http_fetch.wasm"),
    ("crawler", "crawler.wasm"),
    ("threaded-fetch", "threaded_fetch.wasm"),
];
const TARGET: &str = "wasm32-wasip2";

/// The componentize-py release the Python guests are built and tested with.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// Python guests: (name, folder in `python/`, WIT world, output file).
const PYTHON: &[(&str, &str, &str, &str)] = &[
    (
        "py-async-actor",
        "async-actor",
        "wactor-examples:py-async-actor/py-async-actor",
        "py_async_actor.wasm",
    ),
    (
        "py-driver",
        "driver",
        "wactor-examples:py-driver/py-driver",
        "py_driver.wasm",
    ),
    (
        "py-http-fetch",
        "http-fetch",
        "wactor-examples:py-http-fetch/py-http-fetch",
        "py_http_fetch.wasm",
    ),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let actors = manifest_dir.join("actors");
    for watched in [
        actors.clone(),
        manifest_dir.join("python"),
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

    build_python(&manifest_dir, &target_dir);

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

/// Builds the Python guests with a pinned componentize-py, installing it first
/// if needed. A guest is rebuilt only when one of its inputs is newer.
fn build_python(manifest_dir: &Path, target_dir: &Path) {
    let python_dir = manifest_dir.join("python");
    let out_dir = target_dir.join("python");
    std::fs::create_dir_all(&out_dir).expect("create the Python guest folder");
    let componentize = componentize_py(target_dir);
    let wit = manifest_dir.join("../wit");
    let wasi_cli = python_dir.join("wasi-cli");
    for (name, folder, world, file) in PYTHON {
        let src = python_dir.join(folder);
        let out = out_dir.join(file);
        let inputs = [src.clone(), wit.clone(), wasi_cli.clone()];
        if !up_to_date(&out, &inputs) {
            let status = Command::new(&componentize)
                .arg("-d")
                .arg(&wit)
                .arg("-d")
                .arg(&wasi_cli)
                .arg("-d")
                .arg(src.join("wit"))
                .arg("-w")
                .arg(world)
                .arg("componentize")
                .arg("-p")
                .arg(&src)
                .arg("app")
                .arg("-o")
                .arg(&out)
                .env_remove("VIRTUAL_ENV")
                .status()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", componentize.display()));
            assert!(status.success(), "componentize-py failed to build {name}");
        }
        println!(
            "cargo:rustc-env=WACTOR_EXAMPLE_{}={}",
            name.replace('-', "_").to_uppercase(),
            path_str(&out)
        );
    }
}

/// The pinned componentize-py, in a virtual environment under the target
/// directory (created, and the package installed, on first use).
fn componentize_py(target_dir: &Path) -> PathBuf {
    let venv = target_dir.join("py-venv");
    let tool = venv.join("bin").join("componentize-py");
    let marker = venv.join(COMPONENTIZE_PY);
    // A virtual environment has its own path baked in: one moved with its
    // target directory is there but does not run, so check that it runs.
    let runs = || {
        Command::new(&tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if marker.exists() && runs() {
        return tool;
    }
    let python = env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    let status = Command::new(&python)
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .status()
        .unwrap_or_else(|e| panic!("cannot run python3 to build the Python examples: {e}"));
    assert!(
        status.success(),
        "python3 -m venv {} failed",
        venv.display()
    );
    let status = Command::new(venv.join("bin").join("pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            COMPONENTIZE_PY,
        ])
        .status()
        .expect("run pip");
    assert!(
        status.success(),
        "installing {COMPONENTIZE_PY} failed (the Python examples need it; pip must reach PyPI)"
    );
    std::fs::write(&marker, b"").expect("mark the installed componentize-py");
    tool
}

/// Whether `output` exists and is newer than every file under `inputs`.
fn up_to_date(output: &Path, inputs: &[PathBuf]) -> bool {
    let Ok(built) = std::fs::metadata(output).and_then(|m| m.modified()) else {
        return false;
    };
    fn newest(path: &Path) -> Option<std::time::SystemTime> {
        let meta = std::fs::metadata(path).ok()?;
        if meta.is_dir() {
            std::fs::read_dir(path)
                .ok()?
                .filter_map(|e| newest(&e.ok()?.path()))
                .max()
        } else {
            meta.modified().ok()
        }
    }
    inputs.iter().filter_map(|p| newest(p)).all(|t| t <= built)
}
