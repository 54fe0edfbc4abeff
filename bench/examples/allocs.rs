//! What stays allocated per in-flight async call and per spawned actor,
//! by allocation size, for wactor and for bare wasmtime doing the same
//! work: where `inflight_call_mem` and `idle_actor_rss` go.
//!
//! ```text
//! cargo run --release -p wactor-bench --example allocs -- calls|calls-bare|spawns|spawns-bare
//! ```
//!
//! A counting global allocator tallies live allocations by size (in 16-byte
//! steps) before and after the workload. `ALLOCS_TRACE=512,160` also prints
//! where (a backtrace) one allocation of each of those sizes was made.
#![allow(unsafe_code)] // a global allocator is unsafe to implement

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};
use std::time::Duration;

use anyhow::{Result, bail};
use wactor::{ActorOptions, GuestOutput, Runtime, Val};

const BUCKETS: usize = 4097;
static LIVE: [AtomicI64; BUCKETS] = [const { AtomicI64::new(0) }; BUCKETS];
static BYTES: [AtomicI64; BUCKETS] = [const { AtomicI64::new(0) }; BUCKETS];
static TRACING: AtomicBool = AtomicBool::new(false);
static TRACED: [AtomicBool; BUCKETS] = [const { AtomicBool::new(false) }; BUCKETS];

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

fn bucket(size: usize) -> usize {
    size.div_ceil(16).min(BUCKETS - 1)
}

fn count(size: usize, by: i64) {
    LIVE[bucket(size)].fetch_add(by, Relaxed);
    BYTES[bucket(size)].fetch_add(by * size as i64, Relaxed);
}

/// Prints a backtrace of the first traced allocation in `size`'s bucket.
fn trace(size: usize) {
    if !TRACING.load(Relaxed) || INSIDE.with(|i| i.replace(true)) {
        return;
    }
    let wanted = std::env::var("ALLOCS_TRACE").unwrap_or_default();
    let step = bucket(size) * 16;
    if wanted.split(',').any(|s| s.trim().parse() == Ok(step))
        && !TRACED[bucket(size)].swap(true, Relaxed)
    {
        let trace = std::backtrace::Backtrace::force_capture();
        eprintln!("=== an allocation of {size} B:\n{trace}");
    }
    INSIDE.with(|i| i.set(false));
}

struct Counting;

// SAFETY: every call is passed to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        trace(layout.size());
        count(layout.size(), 1);
        // SAFETY: as the caller promised for `layout`.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(layout.size(), -1);
        // SAFETY: `ptr` came from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(layout.size(), -1);
        count(new_size, 1);
        // SAFETY: as the caller promised for `ptr` and `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

type Snapshot = Vec<(i64, i64)>;

fn snapshot() -> Snapshot {
    (0..BUCKETS)
        .map(|i| (LIVE[i].load(Relaxed), BYTES[i].load(Relaxed)))
        .collect()
}

/// The growth from `before` to now, per unit of `n`, the largest first.
fn report(what: &str, before: &Snapshot, n: i64) {
    let now = snapshot();
    let grown: Vec<(usize, i64, i64)> = (0..BUCKETS)
        .map(|i| (i * 16, now[i].0 - before[i].0, now[i].1 - before[i].1))
        .collect();
    let (count, bytes) = grown
        .iter()
        .fold((0, 0), |(c, b), (_, dc, db)| (c + dc, b + db));
    let per = |x: i64| x as f64 / n as f64;
    println!(
        "{what}: {:.0} B in {:.2} allocations each",
        per(bytes),
        per(count)
    );
    let mut rows: Vec<_> = grown
        .into_iter()
        .filter(|(_, c, b)| c.abs() * 2 >= n || b.abs() > n * 8)
        .collect();
    rows.sort_by_key(|(_, _, b)| -b);
    for (size, c, b) in rows.iter().take(25) {
        println!(
            "  up to {size:>5} B: {:5.2} each, {:7.1} B each",
            per(*c),
            per(*b)
        );
    }
}

fn main() -> Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let rt = Runtime::builder()
        .thread_per_core(true)
        .max_instances(3000)
        .build()?;
    let driver = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match mode.as_str() {
        "calls" => driver.block_on(rt.spawn(calls(rt.clone())))?,
        "spawns" => driver.block_on(rt.spawn(spawns(rt.clone())))?,
        "calls-bare" => driver.block_on(bare::calls(rt.engine().clone())),
        "spawns-bare" => driver.block_on(bare::spawns(rt.engine().clone())),
        _ => bail!("say calls, calls-bare, spawns or spawns-bare"),
    }
}

const CALLS: i64 = 10_000;
const SPAWNS: i64 = 2_000;

fn quiet() -> ActorOptions {
    ActorOptions::new().stdout(GuestOutput::Discard)
}

/// `CALLS` calls of `run-task` asleep at once on one async actor.
async fn calls(rt: Runtime) -> Result<()> {
    let component = rt.load(wactor_examples::ASYNC_ACTOR)?;
    let actor = component.spawn(quiet().max_concurrency(CALLS as usize))?;
    for _ in 0..10 {
        actor.call("run-task", vec![Val::U64(1)])?.await?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = snapshot();
    TRACING.store(true, Relaxed);
    let refs = (0..CALLS)
        .map(|_| actor.call("run-task", vec![Val::U64(1500)]))
        .collect::<wactor::Result<Vec<_>>>()?;
    tokio::time::sleep(Duration::from_millis(700)).await;
    TRACING.store(false, Relaxed);
    report("wactor, per in-flight call", &before, CALLS);
    futures::future::try_join_all(refs).await?;
    Ok(())
}

/// `SPAWNS` counter actors, each called once, kept.
async fn spawns(rt: Runtime) -> Result<()> {
    let component = rt.load(wactor_examples::COUNTER)?;
    for _ in 0..10 {
        component.spawn(quiet())?.call("add", (1i64,))?.await?;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = snapshot();
    TRACING.store(true, Relaxed);
    let mut actors = Vec::new();
    for _ in 0..SPAWNS {
        let actor = component.spawn(quiet())?;
        actor.call("add", (1i64,))?.await?;
        actors.push(actor);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    TRACING.store(false, Relaxed);
    report("wactor, per spawned actor", &before, SPAWNS);
    Ok(())
}

/// The same on bare wasmtime, on the runtime's engine.
mod bare {
    use super::*;
    use wasmtime::component::{Component, Linker, ResourceTable};
    use wasmtime::{Engine, Store};
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

    struct Bare {
        wasi: WasiCtx,
        table: ResourceTable,
    }

    impl WasiView for Bare {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    fn store(engine: &Engine) -> Store<Bare> {
        let data = Bare {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(engine, data);
        store.set_epoch_deadline(u64::MAX / 2);
        store
    }

    pub(super) async fn calls(engine: Engine) -> Result<()> {
        let component = Component::from_file(&engine, wactor_examples::ASYNC_ACTOR)?;
        let mut linker = Linker::<Bare>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        linker
            .instance("wactor:runtime/time@0.4.0")?
            .func_wrap_concurrent("sleep", |_, (millis,): (u64,)| {
                Box::pin(async move {
                    tokio::time::sleep(Duration::from_millis(millis)).await;
                    Ok(())
                })
            })?;
        let mut store = store(&engine);
        let instance = linker.instantiate_async(&mut store, &component).await?;
        let Some(run_task) = instance.get_func(&mut store, "run-task") else {
            bail!("async-actor has no run-task");
        };
        store
            .run_concurrent(async |accessor| -> Result<()> {
                for _ in 0..10 {
                    let mut out = [Val::Bool(false)];
                    run_task
                        .call_concurrent(accessor, &[Val::U64(1)], &mut out)
                        .await?;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                let before = snapshot();
                let calls = (0..CALLS).map(|_| async {
                    let mut out = [Val::Bool(false)];
                    run_task
                        .call_concurrent(accessor, &[Val::U64(1500)], &mut out)
                        .await
                });
                let sample = async {
                    tokio::time::sleep(Duration::from_millis(700)).await;
                    report("bare wasmtime, per in-flight call", &before, CALLS);
                };
                let (results, ()) = futures::join!(futures::future::join_all(calls), sample);
                results.into_iter().collect::<wasmtime::Result<Vec<()>>>()?;
                Ok(())
            })
            .await??;
        Ok(())
    }

    pub(super) async fn spawns(engine: Engine) -> Result<()> {
        let component = Component::from_file(&engine, wactor_examples::COUNTER)?;
        let mut linker = Linker::<Bare>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        linker.define_unknown_imports_as_traps(&component)?;
        let pre = linker.instantiate_pre(&component)?;
        let start_one = async || -> Result<Store<Bare>> {
            let mut store = store(&engine);
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
        let before = snapshot();
        let mut stores = Vec::new();
        for _ in 0..SPAWNS {
            stores.push(start_one().await?);
        }
        report("bare wasmtime, per instance", &before, SPAWNS);
        Ok(())
    }
}
