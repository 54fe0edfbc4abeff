//! An async actor that fetches URLs, Ray's "async actor + aiohttp" in one
//! component:
//!
//! ```python
//! @ray.remote
//! class Fetcher:
//!     async def fetch(self, url):
//!         async with session.get(url) as r:
//!             return await r.text()
//! ```
//!
//! The host must grant the address (`wactor run --allow-net HOST:PORT`);
//! anything else fails inside `fetch` with the host's reason.

use std::cell::Cell;

use wasip3::http::client;
use wasip3::http::types::{ErrorCode, Fields, Method, Request, Response, Scheme};
use wasip3::sockets::ip_name_lookup;
use wasip3::sockets::types::{
    IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress, TcpSocket,
};
use wasip3::{wit_future, wit_stream};

wactor_guest::actor!("wactor-examples:http-fetch/http-fetch");

thread_local! {
    static IN_FLIGHT: Cell<u32> = const { Cell::new(0) };
    static PEAK: Cell<u32> = const { Cell::new(0) };
}

/// Counts a fetch in flight for as long as it lives.
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        let now = IN_FLIGHT.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        PEAK.with(|p| p.set(p.get().max(now)));
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.with(|n| n.set(n.get() - 1));
    }
}

struct HttpFetch;

impl Guest for HttpFetch {
    async fn fetch(url: String) -> Result<String, String> {
        let _counted = InFlight::start();
        request(&url, Method::Get, None).await
    }

    async fn post(url: String, body: String) -> Result<String, String> {
        request(&url, Method::Post, Some(body)).await
    }

    async fn tcp_echo(address: String, message: String) -> Result<String, String> {
        let addr: std::net::SocketAddr = address
            .parse()
            .map_err(|_| format!("{address}: not an IP:PORT address"))?;
        let (family, remote) = to_wasi(addr);
        let socket = TcpSocket::create(family).map_err(|e| format!("create: {e:?}"))?;
        socket
            .connect(remote)
            .await
            .map_err(|e| format!("connect to {address}: {e:?}"))?;
        let (mut tx, rx) = wit_stream::new();
        let sent = socket.send(rx);
        let (incoming, received) = socket.receive();
        let left = tx.write_all(message.into_bytes()).await;
        drop(tx);
        if !left.is_empty() {
            return Err(format!("{address}: the peer stopped reading"));
        }
        sent.await
            .map_err(|e| format!("send to {address}: {e:?}"))?;
        let reply = incoming.collect().await;
        received
            .await
            .map_err(|e| format!("receive from {address}: {e:?}"))?;
        String::from_utf8(reply).map_err(|_| format!("{address}: the reply is not UTF-8"))
    }

    async fn resolve(name: String) -> Result<Vec<String>, String> {
        let found = ip_name_lookup::resolve_addresses(name.clone())
            .await
            .map_err(|e| format!("{name}: {e:?}"))?;
        Ok(found
            .into_iter()
            .map(|ip| from_wasi(ip).to_string())
            .collect())
    }

    fn listen_on(port: u16) -> Result<u16, String> {
        let socket =
            TcpSocket::create(IpAddressFamily::Ipv4).map_err(|e| format!("create: {e:?}"))?;
        let local = IpSocketAddress::Ipv4(Ipv4SocketAddress {
            port,
            address: (127, 0, 0, 1),
        });
        socket
            .bind(local)
            .map_err(|e| format!("bind to port {port}: {e:?}"))?;
        let _connections = socket.listen().map_err(|e| format!("listen: {e:?}"))?;
        match socket.get_local_address() {
            Ok(IpSocketAddress::Ipv4(a)) => Ok(a.port),
            Ok(IpSocketAddress::Ipv6(a)) => Ok(a.port),
            Err(e) => Err(format!("local address: {e:?}")),
        }
    }

    fn peak_in_flight() -> u32 {
        PEAK.with(Cell::get)
    }
}

fn to_wasi(addr: std::net::SocketAddr) -> (IpAddressFamily, IpSocketAddress) {
    match addr {
        std::net::SocketAddr::V4(a) => {
            let [a0, a1, a2, a3] = a.ip().octets();
            let address = (a0, a1, a2, a3);
            let port = a.port();
            (
                IpAddressFamily::Ipv4,
                IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
            )
        }
        std::net::SocketAddr::V6(a) => {
            let s = a.ip().segments();
            let address = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]);
            let remote = Ipv6SocketAddress {
                port: a.port(),
                flow_info: 0,
                address,
                scope_id: 0,
            };
            (IpAddressFamily::Ipv6, IpSocketAddress::Ipv6(remote))
        }
    }
}

fn from_wasi(ip: IpAddress) -> std::net::IpAddr {
    match ip {
        IpAddress::Ipv4((a, b, c, d)) => std::net::Ipv4Addr::new(a, b, c, d).into(),
        IpAddress::Ipv6((a, b, c, d, e, f, g, h)) => {
            std::net::Ipv6Addr::new(a, b, c, d, e, f, g, h).into()
        }
    }
}

/// Sends `method` to `url` with `body` (streamed, no length) and returns
/// the answer's body.
async fn request(url: &str, method: Method, body: Option<String>) -> Result<String, String> {
    let (scheme, authority, path) = split_url(url)?;
    let (trailers_tx, trailers) = wit_future::new(|| Ok(None));
    drop(trailers_tx);
    let (contents, sending) = match body {
        Some(body) => {
            let (mut tx, rx) = wit_stream::new();
            let send = async move {
                tx.write_all(body.into_bytes()).await;
            };
            (Some(rx), Some(send))
        }
        None => (None, None),
    };
    let (request, _sent) = Request::new(Fields::new(), contents, trailers, None);
    let set = request
        .set_method(&method)
        .and(request.set_scheme(Some(&scheme)))
        .and(request.set_authority(Some(authority)))
        .and(request.set_path_with_query(Some(path)));
    set.map_err(|()| format!("{url}: not a valid request"))?;

    let answer = async {
        let response = client::send(request)
            .await
            .map_err(|e| format!("{url}: {}", describe(&e)))?;
        let status = response.get_status_code();
        let (done_tx, done) = wit_future::new(|| Ok(()));
        drop(done_tx);
        let (body, _trailers) = Response::consume_body(response, done);
        let bytes = body.collect().await;
        let text = String::from_utf8(bytes).map_err(|_| format!("{url}: the body is not UTF-8"))?;
        if (200..300).contains(&status) {
            Ok(text)
        } else {
            Err(format!("{url}: status {status}: {text}"))
        }
    };
    // The body is written while the request is sent.
    match sending {
        Some(send) => beside(send, answer).await,
        None => answer.await,
    }
}

/// Runs `side` to its end beside `main`, and returns what `main` returns.
async fn beside<T>(side: impl Future<Output = ()>, main: impl Future<Output = T>) -> T {
    let side = std::pin::pin!(side);
    let main = std::pin::pin!(main);
    let mut side = Some(side);
    let mut main = main;
    std::future::poll_fn(move |cx| {
        if let Some(s) = side.as_mut()
            && s.as_mut().poll(cx).is_ready()
        {
            side = None;
        }
        main.as_mut().poll(cx)
    })
    .await
}

/// `http[s]://authority/path?query` into its parts.
fn split_url(url: &str) -> Result<(Scheme, &str, &str), String> {
    let (scheme, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (Scheme::Http, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (Scheme::Https, rest)
    } else {
        return Err(format!(
            "{url}: only http:// and https:// URLs can be fetched"
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("{url}: the URL has no host"));
    }
    Ok((scheme, authority, path))
}

/// The host's reason where it gave one (e.g. an address not granted).
fn describe(error: &ErrorCode) -> String {
    match error {
        ErrorCode::InternalError(Some(reason)) => reason.clone(),
        other => format!("{other:?}"),
    }
}

export!(HttpFetch);
