//! Where calls to an actor go: the [`Mailbox`] seam.
//!
//! A handle posts calls into a mailbox and never learns what is behind it.
//! Behind a [`LocalMailbox`] is the channel its scheduler reads; behind a
//! remote one (the cluster's) is a connection that seals each call into a
//! [`CallEnvelope`](super::CallEnvelope). The schedulers are the same either
//! way: they only read local channels.

use std::sync::Arc;

use super::envelope::Call;
use super::queue::{CallQueue, CallSender, call_queue};
use crate::actor::ConcurrencyGroups;

/// Delivers calls to one actor.
pub(crate) trait Mailbox: Send + Sync + 'static {
    /// Delivers `call`, or gives it back if the actor takes no more calls
    /// (it died, and its queue is closed): the caller then resolves the
    /// call's ref with the actor's death.
    fn post(&self, call: Call) -> Result<(), Call>;

    /// Tells whatever runs the actor elsewhere that it was killed (the
    /// handle marks it dead itself). Nothing to do for a local actor.
    fn kill(&self) {}

    /// The mailbox itself if it delivers to another process (the cluster
    /// tells its own from local ones by this); `None` for a local actor.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))] // the cluster's
    fn remote(&self) -> Option<&(dyn std::any::Any + Send + Sync)> {
        None
    }
}

/// Runs a call where it was made when the actor is idle (the scheduler's
/// caller-runs dispatch), so that it need not go through the queue.
pub(crate) trait Dispatch: Send + Sync + 'static {
    /// Runs `call` now, on this thread, if the actor can take it at once
    /// without overtaking a queued call; else gives it back.
    fn run_here(&self, call: Call) -> Result<(), Call>;

    /// Counts a call about to be queued, before it is sent.
    fn queued(&self);
}

/// The mailbox of an actor in this process: an unbounded FIFO queue per
/// concurrency group, which its scheduler reads. Unbounded because
/// backpressure is counted (`max_pending_calls`) rather than awaited: a
/// call must return at once.
pub(crate) struct LocalMailbox {
    queues: Vec<CallSender>,
    groups: Arc<ConcurrencyGroups>,
    /// Runs calls on the caller's thread while the actor is idle, if its
    /// scheduler can.
    here: Option<Arc<dyn Dispatch>>,
}

impl LocalMailbox {
    /// A mailbox and the receiving ends its scheduler reads, one per group
    /// of `groups`, in group order.
    pub(crate) fn new(groups: Arc<ConcurrencyGroups>) -> (LocalMailbox, Vec<CallQueue>) {
        let (queues, receivers) = (0..groups.len()).map(|_| call_queue()).unzip();
        (
            LocalMailbox {
                queues,
                groups,
                here: None,
            },
            receivers,
        )
    }

    /// The same, trying `here` first for every call.
    pub(crate) fn with_dispatch(mut self, here: Arc<dyn Dispatch>) -> Self {
        self.here = Some(here);
        self
    }
}

impl Mailbox for LocalMailbox {
    fn post(&self, call: Call) -> Result<(), Call> {
        let call = match &self.here {
            Some(here) => match here.run_here(call) {
                Ok(()) => return Ok(()),
                Err(call) => {
                    here.queued();
                    call
                }
            },
            None => call,
        };
        let queue = match self.queues.as_slice() {
            [only] => only,
            queues => &queues[self.groups.of(call.method)],
        };
        queue.send(call)
    }
}
