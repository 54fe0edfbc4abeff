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
    bury, death_cause, instantiate, lower_args, outcome, result_slots, settle, watch_deadline,
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
        let queue = Arc::new(Mutex::new(mailbox));
        let mut workers = JoinSet::new();
        for replica in 0..shared.max_concurrency {
            workers.spawn(
                worker(shared.clone(), queue.clone(), options.clone())
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

async fn worker(
    shared: Arc<ActorShared>,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Call>>>,
    options: ActorOptions,
) {
    let (mut store, mut funcs) = match instantiate(&shared, &options, Role::ThreadedActor).await {
        Ok(ready) => ready,
        Err(cause) => {
            shared.die(cause);
            return;
        }
    };
    let mut dead = shared.watch_death();
    loop {
        let call = tokio::select! {
            biased;
            _ = dead.wait_for(|dead| *dead) => return,
            call = async { queue.lock().await.recv().await } => call,
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
        let args = match lower_args(&mut store, args) {
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
        let mut results = result_slots(&method);
        promise.mark_started();
        // Counted down on every way out of this call (finish, kill, trap).
        let _running = Running::enter(&shared);
        let watchdog = watch_deadline(&shared, &promise, &method);
        store.data_mut().current_method = Some(method.name().into());
        store.data_mut().lag.reset();
        let result = tokio::select! {
            biased;
            _ = dead.wait_for(|dead| *dead) => {
                // Killed mid-call: dropping the call leaves this instance
                // unusable, which is fine, as it is never used again.
                promise.resolve(Err(shared.died_error()));
                return;
            }
            result = func.call_async(&mut store, &args, &mut results) => result,
        };
        if let Some(watchdog) = watchdog {
            watchdog.abort();
        }
        match result {
            Ok(()) => {
                let out = outcome(&shared.name, &method, results);
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
                    match instantiate(&shared, &options, Role::ThreadedActor).await {
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
