//! The Python guests (`python/`), built with a pinned componentize-py.

use std::process::Command;

use crate::tools::{pip_venv, run};
use crate::{Guest, Paths};

/// The componentize-py release the Python guests are built and tested with.
const COMPONENTIZE_PY: &str = "componentize-py==0.25.1";

const GUESTS: &[Guest] = &[
    Guest {
        name: "py-async-actor",
        folder: "async-actor",
        wit: "python/async-actor/wit",
        world: "wactor-examples:py-async-actor/py-async-actor",
    },
    Guest {
        name: "py-driver",
        folder: "driver",
        wit: "python/driver/wit",
        world: "wactor-examples:py-driver/py-driver",
    },
    Guest {
        name: "py-http-fetch",
        folder: "http-fetch",
        wit: "python/http-fetch/wit",
        world: "wactor-examples:py-http-fetch/py-http-fetch",
    },
    Guest {
        name: "py-conformance",
        folder: "conformance",
        wit: "wit",
        world: "wactor-examples:guests/conformance",
    },
];

pub(crate) fn build(paths: &Paths) {
    let python_dir = paths.examples.join("python");
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
        let own_wit = paths.examples.join(guest.wit);
        let inputs = [src.clone(), own_wit.clone(), wasi_cli.clone()];
        paths.guest("python", guest.name, &inputs, |out| {
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
                    .arg(out)
                    .env_remove("VIRTUAL_ENV"),
                &format!("componentize-py building {}", guest.name),
            );
        });
    }
}
