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
    let spin = spinner.call("spin", (3_000u64,)).unwrap();
    // Give the spinner the thread first.
    tokio::task::yield_now().await;

    let start = Instant::now();
    let refs: Vec<_> = (0..50)
        .map(|_| sleeper.call_typed::<u32>("run-task", (200u64,)).unwrap())
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
    eprintln!("50 x sleep(200 ms) beside a spinning actor on one thread: {latency:?}");
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
