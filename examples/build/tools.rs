//! The toolchains the guest builds install for themselves, and the helpers
//! they share.
//!
//! Every tool is pinned and lives under `<target-dir>/wactor-guests/`, so a
//! persistent `CARGO_TARGET_DIR` keeps it between clean clones (CI) and a
//! fresh machine needs nothing but Python with pip and Node.js with npm.
//! A tool is installed on first use, and checked to run before each use:
//! a virtual environment moved with its target directory is still there
//! but no longer runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Paths;

/// A Python package installed at `spec` (`name==version`) in a virtual
/// environment of its own at `venv`; returns the environment. `check` is a
/// program in its `bin/` and its arguments, which must run.
pub(crate) fn pip_venv(venv: &Path, spec: &str, check: &[&str]) -> PathBuf {
    let marker = venv.join(spec);
    let runs = || {
        Command::new(venv.join("bin").join(check[0]))
            .args(&check[1..])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if marker.exists() && runs() {
        return venv.to_path_buf();
    }
    let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    run(
        Command::new(&python)
            .args(["-m", "venv", "--clear"])
            .arg(venv),
        &format!("python3 -m venv {} (for {spec})", venv.display()),
    );
    run(
        Command::new(venv.join("bin").join("pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            spec,
        ]),
        &format!("installing {spec} with pip (the guest examples need it; pip must reach PyPI)"),
    );
    std::fs::write(&marker, b"").expect("mark the installed package");
    assert!(
        runs(),
        "{spec} was installed in {} but does not run",
        venv.display()
    );
    venv.to_path_buf()
}

/// The npm packages that `lock` (a folder with `package.json` and
/// `package-lock.json`) pins, installed with `npm ci` under `prefix`, and
/// again whenever the lock file changes; returns `prefix`.
pub(crate) fn npm_ci(prefix: &Path, lock: &Path) -> PathBuf {
    let wanted = std::fs::read(lock.join("package-lock.json")).expect("read package-lock.json");
    let marker = prefix.join("installed-package-lock.json");
    if std::fs::read(&marker).is_ok_and(|have| have == wanted) {
        return prefix.to_path_buf();
    }
    let _ = std::fs::remove_dir_all(prefix);
    std::fs::create_dir_all(prefix).expect("create the npm tool folder");
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(lock.join(file), prefix.join(file)).expect("copy the npm pins");
    }
    run(
        Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--silent",
            ])
            .arg("--prefix")
            .arg(prefix),
        "installing the JavaScript tools with npm ci (npm must reach its registry)",
    );
    std::fs::write(&marker, wanted).expect("mark the installed npm packages");
    prefix.to_path_buf()
}

/// Runs `cmd`, panicking with `what` (and the command) if it cannot start
/// or fails.
pub(crate) fn run(cmd: &mut Command, what: &str) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(status.success(), "{what} failed ({status}): {cmd:?}");
}

impl Paths {
    /// The component of the guest `name` of `language`, at
    /// `<out>/<language>/<name, with _>.wasm`: made by `build` (given that
    /// path) unless it was made from `inputs`, the language's build module
    /// (`build/<language>.rs`) and the `wactor:runtime` WIT as they are
    /// now; then `rustc` is told where it is.
    pub(crate) fn guest(
        &self,
        language: &str,
        name: &str,
        inputs: &[PathBuf],
        build: impl FnOnce(&Path),
    ) {
        let dir = self.out.join(language);
        std::fs::create_dir_all(&dir).expect("create a guest folder");
        let out = dir.join(format!("{}.wasm", name.replace('-', "_")));
        let mut all = vec![
            self.examples.join("build").join(format!("{language}.rs")),
            self.runtime_wit.clone(),
        ];
        all.extend_from_slice(inputs);
        if !up_to_date(&out, &all) {
            build(&out);
            built_from(&out, &all);
        }
        announce(name, &out);
    }
}

/// Whether `output` exists and was built from `inputs` as they are now.
///
/// By content, not by time: a fresh clone has new files everywhere, and
/// CI builds in one, with a target directory (and its built guests) kept
/// from the run before. Some guests take long to build (an engine
/// snapshot), and JavaScript builds are not byte for byte the same, so
/// each needless rebuild would also cost the host a compile.
fn up_to_date(output: &Path, inputs: &[PathBuf]) -> bool {
    output.exists()
        && std::fs::read_to_string(stamp(output)).is_ok_and(|s| s == fingerprint(inputs))
}

/// Records that `output` was built from `inputs` as they are now.
fn built_from(output: &Path, inputs: &[PathBuf]) {
    std::fs::write(stamp(output), fingerprint(inputs)).expect("write a build stamp");
}

fn stamp(output: &Path) -> PathBuf {
    let mut name = output.file_name().expect("a file").to_os_string();
    name.push(".inputs");
    output.with_file_name(name)
}

/// A hash (FNV-1a, 64 bits) of every file under `inputs`: names relative
/// to their input, and contents, in a fixed order.
fn fingerprint(inputs: &[PathBuf]) -> String {
    fn walk(path: &Path, name: &str, hash: &mut u64) {
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                *hash = (*hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
            }
        };
        eat(name.as_bytes());
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
                .unwrap_or_default();
            entries.sort();
            for entry in entries {
                let child = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if child == "__pycache__" || child == "node_modules" {
                    continue;
                }
                walk(&entry, &format!("{name}/{child}"), hash);
            }
        } else if let Ok(bytes) = std::fs::read(path) {
            eat(&(bytes.len() as u64).to_le_bytes());
            eat(&bytes);
        }
    }
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for input in inputs {
        let name = input.file_name().and_then(|n| n.to_str()).unwrap_or("");
        walk(input, name, &mut hash);
    }
    format!("{hash:016x}")
}

/// The path as UTF-8, as environment variables for `rustc` need it.
fn path_str(path: &Path) -> &str {
    path.to_str()
        .expect("the target directory's path must be UTF-8")
}

/// Tells `rustc` where the component `name` was built, as
/// `WACTOR_EXAMPLE_<NAME>` for `src/lib.rs`.
pub(crate) fn announce(name: &str, file: &Path) {
    assert!(
        file.exists(),
        "the guest build did not produce {}",
        file.display()
    );
    println!(
        "cargo:rustc-env=WACTOR_EXAMPLE_{}={}",
        name.replace('-', "_").to_uppercase(),
        path_str(file)
    );
}

/// A fresh folder at `dir` holding a WIT tree for tools that take one
/// folder: `root` (a folder of `.wit` files, the root package) with each
/// of `deps` (folders of `.wit` files) under `deps/`.
pub(crate) fn stage_wit(dir: &Path, root: &Path, deps: &[&Path]) {
    let _ = std::fs::remove_dir_all(dir);
    copy_wit(root, dir);
    for (i, dep) in deps.iter().enumerate() {
        copy_wit(dep, &dir.join("deps").join(format!("dep{i}")));
    }
}

fn copy_wit(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a staged WIT folder");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display()))
    {
        let path = entry.expect("read a WIT folder").path();
        if path.is_dir() {
            copy_wit(&path, &to.join(path.file_name().expect("a folder name")));
        } else if path.extension().is_some_and(|e| e == "wit") {
            std::fs::copy(&path, to.join(path.file_name().expect("a file name")))
                .expect("copy a WIT file");
        }
    }
}

/// The WIT of a guest: the `wactor:runtime` package, then the guest's own
/// folder of `.wit` files (which may have a `deps/` of its own); returns
/// the resolved packages and the chosen world.
pub(crate) fn resolve_world(
    runtime_wit: &Path,
    own_wit: &Path,
    world: &str,
) -> (wit_parser::Resolve, wit_parser::WorldId) {
    let mut resolve = wit_parser::Resolve::default();
    resolve
        .push_dir(runtime_wit)
        .unwrap_or_else(|e| panic!("read the WIT in {}: {e:?}", runtime_wit.display()));
    let (package, _) = resolve
        .push_dir(own_wit)
        .unwrap_or_else(|e| panic!("read the WIT in {}: {e:?}", own_wit.display()));
    let world = resolve
        .select_world(&[package], Some(world))
        .unwrap_or_else(|e| panic!("find the world {world}: {e:?}"));
    (resolve, world)
}

/// Writes the bindings `generator` makes for `world` into `dir` (made
/// afresh).
pub(crate) fn write_bindings(
    mut generator: Box<dyn wit_bindgen_core::WorldGenerator>,
    resolve: &mut wit_parser::Resolve,
    world: wit_parser::WorldId,
    dir: &Path,
) {
    let mut files = wit_bindgen_core::Files::default();
    generator
        .generate(resolve, world, &mut files)
        .unwrap_or_else(|e| panic!("generate the bindings in {}: {e:?}", dir.display()));
    let _ = std::fs::remove_dir_all(dir);
    for (name, contents) in files.iter() {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a file in a folder"))
            .expect("create the bindings folder");
        std::fs::write(&path, contents).expect("write the bindings");
    }
}

/// The component made of `module`, a core module for WASI preview 1 (as C
/// and Go compilers make them): with the type of `world` embedded first
/// unless the module carries it already, and WASI 0.2 in place of preview
/// 1 through the reactor adapter of wasmtime's release.
pub(crate) fn componentize(
    mut module: Vec<u8>,
    world: Option<(&wit_parser::Resolve, wit_parser::WorldId)>,
) -> Vec<u8> {
    use wasi_preview1_component_adapter_provider as adapter;
    if let Some((resolve, world)) = world {
        wit_component::embed_component_metadata(
            &mut module,
            resolve,
            world,
            wit_component::StringEncoding::UTF8,
        )
        .expect("embed the component type");
    }
    wit_component::ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .and_then(|e| {
            e.adapter(
                adapter::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
                adapter::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
            )
        })
        .and_then(|e| e.encode())
        .unwrap_or_else(|e| panic!("make the component: {e:?}"))
}
