//! [`ActorPool`]: tasks spread over a fixed set of actors, one task per
//! actor at a time (Ray's `ray.util.ActorPool`).

use std::collections::{HashMap, VecDeque};

use futures::Stream;
use wasmtime::component::Val;

use crate::actor::ActorHandle;
use crate::error::{Error, Result};
use crate::object_ref::ObjectRef;

type Task = Box<dyn FnOnce(&ActorHandle) -> Result<ObjectRef> + Send>;

/// A set of actors that tasks are spread over, one task per actor at a
/// time. Tasks submitted while every actor is busy wait in the pool, in
/// order, for the next actor to come free, so no actor ever has more than
/// one of the pool's calls queued. Ray's `ray.util.ActorPool`.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
/// use futures::StreamExt;
/// use wactor::{ActorPool, Val};
/// let runtime = wactor::Runtime::new()?;
/// let component = runtime.load(wactor_examples::STREAMER)?;
/// let actors = (0..2).map(|_| component.spawn(Default::default())).collect::<Result<Vec<_>, _>>()?;
/// let mut pool = ActorPool::new(actors);
/// let doubled: Vec<_> = pool
///     .map(|actor, v: u32| actor.call("double", (v, 10u64)), [1, 2, 3])
///     .collect()
///     .await;
/// let doubled: Vec<Val> = doubled.into_iter().collect::<Result<_, _>>()?;
/// assert_eq!(doubled, [2u32, 4, 6].map(Val::U32));
/// # Ok(()) }
/// ```
pub struct ActorPool {
    idle: Vec<ActorHandle>,
    /// Running tasks by submission index: their ref (or why the call could
    /// not be made) and their actor.
    running: HashMap<u64, (Result<ObjectRef>, ActorHandle)>,
    /// Tasks waiting for a free actor, with their submission index.
    pending: VecDeque<(u64, Task)>,
    next_index: u64,
    /// The index whose result `get_next` returns next.
    next_return: u64,
}

impl std::fmt::Debug for ActorPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorPool")
            .field("idle", &self.idle.len())
            .field("running", &self.running.len())
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl ActorPool {
    /// A pool of `actors`.
    pub fn new(actors: impl IntoIterator<Item = ActorHandle>) -> Self {
        ActorPool {
            idle: actors.into_iter().collect(),
            running: HashMap::new(),
            pending: VecDeque::new(),
            next_index: 0,
            next_return: 0,
        }
    }

    /// Runs `task` on an idle actor now (`task` makes the call, e.g.
    /// `|a| a.call("double", (v, 0u64))`), or as soon as an actor comes
    /// free. Ray's `pool.submit(fn, value)`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
    /// use wactor::{ActorPool, Val};
    /// let runtime = wactor::Runtime::new()?;
    /// let component = runtime.load(wactor_examples::STREAMER)?;
    /// let mut pool = ActorPool::new([component.spawn(Default::default())?]);
    /// // One actor: the second task waits in the pool for the first.
    /// pool.submit(|a| a.call("double", (1u32, 0u64)));
    /// pool.submit(|a| a.call("double", (2u32, 0u64)));
    /// assert!(!pool.has_free());
    /// assert_eq!(pool.get_next().await?, Val::U32(2));
    /// assert_eq!(pool.get_next_unordered().await?, Val::U32(4));
    /// assert!(!pool.has_next());
    /// assert!(pool.get_next().await.is_err(), "nothing is left");
    /// # Ok(()) }
    /// ```
    pub fn submit(
        &mut self,
        task: impl FnOnce(&ActorHandle) -> Result<ObjectRef> + Send + 'static,
    ) {
        let index = self.next_index;
        self.next_index += 1;
        self.pending.push_back((index, Box::new(task)));
        self.start_pending();
    }

    /// Whether results remain to be fetched. Ray's `pool.has_next()`.
    pub fn has_next(&self) -> bool {
        !self.running.is_empty() || !self.pending.is_empty()
    }

    /// Whether a task submitted now would start at once. Ray's
    /// `pool.has_free()`.
    pub fn has_free(&self) -> bool {
        !self.idle.is_empty() && self.pending.is_empty()
    }

    /// Adds an actor; it takes a waiting task at once. Ray's `pool.push`.
    pub fn push(&mut self, actor: ActorHandle) {
        self.idle.push(actor);
        self.start_pending();
    }

    /// Takes an idle actor out of the pool. Ray's `pool.pop_idle()`.
    pub fn pop_idle(&mut self) -> Option<ActorHandle> {
        if self.pending.is_empty() {
            self.idle.pop()
        } else {
            None
        }
    }

    /// The result of the oldest task not yet returned. Ray's
    /// `pool.get_next()`.
    ///
    /// # Errors
    ///
    /// The task's own error, or [`Error::InvalidOption`] if no task is left.
    pub async fn get_next(&mut self) -> Result<Val> {
        let index = self.next_unreturned()?;
        let value = match &self.running[&index].0 {
            Ok(r) => r.clone().await,
            Err(e) => Err(e.clone()),
        };
        self.returned(index);
        value
    }

    /// The result of whichever running task finishes first. Ray's
    /// `pool.get_next_unordered()`.
    ///
    /// # Errors
    ///
    /// The task's own error, or [`Error::InvalidOption`] if no task is left.
    pub async fn get_next_unordered(&mut self) -> Result<Val> {
        self.progress()?;
        // A task whose call could not be made is over already.
        if let Some(&index) = self
            .running
            .iter()
            .find(|(_, (r, _))| r.is_err())
            .map(|(i, _)| i)
        {
            let error = self.running[&index].0.clone().err();
            self.returned(index);
            return Err(error.expect("a failed task"));
        }
        let refs: Vec<(u64, ObjectRef)> = self
            .running
            .iter()
            .filter_map(|(i, (r, _))| r.as_ref().ok().map(|r| (*i, r.clone())))
            .collect();
        let (ready, _) =
            crate::wait(refs.iter().map(|(_, r)| r.clone()).collect(), 1, None).await?;
        let first = &ready[0];
        let index = refs
            .iter()
            .find(|(_, r)| r.id() == first.id())
            .map(|(i, _)| *i)
            .expect("a ready ref is one of the pool's");
        let value = first.clone().await;
        self.returned(index);
        value
    }

    /// Runs `task` for every value on the pool's actors and gives the
    /// results in the order of `values`, each as soon as it and those
    /// before it are in. Ray's `pool.map(fn, values)`.
    ///
    /// Results of tasks submitted earlier and not yet fetched come first.
    pub fn map<'a, V: Send + 'static>(
        &'a mut self,
        task: impl Fn(&ActorHandle, V) -> Result<ObjectRef> + Clone + Send + 'static,
        values: impl IntoIterator<Item = V>,
    ) -> impl Stream<Item = Result<Val>> + 'a {
        let n = self.submit_all(task, values);
        self.results(n, true)
    }

    /// [`map`](Self::map) with the results in the order they finish. Ray's
    /// `pool.map_unordered(fn, values)`.
    pub fn map_unordered<'a, V: Send + 'static>(
        &'a mut self,
        task: impl Fn(&ActorHandle, V) -> Result<ObjectRef> + Clone + Send + 'static,
        values: impl IntoIterator<Item = V>,
    ) -> impl Stream<Item = Result<Val>> + 'a {
        let n = self.submit_all(task, values);
        self.results(n, false)
    }

    /// The next `n` results, in submission order or as they finish.
    fn results(&mut self, n: usize, ordered: bool) -> impl Stream<Item = Result<Val>> + '_ {
        futures::stream::unfold((self, n), move |(pool, left)| async move {
            if left == 0 {
                return None;
            }
            let value = if ordered {
                pool.get_next().await
            } else {
                pool.get_next_unordered().await
            };
            Some((value, (pool, left - 1)))
        })
    }

    fn submit_all<V: Send + 'static>(
        &mut self,
        task: impl Fn(&ActorHandle, V) -> Result<ObjectRef> + Clone + Send + 'static,
        values: impl IntoIterator<Item = V>,
    ) -> usize {
        for value in values {
            let task = task.clone();
            self.submit(move |actor| task(actor, value));
        }
        // Every result not yet fetched, earlier submits' included.
        self.running.len() + self.pending.len()
    }

    /// The index of the oldest task not yet returned.
    fn next_unreturned(&mut self) -> Result<u64> {
        self.progress()?;
        // Skip the ones `get_next_unordered` returned already (tasks start
        // in order, so the oldest left is running).
        while !self.running.contains_key(&self.next_return) {
            self.next_return += 1;
        }
        let index = self.next_return;
        self.next_return += 1;
        Ok(index)
    }

    /// Task `index` returned: its actor takes the next waiting task.
    fn returned(&mut self, index: u64) {
        if let Some((_, actor)) = self.running.remove(&index) {
            self.idle.push(actor);
        }
        self.start_pending();
    }

    /// Starts waiting tasks on idle actors; fails unless a task runs. With
    /// no actor in the pool (none given, or all taken by `pop_idle`), its
    /// waiting tasks could never start: waiting for them would never end.
    fn progress(&mut self) -> Result<()> {
        self.start_pending();
        if !self.running.is_empty() {
            return Ok(());
        }
        Err(match self.pending.len() {
            0 => nothing_left(),
            waiting => Error::InvalidOption {
                option: "ActorPool",
                reason: format!(
                    "{waiting} tasks wait in the pool and it has no actor to run them: push one"
                ),
            },
        })
    }

    /// Starts waiting tasks on idle actors.
    fn start_pending(&mut self) {
        while !self.idle.is_empty() {
            let Some((index, task)) = self.pending.pop_front() else {
                return;
            };
            let actor = self.idle.pop().expect("an idle actor");
            let r = task(&actor);
            self.running.insert(index, (r, actor));
        }
    }
}

fn nothing_left() -> Error {
    Error::InvalidOption {
        option: "ActorPool",
        reason: "no task is left in the pool to get a result of".into(),
    }
}
