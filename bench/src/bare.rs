//! The same workloads on bare wasmtime, without wactor: the substrate's own
//! cost, so a wactor figure can be read as substrate plus overhead.

use std::time::Duration;

use anyhow::{Result, bail};
use futures::future::join_all;
use wactor::Runtime;
use wasmtime::Store;
use wasmtime::component::{Component, Linker, ResourceTable, Val};
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
