use wactor::{ActorKind, ActorOptions, GuestOutput, OutputCapture};
use wactor_tests::{PATIENCE, load, peak_overlap, runtime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_two_runs_two_calls_in_parallel() {
    let rt = runtime();
    let component = load(&rt, "threaded-actor");
    assert_eq!(component.kind(), ActorKind::Threaded);
    let out = OutputCapture::new();
    let actor = component
        .spawn(
            ActorOptions::new()
                .max_concurrency(2)
                .stdout(GuestOutput::Capture(out.clone())),
        )
        .unwrap();
    let refs: Vec<_> = (0..6u32)
        .map(|id| actor.call("work", (id, 300u64)).unwrap())
        .collect();
    wactor::get_all(&refs, Some(PATIENCE)).unwrap();
    let lines = out.lines();
    assert_eq!(lines.len(), 12, "{lines:?}");
    assert_eq!(peak_overlap(&lines, "started", "finished"), 2, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_threaded_actor_runs_task_1_and_task_2_together() {
    let rt = runtime();
    let out = OutputCapture::new();
    let actor = load(&rt, "threaded-actor")
        .spawn(
            ActorOptions::new()
                .max_concurrency(2)
                .stdout(GuestOutput::Capture(out.clone())),
        )
        .unwrap();
    let a = actor.call("task-1", (100u64,)).unwrap();
    let b = actor.call("task-2", (100u64,)).unwrap();
    wactor::get_all(&[a, b], Some(PATIENCE)).unwrap();
    let mut lines = out.lines();
    lines.sort();
    assert_eq!(
        lines,
        ["I'm running in a thread!", "I'm running in another thread!"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_threaded_actor_runs_one_call_at_a_time_in_order() {
    let rt = runtime();
    let out = OutputCapture::new();
    let actor = load(&rt, "threaded-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Capture(out.clone())))
        .unwrap();
    assert_eq!(actor.max_concurrency(), 1);
    let refs: Vec<_> = (0..8u32)
        .map(|id| actor.call("work", (id, 20u64)).unwrap())
        .collect();
    wactor::get_all(&refs, Some(PATIENCE)).unwrap();
    let expected: Vec<String> = (0..8)
        .flat_map(|id| [format!("started {id}"), format!("finished {id}")])
        .collect();
    assert_eq!(out.lines(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_sees_its_calls_in_submission_order() {
    let rt = runtime();
    let counter = load(&rt, "counter").spawn(ActorOptions::new()).unwrap();
    let refs: Vec<_> = (0..100)
        .map(|_| counter.call_typed::<i64>("add", (1i64,)).unwrap())
        .collect();
    let mut totals = Vec::new();
    for r in refs {
        totals.push(r.await.unwrap());
    }
    assert_eq!(totals, (1..=100).collect::<Vec<i64>>());
}
