//! The async-actor scheduler: one instance, many interleaved calls.
//!
//! One tokio task owns the actor's `Store` and runs its component-model
//! event loop (`Store::run_concurrent`). Inside it, a `select!` takes new
//! calls from the mailbox while fewer than `max_concurrency` are running and
//! starts each with `call_concurrent`; a guest that awaits (e.g. the host's
//! `sleep`) yields to the loop, so thousands of calls wait at once for a few
//! KiB each. Calls beyond `max_concurrency` stay in the mailbox, which is
//! FIFO. Sync exports go through the same path; wasmtime runs them one at a
//! time on the instance, as Ray runs sync methods of an async actor on its
//! event loop.
//!
//! A trap ends the event loop (wasmtime cannot resume an instance after a
//! trap). If the actor may be restarted (`max_restarts`), the running calls
//! fail with `ActorRestarted`, a fresh instance is made and the queued calls
//! run on it; otherwise the actor is dead and every running, queued and later
//! call gets the trap as its cause.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::Instrument;

use wasmtime::AsContextMut;
use wasmtime::component::Val;

use super::{
    ResultSlot, bury, death_cause, instantiate, lower_args, outcome, plain_args, settle,
    watch_deadline,
};
use crate::actor::{ActorOptions, ActorShared, Call};
use crate::component::Method;
use crate::error::{DeathCause, Error};
use crate::object_ref::Promise;
use crate::sandbox::Role;
use crate::value::Arg;

/// The calls running on the instance, by slot: each call's promise,
/// method, and deadline watchdog.
type RunningCalls = Slab<RunningCall>;

/// A vector whose freed slots are reused: a call's slot number travels
/// with its future, so finding the call again is an index, not a hash.
struct Slab<T> {
    entries: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Slab<T> {
    fn new() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
        }
    }

    fn insert(&mut self, value: T) -> usize {
        match self.free.pop() {
            Some(i) => {
                self.entries[i] = Some(value);
                i
            }
            None => {
                self.entries.push(Some(value));
                self.entries.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize) -> Option<T> {
        let value = self.entries.get_mut(i)?.take();
        if value.is_some() {
            self.free.push(i);
        }
        value
    }

    fn into_values(self) -> impl Iterator<Item = T> {
        self.entries.into_iter().flatten()
    }
}

struct RunningCall {
    promise: Promise,
    method: Arc<Method>,
    watchdog: Option<AbortHandle>,
    /// The arguments again, and the retries left, if it may be retried.
    retry: Option<(Vec<Arg>, u32)>,
}

pub(crate) async fn run(
    shared: Arc<ActorShared>,
    mut mailbox: mpsc::UnboundedReceiver<Call>,
    options: ActorOptions,
    role: Role,
) {
    let span = tracing::debug_span!("actor", name = %shared.name, kind = "async");
    async move {
        let actor = &*shared.name;
        // Whether handles remain; kept across restarts.
        let mut open = true;
        loop {
            let (mut store, funcs) = match instantiate(&shared, &options, role).await {
                Ok(ready) => ready,
                Err(cause) => {
                    shared.die(cause);
                    bury(&shared, &mut mailbox, []);
                    return;
                }
            };
            let max = shared.max_concurrency;
            let mut dead = shared.watch_death();
            let mut running_calls = RunningCalls::new();

            // Death is watched twice: inside the event loop, to stop taking
            // calls, and around it, because wasmtime polls the inner future only
            // between guest steps: a guest that spins would hide a kill or a
            // deadline until it stopped (wasmtime issues 11869, 11870). Dropping
            // the whole loop is what wasmtime recommends for timeouts.
            let mut dead_outside = shared.watch_death();
            let event_loop = store
                .run_concurrent(async |accessor| -> wasmtime::Result<()> {
                    let mut running = FuturesUnordered::new();
                    // One death watch for the whole loop: making a fresh one
                    // at every turn would register and drop a waiter per call.
                    let death = dead.wait_for(|dead| *dead);
                    tokio::pin!(death);
                    let mut published = usize::MAX;
                    loop {
                        if running.len() != published {
                            published = running.len();
                            shared.running.store(published, Ordering::Release);
                        }
                        if !open && running.is_empty() {
                            return Ok(());
                        }
                        tokio::select! {
                            biased;
                            _ = &mut death => return Ok(()),
                            Some((id, result)) = running.next(), if !running.is_empty() => {
                                let result: wasmtime::Result<Option<Val>> = result;
                                match result {
                                    Ok(value) => {
                                        if let Some(RunningCall { promise, method, watchdog, .. }) = running_calls.remove(id) {
                                            if let Some(watchdog) = watchdog {
                                                watchdog.abort();
                                            }
                                            let out = outcome(actor, &method, value);
                                            accessor.with(|mut store| {
                                                // A call finished, so no guest was stuck
                                                // computing: the lag watch starts over.
                                                store.data_mut().lag.reset();
                                                settle(&mut store, promise, out)
                                            });
                                        }
                                    }
                                    Err(trap) => return Err(trap),
                                }
                            }
                            call = mailbox.recv(), if open && running.len() < max => {
                                let Some(call) = call else {
                                    // Every handle is gone: finish what runs, then stop.
                                    open = false;
                                    continue;
                                };
                                // An idle actor's time slice is stale: start the
                                // new calls on a fresh one, or they would yield at
                                // their first check, for nothing.
                                if running.is_empty() {
                                    accessor.with(|mut store| store.as_context_mut().set_epoch_deadline(1));
                                }
                                // Start this call and whatever else is queued, up to
                                // the free slots, in one turn of the loop.
                                let mut next = Some(call);
                                while let Some(Call { method, args, promise, _queued, retries_left }) = next.take() {
                                    if running.len() + 1 < max {
                                        next = mailbox.try_recv().ok();
                                    }
                                    drop(_queued); // started: no longer waiting
                                    if promise.is_settled() {
                                        continue; // cancelled while queued
                                    }
                                    let retry = (retries_left > 0).then(|| (args.clone(), retries_left));
                                    let args = match plain_args(args) {
                                        Ok(vals) => Ok(vals),
                                        Err(args) => accessor.with(|mut store| lower_args(&mut store, args)),
                                    };
                                    let args = match args {
                                        Ok(args) => args,
                                        Err(e) => {
                                            promise.resolve(Err(Error::InvalidRequest(format!(
                                                "cannot pass the arguments of `{}`: {e}", method.name()
                                            ))));
                                            continue;
                                        }
                                    };
                                    let func = funcs[method.index];
                                    let mut result = ResultSlot::for_method(&method);
                                    promise.mark_started();
                                    let watchdog = watch_deadline(&shared, &promise, &method);
                                    let id = running_calls.insert(RunningCall { promise, method, watchdog, retry });
                                    running.push(async move {
                                        let called = func.call_concurrent(accessor, &args, result.slots()).await;
                                        (id, called.map(|()| result.take()))
                                    });
                                }
                            }
                        }
                    }
                });
            let result = tokio::select! {
                result = event_loop => result,
                _ = dead_outside.wait_for(|dead| *dead) => Ok(Ok(())),
            };

            match result {
                Ok(Ok(())) => {}
                Ok(Err(trap)) | Err(trap) => {
                    let cause = death_cause(&trap);
                    if matches!(cause, DeathCause::Trap(_))
                        && let Some(restart) = shared.try_restart()
                    {
                        // The instance is gone, and the calls it was running
                        // with it; queued calls stay queued for the new one.
                        tracing::warn!(actor, %cause, restart, "actor trapped; restarting it");
                        let error = Error::ActorRestarted {
                            actor: actor.to_string(),
                            cause,
                        };
                        for lost in running_calls.into_values() {
                            if let Some(watchdog) = lost.watchdog {
                                watchdog.abort();
                            }
                            // Retried calls go to the back of the queue.
                            let failed = match lost.retry {
                                Some((args, left)) => Call::retry(
                                    &shared,
                                    options.my_mailbox.as_ref(),
                                    lost.method,
                                    args,
                                    lost.promise,
                                    left,
                                )
                                .err(),
                                None => Some(lost.promise),
                            };
                            if let Some(promise) = failed {
                                promise.resolve(Err(error.clone()));
                            }
                        }
                        shared.running.store(0, Ordering::Release);
                        continue;
                    }
                    tracing::warn!(actor, %cause, "actor died");
                    shared.die(cause);
                }
            }
            if shared.death().is_some() {
                bury(
                    &shared,
                    &mut mailbox,
                    running_calls.into_values().map(|call| call.promise),
                );
            }
            return;
        }
    }
    .instrument(span)
    .await
}
