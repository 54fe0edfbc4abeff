//! The same workloads on bare wasmtime, without wactor: the substrate's own
//! cost, so a wactor figure can be read as substrate plus overhead.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::future::join_all;
use wactor::Runtime;
use wasmtime::component::{Component, Func, Linker, ResourceTable, Val};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::figures::Figure;
use crate::scale::{Scale, rss_kib};

/// Store data: WASI with nothing granted, as wactor's sandbox gives.
struct Bare {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl Bare {
    /// A store on `engine` whose guest never yields: wactor's engine
    /// interrupts at epoch ticks, and a bare store measures the call alone.
    fn store(engine: &wasmtime::Engine) -> Store<Bare> {
        let mut store = Store::new(
            engine,
            Bare {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            },
        );
        store.set_epoch_deadline(u64::MAX / 2);
        store
    }
}

impl WasiView for Bare {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `run-task(millis)` called `many_calls` times at once with
/// `call_concurrent` in one store on wactor's engine, whose only import
/// beyond WASI, `sleep`, is a tokio timer (as in wactor); the growth of RSS
/// per call while all of them sleep.
pub(crate) async fn inflight_call_mem(rt: &Runtime, scale: Scale) -> Result<Figure> {
    let engine = rt.engine();
    let component = Component::from_file(engine, wactor_examples::ASYNC_ACTOR)?;
    let mut linker = Linker::<Bare>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    linker
        .instance("wactor:runtime/time@0.4.0")?
        .func_wrap_concurrent("sleep", |_accessor, (millis,): (u64,)| {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(millis)).await;
                Ok(())
            })
        })?;
    let mut store = Bare::store(engine);
    let instance = linker.instantiate_async(&mut store, &component).await?;
    let Some(run_task) = instance.get_func(&mut store, "run-task") else {
        bail!("async-actor has no run-task");
    };
    let n = scale.many_calls;
    let sleep = (scale.sleep * 3).as_millis() as u64;
    let mut before = 0.0;
    let mut peak = 0.0;
    store
        .run_concurrent(async |accessor| -> Result<()> {
            // Warm the instance as the wactor workload does.
            let warm = (0..10).map(|_| async {
                let mut out = [Val::Bool(false)];
                run_task
                    .call_concurrent(accessor, &[Val::U64(1)], &mut out)
                    .await
            });
            for r in join_all(warm).await {
                r?;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            before = rss_kib()?;
            let calls = (0..n).map(|_| async {
                let mut out = [Val::Bool(false)];
                run_task
                    .call_concurrent(accessor, &[Val::U64(sleep)], &mut out)
                    .await
            });
            let all = join_all(calls);
            let sample = async {
                // The calls are all in flight well before they end.
                tokio::time::sleep(Duration::from_millis(sleep / 2)).await;
                rss_kib()
            };
            let (results, sampled) = futures::join!(all, sample);
            for r in results {
                r?;
            }
            peak = sampled?;
            Ok(())
        })
        .await??;
    Ok(Figure {
        value: (peak - before) / f64::from(n),
        detail: format!(
            "{n} x run-task({sleep} ms) by call_concurrent in one store, no wactor: \
             RSS {:.1} MiB over {:.1} MiB idle",
            peak / 1024.0,
            before / 1024.0
        ),
    })
}

/// `actors` stores instantiated one after another from one `InstancePre`
/// on wactor's engine (pooling allocator, copy-on-write as configured),
/// each answering `counter.value()`, all kept alive: the substrate's cost
/// of an actor, without wactor's tasks, mailboxes and refs.
pub(crate) async fn actor_creation(rt: &Runtime, scale: Scale) -> Result<Figure> {
    let engine = rt.engine();
    let component = Component::from_file(engine, wactor_examples::COUNTER)?;
    let mut linker = Linker::<Bare>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    linker.define_unknown_imports_as_traps(&component)?;
    let pre = linker.instantiate_pre(&component)?;
    let start_one = async || -> Result<Store<Bare>> {
        let mut store = Bare::store(engine);
        let instance = pre.instantiate_async(&mut store).await?;
        let Some(value) = instance.get_func(&mut store, "value") else {
            bail!("counter has no value");
        };
        let mut out = [Val::Bool(false)];
        value.call_async(&mut store, &[], &mut out).await?;
        Ok(store)
    };
    for _ in 0..10 {
        start_one().await?;
    }
    let n = scale.actors;
    let start = std::time::Instant::now();
    let mut stores = Vec::with_capacity(n as usize);
    for _ in 0..n {
        stores.push(start_one().await?);
    }
    let wall = start.elapsed();
    Ok(Figure {
        value: f64::from(n) / wall.as_secs_f64(),
        detail: format!(
            "{n} counter instances (a store each, kept alive) instantiated and called once, \
             one after another on one thread, no wactor: {:.3} s",
            wall.as_secs_f64()
        ),
    })
}

/// An instance of the component at `path` on `engine`, its imports WASI
/// (nothing granted) or traps, and its export `name`.
async fn instance(engine: &Engine, path: &str, name: &str) -> Result<(Store<Bare>, Func)> {
    let component = Component::from_file(engine, path)?;
    let mut linker = Linker::<Bare>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    linker.define_unknown_imports_as_traps(&component)?;
    let mut store = Bare::store(engine);
    let instance = linker.instantiate_async(&mut store, &component).await?;
    let Some(func) = instance.get_func(&mut store, name) else {
        bail!("{path} has no export {name}");
    };
    Ok((store, func))
}

/// `counter.add(1)` by `Func::call_async`, one call after another, each
/// timed, on an engine configured as wactor's engine of threaded actors (no
/// async ABI, epochs on): the median, as `sync_round_trip` reports it.
pub(crate) async fn sync_call(scale: Scale) -> Result<Figure> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .wasm_component_model_async(false)
        .concurrency_support(false)
        .epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let (mut store, add) = instance(&engine, wactor_examples::COUNTER, "add").await?;
    let mut out = [Val::Bool(false)];
    let warm = Instant::now();
    while warm.elapsed() < scale.window / 3 {
        add.call_async(&mut store, &[Val::S64(1)], &mut out).await?;
    }
    let mut times = Vec::with_capacity(1 << 22);
    let start = Instant::now();
    while start.elapsed() < scale.window {
        let one = Instant::now();
        add.call_async(&mut store, &[Val::S64(1)], &mut out).await?;
        times.push(one.elapsed());
    }
    let took = start.elapsed();
    times.sort_unstable();
    let median = times[times.len() / 2].as_secs_f64() * 1e6;
    Ok(Figure {
        value: median,
        detail: format!(
            "{} calls of counter.add by call_async in {:.2} s ({:.0} calls/s), one store, no wactor",
            times.len(),
            took.as_secs_f64(),
            times.len() as f64 / took.as_secs_f64()
        ),
    })
}

/// `async-actor.ping(1)` by `Func::call_concurrent`, 1,000 at once in one
/// `run_concurrent`, batch after batch, on wactor's engine of async actors:
/// the rate, the median of 3 windows as `batched_async` reports it.
pub(crate) async fn batched_async(rt: &Runtime, scale: Scale) -> Result<Figure> {
    const BATCH: u64 = 1000;
    let (mut store, ping) = instance(rt.engine(), wactor_examples::ASYNC_ACTOR, "ping").await?;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let mut batch = async || -> Result<u64> {
            store
                .run_concurrent(async |accessor| -> Result<()> {
                    let calls = (0..BATCH).map(|i| async move {
                        let mut out = [Val::Bool(false)];
                        ping.call_concurrent(accessor, &[Val::U64(i)], &mut out)
                            .await
                    });
                    for r in join_all(calls).await {
                        r?;
                    }
                    Ok(())
                })
                .await??;
            Ok(BATCH)
        };
        let warm = Instant::now();
        while warm.elapsed() < scale.window / 3 {
            batch().await?;
        }
        let start = Instant::now();
        let mut calls = 0;
        while start.elapsed() < scale.window {
            calls += batch().await?;
        }
        runs.push(calls as f64 / start.elapsed().as_secs_f64());
    }
    let (rate, text) = crate::scale::median(runs);
    Ok(Figure {
        value: rate,
        detail: format!(
            "async_actor.ping by call_concurrent, {BATCH} per run_concurrent, one store, no wactor; \
             median of 3 windows of {:.1} s ({text} calls/s)",
            scale.window.as_secs_f64()
        ),
    })
}
