//! Helpers shared by the integration tests in `all/` and `hostile/`.

pub mod http_server;

use std::time::Duration;

use wactor::{ActorComponent, Runtime};

/// A runtime that caches nothing on disk, so tests do not depend on (or
/// fill) the user's cache. Its actors run thread per core on two workers
/// of its own, whatever runtime the test runs in; tests that build their
/// runtime with `Runtime::builder()` inside tokio run actors on the
/// test's runtime, so both schedulers run the suite.
pub fn runtime() -> Runtime {
    Runtime::builder()
        .thread_per_core(true)
        .worker_threads(2)
        .cache_dir(None::<&str>)
        .build()
        .expect("the runtime starts")
}

/// Loads the example called `name` (see `wactor_examples::ALL`).
pub fn load(runtime: &Runtime, name: &str) -> ActorComponent {
    let path = wactor_examples::path(name).expect("a known example");
    runtime.load(path).expect("the example loads")
}

/// The most lines between a `start` line and its `end` line at once, read
/// from an actor's captured output: the concurrency the guest itself showed.
pub fn peak_overlap(lines: &[String], start: &str, end: &str) -> usize {
    let (mut now, mut peak) = (0usize, 0usize);
    for line in lines {
        if line.starts_with(start) {
            now += 1;
            peak = peak.max(now);
        } else if line.starts_with(end) {
            now = now.saturating_sub(1);
        }
    }
    peak
}

/// A generous bound for "finishes", far above the expected time: the tests
/// assert what ran concurrently from what the guest observed, and use time
/// only as a sanity check that nothing hung.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// This process's resident memory now, in KiB (Linux; 0 elsewhere).
pub fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The text of a `result<_, string>` method's `err`; anything else fails the
/// test.
pub fn failed_with(outcome: wactor::Result<wactor::Val>) -> String {
    match outcome {
        Err(wactor::Error::MethodFailed {
            error: Some(wactor::Val::String(why)),
            ..
        }) => why,
        other => panic!("expected the method's error, got {other:?}"),
    }
}

/// Calls a method returning `result<T, string>`: the `ok` value, or the
/// `err` text (which the host reports as a method failure).
pub async fn call_result<T: wactor::FromVal>(
    actor: &wactor::ActorHandle,
    method: &str,
    args: impl wactor::IntoArgs,
) -> Result<T, String> {
    match actor.call_typed::<T>(method, args).unwrap().await {
        Ok(v) => Ok(v),
        Err(wactor::Error::MethodFailed {
            error: Some(wactor::Val::String(e)),
            ..
        }) => Err(e),
        Err(other) => panic!("{method}: {other:?}"),
    }
}
