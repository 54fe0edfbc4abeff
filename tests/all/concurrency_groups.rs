//! Concurrency groups (Ray's `concurrency_groups`): methods in a group get
//! slots and a queue of their own, so a flood of them never holds back the
//! actor's other methods.

use wactor::{ActorOptions, Error, GuestOutput, OutputCapture, Val};
use wactor_tests::{PATIENCE, load, peak_overlap, runtime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_runs_its_calls_two_at_a_time_while_other_methods_answer_at_once() {
    let rt = runtime();
    let actor = load(&rt, "async-actor")
        .spawn(
            ActorOptions::new()
                .concurrency_group("slow", 2, ["run-task"])
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    let slow: Vec<_> = (0..20)
        .map(|_| actor.call("run-task", (500u64,)).unwrap())
        .collect();
    // The default group has its own 1000 slots: `ping` does not queue
    // behind the twenty.
    assert_eq!(
        actor.call("ping", (7u64,)).unwrap().await.unwrap(),
        Val::U64(7)
    );
    let finished = actor.call("finished-tasks", ()).unwrap().await.unwrap();
    assert!(
        matches!(finished, Val::U64(n) if n <= 2),
        "ping answered only after {finished:?} of the slow calls finished"
    );
    for r in slow {
        let in_flight = r.await.unwrap();
        assert!(matches!(in_flight, Val::U32(1..=2)), "{in_flight:?}");
    }
    let peak = actor.call("peak-concurrency", ()).unwrap().await.unwrap();
    assert_eq!(peak, Val::U32(2), "the guest saw more than 2 at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_group_other_methods_wait_behind_a_full_actor() {
    // The contrast: the same flood under max_concurrency 2 and no group
    // makes `ping` wait for its turn in the one queue.
    let rt = runtime();
    let actor = load(&rt, "async-actor")
        .spawn(
            ActorOptions::new()
                .max_concurrency(2)
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    let slow: Vec<_> = (0..10)
        .map(|_| actor.call("run-task", (100u64,)).unwrap())
        .collect();
    actor.call("ping", (7u64,)).unwrap().await.unwrap();
    let finished = actor.call("finished-tasks", ()).unwrap().await.unwrap();
    assert!(matches!(finished, Val::U64(n) if n >= 9), "{finished:?}");
    wactor::get_all(&slow, Some(PATIENCE)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threaded_actors_group_has_instances_of_its_own() {
    let rt = runtime();
    let out = OutputCapture::new();
    let actor = load(&rt, "threaded-actor")
        .spawn(
            ActorOptions::new()
                .concurrency_group("slow", 2, ["work"])
                .stdout(GuestOutput::Capture(out.clone())),
        )
        .unwrap();
    let work: Vec<_> = (0..20u32)
        .map(|id| actor.call("work", (id, 200u64)).unwrap())
        .collect();
    // `task-1` runs on the default group's own instance.
    actor.call("task-1", (0u64,)).unwrap().await.unwrap();
    let done = work.iter().filter(|r| r.is_ready()).count();
    assert!(done <= 4, "task-1 answered only after {done} work calls");
    let values = wactor::get_all(&work, Some(PATIENCE)).unwrap();
    assert_eq!(values, (0..20).map(Val::U32).collect::<Vec<_>>());
    let lines: Vec<_> = out
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("started") || l.starts_with("finished"))
        .collect();
    assert_eq!(lines.len(), 40, "{lines:?}");
    assert_eq!(peak_overlap(&lines, "started", "finished"), 2, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_sets_groups_in_its_actor_options() {
    let rt = runtime();
    let streamer = load(&rt, "streamer").spawn(ActorOptions::new()).unwrap();
    let grouped = streamer
        .call("grouped", (10u32, 2u32))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(grouped, Val::U32(2));
    let ungrouped = streamer
        .call("grouped", (10u32, 0u32))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(ungrouped, Val::U32(10));
}

#[test]
fn bad_groups_are_refused_at_spawn_with_the_reason() {
    let rt = runtime();
    let faulty = load(&rt, "faulty");
    let refused = |options: ActorOptions| match faulty.spawn(options) {
        Err(Error::InvalidOption { reason, .. }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let unknown = refused(ActorOptions::new().concurrency_group("g", 1, ["nope"]));
    assert!(
        unknown.contains("`nope`, which is not a method"),
        "{unknown}"
    );
    assert!(
        unknown.contains("spin"),
        "the methods are listed: {unknown}"
    );
    let twice = refused(
        ActorOptions::new()
            .concurrency_group("a", 1, ["spin"])
            .concurrency_group("b", 1, ["spin"]),
    );
    assert!(twice.contains("in two groups"), "{twice}");
    let threaded = load(&rt, "threaded-actor");
    match threaded.spawn(ActorOptions::new().concurrency_group("big", 5000, ["work"])) {
        Err(Error::InvalidOption { reason, .. }) => {
            assert!(reason.contains("together ask for 5001"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_on_your_own_full_group_is_refused_not_hung() {
    // A threaded actor with `work-via-self` in a group of one: the call
    // waits on `work`, in the same group, queued behind itself.
    let rt = runtime();
    let actor = load(&rt, "threaded-actor")
        .spawn(
            ActorOptions::new()
                .concurrency_group("mine", 1, ["work-via-self", "work"])
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    let said = wactor_tests::failed_with(actor.call("work-via-self", (3u32,)).unwrap().await);
    assert!(said.contains("concurrency group `mine`"), "{said}");
    // With `work` outside the group, it runs on the default group's
    // instance and the wait ends.
    let actor = load(&rt, "threaded-actor")
        .spawn(
            ActorOptions::new()
                .concurrency_group("mine", 1, ["work-via-self"])
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    assert_eq!(
        actor.call("work-via-self", (3u32,)).unwrap().await.unwrap(),
        Val::U32(3)
    );
}
