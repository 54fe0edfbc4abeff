//! Python guests (componentize-py), with Rust actors and drivers.

use wactor::{ActorOptions, GuestOutput, OutputCapture, Runtime};
use wactor_tests::{PATIENCE, load, peak_overlap};

/// A runtime that caches compiled components in the test target folder: a
/// Python component is ~19 MB and takes seconds to compile.
fn runtime() -> Runtime {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
    Runtime::builder().cache_dir(Some(cache)).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_async_actor_runs_fifty_tasks_at_once() {
    let rt = runtime();
    let py = load(&rt, "py-async-actor");
    assert_eq!(py.kind(), wactor::ActorKind::Async);
    let out = OutputCapture::new();
    let actor = py
        .spawn(ActorOptions::new().stdout(GuestOutput::Capture(out.clone())))
        .unwrap();
    let refs: Vec<_> = (0..50)
        .map(|_| actor.call("run-task", ()).unwrap())
        .collect();
    wactor::get_all(&refs, Some(PATIENCE)).unwrap();
    let peak: u32 = actor
        .call_typed("peak-concurrency", ())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(peak, 50);
    assert_eq!(peak_overlap(&out.lines(), "started", "finished"), 50);
}

/// `MemoryInit::BySize` (the default): CPython's 12 MB image is mapped
/// copy-on-write on a twin of the async engine, the counter's 128 bytes are
/// copied on the first one, and actors of both answer side by side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_image_is_mapped_copy_on_write_and_a_small_one_copied() {
    let rt = runtime();
    let (py, counter) = (load(&rt, "py-async-actor"), load(&rt, "counter"));
    assert!(py.copy_on_write());
    assert!(!counter.copy_on_write());
    let quiet = || ActorOptions::new().stdout(GuestOutput::Discard);
    let (py, counter) = (py.spawn(quiet()).unwrap(), counter.spawn(quiet()).unwrap());
    let refs: Vec<_> = (0..5).map(|_| py.call("run-task", ()).unwrap()).collect();
    let total: i64 = counter.call_typed("add", (7i64,)).unwrap().await.unwrap();
    wactor::get_all(&refs, Some(PATIENCE)).unwrap();
    assert_eq!(total, 7);
    let peak: u32 = py
        .call_typed("peak-concurrency", ())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(peak, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_driver_spawns_and_calls_the_python_actor() {
    let rt = runtime();
    let py = load(&rt, "py-async-actor");
    let out = OutputCapture::new();
    let options = ActorOptions::new()
        .args(["run_tasks", "--from", "py", "10"])
        .allow_component("py", py)
        .stdout(GuestOutput::Capture(out.clone()));
    let status = tokio::time::timeout(PATIENCE, load(&rt, "run-tasks").run_driver(options))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 0);
    let lines = out.lines();
    assert_eq!(lines.len(), 100, "{lines:?}");
    assert_eq!(peak_overlap(&lines, "started", "finished"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_driver_calls_a_rust_actor() {
    let rt = runtime();
    let out = OutputCapture::new();
    let options = ActorOptions::new()
        .allow_component("counter", load(&rt, "counter"))
        .stdout(GuestOutput::Capture(out.clone()));
    let status = tokio::time::timeout(PATIENCE, load(&rt, "py-driver").run_driver(options))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 0);
    assert_eq!(out.lines(), ["totals: [1, 3, 6]"]);
}
