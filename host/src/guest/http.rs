//! Outgoing HTTP (`wasi:http` 0.2 and 0.3, feature `http`): the hooks
//! through which every request of a guest passes. Each is checked against
//! its actor's grants ([`NetPolicy`]), counted against its bound, and sent
//! on a task of its own: plain `http` by our client (`http_client`),
//! `https` by wasmtime-wasi-http's (hyper and rustls).

use std::sync::Arc;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use super::net::NetPolicy;

/// The `wasi:http` hooks of an instance: every request is checked against
/// its actor's grants and counted against its bound before it is sent.
pub(crate) struct HttpHooks(pub(crate) Arc<NetPolicy>);

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let policy = self.0.clone();
        Box::new(async move {
            let uri = request.uri();
            let host = uri.host().unwrap_or_default().to_string();
            let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
                Some("https") => 443,
                _ => 80,
            });
            if !policy.allows_authority(&host, port) {
                let reason = policy.denial(&host, port);
                tracing::warn!(actor = %policy.actor, "refused an HTTP request: {reason}");
                return Err(wasmtime_wasi_http::Error::InternalError(Some(reason)));
            }
            // Held until the connection is done with, not just the headers.
            let permit = policy
                .connections
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| {
                    wasmtime_wasi_http::Error::InternalError(Some("the actor is gone".into()))
                })?;
            tracing::trace!(
                actor = %policy.actor,
                open = policy.max_connections - policy.connections.available_permits(),
                "HTTP request to {host}:{port}"
            );
            // Plain HTTP through our lean client; TLS through
            // wasmtime-wasi-http's (hyper and rustls).
            if uri.scheme_str() != Some("https") {
                // On a task of its own: the connect, the writes and the
                // head's reads then run on any worker thread, not all on
                // the actor's (where 10,000 requests of one actor queued up).
                let sending = spawn_owned(super::http_client::send(request, options, permit));
                let response = sending.await.map_err(task_ended)??;
                let done = Box::new(async { Ok(()) });
                return Ok((response, done as Box<dyn Future<Output = _> + Send>));
            }
            use http_body_util::BodyExt;
            // On a task of its own too (which also keeps its kilobytes of
            // state out of every plain request's future).
            let sending = spawn_owned(async move {
                let (response, io) =
                    wasmtime_wasi_http::default_send_request(request, options).await?;
                Ok::<_, wasmtime_wasi_http::Error>((response.map(BodyExt::boxed_unsync), io))
            });
            let (response, io) = sending.await.map_err(task_ended)??;
            let io = async move {
                let done = io.await;
                drop(permit);
                done
            };
            Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

/// A request's task that ended without an answer (it panicked).
fn task_ended(e: tokio::task::JoinError) -> wasmtime_wasi_http::Error {
    wasmtime_wasi_http::Error::InternalError(Some(format!("the request's task ended: {e}")))
}

/// Spawns `future` as a task that is aborted when the returned handle is
/// dropped: a request of a killed actor must not run on without it.
fn spawn_owned<F>(future: F) -> Owned<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Owned(tokio::spawn(future))
}

struct Owned<T>(tokio::task::JoinHandle<T>);

impl<T> Future for Owned<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
