//! The sandbox's flags, shared by `wactor run` and `wactor serve`: what a
//! guest is granted (directories, environment, network) and the bounds it
//! runs within.

use std::path::PathBuf;
use std::time::Duration;

use wactor::{ActorOptions, DirAccess, GuestOutput, NetGrant, RuntimeBuilder};

#[derive(clap::Args)]
pub(crate) struct SandboxArgs {
    /// Give the guest the host directory HOST as GUEST (e.g.
    /// `--dir ./data::/data`), read-write, or read-only with `:ro`. Repeatable.
    /// By default a guest sees no files.
    #[arg(long = "dir", value_name = "HOST::GUEST[:ro]", value_parser = parse_dir)]
    pub(crate) dirs: Vec<(PathBuf, String, DirAccess)>,

    /// Set an environment variable for the guest. Repeatable. By default a
    /// guest's environment is empty.
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = parse_env)]
    pub(crate) env: Vec<(String, String)>,

    /// How long a guest may run before it yields to other actors, in
    /// milliseconds; 0 never interrupts guests (slightly faster guest code,
    /// but a spinning guest then starves its thread).
    #[arg(long, value_name = "MS", default_value_t = 10)]
    pub(crate) time_slice_ms: u64,

    /// How long one call may run, in milliseconds, before it fails with a
    /// timeout and its actor is retired (it may be stuck). Default: no
    /// deadline. Only with `--invoke`.
    #[arg(long, value_name = "MS")]
    pub(crate) call_deadline: Option<u64>,

    /// The most linear memory (and tables) each instance may grow to, in
    /// MiB; past it the actor dies saying "memory limit". Default 512. A
    /// program's actors get the same.
    #[arg(long, value_name = "MIB")]
    pub(crate) memory_limit: Option<usize>,

    /// The most linear memory all actors together may use, in MiB; an
    /// actor that would grow past it dies saying "memory limit". Default:
    /// three quarters of the machine's memory.
    #[arg(long, value_name = "MIB")]
    pub(crate) max_memory: Option<usize>,

    /// How many calls an actor may queue before further calls are refused
    /// (`--invoke` raises it to `--count`). Default 100000. A program's
    /// actors get the same.
    #[arg(long, value_name = "N")]
    pub(crate) max_pending_calls: Option<usize>,

    /// How many actors a program's guests may have alive at once. Default:
    /// half of `--max-instances`.
    #[arg(long, value_name = "N")]
    pub(crate) max_actors: Option<usize>,

    /// How many MiB of `put` values and queued call arguments a program's
    /// guests may have the host hold at once. Default 256.
    #[arg(long, value_name = "MIB")]
    pub(crate) max_program_bytes: Option<usize>,

    /// The most MiB of JSON in one value a guest sends or receives (call
    /// arguments, a `put`, a result). Default 4.
    #[arg(long, value_name = "MIB")]
    pub(crate) max_value_size: Option<usize>,

    /// How many instances the runtime may have alive at once (every actor
    /// holds at least one). Default 1000.
    #[arg(long, value_name = "N")]
    pub(crate) max_instances: Option<u32>,

    /// The largest component file read, in MiB (checked before reading).
    /// Default 256.
    #[arg(long, value_name = "MIB")]
    pub(crate) max_component_size: Option<u64>,

    /// Let the guest make HTTP requests and TCP connections to HOST:PORT
    /// (`HOST:*` or `HOST` for any port, `*` for any host; HOST as written
    /// in URLs: `localhost` and `127.0.0.1` are different grants).
    /// Repeatable. By default a guest reaches no network; the actors a
    /// program spawns get the same grants.
    #[arg(long = "allow-net", value_name = "HOST[:PORT]", value_parser = parse_grant)]
    pub(crate) allow_net: Vec<NetGrant>,

    /// Let the guest bind, listen on and accept TCP sockets. Denied by default.
    #[arg(long)]
    pub(crate) allow_listen: bool,

    /// The most HTTP requests one actor may have open at once; more wait
    /// for one to finish. Default 1024.
    #[arg(long, value_name = "N")]
    pub(crate) max_connections: Option<usize>,

    /// Serve the runtime's metrics for Prometheus at http://ADDR/metrics
    /// (e.g. 127.0.0.1:9464; port 0 picks one and prints it).
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<std::net::SocketAddr>,

    /// Give METHODs a concurrency group NAME of their own, in which at most
    /// N calls run at once (Ray's `concurrency_groups`), e.g.
    /// `--concurrency-group slow=2:spin,crunch`. Repeatable. Other methods
    /// keep `--max-concurrency`. For the actor of `--invoke` or `serve`.
    #[arg(long = "concurrency-group", value_name = "NAME=N:METHOD[,METHOD...]", value_parser = parse_group)]
    pub(crate) concurrency_groups: Vec<(String, usize, Vec<String>)>,
}

/// A `--concurrency-group` value: `NAME=N:METHOD[,METHOD...]`.
fn parse_group(text: &str) -> Result<(String, usize, Vec<String>), String> {
    let wrong =
        || format!("expected NAME=N:METHOD[,METHOD...], e.g. slow=2:spin,crunch, got `{text}`");
    let (name, rest) = text.split_once('=').ok_or_else(wrong)?;
    let (limit, methods) = rest.split_once(':').ok_or_else(wrong)?;
    let limit: usize = limit
        .parse()
        .map_err(|_| format!("{}: `{limit}` is not a number", wrong()))?;
    let methods: Vec<String> = methods.split(',').map(str::to_string).collect();
    if name.is_empty() || methods.iter().any(String::is_empty) {
        return Err(wrong());
    }
    Ok((name.to_string(), limit, methods))
}

impl SandboxArgs {
    /// Starts serving metrics if `--metrics` asks for it: before the
    /// runtime is built, so that its metrics reach the recorder.
    pub(crate) async fn start_metrics(&self) -> anyhow::Result<()> {
        if let Some(addr) = self.metrics {
            crate::metrics::serve(addr).await?;
        }
        Ok(())
    }

    /// The runtime these flags ask for.
    pub(crate) fn runtime(&self) -> RuntimeBuilder {
        let ms = self.time_slice_ms;
        let mut builder = wactor::Runtime::builder()
            .time_slice((ms > 0).then(|| Duration::from_millis(ms)))
            .metrics(self.metrics.is_some());
        if let Some(mib) = self.max_memory {
            builder = builder.max_memory(mib.saturating_mul(1 << 20));
        }
        if let Some(mib) = self.max_value_size {
            builder = builder.max_value_size(mib.saturating_mul(1 << 20));
        }
        if let Some(n) = self.max_instances {
            builder = builder.max_instances(n);
        }
        if let Some(mib) = self.max_component_size {
            builder = builder.max_component_size(mib.saturating_mul(1 << 20));
        }
        builder
    }

    /// The groups asked for, for a summary line: `, groups slow=2 io=4`,
    /// or nothing.
    pub(crate) fn groups_note(&self) -> String {
        if self.concurrency_groups.is_empty() {
            return String::new();
        }
        let groups: Vec<String> = self
            .concurrency_groups
            .iter()
            .map(|(name, limit, _)| format!("{name}={limit}"))
            .collect();
        format!(", groups {}", groups.join(" "))
    }

    /// The actor options these flags ask for, with output labelled with
    /// each actor's name.
    pub(crate) fn options(&self) -> ActorOptions {
        let mut options = ActorOptions::new()
            .stdout(GuestOutput::Labelled)
            .stderr(GuestOutput::Labelled);
        if let Some(ms) = self.call_deadline {
            options = options.call_deadline(Duration::from_millis(ms));
        }
        if let Some(mib) = self.memory_limit {
            options = options.memory_limit(mib.saturating_mul(1 << 20));
        }
        if let Some(n) = self.max_pending_calls {
            options = options.max_pending_calls(n);
        }
        if let Some(n) = self.max_actors {
            options = options.max_actors(n);
        }
        if let Some(mib) = self.max_program_bytes {
            options = options.max_program_bytes(mib.saturating_mul(1 << 20));
        }
        for (host, guest, access) in &self.dirs {
            options = options.preopen_dir(host.clone(), guest.clone(), *access);
        }
        for (name, value) in &self.env {
            options = options.env(name.clone(), value.clone());
        }
        for grant in &self.allow_net {
            options = options.allow_net(grant.to_string());
        }
        if let Some(n) = self.max_connections {
            options = options.max_connections(n);
        }
        for (name, limit, methods) in &self.concurrency_groups {
            options = options.concurrency_group(name.clone(), *limit, methods.clone());
        }
        options.allow_listen(self.allow_listen)
    }
}

fn parse_dir(text: &str) -> Result<(PathBuf, String, DirAccess), String> {
    let (rest, access) = match text.strip_suffix(":ro") {
        Some(rest) => (rest, DirAccess::ReadOnly),
        None => (text, DirAccess::ReadWrite),
    };
    match rest.split_once("::") {
        Some((host, guest)) if !host.is_empty() && !guest.is_empty() => {
            Ok((PathBuf::from(host), guest.to_string(), access))
        }
        _ => Err(format!(
            "expected HOST::GUEST or HOST::GUEST:ro, e.g. ./data::/data, got `{text}`"
        )),
    }
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!("expected NAME=VALUE, got `{text}`")),
    }
}

fn parse_grant(text: &str) -> Result<NetGrant, String> {
    text.parse()
        .map_err(|e: wactor::NetGrantError| e.to_string())
}
