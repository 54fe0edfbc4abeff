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
use std::sync::atomic::Ordering;

use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::{
    ResultSlot, bury, death_cause, instantiate, lower_args, outcome, plain_args, settle,
    watch_deadline,
};
use crate::actor::{ActorOptions, ActorShared, Call};
use crate::error::{DeathCause, Error};
use crate::sandbox::Role;

pub(crate) async fn run(
    shared: Arc<ActorShared>,
    mailbox: mpsc::UnboundedReceiver<Call>,
    options: ActorOptions,
) {
    let span = tracing::debug_span!("actor", name = %shared.name, kind = "threaded");
    async move {
        // One instance (the default) needs no shared queue and no task of
        // its own: this task is its worker. Spawning is then one task, and a
        // call costs no lock.
        if shared.max_concurrency == 1 {
            let mut queue = Queue::Own(mailbox);
            worker(shared.clone(), &mut queue, &options).await;
            if shared.death().is_some() {
                bury(&shared, queue.receiver().await.as_mut(), []);
            }
            return;
        }
        let queue = Arc::new(Mutex::new(mailbox));
        let mut workers = JoinSet::new();
        for replica in 0..shared.max_concurrency {
            let (shared, queue, options) = (shared.clone(), queue.clone(), options.clone());
            workers.spawn(
                async move { worker(shared, &mut Queue::Shared(queue), &options).await }
                    .instrument(tracing::debug_span!("replica", replica)),
            );
        }
        while let Some(joined) = workers.join_next().await {
            if let Err(e) = joined {
                shared.die(DeathCause::Trap(format!("a host worker failed: {e}")));
            }
        }
        if shared.death().is_some() {
            bury(&shared, &mut *queue.lock().await, []);
        }
    }
    .instrument(span)
    .await
}

/// Where a worker takes its calls from: the mailbox itself when it is the
/// only worker, else the mailbox shared by the pool.
enum Queue {
    Own(mpsc::UnboundedReceiver<Call>),
    Shared(Arc<Mutex<mpsc::UnboundedReceiver<Call>>>),
}

/// The receiver of a [`Queue`], locked if it is shared.
enum Receiver<'a> {
    Own(&'a mut mpsc::UnboundedReceiver<Call>),
    Shared(tokio::sync::MutexGuard<'a, mpsc::UnboundedReceiver<Call>>),
}

impl Receiver<'_> {
    fn as_mut(&mut self) -> &mut mpsc::UnboundedReceiver<Call> {
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

async fn worker(shared: Arc<ActorShared>, queue: &mut Queue, options: &ActorOptions) {
    let (mut store, mut funcs) = match instantiate(&shared, options, Role::ThreadedActor).await {
        Ok(ready) => ready,
        Err(cause) => {
            shared.die(cause);
            return;
        }
    };
    let mut dead = shared.watch_death();
    // One death watch for the worker's life, not one per call.
    let death = dead.wait_for(|dead| *dead);
    tokio::pin!(death);
    loop {
        let call = tokio::select! {
            biased;
            _ = &mut death => return,
            call = queue.recv() => call,
        };
        let Some(Call {
            method,
            args,
            promise,
            _queued,
            retries_left,
        }) = call
        else {
            return; // every handle is gone and the queue is empty
        };
        drop(_queued); // started: no longer waiting
        if promise.is_settled() {
            continue; // cancelled while queued
        }
        let retry = (retries_left > 0).then(|| args.clone());
        let args = match plain_args(args).or_else(|args| lower_args(&mut store, args)) {
            Ok(args) => args,
            Err(e) => {
                promise.resolve(Err(Error::InvalidRequest(format!(
                    "cannot pass the arguments of `{}`: {e}",
                    method.name()
                ))));
                continue;
            }
        };
        let func = funcs[method.index];
        let mut result_slot = ResultSlot::for_method(&method);
        promise.mark_started();
        // Counted down on every way out of this call (finish, kill, trap).
        let _running = Running::enter(&shared);
        let watchdog = watch_deadline(&shared, &promise, &method);
        store.data_mut().current_method = Some(method.name().into());
        store.data_mut().lag.reset();
        // A fresh time slice for each call: a deadline left from an earlier
        // one would make the call yield at its first check, for nothing.
        store.set_epoch_deadline(1);
        let result = tokio::select! {
            biased;
            _ = &mut death => {
                // Killed mid-call: dropping the call leaves this instance
                // unusable, which is fine, as it is never used again.
                promise.resolve(Err(shared.died_error()));
                return;
            }
            result = func.call_async(&mut store, &args, result_slot.slots()) => result,
        };
        if let Some(watchdog) = watchdog {
            watchdog.abort();
        }
        match result {
            Ok(()) => {
                let out = outcome(&shared.name, &method, result_slot.take());
                settle(&mut store, promise, out);
            }
            Err(trap) => {
                let cause = death_cause(&trap);
                if matches!(cause, DeathCause::Trap(_))
                    && let Some(restart) = shared.try_restart()
                {
                    // Only this instance is replaced; the others keep serving.
                    tracing::warn!(actor = %shared.name, %cause, restart, "instance trapped; replacing it");
                    let failed = match retry {
                        Some(args) => Call::retry(
                            &shared,
                            options.my_mailbox.as_ref(),
                            method,
                            args,
                            promise,
                            retries_left,
                        )
                        .err(),
                        None => Some(promise),
                    };
                    if let Some(promise) = failed {
                        promise.resolve(Err(Error::ActorRestarted {
                            actor: shared.name.to_string(),
                            cause,
                        }));
                    }
                    match instantiate(&shared, options, Role::ThreadedActor).await {
                        Ok((new_store, new_funcs)) => {
                            (store, funcs) = (new_store, new_funcs);
                            continue;
                        }
                        Err(cause) => {
                            shared.die(cause);
                            return;
                        }
                    }
                }
                tracing::warn!(actor = %shared.name, %cause, "actor died");
                shared.die(cause);
                promise.resolve(Err(shared.died_error()));
                return;
            }
        }
    }
}

/// Keeps `ActorShared::running` for the call in progress on one instance.
struct Running<'a>(&'a ActorShared);

impl<'a> Running<'a> {
    fn enter(shared: &'a ActorShared) -> Self {
        shared.running.fetch_add(1, Ordering::AcqRel);
        Running(shared)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::AcqRel);
    }
}
