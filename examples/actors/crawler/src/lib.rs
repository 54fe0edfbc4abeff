//! A crawler: an async driver that fans URLs out over several `http-fetch`
//! actors and takes the answers as they come, Ray's
//!
//! ```python
//! fetchers = [Fetcher.remote() for _ in range(n)]
//! pending = [fetchers[i % n].fetch.remote(u) for i, u in enumerate(urls)]
//! while pending:
//!     done, pending = await asyncio.wait(pending, return_when=FIRST_COMPLETED)
//! ```
//!
//! `wactor run crawler.wasm --component http-fetch=http_fetch.wasm
//! --allow-net HOST:PORT -- [--fetchers N] URL...`. The program's
//! grants pass to the fetchers it spawns. Prints one line per URL as it
//! finishes, then how many fetches each fetcher had in flight at most;
//! exits 1 if any fetch failed.

use wactor_guest::{Actor, ObjectRef, Options};

wasip3::cli::command::export!(Crawler);

struct Crawler;

impl wasip3::exports::cli::run::Guest for Crawler {
    async fn run() -> Result<(), ()> {
        let (fetchers, urls) = match parse_args(wasip3::cli::environment::get_arguments()) {
            Ok(parsed) => parsed,
            Err(usage) => {
                eprintln!("{usage}");
                return Err(());
            }
        };
        let actors: Vec<Actor> = (0..fetchers)
            .map(|i| {
                Actor::spawn_from(
                    Some("http-fetch"),
                    Options::new().name(format!("fetcher-{i}")),
                )
            })
            .collect::<Result<_, _>>()
            .map_err(|e| eprintln!("spawning the fetchers: {e}"))?;

        // Two lists side by side: the refs still pending (handed to `wait`
        // as they are, no copies) and the URL each stands for.
        let mut pending: Vec<ObjectRef> = Vec::with_capacity(urls.len());
        let mut pending_urls: Vec<usize> = Vec::with_capacity(urls.len());
        for (i, url) in urls.iter().enumerate() {
            let r = actors[i % fetchers]
                .call("fetch", (url,))
                .map_err(|e| eprintln!("calling fetch({url}): {e}"))?;
            pending.push(r);
            pending_urls.push(i);
        }

        let mut failed = 0;
        while !pending.is_empty() {
            let ready = wactor_guest::wait(&pending, 1, None)
                .await
                .map_err(|e| eprintln!("wait: {e}"))?;
            // `wait` gives indices in input order: removing the highest first
            // keeps the others in place.
            for &at in ready.iter().rev() {
                let (r, i) = (pending.swap_remove(at), pending_urls.swap_remove(at));
                // A method's `err` comes back as the ref's error.
                match r.get::<String>().await {
                    Ok(body) => println!("{}: {} bytes", urls[i], body.len()),
                    Err(e) => {
                        failed += 1;
                        println!("{}: failed: {e}", urls[i]);
                    }
                }
            }
        }
        for actor in &actors {
            if let Ok(r) = actor.call("peak-in-flight", ())
                && let Ok(peak) = r.get::<u32>().await
            {
                println!("{}: at most {peak} fetches in flight", actor.name());
            }
        }
        println!(
            "crawled {} URLs on {fetchers} fetchers: {} ok, {failed} failed",
            urls.len(),
            urls.len() - failed
        );
        if failed == 0 { Ok(()) } else { Err(()) }
    }
}

/// `[program] [--fetchers N] URL...`.
fn parse_args(args: Vec<String>) -> Result<(usize, Vec<String>), String> {
    let usage = "usage: crawler.wasm [--fetchers N] URL...".to_string();
    let mut fetchers = 4;
    let mut urls = Vec::new();
    let mut args = args.into_iter().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--fetchers" {
            fetchers = args
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| usage.clone())?;
        } else {
            urls.push(arg);
        }
    }
    if urls.is_empty() {
        return Err(usage);
    }
    Ok((fetchers.min(urls.len()), urls))
}
