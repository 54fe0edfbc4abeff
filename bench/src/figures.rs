//! The figures both sides report, and the table that puts them side by side.
//!
//! A figure is known by its key; `bench/ray/workloads.py` reports the same
//! keys in the same units, so the two sides meet only here.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Which way a figure improves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Better {
    Lower,
    Higher,
}

/// One workload: its key, what the table calls it, its unit, which way is
/// better, and the target issue 5 sets for wactor, if any.
pub(crate) struct Workload {
    pub(crate) key: &'static str,
    pub(crate) title: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) better: Better,
    pub(crate) target: Option<f64>,
    /// The Ray figure it is compared with, if any.
    pub(crate) ray: Option<&'static str>,
    /// Run only when asked for by `--only` (a diagnostic, not a table row).
    pub(crate) extra: bool,
    /// The figure of the substrate it is compared with (bare wasmtime, or
    /// for n:n the 1:1 rate), and issue 15's target for that ratio.
    pub(crate) bare: Option<(&'static str, Option<f64>)>,
}

impl Workload {
    const fn new(
        key: &'static str,
        title: &'static str,
        unit: &'static str,
        better: Better,
    ) -> Self {
        Workload {
            key,
            title,
            unit,
            better,
            target: None,
            ray: Some(key),
            extra: false,
            bare: None,
        }
    }

    /// Compared with the substrate's figure `key`, aiming at `target` for
    /// the ratio (see [`advantage`]).
    const fn bare(mut self, key: &'static str, target: Option<f64>) -> Self {
        self.bare = Some((key, target));
        self
    }

    const fn target(mut self, target: f64) -> Self {
        self.target = Some(target);
        self
    }

    /// Compared with Ray's figure `key` (`None`: with nothing).
    const fn vs(mut self, key: Option<&'static str>) -> Self {
        self.ray = key;
        self
    }

    const fn extra(mut self) -> Self {
        self.extra = true;
        self
    }

    /// A row of the per-language table: `kind` sets its unit, its
    /// direction and the Ray figure it is compared with.
    const fn guest(key: &'static str, title: &'static str, kind: GuestRow) -> Self {
        let (unit, better, ray) = match kind {
            GuestRow::Creation => ("actors/s", Higher, "actor_creation"),
            GuestRow::IdleRss => ("KiB", Lower, "idle_actor_rss"),
            GuestRow::Calls => ("calls/s", Higher, "batched_sync"),
        };
        Workload::new(key, title, unit, better).vs(Some(ray))
    }
}

/// The three figures measured for each guest language.
#[derive(Clone, Copy)]
enum GuestRow {
    Creation,
    IdleRss,
    Calls,
}

use GuestRow::{Calls, Creation, IdleRss};

use Better::{Higher, Lower};

/// Every workload, in table order.
pub(crate) const WORKLOADS: &[Workload] = &[
    Workload::new(
        "sleep50_async",
        "50 x sleep(1 s), one async actor",
        "s",
        Lower,
    ),
    Workload::new(
        "sleep50_mc10",
        "50 x sleep(1 s), max_concurrency 10",
        "s",
        Lower,
    ),
    Workload::new(
        "sleep10k_default",
        "10,000 x sleep(1 s), default max_concurrency",
        "s",
        Lower,
    ),
    Workload::new(
        "sleep10k_mc10k",
        "10,000 x sleep(1 s), max_concurrency 10,000",
        "s",
        Lower,
    )
    .target(1.2),
    Workload::new(
        "sync_round_trip",
        "1:1 sync round trip (median)",
        "us",
        Lower,
    )
    .target(10.0)
    .bare("sync_call_bare", Some(0.6)),
    Workload::new(
        "sync_round_trip_shared",
        "1:1 sync round trip (median), actors on a work-stealing runtime",
        "us",
        Lower,
    )
    .vs(Some("sync_round_trip"))
    .bare("sync_call_bare", None),
    Workload::new(
        "sync_call_bare",
        "sync call, bare wasmtime call_async (median)",
        "us",
        Lower,
    )
    .vs(Some("sync_round_trip")),
    Workload::new(
        "batched_sync",
        "1:1 batched trivial calls, sync actor",
        "calls/s",
        Higher,
    ),
    Workload::new(
        "batched_async",
        "batched trivial calls, async actor",
        "calls/s",
        Higher,
    )
    .target(300_000.0)
    .bare("batched_async_bare", Some(0.85)),
    Workload::new(
        "batched_async_bare",
        "batched trivial calls, bare wasmtime call_concurrent",
        "calls/s",
        Higher,
    )
    .vs(Some("batched_async")),
    Workload::new(
        "batched_sync_metrics",
        "1:1 batched trivial calls, sync actor, with metrics (Prometheus recorder)",
        "calls/s",
        Higher,
    )
    .vs(Some("batched_sync")),
    Workload::new(
        "batched_async_metrics",
        "batched trivial calls, async actor, with metrics (Prometheus recorder)",
        "calls/s",
        Higher,
    )
    .vs(Some("batched_async")),
    Workload::new("nn_2x2", "n:n, 2 callers x 2 actors", "calls/s", Higher)
        .bare("batched_sync", Some(1.7)),
    Workload::new(
        "nn_2x2_shared",
        "n:n, 2 callers x 2 actors, on a work-stealing runtime",
        "calls/s",
        Higher,
    )
    .vs(Some("nn_2x2"))
    .bare("batched_sync_shared", None),
    Workload::new(
        "batched_sync_shared",
        "1:1 batched trivial calls, sync actor, on a work-stealing runtime",
        "calls/s",
        Higher,
    )
    .vs(Some("batched_sync")),
    Workload::new(
        "actor_creation",
        "actor creation (spawn + first call)",
        "actors/s",
        Higher,
    )
    .target(20_000.0)
    .bare("actor_creation_bare", Some(1.6)),
    Workload::new(
        "actor_creation_one_thread",
        "actor creation, one worker thread",
        "actors/s",
        Higher,
    )
    .vs(Some("actor_creation"))
    .bare("actor_creation_bare", Some(0.85)),
    Workload::new(
        "actor_creation_cow",
        "actor creation, copy_on_write(true)",
        "actors/s",
        Higher,
    )
    .target(20_000.0)
    .vs(Some("actor_creation")),
    Workload::new(
        "async_actor_creation",
        "async actor creation (spawn + first async call)",
        "actors/s",
        Higher,
    )
    .vs(Some("actor_creation")),
    Workload::new(
        "async_actor_creation_cow",
        "async actor creation, copy_on_write(true)",
        "actors/s",
        Higher,
    )
    .vs(Some("actor_creation"))
    .extra(),
    Workload::new(
        "actor_creation_bare",
        "actor creation, bare wasmtime (one thread)",
        "actors/s",
        Higher,
    )
    .vs(Some("actor_creation")),
    Workload::new(
        "py_actor_creation",
        "Python actor creation (componentize-py)",
        "actors/s",
        Higher,
    )
    .vs(Some("actor_creation")),
    Workload::new(
        "py_actor_creation_copy",
        "Python actor creation, copy_on_write(false)",
        "actors/s",
        Higher,
    )
    .vs(Some("actor_creation"))
    .extra(),
    Workload::new("idle_actor_rss", "RSS per idle actor", "KiB", Lower).target(64.0),
    Workload::new(
        "idle_actor_rss_cow",
        "RSS per idle actor, copy_on_write(true)",
        "KiB",
        Lower,
    )
    .vs(Some("idle_actor_rss"))
    .extra(),
    Workload::new(
        "py_idle_actor_rss",
        "RSS per idle Python actor (componentize-py)",
        "KiB",
        Lower,
    )
    .vs(Some("idle_actor_rss")),
    Workload::new(
        "py_idle_actor_rss_copy",
        "RSS per idle Python actor, copy_on_write(false)",
        "KiB",
        Lower,
    )
    .vs(Some("idle_actor_rss"))
    .extra(),
    // The same conformance actor in each guest language (issue 13).
    Workload::guest(
        "guest_creation_rust",
        "Rust actor creation (conformance)",
        Creation,
    ),
    Workload::guest(
        "guest_creation_py",
        "Python actor creation (conformance)",
        Creation,
    ),
    Workload::guest(
        "guest_creation_c",
        "C actor creation (conformance)",
        Creation,
    ),
    Workload::guest(
        "guest_creation_js",
        "JavaScript actor creation (conformance)",
        Creation,
    ),
    Workload::guest(
        "guest_creation_go",
        "Go actor creation (conformance)",
        Creation,
    ),
    Workload::guest(
        "guest_idle_rss_rust",
        "RSS per idle Rust actor (conformance)",
        IdleRss,
    ),
    Workload::guest(
        "guest_idle_rss_py",
        "RSS per idle Python actor (conformance)",
        IdleRss,
    ),
    Workload::guest(
        "guest_idle_rss_c",
        "RSS per idle C actor (conformance)",
        IdleRss,
    ),
    Workload::guest(
        "guest_idle_rss_js",
        "RSS per idle JavaScript actor (conformance)",
        IdleRss,
    ),
    Workload::guest(
        "guest_idle_rss_go",
        "RSS per idle Go actor (conformance)",
        IdleRss,
    ),
    Workload::guest(
        "guest_calls_rust",
        "trivial calls/s, Rust actor (echo-u32)",
        Calls,
    ),
    Workload::guest(
        "guest_calls_py",
        "trivial calls/s, Python actor (echo-u32)",
        Calls,
    ),
    Workload::guest(
        "guest_calls_c",
        "trivial calls/s, C actor (echo-u32)",
        Calls,
    ),
    Workload::guest(
        "guest_calls_js",
        "trivial calls/s, JavaScript actor (echo-u32)",
        Calls,
    ),
    Workload::guest(
        "guest_calls_go",
        "trivial calls/s, Go actor (echo-u32)",
        Calls,
    ),
    Workload::new(
        "inflight_call_mem",
        "memory per in-flight async call",
        "KiB",
        Lower,
    )
    .target(4.0)
    .bare("inflight_call_mem_bare", Some(1.0 / 1.03)),
    Workload::new(
        "inflight_call_mem_bare",
        "memory per in-flight async call, bare wasmtime",
        "KiB",
        Lower,
    )
    .vs(Some("inflight_call_mem")),
    Workload::new(
        "guest_to_guest",
        "actor-to-actor call (awaited, 1:1)",
        "us",
        Lower,
    )
    .target(6.0),
    Workload::new(
        "guest_to_guest_shared",
        "actor-to-actor call (awaited, 1:1), on a work-stealing runtime",
        "us",
        Lower,
    )
    .vs(Some("guest_to_guest")),
    // Issue 11's targets: at least 5x Ray + aiohttp's rate at a tenth of
    // its memory growth, against the same server (Ray: 2,116-2,145/s and
    // +130-132 MiB on this machine kind).
    Workload::new(
        "http_get_10k",
        "10,000 concurrent HTTP GETs (100 ms server), one async actor",
        "req/s",
        Higher,
    )
    .target(10_700.0),
    Workload::new(
        "http_get_10k_rss",
        "peak memory growth during those 10,000 GETs",
        "MiB",
        Lower,
    )
    .target(13.0),
    Workload::new(
        "http_get_10k_bare",
        "those 10,000 GETs from plain tokio + hyper (no wasm)",
        "req/s",
        Higher,
    )
    .vs(Some("http_get_10k")),
    Workload::new(
        "serve_requests",
        "wactor serve: trivial method over HTTP (32 connections)",
        "req/s",
        Higher,
    )
    .vs(None),
    Workload::new(
        "cluster_round_trip",
        "cluster: 1:1 round trip to another node (median)",
        "us",
        Lower,
    )
    .target(200.0)
    .vs(Some("sync_round_trip")),
    Workload::new(
        "cluster_nats_rtt",
        "NATS alone: request/reply between two clients (median)",
        "us",
        Lower,
    )
    .vs(None)
    .extra(),
    Workload::new(
        "cluster_batched",
        "cluster: batched trivial calls to another node",
        "calls/s",
        Higher,
    )
    .target(50_000.0)
    .vs(Some("batched_sync")),
    Workload::new(
        "cluster_batched_3",
        "cluster: the same, round-robin over 3 nodes",
        "calls/s",
        Higher,
    )
    .vs(None),
    Workload::new(
        "cluster_loss_detect",
        "cluster: kill -9 of a node to its call failing",
        "s",
        Lower,
    )
    .target(3.0)
    .vs(None),
];

/// Looks a workload up by key.
pub(crate) fn workload(key: &str) -> Option<&'static Workload> {
    WORKLOADS.iter().find(|w| w.key == key)
}

/// One measured figure.
#[derive(Clone, Debug)]
pub(crate) struct Figure {
    pub(crate) value: f64,
    /// How it was measured (counts, spread, what the guest saw).
    pub(crate) detail: String,
}

impl Figure {
    pub(crate) fn to_json(&self, key: &str) -> serde_json::Value {
        let unit = workload(key).map_or("", |w| w.unit);
        serde_json::json!({ "value": self.value, "unit": unit, "detail": self.detail })
    }

    pub(crate) fn from_json(value: &serde_json::Value) -> Option<Figure> {
        Some(Figure {
            value: value.get("value")?.as_f64()?,
            detail: value
                .get("detail")
                .and_then(|d| d.as_str())
                .unwrap_or_default()
                .to_string(),
        })
    }
}

/// Reads the `figures` object of a results file (ours or Ray's).
pub(crate) fn read_figures(json: &serde_json::Value) -> BTreeMap<String, Figure> {
    json.get("figures")
        .and_then(|f| f.as_object())
        .map(|figures| {
            figures
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), Figure::from_json(v)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// A number as people read it: thousands separated, three significant
/// digits below 100.
pub(crate) fn human(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.abs() >= 100.0 {
        let n = v.round() as i64;
        let digits = n.abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        out
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// How many times better wactor is than Ray on `w` (above 1: wactor wins).
pub(crate) fn advantage(w: &Workload, wactor: f64, ray: f64) -> Option<f64> {
    if wactor <= 0.0 || ray <= 0.0 {
        return None;
    }
    Some(match w.better {
        Better::Lower => ray / wactor,
        Better::Higher => wactor / ray,
    })
}

/// Whether `value` meets the workload's target (`None` when it has none).
pub(crate) fn meets_target(w: &Workload, value: f64) -> Option<bool> {
    let target = w.target?;
    Some(match w.better {
        Better::Lower => value <= target,
        Better::Higher => value >= target,
    })
}

fn target_text(w: &Workload) -> String {
    match (w.target, w.better) {
        (None, _) => String::new(),
        (Some(t), Better::Lower) => format!("<= {}", human(t)),
        (Some(t), Better::Higher) => format!(">= {}", human(t)),
    }
}

/// The side-by-side table, as Markdown (it reads as plain text too).
/// Targets are judged only if `judge` (not for quick runs).
pub(crate) fn table(
    wactor: &BTreeMap<String, Figure>,
    ray: Option<&BTreeMap<String, Figure>>,
    judge: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| workload | unit | wactor | Ray 2.60 | wactor vs Ray | target | met | wactor / bare |"
    );
    let _ = writeln!(
        out,
        "| --- | --- | ---: | ---: | ---: | ---: | :---: | ---: |"
    );
    for w in WORKLOADS {
        // A row per workload wactor ran; Ray's figure beside it if any.
        let Some(ours) = wactor.get(w.key) else {
            continue;
        };
        let ours = Some(ours);
        let theirs = ray.zip(w.ray).and_then(|(r, key)| r.get(key));
        let cell = |f: Option<&Figure>| f.map_or_else(|| "-".to_string(), |f| human(f.value));
        let ratio = match (ours, theirs) {
            (Some(o), Some(t)) => advantage(w, o.value, t.value)
                .map_or_else(|| "-".into(), |a| format!("{} x better", human(a))),
            _ => "-".into(),
        };
        let met = match ours
            .and_then(|o| meets_target(w, o.value))
            .filter(|_| judge)
        {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        let bare = w
            .bare
            .and_then(|(key, target)| {
                Some((advantage(w, ours?.value, wactor.get(key)?.value)?, target))
            })
            .map_or_else(String::new, |(ratio, target)| match target {
                Some(t) if judge => format!(
                    "{ratio:.2} (>= {t:.2}: {})",
                    if ratio >= t { "yes" } else { "NO" }
                ),
                Some(t) => format!("{ratio:.2} (>= {t:.2})"),
                None => format!("{ratio:.2}"),
            });
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            w.title,
            w.unit,
            cell(ours),
            cell(theirs),
            ratio,
            target_text(w),
            met,
            bare
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers_group_thousands_and_keep_three_digits() {
        assert_eq!(human(1_234_567.4), "1,234,567");
        assert_eq!(human(315.0), "315");
        assert_eq!(human(12.345), "12.3");
        assert_eq!(human(1.0049), "1.00");
        assert_eq!(human(0.01234), "0.012");
    }

    #[test]
    fn the_ratio_says_how_many_times_better_wactor_is_either_way() {
        let latency = workload("sync_round_trip").unwrap();
        assert_eq!(advantage(latency, 5.0, 700.0), Some(140.0));
        let rate = workload("batched_async").unwrap();
        assert_eq!(advantage(rate, 300_000.0, 1_500.0), Some(200.0));
        assert_eq!(advantage(rate, 0.0, 1_500.0), None);
    }

    #[test]
    fn targets_are_met_in_the_better_direction_only() {
        let rss = workload("idle_actor_rss").unwrap();
        assert_eq!(meets_target(rss, 64.0), Some(true));
        assert_eq!(meets_target(rss, 65.0), Some(false));
        let spawn = workload("actor_creation").unwrap();
        assert_eq!(meets_target(spawn, 19_999.0), Some(false));
        assert_eq!(meets_target(workload("nn_2x2").unwrap(), 1.0), None);
    }

    #[test]
    fn the_table_has_a_row_per_wactor_figure_with_rays_beside_it() {
        let figure = |value| Figure {
            value,
            detail: String::new(),
        };
        let ours = BTreeMap::from([
            ("sync_round_trip".to_string(), figure(4.0)),
            ("py_actor_creation".to_string(), figure(800.0)),
        ]);
        let theirs = BTreeMap::from([
            ("actor_creation".to_string(), figure(2.5)),
            ("idle_actor_rss".to_string(), figure(80_000.0)),
        ]);
        let text = table(&ours, Some(&theirs), true);
        assert!(
            text.contains(
                "| 1:1 sync round trip (median) | us | 4.00 | - | - | <= 10.0 | yes |  |"
            )
        );
        // Compared with Ray's figure of another key.
        assert!(text.contains(
            "| Python actor creation (componentize-py) | actors/s | 800 | 2.50 | 320 x better |"
        ));
        // Beside a figure with a bare counterpart, their ratio and its target.
        let ours = BTreeMap::from([
            ("batched_async".to_string(), figure(300.0)),
            ("batched_async_bare".to_string(), figure(400.0)),
            ("sync_round_trip".to_string(), figure(1.0)),
            ("sync_call_bare".to_string(), figure(0.5)),
        ]);
        let with_bare = table(&ours, None, true);
        assert!(with_bare.contains("| 0.75 (>= 0.85: NO) |"), "{with_bare}");
        assert!(with_bare.contains("| 0.50 (>= 0.60: NO) |"), "{with_bare}");
        // Ray's figures without a wactor figure have no row.
        assert!(!text.contains("RSS per idle actor"));
        assert!(!text.contains("| actor creation (spawn"));
    }
}
