//! Caller-runs dispatch: a call to an idle threaded actor runs on the
//! caller's thread, in `call` itself.
//!
//! Why: a call through the mailbox costs two task switches (the caller
//! wakes the actor's task, which wakes the caller with the result), which is
//! most of what a trivial call costs (0.9 µs against 0.3 µs for the bare
//! wasmtime call). When the actor is idle and nothing is queued, the caller
//! takes the instance and runs the call at once, as a calling-thread
//! dispatcher or Orleans' call-chain reentrancy do; the ref it gets back is
//! already resolved. Otherwise the call goes to the mailbox as before.
//!
//! The rules that keep the semantics those of the mailbox:
//!
//! - **Order.** A call runs here only if no call is queued: `queued` counts
//!   calls from the moment they are posted until the actor's task, holding
//!   the instance, takes them, so a call never overtakes an earlier one.
//!   The instance is one lock; whoever holds it runs one call.
//! - **No stalls.** The caller polls the call once. If the guest yields
//!   (its time slice ran out, or it waits on the host), the call is handed
//!   over to the actor's task, which finishes it before anything else: a
//!   caller's `call` returns within one time slice
//!   ([`RuntimeBuilder::time_slice`](crate::RuntimeBuilder::time_slice)).
//!   A trap is handed over too: restarting is the actor task's job.
//! - **Not from another worker.** Thread per core only, and only a caller
//!   on the actor's own worker or on a thread of the embedder's (where the
//!   other way is waking the actor's worker) runs the call: from another
//!   worker the instance's memory would move between cores on every call,
//!   which made two callers calling two actors a third slower than
//!   queueing. On a shared runtime the actor's task runs every call.
//! - **Not from inside a guest.** A call made while this thread runs a guest
//!   (a guest calling another actor, or an embedder's import doing so) is
//!   queued: running another store's guest inside a host import would nest
//!   one instance's execution in another's.
//! - **Kill, deadlines, counters** go through the same lifecycle as queued
//!   calls (`lifecycle::start`, `Started::finish`); a kill lands at the
//!   latest when the caller's poll ends, and a handed-over call is dropped
//!   by the actor's task at once, as its own calls are.
//!
//! Only the default one-instance threaded actor runs calls here; a pool of
//! replicas, concurrency groups and async actors always queue.
//!
//! A caller's `call` may so run guest code for up to a time slice before it
//! returns its (then usually resolved) ref.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use tokio::sync::{Mutex, OwnedMutexGuard};
use wasmtime::Store;
use wasmtime::component::Func;

use super::lifecycle::{self, ResultSlot, Returned, Started};
use crate::actor::{ActorShared, Executor, Home};
use crate::call::{Call, Dispatch};
use crate::guest::{ActorState, Lowered, lower_args, plain_args, release_lent};
use crate::observe::Moment;

/// An instantiated actor: its store, its methods' functions, and the box
/// its calls run in, kept between calls.
pub(super) struct Instance {
    pub(super) store: Store<ActorState>,
    pub(super) funcs: Vec<Func>,
    /// Reused call to call: the run is 1.8 KB (wasmtime's call future is
    /// 1.4 KB of it, release build), and a fresh box of that size per call
    /// (past glibc's per-thread cache) was 5% of a caller-run call in perf.
    /// A call handed to the actor's task takes its box along.
    runner: Option<Pin<Box<dyn Run>>>,
}

impl Instance {
    /// A new instance of `actor`.
    pub(super) async fn new(actor: &super::Actor) -> Result<Instance, crate::error::DeathCause> {
        let (store, funcs) = super::instantiate(actor).await?;
        Ok(Instance {
            store,
            funcs,
            runner: None,
        })
    }

    /// Keeps `runner`, done with its call, for the next one.
    pub(super) fn keep_runner(&mut self, runner: Pin<Box<dyn Run>>) {
        self.runner = Some(runner);
    }
}

/// A box that runs one call at a time on the instance it is given, owning
/// it, so that the run can move to the actor's task.
pub(super) trait Run: Future<Output = Ran> + Send {
    /// Starts running `prepared` on the instance `guard` holds; poll for
    /// its end.
    fn start(self: Pin<&mut Self>, prepared: Prepared, guard: Guard);
}

pin_project_lite::pin_project! {
    /// [`Run`] for the future `make` gives (an `async fn`'s, unnameable:
    /// hence the function pointer).
    struct Runner<F> {
        #[pin]
        future: Option<F>,
        make: fn(Prepared, Guard) -> F,
    }
}

impl<F: Future<Output = Ran>> Future for Runner<F> {
    type Output = Ran;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Ran> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            // Polled only between `start` and its end (see `start_run`).
            unreachable!("a runner polled with no call started");
        };
        let ran = std::task::ready!(future.poll(cx));
        this.future.set(None);
        Poll::Ready(ran)
    }
}

impl<F: Future<Output = Ran> + Send> Run for Runner<F> {
    fn start(self: Pin<&mut Self>, prepared: Prepared, guard: Guard) {
        let mut this = self.project();
        this.future.set(Some((this.make)(prepared, guard)));
    }
}

/// Starts `prepared` on the instance `guard` holds, in the instance's
/// runner box (a new one if a handed-over call took it); poll the box for
/// the call's end, then give it back with [`Instance::keep_runner`].
pub(super) fn start_run(mut guard: Guard, prepared: Prepared) -> Pin<Box<dyn Run>> {
    let instance = guard.as_mut().expect("started on an instance");
    let mut running = instance.runner.take().unwrap_or_else(runner);
    running.as_mut().start(prepared, guard);
    running
}

/// A new runner.
fn runner() -> Pin<Box<dyn Run>> {
    async fn run(mut prepared: Prepared, mut guard: Guard) -> Ran {
        let called = prepared
            .run(guard.as_mut().expect("started on an instance"))
            .await;
        Ran {
            guard,
            called,
            prepared,
        }
    }
    Box::pin(Runner {
        future: None,
        make: run,
    })
}

/// The instance, held by whoever runs a call (`None` until instantiated,
/// and after a trap until replaced).
pub(super) type Slot = Arc<Mutex<Option<Instance>>>;
pub(super) type Guard = OwnedMutexGuard<Option<Instance>>;

/// A call running on the instance, to be polled to its end.
pub(super) type Running = Pin<Box<dyn Future<Output = Ran> + Send>>;

/// A started call and its run, as a caller hands it to the actor's task.
pub(super) type Handover = (Started, Running);

/// A call that ran: its instance (still held) and how it went.
pub(super) struct Ran {
    pub(super) guard: Guard,
    pub(super) called: wasmtime::Result<()>,
    pub(super) prepared: Prepared,
}

thread_local! {
    /// How many guests this thread is running right now (nested host
    /// imports count again).
    static IN_GUEST: Cell<u32> = const { Cell::new(0) };
}

/// Marks this thread as running a guest while `future` is polled.
pub(super) fn in_guest<F: Future>(future: F) -> InGuest<F> {
    InGuest { future }
}

pin_project_lite::pin_project! {
    /// [`in_guest`]'s future. (A struct, not an `async fn`: an `async fn`
    /// keeps its argument beside the pinned copy it polls, which doubled an
    /// async actor's event loop in its task.)
    pub(super) struct InGuest<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for InGuest<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        IN_GUEST.set(IN_GUEST.get() + 1);
        let polled = self.project().future.poll(cx);
        IN_GUEST.set(IN_GUEST.get() - 1);
        polled
    }
}

/// The call a caller handed over to the actor's task. There is at most
/// one: it holds the instance, so no other caller runs one meanwhile. (A
/// slot and a `Notify`, not a channel: a tokio channel allocates room for
/// 32 at once, 5 KiB for every actor.)
#[derive(Default)]
pub(super) struct Handed {
    call: std::sync::Mutex<Option<Handover>>,
    ready: tokio::sync::Notify,
}

impl Handed {
    fn put(&self, handover: Handover) {
        *self.call.lock().unwrap_or_else(|e| e.into_inner()) = Some(handover);
        self.ready.notify_one();
    }

    /// The call handed over, if there is one now.
    pub(super) fn take(&self) -> Option<Handover> {
        self.call.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// The next call handed over.
    pub(super) async fn next(&self) -> Handover {
        loop {
            if let Some(handover) = self.take() {
                return handover;
            }
            // A `put` between the `take` and here leaves a permit.
            self.ready.notified().await;
        }
    }
}

/// What the callers of one actor and its task share.
pub(super) struct CallerRuns {
    pub(super) slot: Slot,
    /// Calls posted and not yet taken by the actor's task.
    pub(super) queued: AtomicUsize,
    /// The call a caller handed over, if any.
    pub(super) handed: Handed,
    shared: Arc<ActorShared>,
    /// The actor's worker: entered while a call runs here, so that what the
    /// guest's imports spawn or time runs there.
    runtime: tokio::runtime::Handle,
    executor: Arc<Executor>,
    home: Home,
}

impl CallerRuns {
    /// The shared part, and the end of the hand-over queue the actor's task
    /// reads.
    pub(super) fn new(
        shared: Arc<ActorShared>,
        executor: Arc<Executor>,
        home: Home,
    ) -> Arc<CallerRuns> {
        Arc::new(CallerRuns {
            slot: Arc::new(Mutex::new(None)),
            queued: AtomicUsize::new(0),
            handed: Handed::default(),
            shared,
            runtime: executor.handle(home).clone(),
            executor,
            home,
        })
    }
}

impl Dispatch for CallerRuns {
    fn run_here(&self, call: Call) -> Result<(), Call> {
        if IN_GUEST.get() > 0 {
            return Err(call);
        }
        let Some(at_home) = self.executor.may_run_here(self.home) else {
            return Err(call);
        };
        let Ok(guard) = self.slot.clone().try_lock_owned() else {
            return Err(call);
        };
        // Checked holding the instance: the actor's task takes a queued call
        // (and counts it off) only while holding it.
        if guard.is_none() || self.queued.load(Ordering::SeqCst) != 0 || self.shared.is_dead() {
            return Err(call);
        }
        // On its own worker the actor's runtime is current already.
        let _runtime = (!at_home).then(|| self.runtime.enter());
        IN_GUEST.set(IN_GUEST.get() + 1);
        let mut guard = guard;
        let instance = guard.as_mut().expect("checked above");
        let ran = match prepare(instance, call, &self.shared, None) {
            None => None,
            Some((call, prepared)) => {
                let mut running = start_run(guard, prepared);
                let polled = running
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()));
                Some((call, running, polled))
            }
        };
        IN_GUEST.set(IN_GUEST.get() - 1);
        match ran {
            // Cancelled while queued, or refused: resolved already.
            None => {}
            Some((call, running, Poll::Ready(ran))) if ran.called.is_ok() => {
                let Ran {
                    mut guard,
                    prepared,
                    ..
                } = ran;
                let instance = guard.as_mut().expect("ran on it");
                instance.keep_runner(running);
                prepared.settle(instance, &self.shared, call);
            }
            // A trap (the actor's task restarts or buries the actor), or a
            // guest that yielded: the actor's task finishes it (in this
            // box, which then goes; the next call makes a new one).
            Some((call, _, Poll::Ready(ran))) => {
                self.handed.put((call, Box::pin(std::future::ready(ran))));
            }
            Some((call, running, Poll::Pending)) => {
                self.handed.put((call, running));
            }
        }
        Ok(())
    }

    fn queued(&self) {
        self.queued.fetch_add(1, Ordering::SeqCst);
    }
}

/// A started call's arguments in the store, and where its result goes.
pub(super) struct Prepared {
    func: Func,
    vals: Vec<wasmtime::component::Val>,
    lent: Vec<wasmtime::component::ResourceAny>,
    result: ResultSlot,
    span: tracing::Span,
}

/// Starts `call` on `instance`: the lifecycle's start, the arguments into
/// the store, a fresh time slice. `None` if it was cancelled while queued
/// or its arguments were refused (its ref is resolved then).
pub(super) fn prepare(
    instance: &mut Instance,
    call: Call,
    shared: &Arc<ActorShared>,
    began: Option<Moment>,
) -> Option<(Started, Prepared)> {
    let (call, args) = lifecycle::start(call, shared, began)?;
    let method = shared.methods.get(call.method());
    let lowered = plain_args(args).or_else(|args| lower_args(&mut instance.store, args, method));
    let Lowered { vals, lent } = match lowered {
        Ok(lowered) => lowered,
        Err(e) => {
            call.refuse(shared, &e);
            return None;
        }
    };
    let func = instance.funcs[call.method() as usize];
    let store = &mut instance.store;
    store.data_mut().current_method = Some(call.method());
    store.data_mut().lag.reset();
    // A fresh time slice for each call: a deadline left from an earlier
    // one would make the call yield at its first check, for nothing.
    store.set_epoch_deadline(1);
    let prepared = Prepared {
        func,
        vals,
        lent,
        result: ResultSlot::for_method(method),
        span: call.span(),
    };
    Some((call, prepared))
}

impl Prepared {
    /// Runs the call on `instance` (borrowed: the actor's task awaits it).
    pub(super) async fn run(&mut self, instance: &mut Instance) -> wasmtime::Result<()> {
        // Pinned where it is made and polled in the span, rather than
        // wrapped in `Instrumented`: the wrapper is one more move of
        // wasmtime's 1.4 KB future per call.
        let mut call = std::pin::pin!(self.func.call_async(
            &mut instance.store,
            &self.vals,
            self.result.slots()
        ));
        let span = &self.span;
        std::future::poll_fn(|cx| span.in_scope(|| call.as_mut().poll(cx))).await
    }

    /// Finishes a call that returned: its ref resolves with what it
    /// returned. When it ended, if the actor is observed.
    pub(super) fn settle(
        self,
        instance: &mut Instance,
        shared: &ActorShared,
        call: Started,
    ) -> Option<Moment> {
        release_lent(&mut instance.store, self.lent);
        call.finish(
            shared,
            Returned::take(&mut instance.store, self.result.take()),
        )
    }
}
