//! `wactor serve`: one actor behind HTTP.
//!
//! `POST /<method>` with a JSON array of arguments (the encoding of
//! `docs/values.md`; an empty body for none) calls the method and answers
//! with the JSON of its result. Every request is a call on the one actor, so
//! requests run as concurrently as the actor's `max_concurrency` lets them.
//!
//! | status | when |
//! | --- | --- |
//! | 200 | the result, as JSON |
//! | 400 | arguments that do not fit the method's signature, or not JSON |
//! | 404 | no such method |
//! | 405 | not a `POST` (`GET /` lists the methods) |
//! | 413 | a body over `--max-body-size` |
//! | 422 | the method returned `err`: the error value's JSON |
//! | 503 | backpressure: the actor's queue is full |
//! | 504 | the call passed `--call-deadline` |
//! | 500 | the actor died, or any other failure |
//!
//! Every answer but 200 and 422 is `{"error": "..."}`. On SIGINT or SIGTERM
//! the server stops accepting, lets running requests finish, and exits.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use wactor::{ActorHandle, Error};

use crate::sandbox::SandboxArgs;

/// The default `--max-body-size`: 1 MiB.
const DEFAULT_MAX_BODY: usize = 1 << 20;

/// How long a stop waits for running requests before it leaves anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// The actor's component (`.wasm`).
    component: PathBuf,

    /// The address to listen on (port 0 picks a free port; the address
    /// taken is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// Calls that may run at once: interleaved calls for an async actor
    /// (default 1000), instances in the pool for a threaded actor (default 1).
    #[arg(long, value_name = "N")]
    max_concurrency: Option<usize>,

    /// The actor's name, used in logs and errors.
    #[arg(long)]
    name: Option<String>,

    /// The largest request body read, in bytes; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BODY)]
    max_body_size: usize,

    #[command(flatten)]
    sandbox: SandboxArgs,
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    args.sandbox.start_metrics().await?;
    let (_runtime, component) = crate::load(&args.component, Some(&args.sandbox), None, None)?;
    if component.command_entry().is_some() {
        bail!(
            "{} is a program (it exports `wasi:cli/run`); `wactor serve` puts an actor's \
             methods behind HTTP: run programs with `wactor run`",
            args.component.display()
        );
    }
    let mut options = args.sandbox.options();
    if let Some(n) = args.max_concurrency {
        options = options.max_concurrency(n);
    }
    if let Some(name) = &args.name {
        options = options.name(name.clone());
    }
    let actor = Arc::new(component.spawn(options)?);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr()?;
    say!(
        "serving {} ({}, max_concurrency {}{}) on http://{addr}: POST /<method> with a JSON \
         array of arguments",
        actor.name(),
        actor.kind(),
        actor.max_concurrency(),
        args.sandbox.groups_note()
    );

    let graceful = GracefulShutdown::new();
    let max_body = args.max_body_size;
    let stop = stop_signal();
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, say: the server goes on.
                Err(e) => {
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            signal = &mut stop => {
                say!("{signal}: no longer accepting; finishing the requests in progress");
                break;
            }
        };
        let actor = actor.clone();
        let service = hyper::service::service_fn(move |request| {
            let actor = actor.clone();
            async move { Ok::<_, Infallible>(answer(&actor, max_body, request).await) }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("an HTTP connection ended with an error: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        say!("requests still running after {DRAIN_TIMEOUT:?}: stopping anyway");
    }
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGINT or SIGTERM, naming it.
pub(crate) async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

type Answer = Response<Full<Bytes>>;

/// One request: read, call, answer. Never fails: every failure is a status.
async fn answer(actor: &ActorHandle, max_body: usize, request: Request<Incoming>) -> Answer {
    let method = request.uri().path().trim_start_matches('/').to_string();
    if request.method() != Method::POST {
        if request.method() == Method::GET && method.is_empty() {
            return methods(actor);
        }
        let mut response = error(
            StatusCode::METHOD_NOT_ALLOWED,
            "call a method with POST /<method> (GET / lists them)",
        );
        response.headers_mut().insert(
            hyper::header::ALLOW,
            "POST".parse().expect("a header value"),
        );
        return response;
    }
    if actor.method(&method).is_none() {
        return error(
            StatusCode::NOT_FOUND,
            &format!(
                "{} has no method `{method}` (GET / lists them)",
                actor.name()
            ),
        );
    }
    let body = match Limited::new(request.into_body(), max_body).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is over {max_body} bytes (--max-body-size)"),
            );
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, &format!("reading the body: {e}")),
    };
    let Ok(text) = std::str::from_utf8(&body) else {
        return error(StatusCode::BAD_REQUEST, "the body is not UTF-8 JSON");
    };
    let text = if text.trim().is_empty() { "[]" } else { text };
    let outcome = match actor.call_json(&method, text) {
        Ok(result) => result.await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(value) => json(StatusCode::OK, wactor::to_json(&value)),
        Err(Error::MethodFailed { error, .. }) => json(
            StatusCode::UNPROCESSABLE_ENTITY,
            error.map_or_else(|| "null".to_string(), |e| wactor::to_json(&e)),
        ),
        Err(e) => error(status_of(&e), &e.to_string()),
    }
}

/// The status for a call that failed with `e`.
fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::UnknownMethod { .. } => StatusCode::NOT_FOUND,
        Error::WrongArity { .. }
        | Error::WrongType { .. }
        | Error::BadArguments { .. }
        | Error::InvalidValue { .. } => StatusCode::BAD_REQUEST,
        Error::Backpressure { .. } | Error::QuotaExceeded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Error::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `GET /`: the actor's methods and their WIT signatures.
fn methods(actor: &ActorHandle) -> Answer {
    let list: serde_json::Map<String, serde_json::Value> = actor
        .methods()
        .filter(|m| m.is_callable())
        .map(|m| (m.name().to_string(), m.signature().to_string().into()))
        .collect();
    json(
        StatusCode::OK,
        serde_json::json!({ "actor": actor.name(), "methods": list }).to_string(),
    )
}

fn error(status: StatusCode, message: &str) -> Answer {
    json(status, serde_json::json!({ "error": message }).to_string())
}

fn json(status: StatusCode, body: String) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        "application/json".parse().expect("a header value"),
    );
    response
}
