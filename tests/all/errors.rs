use std::time::Duration;

use wactor::{ActorOptions, DeathCause, Error, GuestOutput, Val};
use wactor_tests::{PATIENCE, failed_with, load, runtime};

fn faulty() -> (wactor::Runtime, wactor::ActorHandle) {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .name("faulty-1")
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap();
    (rt, actor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_error_reaches_the_caller_and_the_actor_lives_on() {
    let (_rt, actor) = faulty();
    let err = actor
        .call("divide", (1i64, 0i64))
        .unwrap()
        .await
        .unwrap_err();
    match &err {
        Error::MethodFailed {
            actor,
            method,
            error,
        } => {
            assert_eq!(actor, "faulty-1");
            assert_eq!(method, "divide");
            assert_eq!(error, &Some(Val::String("cannot divide 1 by 0".into())));
        }
        other => panic!("expected MethodFailed, got {other:?}"),
    }
    assert!(err.to_string().contains("cannot divide 1 by 0"), "{err}");
    let q: i64 = actor
        .call_typed("divide", (7i64, 2i64))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(q, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trap_kills_the_actor_for_running_queued_and_later_calls() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .name("doomed")
                .max_concurrency(2)
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap();
    let running = actor.call("echo", ("slow", 5_000u64)).unwrap();
    let crash = actor.call("crash-after", (100u64,)).unwrap();
    let queued = actor.call("echo", ("queued", 0u64)).unwrap();

    for r in [crash, running, queued] {
        let err = r.get(Some(PATIENCE)).unwrap_err();
        match &err {
            Error::ActorDied {
                actor,
                cause: DeathCause::Trap(message),
            } => {
                assert_eq!(actor, "doomed");
                assert!(
                    message.contains("crashing on purpose") || message.contains("unreachable"),
                    "{message}"
                );
                assert!(
                    message.contains("crash_after") || message.contains("backtrace"),
                    "no backtrace: {message}"
                );
            }
            other => panic!("expected ActorDied by trap, got {other:?}"),
        }
    }
    let later = actor.call("echo", ("later", 0u64)).unwrap();
    assert!(matches!(
        later.get(Some(PATIENCE)),
        Err(Error::ActorDied { .. })
    ));
    assert!(matches!(actor.death_cause(), Some(DeathCause::Trap(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_method_is_rejected_with_the_methods_there_are() {
    let (_rt, actor) = faulty();
    let err = actor.call("nope", ()).unwrap_err();
    assert!(matches!(err, Error::UnknownMethod { .. }));
    let text = err.to_string();
    assert!(
        text.contains("`nope`") && text.contains("divide") && text.contains("echo"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_arity_and_wrong_types_say_what_was_expected() {
    let (_rt, actor) = faulty();
    let err = actor.call("divide", (1i64,)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongArity {
                expected: 2,
                got: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("func(a: s64, b: s64) -> result<s64, string>"),
        "{err}"
    );

    let err = actor.call("divide", (1i64, "two")).unwrap_err();
    match &err {
        Error::WrongType {
            method,
            param,
            expected,
            ..
        } => {
            assert_eq!(
                (method.as_str(), param.as_str(), expected.as_str()),
                ("divide", "b", "s64")
            );
        }
        other => panic!("expected WrongType, got {other:?}"),
    }

    let opts = Val::Record(vec![
        ("shout".into(), Val::Bool(true)),
        ("repeat".into(), Val::U32(2)),
    ]);
    let err = actor
        .call(
            "describe",
            vec![
                Val::String("x".into()),
                Val::List(vec![]),
                Val::Option(None),
                opts,
            ],
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`opts.repeat` of `describe` must be u8, but u32 `2` was given"),
        "{err}"
    );

    // The actor is unharmed by rejected calls.
    let method = actor.method("describe").unwrap();
    let args = method
        .parse_args(r#"("x", ["a", "b"], some(3), {shout: true, repeat: 2})"#)
        .unwrap();
    let text: String = actor.call_typed("describe", args).unwrap().await.unwrap();
    assert_eq!(text, "X [A,B] LIMIT=SOME(3)X [A,B] LIMIT=SOME(3)");
}

#[test]
fn invalid_bytes_and_core_modules_are_rejected_clearly() {
    let rt = runtime();
    let err = rt
        .load_bytes("garbage", b"definitely not wasm")
        .unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    assert!(err.to_string().contains("magic"), "{err}");

    let core_module = b"\0asm\x01\0\0\0";
    let err = rt.load_bytes("core", core_module).unwrap_err();
    assert!(matches!(err, Error::NotAComponent { .. }), "{err:?}");
    assert!(err.to_string().contains("not a component"), "{err}");

    let truncated = std::fs::read(wactor_examples::COUNTER).unwrap();
    let err = rt
        .load_bytes("truncated", &truncated[..truncated.len() / 2])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");

    let err = rt.load("/no/such/file.wasm").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_fails_running_and_queued_calls() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .max_concurrency(1)
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    let running = actor.call("echo", ("a", 10_000u64)).unwrap();
    let queued = actor.call("echo", ("b", 0u64)).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    actor.kill();
    for r in [running, queued] {
        assert!(matches!(
            r.get(Some(PATIENCE)),
            Err(Error::ActorDied {
                cause: DeathCause::Killed,
                ..
            })
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_calls_at_once_and_accepts_them_again_later() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .name("busy")
                .max_concurrency(1)
                .max_pending_calls(2)
                .stdout(GuestOutput::Discard),
        )
        .unwrap();
    let running = actor.call("echo", ("running", 300u64)).unwrap();
    // Let the first call start, so it no longer counts as waiting.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued: Vec<_> = (0..2)
        .map(|_| actor.call("echo", ("queued", 0u64)).unwrap())
        .collect();
    let err = actor.call("echo", ("refused", 0u64)).unwrap_err();
    assert!(
        matches!(err, Error::Backpressure { limit: 2, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("actor busy has 2 calls waiting"),
        "{err}"
    );
    // Refused calls are not queued, and everything queued still runs.
    assert_eq!(running.await.unwrap(), Val::String("running".into()));
    for r in queued {
        assert_eq!(r.await.unwrap(), Val::String("queued".into()));
    }
    assert_eq!(
        actor
            .call("echo", ("again", 0u64))
            .unwrap()
            .get(Some(PATIENCE))
            .unwrap(),
        Val::String("again".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_past_its_memory_limit_dies_saying_so_and_others_are_untouched() {
    let rt = runtime();
    let faulty = load(&rt, "faulty");
    let quiet = || {
        ActorOptions::new()
            .stdout(GuestOutput::Discard)
            .stderr(GuestOutput::Discard)
    };
    let small = faulty
        .spawn(quiet().name("small").memory_limit(16 << 20))
        .unwrap();
    let big = faulty
        .spawn(quiet().name("big").memory_limit(64 << 20))
        .unwrap();

    assert_eq!(
        small.call("hoard", (4u32,)).unwrap().await.unwrap(),
        Val::U32(4)
    );
    let err = small.call("hoard", (32u32,)).unwrap().await.unwrap_err();
    match &err {
        Error::ActorDied {
            actor,
            cause: DeathCause::Trap(message),
        } => {
            assert_eq!(actor, "small");
            assert!(message.contains("memory limit exceeded"), "{message}");
            assert!(
                message.contains("over its limit of 16777216 bytes"),
                "{message}"
            );
        }
        other => panic!("expected a memory-limit death, got {other:?}"),
    }
    // The other actor, with a larger budget, holds more than the first could.
    assert_eq!(
        big.call("hoard", (32u32,)).unwrap().await.unwrap(),
        Val::U32(32)
    );
    assert!(big.death_cause().is_none());
}

#[test]
fn an_actor_whose_start_needs_more_than_its_limit_fails_to_instantiate() {
    let rt = runtime();
    let actor = load(&rt, "counter")
        .spawn(ActorOptions::new().name("tiny").memory_limit(1024))
        .unwrap();
    let err = actor
        .call("add", (1i64,))
        .unwrap()
        .get(Some(PATIENCE))
        .unwrap_err();
    assert!(
        err.to_string().contains("no instance could be made"),
        "{err}"
    );
    assert!(err.to_string().contains("memory limit exceeded"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restartable_actor_comes_back_fresh_and_runs_what_was_queued() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .name("phoenix")
                .max_concurrency(1)
                .max_restarts(1)
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap();
    assert_eq!(
        actor.call("hoard", (1u32,)).unwrap().await.unwrap(),
        Val::U32(1)
    );
    let crash = actor.call("crash-after", (50u64,)).unwrap();
    let queued = actor.call("hoard", (1u32,)).unwrap();
    let err = crash.await.unwrap_err();
    assert!(
        matches!(&err, Error::ActorRestarted { actor, cause: DeathCause::Trap(_) } if actor == "phoenix"),
        "{err:?}"
    );
    // The queued call ran on the new instance, whose state started fresh.
    assert_eq!(queued.await.unwrap(), Val::U32(1));
    assert_eq!(actor.restarts(), 1);
    assert!(actor.death_cause().is_none());
    // The second trap is past max_restarts: now the actor dies.
    let err = actor
        .call("crash-after", (0u64,))
        .unwrap()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ActorDied {
                cause: DeathCause::Trap(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(actor.death_cause().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threaded_actor_replaces_only_the_instance_that_trapped() {
    let rt = runtime();
    let actor = load(&rt, "threaded-actor")
        .spawn(
            ActorOptions::new()
                .max_concurrency(2)
                .max_restarts(-1)
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap();
    let long = actor.call("work", (1u32, 300u64)).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    for _ in 0..3 {
        let err = actor.call("crash", ()).unwrap().await.unwrap_err();
        assert!(matches!(err, Error::ActorRestarted { .. }), "{err:?}");
    }
    // The other instance's call was not disturbed, and the pool serves on.
    assert_eq!(long.await.unwrap(), Val::U32(1));
    assert_eq!(
        actor.call("work", (2u32, 0u64)).unwrap().await.unwrap(),
        Val::U32(2)
    );
    assert_eq!(actor.restarts(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_lost_with_its_instance_is_retried_when_allowed() {
    let rt = runtime();
    let dir = std::env::temp_dir().join(format!("wactor-retry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let options = || {
        ActorOptions::new()
            .max_restarts(1)
            .preopen_dir(&dir, "/data", wactor::DirAccess::ReadWrite)
            .stdout(GuestOutput::Discard)
            .stderr(GuestOutput::Discard)
    };
    let retrying = load(&rt, "faulty")
        .spawn(options().max_task_retries(1))
        .unwrap();
    let survived = retrying
        .call("crash-once", ("/data/a",))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(survived, Val::String("survived".into()));
    assert_eq!(retrying.restarts(), 1);

    let not_retrying = load(&rt, "faulty").spawn(options()).unwrap();
    let err = not_retrying
        .call("crash-once", ("/data/b",))
        .unwrap()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ActorRestarted { .. }), "{err:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threaded_actor_retries_on_its_new_instance_too() {
    let rt = runtime();
    let dir = std::env::temp_dir().join(format!("wactor-retry-threaded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let actor = load(&rt, "threaded-actor")
        .spawn(
            ActorOptions::new()
                .max_concurrency(2)
                .max_restarts(1)
                .max_task_retries(1)
                .preopen_dir(&dir, "/data", wactor::DirAccess::ReadWrite)
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap();
    let survived = actor
        .call("crash-once", ("/data/m",))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(survived, Val::String("survived".into()));
    assert_eq!(actor.restarts(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_run_out_and_then_the_call_fails() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .max_restarts(-1)
                .max_task_retries(2)
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap();
    let err = actor
        .call("crash-after", (0u64,))
        .unwrap()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ActorRestarted { .. }), "{err:?}");
    assert_eq!(
        actor.restarts(),
        3,
        "one run and two retries, each trapping"
    );
}

#[test]
fn names_must_be_short_printable_and_not_empty() {
    let rt = runtime();
    let counter = load(&rt, "counter");
    for (name, why) in [
        (String::new(), "it is empty"),
        ("n".repeat(wactor::MAX_NAME_LEN + 1), "257 bytes long"),
        ("x\n[host] ok".to_string(), "control characters"),
        ("bell\u{7}".to_string(), "control characters"),
    ] {
        let err = counter.spawn(ActorOptions::new().name(name)).unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { option: "name", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(why), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }
    let longest = "n".repeat(wactor::MAX_NAME_LEN);
    assert!(counter.spawn(ActorOptions::new().name(longest)).is_ok());
    assert!(counter.spawn(ActorOptions::new().name("tâche-1")).is_ok());
}

#[test]
fn a_threaded_actor_cannot_ask_for_more_instances_than_the_pool_holds() {
    let rt = wactor::Runtime::builder()
        .cache_dir(None::<&str>)
        .max_instances(8)
        .build()
        .unwrap();
    let threaded = load(&rt, "threaded-actor");
    let err = threaded
        .spawn(ActorOptions::new().max_concurrency(9))
        .unwrap_err();
    assert!(err.to_string().contains("pool holds 8 instances"), "{err}");
    assert!(
        threaded
            .spawn(ActorOptions::new().max_concurrency(8))
            .is_ok()
    );
    // An async actor's max_concurrency is a limit on calls, not instances.
    let asynchronous = load(&rt, "async-actor");
    assert!(
        asynchronous
            .spawn(ActorOptions::new().max_concurrency(1 << 20))
            .is_ok()
    );
}

#[test]
fn every_actor_refuses_calls_past_its_default_queue_limit() {
    let rt = runtime();
    let actor = load(&rt, "threaded-actor")
        .spawn(ActorOptions::new().stdout(wactor::GuestOutput::Discard))
        .unwrap();
    // The one instance is busy, so everything after this call queues.
    let busy = actor.call("task-1", (20_000u64,)).unwrap();
    let mut queued = Vec::with_capacity(wactor::DEFAULT_MAX_PENDING_CALLS);
    let refused = loop {
        match actor.call("task-2", (0u64,)) {
            Ok(r) => queued.push(r),
            Err(e) => break e,
        }
        assert!(queued.len() <= wactor::DEFAULT_MAX_PENDING_CALLS + 1);
    };
    assert!(
        matches!(refused, Error::Backpressure { limit, .. } if limit == wactor::DEFAULT_MAX_PENDING_CALLS),
        "{refused:?}"
    );
    // The busy call may have been taken from the queue or not yet.
    let n = queued.len();
    assert!(
        (wactor::DEFAULT_MAX_PENDING_CALLS - 1..=wactor::DEFAULT_MAX_PENDING_CALLS).contains(&n),
        "{n} calls queued"
    );
    actor.kill();
    assert!(busy.get(Some(PATIENCE)).is_err());
}

#[test]
fn component_files_are_checked_before_they_are_read() {
    let rt = wactor::Runtime::builder()
        .cache_dir(None::<&str>)
        .max_component_size(1024)
        .build()
        .unwrap();
    let err = rt.load(wactor_examples::COUNTER).unwrap_err();
    assert!(matches!(err, Error::InvalidComponent { .. }), "{err:?}");
    assert!(err.to_string().contains("more than the 1024"), "{err}");
    let err = rt.load("/dev/zero").unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
}

#[test]
fn a_component_name_cannot_smuggle_control_characters_into_actor_names() {
    let rt = runtime();
    let bytes = std::fs::read(wactor_examples::COUNTER).unwrap();
    let component = rt.load_bytes("evil\n[host] ok", &bytes).unwrap();
    let actor = component.spawn(ActorOptions::new()).unwrap();
    assert!(
        actor.name().starts_with(r"evil\n[host] ok-"),
        "{}",
        actor.name()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_together_stay_within_the_runtimes_memory_and_get_it_back() {
    let rt = wactor::Runtime::builder()
        .cache_dir(None::<&str>)
        .max_memory(64 << 20)
        .build()
        .unwrap();
    let faulty = load(&rt, "faulty");
    let spawn = |name: &str| faulty.spawn(ActorOptions::new().name(name)).unwrap();
    let hoard = |actor: &wactor::ActorHandle| actor.call("hoard", (25u32,)).unwrap();
    // Each stays far below its own 512 MiB; two fit in the runtime's 64 MiB.
    let (first, second, third) = (spawn("first"), spawn("second"), spawn("third"));
    assert_eq!(hoard(&first).await.unwrap(), Val::U32(25));
    assert_eq!(hoard(&second).await.unwrap(), Val::U32(25));
    let err = hoard(&third).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("over the runtime's limit of 67108864 bytes"),
        "{err}"
    );
    assert!(first.death_cause().is_none() && second.death_cause().is_none());
    // An actor that goes gives its memory back.
    first.kill();
    let start = std::time::Instant::now();
    loop {
        let fourth = spawn("fourth");
        match hoard(&fourth).await {
            Ok(v) => break assert_eq!(v, Val::U32(25)),
            Err(e) if start.elapsed() < PATIENCE => {
                assert!(e.to_string().contains("memory limit"), "{e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the first actor's memory never came back: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_cannot_take_every_instance_slot() {
    let rt = wactor::Runtime::builder()
        .cache_dir(None::<&str>)
        .max_instances(20)
        .build()
        .unwrap();
    let faulty = load(&rt, "faulty");
    // By default a program may have half the pool alive: 10 actors.
    let greedy = faulty.spawn(ActorOptions::new().name("greedy")).unwrap();
    let refused = greedy
        .call("spawn-many", (50u32,))
        .unwrap()
        .await
        .unwrap_err();
    let Error::MethodFailed {
        error: Some(Val::Tuple(parts)),
        ..
    } = &refused
    else {
        panic!("{refused:?}")
    };
    assert_eq!(parts[0], Val::U32(10), "{parts:?}");
    let Val::String(why) = &parts[1] else {
        panic!("{parts:?}")
    };
    assert!(
        why.contains("too many actors alive in this program: the limit is 10"),
        "{why}"
    );
    assert!(why.contains("ActorOptions::max_actors"), "{why}");
    // Another program still gets actors, and the greedy one lives on.
    let other = faulty.spawn(ActorOptions::new().max_actors(3)).unwrap();
    let got = other.call("spawn-many", (3u32,)).unwrap().await.unwrap();
    assert_eq!(got, Val::U32(3));
    assert!(other.call("spawn-many", (1u32,)).unwrap().await.is_err());
    // Actors that end give their places back.
    greedy.call("release-spawned", ()).unwrap().await.unwrap();
    let start = std::time::Instant::now();
    loop {
        match greedy.call("spawn-many", (1u32,)).unwrap().await {
            Ok(v) => break assert_eq!(v, Val::U32(1)),
            Err(e) if start.elapsed() < PATIENCE => {
                assert!(e.to_string().contains("too many actors"), "{e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the released actors never gave their places back: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_over_the_size_limit_is_refused_before_any_work_on_it() {
    let rt = wactor::Runtime::builder()
        .cache_dir(None::<&str>)
        .max_value_size(1024)
        .build()
        .unwrap();
    let actor = load(&rt, "faulty").spawn(ActorOptions::new()).unwrap();
    let big = format!("[{:?}, 0]", "x".repeat(2000));
    let small = format!("[{:?}, 0]", "x".repeat(100));
    // Arguments of a call from a guest to another actor.
    let call = |args: String| actor.call("spawn-and-call", (None::<String>, "echo", args));
    let err = call(big).unwrap().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("too many bytes in one value: the limit is 1024 (raise it with RuntimeBuilder::max_value_size)"),
        "{err}"
    );
    assert!(call(small).unwrap().await.is_ok());
    // A put, and a result coming back to a guest.
    let err = actor
        .call("put-and-get", (format!("{:?}", "y".repeat(2000)),))
        .unwrap()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("too many bytes in one value"),
        "{err}"
    );
    assert!(actor.death_cause().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_holds_no_more_put_bytes_than_its_quota_and_gets_them_back() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().max_program_bytes(8 << 20))
        .unwrap();
    // Each put is 1 MiB of text plus its two quotes: seven fit in 8 MiB.
    let hoard = || actor.call("hoard-puts", (100u32, 1u32 << 20)).unwrap();
    let why = failed_with(hoard().await);
    assert!(why.starts_with("after 7 puts: "), "{why}");
    assert!(
        why.contains("too many bytes held by this program's puts, queued call arguments and results: the limit is 8388608"),
        "{why}"
    );
    assert!(why.contains("max_program_bytes"), "{why}");
    // Dropping the refs gives the bytes back.
    actor.call("drop-puts", ()).unwrap().await.unwrap();
    assert!(failed_with(hoard().await).starts_with("after 7 puts: "));
    assert!(actor.death_cause().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_arguments_count_against_the_program_until_their_call_starts() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().max_program_bytes(8 << 20))
        .unwrap();
    // 1 MiB per call: the first starts at once (and gives its bytes back),
    // seven more wait in the queue, the next is refused.
    let why = failed_with(
        actor
            .call("flood-calls", (100u32, 1u32 << 20))
            .unwrap()
            .await,
    );
    assert!(why.starts_with("after 8 calls: "), "{why}");
    assert!(why.contains("queued call arguments"), "{why}");
    assert!(actor.death_cause().is_none());
    // Charged as they are held, decoded: many small calls cost far more
    // than their JSON (about 15 bytes each), so 1 MiB holds few thousand.
    let small = load(&rt, "faulty")
        .spawn(ActorOptions::new().max_program_bytes(1 << 20))
        .unwrap();
    let why = failed_with(small.call("flood-calls", (100_000u32, 1u32)).unwrap().await);
    let calls: usize = why
        .strip_prefix("after ")
        .and_then(|rest| rest.split_once(' '))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{why}"));
    assert!((1000..20_000).contains(&calls), "{why}");
    assert!(why.contains("queued call arguments"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_may_lower_its_childrens_limits_but_never_raise_them() {
    let rt = runtime();
    let parent = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .memory_limit(64 << 20)
                .call_deadline(Duration::from_secs(10)),
        )
        .unwrap();
    let spawn = |pending: Option<u32>, memory: Option<u64>, deadline: Option<u64>, call: &str| {
        let (method, args) = call.split_once(' ').unwrap();
        parent
            .call(
                "spawn-limited",
                (
                    pending,
                    memory,
                    deadline,
                    method.to_string(),
                    args.to_string(),
                ),
            )
            .unwrap()
    };
    // Above the parent's own limits: refused, naming the option.
    let why = failed_with(spawn(None, Some(128 << 20), None, "hoard [1]").await);
    assert!(
        why.contains("invalid option `memory-limit`: 134217728 is more than the spawning actor's own 67108864"),
        "{why}"
    );
    let why = failed_with(spawn(Some(200_000), None, None, "hoard [1]").await);
    assert!(
        why.contains("invalid option `max-pending-calls`: 200000 is more than"),
        "{why}"
    );
    let why = failed_with(spawn(None, None, Some(20_000), "hoard [1]").await);
    assert!(
        why.contains("invalid option `call-deadline-ms`: 20000 is more than"),
        "{why}"
    );
    // Lowered limits hold in the child.
    let why = failed_with(spawn(None, Some(16 << 20), None, "hoard [32]").await);
    assert!(why.contains("memory limit"), "{why}");
    let why = failed_with(spawn(None, None, Some(100), "spin [3000]").await);
    assert!(why.contains("timed out"), "{why}");
    // Within the limits, the child serves.
    let fine = spawn(Some(10), Some(32 << 20), Some(5_000), "hoard [1]").await;
    assert_eq!(fine.unwrap(), Val::String("1".into()));
    assert!(parent.death_cause().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_a_program_keeps_count_against_it_until_it_drops_them() {
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().max_program_bytes(100 << 20))
        .unwrap();
    // A 1 MiB `list<u8>` is 1 Mi values in the host, tens of MiB.
    let each = std::mem::size_of::<Val>() << 20;
    let fit = (100 << 20) / each;
    let hoard = || actor.call("hoard-results", (100u32, 1u32)).unwrap();
    let why = failed_with(hoard().await);
    assert!(why.starts_with(&format!("after {fit} results: ")), "{why}");
    assert!(why.contains("queued call arguments and results"), "{why}");
    // Dropped, they give their bytes back.
    actor.call("drop-puts", ()).unwrap().await.unwrap();
    let why = failed_with(hoard().await);
    assert!(why.starts_with(&format!("after {fit} results: ")), "{why}");
    assert!(actor.death_cause().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_sets_its_childs_restarts_and_retries_within_bounds() {
    let rt = runtime();
    let dir = std::env::temp_dir().join(format!("wactor-guest-retry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let parent = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .preopen_dir(&dir, "/data", wactor::DirAccess::ReadWrite)
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap();
    let spawn = |restarts: Option<i64>, retries: Option<i64>, marker: &str| {
        let args = format!("[\"/data/{marker}\"]");
        parent
            .call(
                "spawn-restartable",
                (restarts, retries, "crash-once", args.as_str()),
            )
            .unwrap()
    };
    // Restarted and retried: the call survives its trap.
    let survived = spawn(Some(1), Some(1), "a").await.unwrap();
    assert_eq!(survived, Val::String("\"survived\"".into()));
    // Restarted, not retried: the call is lost with its instance.
    let lost = wactor_tests::failed_with(spawn(Some(1), None, "b").await);
    assert!(lost.contains("restarted"), "{lost}");
    // Past the guests' bound: refused at spawn, naming it.
    let refused = wactor_tests::failed_with(spawn(Some(1), Some(101), "c").await);
    assert!(refused.contains("0 to 100"), "{refused}");
    let refused = wactor_tests::failed_with(spawn(Some(-2), None, "d").await);
    assert!(refused.contains("-1 for no limit"), "{refused}");
    let _ = std::fs::remove_dir_all(&dir);
}
