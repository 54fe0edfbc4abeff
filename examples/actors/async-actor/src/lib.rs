//! Ray's `AsyncActor` as a wactor guest.
//!
//! ```python
//! @ray.remote
//! class AsyncActor:
//!     async def run_concurrent(self):
//!         print("started")
//!         await asyncio.sleep(2)
//!         print("finished")
//! ```

use std::cell::Cell;
use std::time::Duration;

wactor_guest::actor!("wactor-examples:async-actor/async-actor");

// One instance serves every call of an async actor, so plain (non-atomic)
// state is shared by all interleaved calls, like `self` in Ray.
thread_local! {
    static IN_FLIGHT: Cell<u32> = const { Cell::new(0) };
    static PEAK: Cell<u32> = const { Cell::new(0) };
    static FINISHED: Cell<u64> = const { Cell::new(0) };
    static BLOCKING: Cell<u32> = const { Cell::new(0) };
}

struct AsyncActor;

impl Guest for AsyncActor {
    async fn run_concurrent() {
        println!("started");
        wactor_guest::sleep(Duration::from_secs(2)).await;
        println!("finished");
    }

    async fn run_task(millis: u64) -> u32 {
        let now = IN_FLIGHT.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        PEAK.with(|p| p.set(p.get().max(now)));
        println!("started");
        wactor_guest::sleep(Duration::from_millis(millis)).await;
        println!("finished");
        IN_FLIGHT.with(|n| n.set(n.get() - 1));
        FINISHED.with(|f| f.set(f.get() + 1));
        now
    }

    async fn ping(x: u64) -> u64 {
        x
    }

    fn blocking_task(millis: u64) -> u32 {
        let now = BLOCKING.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        std::thread::sleep(Duration::from_millis(millis));
        BLOCKING.with(|n| n.set(n.get() - 1));
        now
    }

    fn peak_concurrency() -> u32 {
        PEAK.with(Cell::get)
    }

    fn finished_tasks() -> u64 {
        FINISHED.with(Cell::get)
    }
}

export!(AsyncActor);
