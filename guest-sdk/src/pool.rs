//! [`ActorPool`]: work spread over a fixed set of actors, each doing one
//! task at a time (Ray's `ray.util.ActorPool`).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::refs::{Actor, Error, ObjectRef, wait, wait_blocking};

type Task = Box<dyn FnOnce(&Actor) -> Result<ObjectRef, Error>>;

/// A set of actors that tasks are spread over, one task per actor at a
/// time; tasks submitted while every actor is busy wait in the pool, in
/// order, for the next one to come free. Ray's `ray.util.ActorPool`.
///
/// ```ignore
/// let pool = ActorPool::new((0..4).map(|_| Actor::spawn(Options::new())).collect::<Result<_, _>>()?);
/// // Results in the order of the inputs, four at a time.
/// let doubled: Vec<u64> = pool.map(|a, v| a.call("double", (v,)), vec![1, 2, 3, 4, 5]).await?;
/// ```
pub struct ActorPool {
    idle: Vec<Actor>,
    /// Running tasks by submission index: their ref (or why the call could
    /// not be made) and their actor.
    running: HashMap<u64, (Result<ObjectRef, Error>, Actor)>,
    /// Tasks waiting for a free actor, with their submission index.
    pending: VecDeque<(u64, Task)>,
    /// The index the next submitted task gets.
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
    pub fn new(actors: Vec<Actor>) -> Self {
        ActorPool {
            idle: actors,
            running: HashMap::new(),
            pending: VecDeque::new(),
            next_index: 0,
            next_return: 0,
        }
    }

    /// Runs `task` on an idle actor now (`task` makes the call, e.g.
    /// `|a| a.call("double", (v,))`), or as soon as one comes free. Ray's
    /// `pool.submit(fn, value)`.
    pub fn submit(&mut self, task: impl FnOnce(&Actor) -> Result<ObjectRef, Error> + 'static) {
        let index = self.next_index;
        self.next_index += 1;
        self.pending.push_back((index, Box::new(task)));
        self.start_pending();
    }

    /// Whether results remain to be fetched with `get_next`.
    pub fn has_next(&self) -> bool {
        !self.running.is_empty() || !self.pending.is_empty()
    }

    /// Whether an actor is idle (a task submitted now starts at once).
    pub fn has_free(&self) -> bool {
        !self.idle.is_empty() && self.pending.is_empty()
    }

    /// Adds an actor to the pool (it takes a waiting task at once).
    pub fn push(&mut self, actor: Actor) {
        self.idle.push(actor);
        self.start_pending();
    }

    /// Takes an idle actor out of the pool, if there is one.
    pub fn pop_idle(&mut self) -> Option<Actor> {
        if self.pending.is_empty() {
            self.idle.pop()
        } else {
            None
        }
    }

    /// The result of the oldest task not yet returned, waiting for it
    /// without blocking the actor. Ray's `pool.get_next()`.
    pub async fn get_next<T: DeserializeOwned>(&mut self) -> Result<T, Error> {
        let value = match self.next_ref()? {
            Ok(r) => r.get().await,
            Err(e) => Err(e),
        };
        self.returned(self.next_return);
        self.next_return += 1;
        value
    }

    /// [`get_next`](Self::get_next) for sync code, waiting at most
    /// `timeout` ([`Error::Timeout`] leaves the task in the pool).
    pub fn get_next_blocking<T: DeserializeOwned>(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<T, Error> {
        let value = match self.next_ref()? {
            Ok(r) => r.get_blocking(timeout),
            Err(e) => Err(e),
        };
        if matches!(value, Err(Error::Timeout)) {
            return value;
        }
        self.returned(self.next_return);
        self.next_return += 1;
        value
    }

    /// The result of whichever running task finishes first. Ray's
    /// `pool.get_next_unordered()`.
    pub async fn get_next_unordered<T: DeserializeOwned>(&mut self) -> Result<T, Error> {
        let (indices, refs) = self.running_refs()?;
        let ready = wait(&refs, 1, None).await?;
        let i = ready[0];
        let value = refs[i].get().await;
        self.returned(indices[i]);
        value
    }

    /// [`get_next_unordered`](Self::get_next_unordered) for sync code.
    pub fn get_next_unordered_blocking<T: DeserializeOwned>(
        &mut self,
        timeout: Option<Duration>,
    ) -> Result<T, Error> {
        let (indices, refs) = self.running_refs()?;
        let ready = wait_blocking(&refs, 1, timeout)?;
        let Some(&i) = ready.first() else {
            return Err(Error::Timeout);
        };
        let value = refs[i].get_blocking(None);
        self.returned(indices[i]);
        value
    }

    /// Runs `task` for every value, on the pool's actors, and returns the
    /// results in the order of `values`. Ray's `pool.map(fn, values)`.
    pub async fn map<V: 'static, T: DeserializeOwned>(
        &mut self,
        task: impl Fn(&Actor, V) -> Result<ObjectRef, Error> + Clone + 'static,
        values: impl IntoIterator<Item = V>,
    ) -> Result<Vec<T>, Error> {
        self.map_all(task, values, true).await
    }

    /// [`map`](Self::map) with the results in the order they finish. Ray's
    /// `pool.map_unordered(fn, values)`.
    pub async fn map_unordered<V: 'static, T: DeserializeOwned>(
        &mut self,
        task: impl Fn(&Actor, V) -> Result<ObjectRef, Error> + Clone + 'static,
        values: impl IntoIterator<Item = V>,
    ) -> Result<Vec<T>, Error> {
        self.map_all(task, values, false).await
    }

    async fn map_all<V: 'static, T: DeserializeOwned>(
        &mut self,
        task: impl Fn(&Actor, V) -> Result<ObjectRef, Error> + Clone + 'static,
        values: impl IntoIterator<Item = V>,
        ordered: bool,
    ) -> Result<Vec<T>, Error> {
        self.drain()?;
        let n = self.submit_all(task, values);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(if ordered {
                self.get_next().await?
            } else {
                self.get_next_unordered().await?
            });
        }
        Ok(out)
    }

    fn submit_all<V: 'static>(
        &mut self,
        task: impl Fn(&Actor, V) -> Result<ObjectRef, Error> + Clone + 'static,
        values: impl IntoIterator<Item = V>,
    ) -> usize {
        let mut n = 0;
        for value in values {
            let task = task.clone();
            self.submit(move |actor| task(actor, value));
            n += 1;
        }
        n
    }

    /// `map` needs the pool to itself: results of earlier `submit`s would
    /// mix with its own.
    fn drain(&self) -> Result<(), Error> {
        if self.has_next() {
            return Err(Error::Invalid(
                "map on an ActorPool with results not yet fetched: get them first".into(),
            ));
        }
        Ok(())
    }

    /// The ref of the oldest task not yet returned (or why its call could
    /// not be made).
    fn next_ref(&mut self) -> Result<Result<ObjectRef, Error>, Error> {
        self.progress()?;
        // Skip the ones `get_next_unordered` returned already (tasks start
        // in order, so the oldest left is running).
        while !self.running.contains_key(&self.next_return) {
            self.next_return += 1;
        }
        Ok(self.running[&self.next_return].0.clone())
    }

    /// The running tasks' indices and refs, in submission order. A task
    /// whose call failed at once is over: its error comes back first.
    fn running_refs(&mut self) -> Result<(Vec<u64>, Vec<ObjectRef>), Error> {
        self.progress()?;
        let mut indices: Vec<u64> = self.running.keys().copied().collect();
        indices.sort_unstable();
        if let Some(&failed) = indices.iter().find(|i| self.running[i].0.is_err()) {
            let error = self.running[&failed].0.clone().err();
            self.returned(failed);
            return Err(error.expect("a failed task"));
        }
        let refs = indices
            .iter()
            .filter_map(|i| self.running[i].0.as_ref().ok().cloned())
            .collect();
        Ok((indices, refs))
    }

    /// The task `index` returned: its actor takes the next waiting task.
    fn returned(&mut self, index: u64) {
        if let Some((_, actor)) = self.running.remove(&index) {
            self.idle.push(actor);
        }
        self.start_pending();
    }

    /// Starts waiting tasks on idle actors; fails unless a task runs. With
    /// no actor in the pool (none given, or all taken by `pop_idle`), its
    /// waiting tasks could never start: waiting for them would never end.
    fn progress(&mut self) -> Result<(), Error> {
        self.start_pending();
        if !self.running.is_empty() {
            return Ok(());
        }
        Err(Error::Invalid(match self.pending.len() {
            0 => "no task is left in the ActorPool".into(),
            waiting => format!(
                "{waiting} tasks wait in the ActorPool and it has no actor to run them: push one"
            ),
        }))
    }

    /// Starts waiting tasks on idle actors. A task whose call fails at once
    /// keeps its error, so `get_next` still reports it in its turn.
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
