//! A stateful counter actor.

use std::cell::Cell;

wit_bindgen::generate!({
    path: ["../../../wit", "wit"],
    world: "wactor-examples:counter/counter",
    with: {
        "wactor:runtime/time@0.1.0": wactor_guest::time,
        "wactor:runtime/logging@0.1.0": wactor_guest::logging,
        "wactor:runtime/actors@0.1.0": wactor_guest::actors,
    },
});

thread_local! {
    static TOTAL: Cell<i64> = const { Cell::new(0) };
}

struct Counter;

impl Guest for Counter {
    fn add(n: i64) -> i64 {
        TOTAL.with(|t| {
            t.set(t.get().wrapping_add(n));
            t.get()
        })
    }

    fn value() -> i64 {
        TOTAL.with(Cell::get)
    }
}

export!(Counter);
