//! The cluster, run as users run it: a real `nats-server` on a free
//! loopback port, `wactor node` processes, and programs either as
//! `wactor run --nats` processes or as runtimes in this test that join.
//! `.ci/run` installs `nats-server`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use wactor::{ActorOptions, DeathCause, Error, GuestOutput, Placement, Runtime};

/// A child process, killed when dropped, with its stdout lines.
struct Proc {
    child: Child,
    lines: Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Waits (at most 30 s) for a line containing `text`.
    fn expect_line(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(text) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no line containing {text:?} within 30 s");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn lines_of(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A nats-server on `port` of loopback, up when this returns.
fn nats_on(port: u16) -> Proc {
    let mut child = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server runs (.ci/run installs it: apt-get install nats-server)");
    let lines = lines_of(&mut child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Proc { child, lines }
}

fn nats() -> (Proc, String) {
    let port = free_port();
    (nats_on(port), format!("nats://127.0.0.1:{port}"))
}

/// A `wactor node` that joined.
fn node(url: &str, name: &str) -> Proc {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args(["node", "--nats", url, "--name", name])
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env_remove("WACTOR_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("wactor runs");
    let lines = lines_of(&mut child);
    let node = Proc { child, lines };
    node.expect_line("joined the cluster");
    node
}

/// A program's runtime in this process, joined.
fn program(url: &str) -> Runtime {
    Runtime::builder()
        .nats(url)
        .serve_actors(false)
        .node_name("test-program")
        .cache_dir(Some(env!("CARGO_TARGET_TMPDIR")))
        .build()
        .expect("joins the cluster")
}

fn quiet() -> ActorOptions {
    ActorOptions::new()
        .stdout(GuestOutput::Discard)
        .stderr(GuestOutput::Discard)
}

#[test]
fn calls_and_refs_cross_nodes_and_placement_spreads_the_actors() {
    let (_nats, url) = nats();
    let nodes = [node(&url, "a"), node(&url, "b"), node(&url, "c")];
    let runtime = program(&url);
    let component = runtime.load(wactor_examples::ASYNC_ACTOR).unwrap();
    // 50 concurrent 1 s calls on one remote actor all run at once there.
    let actor = component.spawn(quiet()).unwrap();
    let refs: Vec<_> = (0..50)
        .map(|_| actor.call_typed::<u32>("run-task", (1000u64,)).unwrap())
        .collect();
    for r in refs {
        r.get(Some(Duration::from_secs(30))).unwrap();
    }
    let peak: u32 = actor
        .call_typed("peak-concurrency", ())
        .unwrap()
        .get(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(peak, 50, "the guest saw all 50 calls at once");
    // Three more actors spread over the three nodes.
    let spread: Vec<_> = (0..3).map(|_| component.spawn(quiet()).unwrap()).collect();
    for a in &spread {
        a.call_typed::<u32>("run-task", (1u64,))
            .unwrap()
            .get(Some(Duration::from_secs(30)))
            .unwrap();
    }
    for node in &nodes {
        node.expect_line("started async_actor");
    }
    // A ref passed from the program to an actor on another node, and the
    // pipeline program (A's ref awaited by B, whose ref C awaits) across
    // three nodes.
    let faulty = runtime.load(wactor_examples::FAULTY).unwrap();
    let f = faulty
        .spawn(quiet().placement(Placement::Node("b".into())))
        .unwrap();
    let echoed = f.call("echo", ("far", 50u64)).unwrap();
    let text: String = f
        .call_typed("await-ref", (echoed,))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    assert!(text.contains("far"), "{text}");
    let run = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args(["run", wactor_examples::PIPELINE, "--nats", &url])
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "44");
    // A wrong call fails at the call site, as for a local actor.
    assert!(matches!(
        actor.call("no-such-method", ()),
        Err(Error::UnknownMethod { .. })
    ));
    // `wactor status` lists the nodes and their actors.
    let status = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args(["status", "--nats", &url])
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    for name in [
        "node a",
        "node b",
        "node c",
        "program test-program",
        "faulty",
    ] {
        assert!(status.contains(name), "{name} missing from:\n{status}");
    }
    runtime.leave();
}

#[test]
fn the_seed_programs_run_unchanged_and_their_actors_end_with_them() {
    let (_nats, url) = nats();
    let a = node(&url, "a");
    let b = node(&url, "b");
    let run = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args(["run", wactor_examples::ASYNC_GET, "--nats", &url])
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let local = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args(["run", wactor_examples::ASYNC_GET])
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    // What the program itself prints is the same; its actors printed on
    // the nodes (docs/cluster.md).
    let program_lines = |out: &[u8]| {
        String::from_utf8_lossy(out)
            .lines()
            .filter(|l| !l.starts_with('['))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(program_lines(&run.stdout), program_lines(&local.stdout));
    // The program's named actor (`awaiter`) is killed when it ends.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut ended = false;
    while !ended && Instant::now() < deadline {
        for n in [&a, &b] {
            while let Ok(line) = n.lines.try_recv() {
                ended |= line.starts_with("died awaiter") && line.contains("killed");
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(ended, "the program's actor was not killed when it ended");
}

/// The order the seed test left to chance: the program drops its last
/// handle of a named actor (the node hears "release") well before it
/// leaves (the node hears "bye"); the actor is still killed with it.
#[test]
fn a_named_actor_dies_with_its_program_even_after_its_handles_are_dropped() {
    let (_nats, url) = nats();
    let a = node(&url, "a");
    let runtime = program(&url);
    let counter = runtime.load(wactor_examples::COUNTER).unwrap();
    let keeper = counter
        .spawn(
            quiet()
                .name("keeper")
                .placement(Placement::Node("a".into())),
        )
        .unwrap();
    let total: i64 = keeper
        .call_typed("add", (2i64,))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(total, 2);
    a.expect_line("started keeper");
    drop(keeper);
    // Found by name, it still answers: the release did not end it.
    let found = runtime.get_actor("keeper").unwrap();
    let total: i64 = found
        .call_typed("add", (1i64,))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(total, 3);
    drop(found);
    std::thread::sleep(Duration::from_millis(500));
    runtime.leave();
    let died = a.expect_line("died keeper");
    assert!(died.contains("killed"), "{died}");
}

#[test]
fn named_actors_are_unique_in_the_cluster_and_found_from_any_member() {
    let (_nats, url) = nats();
    let a = node(&url, "a");
    let first = program(&url);
    let second = Runtime::builder()
        .nats(&url)
        .node_name("second")
        .cache_dir(Some(env!("CARGO_TARGET_TMPDIR")))
        .build()
        .unwrap();
    let counter = first.load(wactor_examples::COUNTER).unwrap();
    // `second` serves actors too: pin, so the holder is known.
    let tally = counter
        .spawn(quiet().name("tally").placement(Placement::Node("a".into())))
        .unwrap();
    tally
        .call_typed::<i64>("add", (2i64,))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    // Another member finds it by name (it never loaded the component:
    // the bytes come from the node).
    let found = second.get_actor("tally").unwrap();
    let total: i64 = found
        .call_typed("add", (3i64,))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(total, 5, "both handles reach the same actor");
    // A second spawn with the name fails, from either member.
    let again = second.load(wactor_examples::COUNTER).unwrap();
    match again.spawn(quiet().name("tally")) {
        Err(Error::NameTaken { name, holder }) => {
            assert_eq!(name, "tally");
            assert!(holder.contains("node `a`"), "{holder}");
        }
        other => panic!("expected NameTaken, got {other:?}"),
    }
    assert!(matches!(
        counter.spawn(quiet().name("tally")),
        Err(Error::NameTaken { .. })
    ));
    assert!(matches!(
        second.get_actor("nobody"),
        Err(Error::NoSuchActor { .. })
    ));
    // A guest finds it by name too, from a third node's actor.
    let faulty = first.load(wactor_examples::FAULTY).unwrap();
    let guest = faulty.spawn(quiet()).unwrap();
    let said: String = guest
        .call_typed("add-to-named", ("tally", 4i64))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(said, "9");
    let said: String = guest
        .call_typed("add-to-named", ("nobody", 4i64))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .map(|_: String| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(said.contains("no actor is named `nobody`"), "{said}");
    // A pin to a node that does not exist says which ones do.
    match counter.spawn(quiet().placement(Placement::Node("zz".into()))) {
        Err(e) => assert!(e.to_string().contains("its nodes: a"), "{e}"),
        Ok(_) => panic!("a pin to a missing node spawned"),
    }
    // A guest pins what it spawns (`actor-options.node`).
    let said: String = guest
        .call_typed("spawn-on", ("a",))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    let child = said.split(' ').next().unwrap().to_string();
    a.expect_line(&format!("started {child} (faulty)"));
    second.leave();
    first.leave();
}

#[test]
fn a_killed_node_fails_its_running_queued_and_later_calls_within_3_s() {
    let (_nats, url) = nats();
    let doomed = node(&url, "doomed");
    let second_doomed = node(&url, "second-doomed");
    let _other = node(&url, "other");
    let runtime = program(&url);
    let component = runtime.load(wactor_examples::ASYNC_ACTOR).unwrap();
    let actor = component
        .spawn(
            quiet()
                .max_concurrency(2)
                .placement(Placement::Node("doomed".into())),
        )
        .unwrap();
    actor
        .call_typed::<u32>("run-task", (1u64,))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    // Two running, eight queued behind them.
    let refs: Vec<_> = (0..10)
        .map(|_| actor.call("run-task", (60_000u64,)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let killed = Instant::now();
    doomed.signal("-9");
    for r in &refs {
        match r.get(Some(Duration::from_secs(10))) {
            Err(Error::ActorDied {
                cause: DeathCause::NodeLost { node },
                ..
            }) => assert_eq!(node, "doomed"),
            other => panic!("expected the node's loss, got {other:?}"),
        }
    }
    let detected = killed.elapsed();
    assert!(detected < Duration::from_secs(3), "took {detected:?}");
    // Later calls fail at once, saying the same.
    let later = Instant::now();
    let r = actor.call("run-task", (1u64,)).unwrap();
    assert!(matches!(
        r.get(Some(Duration::from_secs(5))),
        Err(Error::ActorDied {
            cause: DeathCause::NodeLost { .. },
            ..
        })
    ));
    assert!(later.elapsed() < Duration::from_millis(500));
    // A ref the lost node owned fails the same for its borrower: an actor
    // there handed a ref to one of its own calls to an actor elsewhere.
    let faulty = runtime.load(wactor_examples::FAULTY).unwrap();
    let borrower = faulty
        .spawn(quiet().placement(Placement::Node("other".into())))
        .unwrap();
    let lender = faulty
        .spawn(quiet().placement(Placement::Node("second-doomed".into())))
        .unwrap();
    lender
        .call("stash-slow-in", (borrower.clone(), 60_000u64))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    second_doomed.signal("-9");
    match borrower
        .call("take-stashed", ())
        .unwrap()
        .get(Some(Duration::from_secs(10)))
    {
        Err(Error::MethodFailed { error, .. }) => {
            let text = format!("{error:?}");
            assert!(
                text.contains("second-doomed") && text.contains("lost"),
                "{text}"
            )
        }
        other => panic!("expected the owner's loss, got {other:?}"),
    }
    // The cluster goes on on the node left. (Pinned: each member finds a
    // loss on its own clock, so this one may not have judged the second
    // node yet when the borrower's node has.)
    let fresh = component
        .spawn(quiet().placement(Placement::Node("other".into())))
        .unwrap();
    fresh
        .call_typed::<u32>("run-task", (1u64,))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    runtime.leave();
}

#[test]
fn a_node_that_leaves_stops_its_actors_saying_so() {
    let (_nats, url) = nats();
    let leaving = node(&url, "leaving");
    let runtime = program(&url);
    let component = runtime.load(wactor_examples::ASYNC_ACTOR).unwrap();
    let actor = component.spawn(quiet()).unwrap();
    let running = actor.call("run-task", (60_000u64,)).unwrap();
    leaving.expect_line("started async_actor");
    std::thread::sleep(Duration::from_millis(200));
    leaving.signal("-TERM");
    match running.get(Some(Duration::from_secs(10))) {
        Err(Error::ActorDied { cause, .. }) => {
            assert_eq!(
                cause,
                DeathCause::NodeStopped {
                    node: "leaving".into()
                }
            )
        }
        other => panic!("expected the node's stop, got {other:?}"),
    }
    leaving.expect_line("died async_actor");
    leaving.expect_line("node leaving stopped");
    runtime.leave();
}

#[test]
fn a_nats_restart_fails_the_calls_in_flight_and_the_cluster_goes_on() {
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let server = nats_on(port);
    let _a = node(&url, "a");
    let runtime = program(&url);
    let component = runtime.load(wactor_examples::ASYNC_ACTOR).unwrap();
    let actor = component.spawn(quiet().name("survivor")).unwrap();
    actor
        .call_typed::<u32>("run-task", (1u64,))
        .unwrap()
        .get(Some(Duration::from_secs(30)))
        .unwrap();
    let in_flight = actor.call("run-task", (3_000u64,)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(server);
    match in_flight.get(Some(Duration::from_secs(10))) {
        Err(Error::Unavailable { reason, .. }) => {
            assert!(reason.contains("NATS"), "{reason}")
        }
        other => panic!("expected the call to be unavailable, got {other:?}"),
    }
    let _server = nats_on(port);
    // Reconnected, the same actor answers again.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = actor.call_typed::<u32>("run-task", (1u64,)).unwrap();
        match r.get(Some(Duration::from_secs(5))) {
            Ok(_) => break,
            Err(e) if Instant::now() < deadline => {
                assert!(e.is_retryable(), "{e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the cluster did not come back: {e}"),
        }
    }
    runtime.leave();
}

#[test]
fn actor_handles_passed_as_arguments_reach_the_same_actor_on_any_node() {
    let (_nats, url) = nats();
    let _nodes = [node(&url, "a"), node(&url, "b"), node(&url, "c")];
    let runtime = program(&url);
    let counters = runtime.load(wactor_examples::COUNTER).unwrap();
    let faulty = runtime.load(wactor_examples::FAULTY).unwrap();
    let on = |n: &str| quiet().placement(Placement::Node(n.into()));
    let counter = counters.spawn(on("a")).unwrap();
    let first = faulty.spawn(on("b")).unwrap();
    let second = faulty.spawn(on("c")).unwrap();
    let wait = Some(Duration::from_secs(30));
    // From the host, to an actor on b, which calls the counter on a.
    let said: String = first
        .call_typed("call-add", (counter.clone(), 2i64))
        .unwrap()
        .get(wait)
        .unwrap();
    assert_eq!(said, "2");
    // From the guest on b, on to the guest on c, which calls a.
    let said: String = first
        .call_typed("pass-actor", (second.clone(), counter.clone(), 3i64))
        .unwrap()
        .get(wait)
        .unwrap();
    assert_eq!(said, "5", "every handle reached the one counter");
    // An actor of the program's own runtime, passed to a node.
    let local = counters.spawn(quiet().placement(Placement::Here)).unwrap();
    let said: String = second
        .call_typed("call-add", (local.clone(), 7i64))
        .unwrap()
        .get(wait)
        .unwrap();
    assert_eq!(said, "7");
    let total: i64 = local.call_typed("add", (0i64,)).unwrap().get(wait).unwrap();
    assert_eq!(total, 7, "the node called the program's own actor");
    // A handle where another type is expected is refused at the call site.
    assert!(matches!(
        first.call("call-add", (5i64, 5i64)),
        Err(Error::WrongType { .. })
    ));
    runtime.leave();
}

#[test]
fn kill_cancel_and_wait_work_on_remote_actors_as_on_local_ones() {
    let (_nats, url) = nats();
    let _a = node(&url, "a");
    let runtime = program(&url);
    let component = runtime.load(wactor_examples::ASYNC_ACTOR).unwrap();
    let actor = component.spawn(quiet().max_concurrency(1)).unwrap();
    let wait = Some(Duration::from_secs(30));
    actor
        .call_typed::<u32>("run-task", (1u64,))
        .unwrap()
        .get(wait)
        .unwrap();
    // One runs, one waits behind it; the waiting one is cancelled.
    let running = actor.call("run-task", (500u64,)).unwrap();
    let queued = actor.call("run-task", (500u64,)).unwrap();
    queued.cancel();
    assert!(matches!(queued.get(wait), Err(Error::Cancelled)));
    // `wait` sees the running one finish.
    let (ready, pending) =
        wactor::wait_blocking(vec![running.clone(), queued.clone()], 2, wait).unwrap();
    assert_eq!((ready.len(), pending.len()), (2, 0));
    running.get(wait).unwrap();
    // The cancelled call never ran there: the guest finished the first
    // call and the running one, not the cancelled one.
    std::thread::sleep(Duration::from_millis(700));
    let finished: u64 = actor
        .call_typed("finished-tasks", ())
        .unwrap()
        .get(wait)
        .unwrap();
    assert_eq!(finished, 2);
    // Kill: running, queued and later calls fail with the kill.
    let long = actor.call("run-task", (60_000u64,)).unwrap();
    let behind = actor.call("run-task", (1u64,)).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    actor.kill();
    for r in [&long, &behind] {
        match r.get(wait) {
            Err(Error::ActorDied {
                cause: DeathCause::Killed,
                ..
            }) => {}
            other => panic!("expected the kill, got {other:?}"),
        }
    }
    assert!(matches!(
        actor.call("run-task", (1u64,)).unwrap().get(wait),
        Err(Error::ActorDied {
            cause: DeathCause::Killed,
            ..
        })
    ));
    assert_eq!(actor.death_cause(), Some(DeathCause::Killed));
    runtime.leave();
}

#[test]
fn a_value_too_large_for_one_nats_message_fails_clearly_and_nothing_hangs() {
    let (_nats, url) = nats();
    let _a = node(&url, "a");
    let runtime = program(&url);
    let faulty = runtime.load(wactor_examples::FAULTY).unwrap();
    let actor = faulty.spawn(quiet()).unwrap();
    let wait = Some(Duration::from_secs(30));
    // Arguments: 2 MiB of text, over the server's 1 MiB.
    let big = "x".repeat(2 << 20);
    match actor.call("echo", (big.as_str(), 0u64)).unwrap().get(wait) {
        Err(Error::QuotaExceeded { what, .. }) => assert!(what.contains("cluster message")),
        other => panic!("expected the message to be refused, got {other:?}"),
    }
    // A result: 1 MiB of bytes is ~2 MiB of JSON.
    match actor.call("bulk", (1u32,)).unwrap().get(wait) {
        Err(e) => assert!(e.to_string().contains("max_payload"), "{e}"),
        Ok(_) => panic!("a value over the server's limit arrived"),
    }
    // The actor is unharmed.
    let echoed: String = actor
        .call_typed("echo", ("small", 0u64))
        .unwrap()
        .get(wait)
        .unwrap();
    assert_eq!(echoed, "small");
    runtime.leave();
}
