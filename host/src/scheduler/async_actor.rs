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
//! are lost with the instance ([`Started::lost`]), a fresh instance is made
//! and the queued calls run on it; otherwise the actor is dead and every
//! running, queued and later call gets the trap as its cause.

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tracing::Instrument;
use wasmtime::AsContextMut;
use wasmtime::component::Val;

use super::lifecycle::{self, ResultSlot, Returned, Started};
use super::queues::Queues;
use super::streams;
use super::{Actor, death_cause, instantiate};
use crate::call::CallQueue;
use crate::call::StreamItem;
use crate::error::DeathCause;
use crate::error::Error;
use crate::guest::ActorState;
use crate::guest::{Lowered, lower_args, plain_args, release_lent};

/// The calls running on the instance, by slot: a call's slot number travels
/// with its future, so finding the call again is an index, not a hash.
struct Running {
    calls: Vec<Option<Started>>,
    free: Vec<usize>,
    len: usize,
}

impl Running {
    fn new() -> Self {
        Running {
            calls: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    fn insert(&mut self, call: Started) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                self.calls[i] = Some(call);
                i
            }
            None => {
                self.calls.push(Some(call));
                self.calls.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize) -> Option<Started> {
        let call = self.calls.get_mut(i)?.take();
        if call.is_some() {
            self.free.push(i);
            self.len -= 1;
        }
        call
    }

    fn into_calls(self) -> impl Iterator<Item = Started> {
        self.calls.into_iter().flatten()
    }
}

/// How a call ended, once its value (and the stream it returned) is in.
enum Finished {
    Value(Option<Val>),
    Failed(Error),
}

/// Reads the stream a call returned to its end: into the caller's channel,
/// or into a list that becomes the call's value. The call holds its slot
/// meanwhile, since its task goes on running in the instance.
async fn read_stream(
    accessor: &wasmtime::component::Accessor<ActorState>,
    value: Option<Val>,
    item: StreamItem,
    out: streams::Out,
    limit: usize,
) -> wasmtime::Result<Finished> {
    let Some(Val::Stream(stream)) = value else {
        return Ok(Finished::Value(value));
    };
    let ended = accessor.with(|store| streams::pipe(store, stream, item, out, limit))?;
    Ok(match ended.await {
        Ok(streams::Ended::Streamed) => Finished::Value(None),
        Ok(streams::Ended::Collected(items)) => Finished::Value(Some(Val::List(items))),
        Ok(streams::Ended::Failed(error)) => Finished::Failed(error),
        // The consumer always says how it ended before it goes.
        Err(_) => Finished::Failed(Error::InvalidValue {
            reason: "the stream ended without saying how".into(),
            source: None,
        }),
    })
}

/// The actor's task (a function returning it, as `threaded::run` is).
pub(super) fn run(actor: Actor, mailbox: Vec<CallQueue>) -> impl Future<Output = ()> {
    let shared = actor.shared.clone();
    let span = tracing::debug_span!("actor", name = %shared.name, kind = "async");
    async move {
        let mut queues = Queues::new(mailbox, shared.limits.groups.clone());
        let value_limit = shared.limits.max_value_size;
        // Whether handles remain; kept across restarts.
        let mut open = true;
        loop {
            let (mut store, funcs) = match instantiate(&actor).await {
                Ok(ready) => ready,
                Err(cause) => {
                    shared.die(cause);
                    queues.bury(&shared, []);
                    return;
                }
            };
            let mut running = Running::new();

            // Death is watched around the event loop, not inside it:
            // wasmtime polls the inner future only between guest steps, so a
            // guest that spins would hide a kill or a deadline until it
            // stopped (wasmtime issues 11869, 11870), and dropping the whole
            // loop is what wasmtime recommends for timeouts. Inside, a look
            // at the flag at every turn stops taking calls as soon as the
            // watch has woken the task (a second watch there, polled at
            // every turn, cost 1.7% of a batched call).
            let mut dead = shared.watch_death();
            // Marked as running a guest while polled (`caller_runs`).
            let event_loop = super::caller_runs::in_guest(store.run_concurrent(async |accessor| -> wasmtime::Result<()> {
                let mut in_flight = FuturesUnordered::new();
                loop {
                    if (!open && in_flight.is_empty()) || shared.is_dead() {
                        return Ok(());
                    }
                    tokio::select! {
                        biased;
                        Some((slot, result)) = in_flight.next(), if !in_flight.is_empty() => {
                            let result: wasmtime::Result<Finished> = result;
                            let finished = result?;
                            let Some(call) = running.remove(slot) else { continue };
                            accessor.with(|mut store| {
                                // A call finished, so no guest was stuck
                                // computing: the lag watch starts over.
                                store.data_mut().lag.reset();
                                let returned = match finished {
                                    Finished::Value(value) => Returned::take(store, value),
                                    Finished::Failed(error) => Returned::Unusable(error),
                                };
                                call.finish(&shared, returned);
                            });
                        }
                        call = queues.recv(), if open => {
                            let Some((group, call)) = call else {
                                // Every handle is gone: finish what runs, then stop.
                                open = false;
                                continue;
                            };
                            // An idle actor's time slice is stale: start the
                            // new calls on a fresh one, or they would yield
                            // at their first check, for nothing.
                            if running.len == 0 {
                                accessor.with(|mut store| store.as_context_mut().set_epoch_deadline(1));
                            }
                            // Start this call and whatever else is queued in
                            // its group, up to the free slots, in one turn of
                            // the loop.
                            let mut next = Some(call);
                            // The turn's start, read once (if the actor is
                            // observed): the calls started in one turn share
                            // it, which saves a clock read a call.
                            let mut turn = None;
                            while let Some(call) = next.take() {
                                next = queues.try_recv_beside_one(group);
                                let Some((call, args)) = lifecycle::start(call, &shared, turn) else {
                                    continue; // cancelled while queued
                                };
                                turn = call.started_at();
                                let method = shared.methods.get(call.method());
                                let args = match plain_args(args) {
                                    Ok(lowered) => Ok(lowered),
                                    Err(args) => accessor.with(|mut store| lower_args(&mut store, args, method)),
                                };
                                let Lowered { vals, lent } = match args {
                                    Ok(args) => args,
                                    Err(e) => {
                                        call.refuse(&shared, &e);
                                        continue;
                                    }
                                };
                                let func = funcs[call.method() as usize];
                                let mut result = ResultSlot::for_method(method);
                                let stream = method.stream_item().map(|item| (item, call.stream_out()));
                                let span = call.span();
                                let slot = running.insert(call);
                                in_flight.push(async move {
                                    let called = func.call_concurrent(accessor, &vals, result.slots()).await;
                                    if !lent.is_empty() {
                                        accessor.with(|store| release_lent(store, lent));
                                    }
                                    let finished = match (called, stream) {
                                        (Err(trap), _) => Err(trap),
                                        (Ok(()), None) => Ok(Finished::Value(result.take())),
                                        (Ok(()), Some((item, out))) => read_stream(accessor, result.take(), item, out, value_limit).await,
                                    };
                                    (slot, finished)
                                }.instrument(span));
                            }
                        }
                    }
                }
            }));
            let result = tokio::select! {
                result = event_loop => result,
                _ = dead.wait_for(Option::is_some) => Ok(Ok(())),
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
                        tracing::warn!(actor = %shared.name, %cause, restart, "actor trapped; restarting it");
                        for lost in running.into_calls() {
                            lost.lost(&shared, &cause, &actor.mailbox);
                        }
                        continue;
                    }
                    tracing::warn!(actor = %shared.name, %cause, "actor died");
                    shared.die(cause);
                }
            }
            if shared.is_dead() {
                queues.bury(&shared, running.into_calls());
            }
            return;
        }
    }
    .instrument(span)
}
