//! Ray's `max_concurrency` example, as one wasm program:
//!
//! ```python
//! actor = AsyncActor.options(max_concurrency=N).remote()   # default 1000
//! ray.get([actor.run_task.remote() for _ in range(50)])
//! ```
//!
//! `wactor run run_tasks.wasm` runs all 50 at once (~1 s);
//! `wactor run run_tasks.wasm -- 10` runs 10 at a time (~5 s);
//! `wactor run run_tasks.wasm --component py=py_async_actor.wasm -- --from py`
//! spawns the actor from another component with the same methods (e.g. the
//! Python `AsyncActor`) instead of this program's own.

include!("../actor.rs");

use wactor_guest::{Actor, Options};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut from = None;
    let mut options = Options::new();
    while let Some(arg) = args.next() {
        if arg == "--from" {
            from = Some(args.next().expect("--from takes a component name"));
        } else {
            options = options.max_concurrency(arg.parse().expect("max_concurrency is a number"));
        }
    }
    let actor = Actor::spawn_from(from.as_deref(), options).expect("spawn AsyncActor");
    let refs: Vec<_> = (0..50)
        .map(|_| actor.call("run-task", ()).expect("call"))
        .collect();
    wactor_guest::get_all_blocking::<()>(&refs, None).expect("ray.get");
}
