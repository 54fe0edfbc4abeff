//! The client behind guests' plain-`http` requests: HTTP/1.1, one
//! connection per request, that holds no buffer while it waits.
//!
//! Why not hyper's client (which `https` still uses): hyper gives every
//! connection an 8 KiB header buffer and an 8 KiB read buffer from the
//! start, so 10,000 requests waiting on a slow server held ~150 MiB of
//! buffers that were empty. Here a request's head is written from a buffer
//! of its exact size and dropped; the response is read only once the
//! socket is readable, into a buffer that lives while bytes are in it. A
//! waiting request costs its socket and a few hundred bytes of state.
//!
//! Bodies out: as given, with the request's `content-length`, or chunked
//! when it has none. Bodies in: `content-length`, chunked, or until the
//! server closes. The timeouts of `wasi:http` request options apply
//! (connect, first byte, between bytes; 600 s each by default, as
//! wasmtime-wasi-http's own client).

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// The longest response head (status line and headers) read.
const MAX_HEAD: usize = 64 * 1024;

/// The most headers in a response head.
const MAX_HEADERS: usize = 128;

/// The longest chunk-size or trailer line read.
const MAX_LINE: usize = 4096;

/// How much one read of a response takes from the socket at most.
const READ_CHUNK: usize = 16 * 1024;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Sends `request` (an `http://` URI with its authority) and returns the
/// response, whose body reads from the connection as the guest reads it.
/// `held` (the actor's connection permit) lives as long as the connection.
pub(crate) async fn send(
    request: Request<WasiBody>,
    options: Option<RequestOptions>,
    held: OwnedSemaphorePermit,
) -> Result<Response<WasiBody>, Error> {
    let timeout = |pick: fn(&RequestOptions) -> Option<Duration>| {
        options.as_ref().and_then(pick).unwrap_or(DEFAULT_TIMEOUT)
    };
    let (connect, first_byte, between_bytes) = (
        timeout(|o| o.connect_timeout),
        timeout(|o| o.first_byte_timeout),
        timeout(|o| o.between_bytes_timeout),
    );
    let authority = request
        .uri()
        .authority()
        .ok_or(Error::HttpRequestUriInvalid)?;
    let address = match authority.port() {
        Some(_) => authority.to_string(),
        None => format!("{authority}:80"),
    };
    let mut stream = match tokio::time::timeout(connect, TcpStream::connect(&address)).await {
        Ok(connected) => connected.map_err(Error::Connect)?,
        Err(_) => return Err(Error::ConnectionTimeout),
    };
    let head_only = request.method() == Method::HEAD;
    let (parts, body) = request.into_parts();
    let empty = body.is_end_stream() || body.size_hint().exact() == Some(0);
    let chunked = !empty && !parts.headers.contains_key(http::header::CONTENT_LENGTH);
    // A body goes out in writes after the head: without this, Nagle's
    // algorithm holds the second one back for the server's delayed ACK.
    if !empty {
        let _ = stream.set_nodelay(true);
    }
    let head = request_head(&parts, chunked);
    // Not kept across the waits below: a waiting request holds only its socket.
    drop(parts);
    stream
        .write_all(&head)
        .await
        .map_err(|_| Error::ConnectionTerminated)?;
    drop(head);
    write_body(&mut stream, body, chunked).await?;

    let (status, headers, rest) =
        match tokio::time::timeout(first_byte, read_head(&mut stream)).await {
            Ok(head) => head?,
            Err(_) => return Err(Error::ConnectionReadTimeout),
        };
    let framing = framing(status, &headers, head_only)?;
    let body = Incoming {
        stream,
        buf: rest,
        framing,
        between_bytes,
        timer: None,
        _held: held,
    };
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// `METHOD /path HTTP/1.1`, the headers, and the framing of the body.
fn request_head(parts: &http::request::Parts, chunked: bool) -> Vec<u8> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut len = parts.method.as_str().len() + path.len() + 64;
    for (name, value) in &parts.headers {
        len += name.as_str().len() + value.len() + 4;
    }
    let mut head = Vec::with_capacity(len);
    head.extend_from_slice(parts.method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(path.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    if !parts.headers.contains_key(http::header::HOST)
        && let Some(authority) = parts.uri.authority()
    {
        head.extend_from_slice(b"host: ");
        head.extend_from_slice(authority.as_str().as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    for (name, value) in &parts.headers {
        // The framing is this client's to choose; one request per connection.
        if name == http::header::TRANSFER_ENCODING || name == http::header::CONNECTION {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if chunked {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    head.extend_from_slice(b"connection: close\r\n\r\n");
    head
}

async fn write_body(
    stream: &mut TcpStream,
    mut body: WasiBody,
    chunked: bool,
) -> Result<(), Error> {
    let write = |e: std::io::Error| {
        tracing::debug!("writing a request body: {e}");
        Error::ConnectionTerminated
    };
    while let Some(frame) = body.frame().await {
        let frame = frame?;
        if let Ok(data) = frame.into_data() {
            if data.is_empty() {
                continue;
            }
            if chunked {
                stream
                    .write_all(format!("{:x}\r\n", data.len()).as_bytes())
                    .await
                    .map_err(write)?;
            }
            stream.write_all(&data).await.map_err(write)?;
            if chunked {
                stream.write_all(b"\r\n").await.map_err(write)?;
            }
        }
        // Trailers are not sent: few servers read them.
    }
    if chunked {
        stream.write_all(b"0\r\n\r\n").await.map_err(write)?;
    }
    Ok(())
}

/// Reads the response head; returns it and the bytes read past it. The
/// buffer is made only once the socket has something to read.
async fn read_head(stream: &mut TcpStream) -> Result<(StatusCode, HeaderMap, BytesMut), Error> {
    let mut buf = BytesMut::new();
    loop {
        stream
            .readable()
            .await
            .map_err(|_| Error::ConnectionTerminated)?;
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        match stream.try_read_buf(&mut buf) {
            Ok(0) => {
                return Err(if buf.is_empty() {
                    Error::ConnectionTerminated
                } else {
                    Error::HttpResponseIncomplete
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return Err(Error::ConnectionTerminated),
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = parsed
                    .code
                    .and_then(|c| StatusCode::from_u16(c).ok())
                    .ok_or(Error::HttpProtocolError)?;
                let mut map = HeaderMap::with_capacity(parsed.headers.len());
                for h in parsed.headers.iter() {
                    let name = HeaderName::from_bytes(h.name.as_bytes())
                        .map_err(|_| Error::HttpProtocolError)?;
                    let value =
                        HeaderValue::from_bytes(h.value).map_err(|_| Error::HttpProtocolError)?;
                    map.append(name, value);
                }
                // Informational answers (100 Continue) are skipped.
                if status.is_informational() {
                    buf.advance(len);
                    continue;
                }
                buf.advance(len);
                return Ok((status, map, buf));
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(Error::HttpResponseHeaderSectionSize(None));
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Error::HttpResponseHeaderSectionSize(None));
            }
            Err(e) => {
                tracing::debug!("an unreadable response head: {e}");
                return Err(Error::HttpProtocolError);
            }
        }
    }
}

/// How the body of a response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body (HEAD, 204, 304) or all of it read.
    Done,
    /// So many bytes left.
    Length(u64),
    /// Chunked: reading the next chunk's size line.
    ChunkSize,
    /// Chunked: so many bytes left of this chunk, then its CRLF.
    ChunkData(u64),
    /// Chunked: the CRLF after a chunk's data.
    ChunkEnd,
    /// Chunked: trailer lines up to an empty one.
    Trailers,
    /// Until the server closes.
    Eof,
}

fn framing(status: StatusCode, headers: &HeaderMap, head_only: bool) -> Result<Framing, Error> {
    if head_only || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Ok(Framing::Done);
    }
    let chunked = headers
        .get_all(http::header::TRANSFER_ENCODING)
        .iter()
        .any(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|c| c.trim().eq_ignore_ascii_case("chunked"))
            })
        });
    if chunked {
        return Ok(Framing::ChunkSize);
    }
    match headers.get(http::header::CONTENT_LENGTH) {
        Some(len) => len
            .to_str()
            .ok()
            .and_then(|l| l.trim().parse().ok())
            .map(|n| {
                if n == 0 {
                    Framing::Done
                } else {
                    Framing::Length(n)
                }
            })
            .ok_or(Error::HttpProtocolError),
        None => Ok(Framing::Eof),
    }
}

/// A response body, read from its connection as it is polled.
struct Incoming {
    stream: TcpStream,
    /// Bytes read and not yet handed out.
    buf: BytesMut,
    framing: Framing,
    between_bytes: Duration,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    _held: OwnedSemaphorePermit,
}

impl Incoming {
    /// Reads more into `buf`; `Ok(false)` at the end of the stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, Error>> {
        let mut chunk = [0u8; READ_CHUNK];
        let mut read = ReadBuf::new(&mut chunk);
        match Pin::new(&mut self.stream).poll_read(cx, &mut read) {
            Poll::Ready(Ok(())) => {
                self.timer = None;
                self.buf.extend_from_slice(read.filled());
                Poll::Ready(Ok(!read.filled().is_empty()))
            }
            Poll::Ready(Err(e)) => {
                tracing::debug!("reading a response body: {e}");
                Poll::Ready(Err(Error::ConnectionTerminated))
            }
            Poll::Pending => {
                let between = self.between_bytes;
                let timer = self
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(between)));
                ready!(timer.as_mut().poll(cx));
                Poll::Ready(Err(Error::ConnectionReadTimeout))
            }
        }
    }

    /// Takes a CRLF-ended line from `buf`, if a whole one is there.
    fn take_line(&mut self) -> Result<Option<Bytes>, Error> {
        match self.buf.windows(2).position(|w| w == b"\r\n") {
            Some(at) => {
                let line = self.buf.split_to(at).freeze();
                self.buf.advance(2);
                Ok(Some(line))
            }
            None if self.buf.len() > MAX_LINE => Err(Error::HttpProtocolError),
            None => Ok(None),
        }
    }
}

impl Body for Incoming {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        loop {
            let need_more = match this.framing {
                Framing::Done => return Poll::Ready(None),
                Framing::Length(left) | Framing::ChunkData(left) if !this.buf.is_empty() => {
                    let take = this
                        .buf
                        .len()
                        .min(usize::try_from(left).unwrap_or(usize::MAX));
                    let data = this.buf.split_to(take).freeze();
                    let left = left - take as u64;
                    this.framing = match (this.framing, left) {
                        (Framing::Length(_), 0) => Framing::Done,
                        (Framing::Length(_), n) => Framing::Length(n),
                        (_, 0) => Framing::ChunkEnd,
                        (_, n) => Framing::ChunkData(n),
                    };
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::Eof if !this.buf.is_empty() => {
                    let data = this.buf.split().freeze();
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::ChunkSize => match this.take_line() {
                    Err(e) => return Poll::Ready(Some(Err(e))),
                    Ok(Some(line)) => {
                        let size = std::str::from_utf8(&line)
                            .ok()
                            .and_then(|l| l.split(';').next())
                            .and_then(|s| u64::from_str_radix(s.trim(), 16).ok());
                        this.framing = match size {
                            Some(0) => Framing::Trailers,
                            Some(n) => Framing::ChunkData(n),
                            None => return Poll::Ready(Some(Err(Error::HttpProtocolError))),
                        };
                        false
                    }
                    Ok(None) => true,
                },
                Framing::ChunkEnd => match this.take_line() {
                    Err(e) => return Poll::Ready(Some(Err(e))),
                    Ok(Some(line)) if line.is_empty() => {
                        this.framing = Framing::ChunkSize;
                        false
                    }
                    Ok(Some(_)) => return Poll::Ready(Some(Err(Error::HttpProtocolError))),
                    Ok(None) => true,
                },
                // Trailer fields are read past, not handed on.
                Framing::Trailers => match this.take_line() {
                    Err(e) => return Poll::Ready(Some(Err(e))),
                    Ok(Some(line)) if line.is_empty() => {
                        this.framing = Framing::Done;
                        false
                    }
                    Ok(Some(_)) => false,
                    Ok(None) => true,
                },
                Framing::Length(_) | Framing::ChunkData(_) | Framing::Eof => true,
            };
            if need_more {
                match ready!(this.poll_fill(cx)) {
                    Ok(true) => {}
                    Ok(false) if this.framing == Framing::Eof => {
                        this.framing = Framing::Done;
                    }
                    Ok(false) => return Poll::Ready(Some(Err(Error::HttpResponseIncomplete))),
                    Err(e) => return Poll::Ready(Some(Err(e))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.framing == Framing::Done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_says_how_its_body_ends() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            framing(StatusCode::OK, &headers, false).unwrap(),
            Framing::Eof
        );
        assert_eq!(
            framing(StatusCode::OK, &headers, true).unwrap(),
            Framing::Done
        );
        assert_eq!(
            framing(StatusCode::NO_CONTENT, &headers, false).unwrap(),
            Framing::Done
        );
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("12"));
        assert_eq!(
            framing(StatusCode::OK, &headers, false).unwrap(),
            Framing::Length(12)
        );
        headers.insert(
            http::header::TRANSFER_ENCODING,
            HeaderValue::from_static("gzip, chunked"),
        );
        assert_eq!(
            framing(StatusCode::OK, &headers, false).unwrap(),
            Framing::ChunkSize
        );
        let mut bad = HeaderMap::new();
        bad.insert(http::header::CONTENT_LENGTH, HeaderValue::from_static("-1"));
        assert!(framing(StatusCode::OK, &bad, false).is_err());
    }
}
