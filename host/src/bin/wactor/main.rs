//! `wactor`: run and inspect WebAssembly actors from the command line.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use wactor::{ActorComponent, Runtime};

/// Writes a line to stderr. Unlike `eprintln!`, a stderr that cannot be
/// written (a closed pipe) does not panic: the line is lost, the run goes on.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(&mut std::io::stderr(), format_args!("{}\n", format_args!($($arg)*)));
    }};
}

mod cluster;
mod metrics;
mod sandbox;
mod serve;

use sandbox::SandboxArgs;

/// Run WebAssembly components as actors, with Ray's concurrency model.
///
/// A component with any `async func` export is an async actor (one instance,
/// calls interleaved); one with only sync exports is a threaded actor (a pool
/// of `--max-concurrency` instances).
#[derive(Parser)]
#[command(name = "wactor", version, about, long_about)]
#[command(after_help = "Examples:\n  \
    wactor run program.wasm                  # a program that spawns and calls actors\n  \
    wactor run program.wasm --component worker=worker.wasm -- --program-args\n  \
    wactor inspect actor.wasm\n  \
    wactor run actor.wasm --invoke 'run-task(1000)' --count 50\n  \
    wactor run actor.wasm --invoke 'run-task(1000)' --count 50 --max-concurrency 10\n  \
    wactor run http_fetch.wasm --allow-net 127.0.0.1:8000 --invoke 'fetch(\"http://127.0.0.1:8000/\")'\n  \
    wactor serve actor.wasm --listen 127.0.0.1:8080\n  \
    wactor node --nats nats://127.0.0.1:4222 --name a   # a cluster node\n  \
    wactor run program.wasm --nats nats://127.0.0.1:4222 --component worker=worker.wasm\n  \
    wactor status --nats nats://127.0.0.1:4222\n\n\
    Set WACTOR_LOG (e.g. WACTOR_LOG=debug) to see the runtime's logs.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program (a component exporting `wasi:cli/run`) that spawns and
    /// calls actors; or, with `--invoke`, spawn one actor from a component
    /// and call one of its methods `--count` times at once, printing each
    /// result and a timing summary.
    Run(Box<RunArgs>),
    /// Put one actor behind HTTP: `POST /<method>` with a JSON array of
    /// arguments calls the method and answers with the JSON of its result
    /// (200), or a status for what went wrong (400, 404, 413, 422, 503,
    /// 504, 500). Requests are concurrent calls on the actor.
    Serve(Box<serve::ServeArgs>),
    /// Run a cluster node: serve the actors that programs on the cluster
    /// (`wactor run --nats`) place here, until SIGINT or SIGTERM.
    Node(Box<cluster::NodeArgs>),
    /// List the cluster's nodes and programs, and the actors each runs.
    Status(cluster::StatusArgs),
    /// Print a component's actor kind and every method with its WIT signature.
    Inspect {
        /// The component (`.wasm`).
        component: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The component (`.wasm`): a program to run, or an actor to call with
    /// `--invoke`.
    component: PathBuf,

    /// Arguments passed to the program (its WASI args, after its own path).
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<String>,

    /// Make another component available to the program under NAME, so it
    /// can spawn actors from it (`spawn(some("NAME"), ...)`). Repeatable.
    /// Nothing else is available besides the program's own component.
    #[arg(long = "component", value_name = "NAME=PATH", value_parser = parse_named)]
    components: Vec<(String, PathBuf)>,

    /// The call to make, in WAVE syntax as for `wasmtime run --invoke`:
    /// the method's name and its arguments, e.g. 'run-task(1000)' or
    /// 'greet("ray", [1, 2])'. `wactor inspect` lists the methods.
    #[arg(long, value_name = "CALL")]
    invoke: Option<String>,

    /// How many calls to submit at once (each returns an ObjectRef at once;
    /// the actor's scheduler decides how many run together). At most
    /// 1,000,000: every result is kept for the summary.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = parse_count)]
    count: usize,

    /// Calls that may run at once: interleaved calls for an async actor
    /// (default 1000), instances in the pool for a threaded actor (default 1).
    #[arg(long, value_name = "N")]
    max_concurrency: Option<usize>,

    /// The actor's name, used in logs and errors.
    #[arg(long)]
    name: Option<String>,

    /// Run on the cluster whose NATS server is at URL: the actors are
    /// placed on its nodes (`wactor node`), the program itself runs here.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,

    #[command(flatten)]
    sandbox: SandboxArgs,

    /// Write a timeline of every call to FILE: a Chrome trace (open it in
    /// https://ui.perfetto.dev or chrome://tracing), as `ray timeline` does.
    #[arg(long, value_name = "FILE")]
    timeline: Option<PathBuf>,

    /// Print only the timing summary, not each result.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WACTOR_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("error,wactor::guest=info,wactor::lag=warn")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let cli = Cli::parse();
    let result = match tokio::runtime::Runtime::new() {
        Ok(tokio) => tokio.block_on(async {
            match cli.command {
                Command::Run(args) => run(*args).await,
                Command::Serve(args) => serve::serve(*args).await,
                Command::Node(args) => cluster::node(*args).await,
                Command::Status(args) => cluster::status(args).await,
                Command::Inspect { component } => inspect(&component),
            }
        }),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            say!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_program(
    runtime: &Runtime,
    program: &ActorComponent,
    args: &RunArgs,
) -> anyhow::Result<ExitCode> {
    if program.command_entry().is_none() {
        bail!(
            "{} is an actor, not a program (it does not export `wasi:cli/run`): pass --invoke 'method(args)' to call one of its methods (`wactor inspect {0}` lists them)",
            args.component.display()
        );
    }
    if !args.sandbox.concurrency_groups.is_empty() {
        bail!(
            "--concurrency-group applies to the actor of --invoke; a program's actors set \
             theirs in `actor-options.concurrency-groups`"
        );
    }
    if args.sandbox.call_deadline.is_some() {
        bail!(
            "--call-deadline applies to the calls of --invoke; a program's own `run` has no \
             deadline (its actors may set theirs)"
        );
    }
    let mut options = args
        .sandbox
        .options()
        .name(
            args.name
                .clone()
                .unwrap_or_else(|| program.name().to_string()),
        )
        .args(std::iter::once(args.component.display().to_string()).chain(args.args.clone()));
    for (name, path) in &args.components {
        let component = runtime
            .load(path)
            .with_context(|| format!("loading --component {name}={}", path.display()))?;
        options = options.allow_component(name.clone(), component);
    }
    match program.run_driver(options).await {
        Ok(status) => Ok(ExitCode::from(u8::try_from(status).unwrap_or(1))),
        Err(e @ wactor::Error::ActorDied { .. }) => {
            say!("error: {e}");
            Ok(ExitCode::from(TRAP_EXIT))
        }
        Err(e) => Err(e.into()),
    }
}

fn load(
    path: &PathBuf,
    sandbox: Option<&SandboxArgs>,
    nats: Option<&str>,
    timeline: Option<wactor::Timeline>,
) -> anyhow::Result<(Runtime, ActorComponent)> {
    let mut builder = match sandbox {
        Some(sandbox) => sandbox.runtime(),
        None => Runtime::builder(),
    };
    if let Some(timeline) = timeline {
        builder = builder.timeline(timeline);
    }
    if let Some(url) = nats {
        builder = builder.nats(url).serve_actors(false);
    }
    let runtime = builder.build()?;
    let component = runtime.load(path)?;
    Ok((runtime, component))
}

fn inspect(path: &PathBuf) -> anyhow::Result<ExitCode> {
    use std::fmt::Write as _;
    let (_runtime, component) = load(path, None, None, None)?;
    let kind = component.kind();
    let mut text = format!(
        "{}: {kind} (default max_concurrency {})\nmethods:\n",
        path.display(),
        kind.default_max_concurrency()
    );
    for method in component.methods() {
        let _ = write!(text, "  {}: {}", method.name(), method.signature());
        if !method.is_callable() {
            text.push_str(" (not callable: it returns a handle that cannot leave the actor)");
        }
        text.push('\n');
    }
    text.push_str("imports:\n");
    for import in component.imports() {
        let _ = writeln!(text, "  {import}");
    }
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // `| head` closing the pipe is not a failure of ours.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// The most calls `--count` may ask for.
const MAX_COUNT: usize = 1_000_000;

fn parse_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number from 1 to {MAX_COUNT}, got `{text}`"
        )),
    }
}

fn parse_named(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_string(), PathBuf::from(path)))
        }
        _ => Err(format!(
            "expected NAME=PATH, e.g. worker=worker.wasm, got `{text}`"
        )),
    }
}

/// Exit status for a trap, as `wasmtime run` uses on Unix (128 + SIGABRT).
const TRAP_EXIT: u8 = 134;

async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    args.sandbox.start_metrics().await?;
    let timeline = match &args.timeline {
        Some(path) => Some(
            wactor::Timeline::create(path)
                .with_context(|| format!("--timeline {}", path.display()))?,
        ),
        None => None,
    };
    let (runtime, component) = load(
        &args.component,
        Some(&args.sandbox),
        args.nats.as_deref(),
        timeline.clone(),
    )?;
    let code = run_loaded(&runtime, &component, &args).await;
    // The program's actors on other nodes end with it.
    runtime.leave();
    if let (Some(timeline), Some(path)) = (timeline, &args.timeline) {
        timeline
            .finish()
            .with_context(|| format!("writing --timeline {}", path.display()))?;
        if timeline.dropped() > 0 {
            say!(
                "the timeline misses {} calls: its writer fell behind",
                timeline.dropped()
            );
        }
    }
    code
}

async fn run_loaded(
    runtime: &Runtime,
    component: &ActorComponent,
    args: &RunArgs,
) -> anyhow::Result<ExitCode> {
    let Some(invoke) = args.invoke.as_deref() else {
        return run_program(runtime, component, args).await;
    };
    let (method, call_args) = component
        .parse_invoke(invoke)
        .with_context(|| format!("--invoke {invoke:?}"))?;
    // All `--count` calls are submitted at once: let them all queue.
    let queue = args.sandbox.max_pending_calls.unwrap_or(0).max(args.count);
    let mut options = args.sandbox.options().max_pending_calls(queue);
    if let Some(n) = args.max_concurrency {
        options = options.max_concurrency(n);
    }
    if let Some(name) = &args.name {
        options = options.name(name.clone());
    }
    let actor = component.spawn(options)?;
    if method.is_stream() {
        return print_streams(&actor, method.name(), call_args, args).await;
    }

    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    for i in 0..args.count {
        let r = actor
            .call(method.name(), call_args.clone())
            .with_context(|| format!("call {i} of `{}`", method.name()))?;
        pending.push(async move { (i, r.await, start.elapsed()) });
    }
    let mut outcomes = Vec::with_capacity(args.count);
    while let Some(done) = pending.next().await {
        outcomes.push(done);
    }
    let wall = start.elapsed();
    outcomes.sort_by_key(|(i, ..)| *i);

    let mut failed = 0;
    let mut results = Results::new(args);
    for (i, outcome, _) in &outcomes {
        match outcome {
            Ok(value) => results.print(*i, value)?,
            Err(e) => {
                failed += 1;
                say!("[{i}] error: {e}");
            }
        }
    }

    let mut latencies: Vec<Duration> = outcomes.iter().map(|(_, _, t)| *t).collect();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    say!(
        "{} x {} on {} ({}, max_concurrency {}{}): {} ok, {failed} failed in {:.3} s \
         (completion times: first {:.3} s, median {:.3} s, last {:.3} s; {:.0} calls/s)",
        args.count,
        method.name(),
        actor.name(),
        actor.kind(),
        actor.max_concurrency(),
        args.sandbox.groups_note(),
        args.count - failed,
        wall.as_secs_f64(),
        pick(0.0).as_secs_f64(),
        pick(0.5).as_secs_f64(),
        pick(1.0).as_secs_f64(),
        args.count as f64 / wall.as_secs_f64(),
    );
    Ok(exit_code(failed))
}

/// Prints `--invoke` results to stdout: the value alone for one call,
/// `[call] value` for more; nothing with `--quiet`.
struct Results {
    several: bool,
    printing: bool,
}

impl Results {
    fn new(args: &RunArgs) -> Results {
        Results {
            several: args.count > 1,
            printing: !args.quiet,
        }
    }

    /// Prints result `value` of call `i` (stdout is line-buffered: each
    /// line goes out at once). A closed pipe (`| head`) ends the printing,
    /// not the run.
    fn print(&mut self, i: usize, value: &wactor::Val) -> std::io::Result<()> {
        if !self.printing {
            return Ok(());
        }
        let text = wasm_wave::to_string(value).unwrap_or_else(|_| format!("{value:?}"));
        let mut stdout = std::io::stdout().lock();
        let written = if self.several {
            writeln!(stdout, "[{i}] {text}")
        } else {
            writeln!(stdout, "{text}")
        };
        match written {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.printing = false;
                Ok(())
            }
            written => written,
        }
    }
}

/// Success if no call failed.
fn exit_code(failed: usize) -> ExitCode {
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `--invoke` of a method that returns a stream: each item printed as it
/// arrives (`[call] item` for more than one call), then a summary.
async fn print_streams(
    actor: &wactor::ActorHandle,
    method: &str,
    call_args: Vec<wactor::Val>,
    args: &RunArgs,
) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let mut streams = futures::stream::SelectAll::new();
    for i in 0..args.count {
        let items = actor
            .call_stream(method, call_args.clone())
            .with_context(|| format!("call {i} of `{method}`"))?;
        streams.push(items.map(move |item| (i, item)));
    }
    let (mut items, mut failed) = (0usize, 0usize);
    let mut results = Results::new(args);
    while let Some((i, item)) = streams.next().await {
        match item {
            Ok(value) => {
                items += 1;
                results.print(i, &value)?;
            }
            Err(e) => {
                failed += 1;
                say!("[{i}] error: {e}");
            }
        }
    }
    say!(
        "{} x {method} on {} (streaming): {items} items, {} calls ok, {failed} failed in {:.3} s",
        args.count,
        actor.name(),
        args.count - failed,
        start.elapsed().as_secs_f64(),
    );
    Ok(exit_code(failed))
}
