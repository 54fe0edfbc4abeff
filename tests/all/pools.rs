//! Actor pools (Ray's `ray.util.ActorPool`), from the host and from a guest.

use futures::StreamExt;
use wactor::{ActorPool, Val};
use wactor_tests::{load, runtime};

fn pool(rt: &wactor::Runtime, n: usize) -> ActorPool {
    let component = load(rt, "streamer");
    ActorPool::new((0..n).map(|_| component.spawn(Default::default()).unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_gives_results_in_input_order_and_map_unordered_as_they_finish() {
    let rt = runtime();
    let mut pool = pool(&rt, 3);
    // Earlier values take longer, so they finish last.
    let task = |actor: &wactor::ActorHandle, (v, ms): (u32, u64)| actor.call("double", (v, ms));
    let inputs = [(1u32, 300u64), (2, 200), (3, 10)];
    let ordered: Vec<Val> = pool.map(task, inputs).map(Result::unwrap).collect().await;
    assert_eq!(ordered, [2u32, 4, 6].map(Val::U32));
    let unordered: Vec<Val> = pool
        .map_unordered(task, inputs)
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(unordered, [6u32, 4, 2].map(Val::U32));
    assert!(!pool.has_next());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_actor_runs_one_task_at_a_time_and_the_rest_wait_in_the_pool() {
    let rt = runtime();
    let component = load(&rt, "streamer");
    let actors: Vec<_> = (0..2)
        .map(|_| component.spawn(Default::default()).unwrap())
        .collect();
    let mut pool = ActorPool::new(actors.clone());
    for v in 0..6u32 {
        pool.submit(move |actor| actor.call("double", (v, 50u64)));
    }
    assert!(!pool.has_free());
    let mut got = Vec::new();
    while pool.has_next() {
        got.push(pool.get_next().await.unwrap());
    }
    assert_eq!(got, (0..6u32).map(|v| Val::U32(2 * v)).collect::<Vec<_>>());
    // What each actor saw: never two of the pool's calls at once.
    for actor in &actors {
        let peak = actor.call("peak-doubles", ()).unwrap().await.unwrap();
        assert_eq!(peak, Val::U32(1));
    }
    assert!(pool.has_free());
    assert!(pool.pop_idle().is_some());
    assert!(pool.get_next().await.is_err(), "nothing is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_is_reported_in_its_turn() {
    let rt = runtime();
    let mut pool = pool(&rt, 1);
    pool.submit(|actor| actor.call("double", (1u32, 0u64)));
    pool.submit(|actor| actor.call("no-such-method", ()));
    pool.submit(|actor| actor.call("double", (3u32, 0u64)));
    assert_eq!(pool.get_next().await.unwrap(), Val::U32(2));
    assert!(matches!(
        pool.get_next().await,
        Err(wactor::Error::UnknownMethod { .. })
    ));
    assert_eq!(pool.get_next().await.unwrap(), Val::U32(6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_maps_over_a_pool_of_actors() {
    let rt = runtime();
    let actor = load(&rt, "streamer").spawn(Default::default()).unwrap();
    let values = vec![Val::U32(1), Val::U32(2), Val::U32(3), Val::U32(4)];
    let ordered = actor
        .call("pool-map", (2u32, Val::List(values.clone()), false))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(ordered, Val::List([2u32, 4, 6, 8].map(Val::U32).to_vec()));
    // Later values take less time: as they finish, the last comes first.
    let unordered = actor
        .call("pool-map", (4u32, Val::List(values), true))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(unordered, Val::List([8u32, 6, 4, 2].map(Val::U32).to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_waiting_in_a_pool_without_actors_fail_instead_of_hanging() {
    let rt = runtime();
    let mut pool = ActorPool::new(Vec::new());
    pool.submit(|a| a.call("double", (1u32, 0u64)));
    let ordered = pool.get_next().await.unwrap_err().to_string();
    assert!(ordered.contains("no actor to run them"), "{ordered}");
    let unordered = pool.get_next_unordered().await.unwrap_err().to_string();
    assert!(unordered.contains("no actor to run them"), "{unordered}");
    // The task is still there: an actor pushed runs it.
    pool.push(load(&rt, "streamer").spawn(Default::default()).unwrap());
    assert_eq!(pool.get_next().await.unwrap(), Val::U32(2));

    // The same inside a guest: a pool of no actors.
    let actor = load(&rt, "streamer").spawn(Default::default()).unwrap();
    let empty = actor
        .call("pool-map", (0u32, Val::List(vec![Val::U32(1)]), false))
        .unwrap()
        .await;
    let why = wactor_tests::failed_with(empty);
    assert!(why.contains("no actor to run them"), "{why}");
}
