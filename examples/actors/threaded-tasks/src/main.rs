//! Ray's threaded-actor example, as one wasm program:
//!
//! ```python
//! @ray.remote
//! class ThreadedActor:
//!     def task_1(self): print("I'm running in a thread!")
//!     def task_2(self): print("I'm running in another thread!")
//!
//! a = ThreadedActor.options(max_concurrency=2).remote()
//! ray.get([a.task_1.remote(), a.task_2.remote()])
//! ```
//!
//! Each task also blocks for 1 s, so the two running in parallel take ~1 s.

use std::thread::sleep;
use std::time::Duration;

use wactor_guest::{Actor, Options};

wactor_guest::actor!("wactor-examples:threaded-tasks/threaded-tasks");

struct ThreadedActor;

impl Guest for ThreadedActor {
    fn task_1() {
        println!("I'm running in a thread!");
        sleep(Duration::from_secs(1));
        println!("task-1 done");
    }

    fn task_2() {
        println!("I'm running in another thread!");
        sleep(Duration::from_secs(1));
        println!("task-2 done");
    }
}

export!(ThreadedActor);

fn main() {
    let a = Actor::spawn(Options::new().max_concurrency(2)).expect("spawn ThreadedActor");
    let refs = [
        a.call("task-1", ()).expect("call task-1"),
        a.call("task-2", ()).expect("call task-2"),
    ];
    // `ray.wait(refs, num_returns=2)`, then `ray.get(refs)`.
    let ready = wactor_guest::wait_blocking(&refs, 2, None).expect("ray.wait");
    assert_eq!(ready, [0, 1], "both tasks are done");
    wactor_guest::get_all_blocking::<()>(&refs, None).expect("ray.get");
}
