//! Guest output never stalls the runtime: a stdout nobody reads (a full
//! pipe) stops only the actors that write to it.
//!
//! The test runs itself again as a child process whose stdout is a pipe
//! the parent never reads; the child's actors write to it until it is
//! full, while a third actor must keep answering, and the writers must
//! still die when killed.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wactor::{ActorOptions, GuestOutput, Runtime, Val};

const CHILD: &str = "WACTOR_OUTPUT_TEST_CHILD";

#[test]
fn a_full_stdout_stalls_only_the_actors_writing_to_it() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_full_stdout_stalls_only_the_actors_writing_to_it",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        // Never read: it fills, and writes to it block.
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!(
                "the runtime froze behind a full stdout:\n{}",
                stderr_of(&mut child)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = stderr_of(&mut child);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("heartbeat kept going"), "{stderr}");
}

/// Everything the child wrote to stderr, once it has exited.
fn stderr_of(child: &mut std::process::Child) -> String {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

/// In the child: two writers fill stdout, a heartbeat keeps answering.
fn child() {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    tokio.block_on(async {
        let runtime = Runtime::builder().build().unwrap();
        let faulty = runtime.load(wactor_examples::FAULTY).unwrap();
        let labelled = || ActorOptions::new().stdout(GuestOutput::Labelled);
        // One floods (10 MiB, far past a pipe's 64 KiB), one writes a line:
        // once they block they must block nothing else.
        let flood = faulty.spawn(labelled().name("flood")).unwrap();
        let line = "x".repeat(1024);
        let flooding: Vec<_> = (0..10_240)
            .map(|_| flood.call("say", (line.as_str(),)).unwrap())
            .collect();
        let printer = faulty.spawn(labelled().name("printer")).unwrap();
        let printed = printer.call("say", ("one line",)).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;

        let heartbeat = runtime
            .load(wactor_examples::ASYNC_ACTOR)
            .unwrap()
            .spawn(ActorOptions::new().stdout(GuestOutput::Discard))
            .unwrap();
        for beat in 0..20 {
            let done = tokio::time::timeout(
                Duration::from_secs(10),
                heartbeat.call("run-task", (10u64,)).unwrap(),
            )
            .await;
            assert!(matches!(done, Ok(Ok(Val::U32(_)))), "beat {beat}: {done:?}");
        }
        eprintln!("heartbeat kept going");
        assert!(!flooding.last().unwrap().is_ready(), "stdout never filled");
        // A writer stuck on its output still dies when killed.
        flood.kill();
        printer.kill();
        for r in flooding.iter().chain([&printed]) {
            let outcome = tokio::time::timeout(Duration::from_secs(10), r.clone()).await;
            assert!(outcome.is_ok(), "a ref never resolved");
        }
        eprintln!("writers killed");
        // Exit without waiting for the blocked writes.
        std::process::exit(0);
    });
}
