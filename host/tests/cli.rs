//! The `wactor` command line, run as a user would, on the example actors.

use std::process::{Command, Output};

fn wactor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args(args)
        // Keep the user's compile cache out of the tests.
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env_remove("WACTOR_LOG")
        .output()
        .expect("wactor runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn run_makes_fifty_concurrent_calls_and_summarizes_them() {
    let out = wactor(&[
        "run",
        wactor_examples::ASYNC_ACTOR,
        "--invoke",
        "run-task(300)",
        "--count",
        "50",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    // Each result is how many calls were in flight when that call started:
    // all 50 start before any finishes, so the last to start saw 50.
    assert!(stdout.lines().any(|l| l.ends_with("] 50")), "{stdout}");
    // Guest output is labelled with the actor's name.
    let lines = |what: &str| {
        stdout
            .lines()
            .filter(|l| *l == format!("[async_actor-1] {what}"))
            .count()
    };
    assert_eq!(lines("started"), 50, "{stdout}");
    assert_eq!(lines("finished"), 50, "{stdout}");
    assert!(stderr.contains("50 x run-task"), "{stderr}");
    assert!(stderr.contains("50 ok, 0 failed"), "{stderr}");
    assert!(stderr.contains("max_concurrency 1000"), "{stderr}");
}

#[test]
fn run_honours_max_concurrency() {
    let out = wactor(&[
        "run",
        wactor_examples::ASYNC_ACTOR,
        "--invoke",
        "run-task(100)",
        "--count",
        "30",
        "--max-concurrency",
        "10",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let seen = in_flight(&stdout);
    assert_eq!(seen.len(), 30, "{stdout}");
    assert_eq!(seen.iter().max(), Some(&10), "{stdout}");
    assert!(stderr.contains("max_concurrency 10"), "{stderr}");
}

#[test]
fn inspect_prints_the_kind_and_every_signature() {
    let out = wactor(&["inspect", wactor_examples::FAULTY]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("async actor"), "{stdout}");
    assert!(
        stdout.contains("  echo: async func(text: string, millis: u64) -> string"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  divide: func(a: s64, b: s64) -> result<s64, string>"),
        "{stdout}"
    );
    assert!(stdout.contains("wactor:runtime/time@0.4.0"), "{stdout}");
    // Resource parameters by their real types; what cannot be called, said.
    for line in [
        "  adopt: func(a: actor) -> string",
        "  peek: func(r: borrow<object-ref>) -> bool",
        "  hand-out-self: func() -> actor (not callable: it returns a handle that cannot leave \
         the actor)",
    ] {
        assert!(stdout.contains(line), "{line}\n{stdout}");
    }

    let out = wactor(&["inspect", wactor_examples::THREADED_ACTOR]);
    assert!(text(&out.stdout).contains("threaded actor (default max_concurrency 1)"));
}

#[test]
fn a_method_error_fails_the_run_with_its_message() {
    let out = wactor(&["run", wactor_examples::FAULTY, "--invoke", "divide(1, 0)"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot divide 1 by 0"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_trap_is_reported_with_its_wasm_backtrace() {
    let out = wactor(&["run", wactor_examples::FAULTY, "--invoke", "crash-after(1)"]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("died: it trapped"), "{stderr}");
    assert!(stderr.contains("wasm backtrace"), "{stderr}");
    assert!(stderr.contains("crash-after"), "{stderr}");
}

#[test]
fn bad_input_gets_a_clear_error_and_a_failing_exit_code() {
    let dir = env!("CARGO_TARGET_TMPDIR");
    let core = format!("{dir}/core-module.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let cases: [(&[&str], &str); 7] = [
        (
            &["inspect", &core],
            "core WebAssembly module, not a component",
        ),
        (&["inspect", "/no/such.wasm"], "cannot read /no/such.wasm"),
        (
            &["run", wactor_examples::FAULTY, "--invoke", "nope()"],
            "has no method `nope`; its methods are: divide",
        ),
        (
            &[
                "run",
                wactor_examples::FAULTY,
                "--invoke",
                "divide(1, \"x\")",
            ],
            "cannot parse the arguments of `divide`",
        ),
        (&["run", wactor_examples::FAULTY], "pass --invoke"),
        // Multi-byte whitespace around the name (it once panicked: the name
        // was cut by its byte length after trimming).
        (
            &[
                "run",
                wactor_examples::ASYNC_ACTOR,
                "--invoke",
                "\u{3000}\u{3000}peak()",
            ],
            "has no method `peak`",
        ),
        (
            &[
                "run",
                wactor_examples::ASYNC_ACTOR,
                "--invoke",
                "\u{3000}peak-concurrency\u{3000}(\u{3000}",
            ],
            "cannot parse the arguments of `peak-concurrency`",
        ),
    ];
    for (args, expected) in cases {
        let out = wactor(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn run_executes_a_program_that_spawns_its_own_actors() {
    let out = wactor(&["run", wactor_examples::PIPELINE]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "44\n");

    // The program's own output is plain; the actors it spawns are labelled.
    let out = wactor(&["run", wactor_examples::RUN_TASKS, "10"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 100);
    assert!(
        stdout.lines().all(|l| l.starts_with("[run_tasks-")
            && (l.ends_with("] started") || l.ends_with("] finished"))),
        "{stdout}"
    );
}

#[test]
fn a_program_sees_only_the_components_given_with_component_flags() {
    // `faulty` is an actor, not a program: it cannot be run without --invoke.
    let out = wactor(&["run", wactor_examples::FAULTY]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is an actor, not a program"),
        "{}",
        text(&out.stderr)
    );

    // A malformed --component is refused before anything runs.
    let out = wactor(&["run", wactor_examples::PIPELINE, "--component", "nameonly"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("expected NAME=PATH"),
        "{}",
        text(&out.stderr)
    );

    let counter = format!("counter={}", wactor_examples::COUNTER);
    let out = wactor(&[
        "run",
        wactor_examples::PIPELINE,
        "--component",
        &counter,
        "--",
        "--tally",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "44\ntally: 44\n");

    // Without the flag, the program's spawn is refused. (It exits with 3,
    // which WASI 0.2's `exit` can only report as failure: status 1.)
    let out = wactor(&["run", wactor_examples::PIPELINE, "--", "--tally"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no component named `counter`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_trapping_program_exits_like_wasmtime_with_its_backtrace() {
    let out = wactor(&["run", wactor_examples::PIPELINE, "--", "--crash"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(134), "{stderr}");
    assert!(stderr.contains("crashing on purpose, as asked"), "{stderr}");
    assert!(stderr.contains("wasm backtrace"), "{stderr}");
    assert!(stderr.contains("pipeline::main"), "{stderr}");
}

#[test]
fn dir_and_env_flags_give_the_guest_exactly_that() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-dir");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("note.txt"), "from the host").unwrap();
    let given = format!("{}::/data:ro", dir.display());
    let out = wactor(&[
        "run",
        wactor_examples::FAULTY,
        "--dir",
        &given,
        "--invoke",
        r#"read-file("/data/note.txt")"#,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "\"from the host\"\n");

    // Read-only: writing fails in the guest.
    let out = wactor(&[
        "run",
        wactor_examples::FAULTY,
        "--dir",
        &given,
        "--invoke",
        r#"write-file("/data/x", "y")"#,
    ]);
    assert!(!out.status.success());
    assert!(!dir.join("x").exists());

    // Without --dir, nothing.
    let out = wactor(&[
        "run",
        wactor_examples::FAULTY,
        "--invoke",
        r#"read-file("/data/note.txt")"#,
    ]);
    assert!(!out.status.success());

    let out = wactor(&[
        "run",
        wactor_examples::FAULTY,
        "--env",
        "COLOR=blue",
        "--invoke",
        r#"env-var("COLOR")"#,
    ]);
    assert_eq!(
        text(&out.stdout),
        "some(\"blue\")\n",
        "{}",
        text(&out.stderr)
    );

    let out = wactor(&[
        "run",
        wactor_examples::FAULTY,
        "--dir",
        "nodelimiter",
        "--invoke",
        "note(\"x\")",
    ]);
    assert!(
        text(&out.stderr).contains("expected HOST::GUEST"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_guest_that_computes_without_yielding_is_reported() {
    let out = wactor(&["run", wactor_examples::FAULTY, "--invoke", "spin(400)"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("ms without yielding"), "{stderr}");
    assert!(stderr.contains("actor=faulty-1"), "{stderr}");
    // Many short calls keep the actor busy but never block it: no warning.
    let out = wactor(&[
        "run",
        wactor_examples::ASYNC_ACTOR,
        "--invoke",
        "ping(1)",
        "--count",
        "100000",
        "--quiet",
    ]);
    assert!(
        !text(&out.stderr).contains("without yielding"),
        "{}",
        text(&out.stderr)
    );
    // Nor for a threaded actor working in short calls.
    let out = wactor(&[
        "run",
        wactor_examples::COUNTER,
        "--invoke",
        "add(1)",
        "--count",
        "100000",
        "--quiet",
    ]);
    assert!(
        !text(&out.stderr).contains("without yielding"),
        "{}",
        text(&out.stderr)
    );
}

/// `wactor` with `args`, its stdout read until `lines` lines came, then
/// closed, as `| head -n lines` does.
fn wactor_into_head(args: &[&str], lines: usize) -> (std::process::ExitStatus, String) {
    use std::io::{BufRead, BufReader, Read};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args(args)
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env_remove("WACTOR_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wactor runs");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for _ in 0..lines {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "the output ended early");
    }
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

#[test]
fn a_closed_stdout_ends_the_printing_not_the_host() {
    let invoke = ["run", wactor_examples::COUNTER, "--invoke", "add(1)"];
    let (status, stderr) = wactor_into_head(&[&invoke[..], &["--count", "100000"]].concat(), 1);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("100000 ok, 0 failed"), "{stderr}");
    let (status, stderr) = wactor_into_head(&["inspect", wactor_examples::FAULTY], 1);
    assert!(
        !stderr.contains("panicked") && status.success(),
        "{status}: {stderr}"
    );
}

#[test]
fn only_regular_component_files_are_read() {
    let dir = env!("CARGO_TARGET_TMPDIR");
    let fifo = format!("{dir}/component.fifo");
    let _ = std::fs::remove_file(&fifo);
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // A component larger than the limit is refused before it is read.
    let out = wactor(&[
        "run",
        wactor_examples::COUNTER,
        "--max-component-size",
        "0",
        "--invoke",
        "add(1)",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("more than the 0 a component may have"),
        "{stderr}"
    );
    // Each would hang or read forever if it were opened and read.
    for path in ["/dev/zero", fifo.as_str(), dir] {
        let out = wactor(&["inspect", path]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {stderr}");
        assert!(stderr.contains("is not a regular file"), "{path}: {stderr}");
    }
}

#[test]
fn counts_concurrency_and_names_out_of_bounds_are_refused() {
    let threaded = wactor_examples::THREADED_ACTOR;
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "run",
                threaded,
                "--invoke",
                "task-1(0)",
                "--count",
                "4294967296",
            ],
            "expected a number from 1 to 1000000",
        ),
        (
            &["run", threaded, "--invoke", "task-1(0)", "--count", "0"],
            "expected a number from 1 to 1000000",
        ),
        (
            &[
                "run",
                threaded,
                "--invoke",
                "task-1(0)",
                "--max-concurrency",
                "100000000",
            ],
            "the runtime's pool holds 1000 instances",
        ),
        (
            &[
                "run",
                threaded,
                "--invoke",
                "task-1(0)",
                "--name",
                "x\n[host] all is well",
            ],
            "holds control characters",
        ),
    ];
    for (args, expected) in cases {
        let out = wactor(args);
        let stderr = text(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.lines().any(|l| l.starts_with("[host]")), "{stderr}");
    }
}

#[test]
fn a_guest_cannot_forge_lines_or_move_the_terminal() {
    let out = wactor(&[
        "run",
        wactor_examples::FAULTY,
        "--name",
        "f",
        "--invoke",
        r#"say("red \u{1b}[31mtext\rback\nf2] forged line")"#,
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&r"[f] red \u{1b}[31mtext\rback"),
        "{stdout:?}"
    );
    // A newline the guest wrote starts a line that is still labelled.
    assert!(lines.contains(&"[f] f2] forged line"), "{stdout:?}");
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\r'),
        "{stdout:?}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args([
            "run",
            wactor_examples::FAULTY,
            "--invoke",
            r#"note("one\n[host] forged\u{1b}[2J")"#,
        ])
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env("WACTOR_LOG", "wactor::guest=info")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(r"one\n[host] forged\u{1b}[2J"), "{stderr}");
    assert!(!stderr.lines().any(|l| l.starts_with("[host]")), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn limits_can_be_set_from_the_command_line() {
    let out = wactor(&[
        "run",
        wactor_examples::ASYNC_ACTOR,
        "--invoke",
        "run-task(5000)",
        "--call-deadline",
        "200",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timed out after 200ms"), "{stderr}");

    let out = wactor(&[
        "run",
        wactor_examples::FAULTY,
        "--invoke",
        "hoard(64)",
        "--memory-limit",
        "32",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("memory limit"), "{stderr}");

    let hoard = |flag: &str, mib: &str| {
        let out = wactor(&[
            "run",
            wactor_examples::FAULTY,
            "--invoke",
            "hoard-puts(100, 2097152)",
            flag,
            mib,
        ]);
        assert_eq!(out.status.code(), Some(1));
        text(&out.stderr)
    };
    let stderr = hoard("--max-program-bytes", "5");
    assert!(stderr.contains("after 2 puts"), "{stderr}");
    assert!(stderr.contains("the limit is 5242880"), "{stderr}");
    let stderr = hoard("--max-value-size", "1");
    assert!(stderr.contains("after 0 puts"), "{stderr}");
    assert!(
        stderr.contains("bytes in one value: the limit is 1048576"),
        "{stderr}"
    );

    for flags in [["--max-actors", "3"], ["--max-instances", "7"]] {
        let mut args = vec!["run", wactor_examples::FAULTY, "--invoke", "spawn-many(10)"];
        args.extend(flags);
        let out = wactor(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        // A pool of 7 leaves a program half of it: 3.
        assert!(
            stderr.contains("too many actors alive in this program: the limit is 3"),
            "{flags:?}: {stderr}"
        );
    }
}

/// An HTTP server on a thread per connection that answers `ok` after
/// `delay`; returns its address and the most requests it held at once.
fn slow_http_server(
    delay: std::time::Duration,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen = peak.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let (now, peak) = (now.clone(), peak.clone());
            std::thread::spawn(move || {
                let mut buf = [0; 4096];
                let _ = stream.read(&mut buf);
                let held = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(held, Ordering::SeqCst);
                std::thread::sleep(delay);
                now.fetch_sub(1, Ordering::SeqCst);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            });
        }
    });
    (addr, seen)
}

#[test]
fn run_with_a_grant_fetches_fifty_urls_at_once_and_without_one_reaches_nothing() {
    let (addr, peak) = slow_http_server(std::time::Duration::from_millis(500));
    let call = format!("fetch(\"http://{addr}/x\")");
    let out = wactor(&[
        "run",
        wactor_examples::HTTP_FETCH,
        "--allow-net",
        &addr.to_string(),
        "--invoke",
        &call,
        "--count",
        "50",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.ends_with("] \"ok\"")).count(),
        50,
        "{stdout}"
    );
    assert!(stderr.contains("50 ok, 0 failed"), "{stderr}");
    assert_eq!(peak.load(std::sync::atomic::Ordering::SeqCst), 50);

    let out = wactor(&["run", wactor_examples::HTTP_FETCH, "--invoke", &call]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("allow it with `--allow-net {addr}`")),
        "{stderr}"
    );
    let out = wactor(&[
        "run",
        wactor_examples::HTTP_FETCH,
        "--allow-net",
        "a b",
        "--invoke",
        &call,
    ]);
    assert!(
        text(&out.stderr).contains("HOST:PORT"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_concurrency_group_from_the_command_line_limits_its_methods() {
    let out = wactor(&[
        "run",
        wactor_examples::ASYNC_ACTOR,
        "--invoke",
        "run-task(100)",
        "--count",
        "8",
        "--concurrency-group",
        "slow=2:run-task",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    // Each result is how many were in flight when that call started.
    let seen = in_flight(&stdout);
    assert_eq!(seen.len(), 8, "{stdout}");
    assert_eq!(seen.iter().max(), Some(&2), "{stdout}");
    assert!(stderr.contains("groups slow=2)"), "{stderr}");

    for (bad, says) in [
        ("slow", "expected NAME=N:METHOD"),
        ("slow=x:run-task", "`x` is not a number"),
        ("slow=2:", "expected NAME=N:METHOD"),
        ("slow=2:nope", "`nope`, which is not a method"),
    ] {
        let out = wactor(&[
            "run",
            wactor_examples::ASYNC_ACTOR,
            "--invoke",
            "ping(1)",
            "--concurrency-group",
            bad,
        ]);
        assert!(!out.status.success(), "{bad}");
        assert!(
            text(&out.stderr).contains(says),
            "{bad}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn invoke_prints_each_streamed_item_as_it_arrives() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args([
            "run",
            wactor_examples::STREAMER,
            "--invoke",
            "numbers(3, 400)",
        ])
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("wactor runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "0");
    // Two more items are 800 ms away: the first was printed on its own.
    assert!(
        child.try_wait().unwrap().is_none(),
        "it printed only at the end"
    );
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(rest, ["1", "2"]);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("3 items, 1 calls ok, 0 failed"), "{stderr}");
}

/// The results `--invoke 'run-task(..)'` printed (`[i] n`: how many calls
/// were in flight when call `i` started).
fn in_flight(stdout: &str) -> Vec<u32> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix('[')?.split_once("] ")?.1.parse().ok())
        .collect()
}
