//! Caller-runs dispatch (thread per core): a call to an idle one-instance
//! threaded actor runs in `call` itself, so its ref comes back resolved; a
//! busy actor's calls queue behind the running one, in order; a caller on
//! another worker always queues.

use std::time::{Duration, Instant};

use wactor::{ActorHandle, ActorOptions, Error, GuestOutput, OutputCapture, Val};
use wactor_tests::{PATIENCE, load, runtime};

/// Calls `method(args)` until a call comes back resolved: the first calls
/// queue while the actor instantiates, and until its task lets go of the
/// instance after them.
fn until_run_by_caller(actor: &ActorHandle, method: &str, args: (u32, u64)) {
    let start = Instant::now();
    loop {
        let r = actor.call(method, args).unwrap();
        let ready = r.is_ready();
        r.get(Some(PATIENCE)).unwrap();
        if ready {
            return;
        }
        assert!(start.elapsed() < PATIENCE, "no call ran on its caller");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_call_to_an_idle_threaded_actor_is_answered_before_call_returns() {
    let rt = runtime();
    let counter = load(&rt, "counter").spawn(ActorOptions::new()).unwrap();
    let start = Instant::now();
    let mut total = loop {
        let r = counter.call("add", (1i64,)).unwrap();
        let ready = r.is_ready();
        let Val::S64(total) = r.get(Some(PATIENCE)).unwrap() else {
            panic!("add returns an s64");
        };
        if ready {
            break total;
        }
        assert!(start.elapsed() < PATIENCE, "no call ran on its caller");
        std::thread::sleep(Duration::from_millis(1));
    };
    // From now on the actor is idle whenever this thread calls.
    for _ in 0..100 {
        let r = counter.call("add", (1i64,)).unwrap();
        assert!(r.is_ready(), "a call to the idle actor was queued");
        total += 1;
        assert_eq!(r.get(None).unwrap(), Val::S64(total));
    }
    let stats = counter.stats();
    assert_eq!(stats.finished, total as u64);
    assert_eq!(stats.running, 0);
}

#[test]
fn calls_to_a_busy_threaded_actor_queue_behind_the_running_one_in_order() {
    let rt = runtime();
    let out = OutputCapture::new();
    let actor = load(&rt, "threaded-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Capture(out.clone())))
        .unwrap();
    until_run_by_caller(&actor, "work", (0, 0));
    // Run by this thread until its guest sleeps, then handed to the
    // actor's task: `call` returns before it ends.
    let slow = actor.call("work", (1u32, 300u64)).unwrap();
    assert!(!slow.is_ready());
    let queued: Vec<_> = (2..5u32)
        .map(|id| actor.call("work", (id, 0u64)).unwrap())
        .collect();
    assert!(queued.iter().all(|r| !r.is_ready()));
    assert_eq!(slow.get(Some(PATIENCE)).unwrap(), Val::U32(1));
    for (r, id) in queued.iter().zip(2..) {
        assert_eq!(r.get(Some(PATIENCE)).unwrap(), Val::U32(id));
    }
    let lines: Vec<_> = out
        .lines()
        .into_iter()
        .filter(|l| !l.ends_with(" 0"))
        .collect();
    let expected: Vec<_> = (1..5)
        .flat_map(|id| [format!("started {id}"), format!("finished {id}")])
        .collect();
    assert_eq!(lines, expected);
}

#[test]
fn killing_an_actor_ends_a_call_its_caller_handed_over() {
    let rt = runtime();
    let actor = load(&rt, "threaded-actor")
        .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
        .unwrap();
    until_run_by_caller(&actor, "work", (0, 0));
    let slow = actor.call("work", (1u32, 30_000u64)).unwrap();
    let queued = actor.call("work", (2u32, 0u64)).unwrap();
    actor.kill();
    let start = Instant::now();
    assert!(matches!(
        slow.get(Some(PATIENCE)),
        Err(Error::ActorDied { .. })
    ));
    assert!(matches!(
        queued.get(Some(PATIENCE)),
        Err(Error::ActorDied { .. })
    ));
    assert!(start.elapsed() < Duration::from_secs(20), "the kill waited");
}

#[test]
fn a_trap_in_a_call_run_by_its_caller_restarts_the_actor() {
    let rt = runtime();
    let actor = load(&rt, "threaded-actor")
        .spawn(
            ActorOptions::new()
                .max_restarts(1)
                .stdout(GuestOutput::Discard)
                .stderr(GuestOutput::Discard),
        )
        .unwrap();
    until_run_by_caller(&actor, "work", (0, 0));
    let err = actor
        .call("crash", ())
        .unwrap()
        .get(Some(PATIENCE))
        .unwrap_err();
    assert!(matches!(err, Error::ActorRestarted { .. }), "{err:?}");
    assert_eq!(
        actor
            .call("work", (7u32, 0u64))
            .unwrap()
            .get(Some(PATIENCE))
            .unwrap(),
        Val::U32(7)
    );
    assert_eq!(actor.restarts(), 1);
    assert!(actor.death_cause().is_none());
}

#[test]
fn a_caller_on_another_worker_queues_and_one_on_the_actors_worker_runs_the_call() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let rt = runtime();
    let counter = load(&rt, "counter");
    let (tx, rx) = tokio::sync::oneshot::channel::<ActorHandle>();
    let submitted = Arc::new(AtomicBool::new(false));
    let released = submitted.clone();
    // Two tasks alive at once go to the two workers.
    let home = rt.spawn(async move {
        // Spawned here, the actor lives on this task's worker.
        let actor = counter.spawn(ActorOptions::new()).unwrap();
        let start = Instant::now();
        let total = loop {
            let r = actor.call("add", (1i64,)).unwrap();
            let ready = r.is_ready();
            let total = r.await.unwrap();
            if ready {
                break total;
            }
            assert!(start.elapsed() < PATIENCE, "no call ran on its caller");
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        tx.send(actor).ok().unwrap();
        // Hold this worker (and so the actor) until the other task has
        // made its calls: only a call its caller ran can be done by then.
        while !released.load(Ordering::SeqCst) {
            assert!(start.elapsed() < PATIENCE, "the other task never called");
            std::thread::sleep(Duration::from_millis(1));
        }
        total
    });
    let away = rt.spawn(async move {
        let actor = rx.await.unwrap();
        let refs: Vec<_> = (0..20)
            .map(|_| actor.call("add", (1i64,)).unwrap())
            .collect();
        let ran_here = refs.iter().filter(|r| r.is_ready()).count();
        submitted.store(true, Ordering::SeqCst);
        let mut totals = Vec::new();
        for r in refs {
            totals.push(r.await.unwrap());
        }
        (ran_here, totals)
    });
    let waiter = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (total, (ran_here, totals)) =
        waiter.block_on(async { (home.await.unwrap(), away.await.unwrap()) });
    assert_eq!(ran_here, 0, "a caller on another worker ran a call itself");
    let Val::S64(total) = total else {
        panic!("add returns an s64")
    };
    let expected: Vec<_> = (1..=20).map(|i| Val::S64(total + i)).collect();
    assert_eq!(totals, expected, "queued calls ran in order");
}
