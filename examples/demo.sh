#!/usr/bin/env bash
# The seed demo, from Ray's "AsyncIO / Concurrency for Actors" guide, on wactor:
#   1. 50 x run-task(1000) on one async actor: all run at once, ~1 s in all;
#   2. the same with --max-concurrency 10: 10 at a time, ~5 s;
#   3. the threaded actor with --max-concurrency 2: task-1 and task-2 in parallel;
#   4. the same seeds as whole programs (each one .wasm that spawns its own
#      actors), ObjectRefs passed between three actors, and Python.
# Installs the wasm32-wasip2 target if needed; the first run builds wasmtime
# and the example guests (a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2
cargo build -p wactor -p wactor-examples
wactor() { cargo run -q -p wactor -- "$@"; }
example() { cargo run -q -p wactor-examples --bin example-path -- "$1"; }
async_actor=$(example async-actor)
threaded_actor=$(example threaded-actor)

echo "== wactor inspect (the async actor's methods)"
wactor inspect "$async_actor"

echo
echo "== 50 x run-task(1000) on one async actor (default max_concurrency 1000)"
wactor run "$async_actor" --invoke 'run-task(1000)' --count 50 --quiet

echo
echo "== the same with --max-concurrency 10"
wactor run "$async_actor" --invoke 'run-task(1000)' --count 50 --max-concurrency 10 --quiet

echo
echo "== threaded actor, --max-concurrency 2: two blocking 1 s calls at once"
wactor run "$threaded_actor" --invoke 'task-1(1000)' --count 2 --max-concurrency 2 --quiet

echo
echo "== programs: Ray's first example (4 x run-concurrent via ray.get, then one awaited)"
wactor run "$(example async-get)"

echo
echo "== program: 50 x run-task with max_concurrency 10, then with the Python AsyncActor"
time wactor run "$(example run-tasks)" -- 10 | uniq -c
time wactor run "$(example run-tasks)" --component py="$(example py-async-actor)" -- --from py | uniq -c

echo
echo "== program: the threaded actor, max_concurrency 2"
time wactor run "$(example threaded-tasks)"

echo
echo "== program: an ObjectRef from actor A awaited by B, whose ref C awaits (prints 44)"
wactor run "$(example pipeline)"

echo
echo "== a Python driver calling a Rust actor"
wactor run "$(example py-driver)" --component counter="$(example counter)"
