//! The JavaScript guests (`js/`), built with componentize-js (which embeds
//! the SpiderMonkey engine, as StarlingMonkey) through `js/componentize.mjs`,
//! which fixes two bugs of its bindings first (see that file).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tools::{npm_ci, run, stage_wit};
use crate::{Guest, Paths};

/// Each guest's folder in `js/` holds its source, `app.js`, and in `wit/`
/// its world.
const GUESTS: &[Guest] = &[
    Guest {
        name: "js-threaded-actor",
        folder: "threaded-actor",
        wit: "js/threaded-actor/wit",
        world: "wactor-examples:js-threaded-actor/js-threaded-actor",
    },
    Guest {
        name: "js-conformance",
        folder: "conformance",
        wit: "js/conformance/wit",
        world: "wactor-examples:js-conformance/js-conformance",
    },
];

pub(crate) fn build(paths: &Paths) {
    let js_dir = paths.examples.join("js");
    let out_dir = paths.out.join("js");
    std::fs::create_dir_all(&out_dir).expect("create the JavaScript guest folder");
    let tools = npm_ci(&paths.out.join("tools").join("js"), &js_dir);
    let wasi_deps = js_dir.join("wit-deps");
    // componentize-js makes a work folder under the temporary folder, and
    // leaves it there when a build fails: keep those with the build.
    let tmp = out_dir.join("tmp");
    std::fs::create_dir_all(&tmp).expect("create the JavaScript build's temporary folder");
    // What every guest's WIT folder gets under `deps/`: wactor's, the
    // shared worlds, and the parts of WASI the guests import.
    let mut deps: Vec<PathBuf> = vec![paths.runtime_wit.clone(), paths.guests_wit.clone()];
    let mut wasi: Vec<PathBuf> = std::fs::read_dir(&wasi_deps)
        .expect("list the WASI WIT of the JavaScript guests")
        .map(|e| e.expect("list the WASI WIT").path())
        .collect();
    wasi.sort();
    deps.extend(wasi);
    let deps: Vec<&Path> = deps.iter().map(PathBuf::as_path).collect();
    for guest in GUESTS {
        let src = js_dir.join(guest.folder);
        let wit = paths.examples.join(guest.wit);
        let inputs = [
            src.clone(),
            wit.clone(),
            wasi_deps.clone(),
            js_dir.join("componentize.mjs"),
            js_dir.join("package-lock.json"),
            paths.guests_wit.clone(),
        ];
        // Its builds are not byte for byte the same (the engine's snapshot
        // holds a temporary path), so rebuild only when an input changed:
        // each new build is a new component for the host to compile.
        paths.guest("js", guest.name, &inputs, |out| {
            let staged = out_dir.join(guest.folder).join("wit");
            stage_wit(&staged, &wit, &deps);
            run(
                Command::new("node")
                    .arg(js_dir.join("componentize.mjs"))
                    .arg("--tools")
                    .arg(&tools)
                    .arg("--wit")
                    .arg(&staged)
                    .arg("--world")
                    .arg(guest.world)
                    .arg("--out")
                    .arg(out)
                    .arg("app.js")
                    // The engine may read files under the working folder
                    // while it loads the module: only the guest's.
                    .current_dir(&src)
                    .env("TMPDIR", &tmp),
                &format!("componentize-js building {}", guest.name),
            );
        });
    }
}
