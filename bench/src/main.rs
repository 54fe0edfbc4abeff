//! `wactor-bench`: Ray's actor workloads on wactor, side by side with Ray.
//!
//! `bench/run` is the way in: it builds this in release, runs it, runs the
//! Ray side (`bench/ray/workloads.py`) and hands its results back here with
//! `--ray` for the table. Run alone, this measures the wactor side:
//!
//! ```text
//! wactor-bench [--quick] [--only KEY,KEY] [--json OUT] [--ray RAY.json]
//! ```
//!
//! Each workload runs in a child process of its own (`--one KEY`), one after
//! another, so memory figures start from a fresh process and no workload
//! competes with another for the two cores.

mod bare;
mod cluster;
mod figures;
mod network;
mod scale;
mod workloads;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Parser;

use figures::{Figure, WORKLOADS, read_figures, table};
use scale::Scale;

#[derive(Parser)]
#[command(about = "Ray's actor workloads on wactor, side by side with Ray 2.60")]
struct Args {
    /// Small sizes (100 ms sleeps, 1,000 actors): the same code paths in
    /// seconds, for CI.
    #[arg(long)]
    quick: bool,
    /// Only these workloads (comma-separated keys).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Write wactor's figures here as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Ray's figures (from `bench/ray/workloads.py`), for the side-by-side table.
    #[arg(long)]
    ray: Option<PathBuf>,
    /// Run nothing: print the table of figures read from this file (written
    /// by an earlier `--json`), e.g. with `--ray`.
    #[arg(long, conflicts_with_all = ["only", "json", "one"])]
    table: Option<PathBuf>,
    /// Run nothing: print the keys of the Ray figures the selected
    /// workloads compare with, comma-separated (for `bench/run`).
    #[arg(long, hide = true)]
    ray_keys: bool,
    /// Run nothing but a server on 127.0.0.1 that answers every request
    /// after MS milliseconds (for the network workloads); prints its port.
    #[arg(long, hide = true, value_name = "MS")]
    serve_slow: Option<u64>,
    /// Run one workload in this process and print its figure as JSON.
    #[arg(long, hide = true)]
    one: Option<String>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let scale = if args.quick {
        Scale::QUICK
    } else {
        Scale::FULL
    };
    if let Some(ms) = args.serve_slow {
        return network::serve_slow(ms);
    }
    if let Some(key) = &args.one {
        let rt = tokio::runtime::Runtime::new()?;
        let key2 = key.clone();
        // In a task, so the caller runs on a worker thread like any task of
        // a service would (not on the thread that blocks on the runtime).
        let figure = rt.block_on(async move {
            tokio::spawn(async move { workloads::run(&key2, scale).await }).await?
        })?;
        println!("{}", figure.to_json(key));
        // Skip tearing down thousands of actors: nothing is measured after
        // this, and exiting at once keeps profiles of a workload clean.
        std::process::exit(0);
    }

    for key in &args.only {
        if figures::workload(key).is_none() {
            let known: Vec<_> = WORKLOADS.iter().map(|w| w.key).collect();
            bail!(
                "unknown workload `{key}`; the workloads are {}",
                known.join(", ")
            );
        }
    }
    if args.ray_keys {
        let mut keys: Vec<&str> = WORKLOADS
            .iter()
            .filter(|w| selected(w, &args.only))
            .filter_map(|w| w.ray)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        println!("{}", keys.join(","));
        return Ok(());
    }
    let mut ours = BTreeMap::new();
    if let Some(path) = &args.table {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading wactor's figures from {}", path.display()))?;
        ours = read_figures(&serde_json::from_str(&text)?);
    }
    let me = std::env::current_exe()?;
    for w in WORKLOADS.iter().filter(|_| args.table.is_none()) {
        if !selected(w, &args.only) {
            continue;
        }
        eprintln!("wactor: {} ...", w.title);
        let mut cmd = Command::new(&me);
        cmd.arg("--one").arg(w.key);
        if args.quick {
            cmd.arg("--quick");
        }
        let output = cmd.output().with_context(|| format!("running {}", w.key))?;
        if !output.status.success() {
            bail!(
                "workload {} failed ({}):\n{}",
                w.key,
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("reading the figure of {}", w.key))?;
        let figure = Figure::from_json(&json).context("a figure without a value")?;
        eprintln!(
            "  {} {}  ({})",
            figures::human(figure.value),
            w.unit,
            figure.detail
        );
        ours.insert(w.key.to_string(), figure);
    }

    if let Some(path) = &args.json {
        let figures: serde_json::Map<_, _> = ours
            .iter()
            .map(|(k, f)| (k.clone(), f.to_json(k)))
            .collect();
        let doc = serde_json::json!({
            "wactor_version": env!("CARGO_PKG_VERSION"),
            "quick": args.quick,
            "figures": figures,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let ray = match &args.ray {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading Ray's figures from {}", path.display()))?;
            Some(read_figures(&serde_json::from_str(&text)?))
        }
        None => None,
    };
    println!();
    println!("{}", machine());
    if args.quick {
        println!(
            "quick mode: sleeps of {} ms, {} calls for the 10,000-call rows, {} actors, \
             {:.1} s windows; not comparable to Ray's figures or to the targets",
            scale.sleep.as_millis(),
            scale.many_calls,
            scale.actors,
            scale.window.as_secs_f64()
        );
    }
    println!();
    print!("{}", table(&ours, ray.as_ref(), !args.quick));
    Ok(())
}

/// Whether to run `w`: `--only` picks workloads; without it, every one but
/// the extras.
fn selected(w: &figures::Workload, only: &[String]) -> bool {
    match only.is_empty() {
        true => !w.extra,
        false => only.iter().any(|k| k == w.key),
    }
}

/// One line on the machine the figures come from.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|m| m.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("machine: {model}, {cores} cores, {mem_gib:.0} GiB")
}
