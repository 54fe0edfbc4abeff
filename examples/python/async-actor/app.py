"""Ray's AsyncActor, in Python, as a wactor guest (built with componentize-py).

    @ray.remote
    class AsyncActor:
        async def run_concurrent(self):
            print("started")
            await asyncio.sleep(2)
            print("finished")
"""

import wit_world
from wit_world.imports import time

# One instance serves every call of an async actor: module state is `self`.
_in_flight = 0
_peak = 0


class WitWorld(wit_world.WitWorld):
    async def run_concurrent(self) -> None:
        print("started", flush=True)
        await time.sleep(2000)
        print("finished", flush=True)

    async def run_task(self) -> None:
        global _in_flight, _peak
        _in_flight += 1
        _peak = max(_peak, _in_flight)
        print("started", flush=True)
        await time.sleep(1000)
        print("finished", flush=True)
        _in_flight -= 1

    def peak_concurrency(self) -> int:
        return _peak
