//! ObjectRefs: results that exist now or later.
//!
//! A call returns an [`ObjectRef`] at once; the actor resolves it when the
//! method finishes. A ref is a cheap, cloneable handle to one shared slot
//! ([`slot::Slot`]), so the same result can be awaited by many tasks and
//! threads, as in Ray.
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
//! thread and needs no async runtime. A waiter that gives up (a dropped
//! future, a timed-out wait) takes its waker back out of the slot.
//!
//! This layer knows values and errors, nothing of actors but their id.

mod quota;
mod slot;
mod stream;
mod wait;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::Val;

use crate::error::{DeathCause, Error, Result};
use crate::ids::ActorId;

pub(crate) use quota::{ByteQuota, Charge};
pub use stream::{ItemStream, STREAM_BUFFER};
pub(crate) use wait::ready_indices;
pub use wait::{wait, wait_blocking};

/// An `object-ref` handle's entry in a store's resource table: what a
/// guest holds when it holds a ref. Its resource type,
/// `ResourceType::host::<ObjectRefResource>()`, is how a parameter of type
/// `object-ref` is told from one of another resource type.
#[allow(unreachable_pub)] // `pub` for `bindgen!`, which re-exports it; not public outside
pub struct ObjectRefResource(pub(crate) ObjectRef);

/// What a call produced: the method's value, or why there is none.
pub type Outcome = Result<Val>;

/// What a ref's slot holds: an outcome, or a guest's `put` kept as the JSON
/// text it came as. A JSON tree of small values takes ~20 times the bytes
/// of its text, so a put is decoded only if the host itself reads it; a
/// guest reading it gets the text back, and nothing is decoded at all.
#[derive(Clone)]
pub(crate) enum Stored {
    Outcome(Outcome),
    Json(Arc<PutJson>),
    /// A call's value, charged to the program of the guest that made the
    /// call for as long as the ref holds it.
    Held(Arc<(Val, Charge)>),
}

/// A guest's `put` value, with the bytes it is charged to its program.
pub(crate) struct PutJson {
    text: Box<str>,
    _charge: Option<Charge>,
}

impl Stored {
    /// The outcome, decoding a put's JSON (without a signature, so as
    /// `docs/values.md` says untyped JSON reads).
    pub(crate) fn outcome(self) -> Outcome {
        match self {
            Stored::Outcome(outcome) => outcome,
            Stored::Held(held) => Ok(held.0.clone()),
            Stored::Json(put) => match serde_json::from_str::<serde_json::Value>(&put.text) {
                Ok(json) => Ok(crate::value::json::untyped(&json)),
                Err(e) => Err(Error::InvalidValue {
                    reason: format!(
                        "put was given invalid JSON: {}",
                        crate::value::abbreviate(&put.text, 200)
                    ),
                    source: Some(Arc::new(e)),
                }),
            },
        }
    }

    /// The value as JSON text, as a guest receives it.
    pub(crate) fn json(&self) -> Result<String> {
        match self {
            Stored::Outcome(Ok(value)) => Ok(crate::value::json::to_json(value).to_string()),
            Stored::Held(held) => Ok(crate::value::json::to_json(&held.0).to_string()),
            Stored::Outcome(Err(e)) => Err(e.clone()),
            Stored::Json(put) => Ok(put.text.to_string()),
        }
    }
}

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
pub struct ObjectRef {
    inner: Arc<RefInner>,
    /// This handle's waker registration, while it is being awaited.
    wait_key: Option<u64>,
}

struct RefInner {
    id: u64,
    slot: slot::Slot<Stored>,
    /// For a call: the actor it is queued on, and how far it got there
    /// (used to find waits that would deadlock).
    call: Option<CallMark>,
}

struct CallMark {
    actor: ActorId,
    /// The concurrency group of the call's method on that actor.
    group: u16,
    /// `QUEUED`, `STARTED` or `HANDED_OFF`.
    state: AtomicU8,
}

/// The call has not started.
const QUEUED: u8 = 0;
/// The call is running (or was, and went back to the queue for a retry).
const STARTED: u8 = 1;
/// The call returned another ref: its result no longer depends on its actor.
const HANDED_OFF: u8 = 2;

impl Clone for ObjectRef {
    fn clone(&self) -> Self {
        ObjectRef {
            inner: self.inner.clone(),
            wait_key: None,
        }
    }
}

impl Drop for ObjectRef {
    fn drop(&mut self) {
        // A future dropped while pending (a timeout, a `select!`) takes its
        // waker out of the slot, or a long-pending ref would collect them.
        if let Some(key) = self.wait_key.take() {
            self.inner.slot.forget(key);
        }
    }
}

impl ObjectRef {
    /// A pending ref and the promise that resolves it, for a call on the
    /// actor `(id, name)` in its concurrency group `group`, if any (named in
    /// the error if the promise is dropped unresolved).
    pub(crate) fn pending(actor: Option<(ActorId, Arc<str>, usize)>) -> (ObjectRef, Promise) {
        let (name, call) = match actor {
            Some((id, name, group)) => (
                Some(name),
                Some(CallMark {
                    actor: id,
                    group: u16::try_from(group).unwrap_or(u16::MAX),
                    state: AtomicU8::new(QUEUED),
                }),
            ),
            None => (None, None),
        };
        let inner = Arc::new(RefInner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            slot: slot::Slot::new(),
            call,
        });
        (
            ObjectRef {
                inner: inner.clone(),
                wait_key: None,
            },
            Promise {
                inner: Some(inner),
                actor: name,
                quota: None,
            },
        )
    }

    /// A ref that is already resolved with `outcome`.
    pub(crate) fn resolved(outcome: Outcome) -> ObjectRef {
        ObjectRef {
            inner: Arc::new(RefInner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                slot: slot::Slot::ready(Stored::Outcome(outcome)),
                call: None,
            }),
            wait_key: None,
        }
    }

    /// A guest's `put`: `text` kept as it is, `charge` held until the last
    /// handle goes.
    pub(crate) fn put_json(text: String, charge: Option<Charge>) -> ObjectRef {
        ObjectRef {
            inner: Arc::new(RefInner {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                slot: slot::Slot::ready(Stored::Json(Arc::new(PutJson {
                    text: text.into_boxed_str(),
                    _charge: charge,
                }))),
                call: None,
            }),
            wait_key: None,
        }
    }

    /// Waits for what the slot holds, without decoding a put.
    pub(crate) fn stored(mut self) -> impl Future<Output = Stored> + Send {
        std::future::poll_fn(move |cx| {
            let this = &mut self;
            this.inner.slot.poll(&mut this.wait_key, cx.waker())
        })
    }

    /// A number that identifies this ref's result within the process.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The actor this ref's call is queued on, and the call's concurrency
    /// group there, while it has not started.
    pub(crate) fn queued_on(&self) -> Option<(ActorId, usize)> {
        match &self.inner.call {
            Some(mark) if mark.state.load(Ordering::Acquire) == QUEUED && !self.is_ready() => {
                Some((mark.actor, mark.group as usize))
            }
            _ => None,
        }
    }

    /// The actor whose progress this ref waits for, whether its call has
    /// started there, and its concurrency group: the one its call is queued
    /// or running on, until it resolves or the call hands its result off to
    /// another ref.
    pub(crate) fn computed_by(&self) -> Option<(ActorId, bool, usize)> {
        let mark = self.inner.call.as_ref()?;
        match mark.state.load(Ordering::Acquire) {
            HANDED_OFF => None,
            _ if self.is_ready() => None,
            state => Some((mark.actor, state == STARTED, mark.group as usize)),
        }
    }

    /// Whether the result is there (a value or an error).
    pub fn is_ready(&self) -> bool {
        self.inner.slot.is_ready()
    }

    /// The result if it is there, without waiting.
    pub fn try_get(&self) -> Option<Outcome> {
        self.inner.slot.try_get().map(Stored::outcome)
    }

    /// Blocks the current thread until the result is there, or until
    /// `timeout` passes. `None` waits as long as it takes, and so does a
    /// timeout too long to represent (e.g. [`Duration::MAX`]). Ray's
    /// `ray.get(ref, timeout=...)`.
    ///
    /// Do not call this from async code: it blocks the thread. Await the ref
    /// instead.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] if `timeout` passes first (the call goes on and a
    /// later `get` may succeed); otherwise the call's own error, if it failed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let r = wactor::put(wactor::Val::Bool(true));
    /// assert_eq!(r.get(Some(Duration::MAX)).unwrap(), wactor::Val::Bool(true));
    /// ```
    pub fn get(&self, timeout: Option<Duration>) -> Result<Val> {
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        match self.inner.slot.wait_until(deadline) {
            Some(stored) => stored.outcome(),
            None => Err(Error::Timeout(timeout.unwrap_or_default())),
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
        self.inner.slot.fill(Stored::Outcome(Err(Error::Cancelled)));
    }

    /// Runs `then` with what the slot holds once it is there (at once if
    /// it is): how the cluster forwards a cancel, or answers a peer's fetch.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))] // the cluster's
    pub(crate) fn on_resolved(&self, then: impl FnOnce(&Stored) + Send + 'static) {
        self.inner.slot.then(then);
    }

    /// Resolves the ref with `error` unless it is resolved already.
    pub(crate) fn fail(&self, error: Error) {
        self.inner.slot.fill(Stored::Outcome(Err(error)));
    }

    /// Whether the result is there; if not, registers `waker` under `key`.
    fn poll_ready(&self, key: &mut Option<u64>, waker: &std::task::Waker) -> bool {
        self.inner.slot.poll_ready(key, waker)
    }

    /// Takes back a registration made by [`poll_ready`](Self::poll_ready).
    fn forget(&self, key: u64) {
        self.inner.slot.forget(key);
    }

    /// How many wakers wait on this ref's slot.
    #[cfg(test)]
    fn waiters(&self) -> usize {
        self.inner.slot.waiters()
    }
}

impl std::fmt::Debug for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.inner.slot.try_get() {
            None => "pending",
            Some(Stored::Outcome(Err(_))) => "failed",
            Some(_) => "ready",
        };
        write!(f, "ObjectRef({}, {state})", self.inner.id)
    }
}

impl Future for ObjectRef {
    type Output = Outcome;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let this = self.get_mut();
        this.inner
            .slot
            .poll(&mut this.wait_key, cx.waker())
            .map(Stored::outcome)
    }
}

/// The writing side of an [`ObjectRef`]. Resolves its ref exactly once: by
/// [`resolve`](Promise::resolve), or on drop with a shutdown error.
pub(crate) struct Promise {
    inner: Option<Arc<RefInner>>,
    actor: Option<Arc<str>>,
    /// The allowance the call's value is charged to while the ref holds it
    /// (the calling guest's program), if any.
    quota: Option<Arc<ByteQuota>>,
}

impl Promise {
    /// A ref to the slot this promise resolves.
    pub(crate) fn object_ref(&self) -> Option<ObjectRef> {
        self.inner.clone().map(|inner| ObjectRef {
            inner,
            wait_key: None,
        })
    }

    /// Records that the call has started running.
    pub(crate) fn mark_started(&self) {
        self.mark(STARTED);
    }

    fn mark(&self, state: u8) {
        if let Some(mark) = self.inner.as_ref().and_then(|i| i.call.as_ref()) {
            mark.state.store(state, Ordering::Release);
        }
    }

    /// Whether the ref was already resolved (cancelled): then the call need
    /// not run.
    pub(crate) fn is_settled(&self) -> bool {
        self.inner.as_ref().is_none_or(|i| i.slot.is_ready())
    }

    /// Stores `outcome` and wakes every waiter. Has no effect if the ref was
    /// already resolved.
    pub(crate) fn resolve(mut self, outcome: Outcome) {
        let stored = match (self.quota.take(), outcome) {
            (Some(quota), Ok(value)) => match quota.charge(crate::value::footprint(&value)) {
                Ok(charge) => Stored::Held(Arc::new((value, charge))),
                Err(refused) => Stored::Outcome(Err(refused)),
            },
            (_, outcome) => Stored::Outcome(outcome),
        };
        self.resolve_stored(stored);
    }

    /// Resolves with a value kept as the JSON text it came as (a value a
    /// peer sent for a ref passed from there), as a guest's `put` is.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))] // the cluster's
    pub(crate) fn resolve_json(self, text: String) {
        self.resolve_stored(Stored::Json(Arc::new(PutJson {
            text: text.into_boxed_str(),
            _charge: None,
        })));
    }

    /// Charges the value the call resolves with to `quota`, for as long as
    /// the ref holds it; a value that does not fit resolves the ref with
    /// [`Error::QuotaExceeded`] instead.
    pub(crate) fn charge_value_to(&mut self, quota: Arc<ByteQuota>) {
        self.quota = Some(quota);
    }

    fn resolve_stored(mut self, stored: Stored) {
        if let Some(inner) = self.inner.take() {
            inner.slot.fill(stored);
        }
    }

    /// Resolves this promise with `source`'s outcome once it is there (a
    /// method that returned a ref resolves its caller's ref to that ref's
    /// value). No task waits for it: the source's slot holds the promise.
    pub(crate) fn forward(self, source: &ObjectRef) {
        self.mark(HANDED_OFF);
        source
            .inner
            .slot
            .then(move |stored| self.resolve_stored(stored.clone()));
    }
}

impl Drop for Promise {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.slot.fill(Stored::Outcome(Err(Error::ActorDied {
                actor: self.actor.as_deref().unwrap_or("(none)").to_string(),
                cause: DeathCause::Shutdown,
            })));
        }
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
/// # Errors
///
/// [`Error::Timeout`] if `timeout` passes before every ref is resolved;
/// otherwise the first failed call's error, in list order.
///
/// ```
/// use wasmtime::component::Val;
/// let refs = [wactor::put(Val::U32(1)), wactor::put(Val::U32(2))];
/// let values = wactor::get_all(&refs, None).unwrap();
/// assert_eq!(values, [Val::U32(1), Val::U32(2)]);
/// ```
pub fn get_all(refs: &[ObjectRef], timeout: Option<Duration>) -> Result<Vec<Val>> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

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
    fn no_duration_panics_a_get() {
        let ready = put(Val::U8(1));
        assert_eq!(ready.get(Some(Duration::MAX)).unwrap(), Val::U8(1));
        assert_eq!(get_all(&[ready], Some(Duration::MAX)).unwrap().len(), 1);
        let (pending, promise) = ObjectRef::pending(None);
        let t = thread::spawn(move || pending.get(Some(Duration::MAX)));
        thread::sleep(Duration::from_millis(20));
        promise.resolve(Ok(Val::U8(2)));
        assert_eq!(t.join().unwrap().unwrap(), Val::U8(2));
    }

    #[test]
    fn the_first_outcome_wins() {
        let (r, promise) = ObjectRef::pending(None);
        r.cancel();
        promise.resolve(Ok(Val::U8(1)));
        assert!(matches!(r.try_get(), Some(Err(Error::Cancelled))));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_awaiting_future_dropped_at_a_timeout_leaves_no_waker() {
        let (r, _promise) = ObjectRef::pending(None);
        for _ in 0..1000 {
            let waiting = r.clone();
            let timed_out = tokio::time::timeout(Duration::from_micros(1), waiting).await;
            assert!(timed_out.is_err());
        }
        assert_eq!(r.waiters(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_forwarded_promise_resolves_with_its_source_and_spawns_nothing() {
        let (source, source_promise) = ObjectRef::pending(None);
        let (caller, promise) = ObjectRef::pending(None);
        promise.forward(&source);
        assert!(!caller.is_ready());
        source_promise.resolve(Ok(Val::U32(9)));
        // Resolved in the source's fill, on this thread: no task ran.
        assert_eq!(caller.try_get().unwrap().unwrap(), Val::U32(9));
        let (late, late_promise) = ObjectRef::pending(None);
        late_promise.forward(&source);
        assert_eq!(late.await.unwrap(), Val::U32(9));
    }
}
