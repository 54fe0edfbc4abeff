//! [`ItemStream`]: the items of a call whose method returns a `stream<T>`,
//! as they come (Ray's `ObjectRefGenerator`).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;
use wasmtime::component::Val;

use super::ObjectRef;
use crate::error::{Error, Result};

/// How many items the host holds ahead of an [`ItemStream`]'s reader. Past
/// it the producing actor's `write` waits until the reader takes one: a
/// slow reader slows the producer (backpressure), and a stream never holds
/// more than this many items in the host.
pub const STREAM_BUFFER: usize = 16;

/// The items of a call of a method that returns a `stream<T>`, as the actor
/// writes them ([`ActorHandle::call_stream`](crate::ActorHandle::call_stream)).
/// Ray's `ObjectRefGenerator` (`num_returns="streaming"`).
///
/// It is a [`Stream`] of `Result<Val>`: each item, then, if the call
/// failed (the actor died, an item was too large), that error as the last
/// item. The host holds at most [`STREAM_BUFFER`] items ahead of the
/// reader; the producer waits while they are not read. Dropping the
/// stream stops the producer at its next write.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
/// use futures::StreamExt;
/// let runtime = wactor::Runtime::new()?;
/// let streamer = runtime.load(wactor_examples::STREAMER)?.spawn(Default::default())?;
/// let items: Vec<_> = streamer.call_stream("numbers", (3u32, 1u64))?.collect().await;
/// assert_eq!(items.into_iter().collect::<Result<Vec<_>, _>>()?, [0u32, 1, 2].map(wactor::Val::U32));
/// # Ok(()) }
/// ```
#[doc(alias = "ObjectRefGenerator")]
#[derive(Debug)]
pub struct ItemStream {
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Items as the actor writes them; then the call's own ref says
    /// whether it ended well.
    Live {
        items: mpsc::Receiver<Val>,
        call: Option<ObjectRef>,
    },
    /// All items at once, in the value of one call (an actor on another
    /// node: its node collects the items and sends the list).
    Whole {
        call: Option<ObjectRef>,
        items: VecDeque<Val>,
    },
}

impl ItemStream {
    /// A stream of the items sent to `items`, then of `call`'s error if it
    /// fails.
    pub(crate) fn live(items: mpsc::Receiver<Val>, call: ObjectRef) -> ItemStream {
        ItemStream {
            source: Source::Live {
                items,
                call: Some(call),
            },
        }
    }

    /// A stream of the items in the list `call` resolves to.
    pub(crate) fn whole(call: ObjectRef) -> ItemStream {
        ItemStream {
            source: Source::Whole {
                call: Some(call),
                items: VecDeque::new(),
            },
        }
    }

    /// The next item, waiting for it: `None` once the stream ended.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
    /// let runtime = wactor::Runtime::new()?;
    /// let streamer = runtime.load(wactor_examples::STREAMER)?.spawn(Default::default())?;
    /// let mut items = streamer.call_stream("numbers", (2u32, 1u64))?;
    /// assert_eq!(items.next_item().await.transpose()?, Some(wactor::Val::U32(0)));
    /// assert_eq!(items.next_item().await.transpose()?, Some(wactor::Val::U32(1)));
    /// assert!(items.next_item().await.is_none());
    /// # Ok(()) }
    /// ```
    pub async fn next_item(&mut self) -> Option<Result<Val>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Each item as an [`ObjectRef`] of its own, already resolved (Ray's
    /// generator yields refs): pass them on to methods that take an
    /// `object-ref`, or await them.
    /// A failed call ends with a ref to its error.
    ///
    /// ```
    /// # #[tokio::main] async fn main() -> Result<(), wactor::Error> {
    /// use futures::StreamExt;
    /// let runtime = wactor::Runtime::new()?;
    /// let streamer = runtime.load(wactor_examples::STREAMER)?.spawn(Default::default())?;
    /// let refs: Vec<wactor::ObjectRef> = streamer.call_stream("numbers", (3u32, 1u64))?.refs().collect().await;
    /// assert_eq!(refs.len(), 3);
    /// assert_eq!(refs[2].clone().await?, wactor::Val::U32(2));
    /// # Ok(()) }
    /// ```
    pub fn refs(self) -> impl Stream<Item = ObjectRef> + Send + Unpin {
        futures::StreamExt::map(self, ObjectRef::resolved)
    }
}

impl Stream for ItemStream {
    type Item = Result<Val>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.get_mut().source {
            Source::Live { items, call } => {
                if let Some(item) = std::task::ready!(items.poll_recv(cx)) {
                    return Poll::Ready(Some(Ok(item)));
                }
                // The channel closed: the call's ref says how it ended.
                let Some(pending) = call else {
                    return Poll::Ready(None);
                };
                let outcome = std::task::ready!(Pin::new(pending).poll(cx));
                *call = None;
                Poll::Ready(outcome.err().map(Err))
            }
            Source::Whole { call, items } => {
                if let Some(pending) = call {
                    let outcome = std::task::ready!(Pin::new(pending).poll(cx));
                    *call = None;
                    match outcome {
                        Ok(Val::List(list)) => items.extend(list),
                        Ok(other) => {
                            return Poll::Ready(Some(Err(Error::InvalidValue {
                                reason: format!(
                                    "a stream's items came back as {}, not a list",
                                    crate::value::describe(&other)
                                ),
                                source: None,
                            })));
                        }
                        Err(e) => return Poll::Ready(Some(Err(e))),
                    }
                }
                Poll::Ready(items.pop_front().map(Ok))
            }
        }
    }
}
