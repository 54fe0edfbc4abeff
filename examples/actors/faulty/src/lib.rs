//! An actor that fails on purpose, for tests of wactor's error handling.

// The generated export glue of `describe` takes one argument per flattened
// parameter.
#![allow(clippy::too_many_arguments)]

use std::time::Duration;

use wactor_guest::Actor;

wactor_guest::actor!("wactor-examples:faulty/faulty");

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Calls `add(n)` on `counter`; the JSON of the total.
async fn add_on(counter: &Actor, n: i64) -> Result<String, String> {
    let total: serde_json::Value = counter
        .call("add", (n,))
        .map_err(text)?
        .get()
        .await
        .map_err(text)?;
    Ok(total.to_string())
}

fn text_of(e: wactor_guest::Error) -> String {
    e.to_string()
}

fn block(r: ObjectRef) -> Result<String, String> {
    let r = wactor_guest::ObjectRef::from_raw(r);
    r.get_blocking::<serde_json::Value>(None)
        .map(|v| v.to_string())
        .map_err(text)
}

fn list(path: &str) -> Result<Vec<String>, String> {
    let mut names = std::fs::read_dir(path)
        .and_then(|entries| {
            entries
                .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
                .collect::<std::io::Result<Vec<_>>>()
        })
        .map_err(|e| format!("{path}: {e}"))?;
    names.sort();
    Ok(names)
}

thread_local! {
    static HOARD: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
    static STASH: std::cell::RefCell<Option<wactor_guest::ObjectRef>> =
        const { std::cell::RefCell::new(None) };
    static SPAWNED: std::cell::RefCell<Vec<Actor>> = const { std::cell::RefCell::new(Vec::new()) };
    static PUTS: std::cell::RefCell<Vec<wactor_guest::ObjectRef>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

struct Faulty;

impl Guest for Faulty {
    fn divide(a: i64, b: i64) -> Result<i64, String> {
        a.checked_div(b)
            .ok_or_else(|| format!("cannot divide {a} by {b}"))
    }

    async fn echo(text: String, millis: u64) -> String {
        wactor_guest::sleep(Duration::from_millis(millis)).await;
        text
    }

    async fn crash_after(millis: u64) {
        wactor_guest::sleep(Duration::from_millis(millis)).await;
        panic!("crash-after: crashing on purpose after {millis} ms");
    }

    fn describe(name: String, tags: Vec<String>, limit: Option<u32>, opts: Options) -> String {
        let mut text = format!("{name} [{}] limit={limit:?}", tags.join(","));
        if opts.shout {
            text = text.to_uppercase();
        }
        text.repeat(usize::from(opts.repeat.max(1)))
    }

    fn note(message: String) {
        wactor_guest::info(&message);
    }

    fn say(text: String) {
        println!("{text}");
    }

    fn adopt(a: ActorHandle) -> String {
        a.name()
    }

    fn spawn_many(n: u32) -> Result<u32, (u32, String)> {
        SPAWNED.with(|kept| {
            let mut kept = kept.borrow_mut();
            for i in 0..n {
                match Actor::spawn(wactor_guest::Options::new()) {
                    Ok(actor) => kept.push(actor),
                    Err(e) => return Err((i, e.to_string())),
                }
            }
            Ok(n)
        })
    }

    fn release_spawned() {
        SPAWNED.with(|kept| kept.borrow_mut().clear());
    }

    fn peek(r: &ObjectRef) -> bool {
        r.is_ready()
    }

    async fn spawn_and_call(
        component: Option<String>,
        method: String,
        args: String,
    ) -> Result<String, String> {
        let actor =
            Actor::spawn_from(component.as_deref(), wactor_guest::Options::new()).map_err(text)?;
        let args: serde_json::Value = serde_json::from_str(&args).map_err(text)?;
        let r = actor.call(&method, args).map_err(text)?;
        let value: serde_json::Value = r.get().await.map_err(text)?;
        Ok(value.to_string())
    }

    async fn block_on_ref(r: ObjectRef) -> Result<String, String> {
        block(r)
    }

    fn block_on_ref_sync(r: ObjectRef) -> Result<String, String> {
        block(r)
    }

    async fn race(
        delays: Vec<u64>,
        num_returns: u32,
        timeout_ms: Option<u64>,
    ) -> Result<Vec<u32>, String> {
        let echo = Actor::spawn(wactor_guest::Options::new()).map_err(text)?;
        let refs = delays
            .iter()
            .map(|d| echo.call("echo", ("x", d)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(text)?;
        let timeout = timeout_ms.map(Duration::from_millis);
        let ready = wactor_guest::wait(&refs, num_returns as usize, timeout)
            .await
            .map_err(text)?;
        Ok(ready.into_iter().map(|i| i as u32).collect())
    }

    async fn cancel_queued() -> Vec<String> {
        let echo = Actor::spawn(wactor_guest::Options::new().max_concurrency(1)).expect("spawn");
        let first = echo.call("echo", ("first", 200)).expect("call");
        let second = echo.call("echo", ("second", 0)).expect("call");
        second.cancel();
        let mut seen = Vec::new();
        for r in [first, second] {
            seen.push(match r.get::<String>().await {
                Ok(v) => v,
                Err(e) => e.to_string(),
            });
        }
        seen
    }

    async fn submit_task(
        component: Option<String>,
        function: String,
        args: String,
    ) -> Result<String, String> {
        let args: serde_json::Value = serde_json::from_str(&args).map_err(text)?;
        let r = wactor_guest::submit(component.as_deref(), &function, args).map_err(text)?;
        let value: serde_json::Value = r.get().await.map_err(text)?;
        Ok(value.to_string())
    }

    async fn echo_via_self(text: String) -> Result<String, String> {
        let me = Actor::current();
        let r = me.call("echo", (text, 0)).map_err(self::text)?;
        r.get().await.map_err(self::text)
    }

    fn hoard(mebibytes: u32) -> u32 {
        HOARD.with(|h| {
            let mut h = h.borrow_mut();
            h.push(vec![1u8; mebibytes as usize * 1024 * 1024]);
            h.iter().map(|v| v.len() / (1024 * 1024)).sum::<usize>() as u32
        })
    }

    async fn spin(millis: u64) -> u64 {
        let start = std::time::Instant::now();
        let mut rounds = 0u64;
        while start.elapsed() < Duration::from_millis(millis) {
            for _ in 0..10_000 {
                rounds = std::hint::black_box(rounds.wrapping_add(1));
            }
        }
        rounds
    }

    fn crash_once(marker: String) -> String {
        if std::fs::metadata(&marker).is_ok() {
            return "survived".into();
        }
        std::fs::write(&marker, "crashed once").expect("write the marker");
        panic!("crash-once: crashing the first time");
    }

    fn connect(address: String) -> Result<(), String> {
        std::net::TcpStream::connect(&address)
            .map(drop)
            .map_err(|e| format!("{address}: {e}"))
    }

    fn read_file(path: String) -> Result<String, String> {
        std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))
    }

    fn write_file(path: String, text: String) -> Result<(), String> {
        std::fs::write(&path, text).map_err(|e| format!("{path}: {e}"))
    }

    fn list_dir(path: String) -> Result<Vec<String>, String> {
        list(&path)
    }

    fn env_var(name: String) -> Option<String> {
        std::env::var(name).ok()
    }

    fn identity(v: Everything) -> Everything {
        v
    }

    async fn gather_echoes(texts: Vec<String>, millis: u64) -> Result<Vec<String>, String> {
        let echo = Actor::spawn(wactor_guest::Options::new()).map_err(text)?;
        let refs = texts
            .iter()
            .map(|t| echo.call("echo", (t, millis)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(text)?;
        wactor_guest::gather(&refs).await.map_err(text)
    }

    async fn echo_within(text: String, millis: u64, timeout_ms: u64) -> Result<String, String> {
        let echo = Actor::spawn(wactor_guest::Options::new()).map_err(self::text)?;
        let r = echo.call("echo", (text, millis)).map_err(self::text)?;
        wactor_guest::wait_for(&r, Duration::from_millis(timeout_ms))
            .await
            .map_err(self::text)
    }

    async fn kill_then_call() -> Result<String, String> {
        let victim = Actor::spawn(wactor_guest::Options::new().name("victim")).map_err(text)?;
        victim.kill();
        let r = victim.call("echo", ("too late", 0)).map_err(text)?;
        r.get::<String>().await.map_err(text)
    }

    async fn tangle() -> Result<String, String> {
        let looped = Actor::current().call("echo", ("looped", 0)).map_err(text)?;
        let other = Actor::spawn(wactor_guest::Options::new().max_concurrency(1)).map_err(text)?;
        let via = other
            .call_with_refs("await-ref", (serde_json::json!({"$ref": 0}),), vec![looped])
            .map_err(text)?;
        let value: serde_json::Value = via.get().await.map_err(text)?;
        Ok(value.to_string())
    }

    async fn hoard_puts(count: u32, bytes: u32) -> Result<u32, String> {
        let text = "x".repeat(bytes as usize);
        for i in 0..count {
            let r = wactor_guest::ObjectRef::put(&text).map_err(text_of)?;
            // A refused put is a ref that holds the refusal.
            if let Err(e) = r.get::<serde_json::Value>().await {
                return Err(format!("after {i} puts: {e}"));
            }
            PUTS.with(|p| p.borrow_mut().push(r));
        }
        Ok(count)
    }

    fn drop_puts() {
        PUTS.with(|p| p.borrow_mut().clear());
    }

    fn flood_calls(count: u32, bytes: u32) -> Result<u32, String> {
        let text = "x".repeat(bytes as usize);
        let child =
            Actor::spawn(wactor_guest::Options::new().max_concurrency(1)).map_err(text_of)?;
        let flooded = (0..count).try_for_each(|i| match child.call("echo", (&text, 2000)) {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("after {i} calls: {e}")),
        });
        child.kill();
        flooded.map(|()| count)
    }

    async fn spawn_limited(
        max_pending_calls: Option<u32>,
        memory_limit: Option<u64>,
        call_deadline_ms: Option<u64>,
        method: String,
        args: String,
    ) -> Result<String, String> {
        let mut options = wactor_guest::Options::new();
        if let Some(n) = max_pending_calls {
            options = options.max_pending_calls(n);
        }
        if let Some(bytes) = memory_limit {
            options = options.memory_limit(bytes);
        }
        if let Some(ms) = call_deadline_ms {
            options = options.call_deadline(Duration::from_millis(ms));
        }
        call_child(options, &method, &args).await
    }

    async fn spawn_restartable(
        max_restarts: Option<i64>,
        max_task_retries: Option<i64>,
        method: String,
        args: String,
    ) -> Result<String, String> {
        let mut options = wactor_guest::Options::new();
        if let Some(n) = max_restarts {
            options = options.max_restarts(n);
        }
        if let Some(n) = max_task_retries {
            options = options.max_task_retries(n);
        }
        call_child(options, &method, &args).await
    }

    async fn hoard_results(count: u32, mebibytes: u32) -> Result<u32, String> {
        let child = Actor::spawn(wactor_guest::Options::new()).map_err(text_of)?;
        for i in 0..count {
            let r = child.call("bulk", (mebibytes,)).map_err(text_of)?;
            if let Err(e) = r.get::<serde_json::Value>().await {
                return Err(format!("after {i} results: {e}"));
            }
            PUTS.with(|p| p.borrow_mut().push(r));
        }
        Ok(count)
    }

    fn wait_blocking_here() -> Result<Vec<u32>, String> {
        let r = wactor_guest::ObjectRef::put(&1).map_err(text_of)?;
        let ready = wactor_guest::wait_blocking(&[r], 1, None).map_err(text_of)?;
        Ok(ready.into_iter().map(|i| i as u32).collect())
    }

    fn bulk(mebibytes: u32) -> Vec<u8> {
        vec![7; mebibytes as usize * 1024 * 1024]
    }

    async fn await_ref(r: ObjectRef) -> Result<String, String> {
        let value: serde_json::Value = wactor_guest::ObjectRef::from_raw(r)
            .get()
            .await
            .map_err(text)?;
        Ok(value.to_string())
    }

    async fn call_add(counter: ActorHandle, n: i64) -> Result<String, String> {
        add_on(&Actor::from_raw(counter), n).await
    }

    async fn pass_actor(
        target: ActorHandle,
        counter: ActorHandle,
        n: i64,
    ) -> Result<String, String> {
        let (target, counter) = (Actor::from_raw(target), Actor::from_raw(counter));
        let args = (serde_json::json!({ "$actor": 0 }), n);
        target
            .call_with_actors("call-add", args, Vec::new(), &[&counter])
            .map_err(text)?
            .get::<String>()
            .await
            .map_err(text)
    }

    async fn add_to_named(name: String, n: i64) -> Result<String, String> {
        add_on(&Actor::get(&name).map_err(text)?, n).await
    }

    async fn spawn_on(node: String) -> Result<String, String> {
        let child = Actor::spawn(wactor_guest::Options::new().node(node)).map_err(text)?;
        let echoed: String = child
            .call("echo", ("here", 0u64))
            .map_err(text)?
            .get()
            .await
            .map_err(text)?;
        Ok(format!("{} said {echoed}", child.name()))
    }

    async fn stash_slow_in(target: ActorHandle, millis: u64) -> Result<(), String> {
        let late = Actor::current()
            .call("echo", ("late", millis))
            .map_err(text)?;
        let stashed: serde_json::Value = Actor::from_raw(target)
            .call_with_refs("stash", (serde_json::json!({ "$ref": 0 }),), vec![late])
            .map_err(text)?
            .get()
            .await
            .map_err(text)?;
        let _ = stashed;
        Ok(())
    }

    fn hand_out_self() -> ActorHandle {
        Actor::current().into_raw()
    }

    fn refs_in_a_list(n: u32) -> Vec<ObjectRef> {
        (0..n)
            .filter_map(|i| wactor_guest::ObjectRef::put(&i).ok())
            .map(wactor_guest::ObjectRef::into_raw)
            .collect()
    }

    fn stash(r: ObjectRef) {
        STASH.with(|s| *s.borrow_mut() = Some(wactor_guest::ObjectRef::from_raw(r)));
    }

    async fn take_stashed() -> Result<String, String> {
        let r = STASH
            .with(|s| s.borrow_mut().take())
            .ok_or("nothing stashed")?;
        let value: serde_json::Value = r.get().await.map_err(text)?;
        Ok(value.to_string())
    }

    async fn put_and_get(json: String) -> Result<String, String> {
        let value: serde_json::Value = serde_json::from_str(&json).map_err(text)?;
        let r = wactor_guest::ObjectRef::put(&value).map_err(text)?;
        let back: serde_json::Value = r.get().await.map_err(text)?;
        Ok(back.to_string())
    }
}

export!(Faulty);

/// Spawns an actor of this component with `options`, calls `method` with
/// `args` (JSON) on it and returns the result as JSON.
async fn call_child(
    options: wactor_guest::Options,
    method: &str,
    args: &str,
) -> Result<String, String> {
    let child = Actor::spawn(options).map_err(text)?;
    let args: serde_json::Value = serde_json::from_str(args).map_err(text)?;
    let value: serde_json::Value = child
        .call(method, args)
        .map_err(text)?
        .get()
        .await
        .map_err(text)?;
    Ok(value.to_string())
}
