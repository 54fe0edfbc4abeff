//! `wactor node` and `wactor status`: a cluster over NATS.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use wactor::NodeEvent;

use crate::sandbox::SandboxArgs;

/// `wactor node`'s arguments.
#[derive(clap::Args)]
pub(crate) struct NodeArgs {
    /// The NATS server of the cluster, e.g. nats://127.0.0.1:4222.
    #[arg(long, value_name = "URL")]
    nats: String,

    /// The node's name, for pins (`actor-options.node`), errors and
    /// `wactor status`. Default: <host>-<pid>.
    #[arg(long)]
    name: Option<String>,

    #[command(flatten)]
    sandbox: SandboxArgs,
}

/// `wactor status`'s arguments.
#[derive(clap::Args)]
pub(crate) struct StatusArgs {
    /// The NATS server of the cluster.
    #[arg(long, value_name = "URL")]
    nats: String,

    /// How long to wait for the members' answers, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    wait_ms: u64,
}

/// Serves actors placed here until SIGINT or SIGTERM, printing a line for
/// each actor started and each that dies.
pub(crate) async fn node(args: NodeArgs) -> anyhow::Result<ExitCode> {
    args.sandbox.start_metrics().await?;
    let mut builder = args
        .sandbox
        .runtime()
        .nats(args.nats.clone())
        .on_node_event(|event| {
            let line = match event {
                NodeEvent::Started { actor, component } => {
                    format!("started {actor} ({component})")
                }
                NodeEvent::Died {
                    actor,
                    component,
                    cause,
                } => format!("died {actor} ({component}): {cause}"),
                _ => return,
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        });
    if let Some(name) = &args.name {
        builder = builder.node_name(name.clone());
    }
    // Joining waits for the connection on this thread.
    let runtime = tokio::task::block_in_place(|| builder.build())?;
    let name = runtime.node_name().unwrap_or("?").to_string();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "node {name} joined the cluster at {}", args.nats);
        let _ = out.flush();
    }
    let signal = crate::serve::stop_signal().await;
    say!("{signal}: node {name} leaves the cluster; its actors stop");
    tokio::task::block_in_place(|| runtime.leave());
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "node {name} stopped");
    let _ = out.flush();
    Ok(ExitCode::SUCCESS)
}

/// Lists the cluster's members and their actors.
pub(crate) async fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let nodes = wactor::cluster::status(&args.nats, Duration::from_millis(args.wait_ms)).await?;
    let mut text = String::new();
    if nodes.is_empty() {
        text.push_str("no members answered\n");
    }
    for node in &nodes {
        let role = if node.serves { "node" } else { "program" };
        text.push_str(&format!(
            "{role} {} ({}): {} free instance slots, {} MiB memory headroom, {} actors\n",
            node.name,
            node.id,
            node.free_slots,
            node.memory_headroom >> 20,
            node.actors.len()
        ));
        for actor in &node.actors {
            text.push_str(&format!(
                "  {}  {}  {}  queued {}  running {}\n",
                actor.name, actor.component, actor.kind, actor.queued, actor.running
            ));
        }
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitCode::SUCCESS)
}
