"""A wactor driver program in Python, calling a Rust actor.

    wactor run py_driver.wasm --component counter=counter.wasm

Ray's equivalent:

    counter = Counter.remote()
    print("totals:", ray.get([counter.add.remote(n) for n in (1, 2, 3)]))
"""

import json

from wit_world import exports
from wit_world.imports import actors, types


class Run(exports.Run):
    def run(self) -> None:
        options = types.ActorOptions(
            name="counter",
            max_concurrency=None,
            max_pending_calls=None,
            memory_limit=None,
            call_deadline_ms=None,
            node=None,
            max_restarts=None,
            max_task_retries=None,
            concurrency_groups=[],
        )
        counter = actors.spawn("counter", options)
        refs = [counter.call("add", json.dumps([n]), []) for n in (1, 2, 3)]
        # A driver is sync code: it blocks on its refs, like `ray.get`.
        totals = [json.loads(r.get_blocking(None)) for r in refs]
        print("totals:", totals)
