//! An actor that fails on purpose, for tests of wactor's error handling.

// The generated export glue of `describe` takes one argument per flattened
// parameter.
#![allow(clippy::too_many_arguments)]

use std::time::Duration;

wit_bindgen::generate!({
    path: ["../../../wit", "wit"],
    world: "wactor-examples:faulty/faulty",
    with: {
        "wactor:runtime/time@0.1.0": wactor_guest::time,
        "wactor:runtime/logging@0.1.0": wactor_guest::logging,
    },
});

struct Faulty;

impl Guest for Faulty {
    fn divide(a: i64, b: i64) -> Result<i64, String> {
        a.checked_div(b)
            .ok_or_else(|| format!("cannot divide {a} by {b}"))
    }

    async fn echo(text: String, millis: u64) -> String {
        wactor_guest::sleep(Duration::from_millis(millis)).await;
        text
    }

    async fn crash_after(millis: u64) {
        wactor_guest::sleep(Duration::from_millis(millis)).await;
        panic!("crash-after: crashing on purpose after {millis} ms");
    }

    fn describe(name: String, tags: Vec<String>, limit: Option<u32>, opts: Options) -> String {
        let mut text = format!("{name} [{}] limit={limit:?}", tags.join(","));
        if opts.shout {
            text = text.to_uppercase();
        }
        text.repeat(usize::from(opts.repeat.max(1)))
    }

    fn note(message: String) {
        wactor_guest::info(&message);
    }
}

export!(Faulty);
