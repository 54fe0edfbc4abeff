//! Actors on the network: WASI 0.3 HTTP and sockets from async actors
//! (Rust and Python), async drivers, and the grants that keep everything
//! else out. Every server is real and on loopback, started by the test.

use std::time::{Duration, Instant};

use wactor::{ActorHandle, ActorOptions, Error, GuestOutput, OutputCapture, Val};
use wactor_tests::http_server::{self, closed_port};
use wactor_tests::{PATIENCE, failed_with, load, runtime};

async fn call(
    actor: &ActorHandle,
    method: &str,
    args: impl wactor::IntoArgs,
) -> wactor::Result<Val> {
    tokio::time::timeout(PATIENCE, actor.call(method, args).unwrap())
        .await
        .expect("the call ends")
}

fn text(value: Val) -> String {
    match value {
        Val::String(s) => s,
        other => panic!("expected a string, got {other:?}"),
    }
}

/// `calls` fetches of `url` at once on one actor of `example`; returns
/// their outcomes and the most the guest saw in flight.
async fn fetch_many(
    example: &str,
    options: ActorOptions,
    url: &str,
    calls: usize,
) -> (Vec<wactor::Result<Val>>, u32) {
    let rt = runtime();
    let actor = load(&rt, example).spawn(options).unwrap();
    let refs: Vec<_> = (0..calls)
        .map(|_| actor.call("fetch", (url,)).unwrap())
        .collect();
    let outcomes = tokio::time::timeout(PATIENCE, futures::future::join_all(refs))
        .await
        .expect("the fetches end");
    let peak = match call(&actor, "peak-in-flight", ()).await.unwrap() {
        Val::U32(n) => n,
        other => panic!("{other:?}"),
    };
    (outcomes, peak)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_fetches_of_a_slow_page_overlap_on_one_async_actor() {
    let server = http_server::http().await;
    let start = Instant::now();
    let (outcomes, peak) = fetch_many(
        "http-fetch",
        ActorOptions::new().allow_net(server.addr.to_string()),
        &server.url("/slow/1000"),
        50,
    )
    .await;
    for outcome in outcomes {
        assert_eq!(text(outcome.unwrap()), "ok");
    }
    // All 50 were in flight at once, as the guest and the server saw it.
    assert_eq!(peak, 50);
    assert_eq!(server.seen.peak(), 50);
    assert_eq!(server.seen.requests(), 50);
    // One second each, overlapped: nowhere near 50 s.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_actor_fetches_concurrently_over_wasi_http_0_3() {
    let server = http_server::http().await;
    let (outcomes, peak) = fetch_many(
        "py-http-fetch",
        ActorOptions::new().allow_net(server.addr.to_string()),
        &server.url("/slow/500"),
        20,
    )
    .await;
    for outcome in outcomes {
        assert_eq!(text(outcome.unwrap()), "ok");
    }
    assert_eq!(peak, 20);
    assert_eq!(server.seen.peak(), 20);
    let (mut outcomes, _) = fetch_many(
        "py-http-fetch",
        ActorOptions::new(),
        &server.url("/text/x"),
        1,
    )
    .await;
    let why = failed_with(outcomes.remove(0));
    assert!(why.contains("is not granted"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ungranted_and_wrongly_granted_requests_are_refused_and_reach_nothing() {
    let server = http_server::http().await;
    let port = server.addr.port();
    let url = server.url("/text/secret");
    let wrong = [
        None,
        Some(format!("127.0.0.1:{}", port.wrapping_add(1))),
        // A grant is for the host as written: a name is not its address.
        Some(format!("localhost:{port}")),
        Some("10.0.0.1:*".to_string()),
    ];
    for grant in wrong {
        let mut options = ActorOptions::new();
        if let Some(grant) = &grant {
            options = options.allow_net(grant.clone());
        }
        let (mut outcomes, _) = fetch_many("http-fetch", options, &url, 1).await;
        let why = failed_with(outcomes.remove(0));
        assert!(
            why.contains(&format!(
                "network access to 127.0.0.1:{port} is not granted"
            )) && why.contains(&format!("--allow-net 127.0.0.1:{port}")),
            "{grant:?}: {why}"
        );
    }
    assert_eq!(
        server.seen.requests(),
        0,
        "a refused request reached the server"
    );

    for grant in [
        format!("127.0.0.1:{port}"),
        "127.0.0.1:*".into(),
        "*".into(),
    ] {
        let (mut outcomes, _) =
            fetch_many("http-fetch", ActorOptions::new().allow_net(grant), &url, 1).await;
        assert_eq!(text(outcomes.remove(0).unwrap()), "secret");
    }
    assert_eq!(server.seen.requests(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_grant_fails_the_spawn_saying_how_to_write_one() {
    let rt = runtime();
    let err = load(&rt, "http-fetch")
        .spawn(ActorOptions::new().allow_net("127.0.0.1:http"))
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::InvalidOption {
                option: "allow_net",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("HOST:PORT"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_slow_or_speaks_garbage_gives_errors_and_never_a_hang() {
    let rt = runtime();
    let garbage = http_server::garbage().await;
    let slow = http_server::http().await;
    let down = closed_port();
    let actor = load(&rt, "http-fetch")
        .spawn(
            ActorOptions::new()
                .allow_net("127.0.0.1:*")
                .call_deadline(Duration::from_millis(500)),
        )
        .unwrap();
    let why = failed_with(call(&actor, "fetch", (format!("http://{down}/"),)).await);
    assert!(why.contains("ConnectionRefused"), "{why}");
    let why = failed_with(call(&actor, "fetch", (format!("http://{}/", garbage.addr),)).await);
    assert!(why.contains("HttpProtocolError"), "{why}");
    assert_eq!(garbage.seen.requests(), 1);
    let why = failed_with(call(&actor, "fetch", ("not a url",)).await);
    assert!(why.contains("only http:// and https://"), "{why}");

    // Past the call's deadline: a timeout, and the actor (retired) is
    // replaced by nothing; a fresh one works.
    let err = call(&actor, "fetch", (slow.url("/slow/10000"),))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    let fresh = load(&rt, "http-fetch")
        .spawn(ActorOptions::new().allow_net("127.0.0.1:*"))
        .unwrap();
    assert_eq!(
        text(
            call(&fresh, "fetch", (slow.url("/text/alive"),))
                .await
                .unwrap()
        ),
        "alive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_requests_are_bounded_per_actor_and_the_rest_wait_their_turn() {
    let server = http_server::http().await;
    let (outcomes, peak) = fetch_many(
        "http-fetch",
        ActorOptions::new()
            .allow_net(server.addr.to_string())
            .max_connections(4),
        &server.url("/slow/200"),
        16,
    )
    .await;
    for outcome in outcomes {
        assert_eq!(text(outcome.unwrap()), "ok");
    }
    // The guest had all 16 in flight; the host let 4 out at a time.
    assert_eq!(peak, 16);
    assert_eq!(server.seen.peak(), 4);
    assert_eq!(server.seen.requests(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_connects_are_checked_against_the_grants_by_address() {
    let rt = runtime();
    let echo = http_server::tcp_echo().await;
    let addr = echo.addr.to_string();
    let granted = [
        addr.clone(),
        "127.0.0.1".into(),
        format!("localhost:{}", echo.addr.port()),
    ];
    for grant in granted {
        let actor = load(&rt, "http-fetch")
            .spawn(ActorOptions::new().allow_net(grant.clone()))
            .unwrap();
        let reply = call(&actor, "tcp-echo", (addr.as_str(), "hello")).await;
        assert_eq!(text(reply.unwrap()), "echo:hello", "{grant}");
    }
    let other = load(&rt, "http-fetch")
        .spawn(ActorOptions::new().allow_net("127.0.0.1:1"))
        .unwrap();
    let why = failed_with(call(&other, "tcp-echo", (addr.as_str(), "x")).await);
    assert!(why.contains("AccessDenied"), "{why}");
    let none = load(&rt, "http-fetch").spawn(ActorOptions::new()).unwrap();
    let why = failed_with(call(&none, "tcp-echo", (addr.as_str(), "x")).await);
    assert!(why.contains("AccessDenied"), "{why}");
    assert_eq!(
        echo.seen.requests(),
        3,
        "a refused connect reached the server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_lookups_and_listening_need_grants_of_their_own() {
    let rt = runtime();
    let spawn = |options| load(&rt, "http-fetch").spawn(options).unwrap();

    let by_name = spawn(ActorOptions::new().allow_net("localhost:*"));
    let found = call(&by_name, "resolve", ("localhost",)).await.unwrap();
    assert!(format!("{found:?}").contains("127.0.0.1"), "{found:?}");
    let why = failed_with(call(&by_name, "resolve", ("example.invalid",)).await);
    assert!(why.contains("AccessDenied"), "{why}");
    let by_address = spawn(ActorOptions::new().allow_net("127.0.0.1:*"));
    let why = failed_with(call(&by_address, "resolve", ("localhost",)).await);
    assert!(why.contains("AccessDenied"), "{why}");

    let why = failed_with(call(&by_address, "listen-on", (0u16,)).await);
    assert!(why.contains("AccessDenied"), "{why}");
    let listener = spawn(ActorOptions::new().allow_listen(true));
    match call(&listener, "listen-on", (0u16,)).await.unwrap() {
        Val::U16(port) => assert_ne!(port, 0),
        other => panic!("{other:?}"),
    }
}

/// Runs the crawler program over `urls` with `fetchers` actors, granted
/// `grant`; returns its exit status and output.
async fn crawl(grant: &str, fetchers: usize, urls: &[String]) -> (i32, Vec<String>) {
    let rt = runtime();
    let out = OutputCapture::new();
    let mut args = vec![
        "crawler".to_string(),
        "--fetchers".into(),
        fetchers.to_string(),
    ];
    args.extend(urls.iter().cloned());
    let options = ActorOptions::new()
        .args(args)
        .allow_net(grant)
        .allow_component("http-fetch", load(&rt, "http-fetch"))
        .stdout(GuestOutput::Capture(out.clone()));
    let status = tokio::time::timeout(PATIENCE, load(&rt, "crawler").run_driver(options))
        .await
        .expect("the crawler ends")
        .expect("the crawler runs");
    (status, out.lines())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_driver_fans_out_and_takes_results_as_they_come_with_wait() {
    let server = http_server::http().await;
    // The slow page first: `wait` hands back the quick ones before it.
    let mut urls = vec![server.url("/slow/1500")];
    urls.extend((0..11).map(|i| server.url(&format!("/text/page{i}"))));
    let (status, lines) = crawl(&server.addr.to_string(), 3, &urls).await;
    assert_eq!(status, 0, "{lines:?}");
    let reported: Vec<&String> = lines.iter().filter(|l| l.contains(" bytes")).collect();
    assert_eq!(reported.len(), 12, "{lines:?}");
    assert!(
        reported.last().unwrap().contains("/slow/1500"),
        "the slow page should finish last: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "crawled 12 URLs on 3 fetchers: 12 ok, 0 failed"),
        "{lines:?}"
    );
    assert_eq!(server.seen.requests(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actors_a_program_spawns_get_its_grants_and_no_more() {
    let server = http_server::http().await;
    let elsewhere = http_server::http().await;
    let urls = [server.url("/text/in"), elsewhere.url("/text/out")];
    let (status, lines) = crawl(&server.addr.to_string(), 2, &urls).await;
    assert_eq!(status, 1, "one fetch fails: {lines:?}");
    let refused = format!(
        "network access to {} is not granted to actor fetcher-",
        elsewhere.addr
    );
    assert!(lines.iter().any(|l| l.contains(&refused)), "{lines:?}");
    assert_eq!(server.seen.requests(), 1);
    assert_eq!(elsewhere.seen.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_arrive_chunked_or_by_length_and_go_out_chunked() {
    let rt = runtime();
    let server = http_server::http().await;
    let actor = load(&rt, "http-fetch")
        .spawn(ActorOptions::new().allow_net(server.addr.to_string()))
        .unwrap();
    let chunked = text(
        call(&actor, "fetch", (server.url("/chunked/300"),))
            .await
            .unwrap(),
    );
    let expected: String = (0..300).map(|i| format!("chunk {i};")).collect();
    assert_eq!(chunked, expected);
    assert_eq!(
        text(
            call(&actor, "fetch", (server.url("/chunked/0"),))
                .await
                .unwrap()
        ),
        ""
    );
    let big = "0123456789".repeat(100_000);
    let echoed = call(&actor, "post", (server.url("/echo"), big.as_str())).await;
    assert_eq!(text(echoed.unwrap()), big);
    let why = failed_with(call(&actor, "fetch", (server.url("/missing"),)).await);
    assert!(why.contains("status 404: no such page"), "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threaded_actor_fetches_over_wasi_0_2_one_url_per_instance_within_its_grants() {
    let rt = runtime();
    let server = http_server::http().await;
    let actor = load(&rt, "threaded-fetch")
        .spawn(
            ActorOptions::new()
                .allow_net(server.addr.to_string())
                .max_concurrency(4),
        )
        .unwrap();
    assert_eq!(actor.kind(), wactor::ActorKind::Threaded);
    let url = server.url("/slow/300");
    let refs: Vec<_> = (0..8)
        .map(|_| actor.call("fetch", (url.as_str(),)).unwrap())
        .collect();
    let outcomes = tokio::time::timeout(PATIENCE, futures::future::join_all(refs))
        .await
        .expect("the fetches end");
    for outcome in outcomes {
        assert_eq!(text(outcome.unwrap()), "ok");
    }
    // Each instance blocks on its own fetch: four at a time.
    assert_eq!(server.seen.peak(), 4);
    let why = failed_with(call(&actor, "fetch", (format!("http://{}/", closed_port()),)).await);
    assert!(why.contains("is not granted"), "{why}");
    assert_eq!(
        text(
            call(&actor, "fetch", (server.url("/chunked/3"),))
                .await
                .unwrap()
        ),
        "chunk 0;chunk 1;chunk 2;"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_an_actor_closes_the_connections_of_its_requests() {
    let rt = runtime();
    // Reads until the client closes: an HTTP request to it never gets an answer.
    let silent = http_server::tcp_echo().await;
    let actor = load(&rt, "http-fetch")
        .spawn(ActorOptions::new().allow_net(silent.addr.to_string()))
        .unwrap();
    let url = format!("http://{}/", silent.addr);
    let refs: Vec<_> = (0..5)
        .map(|_| actor.call("fetch", (url.as_str(),)).unwrap())
        .collect();
    let start = Instant::now();
    while silent.seen.in_flight() < 5 {
        assert!(start.elapsed() < PATIENCE, "the requests never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    actor.kill();
    for r in refs {
        let err = tokio::time::timeout(PATIENCE, r)
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, Error::ActorDied { .. }), "{err:?}");
    }
    // The host's requests went with the actor: their sockets are closed.
    while silent.seen.in_flight() > 0 {
        assert!(
            start.elapsed() < PATIENCE,
            "connections outlived their actor"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
