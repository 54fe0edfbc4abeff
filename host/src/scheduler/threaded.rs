//! The threaded-actor scheduler: a pool of instances, one call each.
//!
//! A sync-only component is Ray's threaded actor. Since a wasm instance runs
//! one sync call at a time (a second one would re-enter it), parallelism
//! needs separate instances: `max_concurrency` of them, each owned by its
//! own tokio task so they run in parallel on the runtime's worker threads.
//! The workers take calls from one shared FIFO queue, so a call goes to
//! whichever instance is idle first, and with one instance calls run one at
//! a time in submission order.
//!
//! The instances do not share linear memory: with `max_concurrency > 1`
//! they are replicas (like Orleans stateless workers), not one object with
//! threads. A trap in any of them kills the whole actor, unless it may be
//! restarted (`max_restarts`): then only the instance that trapped is
//! replaced, and the pool is whole again.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio::task::JoinSet;
use tracing::Instrument;

use super::caller_runs::{self, CallerRuns, Handover, Instance, in_guest};
use super::lifecycle;
use super::{Actor, death_cause};
use crate::call::{Call, CallQueue};
use crate::error::DeathCause;
use crate::observe::Moment;

/// The actor's task. (A function returning its future, not an `async fn`:
/// an `async fn` awaiting this block would keep room for the block's
/// captures beside the block.)
pub(super) fn run(
    actor: Actor,
    mut mailbox: Vec<CallQueue>,
    here: Option<Arc<CallerRuns>>,
) -> impl Future<Output = ()> {
    let shared = actor.shared.clone();
    let span = tracing::debug_span!("actor", name = %shared.name, kind = "threaded");
    async move {
        let groups = shared.limits.groups.clone();
        // One instance (the default) needs no shared queue and no task of
        // its own: this task is its worker, and callers run calls
        // themselves while it is idle (`caller_runs`).
        if let Some(here) = here {
            let mut rx = mailbox.remove(0);
            serve(&actor, &mut rx, &here).await;
            if shared.is_dead() {
                let handed = here.handed.take().map(|(call, _)| call);
                lifecycle::bury(&shared, &mut rx, handed);
            }
            return;
        }
        // On a shared runtime (no caller runs a call), the one instance's
        // worker is this task, owning the mailbox: a call takes no lock.
        if mailbox.len() == 1 && groups.limit(0) == 1 {
            let mut queue = Queue::Own(mailbox.remove(0));
            worker(&actor, &mut queue).await;
            if shared.is_dead() {
                lifecycle::bury(&shared, queue.receiver().await.as_mut(), []);
            }
            return;
        }
        // Each concurrency group has a pool of its own, taking calls from
        // its own queue: its instances never run another group's methods.
        let actor = Arc::new(actor);
        let queues: Vec<_> = mailbox
            .into_iter()
            .map(|rx| Arc::new(Mutex::new(rx)))
            .collect();
        let mut workers = JoinSet::new();
        let mut index = 0;
        for (group, queue) in queues.iter().enumerate() {
            for replica in 0..groups.limit(group) {
                let (actor, queue) = (actor.clone(), queue.clone());
                let span = tracing::debug_span!("replica", group = groups.name(group), replica);
                // Replicas exist to run at once: each on the next worker.
                actor.executor.clone().spawn_replica(
                    actor.home,
                    index,
                    &mut workers,
                    async move { worker(&actor, &mut Queue::Shared(queue)).await }.instrument(span),
                );
                index += 1;
            }
        }
        while let Some(joined) = workers.join_next().await {
            if let Err(e) = joined {
                shared.die(DeathCause::HostFault(format!("a worker task failed: {e}")));
            }
        }
        if shared.is_dead() {
            for queue in &queues {
                lifecycle::bury(&shared, &mut *queue.lock().await, []);
            }
        }
    }
    .instrument(span)
}

/// Where a worker takes its calls from: the mailbox itself when it is the
/// only worker, else the mailbox shared by the pool.
enum Queue {
    Own(CallQueue),
    Shared(Arc<Mutex<CallQueue>>),
}

/// The receiver of a [`Queue`], locked if it is shared.
enum Receiver<'a> {
    Own(&'a mut CallQueue),
    Shared(tokio::sync::MutexGuard<'a, CallQueue>),
}

impl Receiver<'_> {
    fn as_mut(&mut self) -> &mut CallQueue {
        match self {
            Receiver::Own(rx) => rx,
            Receiver::Shared(guard) => guard,
        }
    }
}

impl Queue {
    async fn receiver(&mut self) -> Receiver<'_> {
        match self {
            Queue::Own(rx) => Receiver::Own(rx),
            Queue::Shared(shared) => Receiver::Shared(shared.lock().await),
        }
    }

    async fn recv(&mut self) -> Option<Call> {
        self.receiver().await.as_mut().recv().await
    }
}

/// The one-instance actor's task: it runs the calls callers could not run
/// themselves (the actor was busy, or calls were queued), and finishes the
/// calls they handed over. Returns when the actor dies, or when every handle
/// is gone and nothing is left to run.
async fn serve(actor: &Actor, rx: &mut CallQueue, here: &CallerRuns) {
    let shared = &actor.shared;
    let mut dead = shared.watch_death();
    // One death watch for the task's life, not one per call.
    let death = async move {
        let _ = dead.wait_for(Option::is_some).await;
    };
    tokio::pin!(death);
    {
        // Instantiating holds the instance: calls made meanwhile queue.
        let mut slot = here.slot.clone().lock_owned().await;
        match Instance::new(actor).await {
            Ok(instance) => *slot = Some(instance),
            Err(cause) => {
                shared.die(cause);
                return;
            }
        }
    }
    // When the last call ended, if the actor is observed (see `worker`).
    let mut ended: Option<Moment> = None;
    let mut open = true;
    loop {
        // Wait for work: a call a caller handed over, or a queued one.
        let (mut call, waited) = if open {
            tokio::select! {
                biased;
                _ = &mut death => return,
                handed = here.handed.next() => {
                    if !Box::pin(finish_handed(actor, handed, &mut death, &mut ended)).await {
                        return;
                    }
                    continue;
                }
                (call, waited) = noting_wait(rx.recv()) => match call {
                    Some(call) => (call, waited),
                    None => {
                        open = false;
                        continue;
                    }
                },
            }
        } else {
            // Every handle is gone: finish what was handed over, then stop.
            match here.handed.take() {
                Some(handed) => {
                    if !Box::pin(finish_handed(actor, handed, &mut death, &mut ended)).await {
                        return;
                    }
                    continue;
                }
                None => return,
            }
        };
        // The instance; a call handed over meanwhile holds it, and was
        // started before this one was taken.
        let mut slot = loop {
            tokio::select! {
                biased;
                _ = &mut death => {
                    lifecycle::bury_taken(shared, call);
                    return;
                }
                handed = here.handed.next() => {
                    if !Box::pin(finish_handed(actor, handed, &mut death, &mut ended)).await {
                        lifecycle::bury_taken(shared, call);
                        return;
                    }
                }
                slot = here.slot.clone().lock_owned() => break slot,
            }
        };
        // This call and every call queued behind it, on the instance held
        // once: callers queue meanwhile.
        let mut began = ended.take().filter(|_| !waited);
        loop {
            here.queued
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            let instance = slot.as_mut().expect("instantiated");
            // A `let … else` in a block, not an `if let`: the scrutinee of
            // an `if let` lives through its body, so the started call would
            // take room twice in this task across the await below.
            'call: {
                let Some((started, prepared)) = caller_runs::prepare(instance, call, shared, began)
                else {
                    break 'call; // cancelled while queued, or refused
                };
                // In the instance's runner box: the run (1.8 KB, most of
                // it wasmtime's call future) would otherwise sit in every
                // actor's task (and be fresh memory for every spawn), and
                // the box is reused call to call. It holds the instance
                // while the call runs.
                let mut running = caller_runs::start_run(slot, prepared);
                let caller_runs::Ran {
                    guard,
                    called,
                    prepared,
                } = tokio::select! {
                    biased;
                    _ = &mut death => {
                        // Killed mid-call: dropping the call leaves this
                        // instance unusable, which is fine, as it is never
                        // used again.
                        started.abandon(shared, shared.died_error());
                        return;
                    }
                    ran = in_guest(running.as_mut()) => ran,
                };
                slot = guard;
                let instance = slot.as_mut().expect("ran on it");
                instance.keep_runner(running);
                match called {
                    Ok(()) => ended = prepared.settle(instance, shared, started),
                    Err(trap) => {
                        if !Box::pin(trapped(actor, &mut slot, started, &trap)).await {
                            return;
                        }
                        ended = None;
                    }
                }
            }
            // A call already waiting starts when this one ended.
            began = ended;
            match rx.try_recv() {
                Ok(next) => call = next,
                Err(_) => break,
            }
        }
        ended = began;
    }
}

/// What `future` gives, and whether it had to be waited for (a call that
/// was already queued starts when the last one ended: one clock read less).
async fn noting_wait<F: Future>(future: F) -> (F::Output, bool) {
    let mut waited = false;
    let mut future = std::pin::pin!(future);
    let out = std::future::poll_fn(|cx| {
        let polled = future.as_mut().poll(cx);
        waited |= polled.is_pending();
        polled
    })
    .await;
    (out, waited)
}

/// Finishes a call a caller started and handed over. `false` if the actor
/// died. (Boxed where it is awaited, as is [`trapped`]: rare paths, whose
/// futures would otherwise make every actor's task that much larger, and
/// every spawn touch that much more fresh memory.)
async fn finish_handed(
    actor: &Actor,
    (started, running): Handover,
    death: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ended: &mut Option<Moment>,
) -> bool {
    let shared = &actor.shared;
    let ran = tokio::select! {
        biased;
        _ = death.as_mut() => {
            started.abandon(shared, shared.died_error());
            return false;
        }
        ran = in_guest(running) => ran,
    };
    let caller_runs::Ran {
        mut guard,
        called,
        prepared,
    } = ran;
    match called {
        Ok(()) => {
            *ended = prepared.settle(guard.as_mut().expect("ran on it"), shared, started);
            true
        }
        Err(trap) => trapped(actor, &mut guard, started, &trap).await,
    }
}

/// After a trap in `call`: the instance is replaced if the actor may be
/// restarted (`true`), else the actor dies (`false`).
async fn trapped(
    actor: &Actor,
    slot: &mut Option<Instance>,
    call: lifecycle::Started,
    trap: &wasmtime::Error,
) -> bool {
    let shared = &actor.shared;
    let cause = death_cause(trap);
    if matches!(cause, DeathCause::Trap(_))
        && let Some(restart) = shared.try_restart()
    {
        tracing::warn!(actor = %shared.name, %cause, restart, "instance trapped; replacing it");
        call.lost(shared, &cause, &actor.mailbox);
        *slot = None;
        return match Instance::new(actor).await {
            Ok(instance) => {
                *slot = Some(instance);
                true
            }
            Err(cause) => {
                shared.die(cause);
                false
            }
        };
    }
    tracing::warn!(actor = %shared.name, %cause, "actor died");
    shared.die(cause);
    call.abandon(shared, shared.died_error());
    false
}

async fn worker(actor: &Actor, queue: &mut Queue) {
    let shared = &actor.shared;
    let mut slot = match Instance::new(actor).await {
        Ok(instance) => Some(instance),
        Err(cause) => {
            shared.die(cause);
            return;
        }
    };
    let mut dead = shared.watch_death();
    // One death watch for the worker's life, not one per call.
    let death = dead.wait_for(Option::is_some);
    tokio::pin!(death);
    // When the last call ended, if the actor is observed: a call that was
    // already waiting then starts at that moment (one clock read a call
    // instead of two).
    let mut ended: Option<Moment> = None;
    loop {
        let (call, waited) = tokio::select! {
            biased;
            _ = &mut death => return,
            next = noting_wait(queue.recv()) => next,
        };
        let Some(call) = call else {
            return; // every handle is gone and the queue is empty
        };
        let began = ended.take().filter(|_| !waited);
        let instance = slot.as_mut().expect("instantiated");
        let Some((started, mut prepared)) = caller_runs::prepare(instance, call, shared, began)
        else {
            continue; // cancelled while queued, or refused
        };
        let called = tokio::select! {
            biased;
            _ = &mut death => {
                // Killed mid-call: dropping the call leaves this instance
                // unusable, which is fine, as it is never used again.
                started.abandon(shared, shared.died_error());
                return;
            }
            // Boxed (wasmtime's call future is 1.4 KB), as `serve`'s call
            // runs in the instance's runner box.
            called = in_guest(Box::pin(prepared.run(instance))) => called,
        };
        match called {
            Ok(()) => ended = prepared.settle(instance, shared, started),
            // Only this instance is replaced; the others keep serving.
            Err(trap) => {
                if !Box::pin(trapped(actor, &mut slot, started, &trap)).await {
                    return;
                }
            }
        }
    }
}
