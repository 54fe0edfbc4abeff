//! What a guest can reach of the host: nothing by default; exactly the
//! directories and variables it was given.

use std::path::PathBuf;

use wactor::{ActorOptions, DirAccess, Error, Val};
use wactor_tests::{failed_with, load, runtime};

/// A fresh directory tree for one test: `inside/` (with `hello.txt`) to give
/// the guest, and `outside/secret.txt` beside it, which it must not reach.
fn sandbox_dirs(test: &str) -> (PathBuf, PathBuf) {
    let root = std::env::temp_dir().join(format!("wactor-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let inside = root.join("inside");
    std::fs::create_dir_all(&inside).unwrap();
    std::fs::create_dir_all(root.join("outside")).unwrap();
    std::fs::write(inside.join("hello.txt"), "hello from the host").unwrap();
    std::fs::write(root.join("outside/secret.txt"), "secret").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("outside/secret.txt"), inside.join("link.txt")).unwrap();
    (root, inside)
}

async fn call(
    actor: &wactor::ActorHandle,
    method: &str,
    args: impl wactor::IntoArgs,
) -> Result<Val, Error> {
    actor.call(method, args).unwrap().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_a_guest_sees_no_files_and_no_environment() {
    let rt = runtime();
    let actor = load(&rt, "faulty").spawn(ActorOptions::new()).unwrap();
    for path in ["/etc/passwd", "hello.txt", "/", "."] {
        failed_with(call(&actor, "read-file", (path,)).await);
    }
    let home = call(&actor, "env-var", ("HOME",)).await.unwrap();
    assert_eq!(home, Val::Option(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_reaches_its_directory_and_nothing_beyond_it() {
    let rt = runtime();
    let (root, inside) = sandbox_dirs("escape");
    let actor = load(&rt, "faulty")
        .spawn(
            ActorOptions::new()
                .preopen_dir(&inside, "/data", DirAccess::ReadWrite)
                .env("GREETING", "hi"),
        )
        .unwrap();
    assert_eq!(
        call(&actor, "read-file", ("/data/hello.txt",))
            .await
            .unwrap(),
        Val::String("hello from the host".into())
    );
    call(&actor, "write-file", ("/data/new.txt", "written"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(inside.join("new.txt")).unwrap(),
        "written"
    );
    assert_eq!(
        call(&actor, "env-var", ("GREETING",)).await.unwrap(),
        Val::Option(Some(Box::new(Val::String("hi".into()))))
    );

    let outside = root.join("outside/secret.txt");
    let escapes = [
        "/data/../outside/secret.txt".to_string(),
        "/data/../../etc/passwd".to_string(),
        outside.display().to_string(),
        "/data/link.txt".to_string(),
    ];
    // Each read fails (`failed_with` panics on success): the file's
    // contents never reach the guest.
    for path in escapes {
        failed_with(call(&actor, "read-file", (path.as_str(),)).await);
    }
    let why = failed_with(call(&actor, "write-file", ("/data/../outside/new.txt", "x")).await);
    assert!(!root.join("outside/new.txt").exists(), "{why}");
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_directory_cannot_be_written() {
    let rt = runtime();
    let (root, inside) = sandbox_dirs("readonly");
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().preopen_dir(&inside, "/data", DirAccess::ReadOnly))
        .unwrap();
    assert!(
        call(&actor, "read-file", ("/data/hello.txt",))
            .await
            .is_ok()
    );
    failed_with(call(&actor, "write-file", ("/data/hello.txt", "changed")).await);
    assert_eq!(
        std::fs::read_to_string(inside.join("hello.txt")).unwrap(),
        "hello from the host"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threaded_and_async_actors_read_write_and_list_a_granted_directory() {
    let (root, inside) = sandbox_dirs("both-kinds");
    let rt = runtime();
    for example in ["file-store", "faulty"] {
        let component = load(&rt, example);
        let actor = component
            .spawn(ActorOptions::new().preopen_dir(&inside, "/data", DirAccess::ReadWrite))
            .unwrap();
        assert_eq!(
            call(&actor, "read-file", ("/data/hello.txt",))
                .await
                .unwrap(),
            Val::String("hello from the host".into()),
            "{example} ({})",
            component.kind()
        );
        let file = format!("/data/by-{example}.txt");
        call(&actor, "write-file", (file.as_str(), example))
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(inside.join(format!("by-{example}.txt"))).unwrap(),
            example
        );
        let listed = call(&actor, "list-dir", ("/data",)).await.unwrap();
        let Val::List(names) = listed else {
            panic!("{example}: {listed:?}")
        };
        assert!(
            names.contains(&Val::String("hello.txt".into())),
            "{example}: {names:?}"
        );
        assert!(
            names.contains(&Val::String(format!("by-{example}.txt"))),
            "{example}: {names:?}"
        );
        // And still nothing beyond it.
        failed_with(call(&actor, "read-file", ("/data/../outside/secret.txt",)).await);
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_missing_directory_is_refused_at_spawn() {
    let rt = runtime();
    let err = load(&rt, "faulty")
        .spawn(ActorOptions::new().preopen_dir("/no/such/dir", "/data", DirAccess::ReadOnly))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("/no/such/dir as /data: it is not a directory"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_directory_that_cannot_be_opened_fails_the_instance_saying_which() {
    let (root, inside) = sandbox_dirs("vanished");
    let rt = runtime();
    let actor = load(&rt, "faulty")
        .spawn(ActorOptions::new().max_restarts(1).preopen_dir(
            &inside,
            "/data",
            DirAccess::ReadOnly,
        ))
        .unwrap();
    assert_eq!(
        call(&actor, "read-file", ("/data/hello.txt",))
            .await
            .unwrap(),
        Val::String("hello from the host".into())
    );
    // The directory goes away; the next instance (after a trap, restarted)
    // cannot open it, and must not start without it.
    std::fs::remove_dir_all(&root).unwrap();
    assert!(call(&actor, "crash-after", (0u64,)).await.is_err());
    let err = call(&actor, "read-file", ("/data/hello.txt",))
        .await
        .unwrap_err();
    match &err {
        Error::ActorDied {
            cause: wactor::DeathCause::Instantiation(why),
            ..
        } => assert!(
            why.contains("cannot open the granted directory") && why.contains("/data"),
            "{why}"
        ),
        other => panic!("expected an instantiation death, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_cannot_open_a_connection() {
    let rt = runtime();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let actor = load(&rt, "faulty").spawn(ActorOptions::new()).unwrap();
    let why = failed_with(call(&actor, "connect", (address.as_str(),)).await);
    eprintln!("connect refused in the guest: {why}");
    // Nothing reached the host's listener.
    assert!(listener.accept().is_err(), "the guest connected: {why}");
}
