//! Builds the example guests to components, in every guest language.
//!
//! - Rust guests (`actors/`) live in a workspace of their own (they target
//!   `wasm32-wasip2`, the host does not) and are built by a nested `cargo`
//!   (`rust.rs`).
//! - Python guests (`python/`): componentize-py (`python.rs`).
//! - C guests (`c/`): bindings from `wit-bindgen-c`, compiled by zig's
//!   clang, made a component by `wit-component` (`c.rs`).
//! - Go guests (`go/`): bindings from `wit-bindgen-go`, compiled by Go for
//!   `wasip1`, made a component with WASI's reactor adapter (`go.rs`).
//! - JavaScript guests (`js/`): componentize-js (`js.rs`).
//!
//! The tools are pinned and installed by this script (`tools.rs`).
//! Everything goes to `<target-dir>/wactor-guests`, beside the host's build,
//! so a persistent `CARGO_TARGET_DIR` keeps it too. The paths of the built
//! components reach `src/lib.rs` through `WACTOR_EXAMPLE_*` variables.

mod c;
mod go;
mod js;
mod python;
mod rust;
mod tools;

use std::env;
use std::path::PathBuf;

/// Where the build's inputs and outputs are.
#[derive(Debug)]
pub(crate) struct Paths {
    /// `examples/`.
    pub(crate) examples: PathBuf,
    /// `wit/`: the `wactor:runtime` package.
    pub(crate) runtime_wit: PathBuf,
    /// `examples/wit/`: the worlds every language shares.
    pub(crate) guests_wit: PathBuf,
    /// `<target-dir>/wactor-guests`.
    pub(crate) out: PathBuf,
}

/// A guest of a language built from its own sources (not Rust's nested
/// cargo): its example name, its folder in the language's folder, the
/// folder of its WIT world (relative to `examples/`), and the world.
pub(crate) struct Guest {
    pub(crate) name: &'static str,
    pub(crate) folder: &'static str,
    pub(crate) wit: &'static str,
    pub(crate) world: &'static str,
}

fn main() {
    let examples = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    // OUT_DIR is <target-dir>[/<triple>]/<profile>/build/<pkg>/out. A build
    // with a target directory of its own (the fuzz targets') may share the
    // guests, and their toolchains, of another with WACTOR_GUESTS_DIR.
    println!("cargo:rerun-if-env-changed=WACTOR_GUESTS_DIR");
    let out = match env::var_os("WACTOR_GUESTS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => out_dir
            .ancestors()
            .nth(4)
            .unwrap_or(&out_dir)
            .join("wactor-guests"),
    };
    let paths = Paths {
        runtime_wit: examples.join("../wit"),
        guests_wit: examples.join("wit"),
        examples,
        out,
    };
    for watched in [
        "actors",
        "python",
        "c",
        "go",
        "js",
        "wit",
        "build",
        "../guest-sdk",
        "../wit",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            paths.examples.join(watched).display()
        );
    }
    rust::build(&paths);
    python::build(&paths);
    c::build(&paths);
    go::build(&paths);
    js::build(&paths);
}
