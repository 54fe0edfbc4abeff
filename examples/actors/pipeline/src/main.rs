//! ObjectRefs between three actors, as one wasm program:
//!
//! ```python
//! a, b, c = Stage.remote(), Stage.remote(), Stage.remote()
//! r1 = a.produce.remote(21, 200)   # 42, later
//! r2 = b.add_one.remote(r1)        # B awaits r1
//! r3 = c.add_one.remote(r2)        # C awaits r2
//! print(ray.get(r3))               # 44
//! ```
//!
//! `wactor run pipeline.wasm --component counter=counter.wasm -- --tally`
//! also adds the result to a counter actor spawned from another component;
//! `-- --crash` makes the program trap at once; `-- --task` also runs
//! `produce(5, 0)` as a stateless task and prints "task: 10".

use std::time::Duration;

use serde_json::json;
use wactor_guest::{Actor, Options};

wactor_guest::actor!("wactor-examples:pipeline/pipeline");

struct Stage;

impl Guest for Stage {
    async fn produce(n: u64, millis: u64) -> u64 {
        wactor_guest::sleep(Duration::from_millis(millis)).await;
        n * 2
    }

    // `ObjectRef` here is the raw handle type the world `use`s; the SDK's
    // typed wrapper is `wactor_guest::ObjectRef`.
    async fn add_one(input: ObjectRef) -> u64 {
        let input = wactor_guest::ObjectRef::from_raw(input);
        let n: u64 = input.get().await.expect("the input resolves");
        n + 1
    }

    fn relay(input: ObjectRef) -> ObjectRef {
        input
    }

    async fn echo_number(x: u64) -> u64 {
        x
    }

    async fn call_peer(n: u32) -> u64 {
        let peer = Actor::spawn(Options::new()).expect("spawn a peer");
        // One warm-up call, so the peer's instantiation is not measured.
        let _: u64 = peer.call("echo-number", (0,)).unwrap().get().await.unwrap();
        let start = std::time::Instant::now();
        for i in 0..u64::from(n) {
            let r = peer.call("echo-number", (i,)).expect("call");
            let back: u64 = r.get().await.expect("echo");
            assert_eq!(back, i);
        }
        u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

export!(Stage);

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--crash") {
        panic!("crashing on purpose, as asked");
    }
    let stage = |name: &str| Actor::spawn(Options::new().name(name)).expect("spawn a stage");
    let (a, b, c) = (stage("a"), stage("b"), stage("c"));
    let r1 = a.call("produce", (21, 200)).expect("call produce");
    let r2 = b
        .call_with_refs("add-one", (json!({"$ref": 0}),), vec![r1])
        .expect("call add-one on b");
    let r3 = c
        .call_with_refs("add-one", (json!({"$ref": 0}),), vec![r2])
        .expect("call add-one on c");
    let r4 = a
        .call_with_refs("relay", (json!({"$ref": 0}),), vec![r3])
        .expect("call relay");
    let result: u64 = r4.get_blocking(None).expect("the pipeline's result");
    println!("{result}");

    // With `--task`, run `produce` as a stateless task too (Ray's
    // `f.remote()`), and print its result.
    if std::env::args().nth(1).as_deref() == Some("--task") {
        let r = wactor_guest::submit(None, "produce", (5, 0)).expect("submit produce");
        let n: u64 = r.get_blocking(None).expect("the task's result");
        println!("task: {n}");
    }

    // With `--tally`, add the result to a counter actor from the component
    // the host made available as "counter" (`--component counter=...`).
    if std::env::args().nth(1).as_deref() == Some("--tally") {
        match Actor::spawn_from(Some("counter"), Options::new()) {
            Ok(counter) => {
                let total: i64 = counter
                    .call("add", (result,))
                    .and_then(|r| r.get_blocking(None))
                    .expect("the counter adds");
                println!("tally: {total}");
            }
            Err(e) => {
                eprintln!("cannot tally: {e}");
                std::process::exit(3);
            }
        }
    }
}
