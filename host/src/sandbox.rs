//! What an actor instance may touch: its store data and its WASI context.
//!
//! Each instance gets a fresh WASI context with no arguments, no environment,
//! no preopened directories and no sockets, so a guest sees nothing of the
//! host but the clocks, randomness and the output streams it is given.
//! Output is the one thing chosen per actor ([`GuestOutput`]), so tests and
//! embedders can read what an actor printed.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

use tokio::sync::mpsc::WeakUnboundedSender;

use crate::actor::{ActorHandle, ActorOptions, ActorShared, Call};
use crate::component::ActorComponent;

/// Where an actor's stdout or stderr goes.
///
/// ```
/// # fn main() -> Result<(), wactor::Error> {
/// use wactor::{ActorOptions, GuestOutput, OutputCapture};
/// let runtime = wactor::Runtime::new()?;
/// let out = OutputCapture::new();
/// let actor = runtime
///     .load(wactor_examples::THREADED_ACTOR)?
///     .spawn(ActorOptions::new().stdout(GuestOutput::Capture(out.clone())))?;
/// actor.call("task-1", (0u64,))?.get(None)?;
/// assert_eq!(out.lines(), ["I'm running in a thread!"]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum GuestOutput {
    /// The host process's own stream (the default).
    #[default]
    Inherit,
    /// The host process's own stream, each line prefixed with `[actor-name] `
    /// so the output of many actors can be told apart (what `wactor run`
    /// uses). A driver program's own output is not prefixed; the actors it
    /// spawns are.
    Labelled,
    /// Dropped.
    Discard,
    /// Kept in memory; read it with [`OutputCapture::contents`].
    Capture(OutputCapture),
}

/// Which of the host's streams a [`LabelledOutput`] writes to.
#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// The host's stdout or stderr, with each line a guest writes prefixed by
/// its actor's name. Writes go straight to the host stream: they are small,
/// and a guest's output should appear as it happens.
#[derive(Clone)]
struct LabelledOutput {
    prefix: Arc<str>,
    stream: Stream,
}

impl LabelledOutput {
    fn new(actor: &str, stream: Stream) -> Self {
        LabelledOutput {
            prefix: format!("[{actor}] ").into(),
            stream,
        }
    }
}

impl wasmtime_wasi::cli::IsTerminal for LabelledOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for LabelledOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(LabelledWriter {
            out: self.clone(),
            at_line_start: true,
        })
    }
}

struct LabelledWriter {
    out: LabelledOutput,
    at_line_start: bool,
}

impl tokio::io::AsyncWrite for LabelledWriter {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::io::Write;
        let mut text = Vec::with_capacity(buf.len() + self.out.prefix.len());
        for line in buf.split_inclusive(|b| *b == b'\n') {
            if self.at_line_start {
                text.extend_from_slice(self.out.prefix.as_bytes());
            }
            text.extend_from_slice(line);
            self.at_line_start = line.ends_with(b"\n");
        }
        let written = match self.out.stream {
            Stream::Stdout => std::io::stdout().lock().write_all(&text),
            Stream::Stderr => std::io::stderr().lock().write_all(&text),
        };
        std::task::Poll::Ready(written.map(|()| buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::io::Write;
        let flushed = match self.out.stream {
            Stream::Stdout => std::io::stdout().flush(),
            Stream::Stderr => std::io::stderr().flush(),
        };
        std::task::Poll::Ready(flushed)
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// What a guest may do in a directory it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirAccess {
    /// Read files and list entries; no writes.
    ReadOnly,
    /// Read, create, write, rename and delete inside it.
    ReadWrite,
}

/// A host directory made visible to a guest at a path of its own.
#[derive(Debug, Clone)]
pub(crate) struct Preopen {
    pub(crate) host: std::path::PathBuf,
    pub(crate) guest: String,
    pub(crate) access: DirAccess,
}

/// An in-memory sink for guest output, shared by clones. Every instance of a
/// threaded actor writes to the same capture, in the order the writes happen.
///
/// ```
/// use wactor::{GuestOutput, OutputCapture};
/// let capture = OutputCapture::new();
/// let _stdout = GuestOutput::Capture(capture.clone());
/// assert_eq!(capture.contents(), "");
/// ```
#[derive(Debug, Clone)]
pub struct OutputCapture {
    pipe: MemoryOutputPipe,
}

/// Captures hold at most this much; writes past it fail in the guest.
const CAPTURE_LIMIT: usize = 64 << 20;

impl OutputCapture {
    /// An empty capture.
    pub fn new() -> Self {
        OutputCapture {
            pipe: MemoryOutputPipe::new(CAPTURE_LIMIT),
        }
    }

    /// Everything written so far, as text (invalid UTF-8 is replaced).
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.pipe.contents()).into_owned()
    }

    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.contents().lines().map(str::to_string).collect()
    }
}

impl Default for OutputCapture {
    fn default() -> Self {
        OutputCapture::new()
    }
}

/// What kind of code runs in an instance; decides what may block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An async actor: all its calls share one event loop, so nothing may
    /// block it.
    AsyncActor,
    /// One instance of a threaded actor: blocking stalls only this instance.
    ThreadedActor,
    /// A `wasi:cli/run` driver program: sync code that may block.
    Driver,
}

/// What a guest may reach through `wactor:runtime/actors`: its own
/// component (to spawn more of itself) and the components the host made
/// available by name. Actors a guest spawns get the same.
#[derive(Clone)]
pub(crate) struct GuestEnv {
    pub(crate) own: ActorComponent,
    /// The options actors spawned by this guest start from
    /// ([`ActorOptions::inherited`]).
    pub(crate) children: Arc<ActorOptions>,
}

impl GuestEnv {
    /// The component called `name`, or the guest's own for `None`.
    pub(crate) fn component(&self, name: Option<&str>) -> crate::Result<ActorComponent> {
        let Some(name) = name else {
            return Ok(self.own.clone());
        };
        let components = &self.children.components;
        components.get(name).cloned().ok_or_else(|| {
            let names: Vec<_> = components.keys().cloned().collect();
            let available = if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            };
            crate::Error::InvalidRequest(format!(
                "no component named `{name}` was made available to this actor \
                 (available: {available}); the host allows components by name, \
                 e.g. `wactor run --component {name}=path.wasm`"
            ))
        })
    }
}

/// The default [`ActorOptions::memory_limit`](crate::ActorOptions::memory_limit):
/// 512 MiB per instance.
pub const DEFAULT_MEMORY_LIMIT: usize = 512 << 20;

/// Bytes a table element is charged for (a pointer), so tables count against
/// the same budget as linear memories.
const TABLE_ELEMENT_BYTES: usize = 8;

/// One instance's budget for linear memories and tables together. Growing
/// past it traps the instance with a message that says "memory limit", so
/// the actor dies with that cause and no other actor is touched.
pub(crate) struct MemoryBudget {
    limit: usize,
    used: usize,
}

impl MemoryBudget {
    pub(crate) fn new(limit: usize) -> Self {
        MemoryBudget { limit, used: 0 }
    }

    fn grow(&mut self, current: usize, desired: usize, what: &str) -> wasmtime::Result<bool> {
        let next = self.used.saturating_sub(current).saturating_add(desired);
        if next > self.limit {
            return Err(wasmtime::Error::msg(format!(
                "memory limit exceeded: growing a {what} would bring the actor's memories and \
                 tables to {next} bytes, over its limit of {} bytes (ActorOptions::memory_limit)",
                self.limit
            )));
        }
        self.used = next;
        Ok(true)
    }
}

impl wasmtime::ResourceLimiter for MemoryBudget {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(current, desired, "linear memory")
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
            "table",
        )
    }
}

/// Tracks how long a guest has been computing without yielding, from the
/// epoch ticks it runs through: ticks that come one slice apart mean it ran
/// through the whole slice; a longer gap means it waited in between.
#[derive(Default)]
pub(crate) struct LagWatch {
    last_tick: Option<std::time::Instant>,
    stretch: std::time::Duration,
    warned: bool,
}

impl LagWatch {
    /// Starts a new stretch: a call finished or started, so whatever runs
    /// next has not been running long.
    pub(crate) fn reset(&mut self) {
        self.last_tick = None;
    }

    /// Records a tick; returns how long the guest has computed without a
    /// break, the first time that passes `threshold` in a stretch.
    pub(crate) fn tick(
        &mut self,
        slice: std::time::Duration,
        threshold: std::time::Duration,
    ) -> Option<std::time::Duration> {
        let now = std::time::Instant::now();
        match self.last_tick {
            Some(last) if now.duration_since(last) <= slice * 2 => {
                self.stretch += now.duration_since(last);
            }
            _ => {
                self.stretch = std::time::Duration::ZERO;
                self.warned = false;
            }
        }
        self.last_tick = Some(now);
        if self.stretch >= threshold && !self.warned {
            self.warned = true;
            return Some(self.stretch);
        }
        None
    }
}

/// The data of one instance's `Store`.
pub(crate) struct ActorState {
    /// The actor's name, for logs and messages.
    pub(crate) actor: Arc<str>,
    /// The actor this instance belongs to.
    pub(crate) me: Arc<ActorShared>,
    /// Its mailbox, weakly: an actor must not keep itself alive.
    pub(crate) my_mailbox: WeakUnboundedSender<Call>,
    pub(crate) role: Role,
    pub(crate) env: GuestEnv,
    pub(crate) budget: MemoryBudget,
    pub(crate) lag: LagWatch,
    /// The method of the call in progress, where there is exactly one
    /// (threaded actors), for lag warnings.
    pub(crate) current_method: Option<Arc<str>>,
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
}

impl ActorState {
    /// The state of a new instance of the actor `me`, set up as `options` say.
    pub(crate) fn new(
        me: Arc<ActorShared>,
        my_mailbox: WeakUnboundedSender<Call>,
        role: Role,
        env: GuestEnv,
        options: &ActorOptions,
    ) -> Self {
        let (args, stdout, stderr) = (&options.args, &options.stdout, &options.stderr);
        let memory_limit = options.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT);
        let mut wasi = WasiCtx::builder();
        wasi.args(args);
        let label = |output: &GuestOutput| match (output, role) {
            (GuestOutput::Labelled, Role::Driver) => GuestOutput::Inherit,
            (other, _) => other.clone(),
        };
        let (stdout, stderr) = (&label(stdout), &label(stderr));
        for (key, value) in &options.env {
            wasi.env(key, value);
        }
        for dir in &options.dirs {
            let perms = match dir.access {
                DirAccess::ReadOnly => FsPerms::ReadOnly,
                DirAccess::ReadWrite => FsPerms::ReadWrite,
            };
            // Checked at spawn; a directory removed since then is left out.
            if let Err(e) = wasi.preopened_dir(&dir.host, &dir.guest, perms) {
                tracing::warn!(dir = %dir.host.display(), error = %e, "cannot preopen a directory");
            }
        }
        match stdout {
            GuestOutput::Inherit => {
                wasi.inherit_stdout();
            }
            GuestOutput::Discard => {}
            GuestOutput::Capture(c) => {
                wasi.stdout(c.pipe.clone());
            }
            GuestOutput::Labelled => {
                wasi.stdout(LabelledOutput::new(&me.name, Stream::Stdout));
            }
        }
        match stderr {
            GuestOutput::Inherit => {
                wasi.inherit_stderr();
            }
            GuestOutput::Discard => {}
            GuestOutput::Capture(c) => {
                wasi.stderr(c.pipe.clone());
            }
            GuestOutput::Labelled => {
                wasi.stderr(LabelledOutput::new(&me.name, Stream::Stderr));
            }
        }
        ActorState {
            actor: me.name.clone(),
            me,
            my_mailbox,
            role,
            env,
            budget: MemoryBudget::new(memory_limit),
            lag: LagWatch::default(),
            current_method: None,
            wasi: wasi.build(),
            table: ResourceTable::new(),
        }
    }
}

impl ActorState {
    /// A handle to the actor this instance belongs to, while anyone else
    /// still holds one.
    pub(crate) fn current_actor(&self) -> Option<ActorHandle> {
        Some(ActorHandle {
            shared: self.me.clone(),
            mailbox: self.my_mailbox.upgrade()?,
        })
    }
}

impl WasiView for ActorState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
