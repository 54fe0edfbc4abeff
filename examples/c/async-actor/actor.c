/*
 * Ray's `AsyncActor` in C: the exports and signatures of the Rust
 * `async-actor` example (its world, `examples/actors/async-actor/wit`).
 * Async methods are written with `wactor_async.h`.
 *
 *     @ray.remote
 *     class AsyncActor:
 *         async def run_concurrent(self):
 *             print("started")
 *             await asyncio.sleep(2)
 *             print("finished")
 */
#define WACTOR_WORLD async_actor
#include "async_actor.h"
#include "wactor_async.h"

#include <stdio.h>
#include <unistd.h>

/* One instance serves every call of an async actor, so these globals are
 * shared by all interleaved calls, like `self` in Ray. */
static uint32_t in_flight, peak, blocking;
static uint64_t finished;

static void say(const char *line) {
    puts(line);
    fflush(stdout);
}

/* run-concurrent: prints "started", sleeps 2 s, prints "finished". */
struct run_concurrent { wactor_task task; };

static wactor_code run_concurrent(struct run_concurrent *t) {
    WACTOR_BEGIN(t);
    say("started");
    WACTOR_AWAIT(t, wactor_runtime_time_sleep(2000));
    say("finished");
    exports_async_actor_run_concurrent_return();
    WACTOR_END(t);
}

WACTOR_EXPORT_ASYNC(run_concurrent, struct run_concurrent, void, (void)0)

/* run-task: like run-concurrent for `millis` ms; returns how many calls
 * were in flight when it started, itself included. */
struct run_task { wactor_task task; uint64_t millis; uint32_t now; };

static wactor_code run_task(struct run_task *t) {
    WACTOR_BEGIN(t);
    t->now = ++in_flight;
    if (t->now > peak) peak = t->now;
    say("started");
    WACTOR_AWAIT(t, wactor_runtime_time_sleep(t->millis));
    say("finished");
    in_flight--;
    finished++;
    exports_async_actor_run_task_return(t->now);
    WACTOR_END(t);
}

WACTOR_EXPORT_ASYNC(run_task, struct run_task, uint64_t millis, t->millis = millis)

/* ping: returns `x` at once, without awaiting. */
struct ping { wactor_task task; uint64_t x; };

static wactor_code ping(struct ping *t) {
    WACTOR_BEGIN(t);
    exports_async_actor_ping_return(t->x);
    WACTOR_END(t);
}

WACTOR_EXPORT_ASYNC(ping, struct ping, uint64_t x, t->x = x)

/* A sync method: blocks the whole instance for `millis` ms. */
uint32_t exports_async_actor_blocking_task(uint64_t millis) {
    uint32_t now = ++blocking;
    usleep((useconds_t)(millis * 1000));
    blocking--;
    return now;
}

uint32_t exports_async_actor_peak_concurrency(void) { return peak; }

uint64_t exports_async_actor_finished_tasks(void) { return finished; }
