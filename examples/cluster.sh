#!/usr/bin/env bash
# The seed demo on a three-node cluster, in one command: starts nats-server
# on a free loopback port and three `wactor node`s, runs the seed programs
# with `wactor run --nats`, shows `wactor status`, then stops everything.
# Installs nats-server (Debian's) if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip2
command -v nats-server >/dev/null || {
    apt-get update -qq && apt-get install -y -qq nats-server >/dev/null
} || {
    sudo apt-get update -qq && sudo apt-get install -y -qq nats-server >/dev/null
}
cargo build -q -p wactor -p wactor-examples
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
wactor="$target/debug/wactor"
example() { cargo run -q -p wactor-examples --bin example-path -- "$1"; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="nats://127.0.0.1:$port"
logs=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

nats-server -a 127.0.0.1 -p "$port" >"$logs/nats.log" 2>&1 &
pids+=($!)
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
for name in a b c; do
    "$wactor" node --nats "$url" --name "$name" >"$logs/$name.log" 2>&1 &
    pids+=($!)
done
for name in a b c; do
    until grep -q "joined the cluster" "$logs/$name.log"; do sleep 0.1; done
done
echo "== three nodes (a, b, c) on $url; their logs are in $logs"

echo
echo "== 50 x run-task(1000) on one async actor placed on the cluster"
"$wactor" run "$(example async-actor)" --nats "$url" --invoke 'run-task(1000)' --count 50 --quiet

echo
echo "== program: Ray's first example (4 x run-concurrent via ray.get, then one awaited)"
"$wactor" run "$(example async-get)" --nats "$url"

echo
echo "== program: 50 x run-task with max_concurrency 10 (the actor's output is on its node)"
time "$wactor" run "$(example run-tasks)" --nats "$url" -- 10

echo
echo "== program: an ObjectRef from actor A awaited by B, whose ref C awaits, one per node (prints 44)"
"$wactor" run "$(example pipeline)" --nats "$url"

echo
echo "== wactor status"
"$wactor" status --nats "$url"

echo
echo "== what the nodes printed"
for name in a b c; do
    echo "-- node $name"
    grep -E "^(started|died|node) " "$logs/$name.log" || true
done
