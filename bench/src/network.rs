//! The network workloads: many concurrent HTTP GETs from one async actor
//! (Ray's "async actor + aiohttp"), and `wactor serve` under load.
//!
//! The slow server is this binary again (`--serve-slow MS`), in a process of
//! its own as the Ray side's aiohttp server is, so the actor's memory figure
//! is the actor's alone.

use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::future::join_all;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use wactor::{ActorOptions, GuestOutput, Runtime};

use crate::figures::Figure;
use crate::scale::{Scale, rss_kib};

/// Serves `ok` after `ms` milliseconds on 127.0.0.1, printing the port,
/// until stdin closes. One thread, as the Ray side's aiohttp server.
pub(crate) fn serve_slow(ms: u64) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind("127.0.0.1:0".parse()?)?;
        // As deep a queue as the Ray side's (`backlog=16384`): 10,000
        // connections arrive at once.
        let listener = socket.listen(16_384)?;
        println!("{}", listener.local_addr()?.port());
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_line(&mut String::new());
            std::process::exit(0);
        });
        loop {
            let (stream, _) = listener.accept().await?;
            let service = hyper::service::service_fn(move |_request| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"ok"))))
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

/// A child process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the slow server; returns it and its address.
fn start_slow_server(ms: u64) -> Result<(Process, SocketAddr)> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve-slow", &ms.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting the slow server")?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("its stdout")?).read_line(&mut line)?;
    let port: u16 = line.trim().parse().context("the slow server's port")?;
    Ok((Process(child), SocketAddr::from(([127, 0, 0, 1], port))))
}

/// Forgets this process's peak resident set, so the next reading of
/// `VmHWM` is the peak from now on (Linux `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_kib() -> Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("VmHWM without a number")?
        .parse()?)
}

/// How long the slow server takes to answer, in milliseconds: 100 ms as
/// on the Ray side, 20 ms in `--quick` runs.
fn page_delay(scale: Scale) -> u64 {
    if scale.many_calls >= Scale::FULL.many_calls {
        100
    } else {
        20
    }
}

/// `n` concurrent GETs from one `http-fetch` actor against a server that
/// answers each after `delay`: the rate (`rate`) or the peak memory
/// growth of this process (otherwise).
pub(crate) async fn http_gets(rt: &Runtime, scale: Scale, rate: bool) -> Result<Figure> {
    let n = scale.many_calls as usize;
    let delay = page_delay(scale);
    let (_server, addr) = start_slow_server(delay)?;
    let url = format!("http://{addr}/slow");
    let actor = rt.load(wactor_examples::HTTP_FETCH)?.spawn(
        ActorOptions::new()
            .stdout(GuestOutput::Discard)
            .allow_net(addr.to_string())
            .max_concurrency(n)
            .max_pending_calls(n)
            .max_connections(n),
    )?;
    // Warm-up: the instance, the connection path, the guest's allocator.
    for r in join_all((0..10).map(|_| actor.call("fetch", (url.as_str(),)).unwrap())).await {
        r?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle = rss_kib()?;
    reset_peak_rss();
    let start = Instant::now();
    let refs: Vec<_> = (0..n)
        .map(|_| actor.call("fetch", (url.as_str(),)))
        .collect::<wactor::Result<_>>()?;
    let outcomes = join_all(refs).await;
    let wall = start.elapsed();
    let peak = peak_rss_kib()?.max(idle);
    let ok = outcomes.iter().filter(|o| o.is_ok()).count();
    if let Some(Err(e)) = outcomes.iter().find(|o| o.is_err()) {
        bail!("{} of {n} fetches failed, e.g.: {e}", n - ok);
    }
    let seen = actor.call("peak-in-flight", ())?.await?;
    let detail = format!(
        "{n} x fetch of a page that answers after {delay} ms, one async actor (the guest had {} \
         in flight at once): {ok} ok in {:.2} s, {:.0}/s; process RSS {:.0} MiB idle, peak {:.0} \
         MiB (+{:.0} MiB); server in its own process",
        wactor::to_json(&seen),
        wall.as_secs_f64(),
        ok as f64 / wall.as_secs_f64(),
        idle / 1024.0,
        peak / 1024.0,
        (peak - idle) / 1024.0,
    );
    Ok(Figure {
        value: if rate {
            ok as f64 / wall.as_secs_f64()
        } else {
            (peak - idle) / 1024.0
        },
        detail,
    })
}

/// The same 10,000 GETs from plain Rust (tokio and a hyper client, one
/// connection each, no wasm): what the machine and the server allow.
pub(crate) async fn http_gets_bare(scale: Scale) -> Result<Figure> {
    let n = scale.many_calls as usize;
    let delay = page_delay(scale);
    let (_server, addr) = start_slow_server(delay)?;
    let get = move || async move {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        let request = hyper::Request::get("/slow")
            .header(hyper::header::HOST, addr.to_string())
            .body(Full::new(Bytes::new()))?;
        let response = sender.send_request(request).await?;
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::ensure!(body.as_ref() == b"ok", "answered {body:?}");
        anyhow::Ok(())
    };
    for r in join_all((0..10).map(|_| tokio::spawn(get()))).await {
        r??;
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(get())).collect();
    let mut ok = 0;
    for r in join_all(tasks).await {
        r??;
        ok += 1;
    }
    let wall = start.elapsed();
    Ok(Figure {
        value: ok as f64 / wall.as_secs_f64(),
        detail: format!(
            "{n} x GET of a page that answers after {delay} ms from tokio tasks with hyper's \
             client, one connection each, no wasm: {ok} ok in {:.2} s",
            wall.as_secs_f64()
        ),
    })
}

/// `wactor serve` of the async actor, loaded by `CONNECTIONS` clients on
/// keep-alive connections each posting `/ping` one request after another.
pub(crate) async fn serve_requests(scale: Scale) -> Result<Figure> {
    const CONNECTIONS: usize = 32;
    let wactor = wactor_binary()?;
    let mut child = Command::new(&wactor)
        .args([
            "serve",
            wactor_examples::ASYNC_ACTOR,
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", wactor.display()))?;
    let mut line = String::new();
    BufReader::new(child.stderr.take().context("its stderr")?).read_line(&mut line)?;
    let _served = Process(child);
    let addr: SocketAddr = line
        .split_once("http://")
        // "… on http://ADDR: POST /<method> …"
        .and_then(|(_, rest)| rest.split_once(": "))
        .and_then(|(addr, _)| addr.parse().ok())
        .with_context(|| format!("no address in {line:?}"))?;

    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(client(addr, done.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(scale.window / 3).await;
    let start = (Instant::now(), done.load(Ordering::Relaxed));
    tokio::time::sleep(scale.window).await;
    let (elapsed, count) = (start.0.elapsed(), done.load(Ordering::Relaxed) - start.1);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await??;
    }
    let rate = count as f64 / elapsed.as_secs_f64();
    Ok(Figure {
        value: rate,
        detail: format!(
            "POST /ping [1] on {CONNECTIONS} keep-alive HTTP/1.1 connections (a hyper client in \
             the bench process) to `wactor serve async_actor.wasm`: {count} answers in {:.1} s",
            elapsed.as_secs_f64()
        ),
    })
}

/// One keep-alive connection posting `/ping` until `stop`.
async fn client(addr: SocketAddr, done: Arc<AtomicU64>, stop: Arc<AtomicBool>) -> Result<()> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    while !stop.load(Ordering::Relaxed) {
        let request = hyper::Request::post("/ping")
            .header(hyper::header::HOST, addr.to_string())
            .body(Full::new(Bytes::from_static(b"[1]")))?;
        let response = sender.send_request(request).await?;
        if response.status() != hyper::StatusCode::OK {
            bail!("POST /ping answered {}", response.status());
        }
        let body = response.into_body().collect().await?.to_bytes();
        if body.as_ref() != b"1" {
            bail!("POST /ping answered {body:?}");
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// The `wactor` binary of this build (beside this one), or `$WACTOR_BIN`.
fn wactor_binary() -> Result<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("WACTOR_BIN") {
        return Ok(path.into());
    }
    let me = std::env::current_exe()?;
    let beside = me.with_file_name("wactor");
    if beside.exists() {
        return Ok(beside);
    }
    bail!(
        "no wactor binary beside {} (bench/run builds it; or set WACTOR_BIN)",
        me.display()
    )
}
