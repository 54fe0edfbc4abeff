//! A stateful counter actor.

use std::cell::Cell;

wactor_guest::actor!("wactor-examples:counter/counter");

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
