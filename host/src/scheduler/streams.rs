//! Reading the `stream<T>` a method returns, item by item, inside the
//! actor's event loop.
//!
//! The method returns at once with the readable end of its stream and goes
//! on writing from a task of its own. wasmtime polls the consumer set here
//! from the store's event loop whenever the guest writes, so items flow
//! while the loop serves the actor's other calls.
//!
//! **Backpressure.** For [`Out::Channel`] (a caller reading item by item)
//! the consumer reserves a place in the caller's bounded channel *before*
//! it takes an item from the guest. While the channel is full it takes
//! nothing, so the guest's `write` stays pending: a slow reader slows the
//! producer, and no item is ever taken that could not be delivered. When
//! the reader is gone the consumer answers `Dropped`, and the guest's write
//! returns that at once (its item comes back to it).
//!
//! **Bounds.** One item over the runtime's `max_value_size` ends the stream
//! and fails the call; so do the items of [`Out::Collect`] (a plain `call`,
//! which gets the list of all items) once together they pass it.
//!
//! **End.** wasmtime drops the consumer when the guest drops its writer (or
//! the consumer said `Dropped`); its drop tells the call how it ended. If
//! the actor dies first, the event loop and with it the call are dropped,
//! and the call is resolved as every running call of a dead actor is.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};
use wasmtime::component::{Lift, Source, StreamAny, StreamConsumer, StreamResult, Val};
use wasmtime::{AsContextMut, StoreContextMut};

use crate::call::StreamItem;
use crate::error::Error;
use crate::guest::ActorState;

/// Where a stream's items go.
pub(crate) enum Out {
    /// To a caller reading them as they come.
    Channel(mpsc::Sender<Val>),
    /// Into one list, the call's value.
    Collect,
}

/// How a stream ended, told by its consumer's drop.
pub(crate) enum Ended {
    /// Every item went to the caller's channel (or the caller went away).
    Streamed,
    /// Every item, for the call's value.
    Collected(Vec<Val>),
    /// An item or the list was too large; the stream was dropped.
    Failed(Error),
}

type Reserve = Pin<
    Box<dyn Future<Output = Result<mpsc::OwnedPermit<Val>, mpsc::error::SendError<()>>> + Send>,
>;

struct Consumer<T> {
    channel: Option<(mpsc::Sender<Val>, Option<Reserve>)>,
    collected: Vec<Val>,
    bytes: usize,
    limit: usize,
    to_val: fn(T) -> Val,
    size: fn(&T) -> usize,
    failed: Option<Error>,
    done: Option<oneshot::Sender<Ended>>,
    _item: PhantomData<fn() -> T>,
}

impl<T> Consumer<T> {
    fn too_large(&mut self) -> Poll<wasmtime::Result<StreamResult>> {
        self.failed = Some(Error::QuotaExceeded {
            what: "bytes in one value",
            limit: self.limit,
            raise_with: "RuntimeBuilder::max_value_size",
        });
        Poll::Ready(Ok(StreamResult::Dropped))
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        let ended = match (self.failed.take(), &self.channel) {
            (Some(error), _) => Ended::Failed(error),
            (None, Some(_)) => Ended::Streamed,
            (None, None) => Ended::Collected(std::mem::take(&mut self.collected)),
        };
        if let Some(done) = self.done.take() {
            let _ = done.send(ended);
        }
    }
}

impl<D, T: Lift + Send + 'static> StreamConsumer<D> for Consumer<T> {
    type Item = T;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'_, D>,
        mut source: Source<'_, T>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        let permit = match &mut this.channel {
            None => None,
            Some((tx, reserve)) => {
                let pending = reserve.get_or_insert_with(|| Box::pin(tx.clone().reserve_owned()));
                match pending.as_mut().poll(cx) {
                    Poll::Pending if finish => {
                        *reserve = None;
                        return Poll::Ready(Ok(StreamResult::Cancelled));
                    }
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(_gone)) => {
                        *reserve = None;
                        return Poll::Ready(Ok(StreamResult::Dropped));
                    }
                    Poll::Ready(Ok(permit)) => {
                        *reserve = None;
                        Some(permit)
                    }
                }
            }
        };
        if source.remaining(&mut store) == 0 {
            // A zero-length write asks whether we are ready: we are.
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        let mut item: Option<T> = None;
        source.read(&mut store, &mut item)?;
        let Some(item) = item else {
            return Poll::Ready(Ok(StreamResult::Completed));
        };
        let size = (this.size)(&item);
        if size > this.limit {
            return this.too_large();
        }
        let value = (this.to_val)(item);
        match permit {
            Some(permit) => {
                permit.send(value);
            }
            None => {
                this.bytes = this.bytes.saturating_add(size.max(1));
                if this.bytes > this.limit {
                    return this.too_large();
                }
                this.collected.push(value);
            }
        }
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// Starts reading `stream`, whose items are of kind `item`, into `out`;
/// the receiver tells how it ended.
pub(crate) fn pipe(
    mut store: impl AsContextMut<Data = ActorState>,
    stream: StreamAny,
    item: StreamItem,
    out: Out,
    limit: usize,
) -> wasmtime::Result<oneshot::Receiver<Ended>> {
    let (done, ended) = oneshot::channel();
    let channel = match out {
        Out::Channel(tx) => Some((tx, None)),
        Out::Collect => None,
    };
    macro_rules! pipe {
        ($t:ty, $to_val:expr, $size:expr) => {
            stream.try_into_stream_reader::<$t>()?.pipe(
                store.as_context_mut(),
                Consumer::<$t> {
                    channel,
                    collected: Vec::new(),
                    bytes: 0,
                    limit,
                    to_val: $to_val,
                    size: $size,
                    failed: None,
                    done: Some(done),
                    _item: PhantomData,
                },
            )?
        };
        ($t:ty, $to_val:expr) => {
            pipe!($t, $to_val, |_| std::mem::size_of::<$t>())
        };
    }
    match item {
        StreamItem::Bool => pipe!(bool, Val::Bool),
        StreamItem::U8 => pipe!(u8, Val::U8),
        StreamItem::U16 => pipe!(u16, Val::U16),
        StreamItem::U32 => pipe!(u32, Val::U32),
        StreamItem::U64 => pipe!(u64, Val::U64),
        StreamItem::S8 => pipe!(i8, Val::S8),
        StreamItem::S16 => pipe!(i16, Val::S16),
        StreamItem::S32 => pipe!(i32, Val::S32),
        StreamItem::S64 => pipe!(i64, Val::S64),
        StreamItem::F32 => pipe!(f32, Val::Float32),
        StreamItem::F64 => pipe!(f64, Val::Float64),
        StreamItem::Char => pipe!(char, Val::Char),
        StreamItem::String => pipe!(String, Val::String, String::len),
        StreamItem::Bytes => pipe!(
            Vec<u8>,
            |bytes| Val::List(bytes.into_iter().map(Val::U8).collect()),
            Vec::len
        ),
    }
    Ok(ended)
}
