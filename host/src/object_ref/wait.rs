//! `wait`: Ray's `ray.wait`, async and blocking.
//!
//! Ray returns exactly `num_returns` refs in `ready` (fewer only on a
//! timeout), the first ready ones in the order of the input; every other
//! ref, ready or not, stays in the pending list. Waiters register on every
//! ref and take their registrations back when they return or are dropped.

use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use super::ObjectRef;
use crate::error::{Error, Result};

/// Waits until `num_returns` of `refs` are resolved, or `timeout` passes, and
/// returns `(ready, pending)`: `ready` holds the first `num_returns` resolved
/// refs (fewer if the timeout passed), `pending` every other ref, both in the
/// order of `refs`. Ray's `ray.wait`.
///
/// # Errors
///
/// [`Error::InvalidWait`] if `num_returns` is larger than the number of refs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::time::Duration;
/// use wasmtime::component::Val;
/// let refs = vec![wactor::put(Val::U32(1)), wactor::put(Val::U32(2))];
/// let (ready, pending) = wactor::wait(refs, 1, Some(Duration::from_secs(1))).await.unwrap();
/// assert_eq!((ready.len(), pending.len()), (1, 1));
/// # }
/// ```
pub async fn wait(
    refs: Vec<ObjectRef>,
    num_returns: usize,
    timeout: Option<Duration>,
) -> Result<(Vec<ObjectRef>, Vec<ObjectRef>)> {
    check_num_returns(refs.len(), num_returns)?;
    {
        let mut registered = Registrations::new(&refs);
        let enough = std::future::poll_fn(|cx| {
            if registered.ready(cx.waker()) >= num_returns {
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
        // `registered` is dropped here, and on every other way out (the
        // future dropped mid-wait): its wakers leave the refs' slots.
    }
    Ok(split(refs, num_returns))
}

/// [`wait`] for threads that are not async: blocks the current thread.
///
/// # Errors
///
/// [`Error::InvalidWait`] if `num_returns` is larger than the number of refs.
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
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    {
        let mut registered = Registrations::new(&refs);
        while registered.ready(&waker) < num_returns {
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
    }
    Ok(split(refs, num_returns))
}

/// The indices of the refs [`wait`] would return as ready: the first
/// `num_returns` resolved ones, in order.
pub(crate) fn ready_indices(refs: &[ObjectRef], num_returns: usize) -> Vec<usize> {
    refs.iter()
        .enumerate()
        .filter(|(_, r)| r.is_ready())
        .map(|(i, _)| i)
        .take(num_returns)
        .collect()
}

fn check_num_returns(len: usize, num_returns: usize) -> Result<()> {
    if num_returns > len {
        return Err(Error::InvalidWait {
            num_returns,
            refs: len,
        });
    }
    Ok(())
}

fn split(refs: Vec<ObjectRef>, num_returns: usize) -> (Vec<ObjectRef>, Vec<ObjectRef>) {
    let mut ready = Vec::with_capacity(num_returns);
    let mut pending = Vec::with_capacity(refs.len());
    for r in refs {
        if ready.len() < num_returns && r.is_ready() {
            ready.push(r);
        } else {
            pending.push(r);
        }
    }
    (ready, pending)
}

/// One waiter's registrations on a list of refs, taken back on drop.
struct Registrations<'a> {
    refs: &'a [ObjectRef],
    keys: Vec<Option<u64>>,
}

impl<'a> Registrations<'a> {
    fn new(refs: &'a [ObjectRef]) -> Self {
        Registrations {
            refs,
            keys: vec![None; refs.len()],
        }
    }

    /// How many refs are resolved; registers `waker` on the others.
    fn ready(&mut self, waker: &Waker) -> usize {
        self.refs
            .iter()
            .zip(&mut self.keys)
            .map(|(r, key)| r.poll_ready(key, waker))
            .filter(|&ready| ready)
            .count()
    }
}

impl Drop for Registrations<'_> {
    fn drop(&mut self) {
        for (r, key) in self.refs.iter().zip(&self.keys) {
            if let Some(key) = key {
                r.forget(*key);
            }
        }
    }
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
    use wasmtime::component::Val;

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
            wait_blocking(vec![super::super::put(Val::U8(1))], 2, None),
            Err(Error::InvalidWait {
                num_returns: 2,
                refs: 1
            })
        ));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn wait_returns_exactly_num_returns_ready_refs_in_input_order() {
        let put = super::super::put;
        let (pending_ref, _promise) = ObjectRef::pending(None);
        let refs = vec![
            pending_ref.clone(),
            put(Val::U8(1)),
            put(Val::U8(2)),
            put(Val::U8(3)),
        ];
        let ids: Vec<u64> = refs.iter().map(ObjectRef::id).collect();
        let (ready, pending) = wait(refs, 2, None).await.unwrap();
        assert_eq!(
            ready.iter().map(ObjectRef::id).collect::<Vec<_>>(),
            [ids[1], ids[2]]
        );
        assert_eq!(
            pending.iter().map(ObjectRef::id).collect::<Vec<_>>(),
            [ids[0], ids[3]]
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn timed_out_waits_leave_no_waker_behind() {
        let (r, _promise) = ObjectRef::pending(None);
        for _ in 0..20_000 {
            let (ready, _) = wait(vec![r.clone()], 1, Some(Duration::ZERO))
                .await
                .unwrap();
            assert!(ready.is_empty());
        }
        assert_eq!(r.waiters(), 0);
        for _ in 0..100 {
            let (ready, _) = wait_blocking(vec![r.clone()], 1, Some(Duration::ZERO)).unwrap();
            assert!(ready.is_empty());
        }
        assert_eq!(r.waiters(), 0);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_wait_dropped_midway_takes_its_wakers_back() {
        let (r, _promise) = ObjectRef::pending(None);
        let waiting = wait(vec![r.clone()], 1, None);
        let _ = tokio::time::timeout(Duration::from_millis(5), waiting).await;
        assert_eq!(r.waiters(), 0);
        // No duration is too long for a wait either.
        let ready = super::super::put(Val::U8(1));
        let (done, _) = wait(vec![ready], 1, Some(Duration::MAX)).await.unwrap();
        assert_eq!(done.len(), 1);
    }
}
