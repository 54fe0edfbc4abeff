//! The per-call path of wactor against the bare wasmtime call it wraps.
//!
//! Each pair calls the same export of the same component on an engine
//! configured as the one wactor runs it on:
//!
//! - `sync/*`: `counter.add(1)`. Bare: `Func::call_async` on a store the
//!   benchmark owns, on an engine without the component model's async ABI
//!   (where wactor runs threaded actors), and for comparison on wactor's
//!   concurrent engine. wactor: `ActorHandle::call` on a threaded actor,
//!   awaited.
//! - `async/*`: `async-actor.ping(1)` in batches of 1,000. Bare: 1,000
//!   `Func::call_concurrent` inside one `run_concurrent`. wactor: 1,000
//!   `ActorHandle::call`s, then every ref awaited.
//!
//! Criterion reports the time per call; wactor's overhead is the ratio of
//! the two lines of a pair. Run with `cargo bench -p wactor-bench`.

// `criterion_main!` generates an undocumented `main`.
#![allow(missing_docs)]

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wactor::{ActorHandle, ActorOptions, Runtime};
use wasmtime::component::{Component, Func, Linker, Val};
use wasmtime::{Config, Engine, Store};

const BATCH: u64 = 1000;

/// A store and the export `name` of the component at `path`, instantiated
/// on `engine` with every import a trap (the exports measured here call
/// none).
async fn bare(engine: &Engine, path: &str, name: &str) -> (Store<()>, Func) {
    let component = Component::from_file(engine, path).expect("compile the example");
    let mut linker = Linker::new(engine);
    linker
        .define_unknown_imports_as_traps(&component)
        .expect("stub the imports");
    let mut store = Store::new(engine, ());
    // wactor's engine interrupts guests at epoch ticks; the bare store
    // never yields, so it measures the call alone.
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = linker
        .instantiate_async(&mut store, &component)
        .await
        .expect("instantiate");
    let func = instance.get_func(&mut store, name).expect("the export");
    (store, func)
}

/// An actor of the component at `path` that has answered one call of
/// `method(arg)`, so instantiation is not measured.
async fn warm_actor(runtime: &Runtime, path: &str, method: &str, arg: Val) -> ActorHandle {
    let actor = runtime
        .load(path)
        .unwrap()
        .spawn(ActorOptions::new())
        .unwrap();
    actor.call(method, vec![arg]).unwrap().await.unwrap();
    actor
}

fn sync_calls(c: &mut Criterion) {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let runtime = tokio.block_on(async { Runtime::new() }).unwrap();
    let mut group = c.benchmark_group("sync");
    group.throughput(Throughput::Elements(1));

    // The engine threaded actors run on: no async ABI, epochs on.
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(false)
        .concurrency_support(false)
        .epoch_interruption(true);
    let sync_engine = Engine::new(&config).unwrap();
    for (label, engine) in [
        ("bare_wasmtime_call_async", &sync_engine),
        (
            "bare_wasmtime_call_async_concurrent_engine",
            runtime.engine(),
        ),
    ] {
        let (mut store, add) = tokio.block_on(bare(engine, wactor_examples::COUNTER, "add"));
        group.bench_function(label, |b| {
            b.iter_custom(|iters| {
                tokio.block_on(async {
                    let mut results = [Val::Bool(false)];
                    let start = Instant::now();
                    for _ in 0..iters {
                        add.call_async(&mut store, &[Val::S64(1)], &mut results)
                            .await
                            .unwrap();
                    }
                    start.elapsed()
                })
            })
        });
    }

    let actor = tokio.block_on(warm_actor(
        &runtime,
        wactor_examples::COUNTER,
        "add",
        Val::S64(1),
    ));
    group.bench_function("wactor_call_await", |b| {
        b.iter_custom(|iters| {
            let actor = actor.clone();
            // In a task: callers run on the runtime's worker threads.
            tokio.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        actor.call("add", vec![Val::S64(1)]).unwrap().await.unwrap();
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            })
        })
    });
    group.finish();
}

fn async_calls(c: &mut Criterion) {
    let tokio = tokio::runtime::Runtime::new().unwrap();
    let runtime = tokio.block_on(async { Runtime::new() }).unwrap();
    let mut group = c.benchmark_group("async");
    group.throughput(Throughput::Elements(BATCH));

    let (mut store, ping) =
        tokio.block_on(bare(runtime.engine(), wactor_examples::ASYNC_ACTOR, "ping"));
    group.bench_function("bare_wasmtime_call_concurrent_x1000", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    store
                        .run_concurrent(async |accessor| {
                            let calls = (0..BATCH).map(|i| async move {
                                let mut results = [Val::Bool(false)];
                                ping.call_concurrent(accessor, &[Val::U64(i)], &mut results)
                                    .await
                                    .unwrap();
                            });
                            futures::future::join_all(calls).await;
                        })
                        .await
                        .unwrap();
                }
                start.elapsed()
            })
        })
    });

    let actor = tokio.block_on(warm_actor(
        &runtime,
        wactor_examples::ASYNC_ACTOR,
        "ping",
        Val::U64(1),
    ));
    group.bench_function("wactor_call_x1000", |b| {
        b.iter_custom(|iters| {
            let actor = actor.clone();
            tokio.block_on(async move {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let refs: Vec<_> = (0..BATCH)
                            .map(|i| actor.call("ping", vec![Val::U64(i)]).unwrap())
                            .collect();
                        for r in refs {
                            r.await.unwrap();
                        }
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = sync_calls, async_calls
}
criterion_main!(benches);
