//! The threads actors run on: one thread per core, each with an event loop
//! of its own, or the embedder's tokio runtime.
//!
//! **Thread per core** (the default outside a tokio runtime, and with
//! [`RuntimeBuilder::thread_per_core`](crate::RuntimeBuilder::thread_per_core)):
//! each worker is a thread running a current-thread tokio runtime, and an
//! actor stays on the worker it was placed on for its whole life. Why:
//! on a work-stealing runtime an idle thread takes the task an actor just
//! woke, so an awaited call between two actors bounces between cores, and
//! every wake-up of a parked thread is a system call (an actor-to-actor
//! call took 24 us on 2 cores against 10 us on one). On one worker a call
//! between its actors is a push to a local queue. Calls from other threads
//! reach a worker through its runtime's remote queue, which wakes it.
//!
//! **Placement**, when an actor is spawned: on the worker spawning it if that
//! worker has at most one actor more than the least loaded one, else on the
//! least loaded (ties go round robin). So an actor a guest spawns shares its
//! spawner's core, where their calls are cheapest, until that core holds
//! more than its share; and actors spawned from outside spread over the
//! cores. A threaded actor's replicas go to consecutive workers, as they
//! exist to run in parallel. Work is not moved once placed; a guest that
//! computes without yielding gives its worker back at every time slice
//! ([`RuntimeBuilder::time_slice`](crate::RuntimeBuilder::time_slice)), so
//! actors sharing a worker take turns.
//!
//! **Shared** (inside a tokio runtime, by default): actors are tasks of the
//! embedder's runtime, scheduled as it schedules its own.
//!
//! Every actor holds its runtime's [`Executor`], so a handle alone keeps
//! the threads its actor needs (`let a = Runtime::new()?.load(p)?.spawn(o)?`
//! works), and when the last handle, component and runtime are gone the
//! worker threads stop.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::Handle;
use tokio::task::{JoinHandle, JoinSet};

/// Where actors run.
pub(crate) enum Executor {
    /// A work-stealing tokio runtime: the one the
    /// [`Runtime`](crate::Runtime) was built in, or one of our own.
    Shared(Handle, Option<tokio::runtime::Runtime>),
    /// Worker threads of our own, one event loop each.
    PerCore(Workers),
}

/// The worker threads of one [`Executor::PerCore`].
pub(crate) struct Workers {
    /// Tells this executor's threads from another runtime's.
    id: usize,
    workers: Vec<Worker>,
    /// Where the next tie in placement goes.
    next: AtomicUsize,
}

struct Worker {
    handle: Handle,
    /// Actors (and replicas) placed here and still running.
    live: Arc<AtomicUsize>,
    /// Other tasks placed here ([`Executor::spawn`]) and still running.
    tasks: Arc<AtomicUsize>,
    /// Dropped to stop the thread: its event loop waits on the other end.
    _stop: tokio::sync::oneshot::Sender<()>,
}

thread_local! {
    /// The executor and worker this thread is, if it is one of ours.
    static HERE: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// Which worker of an executor a task runs on (always 0 when shared).
pub(crate) type Home = usize;

impl Executor {
    /// With `per_core` unset: the tokio runtime we are inside, if any, else
    /// `threads` workers of our own, one per core by default. `Some(true)`
    /// asks for our own workers even inside a runtime; `Some(false)` for a
    /// work-stealing runtime (the ambient one, else a new one).
    pub(crate) fn new(per_core: Option<bool>, threads: Option<usize>) -> std::io::Result<Self> {
        let ambient = Handle::try_current().ok();
        match (per_core, ambient) {
            (Some(false) | None, Some(handle)) => Ok(Executor::Shared(handle, None)),
            (Some(false), None) => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.enable_all().thread_name("wactor-worker");
                if let Some(n) = threads {
                    builder.worker_threads(n);
                }
                let rt = builder.build()?;
                Ok(Executor::Shared(rt.handle().clone(), Some(rt)))
            }
            (Some(true), _) | (None, None) => {
                let n = threads.unwrap_or_else(|| {
                    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
                });
                Workers::start(n.max(1)).map(Executor::PerCore)
            }
        }
    }

    /// Where an actor spawned now goes, by the placement rule (module docs).
    pub(crate) fn place(&self) -> Home {
        match self {
            Executor::Shared(..) => 0,
            Executor::PerCore(workers) => workers.choose(),
        }
    }

    /// Whether a call to an actor at `home` may run on this thread (caller-
    /// runs dispatch): thread per core, on its own worker or on a thread of
    /// the embedder's, where the other way is waking the actor's worker.
    /// Not on another worker, where the instance's memory would cross
    /// cores on every call (two callers calling two actors ran a third
    /// slower); never on a shared runtime, where tasks move between
    /// threads anyway and the actor's task is the cheaper place.
    ///
    /// `Some(true)` on the actor's own worker (whose runtime is then the
    /// current one), `Some(false)` on a thread of the embedder's.
    pub(crate) fn may_run_here(&self, home: Home) -> Option<bool> {
        match self {
            Executor::Shared(..) => None,
            Executor::PerCore(workers) => match HERE.get() {
                Some((id, here)) if id == workers.id => (here == home).then_some(true),
                _ => Some(false),
            },
        }
    }

    /// Whether actors run thread per core.
    pub(crate) fn is_per_core(&self) -> bool {
        matches!(self, Executor::PerCore(_))
    }

    /// The runtime of the worker `home`.
    pub(crate) fn handle(&self, home: Home) -> &Handle {
        match self {
            Executor::Shared(handle, _) => handle,
            Executor::PerCore(workers) => &workers.workers[home].handle,
        }
    }

    /// Spawns an actor's task at `home` (from [`Executor::place`]).
    pub(crate) fn spawn_actor<F>(&self, home: Home, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self {
            Executor::Shared(handle, _) => {
                handle.spawn(task);
            }
            Executor::PerCore(workers) => {
                let worker = &workers.workers[home];
                worker.handle.spawn(counted(&worker.live, task));
            }
        }
    }

    /// Spawns replica `index` of an actor at `home` into `set`, on the
    /// worker after the one before it.
    pub(crate) fn spawn_replica<F>(&self, home: Home, index: usize, set: &mut JoinSet<()>, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self {
            Executor::Shared(handle, _) => {
                set.spawn_on(task, handle);
            }
            Executor::PerCore(workers) => {
                let at = (home + index) % workers.workers.len();
                let worker = &workers.workers[at];
                set.spawn_on(counted(&worker.live, task), &worker.handle);
            }
        }
    }

    /// Spawns a task that is not an actor (e.g. an embedder's caller) on
    /// the worker running the fewest such tasks (this one on a tie), so
    /// that callers spread over the cores as actors do.
    pub(crate) fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self {
            Executor::Shared(handle, _) => handle.spawn(task),
            Executor::PerCore(workers) => {
                let worker = &workers.workers[workers.least(|w| &w.tasks, 0)];
                worker.handle.spawn(counted(&worker.tasks, task))
            }
        }
    }
}

impl Workers {
    fn start(n: usize) -> std::io::Result<Workers> {
        let id = next_id();
        let mut workers = Vec::with_capacity(n);
        for index in 0..n {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let handle = rt.handle().clone();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            std::thread::Builder::new()
                .name(format!("wactor-worker-{index}"))
                .spawn(move || {
                    HERE.set(Some((id, index)));
                    // Runs every task placed here until the executor is
                    // dropped. Dropping the runtime then drops the tasks
                    // left, whose promises resolve with a shutdown error.
                    let _ = rt.block_on(stopped);
                    drop(rt);
                })?;
            workers.push(Worker {
                handle,
                live: Arc::default(),
                tasks: Arc::default(),
                _stop: stop,
            });
        }
        Ok(Workers {
            id,
            workers,
            next: AtomicUsize::new(0),
        })
    }

    /// The worker an actor spawned now goes to (the rule of the module docs).
    fn choose(&self) -> Home {
        self.least(|w| &w.live, 1)
    }

    /// This thread's worker if its `count` is at most `slack` above the
    /// lowest, else a worker with the lowest (round robin among them).
    fn least(&self, count: impl Fn(&Worker) -> &AtomicUsize, slack: usize) -> Home {
        let n = self.workers.len();
        if n == 1 {
            return 0;
        }
        let load = |i: usize| count(&self.workers[i]).load(Ordering::Relaxed);
        let min = (0..n).map(load).min().unwrap_or(0);
        if let Some((id, here)) = HERE.get()
            && id == self.id
            && load(here) <= min + slack
        {
            return here;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| load(i) == min)
            .unwrap_or(start)
    }
}

/// `task`, counted in `count` from now until it ends (or is dropped
/// unfinished).
fn counted<F: Future>(
    count: &Arc<AtomicUsize>,
    task: F,
) -> impl Future<Output = F::Output> + use<F> {
    use futures::FutureExt;
    count.fetch_add(1, Ordering::Relaxed);
    let load = Load(count.clone());
    // A combinator, not an `async` block: a block that awaits a future it
    // captured keeps room for it twice (the capture and the awaited copy),
    // which doubled every actor's task (5 KB for a threaded actor).
    task.map(move |out| {
        drop(load);
        out
    })
}

/// Takes a task off its worker's count when dropped.
struct Load(Arc<AtomicUsize>);

impl Drop for Load {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // `shutdown_background` never blocks, so the last actor may drop the
        // executor from one of its own worker threads. (Our per-core workers
        // stop as their `_stop` senders drop.)
        if let Executor::Shared(_, owned) = self
            && let Some(rt) = owned.take()
        {
            rt.shutdown_background();
        }
    }
}

fn next_id() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Executor::Shared(..) => f.write_str("Executor::Shared"),
            Executor::PerCore(w) => write!(f, "Executor::PerCore({} workers)", w.workers.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(executor: &Executor) -> Vec<usize> {
        match executor {
            Executor::PerCore(w) => w
                .workers
                .iter()
                .map(|w| w.live.load(Ordering::Relaxed))
                .collect(),
            Executor::Shared(..) => Vec::new(),
        }
    }

    #[test]
    fn actors_spawned_from_outside_spread_over_the_workers() {
        let executor = Executor::new(Some(true), Some(2)).unwrap();
        let hold = Arc::new(tokio::sync::Notify::new());
        let homes: Vec<_> = (0..4)
            .map(|_| {
                let h = hold.clone();
                let home = executor.place();
                executor.spawn_actor(home, async move { h.notified().await });
                home
            })
            .collect();
        assert_eq!(homes, vec![0, 1, 0, 1]);
        assert_eq!(live(&executor), vec![2, 2]);
    }

    #[test]
    fn a_spawner_keeps_its_children_until_its_worker_holds_more_than_its_share() {
        let executor = Arc::new(Executor::new(Some(true), Some(2)).unwrap());
        let inner = executor.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        // A parked task keeps each actor counted.
        let hold = Arc::new(tokio::sync::Notify::new());
        let h = hold.clone();
        executor.spawn(async move {
            let mut homes = Vec::new();
            for _ in 0..4 {
                let h = h.clone();
                let home = inner.place();
                inner.spawn_actor(home, async move { h.notified().await });
                homes.push(home);
            }
            let here = HERE.get().map(|(_, i)| i);
            tx.send((here, homes)).unwrap();
        });
        let (here, homes) = rx.recv().unwrap();
        let here = here.expect("on a worker");
        let other = 1 - here;
        // Local while at most one ahead of the least loaded.
        assert_eq!(homes, vec![here, here, other, here]);
        assert_eq!(live(&executor), {
            let mut v = vec![0, 0];
            v[here] = 3;
            v[other] = 1;
            v
        });
        hold.notify_waiters();
    }

    #[test]
    fn a_threaded_actors_replicas_go_to_consecutive_workers() {
        let executor = Executor::new(Some(true), Some(2)).unwrap();
        let hold = Arc::new(tokio::sync::Notify::new());
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut set = JoinSet::new();
            for index in 0..4 {
                let h = hold.clone();
                executor.spawn_replica(1, index, &mut set, async move { h.notified().await });
            }
            assert_eq!(live(&executor), vec![2, 2]);
            set.abort_all();
            while set.join_next().await.is_some() {}
        });
        assert_eq!(live(&executor), vec![0, 0]);
    }
}
