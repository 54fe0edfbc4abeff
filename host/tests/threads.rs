//! A runtime's threads end with it. In a test binary of its own: it counts
//! the process's threads, which tests running beside it would disturb.

#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use wactor::{ActorOptions, Runtime, Val};

/// Threads of this process whose name starts with `wactor-` (the workers
/// of a runtime wactor started, and its epoch ticker).
fn wactor_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("procfs")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_string())
        .filter(|name| name.starts_with("wactor-"))
        .collect()
}

#[test]
fn dropping_a_runtime_after_submit_and_spawn_stops_its_threads() {
    assert_eq!(wactor_threads(), Vec::<String>::new());
    {
        let runtime = Runtime::builder().cache_dir(None::<&str>).build().unwrap();
        let faulty = runtime.load(wactor_examples::FAULTY).unwrap();
        // A task pool actor, which once kept its component (and so the
        // runtime) alive, and the component it.
        let task = faulty.submit("divide", (9i64, 3i64)).unwrap();
        assert_eq!(task.get(None).unwrap(), Val::S64(3));
        let actor = faulty.spawn(ActorOptions::new()).unwrap();
        assert_eq!(
            actor
                .call("divide", (8i64, 2i64))
                .unwrap()
                .get(None)
                .unwrap(),
            Val::S64(4)
        );
        let threads = wactor_threads();
        assert!(threads.iter().any(|t| t == "wactor-epoch"), "{threads:?}");
        // Thread per core: one worker per core, named by its index.
        assert!(
            threads.iter().any(|t| t.starts_with("wactor-worker-")),
            "{threads:?}"
        );
    }
    // The threads are told to stop as the last handle goes; they end soon
    // after, without being joined.
    let start = Instant::now();
    while !wactor_threads().is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "still running: {:?}",
            wactor_threads()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
