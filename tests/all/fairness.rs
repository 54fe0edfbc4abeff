//! CPU fairness: a guest that spins does not starve other actors.

use std::time::Instant;

use wactor::{ActorOptions, GuestOutput};
use wactor_tests::{PATIENCE, load, runtime};

/// Everything on one thread: without time slicing, the spinning actor would
/// hold it until it is done.
#[tokio::test(flavor = "current_thread")]
async fn a_spinning_actor_does_not_starve_a_sleeping_one_on_one_thread() {
    let rt = runtime();
    let spinner = load(&rt, "faulty")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let sleeper = load(&rt, "async-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let spin = spinner.call("spin", (4_000u64,)).unwrap();
    // Give the spinner the thread first.
    tokio::task::yield_now().await;

    let start = Instant::now();
    let refs: Vec<_> = (0..50)
        .map(|_| sleeper.call_typed::<u32>("run-task", (1_000u64,)).unwrap())
        .collect();
    for r in refs {
        r.await.unwrap();
    }
    let latency = start.elapsed();
    // All 50 finished while the spinner was still spinning, all at once.
    assert!(
        !spin.is_ready(),
        "the sleeping actor waited for the spinner ({latency:?})"
    );
    let peak: u32 = sleeper
        .call_typed("peak-concurrency", ())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(peak, 50);
    eprintln!("50 x sleep(1 s) beside a spinning actor on one thread: {latency:?}");
    // (Awaited, not `get`: blocking would stop the one thread.)
    let spun = tokio::time::timeout(PATIENCE, spin).await.unwrap();
    assert!(matches!(spun, Ok(wactor::Val::U64(_))));
}

#[tokio::test(flavor = "current_thread")]
async fn without_time_slices_a_spinning_actor_holds_its_thread() {
    let rt = wactor::Runtime::builder()
        .cache_dir(None::<&str>)
        .time_slice(None)
        .build()
        .unwrap();
    let spinner = load(&rt, "faulty")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let sleeper = load(&rt, "async-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let spin = spinner.call("spin", (500u64,)).unwrap();
    tokio::task::yield_now().await;
    let nap = sleeper.call("run-task", (10u64,)).unwrap();
    nap.await.unwrap();
    // The sleeper could only run once the spinner was done.
    assert!(spin.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_deadline_times_out_and_retires_the_actor() {
    let rt = runtime();
    let deadline = std::time::Duration::from_millis(300);
    let actor = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .name("slowpoke")
                .call_deadline(deadline)
                .max_concurrency(1)
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    // In time: fine.
    let quick = actor.call("echo", ("quick", 10u64)).unwrap();
    assert_eq!(quick.await.unwrap(), wactor::Val::String("quick".into()));
    // A spinning call runs past the deadline; the queued one dies with the actor.
    let stuck = actor.call("spin", (60_000u64,)).unwrap();
    let queued = actor.call("echo", ("queued", 0u64)).unwrap();
    let err = tokio::time::timeout(PATIENCE, stuck)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, wactor::Error::Timeout(d) if d == deadline),
        "{err:?}"
    );
    let err = tokio::time::timeout(PATIENCE, queued)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("a call of `spin` ran past its deadline of 300ms"),
        "{err}"
    );
    assert!(matches!(
        actor.death_cause(),
        Some(wactor::DeathCause::DeadlineExceeded { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threaded_call_past_its_deadline_times_out_too() {
    let rt = runtime();
    let deadline = std::time::Duration::from_millis(200);
    let actor = load(&rt, "threaded-actor")
        .spawn(
            ActorOptions::new()
                .call_deadline(deadline)
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    let stuck = actor.call("work", (1u32, 30_000u64)).unwrap();
    let err = tokio::time::timeout(PATIENCE, stuck)
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, wactor::Error::Timeout(_)), "{err:?}");
    let later = actor.call("work", (2u32, 0u64)).unwrap();
    assert!(matches!(later.await, Err(wactor::Error::ActorDied { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_an_actor_stops_a_spinning_call() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let stuck = actor.call("spin", (600_000u64,)).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    actor.kill();
    let outcome = tokio::time::timeout(PATIENCE, stuck)
        .await
        .expect("the kill is seen");
    assert!(matches!(
        outcome,
        Err(wactor::Error::ActorDied {
            cause: wactor::DeathCause::Killed,
            ..
        })
    ));
}
