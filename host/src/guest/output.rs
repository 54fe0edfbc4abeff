//! Where a guest's stdout and stderr go: the host's streams (plain or
//! labelled with the actor's name), nowhere, or an in-memory capture.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

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
        let host = match self {
            GuestOutput::Discard => return,
            GuestOutput::Capture(c) => {
                match stream {
                    Stream::Stdout => wasi.stdout(c.pipe.clone()),
                    Stream::Stderr => wasi.stderr(c.pipe.clone()),
                };
                return;
            }
            GuestOutput::Labelled if !driver => HostOutput::labelled(actor, stream),
            GuestOutput::Inherit | GuestOutput::Labelled => HostOutput::plain(stream),
        };
        match stream {
            Stream::Stdout => wasi.stdout(host),
            Stream::Stderr => wasi.stderr(host),
        };
    }
}

/// Which of the host's streams a [`HostOutput`] writes to.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// The host's stdout or stderr, as a guest writes to it: plain, or with
/// each line prefixed by the actor's name and its control characters
/// escaped.
///
/// Writes go through tokio's stdio, which does the blocking write on a
/// thread of the blocking pool: a stdout nobody reads (a full pipe) then
/// stalls only the actor that writes, which waits for its write to finish,
/// and never a worker thread, which every other actor needs. A writing
/// actor stuck so can still be killed.
#[derive(Clone)]
struct HostOutput {
    prefix: Option<Arc<str>>,
    stream: Stream,
}

impl HostOutput {
    fn plain(stream: Stream) -> Self {
        HostOutput {
            prefix: None,
            stream,
        }
    }

    fn labelled(actor: &str, stream: Stream) -> Self {
        HostOutput {
            prefix: Some(format!("[{actor}] ").into()),
            stream,
        }
    }
}

impl wasmtime_wasi::cli::IsTerminal for HostOutput {
    fn is_terminal(&self) -> bool {
        // A labelled stream is not a terminal to the guest: its escapes
        // would be written out anyway.
        self.prefix.is_none()
            && match self.stream {
                Stream::Stdout => std::io::IsTerminal::is_terminal(&std::io::stdout()),
                Stream::Stderr => std::io::IsTerminal::is_terminal(&std::io::stderr()),
            }
    }
}

impl wasmtime_wasi::cli::StdoutStream for HostOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        let sink: Pin<Box<dyn AsyncWrite + Send + Sync>> = match self.stream {
            Stream::Stdout => Box::pin(tokio::io::stdout()),
            Stream::Stderr => Box::pin(tokio::io::stderr()),
        };
        Box::new(HostWriter {
            prefix: self.prefix.clone(),
            sink,
            pending: Vec::new(),
            written: 0,
            at_line_start: true,
            carry: Vec::new(),
        })
    }
}

struct HostWriter {
    prefix: Option<Arc<str>>,
    sink: Pin<Box<dyn AsyncWrite + Send + Sync>>,
    /// Bytes accepted from the guest and not yet written, from `written` on.
    pending: Vec<u8>,
    written: usize,
    at_line_start: bool,
    /// The start of a character cut short by the end of the last write.
    carry: Vec<u8>,
}

impl HostWriter {
    /// Writes what is pending; `Pending` while the host stream is busy.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while self.written < self.pending.len() {
            match self
                .sink
                .as_mut()
                .poll_write(cx, &self.pending[self.written..])
            {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => {
                    // What could not be written is dropped with the error.
                    self.pending.clear();
                    self.written = 0;
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Takes `buf` into `pending`: as it is, or labelled and escaped.
    fn accept(&mut self, buf: &[u8]) {
        let Some(prefix) = self.prefix.clone() else {
            self.pending.extend_from_slice(buf);
            return;
        };
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(buf);
        for line in data.split_inclusive(|b| *b == b'\n') {
            if self.at_line_start {
                self.pending.extend_from_slice(prefix.as_bytes());
            }
            // Control characters are escaped: a guest's line cannot
            // rewrite the terminal or pass for the host's own output.
            let (body, ends_line) = match line.strip_suffix(b"\n") {
                Some(body) => (body, true),
                None => (line, false),
            };
            let left = escape_control_bytes(body, &mut self.pending, !ends_line);
            if ends_line {
                self.pending.push(b'\n');
            } else {
                self.carry = body[body.len() - left..].to_vec();
            }
            self.at_line_start = ends_line;
        }
    }
}

impl AsyncWrite for HostWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        // Nothing new is taken while the last write is still going out: the
        // guest waits, and its output stays bounded by one write.
        std::task::ready!(this.drain(cx))?;
        this.accept(buf);
        // Start the write now; a flush (or the next write) finishes it.
        if let Poll::Ready(Err(e)) = this.drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.drain(cx))?;
        this.sink.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
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
