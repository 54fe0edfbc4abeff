//! The FIFO queue between an actor's handles and its scheduler.
//!
//! Why not tokio's unbounded channel: it allocates a block for 32 calls
//! (3.6 KB) when it is made, so every actor cost that much fresh memory at
//! spawn, and spawning is mostly page faults on fresh memory. This queue
//! allocates on its first call and grows as a `VecDeque` does. It has the
//! channel's semantics where the schedulers rely on them: FIFO; `recv`
//! ends (`None`) once every sender is gone and the queue is empty; after
//! the receiver is closed or dropped, `send` gives the call back; `close`
//! leaves queued calls to be taken with `try_recv`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

use super::envelope::Call;

/// Past this many slots, an emptied queue lets its room go.
const SHRINK_ABOVE: usize = 64;

struct Shared {
    state: Mutex<State>,
    /// How many calls `state` holds, kept beside it so that the receiver
    /// sees an empty queue without taking the lock: an async actor looks
    /// at its queue at every turn of its loop, mostly to find it empty.
    queued: AtomicUsize,
    /// The receiving task, woken by a send or by the last sender's drop.
    waker: AtomicWaker,
    senders: AtomicUsize,
}

#[derive(Default)]
struct State {
    calls: VecDeque<Call>,
    /// The receiver closed or dropped: sends are refused.
    closed: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the queue itself intact.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first call of `state` (this queue's, locked), kept in `queued`.
    fn pop_front(&self, state: &mut State) -> Option<Call> {
        let call = state.calls.pop_front();
        if call.is_some() {
            self.queued.fetch_sub(1, Ordering::Relaxed);
        }
        call
    }
}

/// The sending end (one per [`LocalMailbox`](super::LocalMailbox) group).
pub(crate) struct CallSender(Arc<Shared>);

/// The receiving end, read by the actor's scheduler.
pub(crate) struct CallQueue(Arc<Shared>);

/// Why [`CallQueue::try_recv`] gave nothing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TryRecvError {
    /// Nothing queued now.
    Empty,
    /// Nothing queued, and no sender left.
    Disconnected,
}

/// A queue and its sending end.
pub(crate) fn call_queue() -> (CallSender, CallQueue) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        queued: AtomicUsize::new(0),
        waker: AtomicWaker::new(),
        senders: AtomicUsize::new(1),
    });
    (CallSender(shared.clone()), CallQueue(shared))
}

impl CallSender {
    /// Queues `call`, or gives it back if the receiver is closed or gone.
    pub(crate) fn send(&self, call: Call) -> Result<(), Call> {
        {
            let mut state = self.0.state();
            if state.closed {
                return Err(call);
            }
            // Room for one call at first (a deque's first growth makes room
            // for four, 448 bytes that an actor called one call at a time
            // would keep for life); bursts grow it as usual.
            if state.calls.capacity() == 0 {
                state.calls.reserve_exact(1);
            }
            state.calls.push_back(call);
            // Ordered before the wake below by the waker's own
            // synchronization, as the lock was.
            self.0.queued.fetch_add(1, Ordering::Relaxed);
        }
        self.0.waker.wake();
        Ok(())
    }
}

impl Drop for CallSender {
    fn drop(&mut self) {
        if self.0.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.waker.wake();
        }
    }
}

impl CallQueue {
    /// The next call, or `None` once every sender is gone and nothing is
    /// queued.
    pub(crate) async fn recv(&mut self) -> Option<Call> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv), polled.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Call>> {
        match self.try_recv() {
            Ok(call) => return Poll::Ready(Some(call)),
            Err(TryRecvError::Disconnected) => return Poll::Ready(None),
            Err(TryRecvError::Empty) => {}
        }
        self.0.waker.register(cx.waker());
        // Again: a send (or the last sender's drop) between the first look
        // and the registration woke nobody.
        match self.try_recv() {
            Ok(call) => Poll::Ready(Some(call)),
            Err(TryRecvError::Disconnected) => Poll::Ready(None),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }

    /// The next call if one is queued now.
    pub(crate) fn try_recv(&mut self) -> Result<Call, TryRecvError> {
        if self.0.queued.load(Ordering::Acquire) > 0 {
            let mut state = self.0.state();
            if let Some(call) = self.0.pop_front(&mut state) {
                // A burst's room goes back once the burst is taken: a deque
                // grown for 10,000 calls would otherwise hold 1.8 MB.
                if state.calls.is_empty() && state.calls.capacity() > SHRINK_ABOVE {
                    state.calls = VecDeque::new();
                }
                return Ok(call);
            }
        }
        if self.0.senders.load(Ordering::Acquire) == 0 {
            // A last send may have landed before the last sender went.
            return self
                .0
                .pop_front(&mut self.0.state())
                .ok_or(TryRecvError::Disconnected);
        }
        Err(TryRecvError::Empty)
    }

    /// Refuses further sends; what is queued stays, for `try_recv`.
    pub(crate) fn close(&mut self) {
        self.0.state().closed = true;
    }
}

impl Drop for CallQueue {
    fn drop(&mut self) {
        // Later sends are refused; the queued calls drop here, and their
        // promises resolve (with a shutdown error) as they go.
        let calls = {
            let mut state = self.0.state();
            state.closed = true;
            self.0.queued.store(0, Ordering::Relaxed);
            std::mem::take(&mut state.calls)
        };
        drop(calls);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object_ref::ObjectRef;

    /// A call of method `method`, its ref dropped.
    fn call(method: u32) -> Call {
        let (_, promise) = ObjectRef::pending(None);
        Call {
            method,
            args: Vec::new(),
            promise,
            deadline: None,
            retries_left: 0,
            charge: None,
            stream: None,
            trace: None,
        }
    }

    #[tokio::test]
    async fn calls_come_out_in_the_order_they_went_in_until_the_senders_are_gone() {
        let (tx, mut rx) = call_queue();
        for m in 0..5 {
            tx.send(call(m)).map_err(|_| "sent").unwrap();
        }
        drop(tx);
        let mut seen = Vec::new();
        while let Some(call) = rx.recv().await {
            seen.push(call.method);
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Disconnected));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiting_receiver_is_woken_by_a_send_from_another_thread() {
        let (tx, mut rx) = call_queue();
        let sender = std::thread::spawn(move || {
            for m in 0..1000 {
                tx.send(call(m)).map_err(|_| "sent").unwrap();
            }
        });
        for m in 0..1000 {
            assert_eq!(rx.recv().await.map(|c| c.method), Some(m));
        }
        sender.join().unwrap();
        assert!(rx.recv().await.is_none());
    }

    #[test]
    fn a_closed_queue_refuses_sends_and_keeps_what_it_holds() {
        let (tx, mut rx) = call_queue();
        tx.send(call(1)).map_err(|_| "sent").unwrap();
        rx.close();
        let refused = tx.send(call(2)).err().map(|c| c.method);
        assert_eq!(refused, Some(2));
        assert_eq!(rx.try_recv().ok().map(|c| c.method), Some(1));
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Empty));
        drop(rx);
        assert!(tx.send(call(3)).is_err());
    }
}
