//! Metrics (`--metrics`, Prometheus), the timeline (`--timeline`) and the
//! `tracing` spans of calls, through the real binary and host.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// `wactor serve` with `--metrics` on free ports: its process, the
/// actor's address and the metrics' address.
struct Served {
    child: Child,
    actor: SocketAddr,
    metrics: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address after `http://` in `line` (`… http://127.0.0.1:PORT/metrics`,
/// `… on http://127.0.0.1:PORT: POST …`).
fn address_in(line: &str) -> SocketAddr {
    let rest = line.split_once("http://").map_or("", |(_, rest)| rest);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end]
        .trim_end_matches(':')
        .parse()
        .unwrap_or_else(|_| panic!("no address in {line:?}"))
}

fn serve(component: &str) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args([
            "serve",
            component,
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ])
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env_remove("WACTOR_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wactor runs");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let metrics = address_in(&first);
    let second = lines.next().unwrap().unwrap();
    let actor = address_in(&second);
    // Keep reading stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Served {
        child,
        actor,
        metrics,
    }
}

/// One HTTP/1.1 request; the body of the answer.
fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// The value of the sample `series` (name and labels, as Prometheus
/// writes them) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[test]
fn metrics_count_calls_by_method_and_outcome_and_actors_by_state() {
    let served = serve(wactor_examples::FAULTY);
    for _ in 0..3 {
        http(served.actor, "POST", "/echo", r#"["hi", 0]"#);
    }
    http(served.actor, "POST", "/divide", "[1, 0]");
    // Calls are counted and timed in the runtime and handed to the
    // recorder each second: wait for them.
    let durations = "wactor_call_duration_seconds_count{component=\"faulty\",method=\"echo\"}";
    let mut text = String::new();
    for _ in 0..50 {
        text = http(served.metrics, "GET", "/metrics", "");
        if sample(&text, durations).is_some() && text.contains("outcome=\"method_failed\"} 1") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let calls = |method: &str, outcome: &str| {
        sample(
            &text,
            &format!(
                "wactor_calls_total{{component=\"faulty\",method=\"{method}\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(calls("echo", "ok"), Some(3.0), "{text}");
    assert_eq!(calls("divide", "method_failed"), Some(1.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "wactor_actors{component=\"faulty\",kind=\"async\",state=\"alive\"}"
        ),
        Some(1.0),
        "{text}"
    );
    // The sampled gauges and the durations (handed over each second) come
    // within a second or two (a sample taken before the actor was spawned
    // may show no instance yet).

    for _ in 0..50 {
        let instances = sample(
            &text,
            "wactor_pool_component_instances{engine=\"concurrent\"}",
        );
        if instances.is_some_and(|n| n >= 1.0) && sample(&text, durations).is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        text = http(served.metrics, "GET", "/metrics", "");
    }
    assert_eq!(sample(&text, durations), Some(3.0), "{text}");
    assert!(
        text.contains(
            "wactor_call_duration_seconds_bucket{component=\"faulty\",method=\"echo\",le=\"60\"} 3"
        ),
        "{text}"
    );
    assert!(text.contains("wactor_event_loop_lag_seconds"), "{text}");
    assert!(
        sample(
            &text,
            "wactor_pool_component_instances{engine=\"concurrent\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("wactor_queue_depth{component=\"faulty\"}"),
        "{text}"
    );

    // A trap: the actor is dead, and the death is counted by cause.
    http(served.actor, "POST", "/crash-after", "[0]");
    let text = http(served.metrics, "GET", "/metrics", "");
    assert_eq!(
        sample(&text, "wactor_actor_deaths_total{cause=\"trap\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "wactor_actors{component=\"faulty\",kind=\"async\",state=\"dead\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(http(served.metrics, "GET", "/other", "").contains("only /metrics"));
}

/// Runs `wactor run ARGS --timeline FILE` (FILE in the tests' temporary
/// directory); the trace it wrote.
fn run_with_timeline(args: &[&str], file: &str) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(file);
    let out = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .arg("run")
        .args(args)
        .arg("--timeline")
        .arg(&path)
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn the_timeline_has_every_call_with_its_queueing_on_its_actors_track() {
    let trace = run_with_timeline(
        &[
            wactor_examples::ASYNC_ACTOR,
            "--invoke",
            "run-task(100)",
            "--count",
            "6",
            "--max-concurrency",
            "2",
        ],
        "timeline-test.json",
    );
    let events = trace.as_array().expect("the JSON array format");
    let calls: Vec<_> = events
        .iter()
        .filter(|e| e["cat"] == "call" && e["name"] == "run-task")
        .collect();
    assert_eq!(calls.len(), 6, "{trace}");
    let tid = &calls[0]["tid"];
    assert!(events.iter().any(|e| {
        e["ph"] == "M"
            && e["tid"] == *tid
            && e["args"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("async_actor"))
    }));
    // What the timeline itself shows: never more than two at once, and
    // the later calls waited in the queue.
    let mut edges: Vec<(u64, i32)> = Vec::new();
    for c in &calls {
        let (ts, dur) = (c["ts"].as_u64().unwrap(), c["dur"].as_u64().unwrap());
        assert_eq!(c["args"]["outcome"], "ok");
        assert!(c["args"]["queued_us"].as_u64().unwrap() <= ts);
        edges.push((ts, 1));
        edges.push((ts + dur, -1));
    }
    edges.sort();
    let peak = edges
        .iter()
        .scan(0, |now, (_, d)| {
            *now += d;
            Some(*now)
        })
        .max();
    assert_eq!(peak, Some(2), "{trace}");
    let waited = events
        .iter()
        .filter(|e| e["cat"] == "queue" && e["dur"].as_u64().unwrap() >= 50_000)
        .count();
    assert!(waited >= 4, "{waited} calls waited: {trace}");
}

#[test]
fn a_threaded_actors_calls_follow_one_another_on_the_timeline() {
    let trace = run_with_timeline(
        &[
            wactor_examples::COUNTER,
            "--invoke",
            "add(1)",
            "--count",
            "200",
            "--quiet",
        ],
        "timeline-threaded.json",
    );
    let mut calls: Vec<(u64, u64, u64)> = trace
        .as_array()
        .expect("the JSON array format")
        .iter()
        .filter(|e| e["cat"] == "call" && e["name"] == "add")
        .map(|c| {
            let queued = c["args"]["queued_us"].as_u64().unwrap();
            (
                queued,
                c["ts"].as_u64().unwrap(),
                c["dur"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(calls.len(), 200, "{trace}");
    // One instance: each call starts after it was queued and after the one
    // before it ended (a call that was waiting starts when the last ended).
    calls.sort_by_key(|&(_, ts, _)| ts);
    for pair in calls.windows(2) {
        let ((_, ts, dur), (queued, next, _)) = (pair[0], pair[1]);
        assert!(queued <= next, "started before it was queued: {pair:?}");
        assert!(
            ts + dur <= next,
            "two calls at once on one instance: {pair:?}"
        );
    }
}

/// A span as [`Spans`] saw it: name, parent's name, fields, entered.
type SeenSpan = (String, Option<String>, String, bool);

/// Records each span's name, its parent's name, and whether it was entered.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<SeenSpan>>>);

impl<S> tracing_subscriber::Layer<S> for Spans
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let span = ctx.span(id).unwrap();
        let parent = span.parent().map(|p| p.name().to_string());
        let mut fields = String::new();
        attrs.record(
            &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                fields.push_str(&format!("{}={value:?} ", field.name()));
            },
        );
        self.0
            .lock()
            .unwrap()
            .push((span.name().to_string(), parent, fields, false));
    }

    fn on_enter(&self, id: &tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let name = ctx.span(id).unwrap().name();
        if let Some(entry) = self
            .0
            .lock()
            .unwrap()
            .iter_mut()
            .rev()
            .find(|e| e.0 == name)
        {
            entry.3 = true;
        }
    }
}

#[test]
fn a_call_gets_a_span_whose_parent_is_the_callers() {
    use tracing_subscriber::layer::SubscriberExt;
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let runtime = wactor::Runtime::builder()
        .cache_dir(None::<&str>)
        .build()
        .unwrap();
    let counter = runtime.load(wactor_examples::COUNTER).unwrap();
    let actor = counter.spawn(Default::default()).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request");
        let _inside = request.enter();
        actor.call("add", (2i64,)).unwrap().get(None).unwrap();
    });
    let spans = spans.0.lock().unwrap();
    let call = spans
        .iter()
        .find(|(name, ..)| name == "call")
        .unwrap_or_else(|| panic!("no call span: {spans:?}"));
    assert_eq!(call.1.as_deref(), Some("request"), "{spans:?}");
    assert!(call.2.contains("method=\"add\""), "{spans:?}");
    assert!(call.2.contains("actor="), "{spans:?}");
    assert!(call.3, "the call ran outside its span: {spans:?}");
}
