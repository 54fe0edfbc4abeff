//! Real servers on loopback for the network tests and benchmarks: an HTTP
//! server (hyper) that counts what reaches it, a TCP echo server, a server
//! that answers garbage, and a port where nothing listens.
//!
//! Each binds 127.0.0.1:0 and runs on the calling tokio runtime until
//! dropped.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What reached a server.
#[derive(Debug, Default)]
pub struct Seen {
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl Seen {
    /// Requests (or connections, for the TCP servers) that reached it.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Requests (or connections) it is answering now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests it was answering at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    fn start(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn end(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A server on loopback; stops when dropped.
#[derive(Debug)]
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What reached it.
    pub seen: Arc<Seen>,
    task: JoinHandle<()>,
}

impl Server {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP/1.1 server with these pages:
/// - `/slow/MS`: `ok` after MS milliseconds;
/// - `/text/WORD`: `WORD`;
/// - `/chunked/N`: N chunks of `chunk I;` (no length: chunked encoding);
/// - `/echo`: the request's body;
/// - anything else: 404 `no such page`.
pub async fn http() -> Server {
    serve_on_loopback(|listener, seen| async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            let service = hyper::service::service_fn(move |request: Request<_>| {
                let seen = seen.clone();
                async move { Ok::<_, Infallible>(page(&seen, request).await) }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
    .await
}

/// Binds 127.0.0.1:0 and runs `accept` (the server's accept loop, given the
/// listener and the counters) as a task until the [`Server`] is dropped.
async fn serve_on_loopback<F, Fut>(accept: F) -> Server
where
    F: FnOnce(TcpListener, Arc<Seen>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    let seen = Arc::new(Seen::default());
    let task = tokio::spawn(accept(listener, seen.clone()));
    Server { addr, seen, task }
}

type Page = Response<BoxBody<Bytes, Infallible>>;

async fn page(seen: &Seen, request: Request<Incoming>) -> Page {
    seen.start();
    let path = request.uri().path().to_string();
    let full = |status, text: String| {
        let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
        *response.status_mut() = status;
        response
    };
    let response = if let Some(ms) = path.strip_prefix("/slow/") {
        let ms = ms.parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        full(StatusCode::OK, "ok".into())
    } else if let Some(word) = path.strip_prefix("/text/") {
        full(StatusCode::OK, word.into())
    } else if let Some(n) = path.strip_prefix("/chunked/") {
        let n: usize = n.parse().unwrap_or(0);
        let chunks = (0..n).map(|i| Ok(Frame::data(Bytes::from(format!("chunk {i};")))));
        Response::new(StreamBody::new(futures::stream::iter(chunks)).boxed())
    } else if path == "/echo" {
        let body = request.into_body().collect().await.map(|b| b.to_bytes());
        full(
            StatusCode::OK,
            String::from_utf8_lossy(&body.unwrap_or_default()).into_owned(),
        )
    } else {
        full(StatusCode::NOT_FOUND, "no such page".into())
    };
    seen.end();
    response
}

/// A TCP server that reads until the peer stops sending, then answers
/// `echo:` and what it read, and closes.
pub async fn tcp_echo() -> Server {
    tcp(|mut stream| async move {
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got).await;
        let _ = stream.write_all(b"echo:").await;
        let _ = stream.write_all(&got).await;
    })
    .await
}

/// A TCP server that answers anything with bytes that are not HTTP.
pub async fn garbage() -> Server {
    tcp(|mut stream| async move {
        let mut buf = [0; 1024];
        let _ = stream.read(&mut buf).await;
        let _ = stream
            .write_all(b"\x00\x01this is not HTTP at all\r\n\r\n")
            .await;
    })
    .await
}

async fn tcp<F, Fut>(serve: F) -> Server
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    serve_on_loopback(|listener, seen| async move {
        while let Ok((stream, _)) = listener.accept().await {
            seen.start();
            let done = seen.clone();
            let serving = serve(stream);
            tokio::spawn(async move {
                serving.await;
                done.end();
            });
        }
    })
    .await
}

/// A loopback address where nothing listens (bound, then let go).
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("an address")
}
