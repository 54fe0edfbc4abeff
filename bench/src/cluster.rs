//! The cluster rows: a real `nats-server` on a free loopback port, real
//! `wactor node` processes (the binary beside this one), and this process
//! as the program's runtime that places actors on them.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use wactor::{ActorHandle, ActorOptions, GuestOutput, Placement, Runtime};
use wasmtime::component::Val;

use crate::figures::Figure;
use crate::scale::Scale;

/// Calls per batch, as in the one-process batched rows.
const BATCH: usize = 1000;

/// A child process, killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// NATS and `nodes` nodes named n0, n1, ..., all up.
fn cluster(nodes: usize) -> Result<(Vec<Proc>, String)> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let nats = Command::new("nats-server")
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting nats-server (apt-get install nats-server)")?;
    let mut procs = vec![Proc(nats)];
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("nats-server did not listen on {port}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("nats://127.0.0.1:{port}");
    let wactor = std::env::current_exe()?
        .parent()
        .context("no directory")?
        .join("wactor");
    for i in 0..nodes {
        let mut child = Command::new(&wactor)
            .args(["node", "--nats", &url, "--name", &format!("n{i}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", wactor.display()))?;
        let out = child.stdout.take().context("no stdout")?;
        procs.push(Proc(child));
        let mut out = BufReader::new(out);
        let mut first = String::new();
        out.read_line(&mut first)?;
        if !first.contains("joined") {
            bail!("node n{i} did not join: {first:?}");
        }
        // Keep reading what the node prints, or its guests' output would
        // meet a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    }
    Ok((procs, url))
}

fn program(url: &str) -> Result<Runtime> {
    Ok(tokio::task::block_in_place(|| {
        Runtime::builder().nats(url).serve_actors(false).build()
    })?)
}

fn on(node: usize) -> ActorOptions {
    ActorOptions::new()
        .stdout(GuestOutput::Discard)
        .placement(Placement::Node(format!("n{node}")))
}

/// Runs the cluster workload `key`.
pub(crate) async fn run(key: &str, scale: Scale) -> Result<Figure> {
    match key {
        "cluster_round_trip" => round_trip(scale).await,
        "cluster_batched" => batched(1, scale).await,
        "cluster_batched_3" => batched(3, scale).await,
        "cluster_loss_detect" => loss_detect().await,
        "cluster_nats_rtt" => nats_rtt(scale).await,
        _ => bail!("no cluster workload {key}"),
    }
}

/// Call, await, repeat, on a counter on another node.
async fn round_trip(scale: Scale) -> Result<Figure> {
    let (_procs, url) = cluster(1)?;
    let rt = program(&url)?;
    let actor = rt.load(wactor_examples::COUNTER)?.spawn(on(0))?;
    let one = || async {
        let start = Instant::now();
        actor.call("add", vec![Val::S64(1)])?.await?;
        anyhow::Ok(start.elapsed())
    };
    let warm = Instant::now();
    while warm.elapsed() < scale.window / 3 {
        one().await?;
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed() < scale.window {
        times.push(one().await?);
    }
    times.sort_unstable();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    rt.leave();
    Ok(Figure {
        value: pick(0.5),
        detail: format!(
            "{} round trips of counter.add to a node over NATS on loopback; p10 {:.0} us, p90 \
             {:.0} us, p99 {:.0} us",
            times.len(),
            pick(0.1),
            pick(0.9),
            pick(0.99)
        ),
    })
}

/// Batches of 1,000 calls from one caller, round-robin over one async
/// actor on each of `nodes` nodes.
async fn batched(nodes: usize, scale: Scale) -> Result<Figure> {
    let (_procs, url) = cluster(nodes)?;
    let rt = program(&url)?;
    let component = rt.load(wactor_examples::ASYNC_ACTOR)?;
    let actors: Vec<ActorHandle> = (0..nodes)
        .map(|n| component.spawn(on(n)))
        .collect::<wactor::Result<_>>()?;
    let batch = || async {
        let refs = (0..BATCH)
            .map(|i| actors[i % nodes].call("ping", vec![Val::U64(1)]))
            .collect::<wactor::Result<Vec<_>>>()?;
        for r in refs {
            r.await?;
        }
        anyhow::Ok(BATCH as u64)
    };
    let warm = Instant::now();
    while warm.elapsed() < scale.window / 3 {
        batch().await?;
    }
    let mut rates = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let mut calls = 0;
        while start.elapsed() < scale.window {
            calls += batch().await?;
        }
        rates.push(calls as f64 / start.elapsed().as_secs_f64());
    }
    let (rate, runs) = crate::scale::median(rates);
    rt.leave();
    Ok(Figure {
        value: rate,
        detail: format!(
            "async_actor.ping in batches of {BATCH} from one caller, round-robin over {nodes} \
             node(s); median of 3 windows of {:.1} s ({runs} calls/s)",
            scale.window.as_secs_f64()
        ),
    })
}

/// From `kill -9` of a node to its actor's running call failing.
async fn loss_detect() -> Result<Figure> {
    let (mut procs, url) = cluster(2)?;
    let rt = program(&url)?;
    let actor = rt.load(wactor_examples::ASYNC_ACTOR)?.spawn(on(1))?;
    actor.call("run-task", vec![Val::U64(1)])?.await?;
    let running = actor.call("run-task", vec![Val::U64(600_000)])?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let node = procs.pop().context("no node")?;
    let killed = Instant::now();
    drop(node); // SIGKILL
    let outcome = running.await;
    let took = killed.elapsed();
    let Err(e) = outcome else {
        bail!("the call on the killed node succeeded");
    };
    rt.leave();
    Ok(Figure {
        value: took.as_secs_f64(),
        detail: format!("kill -9 of the actor's node; its running call failed with: {e}"),
    })
}

/// The floor under `cluster_round_trip`: one NATS request/reply between
/// two clients of this process, nothing else.
async fn nats_rtt(scale: Scale) -> Result<Figure> {
    use futures::StreamExt;
    let (_procs, url) = cluster(0)?;
    let server = async_nats::connect(&url).await?;
    let client = async_nats::connect(&url).await?;
    let mut requests = server.subscribe("echo").await?;
    server.flush().await?;
    // A flush sends the subscription; give the server a moment to take it
    // before the other connection asks.
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::spawn(async move {
        while let Some(m) = requests.next().await {
            if let Some(reply) = m.reply {
                let _ = server.publish(reply, m.payload).await;
            }
        }
    });
    let mut times = Vec::new();
    let start = Instant::now();
    while start.elapsed() < scale.window {
        let t = Instant::now();
        client.request("echo", "x".into()).await?;
        times.push(t.elapsed());
    }
    times.sort_unstable();
    let pick = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    Ok(Figure {
        value: pick(0.5),
        detail: format!(
            "{} requests between two async-nats clients through nats-server on loopback; p10 \
             {:.0} us, p90 {:.0} us",
            times.len(),
            pick(0.1),
            pick(0.9)
        ),
    })
}
