"""Ray side of the wactor-vs-Ray benchmark: one script, one JSON of figures.

Usage (with a venv holding ray==2.60.0, psutil and aiohttp):

    python workloads.py OUT.json [--only key1,key2]

Progress goes to stderr.  OUT.json is rewritten after every figure, so a crash
keeps what was measured:

    {"ray_version": "...", "python": "...",
     "figures": {KEY: {"value": float, "unit": str, "detail": str}}}

RAY_BENCH_SCALE (float, default 1.0) shrinks call counts and timing windows
for a quick functional test (e.g. 0.1).  Real runs use the default.

Every figure follows one of Ray's documented patterns (async actors with
`await asyncio.sleep`, `.options(max_concurrency=...)`, `ray.get` on a list of
refs, actor handles passed to other actors).  All actors are created with
num_cpus=0 so the 2-CPU node never refuses to place one; actors are killed
after each figure and their worker processes are waited for.
"""
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import traceback

import psutil
import ray

SCALE = float(os.environ.get("RAY_BENCH_SCALE", "1.0"))
BATCH = 1000
KiB = 1024


def log(msg):
    print(f"[ray-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def scaled(n, lo=1):
    """A call count scaled by RAY_BENCH_SCALE (never below lo)."""
    return max(lo, int(round(n * SCALE)))


def secs(s, lo=0.1):
    """A duration scaled by RAY_BENCH_SCALE (never below lo)."""
    return max(lo, s * SCALE)


# --------------------------------------------------------------------------
# actor classes
# --------------------------------------------------------------------------

@ray.remote(num_cpus=0)
class SyncServer:
    """Plain (sync) actor: one call at a time."""

    def f(self):
        return 1

    def pid(self):
        return os.getpid()


@ray.remote(num_cpus=0)
class AsyncServer:
    """Async actor: trivial coroutine method."""

    async def f(self):
        return 1

    async def pid(self):
        return os.getpid()


@ray.remote(num_cpus=0)
class Sleeper:
    """Async actor whose calls await asyncio.sleep; tracks peak concurrency."""

    def __init__(self):
        self.active = 0
        self.peak = 0

    async def pid(self):
        return os.getpid()

    async def run_task(self, secs=1.0):
        self.active += 1
        if self.active > self.peak:
            self.peak = self.active
        try:
            await asyncio.sleep(secs)
        finally:
            self.active -= 1
        return 1

    async def take_peak(self):
        p = self.peak
        self.peak = 0
        return p


@ray.remote(num_cpus=0)
class Caller:
    """Actor holding handles to server actors and calling them itself."""

    def __init__(self, servers):
        self.servers = list(servers)

    def pid(self):
        return os.getpid()

    def batches(self, dur, batch):
        """Round-robin batches to the servers for `dur` s -> (count, elapsed)."""
        k = len(self.servers)
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < dur:
            ray.get([self.servers[i % k].f.remote() for i in range(batch)])
            n += batch
        return n, time.perf_counter() - t0

    def one_by_one(self, warm, dur):
        """ray.get(server.f.remote()) in a loop -> (count, elapsed)."""
        s = self.servers[0]
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < warm:
            ray.get(s.f.remote())
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < dur:
            ray.get(s.f.remote())
            n += 1
        return n, time.perf_counter() - t0


# --------------------------------------------------------------------------
# actor bookkeeping: every actor a figure creates is killed afterwards
# --------------------------------------------------------------------------

_live = []  # [handle, pid or None]


def spawn(cls, *args, **opts):
    """Create an actor cls(*args) with .options(**opts), recorded for cleanup."""
    h = cls.options(**opts).remote(*args) if opts else cls.remote(*args)
    _live.append([h, None])
    return h


def up(handles):
    """Wait until every handle answered pid(); record and return the pids."""
    pids = ray.get([h.pid.remote() for h in handles])
    for h, p in zip(handles, pids):
        for rec in _live:
            if rec[0] is h:
                rec[1] = p
    return pids


def alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def cleanup(timeout=30.0):
    """Kill every recorded actor and wait for its worker process to exit."""
    pids = [p for _, p in _live if p is not None]
    for h, _ in _live:
        try:
            ray.kill(h)
        except Exception as e:  # noqa: BLE001
            log(f"  ray.kill failed: {e!r}")
    _live.clear()
    t0 = time.time()
    while any(alive(p) for p in pids) and time.time() - t0 < timeout:
        time.sleep(0.1)
    left = [p for p in pids if alive(p)]
    if left:
        log(f"  warning: actor processes still alive after {timeout:.0f} s: {left}")
    time.sleep(0.5)  # let the raylet settle (it may prestart idle workers)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def rate_runs(fn, per_call, runs=3, warm=1.0, dur=2.0):
    """calls/s of fn() (each performing per_call calls): warmup, then `runs`
    windows of ~dur s each; returns the list of per-window rates."""
    warm, dur = secs(warm), secs(dur)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warm:
        fn()
    out = []
    for _ in range(runs):
        n = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < dur:
            fn()
            n += per_call
        out.append(n / (time.perf_counter() - t0))
    return out


def spread(vals, fmt="{:.0f}"):
    return "runs [" + ", ".join(fmt.format(v) for v in vals) + "]"


def rss_kib(pid):
    return psutil.Process(pid).memory_info().rss / KiB


def sleep_wall(n_calls, max_conc, label):
    """Wall time of n_calls x run_task(1 s) on one async Sleeper actor:
    submit all, then ray.get all.  Returns (wall, submit time, peak conc)."""
    a = spawn(Sleeper) if max_conc is None else spawn(Sleeper, max_concurrency=max_conc)
    up([a])
    t0 = time.perf_counter()
    refs = [a.run_task.remote(1.0) for _ in range(n_calls)]
    t1 = time.perf_counter()
    res = ray.get(refs)
    wall = time.perf_counter() - t0
    assert res == [1] * n_calls, f"{label}: wrong results"
    peak = ray.get(a.take_peak.remote())
    return wall, t1 - t0, peak


# --------------------------------------------------------------------------
# figures: each returns (value, unit, detail)
# --------------------------------------------------------------------------

def fig_sleep50_async():
    n = scaled(50)
    walls, peaks = [], []
    for _ in range(3):
        w, _, p = sleep_wall(n, None, "sleep50_async")
        walls.append(w)
        peaks.append(p)
        cleanup()
    return (statistics.median(walls), "s",
            f"{n} calls of async run_task (await asyncio.sleep(1)) on one async actor, "
            f"default max_concurrency (1000); submit all then ray.get(list); median of 3 "
            f"fresh actors, {spread(walls, '{:.3f}')} s; peak concurrency {max(peaks)}")


def fig_sleep50_mc10():
    n = scaled(50)
    walls, peaks = [], []
    for _ in range(3):
        w, _, p = sleep_wall(n, 10, "sleep50_mc10")
        walls.append(w)
        peaks.append(p)
        cleanup()
    return (statistics.median(walls), "s",
            f"{n} calls of async run_task (await asyncio.sleep(1)) on one async actor "
            f".options(max_concurrency=10); submit all then ray.get(list); median of 3 "
            f"fresh actors, {spread(walls, '{:.3f}')} s; peak concurrency {max(peaks)}")


def fig_sleep10k_default():
    n = scaled(10000)
    w, sub, p = sleep_wall(n, None, "sleep10k_default")
    return (w, "s",
            f"{n} calls of run_task (await asyncio.sleep(1)) on one async actor, default "
            f"max_concurrency (1000); one run; submission {sub:.2f} s; "
            f"peak concurrency inside actor {p}")


def fig_sleep10k_mc10k():
    n = scaled(10000)
    w, sub, p = sleep_wall(n, 10000, "sleep10k_mc10k")
    return (w, "s",
            f"{n} calls of run_task (await asyncio.sleep(1)) on one async actor, "
            f"max_concurrency=10000; one run; submission {sub:.2f} s; "
            f"peak concurrency inside actor {p}")


def fig_sync_round_trip():
    a = spawn(SyncServer)
    up([a])
    warm, dur = secs(1.0), secs(2.0)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warm:
        ray.get(a.f.remote())
    lat = []
    pc = time.perf_counter
    t_end = pc() + dur
    while True:
        s = pc()
        if s >= t_end:
            break
        ray.get(a.f.remote())
        lat.append(pc() - s)
    lat_us = sorted(x * 1e6 for x in lat)
    med = statistics.median(lat_us)
    p10 = lat_us[len(lat_us) // 10]
    p90 = lat_us[(len(lat_us) * 9) // 10]
    return (med, "us",
            f"driver -> 1 sync actor, ray.get(a.f.remote()) per call; median of {len(lat_us)} "
            f"individually timed calls over {dur:.1f} s after {warm:.1f} s warmup; "
            f"p10 {p10:.0f} us, p90 {p90:.0f} us, mean {statistics.fmean(lat_us):.0f} us")


def fig_batched_sync():
    a = spawn(SyncServer)
    up([a])
    vals = rate_runs(lambda: ray.get([a.f.remote() for _ in range(BATCH)]), BATCH)
    return (statistics.median(vals), "calls/s",
            f"driver -> 1 sync actor, batches of {BATCH} .remote() then ray.get(batch), "
            f"~{secs(2.0):.1f} s windows after {secs(1.0):.1f} s warmup; median of 3, "
            f"{spread(vals)} calls/s")


def fig_batched_async():
    a = spawn(AsyncServer)
    up([a])
    vals = rate_runs(lambda: ray.get([a.f.remote() for _ in range(BATCH)]), BATCH)
    return (statistics.median(vals), "calls/s",
            f"driver -> 1 async actor (async def f: return 1, default max_concurrency), "
            f"batches of {BATCH} then ray.get(batch), ~{secs(2.0):.1f} s windows after "
            f"{secs(1.0):.1f} s warmup; median of 3, {spread(vals)} calls/s")


def fig_nn_2x2():
    servers = [spawn(SyncServer) for _ in range(2)]
    up(servers)
    callers = [spawn(Caller, servers) for _ in range(2)]
    up(callers)
    ray.get([c.batches.remote(secs(1.0), BATCH) for c in callers])  # warmup
    vals, per = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        res = ray.get([c.batches.remote(secs(2.0), BATCH) for c in callers])
        wall = time.perf_counter() - t0
        vals.append(sum(n for n, _ in res) / wall)
        per.append([n for n, _ in res])
    return (statistics.median(vals), "calls/s",
            f"2 caller actors each sending batches of {BATCH} round-robin to 2 sync server "
            f"actors for ~{secs(2.0):.1f} s; aggregate = sum of counts / driver wall; "
            f"{secs(1.0):.1f} s warmup; median of 3, {spread(vals)} calls/s; "
            f"per-caller counts {per}")


def fig_actor_creation():
    n = scaled(20, lo=2)
    t0 = time.perf_counter()
    actors = [spawn(SyncServer) for _ in range(n)]
    up(actors)
    wall = time.perf_counter() - t0
    return (n / wall, "actors/s",
            f"{n} sync actors: .remote() each, then ray.get of a ping to each "
            f"(returns os.getpid()); {n} / wall, wall {wall:.2f} s; one run")


def fig_idle_actor_rss():
    n = scaled(10, lo=2)
    actors = [spawn(SyncServer) for _ in range(n)]
    pids = up(actors)
    assert len(set(pids)) == n, "actors share processes?"
    time.sleep(1.0)
    rss, uss = [], []
    for p in pids:
        fi = psutil.Process(p).memory_full_info()
        rss.append(fi.rss / KiB)
        uss.append(fi.uss / KiB)
    return (statistics.median(rss), "KiB",
            f"{n} idle sync actors, 1 s after a ping; median RSS per worker process "
            f"(range {min(rss):.0f}..{max(rss):.0f} KiB); median USS {statistics.median(uss):.0f} "
            f"KiB (range {min(uss):.0f}..{max(uss):.0f} KiB); Ray system processes "
            f"(raylet, gcs_server, ...) not included")


def fig_inflight_call_mem():
    n = scaled(10000)
    nap = max(3.0, 6.0 * SCALE)
    a = spawn(Sleeper, max_concurrency=10000)
    (pid,) = up([a])
    ray.get(a.run_task.remote(0.0))  # one trivial call through the sleep path
    time.sleep(0.5)
    idle = rss_kib(pid)
    t0 = time.perf_counter()
    refs = [a.run_task.remote(nap) for _ in range(n)]
    sub = time.perf_counter() - t0
    peak = rss_kib(pid)
    samples = 1
    pending = refs
    while pending:
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=0.25)
        try:
            peak = max(peak, rss_kib(pid))
            samples += 1
        except psutil.Error:
            pass
    wall = time.perf_counter() - t0
    assert ray.get(refs) == [1] * n
    conc = ray.get(a.take_peak.remote())
    per = (peak - idle) / n
    return (per, "KiB",
            f"1 async actor max_concurrency=10000; {n} calls each awaiting "
            f"asyncio.sleep({nap:g}); idle RSS {idle:.0f} KiB, peak RSS {peak:.0f} KiB "
            f"({samples} samples every 0.25 s); (peak - idle) / {n}; peak concurrency inside "
            f"actor {conc} of {n}; submission {sub:.2f} s, all done after {wall:.2f} s")


def fig_guest_to_guest():
    server = spawn(SyncServer)
    up([server])
    c = spawn(Caller, [server])
    up([c])
    vals = []
    warm = secs(1.0)
    for _ in range(3):
        n, el = ray.get(c.one_by_one.remote(warm, secs(2.0)))
        vals.append(el / n * 1e6)
        warm = secs(0.2)
    return (statistics.median(vals), "us",
            f"caller actor holding a handle to a sync server actor loops "
            f"ray.get(server.f.remote()) inside its method for ~{secs(2.0):.1f} s after "
            f"warmup, returns (count, elapsed); us/call = elapsed/count; median of 3, "
            f"{spread(vals, '{:.1f}')} us")


# --------------------------------------------------------------------------
# network: one async actor making many concurrent GETs with aiohttp
# --------------------------------------------------------------------------

def _slow_server(port, delay):
    """An aiohttp server (its own process) answering `ok` after delay s."""
    from aiohttp import web

    async def slow(_request):
        await asyncio.sleep(delay)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/slow", slow)
    web.run_app(app, host="127.0.0.1", port=port, print=None, backlog=16384)


@ray.remote(num_cpus=0)
class Fetcher:
    """Ray's documented pairing: an async actor using aiohttp."""

    def __init__(self):
        self.peak = 0
        self.stop = False

    def pid(self):
        return os.getpid()

    def _watch(self):
        p = psutil.Process()
        while not self.stop:
            self.peak = max(self.peak, p.memory_info().rss)
            time.sleep(0.05)

    async def fetch_all(self, url, n):
        import threading
        import aiohttp
        idle = psutil.Process().memory_info().rss
        self.peak, self.stop = idle, False
        threading.Thread(target=self._watch, daemon=True).start()
        t0 = time.monotonic()
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
            async def one():
                async with s.get(url) as r:
                    return (await r.text()) == "ok"
            oks = await asyncio.gather(*[one() for _ in range(n)], return_exceptions=True)
        wall = time.monotonic() - t0
        self.stop = True
        time.sleep(0.1)
        return wall, sum(1 for o in oks if o is True), idle, self.peak


_http_run = None


def _http_gets():
    """One run shared by the two figures: (n, wall, ok, idle, peak)."""
    global _http_run
    if _http_run is None:
        import multiprocessing
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        n, delay = scaled(10000), 0.1
        # bench/run passes wactor-bench's own slow server (hyper, one thread),
        # so both sides fetch from the same server; alone, aiohttp's.
        command = os.environ.get("SLOW_SERVER")
        if command:
            import subprocess
            srv = subprocess.Popen(command.split() + [str(int(delay * 1000))],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            port = int(srv.stdout.readline())
        else:
            srv = multiprocessing.Process(target=_slow_server, args=(port, delay), daemon=True)
            srv.start()
            time.sleep(1.5)
        try:
            a = spawn(Fetcher, max_concurrency=1000)
            up([a])
            url = f"http://127.0.0.1:{port}/slow"
            ray.get(a.fetch_all.remote(url, 10))
            wall, ok, idle, peak = ray.get(a.fetch_all.remote(url, n))
            _http_run = (n, wall, ok, idle, peak)
        finally:
            srv.terminate()
    return _http_run


def _http_detail(run):
    n, wall, ok, idle, peak = run
    server = "wactor-bench's hyper server" if os.environ.get("SLOW_SERVER") else "aiohttp server"
    return (f"{n} x aiohttp GET of a page that answers after 100 ms ({server} in its own "
            f"process), one async actor, asyncio.gather: {ok} ok in {wall:.2f} s, "
            f"{ok / wall:.0f}/s; actor RSS {idle / 2**20:.0f} MiB idle, peak "
            f"{peak / 2**20:.0f} MiB (+{(peak - idle) / 2**20:.0f} MiB)")


def fig_http_get_10k():
    run = _http_gets()
    return run[2] / run[1], "req/s", _http_detail(run)


def fig_http_get_10k_rss():
    run = _http_gets()
    return (run[4] - run[3]) / 2**20, "MiB", _http_detail(run)


FIGURES = {
    "sleep50_async": fig_sleep50_async,
    "sleep50_mc10": fig_sleep50_mc10,
    "sleep10k_default": fig_sleep10k_default,
    "sleep10k_mc10k": fig_sleep10k_mc10k,
    "sync_round_trip": fig_sync_round_trip,
    "batched_sync": fig_batched_sync,
    "batched_async": fig_batched_async,
    "nn_2x2": fig_nn_2x2,
    "actor_creation": fig_actor_creation,
    "idle_actor_rss": fig_idle_actor_rss,
    "inflight_call_mem": fig_inflight_call_mem,
    "guest_to_guest": fig_guest_to_guest,
    "http_get_10k": fig_http_get_10k,
    "http_get_10k_rss": fig_http_get_10k_rss,
}


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def write_json(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def parse_args(argv):
    usage = "usage: workloads.py OUT.json [--only key1,key2]"
    out, only = None, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--only" and i + 1 < len(argv):
            only = [k.strip() for k in argv[i + 1].split(",") if k.strip()]
            i += 2
        elif a.startswith("--only="):
            only = [k.strip() for k in a.split("=", 1)[1].split(",") if k.strip()]
            i += 1
        elif a in ("-h", "--help"):
            print(usage)
            sys.exit(0)
        elif out is None and not a.startswith("--"):
            out = a
            i += 1
        else:
            sys.exit(usage)
    if out is None:
        sys.exit(usage)
    if only is not None:
        bad = [k for k in only if k not in FIGURES]
        if bad:
            sys.exit(f"unknown figure key(s) {bad}; known: {', '.join(FIGURES)}")
    return out, only


def main(argv):
    out_path, only = parse_args(argv)
    keys = [k for k in FIGURES if only is None or k in only]
    doc = {"ray_version": ray.__version__, "python": platform.python_version(),
           "figures": {}}
    write_json(out_path, doc)
    log(f"ray {ray.__version__}, python {platform.python_version()}, "
        f"RAY_BENCH_SCALE={SCALE:g}, figures: {', '.join(keys)}")
    failed = []
    t_all = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=1024**3,
             log_to_driver=False)
    try:
        log(f"ray.init done in {time.perf_counter() - t_all:.1f} s")
        for key in keys:
            log(f"{key} ...")
            t0 = time.perf_counter()
            try:
                value, unit, detail = FIGURES[key]()
                if SCALE != 1.0:
                    detail += f" [RAY_BENCH_SCALE={SCALE:g}]"
                doc["figures"][key] = {"value": float(value), "unit": unit,
                                       "detail": detail}
                write_json(out_path, doc)
                log(f"{key} = {value:.4g} {unit}  ({time.perf_counter() - t0:.1f} s)  "
                    f"{detail}")
            except Exception:  # noqa: BLE001  keep going with the other figures
                failed.append(key)
                log(f"{key} FAILED:\n{traceback.format_exc()}")
            finally:
                cleanup()
    finally:
        ray.shutdown()
    log(f"total {time.perf_counter() - t_all:.1f} s; wrote {out_path}"
        + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
