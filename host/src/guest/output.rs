//! Where a guest's stdout and stderr go: the host's streams (plain or
//! labelled with the actor's name), nowhere, or an in-memory capture.

use std::sync::Arc;

use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use crate::value::escape_control_bytes;

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
    /// uses), and control characters (`\r`, ANSI escapes, ...) written out
    /// as escapes, so a line cannot pass for another actor's or the host's. A driver program's own output is not prefixed; the actors it
    /// spawns are.
    Labelled,
    /// Dropped.
    Discard,
    /// Kept in memory; read it with [`OutputCapture::contents`].
    Capture(OutputCapture),
}

impl GuestOutput {
    /// Sets `wasi`'s stdout (or stderr) to this output, for the actor
    /// `actor`; a driver's own output is never labelled.
    pub(crate) fn apply(
        &self,
        wasi: &mut wasmtime_wasi::WasiCtxBuilder,
        stream: Stream,
        actor: &str,
        driver: bool,
    ) {
        match (self, stream) {
            (GuestOutput::Discard, _) => {}
            (GuestOutput::Inherit, Stream::Stdout) => {
                wasi.inherit_stdout();
            }
            (GuestOutput::Inherit, Stream::Stderr) => {
                wasi.inherit_stderr();
            }
            (GuestOutput::Labelled, _) if driver => {
                GuestOutput::Inherit.apply(wasi, stream, actor, driver);
            }
            (GuestOutput::Labelled, Stream::Stdout) => {
                wasi.stdout(LabelledOutput::new(actor, stream));
            }
            (GuestOutput::Labelled, Stream::Stderr) => {
                wasi.stderr(LabelledOutput::new(actor, stream));
            }
            (GuestOutput::Capture(c), Stream::Stdout) => {
                wasi.stdout(c.pipe.clone());
            }
            (GuestOutput::Capture(c), Stream::Stderr) => {
                wasi.stderr(c.pipe.clone());
            }
        }
    }
}

/// Which of the host's streams a [`LabelledOutput`] writes to.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// The host's stdout or stderr, with each line a guest writes prefixed by
/// its actor's name and its control characters escaped. Writes go straight to the host stream: they are small,
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
            carry: Vec::new(),
        })
    }
}

struct LabelledWriter {
    out: LabelledOutput,
    at_line_start: bool,
    /// The start of a character cut short by the end of the last write.
    carry: Vec<u8>,
}

impl tokio::io::AsyncWrite for LabelledWriter {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::io::Write;
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(buf);
        let mut text = Vec::with_capacity(data.len() + self.out.prefix.len());
        for line in data.split_inclusive(|b| *b == b'\n') {
            if self.at_line_start {
                text.extend_from_slice(self.out.prefix.as_bytes());
            }
            // Control characters are escaped: a guest's line cannot
            // rewrite the terminal or pass for the host's own output.
            let (body, ends_line) = match line.strip_suffix(b"\n") {
                Some(body) => (body, true),
                None => (line, false),
            };
            let left = escape_control_bytes(body, &mut text, !ends_line);
            if ends_line {
                text.push(b'\n');
            } else {
                self.carry = body[body.len() - left..].to_vec();
            }
            self.at_line_start = ends_line;
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
