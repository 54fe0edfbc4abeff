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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_queued_call_removes_it_and_resolves_its_ref() {
    let rt = runtime();
    let out = wactor::OutputCapture::new();
    let actor = load(&rt, "threaded-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Capture(out.clone())))
        .unwrap();
    let first = actor.call("work", (1u32, 200u64)).unwrap();
    let second = actor.call("work", (2u32, 0u64)).unwrap();
    let third = actor.call("work", (3u32, 0u64)).unwrap();
    second.cancel();
    assert!(matches!(second.clone().await, Err(Error::Cancelled)));
    assert_eq!(first.await.unwrap(), Val::U32(1));
    assert_eq!(third.await.unwrap(), Val::U32(3));
    // The cancelled call never ran.
    assert_eq!(
        out.lines(),
        ["started 1", "finished 1", "started 3", "finished 3"]
    );
    // Cancelling a finished call changes nothing.
    second.cancel();
    let done = actor.call("work", (4u32, 0u64)).unwrap();
    assert_eq!(done.clone().await.unwrap(), Val::U32(4));
    done.cancel();
    assert_eq!(done.get(None).unwrap(), Val::U32(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_running_call_resolves_its_ref_and_the_actor_lives_on() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let running = actor.call("echo", ("long", 60_000u64)).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    running.cancel();
    assert!(matches!(running.get(Some(PATIENCE)), Err(Error::Cancelled)));
    let next = actor.call("echo", ("next", 0u64)).unwrap();
    assert_eq!(next.await.unwrap(), Val::String("next".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cancels_a_queued_call() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let seen: Vec<String> = actor
        .call_typed("cancel-queued", ())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(seen, ["first", "the call was cancelled"]);
}

#[test]
fn only_refs_and_actors_pass_where_they_are_expected() {
    let rt = runtime();
    let faulty = load(&rt, "faulty");
    let actor = faulty.spawn(ActorOptions::new()).unwrap();
    // `adopt` takes an `actor` handle: a ref there would reach the callee
    // as the wrong resource type and kill it, so the call is refused here.
    let err = actor
        .call("adopt", (wactor::put(Val::U32(1)),))
        .unwrap_err();
    assert!(matches!(err, Error::WrongType { .. }), "{err:?}");
    assert!(err.to_string().contains("argument `a` of `adopt`"), "{err}");
    // The same from JSON, as a guest's call arrives: an actor parameter
    // takes `{"$actor": i}`.
    let err = actor.call_json("adopt", r#"[{"$ref": 0}]"#).unwrap_err();
    assert!(
        err.to_string()
            .contains(r#"must be an actor: {"$actor": i}"#),
        "{err}"
    );
    // An actor handle is what it takes.
    let adopted = actor.call("adopt", (actor.clone(),)).unwrap();
    assert_eq!(
        adopted.get(Some(PATIENCE)).unwrap(),
        Val::String(actor.name().into())
    );
    // `inspect` names each resource parameter's type.
    let peek = faulty.method("peek").unwrap().signature();
    assert_eq!(peek, "func(r: borrow<object-ref>) -> bool");
    let adopt = faulty.method("adopt").unwrap().signature();
    assert_eq!(adopt, "func(a: actor) -> string");
    let block = faulty.method("block-on-ref").unwrap().signature();
    assert_eq!(block, "async func(r: object-ref) -> result<string, string>");
    // The actor is unharmed.
    assert_eq!(
        actor
            .call("divide", (6i64, 3i64))
            .unwrap()
            .get(Some(PATIENCE))
            .unwrap(),
        Val::S64(2)
    );
}

#[test]
fn a_method_returning_a_handle_that_cannot_leave_its_actor_is_refused_before_it_runs() {
    let rt = runtime();
    let faulty = load(&rt, "faulty");
    let actor = faulty.spawn(ActorOptions::new()).unwrap();
    for (method, what) in [
        ("hand-out-self", "returns actor,"),
        (
            "refs-in-a-list",
            "returns object-ref inside list<object-ref>",
        ),
    ] {
        assert!(!faulty.method(method).unwrap().is_callable());
        let args: &[Val] = if method == "refs-in-a-list" {
            &[Val::U32(3)]
        } else {
            &[]
        };
        let err = actor.call(method, args.to_vec()).unwrap_err();
        assert!(matches!(err, Error::UnreturnableResult { .. }), "{err:?}");
        assert!(err.to_string().contains(what), "{err}");
        let json = if args.is_empty() { "[]" } else { "[3]" };
        let err = actor.call_json(method, json).unwrap_err();
        assert!(matches!(err, Error::UnreturnableResult { .. }), "{err:?}");
    }
    // From a guest: the caller gets `invalid`, naming the reason.
    let seen = actor
        .call(
            "spawn-and-call",
            (
                None::<String>,
                "hand-out-self".to_string(),
                "[]".to_string(),
            ),
        )
        .unwrap()
        .get(Some(PATIENCE))
        .unwrap_err();
    let text = seen.to_string();
    assert!(
        text.contains("invalid request: `hand-out-self` (func() -> actor) cannot be called"),
        "{text}"
    );
    assert!(
        faulty
            .method("hand-out-self")
            .unwrap()
            .signature()
            .ends_with("-> actor")
    );
    assert!(actor.death_cause().is_none());
}

#[test]
fn a_borrowed_ref_is_taken_back_after_every_call() {
    let rt = runtime();
    let actor = load(&rt, "faulty").spawn(ActorOptions::new()).unwrap();
    let ready = wactor::put(Val::U32(1));
    // Each call lends the ref to the callee's table; were it not taken back,
    // the table would fill (about 100,000 handles) and the actor die.
    let calls = 150_000;
    let mut seen_ready = 0;
    for batch in 0..calls / 1000 {
        let refs: Vec<_> = (0..1000)
            .map(|_| actor.call("peek", (ready.clone(),)).unwrap())
            .collect();
        for r in
            wactor::get_all(&refs, Some(PATIENCE)).unwrap_or_else(|e| panic!("batch {batch}: {e}"))
        {
            seen_ready += usize::from(r == Val::Bool(true));
        }
    }
    assert_eq!(seen_ready, calls);
    assert!(actor.death_cause().is_none());
}
