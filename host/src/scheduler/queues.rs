//! An actor's queues as its async scheduler takes calls from them: one FIFO
//! queue per concurrency group, each taken from only while its group has a
//! free slot.
//!
//! Why one queue per group rather than one queue with a skip: a call that
//! cannot start (its group is full) must not hold back the calls behind it
//! in other groups, and skipping over it in a single queue would cost a
//! scan per call. With a queue per group, a full group's queue is simply
//! not polled, and the FIFO order within a group is the channel's.

use std::sync::Arc;
use std::task::{Context, Poll};

use crate::actor::{ActorShared, ConcurrencyGroups};
use crate::call::{Call, CallQueue};

pub(crate) struct Queues {
    receivers: Vec<CallQueue>,
    groups: Arc<ConcurrencyGroups>,
    /// Groups whose senders are all gone.
    closed: Vec<bool>,
    /// The group polled first next time, so no group starves another.
    next: usize,
}

impl Queues {
    pub(crate) fn new(receivers: Vec<CallQueue>, groups: Arc<ConcurrencyGroups>) -> Queues {
        let closed = vec![false; receivers.len()];
        Queues {
            receivers,
            groups,
            closed,
            next: 0,
        }
    }

    /// The next call of a group with a free slot, and its group; `None`
    /// once every handle is gone and every queue is empty. Pending while
    /// every group with calls is full: a call ending frees a slot, and the
    /// scheduler polls again then.
    pub(crate) async fn recv(&mut self) -> Option<(usize, Call)> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, Call)>> {
        let n = self.receivers.len();
        for k in 0..n {
            let g = (self.next + k) % n;
            if self.closed[g] || self.groups.is_full(g) {
                continue;
            }
            match self.receivers[g].poll_recv(cx) {
                Poll::Ready(Some(call)) => {
                    self.next = (g + 1) % n;
                    return Poll::Ready(Some((g, call)));
                }
                Poll::Ready(None) => self.closed[g] = true,
                Poll::Pending => {}
            }
        }
        if self.closed.iter().all(|c| *c) {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }

    /// Another queued call of `group`, without waiting, if the group has
    /// room for it beside one more call about to start.
    pub(crate) fn try_recv_beside_one(&mut self, group: usize) -> Option<Call> {
        if !self.groups.has_room_for_two(group) {
            return None;
        }
        self.receivers[group].try_recv().ok()
    }

    /// Resolves every queued call of a dead actor, and the `running` ones.
    pub(crate) fn bury(
        &mut self,
        actor: &ActorShared,
        running: impl IntoIterator<Item = super::lifecycle::Started>,
    ) {
        let mut running = Some(running);
        for rx in &mut self.receivers {
            super::lifecycle::bury(actor, rx, running.take().into_iter().flatten());
        }
    }
}
