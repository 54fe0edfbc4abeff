// The actor half of every program in this crate (included by each binary,
// since a component's exports are defined per binary).

use std::time::Duration;

wactor_guest::actor!("wactor-examples:seed-async/seed-async");

struct AsyncActor;

impl Guest for AsyncActor {
    async fn run_concurrent() {
        println!("started");
        wactor_guest::sleep(Duration::from_secs(2)).await;
        println!("finished");
    }

    async fn run_task() {
        println!("started");
        wactor_guest::sleep(Duration::from_secs(1)).await;
        println!("finished");
    }

    async fn await_ref(r: ObjectRef) -> String {
        let r = wactor_guest::ObjectRef::from_raw(r);
        match r.get::<serde_json::Value>().await {
            Ok(value) => value.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }
}

export!(AsyncActor);
