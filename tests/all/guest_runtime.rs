//! Guests that spawn and call actors, pass ObjectRefs and run as programs.

use wactor::{ActorOptions, Arg, Error, GuestOutput, OutputCapture, Val};
use wactor_tests::{PATIENCE, call_result, load, peak_overlap, runtime};

/// Runs the example program `name` with `args`, capturing what it and its
/// actors print. Returns the exit status and the lines.
async fn run_program(name: &str, args: &[&str]) -> (i32, Vec<String>) {
    let rt = runtime();
    let program = load(&rt, name);
    let out = OutputCapture::new();
    let options = ActorOptions::new()
        .args(std::iter::once(name).chain(args.iter().copied()))
        .stdout(GuestOutput::Capture(out.clone()));
    let status = tokio::time::timeout(PATIENCE, program.run_driver(options))
        .await
        .expect("the program finishes")
        .expect("the program runs");
    (status, out.lines())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_get_program_runs_four_calls_at_once_then_awaits_one() {
    let (status, lines) = run_program("async-get", &[]).await;
    assert_eq!(status, 0, "{lines:?}");
    // The blocking get: 4 calls, all started before any finished.
    assert_eq!(lines[..4], ["started"; 4], "{lines:?}");
    assert_eq!(lines[4..8], ["finished"; 4], "{lines:?}");
    // The awaited call: another actor awaited the ref it was passed.
    assert_eq!(
        lines[8..],
        ["started", "finished", "awaited: null"],
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_tasks_program_starts_all_fifty_at_once() {
    let (status, lines) = run_program("run-tasks", &[]).await;
    assert_eq!(status, 0, "{lines:?}");
    assert_eq!(lines.len(), 100);
    assert_eq!(peak_overlap(&lines, "started", "finished"), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_tasks_program_with_max_concurrency_ten_runs_ten_at_a_time() {
    let (status, lines) = run_program("run-tasks", &["10"]).await;
    assert_eq!(status, 0, "{lines:?}");
    assert_eq!(lines.len(), 100);
    assert_eq!(peak_overlap(&lines, "started", "finished"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_threaded_tasks_program_runs_both_tasks_in_parallel() {
    let (status, lines) = run_program("threaded-tasks", &[]).await;
    assert_eq!(status, 0, "{lines:?}");
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(peak_overlap(&lines, "I'm running", "task-"), 2, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_program_passes_refs_through_three_actors() {
    let (status, lines) = run_program("pipeline", &[]).await;
    assert_eq!(status, 0, "{lines:?}");
    assert_eq!(lines, ["44"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_passes_a_ref_from_one_actor_to_the_next() {
    let rt = runtime();
    let pipeline = load(&rt, "pipeline");
    // stderr discarded: the failing call below panics in the guest on purpose.
    let stage = |name: &str| {
        pipeline
            .spawn(ActorOptions::new().name(name).stderr(GuestOutput::Discard))
            .unwrap()
    };
    let (a, b, c) = (stage("a"), stage("b"), stage("c"));
    let r1 = a.call("produce", (21u64, 100u64)).unwrap();
    let r2 = b.call("add-one", (r1.clone(),)).unwrap();
    let r3 = c.call("add-one", (r2,)).unwrap();
    // A method that returns a ref resolves to that ref's value.
    let relayed = a.call("relay", (r3.clone(),)).unwrap();
    assert_eq!(r3.await.unwrap(), Val::U64(44));
    assert_eq!(relayed.await.unwrap(), Val::U64(44));
    assert_eq!(r1.await.unwrap(), Val::U64(42));
    // A ref that resolved to an error passes the error on.
    let failed = wactor::put(Val::String("not a number".into()));
    let err = b
        .call("add-one", (failed,))
        .unwrap()
        .get(Some(PATIENCE))
        .unwrap_err();
    assert!(matches!(err, Error::ActorDied { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ref_is_only_accepted_where_the_signature_takes_one() {
    let rt = runtime();
    let stage = load(&rt, "pipeline").spawn(ActorOptions::new()).unwrap();
    let err = stage
        .call("produce", (wactor::put(Val::U64(1)), 1u64))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`n` of `produce` must be u64, but an object-ref"),
        "{err}"
    );
    let err = stage
        .call("add-one", vec![Arg::Val(Val::U64(1))])
        .unwrap_err();
    assert!(matches!(err, Error::WrongType { .. }), "{err:?}");
}

fn faulty(rt: &wactor::Runtime, options: ActorOptions) -> wactor::ActorHandle {
    load(rt, "faulty")
        .spawn(
            options
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap()
}

async fn call_str(
    actor: &wactor::ActorHandle,
    method: &str,
    args: impl wactor::IntoArgs,
) -> Result<String, String> {
    call_result(actor, method, args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_spawns_its_own_component_and_awaits_a_call() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    let got = call_str(
        &actor,
        "spawn-and-call",
        (None::<String>, "divide", "[7, 2]"),
    )
    .await;
    assert_eq!(got, Ok("3".to_string()));
    // The callee's `err` reaches the caller as method-failed with its payload.
    let got = call_str(
        &actor,
        "spawn-and-call",
        (None::<String>, "divide", "[7, 0]"),
    )
    .await;
    assert_eq!(
        got,
        Err(r#"the method failed: "cannot divide 7 by 0""#.to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_spawns_only_the_components_it_was_given() {
    let rt = runtime();
    let counter = load(&rt, "counter");
    let allowed = faulty(&rt, ActorOptions::new().allow_component("counter", counter));
    let got = call_str(&allowed, "spawn-and-call", (Some("counter"), "add", "[5]")).await;
    assert_eq!(got, Ok("5".to_string()));

    let denied = faulty(&rt, ActorOptions::new());
    let err = call_str(&denied, "spawn-and-call", (Some("counter"), "add", "[5]"))
        .await
        .unwrap_err();
    assert!(err.contains("no component named `counter`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_arguments_that_do_not_match_say_which_parameter_and_type() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    let err = call_str(
        &actor,
        "spawn-and-call",
        (None::<String>, "divide", r#"[1, "two"]"#),
    )
    .await
    .unwrap_err();
    assert!(
        err.contains("argument `b` of `divide` must be s64"),
        "{err}"
    );
    let err = call_str(&actor, "spawn-and-call", (None::<String>, "divide", "[1]"))
        .await
        .unwrap_err();
    assert!(
        err.contains("takes 2 argument(s) but 1 were given"),
        "{err}"
    );
    let args = r#"["n", ["a"], null, {"shout": true, "repeat": 300}]"#;
    let err = call_str(&actor, "spawn-and-call", (None::<String>, "describe", args))
        .await
        .unwrap_err();
    assert!(
        err.contains("`opts.repeat` of `describe` must be u8"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_get_inside_an_async_actor_is_an_error_not_a_hang() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    for method in ["block-on-ref", "block-on-ref-sync"] {
        let pending = actor.call("echo", ("later", 60_000u64)).unwrap();
        let err = call_str(&actor, method, (pending,)).await.unwrap_err();
        assert!(
            err.contains("would block its event loop; await `awaiting.get` instead"),
            "{method}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_wait_returns_the_ready_indices() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    let ready: Result<Vec<u32>, _> =
        call_result(&actor, "race", (vec![10u64, 60_000, 20], 2u32, None::<u64>)).await;
    assert_eq!(ready, Ok(vec![0, 2]));
    let ready: Result<Vec<u32>, _> =
        call_result(&actor, "race", (vec![0u64, 60_000], 2u32, Some(300u64))).await;
    assert_eq!(ready, Ok(vec![0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_from_a_guest_round_trips_its_json() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    let json = r#"{"big":18446744073709551615,"list":[1,-2,2.5,"x",null,true]}"#;
    assert_eq!(
        call_str(&actor, "put-and-get", (json,)).await,
        Ok(json.to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_actor_awaiting_itself_without_a_free_slot_gets_an_error() {
    let rt = runtime();
    let one = faulty(&rt, ActorOptions::new().max_concurrency(1));
    let err = call_str(&one, "echo-via-self", ("hi",)).await.unwrap_err();
    assert!(
        err.contains("cannot start: all 1 of its max_concurrency slots are taken"),
        "{err}"
    );
    // With a free slot the same call simply works.
    let two = faulty(&rt, ActorOptions::new().max_concurrency(2));
    assert_eq!(
        call_str(&two, "echo-via-self", ("hi",)).await,
        Ok("hi".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threaded_actor_blocking_on_itself_gets_an_error_not_a_deadlock() {
    let rt = runtime();
    let single = load(&rt, "threaded-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let err = call_result::<u32>(&single, "work-via-self", (7u32,))
        .await
        .unwrap_err();
    assert!(err.contains("cannot start"), "{err}");
    let pool = load(&rt, "threaded-actor")
        .spawn(
            ActorOptions::new()
                .max_concurrency(2)
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    assert_eq!(
        call_result::<u32>(&pool, "work-via-self", (7u32,)).await,
        Ok(7)
    );
}

/// Asserts that `err` is a refused deadlock wait naming a cycle of two
/// actors, and that it came in time (a generous bound: the detector needs
/// two scans, 0.2 s apart).
fn assert_refused_deadlock(err: &str, took: std::time::Duration) {
    assert!(err.contains("deadlock: "), "{err}");
    assert!(err.matches(" waits on ").count() == 2, "{err}");
    assert!(err.contains("this wait, the newest, is refused"), "{err}");
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_across_async_actors_fails_the_newest_wait_and_both_live_on() {
    let rt = runtime();
    let a = faulty(&rt, ActorOptions::new().max_concurrency(1));
    let start = std::time::Instant::now();
    // A waits on B; B waits on a call queued behind A's only slot.
    let err = call_str(&a, "tangle", ()).await.unwrap_err();
    assert_refused_deadlock(&err, start.elapsed());
    // Once the wait is refused, the queued call runs and A serves on.
    assert_eq!(
        a.call("echo", ("still here", 0u64)).unwrap().await.unwrap(),
        Val::String("still here".into())
    );
    assert!(a.death_cause().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_across_threaded_actors_fails_the_newest_wait_and_both_live_on() {
    let rt = runtime();
    let a = load(&rt, "threaded-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let start = std::time::Instant::now();
    let err = call_result::<u32>(&a, "tangle", ()).await.unwrap_err();
    assert_refused_deadlock(&err, start.elapsed());
    assert_eq!(call_result::<u32>(&a, "work", (3u32, 0u64)).await, Ok(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_wait_that_is_no_deadlock_is_never_refused() {
    let rt = runtime();
    let a = faulty(&rt, ActorOptions::new().max_concurrency(1));
    // A waits (on one slot, without a timeout) for 1.5 s on an actor that
    // sleeps: seven scans see it, none may refuse it.
    let args = (
        None::<String>,
        "echo".to_string(),
        r#"["slept", 1500]"#.to_string(),
    );
    assert_eq!(
        call_str(&a, "spawn-and-call", args).await,
        Ok("\"slept\"".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_code_waits_blocking_for_the_first_results_as_ray_wait_does() {
    let rt = runtime();
    let threaded = load(&rt, "threaded-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    let wait_some = |delays: Vec<u64>, num_returns: u32, timeout: Option<u64>| {
        call_result::<Vec<u32>>(&threaded, "wait-some", (delays, num_returns, timeout))
    };
    // The first two to finish are 1 and 2, given in the order of the refs.
    assert_eq!(
        wait_some(vec![1500, 10, 300], 2, None).await,
        Ok(vec![1, 2])
    );
    // A timeout returns what is ready by then.
    assert_eq!(wait_some(vec![3000, 10], 2, Some(500)).await, Ok(vec![1]));
    // More than there are refs is an error, not a hang.
    let err = wait_some(vec![10], 2, None).await.unwrap_err();
    assert!(
        err.contains("cannot wait for 2 results among 1 refs"),
        "{err}"
    );
    // An async actor must not block its event loop: `would-block`.
    let err = call_result::<Vec<u32>>(&faulty(&rt, ActorOptions::new()), "wait-blocking-here", ())
        .await
        .unwrap_err();
    assert!(
        err.contains("wait-blocking called from an async actor"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_functions_run_on_a_shared_pool_from_the_host() {
    let rt = wactor::Runtime::builder()
        .cache_dir(None::<&str>)
        .task_pool_size(2)
        .build()
        .unwrap();
    let threaded = load(&rt, "threaded-actor");
    let refs: Vec<_> = (0..6u32)
        .map(|id| threaded.submit("work", (id, 200u64)).unwrap())
        .collect();
    let values = wactor::get_all(&refs, Some(PATIENCE)).unwrap();
    assert_eq!(values, (0..6).map(Val::U32).collect::<Vec<_>>());

    let faulty = load(&rt, "faulty");
    assert_eq!(
        faulty
            .submit("divide", (8i64, 2i64))
            .unwrap()
            .await
            .unwrap(),
        Val::S64(4)
    );
    // A trapping task fails with the trap; the next submit gets a fresh pool.
    let crash = faulty.submit("crash-after", (0u64,)).unwrap();
    assert!(matches!(
        crash.get(Some(PATIENCE)),
        Err(Error::ActorDied { .. })
    ));
    assert_eq!(
        faulty
            .submit("divide", (9i64, 3i64))
            .unwrap()
            .await
            .unwrap(),
        Val::S64(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_submits_a_task_and_awaits_it() {
    let rt = runtime();
    let counter = load(&rt, "counter");
    let actor = faulty(&rt, ActorOptions::new().allow_component("counter", counter));
    let got = call_str(&actor, "submit-task", (None::<String>, "divide", "[8, 4]")).await;
    assert_eq!(got, Ok("2".into()));
    let got = call_str(&actor, "submit-task", (Some("counter"), "add", "[3]")).await;
    assert_eq!(got, Ok("3".into()));
    let err = call_str(&actor, "submit-task", (Some("nope"), "add", "[3]"))
        .await
        .unwrap_err();
    assert!(err.contains("no component named `nope`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_awaits_a_remote_function() {
    let (status, lines) = run_program("pipeline", &["--task"]).await;
    assert_eq!(status, 0, "{lines:?}");
    assert_eq!(lines, ["44", "task: 10"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_keeps_a_ref_in_its_state_and_awaits_it_later() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    let producer = faulty(&rt, ActorOptions::new());
    let r = producer.call("echo", ("kept", 100u64)).unwrap();
    actor.call("stash", (r,)).unwrap().await.unwrap();
    assert_eq!(
        call_str(&actor, "take-stashed", ()).await,
        Ok(r#""kept""#.into())
    );
    let err = call_str(&actor, "take-stashed", ()).await.unwrap_err();
    assert_eq!(err, "nothing stashed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_values_of_every_kind_round_trip_losslessly() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    let cases = [
        r#"{"big": 18446744073709551615, "small": -128, "ratio": 0.5, "letter": "λ",
            "bytes": [0, 255], "shape": "point", "color": "green", "perms": ["read", "exec"],
            "outcome": {"ok": 9007199254740993}, "nothing": {"err": null}, "maybe": null}"#,
        r#"{"big": 0, "small": 127, "ratio": "NaN", "letter": "x", "bytes": [],
            "shape": {"circle": 1.5}, "color": "red", "perms": [],
            "outcome": {"err": "no"}, "nothing": {"ok": null}, "maybe": "yes"}"#,
        r#"{"big": 1, "small": 0, "ratio": "-Infinity", "letter": "y", "bytes": [7],
            "shape": {"labelled": ["tag", {"some": null}]}, "color": "red", "perms": ["write"],
            "outcome": {"ok": 0}, "nothing": {"ok": null}, "maybe": ""}"#,
        r#"{"big": 1, "small": 0, "ratio": 1.0, "letter": "y", "bytes": [7],
            "shape": {"labelled": ["tag", {"some": 5}]}, "color": "red", "perms": ["write"],
            "outcome": {"ok": 0}, "nothing": {"ok": null}, "maybe": null}"#,
    ];
    for case in cases {
        // (`option<option<u32>>` needs the explicit `{"some": ...}` form.)
        let sent: serde_json::Value = serde_json::from_str(case).unwrap();
        let args = serde_json::Value::Array(vec![sent.clone()]).to_string();
        let value = actor.call_json("identity", &args).unwrap().await.unwrap();
        let back: serde_json::Value = serde_json::from_str(&wactor::to_json(&value)).unwrap();
        assert_eq!(back, sent);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_mismatches_name_the_place_inside_the_value() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    let base = serde_json::json!({"big": 1, "small": 0, "ratio": 1, "letter": "y",
        "bytes": [7], "shape": "point", "color": "red", "perms": [],
        "outcome": {"ok": 0}, "nothing": {"ok": null}, "maybe": null});
    let cases = [
        (
            "big",
            serde_json::json!(-1),
            "`v.big` of `identity` must be u64",
        ),
        (
            "small",
            serde_json::json!(128),
            "`v.small` of `identity` must be s8",
        ),
        (
            "bytes",
            serde_json::json!([1, 256]),
            "`v.bytes[1]` of `identity` must be u8",
        ),
        (
            "letter",
            serde_json::json!("xy"),
            "`v.letter` of `identity` must be char",
        ),
        (
            "color",
            serde_json::json!("blue"),
            "`v.color` of `identity` must be enum { red, green }",
        ),
        (
            "perms",
            serde_json::json!(["fly"]),
            "`v.perms` of `identity` must be flags",
        ),
        (
            "shape",
            serde_json::json!({"square": 1}),
            "`v.shape` of `identity` must be variant",
        ),
        (
            "outcome",
            serde_json::json!(3),
            "`v.outcome` of `identity` must be result<u64, string>",
        ),
    ];
    for (field, bad, expected) in cases {
        let mut v = base.clone();
        v[field] = bad;
        let args = serde_json::Value::Array(vec![v]).to_string();
        let err = actor.call_json("identity", &args).unwrap_err();
        assert!(err.to_string().contains(expected), "{field}: {err}");
    }
    let err = actor.call_json("identity", "not json").unwrap_err();
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    let err = actor.call_json("identity", r#"{"v": 1}"#).unwrap_err();
    assert!(err.to_string().contains("must be a JSON array"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_helpers_gather_wait_for_and_kill_work_as_in_ray() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    let texts = vec!["a".to_string(), "b".into(), "c".into()];
    let gathered: Result<Vec<String>, _> =
        call_result(&actor, "gather-echoes", (texts.clone(), 50u64)).await;
    assert_eq!(gathered, Ok(texts));
    assert_eq!(
        call_str(&actor, "echo-within", ("in time", 10u64, 5_000u64)).await,
        Ok("in time".into())
    );
    assert_eq!(
        call_str(&actor, "echo-within", ("late", 60_000u64, 100u64)).await,
        Err("timed out".into())
    );
    let err = call_str(&actor, "kill-then-call", ()).await.unwrap_err();
    assert!(err.contains("actor victim died: it was killed"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_option_must_say_some_explicitly() {
    let rt = runtime();
    let actor = faulty(&rt, ActorOptions::new());
    let v = serde_json::json!({"big": 1, "small": 0, "ratio": 1, "letter": "y",
        "bytes": [7], "shape": {"labelled": ["tag", 5]}, "color": "red", "perms": [],
        "outcome": {"ok": 0}, "nothing": {"ok": null}, "maybe": null});
    let err = actor
        .call_json("identity", &serde_json::Value::Array(vec![v]).to_string())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`v.shape.labelled.1` of `identity` must be option<option<u32>>"),
        "{err}"
    );
}
