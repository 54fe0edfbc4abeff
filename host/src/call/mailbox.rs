//! Where calls to an actor go: the [`Mailbox`] seam.
//!
//! A handle posts calls into a mailbox and never learns what is behind it.
//! Behind a [`LocalMailbox`] is the channel its scheduler reads; behind a
//! remote one (the cluster's) is a connection that seals each call into a
//! [`CallEnvelope`](super::CallEnvelope). The schedulers are the same either
//! way: they only read local channels.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::envelope::Call;
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

/// The mailbox of an actor in this process: an unbounded FIFO channel per
/// concurrency group, which its scheduler reads. Unbounded because
/// backpressure is counted (`max_pending_calls`) rather than awaited: a
/// call must return at once.
pub(crate) struct LocalMailbox {
    queues: Vec<mpsc::UnboundedSender<Call>>,
    groups: Arc<ConcurrencyGroups>,
}

impl LocalMailbox {
    /// A mailbox and the receiving ends its scheduler reads, one per group
    /// of `groups`, in group order.
    pub(crate) fn new(
        groups: Arc<ConcurrencyGroups>,
    ) -> (LocalMailbox, Vec<mpsc::UnboundedReceiver<Call>>) {
        let (queues, receivers) = (0..groups.len()).map(|_| mpsc::unbounded_channel()).unzip();
        (LocalMailbox { queues, groups }, receivers)
    }
}

impl Mailbox for LocalMailbox {
    fn post(&self, call: Call) -> Result<(), Call> {
        let queue = match self.queues.as_slice() {
            [only] => only,
            queues => &queues[self.groups.of(call.method)],
        };
        queue
            .send(call)
            .map_err(|mpsc::error::SendError(call)| call)
    }
}
