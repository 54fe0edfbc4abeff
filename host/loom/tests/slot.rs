//! loom explores every interleaving of the ObjectRef slot's fill with its
//! waiters: a thread blocked in `wait_until`, a task that polls, and a
//! waiter that gives up. Each model checks the slot's rules (see the slot's
//! module docs): the first fill wins, and no waiter misses the fill.

#![allow(unreachable_pub, dead_code)]

// The slot must be compiled against loom here, or the model checks nothing.
#[cfg(not(loom))]
compile_error!("build.rs sets cfg(loom) for this crate");

#[path = "../../src/object_ref/slot.rs"]
mod slot;

use std::task::{Wake, Waker};

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use slot::Slot;

/// A waker that counts its wakes.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_blocked_get_always_sees_the_fill() {
    loom::model(|| {
        let slot = Arc::new(Slot::new());
        let filler = {
            let slot = slot.clone();
            thread::spawn(move || slot.fill(7u8))
        };
        // No deadline: if the fill could slip between the check and the
        // sleep, loom reports the deadlock.
        assert_eq!(slot.wait_until(None), Some(7));
        assert!(filler.join().unwrap());
    });
}

#[test]
fn of_two_racing_fills_exactly_one_wins_and_every_reader_sees_it() {
    loom::model(|| {
        let slot = Arc::new(Slot::new());
        let fills: Vec<_> = [1u8, 2]
            .into_iter()
            .map(|v| {
                let slot = slot.clone();
                thread::spawn(move || slot.fill(v))
            })
            .collect();
        let won: Vec<bool> = fills.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(won.iter().filter(|w| **w).count(), 1);
        let value = slot.try_get().unwrap();
        assert_eq!(value, if won[0] { 1 } else { 2 });
    });
}

#[test]
fn a_polling_waiter_is_woken_or_sees_the_value() {
    loom::model(|| {
        let slot = Arc::new(Slot::new());
        let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let filler = {
            let slot = slot.clone();
            thread::spawn(move || slot.fill(3u8))
        };
        let mut key = None;
        let ready = slot.poll_ready(&mut key, &waker);
        filler.join().unwrap();
        // Registered before the fill: woken exactly once. Too late to
        // register: the value was already there.
        let woken = count.0.load(Ordering::SeqCst);
        assert!(ready ^ (woken == 1), "ready {ready}, woken {woken}");
        assert_eq!(slot.waiters(), 0);
    });
}

#[test]
fn a_waiter_that_gives_up_during_the_fill_leaves_nothing_and_is_woken_at_most_once() {
    loom::model(|| {
        let slot = Arc::new(Slot::new());
        let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut key = None;
        assert!(!slot.poll_ready(&mut key, &waker));
        let filler = {
            let slot = slot.clone();
            thread::spawn(move || slot.fill(1u8))
        };
        slot.forget(key.unwrap());
        filler.join().unwrap();
        assert!(count.0.load(Ordering::SeqCst) <= 1);
        assert_eq!(slot.waiters(), 0);
        assert_eq!(slot.try_get(), Some(1));
    });
}
