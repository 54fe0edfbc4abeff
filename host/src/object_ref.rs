//! ObjectRefs: results that exist now or later.
//!
//! A call returns an [`ObjectRef`] at once; the actor resolves it when the
//! method finishes. A ref is a cheap, cloneable handle to one shared slot, so
//! the same result can be awaited by many tasks and threads, as in Ray.
//!
//! Two rules make "every ObjectRef resolves" structural rather than a matter
//! of care in each scheduler:
//!
//! - the writing side, [`Promise`], resolves its slot when dropped unresolved
//!   (with [`DeathCause::Shutdown`]), so a call lost in a panic, a shutdown or
//!   a dropped queue still wakes its waiters;
//! - a slot is written once; the first outcome wins.
//!
//! Waiting works both ways Ray offers: `ref.await` (an [`ObjectRef`] is a
//! [`Future`]) and blocking [`ObjectRef::get`] with a timeout, which parks the
//! thread and needs no async runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use wasmtime::component::Val;

use crate::error::{DeathCause, Error, Result};

/// What a call produced: the method's value, or why there is none.
pub type Outcome = Result<Val>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A handle to the result of a call (or of [`put`]), available now or later.
///
/// Await it, or block on it with [`get`](ObjectRef::get). Clones share the
/// result.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let r = wactor::put(wasmtime::component::Val::U64(7));
/// assert!(r.is_ready());
/// let value = r.clone().await.unwrap();
/// assert_eq!(value, wasmtime::component::Val::U64(7));
/// assert_eq!(r.get(None).unwrap(), value);
/// # }
/// ```
#[derive(Clone)]
pub struct ObjectRef {
    slot: Arc<Slot>,
}

struct Slot {
    id: u64,
    state: Mutex<State>,
    resolved: Condvar,
    /// For a call: the id of the actor it is queued on, and whether it has
    /// started there (used to refuse waits that would deadlock).
    call: Option<(u64, AtomicBool)>,
}

enum State {
    Pending(Waiters),
    Ready(Outcome),
}

/// Who waits for a pending slot. Most refs have one awaiting task and no
/// blocked thread, so neither costs an allocation or a syscall per call.
#[derive(Default)]
struct Waiters {
    first: Option<Waker>,
    more: Vec<Waker>,
    /// Threads blocked in [`ObjectRef::get`]; the condvar is notified only
    /// if there are any (a notify is a futex syscall even with no waiter).
    blocked: usize,
}

impl Waiters {
    fn add(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(first) if first.will_wake(waker) => {}
            Some(_) => {
                if !self.more.iter().any(|w| w.will_wake(waker)) {
                    self.more.push(waker.clone());
                }
            }
        }
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state half-written
        // (every write is one assignment), so a poisoned lock is still valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl ObjectRef {
    /// A pending ref and the promise that resolves it, for a call on the
    /// actor `(name, id)` if any (named in the error if the promise is
    /// dropped unresolved).
    pub(crate) fn pending(actor: Option<(Arc<str>, u64)>) -> (ObjectRef, Promise) {
        let (actor, call) = match actor {
            Some((name, id)) => (Some(name), Some((id, AtomicBool::new(false)))),
            None => (None, None),
        };
        let slot = Arc::new(Slot {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            state: Mutex::new(State::Pending(Waiters::default())),
            resolved: Condvar::new(),
            call,
        });
        (
            ObjectRef { slot: slot.clone() },
            Promise {
                slot: Some(slot),
                actor,
            },
        )
    }

    /// A ref that is already resolved with `outcome`.
    pub(crate) fn resolved(outcome: Outcome) -> ObjectRef {
        let (r, promise) = ObjectRef::pending(None);
        promise.resolve(outcome);
        r
    }

    /// A number that identifies this ref's result within the process.
    pub fn id(&self) -> u64 {
        self.slot.id
    }

    /// The id of the actor this ref's call is queued on, while it has not
    /// started.
    pub(crate) fn queued_on(&self) -> Option<u64> {
        match &self.slot.call {
            Some((actor, started)) if !started.load(Ordering::Acquire) && !self.is_ready() => {
                Some(*actor)
            }
            _ => None,
        }
    }

    /// Whether the result is there (a value or an error).
    pub fn is_ready(&self) -> bool {
        matches!(*self.slot.lock(), State::Ready(_))
    }

    /// The result if it is there, without waiting.
    pub fn try_get(&self) -> Option<Outcome> {
        match &*self.slot.lock() {
            State::Ready(outcome) => Some(outcome.clone()),
            State::Pending(_) => None,
        }
    }

    /// Blocks the current thread until the result is there, or until
    /// `timeout` passes (then [`Error::Timeout`]; the call goes on and a later
    /// `get` may succeed). `None` waits as long as it takes. Ray's
    /// `ray.get(ref, timeout=...)`.
    ///
    /// Do not call this from async code: it blocks the thread. Await the ref
    /// instead.
    pub fn get(&self, timeout: Option<Duration>) -> Result<Val> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = self.slot.lock();
        loop {
            let waiters = match &mut *state {
                State::Ready(outcome) => return outcome.clone(),
                State::Pending(waiters) => waiters,
            };
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return Err(Error::Timeout(timeout.unwrap_or_default()));
            }
            waiters.blocked += 1;
            state = match deadline {
                None => self
                    .slot
                    .resolved
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    self.slot
                        .resolved
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
            if let State::Pending(waiters) = &mut *state {
                waiters.blocked -= 1;
            }
        }
    }

    /// Cancels the call behind this ref: the ref (and every clone) resolves
    /// at once to [`Error::Cancelled`]. A call still queued is dropped
    /// without running. A call already running goes on (wasmtime 48 cannot
    /// stop a running component-model task) but its result is discarded.
    /// Has no effect if the result is already there. Ray's `ray.cancel`.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let actor = runtime
    ///     .load(wactor_examples::FAULTY)?
    ///     .spawn(wactor::ActorOptions::new().max_concurrency(1))?;
    /// let running = actor.call("echo", ("first", 200u64))?;
    /// let queued = actor.call("echo", ("second", 0u64))?;
    /// queued.cancel();
    /// assert!(matches!(queued.await, Err(wactor::Error::Cancelled)));
    /// assert_eq!(running.await?, wactor::Val::String("first".into()));
    /// # Ok(()) }
    /// ```
    pub fn cancel(&self) {
        fill(&self.slot, Err(Error::Cancelled));
    }

    /// Resolves the ref with `error` unless it is resolved already.
    pub(crate) fn fail(&self, error: Error) {
        fill(&self.slot, Err(error));
    }

    /// Registers `waker` to be woken when the result arrives; `true` if it is
    /// already there.
    fn register(&self, waker: &Waker) -> bool {
        match &mut *self.slot.lock() {
            State::Ready(_) => true,
            State::Pending(waiters) => {
                waiters.add(waker);
                false
            }
        }
    }
}

impl std::fmt::Debug for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.slot.lock() {
            State::Pending(_) => "pending",
            State::Ready(Ok(_)) => "ready",
            State::Ready(Err(_)) => "failed",
        };
        write!(f, "ObjectRef({}, {state})", self.slot.id)
    }
}

impl Future for ObjectRef {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        match &mut *self.slot.lock() {
            State::Ready(outcome) => Poll::Ready(outcome.clone()),
            State::Pending(waiters) => {
                waiters.add(cx.waker());
                Poll::Pending
            }
        }
    }
}

/// The writing side of an [`ObjectRef`]. Resolves its ref exactly once: by
/// [`resolve`](Promise::resolve), or on drop with a shutdown error.
pub(crate) struct Promise {
    slot: Option<Arc<Slot>>,
    actor: Option<Arc<str>>,
}

impl Promise {
    /// A ref to the slot this promise resolves.
    pub(crate) fn object_ref(&self) -> Option<ObjectRef> {
        self.slot.clone().map(|slot| ObjectRef { slot })
    }

    /// Records that the call has started running.
    pub(crate) fn mark_started(&self) {
        if let Some((_, started)) = self.slot.as_ref().and_then(|s| s.call.as_ref()) {
            started.store(true, Ordering::Release);
        }
    }

    /// Whether the ref was already resolved (cancelled): then the call need
    /// not run.
    pub(crate) fn is_settled(&self) -> bool {
        self.slot
            .as_ref()
            .is_none_or(|s| matches!(*s.lock(), State::Ready(_)))
    }

    /// Stores `outcome` and wakes every waiter. Has no effect if the ref was
    /// already resolved.
    pub(crate) fn resolve(mut self, outcome: Outcome) {
        if let Some(slot) = self.slot.take() {
            fill(&slot, outcome);
        }
    }
}

impl Drop for Promise {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            fill(
                &slot,
                Err(Error::ActorDied {
                    actor: self.actor.as_deref().unwrap_or("(none)").to_string(),
                    cause: DeathCause::Shutdown,
                }),
            );
        }
    }
}

fn fill(slot: &Slot, outcome: Outcome) {
    let waiters = {
        let mut state = slot.lock();
        match &mut *state {
            State::Ready(_) => return,
            State::Pending(waiters) => {
                let waiters = std::mem::take(waiters);
                *state = State::Ready(outcome);
                waiters
            }
        }
    };
    if waiters.blocked > 0 {
        slot.resolved.notify_all();
    }
    if let Some(first) = waiters.first {
        first.wake();
    }
    for waker in waiters.more {
        waker.wake();
    }
}

/// Stores `value` and returns a ref to it, already resolved. Ray's `ray.put`.
///
/// ```
/// use wasmtime::component::Val;
/// let r = wactor::put(Val::String("hello".into()));
/// assert_eq!(r.get(None).unwrap(), Val::String("hello".into()));
/// ```
pub fn put(value: Val) -> ObjectRef {
    ObjectRef::resolved(Ok(value))
}

/// Blocks until every ref is resolved and returns their values in order, or
/// the first error (in list order). `timeout` bounds the whole wait. Ray's
/// `ray.get([refs])`.
///
/// ```
/// use wasmtime::component::Val;
/// let refs = [wactor::put(Val::U32(1)), wactor::put(Val::U32(2))];
/// let values = wactor::get_all(&refs, None).unwrap();
/// assert_eq!(values, [Val::U32(1), Val::U32(2)]);
/// ```
pub fn get_all(refs: &[ObjectRef], timeout: Option<Duration>) -> Result<Vec<Val>> {
    let deadline = timeout.map(|t| Instant::now() + t);
    refs.iter()
        .map(|r| {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            r.get(left).map_err(|e| match e {
                Error::Timeout(_) => Error::Timeout(timeout.unwrap_or_default()),
                e => e,
            })
        })
        .collect()
}

/// Waits until `num_returns` of `refs` are resolved, or `timeout` passes, and
/// returns `(ready, pending)`, each in the order of `refs`. With a timeout,
/// `ready` may hold fewer than `num_returns`. Ray's `ray.wait`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use wasmtime::component::Val;
/// let refs = vec![wactor::put(Val::U32(1)), wactor::put(Val::U32(2))];
/// let (ready, pending) = wactor::wait(refs, 1, Some(Duration::from_secs(1))).await.unwrap();
/// assert_eq!((ready.len(), pending.len()), (2, 0));
/// # }
/// ```
pub async fn wait(
    refs: Vec<ObjectRef>,
    num_returns: usize,
    timeout: Option<Duration>,
) -> Result<(Vec<ObjectRef>, Vec<ObjectRef>)> {
    check_num_returns(refs.len(), num_returns)?;
    let enough = std::future::poll_fn(|cx| {
        let ready = refs.iter().filter(|r| r.register(cx.waker())).count();
        if ready >= num_returns {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    });
    match timeout {
        Some(t) => {
            let _ = tokio::time::timeout(t, enough).await;
        }
        None => enough.await,
    }
    Ok(split_ready(refs))
}

/// [`wait`] for threads that are not async: blocks the current thread.
///
/// ```
/// use wasmtime::component::Val;
/// let refs = vec![wactor::put(Val::U32(1))];
/// let (ready, pending) = wactor::wait_blocking(refs, 1, None).unwrap();
/// assert_eq!((ready.len(), pending.len()), (1, 0));
/// ```
pub fn wait_blocking(
    refs: Vec<ObjectRef>,
    num_returns: usize,
    timeout: Option<Duration>,
) -> Result<(Vec<ObjectRef>, Vec<ObjectRef>)> {
    check_num_returns(refs.len(), num_returns)?;
    let deadline = timeout.map(|t| Instant::now() + t);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    loop {
        let ready = refs.iter().filter(|r| r.register(&waker)).count();
        if ready >= num_returns {
            break;
        }
        match deadline {
            None => thread::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    break;
                }
                thread::park_timeout(d - now);
            }
        }
    }
    Ok(split_ready(refs))
}

fn check_num_returns(len: usize, num_returns: usize) -> Result<()> {
    if num_returns > len {
        return Err(Error::InvalidRequest(format!(
            "num_returns ({num_returns}) is larger than the number of refs ({len})"
        )));
    }
    Ok(())
}

fn split_ready(refs: Vec<ObjectRef>) -> (Vec<ObjectRef>, Vec<ObjectRef>) {
    refs.into_iter().partition(ObjectRef::is_ready)
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_promise_resolves_its_ref_with_shutdown() {
        let (r, promise) = ObjectRef::pending(None);
        drop(promise);
        assert!(matches!(
            r.get(None),
            Err(Error::ActorDied {
                cause: DeathCause::Shutdown,
                ..
            })
        ));
    }

    #[test]
    fn get_times_out_and_a_later_get_still_succeeds() {
        let (r, promise) = ObjectRef::pending(None);
        assert!(matches!(
            r.get(Some(Duration::from_millis(20))),
            Err(Error::Timeout(_))
        ));
        promise.resolve(Ok(Val::Bool(true)));
        assert_eq!(
            r.get(Some(Duration::from_millis(20))).unwrap(),
            Val::Bool(true)
        );
    }

    #[test]
    fn the_first_outcome_wins() {
        let (r, promise) = ObjectRef::pending(None);
        promise.resolve(Ok(Val::U8(1)));
        assert_eq!(r.try_get().unwrap().unwrap(), Val::U8(1));
    }

    #[test]
    fn blocking_wait_wakes_when_another_thread_resolves() {
        let (a, pa) = ObjectRef::pending(None);
        let (b, _pb) = ObjectRef::pending(None);
        let t = thread::spawn(move || {
            thread::sleep(Duration::from_millis(20));
            pa.resolve(Ok(Val::U8(1)));
        });
        let (ready, pending) = wait_blocking(vec![a.clone(), b], 1, None).unwrap();
        t.join().unwrap();
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].id(), a.id());
        assert_eq!(pending.len(), 1);
    }

    #[test]
    fn wait_rejects_more_returns_than_refs() {
        assert!(matches!(
            wait_blocking(vec![put(Val::U8(1))], 2, None),
            Err(Error::InvalidRequest(_))
        ));
    }
}
