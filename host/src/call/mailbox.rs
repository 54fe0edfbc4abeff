//! Where calls to an actor go: the [`Mailbox`] seam.
//!
//! A handle posts calls into a mailbox and never learns what is behind it.
//! Behind a [`LocalMailbox`] is the channel its scheduler reads; behind a
//! remote one (the cluster's) is a connection that seals each call into a
//! [`CallEnvelope`](super::CallEnvelope). The schedulers are the same either
//! way: they only read local channels.

use tokio::sync::mpsc;

use super::envelope::Call;

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

/// The mailbox of an actor in this process: an unbounded FIFO channel that
/// its scheduler task reads. Unbounded because backpressure is counted
/// (`max_pending_calls`) rather than awaited: a call must return at once.
pub(crate) struct LocalMailbox(mpsc::UnboundedSender<Call>);

impl LocalMailbox {
    /// A mailbox and the receiving end its scheduler reads.
    pub(crate) fn new() -> (LocalMailbox, mpsc::UnboundedReceiver<Call>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (LocalMailbox(tx), rx)
    }
}

impl Mailbox for LocalMailbox {
    fn post(&self, call: Call) -> Result<(), Call> {
        self.0
            .send(call)
            .map_err(|mpsc::error::SendError(call)| call)
    }
}
