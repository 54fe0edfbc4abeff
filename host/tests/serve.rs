//! `wactor serve`, run as a user would: a real process on a free loopback
//! port, spoken to over real HTTP/1.1 connections.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running `wactor serve`; killed when dropped.
struct Served {
    child: Child,
    addr: SocketAddr,
    /// What it printed on stderr after its first line.
    log: std::sync::mpsc::Receiver<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .arg("serve")
        .args(args)
        .args(["--listen", "127.0.0.1:0"])
        .env("WACTOR_CACHE_DIR", env!("CARGO_TARGET_TMPDIR"))
        .env_remove("WACTOR_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wactor runs");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines
        .next()
        .expect("wactor serve prints where it listens")
        .unwrap();
    let addr = first
        .split_once("http://")
        // "… on http://ADDR: POST /<method> …"
        .and_then(|(_, rest)| rest.split_once(": "))
        .and_then(|(addr, _)| addr.parse().ok())
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    let (tx, log) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Served { child, addr, log }
}

/// One request on its own connection: (status, body).
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer:?}"));
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    request(addr, "POST", path, body)
}

#[test]
fn serve_answers_each_status_of_its_protocol() {
    let served = serve(&[wactor_examples::FAULTY, "--max-body-size", "200"]);
    let addr = served.addr;
    let (status, methods) = request(addr, "GET", "/", "");
    assert_eq!(status, 200);
    assert!(
        methods.contains(r#""divide":"func(a: s64, b: s64) -> result<s64, string>""#),
        "{methods}"
    );

    assert_eq!(post(addr, "/divide", "[7, 2]"), (200, "3".into()));
    assert_eq!(
        post(addr, "/divide", "[7, 0]"),
        (422, r#""cannot divide 7 by 0""#.into())
    );
    let (status, body) = post(addr, "/divide", r#"["seven", 2]"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("argument `a` of `divide`"), "{body}");
    assert_eq!(post(addr, "/divide", "[7]").0, 400);
    assert_eq!(post(addr, "/divide", "not json").0, 400);
    let (status, body) = post(addr, "/no-such-method", "[]");
    assert_eq!(status, 404);
    assert!(body.contains("no method `no-such-method`"), "{body}");
    assert_eq!(request(addr, "GET", "/divide", "").0, 405);
    let big = format!(r#"["{}", 0]"#, "a".repeat(300));
    let (status, body) = post(addr, "/echo", &big);
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        post(addr, "/echo", r#"["small", 0]"#),
        (200, r#""small""#.into())
    );

    // A method that traps kills the actor: 500 for it and every later call.
    let (status, body) = post(addr, "/crash-after", "[0]");
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("died"), "{body}");
    assert_eq!(post(addr, "/divide", "[7, 2]").0, 500);
}

#[test]
fn serve_answers_503_when_the_actors_queue_is_full() {
    let served = serve(&[
        wactor_examples::ASYNC_ACTOR,
        "--max-concurrency",
        "1",
        "--max-pending-calls",
        "1",
    ]);
    let addr = served.addr;
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..4)
            .map(|_| s.spawn(move || post(addr, "/run-task", "[1000]").0))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(statuses.contains(&503), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
}

#[test]
fn serve_runs_requests_as_concurrent_calls_and_finishes_them_when_stopped() {
    let mut served = serve(&[wactor_examples::ASYNC_ACTOR]);
    let addr = served.addr;
    // Each answer is how many run-task calls were in flight when it started.
    let seen: Vec<u32> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..20)
            .map(|_| s.spawn(move || post(addr, "/run-task", "[1000]")))
            .collect();
        calls
            .into_iter()
            .map(|c| {
                let (status, body) = c.join().unwrap();
                assert_eq!(status, 200, "{body}");
                body.parse().unwrap()
            })
            .collect()
    });
    assert_eq!(seen.iter().max(), Some(&20), "{seen:?}");

    // SIGTERM while a call runs: it still gets its answer, then the server
    // exits cleanly and accepts nothing more.
    let running = std::thread::spawn(move || post(addr, "/run-task", "[1500]"));
    std::thread::sleep(Duration::from_millis(500));
    let pid = served.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let (status, _) = running.join().unwrap();
    assert_eq!(status, 200);
    let exit = served.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let log: Vec<String> = served.log.try_iter().collect();
    assert!(log.iter().any(|l| l.contains("SIGTERM")), "{log:?}");
    assert!(TcpStream::connect(addr).is_err());
}

/// A one-page HTTP server on a thread: answers every request with `hi`.
fn tiny_http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut buf = [0; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
        }
    });
    addr
}

#[test]
fn serve_grants_the_network_as_run_does() {
    let page = tiny_http_server();
    let grant = page.to_string();
    let served = serve(&[wactor_examples::HTTP_FETCH, "--allow-net", &grant]);
    let url = format!(r#"["http://{page}/"]"#);
    assert_eq!(post(served.addr, "/fetch", &url), (200, r#""hi""#.into()));
    let other = closed_port_url();
    let (status, body) = post(served.addr, "/fetch", &other);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("is not granted"), "{body}");
}

fn closed_port_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!(r#"["http://127.0.0.1:{port}/"]"#)
}

#[test]
fn serve_refuses_a_program_and_a_bad_grant_with_clear_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args(["serve", wactor_examples::RUN_TASKS])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is a program"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_wactor"))
        .args([
            "serve",
            wactor_examples::FAULTY,
            "--allow-net",
            "bad host:1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HOST:PORT"), "{stderr}");
}
