use std::time::Instant;

use wactor::{ActorKind, ActorOptions, GuestOutput, OutputCapture, Val};
use wactor_tests::{PATIENCE, load, peak_overlap, runtime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_calls_are_all_in_flight_at_once() {
    let rt = runtime();
    let component = load(&rt, "async-actor");
    assert_eq!(component.kind(), ActorKind::Async);
    let out = OutputCapture::new();
    let actor = component
        .spawn(ActorOptions::new().stdout(GuestOutput::Capture(out.clone())))
        .unwrap();

    let start = Instant::now();
    let refs: Vec<_> = (0..50)
        .map(|_| actor.call_typed::<u32>("run-task", (1000u64,)).unwrap())
        .collect();
    let mut in_flight_at_start = Vec::new();
    for r in refs {
        in_flight_at_start.push(r.await.unwrap());
    }
    let elapsed = start.elapsed();

    let peak: u32 = actor
        .call_typed("peak-concurrency", ())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(peak, 50, "the guest saw {peak} calls in flight at most");
    assert_eq!(in_flight_at_start.iter().max(), Some(&50));
    let lines = out.lines();
    assert_eq!(lines.iter().filter(|l| *l == "started").count(), 50);
    assert_eq!(lines.iter().filter(|l| *l == "finished").count(), 50);
    assert_eq!(peak_overlap(&lines, "started", "finished"), 50);
    assert!(elapsed < PATIENCE, "took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_caps_calls_in_flight_and_the_rest_queue() {
    let rt = runtime();
    let actor = load(&rt, "async-actor")
        .spawn(
            ActorOptions::new()
                .max_concurrency(10)
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    let refs: Vec<_> = (0..50)
        .map(|_| actor.call_typed::<u32>("run-task", (100u64,)).unwrap())
        .collect();
    for r in refs {
        let in_flight = r.await.unwrap();
        assert!(in_flight <= 10, "{in_flight} calls were in flight");
    }
    let peak: u32 = actor
        .call_typed("peak-concurrency", ())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(peak, 10);
    let done: u64 = actor
        .call_typed("finished-tasks", ())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(done, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_exports_of_an_async_actor_share_its_instance_state() {
    let rt = runtime();
    let actor = load(&rt, "async-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    for _ in 0..3 {
        actor
            .call_typed::<u32>("run-task", (1u64,))
            .unwrap()
            .await
            .unwrap();
    }
    let done: u64 = actor
        .call_typed("finished-tasks", ())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(done, 3);
}

#[test]
fn a_runtime_built_outside_tokio_serves_blocking_callers() {
    // No tokio runtime here: the wactor runtime starts threads of its own.
    assert!(tokio::runtime::Handle::try_current().is_err());
    let rt = runtime();
    let actor = load(&rt, "async-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let refs: Vec<_> = (0..5)
        .map(|_| actor.call("run-task", (500u64,)).unwrap())
        .collect();
    let values = wactor::get_all(&refs, Some(PATIENCE)).unwrap();
    // Each value is the number of calls in flight when that call started:
    // the five blocking callers' calls ran at once, as awaited ones do.
    let mut in_flight: Vec<u32> = values
        .iter()
        .map(|v| match v {
            Val::U32(n) => *n,
            other => panic!("run-task returned {other:?}"),
        })
        .collect();
    in_flight.sort();
    assert_eq!(in_flight, [1, 2, 3, 4, 5]);
    let peak = actor
        .call("peak-concurrency", ())
        .unwrap()
        .get(Some(PATIENCE));
    assert_eq!(peak.unwrap(), Val::U32(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_exports_of_an_async_actor_run_one_at_a_time() {
    let rt = runtime();
    let actor = load(&rt, "async-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let refs: Vec<_> = (0..4)
        .map(|_| actor.call_typed::<u32>("blocking-task", (50u64,)).unwrap())
        .collect();
    for r in refs {
        assert_eq!(r.await.unwrap(), 1, "two sync calls overlapped");
    }
}
