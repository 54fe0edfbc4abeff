//! The wactor side of each workload, through the embedding API.
//!
//! Each workload runs in a process of its own (see `main.rs`), so a memory
//! figure is not skewed by what an earlier workload left behind. Callers are
//! tokio tasks, as in a service that embeds wactor; the Ray side's callers
//! are its driver and caller actors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::future::try_join_all;
use wactor::{ActorComponent, ActorHandle, ActorOptions, GuestOutput, Runtime};
use wasmtime::component::Val;

use crate::figures::Figure;
use crate::scale::{Scale, rss_kib};

/// The batch size of the batched workloads (Ray's benchmarks use 1,000).
const BATCH: usize = 1000;

/// A runtime for the workload `key`: the default pool of 1,000 instances,
/// or one big enough for the workloads that spawn `scale.actors` actors.
/// (A pool that big leaves no room for the second engine that threaded
/// actors use below ~8,600 slots, so only those workloads get one.)
fn runtime(scale: Scale, key: &str) -> Result<Runtime> {
    let many = matches!(
        key,
        "actor_creation"
            | "actor_creation_one_thread"
            | "actor_creation_cow"
            | "actor_creation_bare"
            | "async_actor_creation"
            | "async_actor_creation_cow"
            | "idle_actor_rss"
            | "idle_actor_rss_cow"
            | "guest_creation_rust"
            | "guest_creation_c"
            | "guest_idle_rss_rust"
            | "guest_idle_rss_c"
    );
    // Thread per core, callers on the runtime's workers (see `run`); the
    // `_shared` rows run actors as tasks of this process's tokio runtime.
    let mut builder = Runtime::builder().thread_per_core(!key.ends_with("_shared"));
    // Memory initialization by image size unless the key says which.
    if key.ends_with("_copy") {
        builder = builder.copy_on_write(false);
    } else if key.ends_with("_cow") {
        builder = builder.copy_on_write(true);
    }
    if key.ends_with("_one_thread") {
        builder = builder.worker_threads(1);
    }
    if key.ends_with("_metrics") {
        // What `wactor --metrics` runs with: the Prometheus recorder with
        // its duration buckets, drained every 5 s, and every call counted
        // and timed.
        let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
            .set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full("wactor_call_duration_seconds".into()),
                &[
                    0.000_01, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
                    60.0,
                ],
            )
            .context("the duration buckets")?
            .install_recorder()
            .context("installing the metrics recorder")?;
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(5));
                handle.run_upkeep();
            }
        });
        builder = builder.metrics(true);
    }
    if many {
        builder = builder.max_instances(scale.actors + 100);
    }
    Ok(builder.build()?)
}

fn quiet() -> ActorOptions {
    ActorOptions::new().stdout(GuestOutput::Discard)
}

/// Runs the workload `key` and returns its figure.
///
/// wactor's callers are tasks on the runtime's own worker threads
/// (`Runtime::spawn`), as a thread-per-core service runs its handlers; for
/// the `_shared` rows, actors and callers are tasks of this process's
/// work-stealing runtime. The bare rows run on this thread.
pub(crate) async fn run(key: &str, scale: Scale) -> Result<Figure> {
    if key.starts_with("cluster_") {
        return crate::cluster::run(key, scale).await;
    }
    match key {
        "http_get_10k_bare" => return crate::network::http_gets_bare(scale).await,
        "serve_requests" => return crate::network::serve_requests(scale).await,
        "sync_call_bare" => return crate::bare::sync_call(scale).await,
        _ => {}
    }
    let rt = runtime(scale, key)?;
    match key {
        "actor_creation_bare" => {
            return crate::bare::actor_creation(&rt, scale).await;
        }
        "inflight_call_mem_bare" => return crate::bare::inflight_call_mem(&rt, scale).await,
        "batched_async_bare" => return crate::bare::batched_async(&rt, scale).await,
        _ => {}
    }
    let (on, key) = (rt.clone(), key.to_string());
    rt.spawn(async move { run_on(&on, &key, scale).await })
        .await
        .context("the workload's task")?
}

/// The wactor side of workload `key`, on `rt`.
async fn run_on(rt: &Runtime, key: &str, scale: Scale) -> Result<Figure> {
    let rt = &rt.clone();
    match key.strip_suffix("_shared").unwrap_or(key) {
        "sleep50_async" => sleeps(rt, 50, None, scale).await,
        "sleep50_mc10" => sleeps(rt, 50, Some(10), scale).await,
        "sleep10k_default" => sleeps(rt, scale.many_calls, None, scale).await,
        "sleep10k_mc10k" => {
            sleeps(rt, scale.many_calls, Some(scale.many_calls as usize), scale).await
        }
        "sync_round_trip" => sync_round_trip(rt, scale).await,
        "batched_sync" => batched(rt, wactor_examples::COUNTER, "add", scale).await,
        "batched_async" => batched(rt, wactor_examples::ASYNC_ACTOR, "ping", scale).await,
        "batched_sync_metrics" => batched(rt, wactor_examples::COUNTER, "add", scale).await,
        "batched_async_metrics" => batched(rt, wactor_examples::ASYNC_ACTOR, "ping", scale).await,
        "nn_2x2" => n_to_n(rt, scale).await,
        "actor_creation" | "actor_creation_cow" | "actor_creation_one_thread" => {
            actor_creation(rt, wactor_examples::COUNTER, scale.actors).await
        }
        "async_actor_creation" | "async_actor_creation_cow" => {
            actor_creation(rt, wactor_examples::ASYNC_ACTOR, scale.actors).await
        }
        "idle_actor_rss" | "idle_actor_rss_cow" => {
            idle_actor_rss(rt, wactor_examples::COUNTER, scale.actors).await
        }
        "inflight_call_mem" => inflight_call_mem(rt, scale).await,
        "guest_to_guest" => guest_to_guest(rt, scale).await,
        "http_get_10k" => crate::network::http_gets(rt, scale, true).await,
        "http_get_10k_rss" => crate::network::http_gets(rt, scale, false).await,
        "py_actor_creation" | "py_actor_creation_copy" => {
            actor_creation(rt, wactor_examples::PY_ASYNC_ACTOR, python_actors(scale)).await
        }
        "py_idle_actor_rss" | "py_idle_actor_rss_copy" => {
            idle_actor_rss(rt, wactor_examples::PY_ASYNC_ACTOR, python_actors(scale)).await
        }
        key if key.starts_with("guest_") => guest_row(rt, key, scale).await,
        other => bail!("unknown workload `{other}`"),
    }
}

/// `n` calls of `run-task(sleep)` on one async actor, submitted at once;
/// the wall time until all are back. The actor answers one ping first, so
/// its instantiation is not timed (as in Ray's benchmarks).
async fn sleeps(rt: &Runtime, n: u32, mc: Option<usize>, scale: Scale) -> Result<Figure> {
    let component = rt.load(wactor_examples::ASYNC_ACTOR)?;
    let mut options = quiet();
    if let Some(mc) = mc {
        options = options.max_concurrency(mc);
    }
    let actor = component.spawn(options)?;
    actor.call("ping", vec![Val::U64(0)])?.await?;
    let millis = Val::U64(scale.sleep.as_millis() as u64);
    let start = Instant::now();
    let refs = (0..n)
        .map(|_| actor.call("run-task", vec![millis.clone()]))
        .collect::<wactor::Result<Vec<_>>>()?;
    let submitted = start.elapsed();
    try_join_all(refs).await?;
    let wall = start.elapsed();
    let peak = actor.call("peak-concurrency", ())?.await?;
    Ok(Figure {
        value: wall.as_secs_f64(),
        detail: format!(
            "{n} x run-task({} ms), max_concurrency {}; submitting took {:.1} ms; \
             the guest saw at most {} in flight",
            scale.sleep.as_millis(),
            actor.max_concurrency(),
            submitted.as_secs_f64() * 1e3,
            wactor::to_json(&peak),
        ),
    })
}

/// Calls `round` again and again for `window` (after a warm-up); returns
/// how many calls were made and the time they took.
async fn for_window<F, Fut>(window: Duration, mut round: F) -> Result<(u64, Duration)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64>>,
{
    let warm = Instant::now();
    while warm.elapsed() < window / 3 {
        round().await?;
    }
    let start = Instant::now();
    let mut calls = 0;
    while start.elapsed() < window {
        calls += round().await?;
    }
    Ok((calls, start.elapsed()))
}

/// Call, await, repeat, on a threaded (sync) counter; the median of the
/// individually timed round trips.
async fn sync_round_trip(rt: &Runtime, scale: Scale) -> Result<Figure> {
    let actor = rt.load(wactor_examples::COUNTER)?.spawn(quiet())?;
    let round_trip = || async {
        let start = Instant::now();
        actor.call("add", vec![Val::S64(1)])?.await?;
        anyhow::Ok(start.elapsed())
    };
    let warm = Instant::now();
    while warm.elapsed() < scale.window / 3 {
        round_trip().await?;
    }
    let mut times = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    while start.elapsed() < scale.window {
        times.push(round_trip().await?);
    }
    let (calls, took) = (times.len(), start.elapsed());
    times.sort_unstable();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    Ok(Figure {
        value: pick(0.5),
        detail: format!(
            "{calls} round trips of counter.add in {:.2} s ({:.0} calls/s); p10 {:.2} us, p90 {:.2} us, p99 {:.2} us",
            took.as_secs_f64(),
            calls as f64 / took.as_secs_f64(),
            pick(0.1),
            pick(0.9),
            pick(0.99),
        ),
    })
}

/// The median of three measurements, and all three for the detail.
async fn median_of_3<F, Fut>(mut measure: F) -> Result<(f64, String)>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<f64>>,
{
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(measure().await?);
    }
    Ok(crate::scale::median(runs))
}

/// Batches of 1,000 trivial calls on one actor, each batch awaited whole.
async fn batched(rt: &Runtime, path: &str, method: &str, scale: Scale) -> Result<Figure> {
    let component = rt.load(path)?;
    let actor = component.spawn(quiet())?;
    let arg = match component.method(method).map(|m| m.signature()) {
        Some(sig) if sig.contains("s64") => Val::S64(1),
        Some(sig) if sig.contains("u32") => Val::U32(1),
        _ => Val::U64(1),
    };
    let (rate, runs) = median_of_3(|| async {
        let (calls, took) = for_window(scale.window, || batch(&actor, method, &arg)).await?;
        Ok(calls as f64 / took.as_secs_f64())
    })
    .await?;
    Ok(Figure {
        value: rate,
        detail: format!(
            "{}.{method} in batches of {BATCH}; median of 3 windows of {:.1} s ({runs} calls/s)",
            component.name(),
            scale.window.as_secs_f64()
        ),
    })
}

/// One batch of `BATCH` calls, awaited.
async fn batch(actor: &ActorHandle, method: &str, arg: &Val) -> Result<u64> {
    // Sized at once, as the bare rows' `join_all` is (collecting through a
    // `Result` would grow the vector ten times a batch).
    let mut refs = Vec::with_capacity(BATCH);
    for _ in 0..BATCH {
        refs.push(actor.call(method, vec![arg.clone()])?);
    }
    for r in refs {
        r.await?;
    }
    Ok(BATCH as u64)
}

/// Two callers, each spawning one threaded actor and then sending batches
/// round-robin to both actors, over the same windows; the sum of their
/// rates. (Thread per core: each caller and the actor it spawned share a
/// worker, and half the calls cross to the other.)
async fn n_to_n(rt: &Runtime, scale: Scale) -> Result<Figure> {
    let component = rt.load(wactor_examples::COUNTER)?;
    let servers = Arc::new(std::sync::Mutex::new(Vec::new()));
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let callers: Vec<_> = (0..2)
        .map(|_| {
            let (component, servers, barrier) =
                (component.clone(), servers.clone(), barrier.clone());
            rt.spawn(async move {
                let server = component.spawn(quiet())?;
                servers.lock().unwrap().push(server);
                barrier.wait().await;
                let servers: Vec<ActorHandle> = servers.lock().unwrap().clone();
                let mut rates = Vec::new();
                for _ in 0..3 {
                    barrier.wait().await;
                    let (calls, took) = for_window(scale.window, || {
                        let refs = (0..BATCH)
                            .map(|i| servers[i % 2].call("add", vec![Val::S64(1)]))
                            .collect::<wactor::Result<Vec<_>>>();
                        async move {
                            for r in refs? {
                                r.await?;
                            }
                            Ok(BATCH as u64)
                        }
                    })
                    .await?;
                    rates.push(calls as f64 / took.as_secs_f64());
                }
                anyhow::Ok(rates)
            })
        })
        .collect();
    let mut sums = [0.0; 3];
    for caller in callers {
        for (sum, rate) in sums.iter_mut().zip(caller.await??) {
            *sum += rate;
        }
    }
    let (rate, runs) = crate::scale::median(sums.to_vec());
    Ok(Figure {
        value: rate,
        detail: format!(
            "2 callers x 2 counter actors (each caller spawned one), batches of {BATCH} \
             round-robin; median of 3 windows of {:.1} s ({runs} calls/s)",
            scale.window.as_secs_f64()
        ),
    })
}

/// Spawns `actors` threaded actors and waits until each answered a call.
async fn spawn_and_ping(component: &ActorComponent, actors: u32) -> Result<Vec<ActorHandle>> {
    let handles = (0..actors)
        .map(|_| component.spawn(quiet()))
        .collect::<wactor::Result<Vec<_>>>()?;
    // The counter's sync `value()`, the async actor's `ping(0)`, the
    // conformance actor's `echo-u32(0)`, or the Python actor's
    // `peak-concurrency()`.
    let (method, args) = if component.method("value").is_some() {
        ("value", vec![])
    } else if component.method("ping").is_some() {
        ("ping", vec![Val::U64(0)])
    } else if component.method("echo-u32").is_some() {
        ("echo-u32", vec![Val::U32(0)])
    } else {
        ("peak-concurrency", vec![])
    };
    let refs = handles
        .iter()
        .map(|a| a.call(method, args.clone()))
        .collect::<wactor::Result<Vec<_>>>()?;
    try_join_all(refs).await?;
    Ok(handles)
}

/// `n` actors of the component at `path` spawned at once, each answering
/// one call; the rate.
async fn actor_creation(rt: &Runtime, path: &str, n: u32) -> Result<Figure> {
    let component = rt.load(path)?;
    // Warm the allocator's slots and the code once, as Ray's runs do.
    drop(spawn_and_ping(&component, 10).await?);
    let start = Instant::now();
    let actors = spawn_and_ping(&component, n).await?;
    let wall = start.elapsed();
    Ok(Figure {
        value: f64::from(n) / wall.as_secs_f64(),
        detail: format!(
            "{} {} actors spawned and each answered a call in {:.3} s",
            actors.len(),
            component.name(),
            wall.as_secs_f64()
        ),
    })
}

/// The growth of the process's RSS per actor, for `n` actors of the
/// component at `path` that answered one call and now sit idle.
async fn idle_actor_rss(rt: &Runtime, path: &str, n: u32) -> Result<Figure> {
    let component = rt.load(path)?;
    drop(spawn_and_ping(&component, 10).await?);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib()?;
    let actors = spawn_and_ping(&component, n).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib()?;
    Ok(Figure {
        value: (after - before) / f64::from(n),
        detail: format!(
            "{} idle {} actors: process RSS {:.1} MiB -> {:.1} MiB (everything: instances, stores, tasks, handles)",
            actors.len(),
            component.name(),
            before / 1024.0,
            after / 1024.0
        ),
    })
}

/// The growth of RSS per call while `many_calls` calls sleep at once on one
/// async actor.
async fn inflight_call_mem(rt: &Runtime, scale: Scale) -> Result<Figure> {
    let component = rt.load(wactor_examples::ASYNC_ACTOR)?;
    let n = scale.many_calls;
    let actor = component.spawn(quiet().max_concurrency(n as usize))?;
    // Warm the instance with a few concurrent calls, then measure from there.
    try_join_all((0..10).map(|_| actor.call("run-task", vec![Val::U64(1)]).unwrap())).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib()?;
    let sleep = (scale.sleep * 3).as_millis() as u64;
    let refs = (0..n)
        .map(|_| actor.call("run-task", vec![Val::U64(sleep)]))
        .collect::<wactor::Result<Vec<_>>>()?;
    let mut peak = before;
    while !refs.iter().all(|r| r.is_ready()) {
        peak = peak.max(rss_kib()?);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    try_join_all(refs).await?;
    let seen = actor.call("peak-concurrency", ())?.await?;
    Ok(Figure {
        value: (peak - before) / f64::from(n),
        detail: format!(
            "{n} x run-task({sleep} ms) on one async actor (the guest saw {} at once): \
             peak RSS {:.1} MiB over {:.1} MiB idle (refs, queued calls and guest tasks together)",
            wactor::to_json(&seen),
            peak / 1024.0,
            before / 1024.0
        ),
    })
}

/// `pipeline.call-peer(n)`: an actor spawns a peer and awaits `n` calls to
/// it one after another; the guest times them.
async fn guest_to_guest(rt: &Runtime, scale: Scale) -> Result<Figure> {
    let actor = rt.load(wactor_examples::PIPELINE)?.spawn(quiet())?;
    let n = scale.peer_calls;
    actor.call("call-peer", vec![Val::U32(100)])?.await?;
    // Three runs, the median: where the two actors' tasks land on the
    // worker threads (together or apart) moves a single run a lot.
    let mut runs = Vec::new();
    for _ in 0..3 {
        match actor.call("call-peer", vec![Val::U32(n)])?.await? {
            Val::U64(nanos) => runs.push(nanos),
            other => bail!("call-peer returned {other:?}"),
        }
    }
    runs.sort_unstable();
    let nanos = runs[1];
    let per = nanos as f64 / f64::from(n) / 1e3;
    Ok(Figure {
        value: per,
        detail: format!(
            "{n} sequential awaited calls from one async actor to another, timed in the guest; \
             median of 3 runs: {:.1} ms (runs {:.1}, {:.1}, {:.1} ms)",
            nanos as f64 / 1e6,
            runs[0] as f64 / 1e6,
            runs[1] as f64 / 1e6,
            runs[2] as f64 / 1e6,
        ),
    })
}

/// A row of the per-language table, `guest_<figure>_<language>`: the
/// conformance actor of that language, spawned, idle, or called. Languages
/// whose actors embed an engine (Python, JavaScript) or a runtime (Go) get
/// as many actors as the Python rows; Rust and C as many as the Rust rows.
async fn guest_row(rt: &Runtime, key: &str, scale: Scale) -> Result<Figure> {
    let (figure, language) = key
        .strip_prefix("guest_")
        .and_then(|k| k.rsplit_once('_'))
        .with_context(|| format!("unknown workload `{key}`"))?;
    let example = match language {
        "rust" => "conformance".to_string(),
        other => format!("{other}-conformance"),
    };
    let path = wactor_examples::path(&example)
        .with_context(|| format!("no example `{example}` for workload `{key}`"))?;
    let actors = match language {
        "rust" | "c" => scale.actors,
        _ => python_actors(scale),
    };
    match figure {
        "creation" => actor_creation(rt, path, actors).await,
        "idle_rss" => idle_actor_rss(rt, path, actors).await,
        "calls" => batched(rt, path, "echo-u32", scale).await,
        other => bail!("unknown figure `{other}` in workload `{key}`"),
    }
}

/// How many Python actors the Python workloads spawn (each is a CPython
/// interpreter; Ray's figures come from 20 and 10 actor processes).
fn python_actors(scale: Scale) -> u32 {
    if scale.actors >= Scale::FULL.actors {
        200
    } else {
        20
    }
}
