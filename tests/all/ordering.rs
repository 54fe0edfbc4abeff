//! The order guarantees, as `docs/ray-api.md` states them: a threaded actor
//! with one instance runs each caller's calls in submission order; calls
//! that run concurrently (an async actor, a pool of instances) finish in
//! whatever order they finish.

use std::sync::Arc;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use wactor::{ActorOptions, GuestOutput, OutputCapture, Val};
use wactor_tests::{PATIENCE, load, runtime};

/// The ids of `started <id>` lines, in the order the guest printed them.
fn started(out: &OutputCapture) -> Vec<u32> {
    out.lines()
        .iter()
        .filter_map(|l| l.strip_prefix("started ")?.parse().ok())
        .collect()
}

#[test]
fn one_instance_runs_each_callers_calls_in_submission_order() {
    let rt = runtime();
    let out = OutputCapture::new();
    let actor = Arc::new(
        load(&rt, "threaded-actor")
            .spawn(ActorOptions::new().stdout(GuestOutput::Capture(out.clone())))
            .unwrap(),
    );
    // Two callers at once, each submitting its own ids in order.
    let callers: Vec<_> = [0u32, 1000]
        .into_iter()
        .map(|base| {
            let actor = actor.clone();
            std::thread::spawn(move || {
                let refs: Vec<_> = (base..base + 50)
                    .map(|id| actor.call("work", (id, 0u64)).unwrap())
                    .collect();
                wactor::get_all(&refs, Some(PATIENCE)).unwrap()
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap();
    }
    let order = started(&out);
    assert_eq!(order.len(), 100);
    for base in [0u32, 1000] {
        let mine: Vec<u32> = order
            .iter()
            .copied()
            .filter(|id| (base..base + 50).contains(id))
            .collect();
        assert_eq!(mine, (base..base + 50).collect::<Vec<_>>(), "caller {base}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_async_calls_finish_in_any_order() {
    let rt = runtime();
    let actor = load(&rt, "streamer").spawn(ActorOptions::new()).unwrap();
    // Submitted 0, 1, 2, 3; the later ones sleep less.
    let mut pending: FuturesUnordered<_> = (0..4u32)
        .map(|x| {
            let r = actor.call("double", (x, 100 * u64::from(4 - x))).unwrap();
            async move { r.await.unwrap() }
        })
        .collect();
    let mut finished = Vec::new();
    while let Some(value) = pending.next().await {
        finished.push(value);
    }
    assert_eq!(finished, [6u32, 4, 2, 0].map(Val::U32));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_actor_with_one_slot_runs_calls_in_submission_order() {
    let rt = runtime();
    let actor = load(&rt, "streamer")
        .spawn(ActorOptions::new().max_concurrency(1))
        .unwrap();
    let mut pending: FuturesUnordered<_> = (0..4u32)
        .map(|x| {
            let r = actor.call("double", (x, 50 * u64::from(4 - x))).unwrap();
            async move { r.await.unwrap() }
        })
        .collect();
    let mut finished = Vec::new();
    while let Some(value) = pending.next().await {
        finished.push(value);
    }
    assert_eq!(finished, [0u32, 2, 4, 6].map(Val::U32));
}
