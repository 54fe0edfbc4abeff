//! Streaming results (Ray's `num_returns="streaming"`): a method returning
//! `stream<T>` is read item by item, with backpressure.

use std::time::Duration;

use futures::StreamExt;
use wactor::{ActorOptions, Error, STREAM_BUFFER, Val};
use wactor_tests::{load, runtime};

fn numbers(n: u32) -> Vec<Val> {
    (0..n).map(Val::U32).collect()
}

async fn written(actor: &wactor::ActorHandle) -> u32 {
    match actor.call("written", ()).unwrap().await.unwrap() {
        Val::U32(n) => n,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_is_read_item_by_item_or_as_one_list() {
    let rt = runtime();
    let actor = load(&rt, "streamer").spawn(ActorOptions::new()).unwrap();
    let items: Vec<Val> = actor
        .call_stream("numbers", (5u32, 1u64))
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(items, numbers(5));
    // `call` of the same method: the list of every item.
    let all = actor.call("numbers", (5u32, 0u64)).unwrap().await.unwrap();
    assert_eq!(all, Val::List(numbers(5)));
    let words: Vec<Val> = actor
        .call_stream("words", ("to be or not",))
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(
        words,
        ["to", "be", "or", "not"].map(|w| Val::String(w.into()))
    );
    // Each item as a ref of its own.
    let refs: Vec<_> = actor
        .call_stream("numbers", (3u32, 0u64))
        .unwrap()
        .refs()
        .collect()
        .await;
    assert_eq!(wactor::get_all(&refs, None).unwrap(), numbers(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_arrive_while_the_producer_is_still_writing() {
    let rt = runtime();
    let actor = load(&rt, "streamer").spawn(ActorOptions::new()).unwrap();
    let mut items = actor.call_stream("numbers", (5u32, 200u64)).unwrap();
    assert_eq!(items.next_item().await.unwrap().unwrap(), Val::U32(0));
    // The guest has written one item (perhaps two); the rest are to come.
    let so_far = written(&actor).await;
    assert!(
        so_far < 5,
        "the first item came only after {so_far} were written"
    );
    let rest: Vec<Val> = items.map(Result::unwrap).collect().await;
    assert_eq!(rest, numbers(5)[1..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_slows_the_producer() {
    let rt = runtime();
    let actor = load(&rt, "streamer").spawn(ActorOptions::new()).unwrap();
    let mut items = actor.call_stream("numbers", (100u32, 0u64)).unwrap();
    // Nothing is read: the producer fills the host's buffer, then waits.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ahead = written(&actor).await;
    assert!(
        ahead as usize <= STREAM_BUFFER + 1,
        "{ahead} items were written with none read (the buffer holds {STREAM_BUFFER})"
    );
    assert!(ahead >= 1, "the producer wrote nothing");
    // Reading frees room, and the producer goes on to the end.
    let mut got = Vec::new();
    while let Some(item) = items.next_item().await {
        got.push(item.unwrap());
    }
    assert_eq!(got, numbers(100));
    assert_eq!(written(&actor).await, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_reader_stops_the_producer() {
    let rt = runtime();
    let actor = load(&rt, "streamer").spawn(ActorOptions::new()).unwrap();
    let mut items = actor.call_stream("numbers", (1000u32, 1u64)).unwrap();
    for i in 0..3 {
        assert_eq!(items.next_item().await.unwrap().unwrap(), Val::U32(i));
    }
    drop(items);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = written(&actor).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(written(&actor).await, stopped, "the producer kept writing");
    assert!((stopped as usize) < 3 + STREAM_BUFFER + 2, "{stopped}");
    // The actor is fine and streams again.
    let again: Vec<_> = actor
        .call_stream("numbers", (2u32, 0u64))
        .unwrap()
        .collect()
        .await;
    assert_eq!(again.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_with_the_error_when_its_actor_dies_or_an_item_is_too_large() {
    let rt = runtime();
    let actor = load(&rt, "streamer").spawn(ActorOptions::new()).unwrap();
    let mut items = actor.call_stream("numbers", (1000u32, 20u64)).unwrap();
    assert_eq!(items.next_item().await.unwrap().unwrap(), Val::U32(0));
    actor.kill();
    let mut last = None;
    while let Some(item) = items.next_item().await {
        last = Some(item);
    }
    assert!(
        matches!(last, Some(Err(Error::ActorDied { .. }))),
        "{last:?}"
    );

    let small = wactor::Runtime::builder()
        .cache_dir(None::<&str>)
        .max_value_size(1024)
        .build()
        .unwrap();
    let actor = load(&small, "streamer").spawn(ActorOptions::new()).unwrap();
    let text = format!("short {} never", "x".repeat(2000));
    let got: Vec<_> = actor
        .call_stream("words", (text.as_str(),))
        .unwrap()
        .collect()
        .await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].as_ref().unwrap(), &Val::String("short".into()));
    assert!(
        matches!(got[1], Err(Error::QuotaExceeded { .. })),
        "{:?}",
        got[1]
    );
    // As one list, the items together are bounded the same way.
    let all = actor.call("numbers", (1000u32, 0u64)).unwrap().await;
    assert!(matches!(all, Err(Error::QuotaExceeded { .. })), "{all:?}");
    // And the actor lives on.
    assert_eq!(
        actor.call("ping", ()).unwrap().await.unwrap(),
        Val::String("pong".into())
    );
}

#[test]
fn call_stream_refuses_a_method_that_returns_no_stream() {
    let rt = runtime();
    let actor = load(&rt, "streamer").spawn(ActorOptions::new()).unwrap();
    match actor.call_stream("ping", ()) {
        Err(Error::NotAStream { method, .. }) => assert_eq!(method, "ping"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_reads_another_actors_stream_item_by_item() {
    let rt = runtime();
    let actor = load(&rt, "streamer").spawn(ActorOptions::new()).unwrap();
    let read = actor
        .call("read-numbers", (6u32, 5u64))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(read, Val::List(numbers(6)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_holds_its_concurrency_slot_until_it_ends() {
    // With `numbers` in a group of one, a second stream starts only once
    // the first has ended.
    let rt = runtime();
    let actor = load(&rt, "streamer")
        .spawn(ActorOptions::new().concurrency_group("streams", 1, ["numbers"]))
        .unwrap();
    let mut first = actor.call_stream("numbers", (3u32, 100u64)).unwrap();
    let second = actor.call_stream("numbers", (3u32, 0u64)).unwrap();
    assert_eq!(first.next_item().await.unwrap().unwrap(), Val::U32(0));
    // Started at once, the second (no delay) would have written its three.
    let so_far = written(&actor).await;
    assert!(
        so_far < 3,
        "the second stream started early: {so_far} written"
    );
    let rest: Vec<_> = first.map(Result::unwrap).collect().await;
    assert_eq!(rest, numbers(3)[1..]);
    let second: Vec<_> = second.map(Result::unwrap).collect().await;
    assert_eq!(second, numbers(3));
}
