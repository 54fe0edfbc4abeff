//! Ray's `ThreadedActor` as a wactor guest.
//!
//! ```python
//! @ray.remote
//! class ThreadedActor:
//!     def task_1(self): print("I'm running in a thread!")
//!     def task_2(self): print("I'm running in another thread!")
//! ```
//!
//! Each instance of the pool has its own memory, so the methods keep no
//! state: what they did is visible in their output.

use std::thread::sleep;
use std::time::Duration;

wactor_guest::actor!("wactor-examples:threaded-actor/threaded-actor");

struct ThreadedActor;

impl Guest for ThreadedActor {
    fn task_1(millis: u64) {
        println!("I'm running in a thread!");
        sleep(Duration::from_millis(millis));
    }

    fn task_2(millis: u64) {
        println!("I'm running in another thread!");
        sleep(Duration::from_millis(millis));
    }

    fn crash_once(marker: String) -> String {
        if std::fs::metadata(&marker).is_ok() {
            return "survived".into();
        }
        std::fs::write(&marker, "crashed once").expect("write the marker");
        panic!("crash-once: crashing the first time");
    }

    fn crash() {
        panic!("crash: crashing on purpose");
    }

    fn work_via_self(id: u32) -> Result<u32, String> {
        let me = wactor_guest::Actor::current();
        let r = me.call("work", (id, 0)).map_err(|e| e.to_string())?;
        r.get_blocking(None).map_err(|e| e.to_string())
    }

    fn wait_some(
        delays: Vec<u64>,
        num_returns: u32,
        timeout_ms: Option<u64>,
    ) -> Result<Vec<u32>, String> {
        let text = |e: wactor_guest::Error| e.to_string();
        let n = u32::try_from(delays.len()).map_err(|e| e.to_string())?;
        let pool = wactor_guest::Actor::spawn(wactor_guest::Options::new().max_concurrency(n))
            .map_err(text)?;
        let refs = delays
            .iter()
            .enumerate()
            .map(|(i, millis)| pool.call("work", (i, millis)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(text)?;
        let timeout = timeout_ms.map(Duration::from_millis);
        let ready =
            wactor_guest::wait_blocking(&refs, num_returns as usize, timeout).map_err(text)?;
        Ok(ready.into_iter().map(|i| i as u32).collect())
    }

    fn wait_for(r: ObjectRef) -> Result<u32, String> {
        wactor_guest::ObjectRef::from_raw(r)
            .get_blocking(None)
            .map_err(|e| e.to_string())
    }

    fn tangle() -> Result<u32, String> {
        let text = |e: wactor_guest::Error| e.to_string();
        let looped = wactor_guest::Actor::current()
            .call("work", (7, 0))
            .map_err(text)?;
        let other = wactor_guest::Actor::spawn(wactor_guest::Options::new()).map_err(text)?;
        let via = other
            .call_with_refs("wait-for", (serde_json::json!({"$ref": 0}),), vec![looped])
            .map_err(text)?;
        via.get_blocking(None).map_err(text)
    }

    fn work(id: u32, millis: u64) -> u32 {
        println!("started {id}");
        sleep(Duration::from_millis(millis));
        println!("finished {id}");
        id
    }
}

export!(ThreadedActor);
