//! Ray's first example, as one wasm program:
//!
//! ```python
//! actor = AsyncActor.remote()
//! ray.get([actor.run_concurrent.remote() for _ in range(4)])  # regular ray.get
//! async def async_get():
//!     await actor.run_concurrent.remote()                     # async ray.get
//! asyncio.run(async_get())
//! ```
//!
//! A driver's `main` is sync code (WASI 0.2's `wasi:cli/run` is a sync
//! export), which may block but not await. So the awaiting half runs where
//! Ray's coroutine would: in async code, here an async method of a second
//! actor, which receives the ObjectRef as an argument and awaits it.

include!("../actor.rs");

use wactor_guest::{Actor, Options};

fn main() {
    let actor = Actor::spawn(Options::new()).expect("spawn AsyncActor");
    let refs: Vec<_> = (0..4)
        .map(|_| actor.call("run-concurrent", ()).expect("call"))
        .collect();
    wactor_guest::get_all_blocking::<()>(&refs, None).expect("ray.get");
    let r = actor.call("run-concurrent", ()).expect("call");
    let awaiter = Actor::spawn(Options::new().name("awaiter")).expect("spawn awaiter");
    let awaited = awaiter
        .call_with_refs("await-ref", (serde_json::json!({"$ref": 0}),), vec![r])
        .expect("call await-ref");
    let value: String = awaited.get_blocking(None).expect("await-ref");
    println!("awaited: {value}");
}
