//! The Python guests (`python/`), built with a pinned componentize-py.

use std::process::Command;

use crate::Paths;
use crate::tools::{announce, built_from, pip_venv, run, up_to_date};

/// The componentize-py release the Python guests are built and tested with.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

/// A Python guest: its name, its folder in `python/`, its WIT world, the
/// output file, and whether its world is one of the shared ones in
/// `examples/wit` (else it is in the folder's own `wit/`).
struct Guest {
    name: &'static str,
    folder: &'static str,
    world: &'static str,
    file: &'static str,
    shared_world: bool,
}

const GUESTS: &[Guest] = &[
    Guest {
        name: "py-async-actor",
        folder: "async-actor",
        world: "wactor-examples:py-async-actor/py-async-actor",
        file: "py_async_actor.wasm",
        shared_world: false,
    },
    Guest {
        name: "py-driver",
        folder: "driver",
        world: "wactor-examples:py-driver/py-driver",
        file: "py_driver.wasm",
        shared_world: false,
    },
    Guest {
        name: "py-http-fetch",
        folder: "http-fetch",
        world: "wactor-examples:py-http-fetch/py-http-fetch",
        file: "py_http_fetch.wasm",
        shared_world: false,
    },
    Guest {
        name: "py-conformance",
        folder: "conformance",
        world: "wactor-examples:guests/conformance",
        file: "py_conformance.wasm",
        shared_world: true,
    },
];

/// Builds each guest whose inputs are newer than its component.
pub(crate) fn build(paths: &Paths) {
    let python_dir = paths.examples.join("python");
    let out_dir = paths.out.join("python");
    std::fs::create_dir_all(&out_dir).expect("create the Python guest folder");
    let venv = pip_venv(
        &paths.out.join("py-venv"),
        COMPONENTIZE_PY,
        &["componentize-py", "--version"],
    );
    let componentize = venv.join("bin").join("componentize-py");
    // componentize-py does not bundle WASI's WIT: the one interface of it
    // a driver exports is in `wasi-cli/`.
    let wasi_cli = python_dir.join("wasi-cli");
    for guest in GUESTS {
        let src = python_dir.join(guest.folder);
        let own_wit = if guest.shared_world {
            paths.guests_wit.clone()
        } else {
            src.join("wit")
        };
        let out = out_dir.join(guest.file);
        let inputs = [
            paths.examples.join("build").join("python.rs"),
            src.clone(),
            paths.runtime_wit.clone(),
            own_wit.clone(),
            wasi_cli.clone(),
        ];
        if !up_to_date(&out, &inputs) {
            run(
                Command::new(&componentize)
                    .arg("-d")
                    .arg(&paths.runtime_wit)
                    .arg("-d")
                    .arg(&wasi_cli)
                    .arg("-d")
                    .arg(&own_wit)
                    .arg("-w")
                    .arg(guest.world)
                    .arg("componentize")
                    .arg("-p")
                    .arg(&src)
                    .arg("app")
                    .arg("-o")
                    .arg(&out)
                    .env_remove("VIRTUAL_ENV"),
                &format!("componentize-py building {}", guest.name),
            );
            built_from(&out, &inputs);
        }
        announce(guest.name, &out);
    }
}
