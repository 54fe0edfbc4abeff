use std::time::{Duration, Instant};

use wactor::{ActorOptions, Error, GuestOutput, Val};
use wactor_tests::{PATIENCE, load, runtime};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_times_out_and_the_call_still_finishes() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let r = actor.call("echo", ("late", 500u64)).unwrap();
    let err = r.get(Some(Duration::from_millis(50))).unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert_eq!(r.get(Some(PATIENCE)).unwrap(), Val::String("late".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_returns_after_num_returns_are_ready() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let fast1 = actor.call("echo", ("fast1", 10u64)).unwrap();
    let slow = actor.call("echo", ("slow", 5_000u64)).unwrap();
    let fast2 = actor.call("echo", ("fast2", 20u64)).unwrap();
    let start = Instant::now();
    let (ready, pending) = wactor::wait(vec![fast1.clone(), slow.clone(), fast2.clone()], 2, None)
        .await
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "waited for the slow call"
    );
    let ids = |refs: &[wactor::ObjectRef]| refs.iter().map(|r| r.id()).collect::<Vec<_>>();
    assert_eq!(ids(&ready), [fast1.id(), fast2.id()]);
    assert_eq!(ids(&pending), [slow.id()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_with_a_timeout_returns_what_is_ready_by_then() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let fast = actor.call("echo", ("fast", 0u64)).unwrap();
    let slow = actor.call("echo", ("slow", 5_000u64)).unwrap();
    let (ready, pending) = wactor::wait(vec![fast, slow], 2, Some(Duration::from_millis(300)))
        .await
        .unwrap();
    assert_eq!((ready.len(), pending.len()), (1, 1));

    let blocking = tokio::task::spawn_blocking(move || {
        wactor::wait_blocking(pending, 1, Some(Duration::from_millis(50)))
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!((blocking.0.len(), blocking.1.len()), (0, 1));
}

#[test]
fn put_makes_a_ready_ref_that_many_can_await() {
    let r = wactor::put(Val::U64(42));
    let clones: Vec<_> = (0..3).map(|_| r.clone()).collect();
    for c in clones {
        assert_eq!(c.get(None).unwrap(), Val::U64(42));
    }
}
