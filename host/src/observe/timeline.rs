//! [`Timeline`]: every call as a Chrome trace event (`ray timeline`).
//!
//! The file is the trace-event "JSON array" format that Perfetto and
//! `chrome://tracing` read: one complete event (`"ph": "X"`) per call, on
//! a track per actor, with its time queued, its outcome and its component
//! in `args`, and one more event for the time it waited in the queue.
//!
//! Events go to a writer thread through a bounded channel, so a call never
//! waits for the disk; if the writer falls behind by more than
//! [`TIMELINE_BUFFER`] events, further events are dropped and counted
//! (the count is the file's last event) rather than held in memory.

use super::{Moment, now};
use crate::ids::ActorId;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How many events may wait for the timeline's writer.
pub const TIMELINE_BUFFER: usize = 65_536;

/// A Chrome-trace (Perfetto-readable) file of every call, as `ray
/// timeline` writes: actor, method, and when it was queued, started and
/// finished. Give it to [`RuntimeBuilder::timeline`](crate::RuntimeBuilder::timeline);
/// [`finish`](Timeline::finish) completes the file (dropping the last
/// clone does too).
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let path = std::env::temp_dir().join("wactor-doc-timeline.json");
/// let timeline = wactor::Timeline::create(&path)?;
/// let runtime = wactor::Runtime::builder().timeline(timeline.clone()).build()?;
/// let counter = runtime.load(wactor_examples::COUNTER)?.spawn(Default::default())?;
/// counter.call("add", (2i64,))?.get(None)?;
/// timeline.finish()?;
/// let trace: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
/// assert!(trace.as_array().unwrap().iter().any(|e| e["name"] == "add"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Timeline {
    inner: Arc<Inner>,
}

struct Inner {
    epoch: Moment,
    events: SyncSender<Message>,
    writer: Mutex<Option<JoinHandle<std::io::Result<()>>>>,
    dropped: AtomicU64,
}

enum Message {
    Call(Event),
    /// Complete the file, noting how many events were dropped.
    Finish(u64),
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("dropped", &self.inner.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

struct Event {
    actor: ActorId,
    actor_name: Arc<str>,
    method: Arc<str>,
    queued_us: Option<u64>,
    started_us: Option<u64>,
    ended_us: u64,
    outcome: &'static str,
}

impl Timeline {
    /// Creates (or truncates) the file at `path` and starts its writer.
    ///
    /// # Errors
    ///
    /// If the file cannot be created.
    pub fn create(path: impl AsRef<Path>) -> std::io::Result<Timeline> {
        let file = BufWriter::new(File::create(path)?);
        let (tx, rx) = sync_channel(TIMELINE_BUFFER);
        let writer = std::thread::Builder::new()
            .name("wactor-timeline".into())
            .spawn(move || write_events(file, rx))?;
        Ok(Timeline {
            inner: Arc::new(Inner {
                epoch: now(),
                events: tx,
                writer: Mutex::new(Some(writer)),
                dropped: AtomicU64::new(0),
            }),
        })
    }

    /// Writes what is pending and completes the file. Calls that end later
    /// are not recorded.
    ///
    /// # Errors
    ///
    /// If writing the file failed.
    pub fn finish(&self) -> std::io::Result<()> {
        self.inner.finish()
    }

    /// How many events were dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    fn micros(&self, t: Moment) -> u64 {
        u64::try_from(t.saturating_duration_since(self.inner.epoch).as_micros()).unwrap_or(u64::MAX)
    }

    pub(crate) fn call(
        &self,
        actor: (ActorId, &Arc<str>),
        method: &Arc<str>,
        queued: Option<Moment>,
        started: Option<Moment>,
        ended: Moment,
        outcome: &'static str,
    ) {
        let event = Event {
            actor: actor.0,
            actor_name: actor.1.clone(),
            method: method.clone(),
            queued_us: queued.map(|t| self.micros(t)),
            started_us: started.map(|t| self.micros(t)),
            ended_us: self.micros(ended),
            outcome,
        };
        // Once finished, the writer is gone and the event is lost on purpose.
        if let Err(TrySendError::Full(_)) = self.inner.events.try_send(Message::Call(event)) {
            self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl Inner {
    fn finish(&self) -> std::io::Result<()> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        let Some(writer) = writer else {
            return Ok(());
        };
        let _ = self
            .events
            .send(Message::Finish(self.dropped.load(Ordering::Relaxed)));
        match writer.join() {
            Ok(written) => written,
            Err(_) => Err(std::io::Error::other("the timeline's writer panicked")),
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last clone is gone: complete the file.
        let _ = self.finish();
    }
}

fn write_events(mut file: BufWriter<File>, events: Receiver<Message>) -> std::io::Result<()> {
    file.write_all(b"[\n")?;
    let mut first = true;
    let mut named: HashSet<ActorId> = HashSet::new();
    let mut write = |file: &mut BufWriter<File>, value: serde_json::Value| {
        if !first {
            file.write_all(b",\n")?;
        }
        first = false;
        serde_json::to_writer(&mut *file, &value).map_err(std::io::Error::other)
    };
    for message in events {
        let event = match message {
            Message::Call(event) => event,
            Message::Finish(0) => break,
            Message::Finish(dropped) => {
                write(
                    &mut file,
                    serde_json::json!({
                        "name": format!("{dropped} calls not recorded: the writer fell behind"),
                        "ph": "i", "s": "g", "pid": 1, "tid": 0, "ts": 0,
                    }),
                )?;
                break;
            }
        };
        let tid = event.actor.as_u64();
        if named.insert(event.actor) {
            // The actor's track is named after it.
            write(
                &mut file,
                serde_json::json!({
                    "name": "thread_name", "ph": "M", "pid": 1, "tid": tid,
                    "args": {"name": &*event.actor_name},
                }),
            )?;
        }
        let begin = event
            .started_us
            .or(event.queued_us)
            .unwrap_or(event.ended_us);
        if let (Some(queued), Some(started)) = (event.queued_us, event.started_us) {
            write(
                &mut file,
                serde_json::json!({
                    "name": "queued", "cat": "queue", "ph": "X", "pid": 1, "tid": tid,
                    "ts": queued, "dur": started.saturating_sub(queued),
                    "args": {"method": &*event.method},
                }),
            )?;
        }
        write(
            &mut file,
            serde_json::json!({
                "name": &*event.method, "cat": "call", "ph": "X", "pid": 1, "tid": tid,
                "ts": begin, "dur": event.ended_us.saturating_sub(begin),
                "args": {
                    "actor": &*event.actor_name,
                    "outcome": event.outcome,
                    "queued_us": event.queued_us,
                    "started_us": event.started_us,
                },
            }),
        )?;
    }
    file.write_all(b"\n]\n")?;
    file.flush()
}
