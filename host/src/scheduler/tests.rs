//! The call lifecycle, driven by hand: each transition resolves the ref it
//! should and keeps the counters, without a scheduler around it. The method
//! table is the real `faulty` example's.

use std::sync::{Arc, Weak};
use std::time::Duration;

use wasmtime::component::Val;

use super::lifecycle::{self, ResultSlot, Returned};
use crate::actor::{ActorShared, Executor, Limits};
use crate::call::{Arg, Call, LocalMailbox, Mailbox, MethodTable};
use crate::engine::{CompiledComponent, EngineSettings, Engines};
use crate::error::{DeathCause, Error};
use crate::ids::ActorId;
use crate::object_ref::ObjectRef;

fn faulty_methods() -> Arc<MethodTable> {
    let settings = EngineSettings {
        pooling: false,
        max_instances: 4,
        time_slice: None,
        lag_warning: Duration::from_secs(1),
        memory_init: crate::MemoryInit::CopyOnWrite,
        max_memory: 1 << 30,
        max_value_size: 1 << 20,
        metrics: false,
        timeline: None,
    };
    let engines = Engines::new(settings, Default::default(), None).expect("engines");
    let bytes = std::fs::read(wactor_examples::FAULTY).expect("the example is built");
    CompiledComponent::load(Arc::new(engines), "faulty", &bytes)
        .expect("faulty loads")
        .methods
        .clone()
}

fn actor(max_task_retries: u32) -> Arc<ActorShared> {
    let limits = Limits {
        max_concurrency: 4,
        max_pending_calls: None,
        call_deadline: None,
        max_restarts: 0,
        max_task_retries,
        max_value_size: 1 << 20,
        groups: Arc::new(crate::actor::ConcurrencyGroups::single(4)),
    };
    Arc::new(ActorShared::new(
        ActorId::next(),
        "subject".into(),
        "faulty".into(),
        faulty_methods(),
        limits,
        Arc::new(Executor::new(None, None).expect("inside tokio")),
    ))
}

/// A call of `method` as a handle would queue it (counted as submitted).
fn call(actor: &ActorShared, method: &str, deadline: Option<Duration>) -> (ObjectRef, Call) {
    actor.counters.admit(None).unwrap();
    let (r, promise) = ObjectRef::pending(Some((actor.id, actor.name.clone(), 0)));
    let call = Call {
        method: actor.methods.find(method).expect("a method").index(),
        args: vec![Arg::Val(Val::S64(6)), Arg::Val(Val::S64(3))],
        promise,
        deadline,
        retries_left: actor.limits.max_task_retries,
        charge: None,
        stream: None,
        trace: None,
    };
    (r, call)
}

fn ok(value: Val) -> Returned {
    Returned::Value(Some(Val::Result(Ok(Some(Box::new(value))))))
}

#[tokio::test]
async fn a_call_cancelled_while_queued_never_starts() {
    let a = actor(0);
    let (r, queued) = call(&a, "divide", None);
    r.cancel();
    assert!(lifecycle::start(queued, &a, None).is_none());
    let stats = a.counters.snapshot();
    assert_eq!((stats.queued, stats.running, stats.failed), (0, 0, 1));
}

#[tokio::test]
async fn a_finished_call_resolves_its_ref_with_the_ok_payload() {
    let a = actor(0);
    let (r, queued) = call(&a, "divide", None);
    let (started, args) = lifecycle::start(queued, &a, None).expect("starts");
    assert_eq!(args.len(), 2);
    assert_eq!(a.counters.snapshot().running, 1);
    assert!(r.queued_on().is_none(), "marked started");
    started.finish(&a, ok(Val::S64(2)));
    assert_eq!(r.try_get().unwrap().unwrap(), Val::S64(2));
    let stats = a.counters.snapshot();
    assert_eq!((stats.running, stats.finished, stats.failed), (0, 1, 0));
}

#[tokio::test]
async fn an_err_result_is_method_failed_and_counts_as_failed() {
    let a = actor(0);
    let (r, queued) = call(&a, "divide", None);
    let (started, _) = lifecycle::start(queued, &a, None).unwrap();
    let err = Val::Result(Err(Some(Box::new(Val::String("no".into())))));
    started.finish(&a, Returned::Value(Some(err)));
    assert!(matches!(
        r.try_get(),
        Some(Err(Error::MethodFailed { method, .. })) if method == "divide"
    ));
    assert_eq!(a.counters.snapshot().failed, 1);
}

#[tokio::test]
async fn a_returned_ref_resolves_the_caller_with_its_value_when_it_comes() {
    let a = actor(0);
    let (r, queued) = call(&a, "divide", None);
    let (started, _) = lifecycle::start(queued, &a, None).unwrap();
    let (inner, inner_promise) = ObjectRef::pending(None);
    started.finish(&a, Returned::Ref(inner));
    assert!(!r.is_ready());
    inner_promise.resolve(Ok(Val::U8(7)));
    assert_eq!(r.try_get().unwrap().unwrap(), Val::U8(7));
}

#[tokio::test]
async fn a_lost_call_with_a_retry_left_goes_back_to_the_queue_with_one_less() {
    let a = actor(2);
    let (mailbox, mut queues) = LocalMailbox::new(a.limits.groups.clone());
    let mut rx = queues.remove(0);
    let mailbox: Arc<dyn Mailbox> = Arc::new(mailbox);
    let (r, queued) = call(&a, "divide", None);
    let (started, _) = lifecycle::start(queued, &a, None).unwrap();
    started.lost(
        &a,
        &DeathCause::Trap("boom".into()),
        &Arc::downgrade(&mailbox),
    );
    let again = rx.try_recv().expect("queued again");
    assert_eq!(again.retries_left, 1);
    assert_eq!(again.args.len(), 2, "with its arguments");
    assert!(!r.is_ready());
    let stats = a.counters.snapshot();
    assert_eq!((stats.queued, stats.running, stats.failed), (1, 0, 0));
}

#[tokio::test]
async fn a_lost_call_without_retries_fails_with_actor_restarted() {
    let a = actor(0);
    let (r, queued) = call(&a, "divide", None);
    let (started, _) = lifecycle::start(queued, &a, None).unwrap();
    let nowhere: Weak<dyn Mailbox> = Weak::<LocalMailbox>::new();
    started.lost(&a, &DeathCause::Trap("boom".into()), &nowhere);
    assert!(matches!(
        r.try_get(),
        Some(Err(Error::ActorRestarted { .. }))
    ));
    assert_eq!(a.counters.snapshot().failed, 1);
}

#[tokio::test]
async fn burying_a_dead_actor_fails_its_running_and_queued_calls() {
    let a = actor(0);
    let (mailbox, mut queues) = LocalMailbox::new(a.limits.groups.clone());
    let mut rx = queues.remove(0);
    let (running_ref, running) = call(&a, "divide", None);
    let (started, _) = lifecycle::start(running, &a, None).unwrap();
    let (queued_ref, queued) = call(&a, "divide", None);
    assert!(mailbox.post(queued).is_ok());
    a.die(DeathCause::Killed);
    lifecycle::bury(&a, &mut rx, [started]);
    for r in [running_ref, queued_ref] {
        assert!(matches!(
            r.try_get(),
            Some(Err(Error::ActorDied {
                cause: DeathCause::Killed,
                ..
            }))
        ));
    }
    let (late_ref, late) = call(&a, "divide", None);
    assert!(mailbox.post(late).is_err(), "the queue is closed");
    drop(late_ref);
    let stats = a.counters.snapshot();
    assert_eq!((stats.running, stats.failed), (0, 2));
}

#[tokio::test]
async fn the_deadline_watchdog_ends_with_its_call() {
    let a = actor(0);
    let before = Arc::strong_count(&a);
    let (_r, queued) = call(&a, "divide", Some(Duration::from_secs(3600)));
    let (started, _) = lifecycle::start(queued, &a, None).unwrap();
    assert_eq!(
        Arc::strong_count(&a),
        before + 1,
        "the watchdog holds the actor"
    );
    started.finish(&a, ok(Val::S64(2)));
    // The aborted task lets go of the actor when the runtime next runs it.
    for _ in 0..100 {
        if Arc::strong_count(&a) == before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(Arc::strong_count(&a), before);
}

#[tokio::test]
async fn a_call_past_its_deadline_times_out_and_retires_the_actor() {
    let a = actor(0);
    let (r, queued) = call(&a, "divide", Some(Duration::from_millis(20)));
    let (_started, _) = lifecycle::start(queued, &a, None).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), r)
        .await
        .expect("the watchdog fires");
    assert!(matches!(outcome, Err(Error::Timeout(_))));
    assert!(matches!(
        a.death(),
        Some(DeathCause::DeadlineExceeded { method, .. }) if method == "divide"
    ));
}

#[test]
fn a_result_slot_has_a_place_only_for_a_method_with_a_result() {
    let methods = faulty_methods();
    let divide = methods.find("divide").unwrap();
    let mut slot = ResultSlot::for_method(divide);
    assert_eq!(slot.slots().len(), 1);
    slot.slots()[0] = Val::U8(1);
    assert_eq!(slot.take(), Some(Val::U8(1)));
    let note = methods.find("note").unwrap();
    let mut none = ResultSlot::for_method(note);
    assert!(none.slots().is_empty());
    assert_eq!(none.take(), None);
}

#[tokio::test]
async fn a_sealed_call_opens_on_the_far_side_into_the_same_call() {
    use crate::call::CallEnvelope;
    let a = actor(2);
    let passed = crate::object_ref::put(Val::String("x".into()));
    let (_r, promise) = ObjectRef::pending(Some((a.id, a.name.clone(), 0)));
    let sent = Call {
        method: a.methods.find("block-on-ref").unwrap().index(),
        args: vec![Arg::Ref(passed.clone())],
        promise,
        deadline: Some(Duration::from_millis(1500)),
        retries_left: 2,
        charge: None,
        stream: None,
        trace: None,
    };
    let crate::call::Sealed {
        envelope, promise, ..
    } = sent.seal(&a.methods);
    // What crosses the wire is plain JSON, and comes back the same.
    let wire = serde_json::to_string(&envelope).unwrap();
    let envelope: CallEnvelope = serde_json::from_str(&wire).unwrap();
    assert_eq!(envelope.method, "block-on-ref");
    assert_eq!(envelope.args, r#"[{"$ref":0}]"#);
    assert_eq!(envelope.refs, [passed.id()]);
    assert_eq!(envelope.deadline_ms, Some(1500));

    let known = |id| (id == passed.id()).then(|| passed.clone());
    let opened = envelope
        .clone()
        .open(&a.methods, "subject", known, promise)
        .unwrap();
    assert_eq!(
        opened.method,
        a.methods.find("block-on-ref").unwrap().index()
    );
    assert!(matches!(&opened.args[..], [Arg::Ref(r)] if r.id() == passed.id()));
    assert_eq!(opened.deadline, Some(Duration::from_millis(1500)));
    assert_eq!(opened.retries_left, 2);

    // A ref the far side does not know is refused, not guessed at.
    let (_r, promise) = ObjectRef::pending(None);
    let err = envelope
        .open(&a.methods, "subject", |_| None, promise)
        .err()
        .unwrap();
    assert!(matches!(err, Error::InvalidValue { .. }), "{err}");

    // Values travel as the JSON of docs/values.md, checked on arrival.
    let (_r, divide) = call(&a, "divide", None);
    let crate::call::Sealed {
        envelope, promise, ..
    } = divide.seal(&a.methods);
    assert_eq!(envelope.args, "[6,3]");
    let opened = envelope
        .open(&a.methods, "subject", |_| None, promise)
        .unwrap();
    assert!(matches!(
        &opened.args[..],
        [Arg::Val(Val::S64(6)), Arg::Val(Val::S64(3))]
    ));
}
