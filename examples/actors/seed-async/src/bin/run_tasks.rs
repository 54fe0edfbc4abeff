//! Ray's `max_concurrency` example, as one wasm program:
//!
//! ```python
//! actor = AsyncActor.options(max_concurrency=N).remote()   # default 1000
//! ray.get([actor.run_task.remote() for _ in range(50)])
//! ```
//!
//! Run it as `wactor run run_tasks.wasm` (all 50 at once, ~1 s) or
//! `wactor run run_tasks.wasm -- 10` (10 at a time, ~5 s).

include!("../actor.rs");

use wactor_guest::{Actor, Options};

fn main() {
    let mut options = Options::new();
    if let Some(n) = std::env::args().nth(1) {
        options = options.max_concurrency(n.parse().expect("max_concurrency is a number"));
    }
    let actor = Actor::spawn(options).expect("spawn AsyncActor");
    let refs: Vec<_> = (0..50)
        .map(|_| actor.call("run-task", ()).expect("call"))
        .collect();
    wactor_guest::get_all_blocking::<()>(&refs, None).expect("ray.get");
}
