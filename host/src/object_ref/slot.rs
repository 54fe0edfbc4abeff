//! A value that arrives once, and whoever waits for it.
//!
//! The one synchronisation primitive behind ObjectRefs. It knows nothing of
//! the rest of the crate (it is generic over the value), so `host/loom`
//! model-checks this very file with loom: a fill racing a blocked `get`, an
//! awaiting poll, and a waiter that gives up.
//!
//! Rules:
//!
//! - the first fill wins; later ones are ignored;
//! - every waiter registered before the fill is woken by it, exactly once:
//!   the fill takes the waiter list under the lock, so no waiter can
//!   register "between" the check and the sleep;
//! - a waiter that stops waiting (a dropped future, a timed-out `wait`)
//!   removes itself by its key, so waiting never leaks memory into a slot
//!   that stays pending for long.

use std::task::{Poll, Waker};
use std::time::Instant;

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(loom)]
use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex, MutexGuard};

/// A value that is filled once and read by any number of waiters, async or
/// blocked.
pub(crate) struct Slot<T> {
    state: Mutex<State<T>>,
    /// Whether `state` is `Ready`, set under its lock by the fill: a look
    /// that needs no lock (every call asks whether it was cancelled before
    /// it runs).
    ready: AtomicBool,
    /// Notified on fill, only if a thread is blocked on it (a notify is a
    /// futex syscall even with nobody waiting).
    filled: Condvar,
}

enum State<T> {
    Pending(Waiters<T>),
    Ready(T),
}

/// What runs when a slot is filled, with the value (e.g. resolving another
/// slot that forwards this one).
type Then<T> = Box<dyn FnOnce(&T) + Send>;

/// Who waits for a pending slot. Most slots have one awaiting task and no
/// blocked thread: neither costs an allocation.
struct Waiters<T> {
    next_key: u64,
    first: Option<(u64, Waker)>,
    more: Vec<(u64, Waker)>,
    blocked: usize,
    then: Vec<Then<T>>,
}

impl<T> Waiters<T> {
    fn new() -> Self {
        Waiters {
            next_key: 0,
            first: None,
            more: Vec::new(),
            blocked: 0,
            then: Vec::new(),
        }
    }

    fn find(&mut self, key: u64) -> Option<&mut Waker> {
        match &mut self.first {
            Some((k, waker)) if *k == key => Some(waker),
            _ => self
                .more
                .iter_mut()
                .find(|(k, _)| *k == key)
                .map(|(_, w)| w),
        }
    }

    /// Registers `waker` under `key`, or under a new key stored there.
    fn register(&mut self, key: &mut Option<u64>, waker: &Waker) {
        if let Some(k) = *key
            && let Some(registered) = self.find(k)
        {
            if !registered.will_wake(waker) {
                registered.clone_from(waker);
            }
            return;
        }
        let k = self.next_key;
        self.next_key += 1;
        if self.first.is_none() {
            self.first = Some((k, waker.clone()));
        } else {
            self.more.push((k, waker.clone()));
        }
        *key = Some(k);
    }

    fn remove(&mut self, key: u64) {
        if self.first.as_ref().is_some_and(|(k, _)| *k == key) {
            self.first = self.more.pop();
        } else if let Some(i) = self.more.iter().position(|(k, _)| *k == key) {
            self.more.swap_remove(i);
        }
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }
}

impl<T: Clone> Slot<T> {
    /// An empty slot.
    pub(crate) fn new() -> Self {
        Slot {
            state: Mutex::new(State::Pending(Waiters::new())),
            ready: AtomicBool::new(false),
            filled: Condvar::new(),
        }
    }

    /// A slot filled with `value` from the start.
    pub(crate) fn ready(value: T) -> Self {
        Slot {
            state: Mutex::new(State::Ready(value)),
            ready: AtomicBool::new(true),
            filled: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock cannot leave the state half-written
        // (every write is one assignment or one push), so a poisoned lock is
        // still valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the value is there.
    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The value, if it is there.
    pub(crate) fn try_get(&self) -> Option<T> {
        match &*self.lock() {
            State::Ready(value) => Some(value.clone()),
            State::Pending(_) => None,
        }
    }

    /// Stores `value` and wakes every waiter; `false` (and nothing changes)
    /// if the slot was filled already.
    pub(crate) fn fill(&self, value: T) -> bool {
        let (waiters, value) = {
            let mut state = self.lock();
            let State::Pending(waiters) = &mut *state else {
                return false;
            };
            let waiters = std::mem::replace(waiters, Waiters::new());
            // A copy only for the `then`s to see (most slots have none).
            let value = if waiters.then.is_empty() {
                *state = State::Ready(value);
                None
            } else {
                *state = State::Ready(value.clone());
                Some(value)
            };
            self.ready.store(true, Ordering::Release);
            (waiters, value)
        };
        if waiters.blocked > 0 {
            self.filled.notify_all();
        }
        if let Some((_, waker)) = waiters.first {
            waker.wake();
        }
        for (_, waker) in waiters.more {
            waker.wake();
        }
        if let Some(value) = value {
            for then in waiters.then {
                then(&value);
            }
        }
        true
    }

    /// Blocks the thread until the value is there (`Some`) or `deadline`
    /// passes (`None`). No deadline waits as long as it takes.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> Option<T> {
        let mut state = self.lock();
        loop {
            let waiters = match &mut *state {
                State::Ready(value) => return Some(value.clone()),
                State::Pending(waiters) => waiters,
            };
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                return None;
            }
            waiters.blocked += 1;
            state = match deadline {
                None => self.filled.wait(state).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    self.filled
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

    /// Whether the value is there; if not, registers `waker` (under `key`,
    /// which a first call fills in) to be woken when it is. A waiter that
    /// gives up must [`forget`](Slot::forget) its key.
    pub(crate) fn poll_ready(&self, key: &mut Option<u64>, waker: &Waker) -> bool {
        match &mut *self.lock() {
            State::Ready(_) => {
                *key = None;
                true
            }
            State::Pending(waiters) => {
                waiters.register(key, waker);
                false
            }
        }
    }

    /// The value if it is there; else registers `waker` as
    /// [`poll_ready`](Slot::poll_ready) does.
    pub(crate) fn poll(&self, key: &mut Option<u64>, waker: &Waker) -> Poll<T> {
        match &mut *self.lock() {
            State::Ready(value) => {
                *key = None;
                Poll::Ready(value.clone())
            }
            State::Pending(waiters) => {
                waiters.register(key, waker);
                Poll::Pending
            }
        }
    }

    /// Removes the waiter registered under `key`, if the slot is still
    /// pending (a fill removes every waiter itself).
    pub(crate) fn forget(&self, key: u64) {
        if let State::Pending(waiters) = &mut *self.lock() {
            waiters.remove(key);
        }
    }

    /// Runs `then` with the value once it is there: now, if it is.
    pub(crate) fn then(&self, then: impl FnOnce(&T) + Send + 'static) {
        let value = {
            let mut state = self.lock();
            match &mut *state {
                State::Pending(waiters) => {
                    waiters.then.push(Box::new(then));
                    return;
                }
                State::Ready(value) => value.clone(),
            }
        };
        then(&value);
    }

    /// How many wakers wait on the slot (0 once it is filled).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn waiters(&self) -> usize {
        match &*self.lock() {
            State::Pending(waiters) => waiters.len(),
            State::Ready(_) => 0,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;
    use std::time::Duration;

    struct Count(std::sync::atomic::AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(0.into()));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn the_first_fill_wins() {
        let slot = Slot::new();
        assert!(slot.fill(1));
        assert!(!slot.fill(2));
        assert_eq!(slot.try_get(), Some(1));
    }

    #[test]
    fn a_registered_waker_is_woken_once_by_the_fill() {
        let slot = Slot::new();
        let (count, waker) = counting_waker();
        let mut key = None;
        assert!(!slot.poll_ready(&mut key, &waker));
        // Polling again with the same waker does not register it twice.
        assert!(!slot.poll_ready(&mut key, &waker));
        assert_eq!(slot.waiters(), 1);
        slot.fill(7);
        assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(slot.poll(&mut key, &waker), Poll::Ready(7));
        assert_eq!(key, None);
    }

    #[test]
    fn a_waiter_that_gives_up_leaves_nothing_behind() {
        let slot: Slot<u8> = Slot::new();
        let (_count, waker) = counting_waker();
        for _ in 0..20_000 {
            let mut key = None;
            assert!(!slot.poll_ready(&mut key, &waker));
            slot.forget(key.unwrap());
        }
        assert_eq!(slot.waiters(), 0);
    }

    #[test]
    fn forgetting_the_first_of_several_keeps_the_others() {
        let slot: Slot<u8> = Slot::new();
        let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
        let mut keys = [None; 3];
        for (key, (_, waker)) in keys.iter_mut().zip(&wakers) {
            slot.poll_ready(key, waker);
        }
        slot.forget(keys[0].unwrap());
        assert_eq!(slot.waiters(), 2);
        slot.fill(1);
        let woken: Vec<_> = wakers
            .iter()
            .map(|(c, _)| c.0.load(std::sync::atomic::Ordering::SeqCst))
            .collect();
        assert_eq!(woken, [0, 1, 1]);
    }

    #[test]
    fn a_blocked_thread_wakes_on_fill_and_a_deadline_ends_a_wait() {
        let slot = Arc::new(Slot::new());
        assert_eq!(
            slot.wait_until(Some(Instant::now() + Duration::from_millis(10))),
            None
        );
        let filler = {
            let slot = slot.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                slot.fill(5)
            })
        };
        assert_eq!(slot.wait_until(None), Some(5));
        assert!(filler.join().unwrap());
    }

    #[test]
    fn then_runs_at_the_fill_or_at_once_if_filled() {
        let slot = Slot::new();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let s = seen.clone();
        slot.then(move |v| s.lock().unwrap().push(*v));
        assert!(seen.lock().unwrap().is_empty());
        slot.fill(3);
        let s = seen.clone();
        slot.then(move |v| s.lock().unwrap().push(*v + 1));
        assert_eq!(*seen.lock().unwrap(), [3, 4]);
    }
}
