//! What sizes a workload ([`Scale`]) and what a workload reads off this
//! process ([`rss_kib`]), for the workloads of `workloads.rs` and the bare
//! wasmtime baselines of `bare.rs` alike.

use std::time::Duration;

use anyhow::{Context, Result};

/// How big the workloads are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    /// How long each sleeping call sleeps.
    pub(crate) sleep: Duration,
    /// How long each rate is measured (after a warm-up of a third of it).
    pub(crate) window: Duration,
    /// How many actors the creation and idle-memory workloads spawn.
    pub(crate) actors: u32,
    /// How many calls the 10k workloads make.
    pub(crate) many_calls: u32,
    /// Calls of the guest-to-guest loop.
    pub(crate) peer_calls: u32,
}

impl Scale {
    /// The full run: the sizes of Ray's own benchmarks.
    pub(crate) const FULL: Scale = Scale {
        sleep: Duration::from_secs(1),
        window: Duration::from_secs(2),
        actors: 10_000,
        many_calls: 10_000,
        peer_calls: 20_000,
    };

    /// `--quick`: the same code paths in seconds, for CI.
    pub(crate) const QUICK: Scale = Scale {
        sleep: Duration::from_millis(100),
        window: Duration::from_millis(300),
        actors: 1_000,
        many_calls: 2_000,
        peer_calls: 2_000,
    };
}

/// The median of some measurements (three, in practice), and all of them
/// in the order measured, for a figure's detail.
pub(crate) fn median(mut runs: Vec<f64>) -> (f64, String) {
    let text = runs
        .iter()
        .map(|r| format!("{r:.0}"))
        .collect::<Vec<_>>()
        .join(", ");
    runs.sort_by(f64::total_cmp);
    (runs[runs.len() / 2], text)
}

/// The resident set of this process, in KiB.
pub(crate) fn rss_kib() -> Result<f64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS in /proc/self/status")?;
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .context("VmRSS without a number")?
        .parse()?;
    Ok(kib)
}
