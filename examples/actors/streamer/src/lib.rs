//! Streams and pools from inside an actor.
//!
//! ```python
//! @ray.remote
//! class Streamer:
//!     async def numbers(self, n, millis):
//!         for i in range(n):
//!             await asyncio.sleep(millis / 1000)
//!             yield i
//! ```

use std::cell::Cell;
use std::time::Duration;

use wactor_guest::{Actor, ActorPool, Options, StreamReader};

wactor_guest::actor!("wactor-examples:streamer/streamer");

thread_local! {
    static WRITTEN: Cell<u32> = const { Cell::new(0) };
    static DOUBLING: Cell<u32> = const { Cell::new(0) };
    static PEAK_DOUBLING: Cell<u32> = const { Cell::new(0) };
}

struct Streamer;

impl Guest for Streamer {
    async fn numbers(n: u32, millis: u64) -> StreamReader<u32> {
        let (mut writer, reader) = wit_stream::new::<u32>();
        // The reader reaches the caller only once this returns: the items
        // are written from a task of their own.
        wactor_guest::spawn_local(async move {
            for i in 0..n {
                if millis > 0 {
                    wactor_guest::sleep(Duration::from_millis(millis)).await;
                }
                if writer.write_one(i).await.is_some() {
                    return; // the reader is gone
                }
                WRITTEN.with(|w| w.set(w.get() + 1));
            }
        });
        reader
    }

    fn written() -> u32 {
        WRITTEN.with(Cell::get)
    }

    async fn words(text: String) -> StreamReader<String> {
        let (mut writer, reader) = wit_stream::new::<String>();
        wactor_guest::spawn_local(async move {
            for word in text.split_whitespace() {
                if writer.write_one(word.to_string()).await.is_some() {
                    return;
                }
            }
        });
        reader
    }

    fn ping() -> String {
        "pong".into()
    }

    async fn double(x: u32, millis: u64) -> u32 {
        let now = DOUBLING.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        PEAK_DOUBLING.with(|p| p.set(p.get().max(now)));
        wactor_guest::sleep(Duration::from_millis(millis)).await;
        DOUBLING.with(|n| n.set(n.get() - 1));
        2 * x
    }

    fn peak_doubles() -> u32 {
        PEAK_DOUBLING.with(Cell::get)
    }

    async fn grouped(calls: u32, limit: u32) -> Result<u32, String> {
        let mut options = Options::new();
        if limit > 0 {
            options = options.concurrency_group("slow", limit, &["double"]);
        }
        let child = Actor::spawn(options).map_err(|e| e.to_string())?;
        let refs = (0..calls)
            .map(|i| child.call("double", (i, 50u64)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        wactor_guest::gather::<u32>(&refs)
            .await
            .map_err(|e| e.to_string())?;
        child
            .call("peak-doubles", ())
            .map_err(|e| e.to_string())?
            .get::<u32>()
            .await
            .map_err(|e| e.to_string())
    }

    async fn read_numbers(n: u32, millis: u64) -> Result<Vec<u32>, String> {
        let producer = Actor::spawn(Options::new()).map_err(|e| e.to_string())?;
        let mut items = producer
            .call_stream("numbers", (n, millis))
            .map_err(|e| e.to_string())?;
        let mut got = Vec::new();
        while let Some(item) = items.next::<u32>().await {
            got.push(item.map_err(|e| e.to_string())?);
        }
        Ok(got)
    }

    async fn pool_map(actors: u32, values: Vec<u32>, unordered: bool) -> Result<Vec<u32>, String> {
        let members = (0..actors)
            .map(|_| Actor::spawn(Options::new()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let mut pool = ActorPool::new(members);
        // Later values take less time, so finishing order differs from
        // submission order.
        let n = values.len() as u64;
        let task = move |actor: &Actor, (i, v): (u64, u32)| actor.call("double", (v, 20 * (n - i)));
        let values = values.into_iter().enumerate().map(|(i, v)| (i as u64, v));
        let mapped = if unordered {
            pool.map_unordered(task, values).await
        } else {
            pool.map(task, values).await
        };
        mapped.map_err(|e| e.to_string())
    }
}

export!(Streamer);
