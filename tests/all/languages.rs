//! Every guest language through one suite: the conformance actor of each
//! (`examples/wit/guests.wit`, world `conformance`) round-trips the values
//! of `tests/conformance/values.txt`, and each language's `ThreadedActor`
//! and `AsyncActor` show the seed's concurrency, observed by the guest.
//!
//! One test per language and actor, loading each component once: a
//! JavaScript or Python component embeds its language's engine, and
//! compiling it is most of such a test's time.

use wactor::Runtime;
use wactor::{ActorComponent, ActorOptions, DirAccess, Error, GuestOutput, OutputCapture, Val};
use wactor_tests::{PATIENCE, call_result, load, peak_overlap};

/// A runtime that keeps compiled components in `WACTOR_CACHE_DIR` when it
/// is set (`.ci/run` sets it to a folder under the target directory), and
/// nowhere otherwise: the JavaScript and Python components take seconds of
/// CPU each to compile, every run.
fn runtime() -> Runtime {
    Runtime::builder()
        .cache_dir(std::env::var_os("WACTOR_CACHE_DIR"))
        .build()
        .expect("the runtime starts")
}

/// The data file: one value a line (see its header for the columns).
const VALUES: &str = include_str!("../conformance/values.txt");

/// What a row of the data file expects back.
#[derive(Debug)]
enum Expected {
    /// This JSON, compared as JSON (`=` in the file: the JSON sent).
    Json(serde_json::Value),
    /// The `method-failed` error, with this payload.
    Failed(serde_json::Value),
    /// Refused by the host before the guest sees it.
    Invalid,
}

#[derive(Debug)]
struct Row {
    line: usize,
    ty: String,
    sent: String,
    expected: Expected,
}

fn json(text: &str, line: usize) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("values.txt:{line}: bad JSON {text}: {e}"))
}

/// The rows of the data file, with the names its `type` lines define
/// spelled out (as the host shows types: structurally).
fn rows() -> Vec<Row> {
    let mut names: Vec<(String, String)> = Vec::new();
    let spell = |ty: &str, names: &[(String, String)]| {
        names.iter().fold(ty.to_string(), |t, (name, full)| {
            replace_word(&t, name, full)
        })
    };
    VALUES
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|(i, l)| {
            let line = i + 1;
            let cols: Vec<&str> = l.split('\t').collect();
            if let ["type", name, full] = cols[..] {
                let full = spell(full, &names);
                names.push((name.to_string(), full));
                return None;
            }
            let [ty, sent, back] = cols[..] else {
                panic!("values.txt:{line}: expected three tab-separated columns: {l:?}");
            };
            let ty = spell(ty, &names);
            let expected = match back {
                "=" => Expected::Json(json(sent, line)),
                "invalid" => Expected::Invalid,
                _ => match back.strip_prefix("failed: ") {
                    Some(payload) => Expected::Failed(json(payload, line)),
                    None => Expected::Json(json(back, line)),
                },
            };
            Some(Row {
                line,
                ty,
                sent: sent.into(),
                expected,
            })
        })
        .collect()
}

/// `text` with every whole word `word` replaced by `with`.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    let is_word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(is_word) || after.is_some_and(is_word) {
            out.push_str(word);
        } else {
            out.push_str(with);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// The echo method of type `ty`: the one whose signature is
/// `func(x: ty) -> ty`.
fn echo_method(component: &ActorComponent, ty: &str) -> String {
    let wanted = format!("func(x: {ty}) -> {ty}");
    component
        .methods()
        .find(|m| m.signature() == wanted)
        .unwrap_or_else(|| panic!("no method has the signature `{wanted}`"))
        .name()
        .to_string()
}

/// Runs every row through the conformance actor `example`, and the
/// object-ref methods, collecting every mismatch before failing.
async fn conformance(example: &str) {
    let rt = runtime();
    let component = load(&rt, example);
    let actor = component.spawn(ActorOptions::new()).unwrap();
    let rows = rows();
    assert!(rows.len() >= 70, "the data file lost its rows");
    let mut wrong = Vec::new();
    let mut exercised = std::collections::HashSet::new();
    for row in &rows {
        let method = echo_method(&component, &row.ty);
        exercised.insert(method.clone());
        let outcome = match actor.call_json(&method, &format!("[{}]", row.sent)) {
            Ok(r) => r.await,
            Err(e) => Err(e),
        };
        let ok = match (&row.expected, &outcome) {
            (Expected::Json(want), Ok(v)) => json(&wactor::to_json(v), row.line) == *want,
            (Expected::Failed(want), Err(Error::MethodFailed { error: Some(e), .. })) => {
                json(&wactor::to_json(e), row.line) == *want
            }
            (Expected::Invalid, Err(Error::WrongType { .. } | Error::BadArguments { .. })) => true,
            _ => false,
        };
        if !ok {
            wrong.push(format!(
                "values.txt:{}: {} {} ({method}): expected {:?}, got {outcome:?}",
                row.line, row.ty, row.sent, row.expected
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{example}: {} of {} values did not round-trip:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );

    // Volume: values of 100 KiB, again and again, on the same instance (a
    // language runtime that mishandles the host's allocations into it,
    // such as a garbage collector running inside `cabi_realloc`, dies
    // here).
    let big = "é".repeat(50 * 1024);
    for i in 0..60 {
        match actor.call("echo-string", (big.as_str(),)).unwrap().await {
            Ok(Val::String(back)) if back == big => {}
            Ok(_) => panic!("{example}: big value {i} came back changed"),
            Err(e) => panic!("{example}: big value {i}: {e}"),
        }
    }

    // Every echo method of the world is exercised by the data.
    for m in component
        .methods()
        .filter(|m| m.name().starts_with("echo-") && m.name() != "echo-ref")
    {
        assert!(
            exercised.contains(m.name()),
            "{example}: values.txt has no row for {}",
            m.name()
        );
    }

    // Handles: a ref passed in and handed back resolves to its value; a
    // guest blocks on one (the sync world's `get-blocking`) and sees its
    // JSON, or the host's error; a guest's `put` reaches the caller.
    let stored = wactor::put(Val::String("stored".into()));
    let back = actor.call("echo-ref", (stored,)).unwrap().await.unwrap();
    assert_eq!(back, Val::String("stored".into()), "{example}: echo-ref");
    let stored = wactor::put(Val::List(vec![Val::U32(1), Val::Bool(true)]));
    let text = actor.call("ref-value", (stored,)).unwrap().await.unwrap();
    assert_eq!(text, Val::String("[1,true]".into()), "{example}: ref-value");
    let failing = actor.call_json("echo-result", r#"[{"err": 9}]"#).unwrap();
    let err = actor
        .call("ref-value", (failing,))
        .unwrap()
        .await
        .unwrap_err();
    let Error::MethodFailed { error: Some(e), .. } = err else {
        panic!("{example}: ref-value of a failed call: {err:?}");
    };
    assert_eq!(
        wactor::to_json(&e),
        r#"{"method-failed":"9"}"#,
        "{example}: the host's error crosses as it is"
    );
    let put = actor
        .call("put-value", (r#"{"a":[1,2]}"#,))
        .unwrap()
        .await
        .unwrap();
    assert_eq!(
        wactor::to_json(&put),
        r#"{"a":[1,2]}"#,
        "{example}: put-value"
    );
}

/// Spawns `example` as a threaded actor of `n` instances, its output
/// captured.
fn threaded(component: &ActorComponent, n: usize, out: &OutputCapture) -> wactor::ActorHandle {
    component
        .spawn(
            ActorOptions::new()
                .max_concurrency(n)
                .stdout(GuestOutput::Capture(out.clone()))
                .stderr(GuestOutput::Discard),
        )
        .unwrap()
}

/// The seed's `ThreadedActor` assertions, for the `threaded-actor` world in
/// any language.
async fn threaded_actor(example: &str) {
    let rt = runtime();
    let component = load(&rt, example);
    assert_eq!(component.kind(), wactor::ActorKind::Threaded, "{example}");

    // A pool of two runs two calls at once, as the guest's output shows.
    let out = OutputCapture::new();
    let pool = threaded(&component, 2, &out);
    let refs: Vec<_> = (0..6u32)
        .map(|id| pool.call("work", (id, 300u64)).unwrap())
        .collect();
    let values = wactor::get_all(&refs, Some(PATIENCE)).unwrap();
    assert_eq!(
        values,
        (0..6).map(Val::U32).collect::<Vec<_>>(),
        "{example}"
    );
    let lines = out.lines();
    assert_eq!(lines.len(), 12, "{example}: {lines:?}");
    assert_eq!(
        peak_overlap(&lines, "started", "finished"),
        2,
        "{example}: {lines:?}"
    );

    // Ray's example: task-1 and task-2 on a pool of two.
    let out = OutputCapture::new();
    let pool = threaded(&component, 2, &out);
    let a = pool.call("task-1", (100u64,)).unwrap();
    let b = pool.call("task-2", (100u64,)).unwrap();
    wactor::get_all(&[a, b], Some(PATIENCE)).unwrap();
    let mut lines = out.lines();
    lines.sort();
    assert_eq!(
        lines,
        ["I'm running in a thread!", "I'm running in another thread!"],
        "{example}"
    );

    // One instance: one call at a time, in order.
    let out = OutputCapture::new();
    let single = threaded(&component, 1, &out);
    let refs: Vec<_> = (0..4u32)
        .map(|id| single.call("work", (id, 20u64)).unwrap())
        .collect();
    wactor::get_all(&refs, Some(PATIENCE)).unwrap();
    let expected: Vec<String> = (0..4)
        .flat_map(|id| [format!("started {id}"), format!("finished {id}")])
        .collect();
    assert_eq!(out.lines(), expected, "{example}");

    // Calls from sync guest code: on itself (refused with one instance,
    // served with two), `wait-blocking`, and a deadlock refused.
    let err = call_result::<u32>(&single, "work-via-self", (7u32,))
        .await
        .unwrap_err();
    assert!(err.contains("cannot start"), "{example}: {err}");
    let pool = threaded(&component, 2, &OutputCapture::new());
    assert_eq!(
        call_result::<u32>(&pool, "work-via-self", (7u32,)).await,
        Ok(7),
        "{example}"
    );
    assert_eq!(
        call_result::<Vec<u32>>(
            &single,
            "wait-some",
            (vec![1500u64, 10, 300], 2u32, None::<u64>)
        )
        .await,
        Ok(vec![1, 2]),
        "{example}"
    );
    let err = call_result::<Vec<u32>>(&single, "wait-some", (vec![10u64], 2u32, None::<u64>))
        .await
        .unwrap_err();
    assert!(
        err.contains("cannot wait for 2 results among 1 refs"),
        "{example}: {err}"
    );
    let err = call_result::<u32>(&single, "tangle", ()).await.unwrap_err();
    assert!(
        err.contains("deadlock: ") && err.contains("this wait, the newest, is refused"),
        "{example}: {err}"
    );
    assert_eq!(
        call_result::<u32>(&single, "work", (3u32, 0u64)).await,
        Ok(3),
        "{example}"
    );

    // A trap retires its instance: the call fails, a retried call runs on
    // the new instance and finds the marker the first one left.
    let err = single.call("crash", ()).unwrap().await.unwrap_err();
    assert!(matches!(err, Error::ActorDied { .. }), "{example}: {err:?}");
    let dir = std::env::temp_dir().join(format!("wactor-{example}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let retrying = component
        .spawn(
            ActorOptions::new()
                .max_restarts(1)
                .max_task_retries(1)
                .preopen_dir(&dir, "/data", DirAccess::ReadWrite)
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap();
    let survived = retrying.call("crash-once", ("/data/m",)).unwrap().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        survived.unwrap(),
        Val::String("survived".into()),
        "{example}"
    );
    assert_eq!(retrying.restarts(), 1, "{example}");
}

/// The seed's `AsyncActor` assertions: 50 calls interleave on one
/// instance; `max_concurrency` bounds them; the guest counts.
async fn async_actor(example: &str) {
    let rt = runtime();
    let component = load(&rt, example);
    assert_eq!(component.kind(), wactor::ActorKind::Async, "{example}");
    for (limit, calls, expected) in [(None, 50u32, 50u32), (Some(10), 30, 10)] {
        let out = OutputCapture::new();
        let mut options = ActorOptions::new().stdout(GuestOutput::Capture(out.clone()));
        if let Some(limit) = limit {
            options = options.max_concurrency(limit);
        }
        let actor = component.spawn(options).unwrap();
        let refs: Vec<_> = (0..calls)
            .map(|_| actor.call("run-task", (500u64,)).unwrap())
            .collect();
        wactor::get_all(&refs, Some(PATIENCE)).unwrap();
        let peak: u32 = actor
            .call_typed("peak-concurrency", ())
            .unwrap()
            .await
            .unwrap();
        assert_eq!(peak, expected, "{example}");
        assert_eq!(
            peak_overlap(&out.lines(), "started", "finished"),
            expected as usize,
            "{example}"
        );
        let finished: u64 = actor
            .call_typed("finished-tasks", ())
            .unwrap()
            .await
            .unwrap();
        assert_eq!(finished, u64::from(calls), "{example}");
    }
    let actor = component.spawn(ActorOptions::new()).unwrap();
    assert_eq!(
        actor.call("ping", (7u64,)).unwrap().await.unwrap(),
        Val::U64(7)
    );
    assert_eq!(
        actor
            .call("blocking-task", (10u64,))
            .unwrap()
            .await
            .unwrap(),
        Val::U32(1),
        "{example}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_round_trips_every_value() {
    conformance("conformance").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_round_trips_every_value() {
    conformance("py-conformance").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_round_trips_every_value() {
    conformance("c-conformance").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_round_trips_every_value() {
    conformance("js-conformance").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_js_threaded_actor_keeps_the_seed_semantics() {
    threaded_actor("js-threaded-actor").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_round_trips_every_value() {
    conformance("go-conformance").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_go_threaded_actor_keeps_the_seed_semantics() {
    threaded_actor("go-threaded-actor").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_threaded_actor_keeps_the_seed_semantics() {
    threaded_actor("threaded-actor").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_c_threaded_actor_keeps_the_seed_semantics() {
    threaded_actor("c-threaded-actor").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_async_actor_keeps_the_seed_semantics() {
    async_actor("async-actor").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_c_async_actor_keeps_the_seed_semantics() {
    async_actor("c-async-actor").await;
}
