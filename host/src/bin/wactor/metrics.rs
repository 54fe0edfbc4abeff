//! `--metrics ADDR`: the runtime's metrics for Prometheus at
//! `http://ADDR/metrics`.
//!
//! The library reports through the `metrics` facade; here the binary
//! installs `metrics-exporter-prometheus`'s recorder (before the runtime
//! loads anything: handles are made at load) and serves its text with
//! hyper, as `wactor serve` serves actors.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Call durations, in seconds: from a trivial call to a minute.
const DURATION_BUCKETS: &[f64] = &[
    0.000_01, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0,
];

/// Installs the Prometheus recorder and serves it on `addr`; returns the
/// address it listens on (for `:0`, the port chosen).
pub(crate) async fn serve(addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("wactor_call_duration_seconds".into()),
            DURATION_BUCKETS,
        )
        .context("the duration buckets")?
        .install_recorder()
        .context("installing the metrics recorder")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("--metrics {addr}: cannot listen there"))?;
    let local = listener.local_addr()?;
    // The recorder's histograms are drained into their buckets here.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let handle = handle.clone();
            let service = hyper::service::service_fn(move |request| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(answer(&handle, request.uri().path())) }
            });
            tokio::spawn(async move {
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                if let Err(e) = connection.await {
                    tracing::debug!("a metrics connection ended with an error: {e}");
                }
            });
        }
    });
    say!("metrics on http://{local}/metrics");
    Ok(local)
}

fn answer(handle: &PrometheusHandle, path: &str) -> Response<Full<Bytes>> {
    let (status, body) = if path == "/metrics" {
        (StatusCode::OK, handle.render())
    } else {
        (StatusCode::NOT_FOUND, "only /metrics is here\n".to_string())
    };
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; version=0.0.4")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response")
}
