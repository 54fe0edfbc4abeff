/*
 * wactor_async.h: async methods in C that read like async Rust.
 *
 * wit-bindgen's C bindings lift an `async func` export with the component
 * model's callback ABI: the host calls `exports_<world>_<method>(args)`,
 * which returns a code: done, or waiting on a set of subtasks; the host
 * then calls `exports_<world>_<method>_callback(event)` for each event
 * until it returns done. Written by hand, each method is a state machine.
 * This header writes the machine for you: a method's body is one function,
 * resumed after each WACTOR_AWAIT where it left off (the switch technique
 * of protothreads), with what must live across awaits in a struct of its
 * own, allocated per call and found again through the task's context.
 *
 *     #define WACTOR_WORLD async_actor      // the C name of your world
 *     #include "async_actor.h"              // the generated bindings
 *     #include "wactor_async.h"
 *
 *     struct run_task { wactor_task task; uint64_t millis; };
 *
 *     static wactor_code run_task(struct run_task *t) {
 *         WACTOR_BEGIN(t);
 *         puts("started");
 *         WACTOR_AWAIT(t, wactor_runtime_time_sleep(t->millis));
 *         puts("finished");
 *         exports_async_actor_run_task_return(42);
 *         WACTOR_END(t);
 *     }
 *
 *     WACTOR_EXPORT_ASYNC(run_task, struct run_task, uint64_t millis,
 *                         t->millis = millis)
 *
 * Rules, as for protothreads: locals of the body do not survive an await
 * (keep them in the struct); WACTOR_AWAIT cannot sit inside a `switch` of
 * your own; the body returns only through WACTOR_END, after calling the
 * method's `_return` function once.
 */
#ifndef WACTOR_ASYNC_H
#define WACTOR_ASYNC_H

#include <stdint.h>
#include <stdlib.h>

#ifndef WACTOR_WORLD
#error "define WACTOR_WORLD as the C name of your world before including wactor_async.h"
#endif

#define WACTOR_CAT_(a, b) a##b
#define WACTOR_CAT(a, b) WACTOR_CAT_(a, b)
/* A function of the generated bindings: WACTOR_FN(_waitable_set_new). */
#define WACTOR_FN(name) WACTOR_CAT(WACTOR_WORLD, name)

/* A callback code: what a method tells the host when it returns. */
typedef uint32_t wactor_code;
/* The ABI's codes and subtask states (the component model's). */
#define WACTOR_CODE_EXIT 0u
#define WACTOR_CODE_WAIT(set) (2u | ((uint32_t)(set) << 4))
#define WACTOR_SUBTASK_RETURNED 2u
#define WACTOR_EVENT_SUBTASK 1u

/* What every call keeps: the first member of a method's struct. */
typedef struct wactor_task {
    int resume_at;    /* the line of the await to resume after; 0 at first */
    uint32_t set;     /* the waitable set awaited on, 0 when none */
    uint32_t subtask; /* the subtask awaited */
} wactor_task;

/* A fresh, zeroed struct for a new call, bound to the call's task. */
static inline void *wactor_start_(size_t size) {
    void *state = calloc(1, size);
    if (!state) abort();
    WACTOR_FN(_context_set_0)(state);
    return state;
}

/* Whether the import call that returned `status` is still running (then
 * the task waits on it). */
static inline int wactor_pending_(wactor_task *task, uint32_t status) {
    if ((status & 0xf) == WACTOR_SUBTASK_RETURNED) return 0;
    task->subtask = status >> 4;
    task->set = WACTOR_FN(_waitable_set_new)();
    WACTOR_FN(_waitable_join)(task->subtask, task->set);
    return 1;
}

/* Whether `event` ends the awaited subtask (then the body resumes). */
static inline int wactor_returned_(wactor_task *task, const void *event) {
    const uint32_t *e = (const uint32_t *)event; /* {event, waitable, code} */
    if (e[0] != WACTOR_EVENT_SUBTASK || e[1] != task->subtask ||
        e[2] != WACTOR_SUBTASK_RETURNED)
        return 0;
    WACTOR_FN(_subtask_drop)(task->subtask);
    WACTOR_FN(_waitable_set_drop)(task->set);
    task->set = 0;
    return 1;
}

static inline wactor_code wactor_finish_(void *state) {
    WACTOR_FN(_context_set_0)(NULL);
    free(state);
    return WACTOR_CODE_EXIT;
}

/* Opens a method's body; code up to the first await runs at the call. */
#define WACTOR_BEGIN(t) switch ((t)->task.resume_at) { case 0:

/* Awaits `call`, an async import (it returns a subtask status): the method
 * returns to the host, and resumes here once the import has returned and
 * written its results (which must live in the struct, not on the stack). */
#define WACTOR_AWAIT(t, call)                                   \
    do {                                                        \
        if (wactor_pending_(&(t)->task, (call))) {              \
            (t)->task.resume_at = __LINE__;                     \
            return WACTOR_CODE_WAIT((t)->task.set);             \
        case __LINE__:;                                         \
        }                                                       \
    } while (0)

/* Closes a method's body: frees the struct; the call is done. */
#define WACTOR_END(t) } return wactor_finish_(t)

/* Defines the two functions the bindings want for the async export
 * `method` of the world, whose body is `method(type *t)`: the start,
 * taking `params` and running `init` (which fills `t` from them), and the
 * callback. For a method with no parameters pass `void` and `(void)0`. */
#define WACTOR_EXPORT_ASYNC(method, type, params, init)                       \
    wactor_code WACTOR_CAT(WACTOR_CAT(exports_, WACTOR_WORLD), _##method)(params) { \
        type *t = (type *)wactor_start_(sizeof(type));                        \
        init;                                                                 \
        return method(t);                                                     \
    }                                                                         \
    wactor_code WACTOR_CAT(WACTOR_CAT(exports_, WACTOR_WORLD), _##method##_callback)( \
        WACTOR_CAT(WACTOR_WORLD, _event_t) *event) {                          \
        type *t = (type *)WACTOR_FN(_context_get_0)();                        \
        if (!wactor_returned_(&t->task, event)) return WACTOR_CODE_WAIT(t->task.set); \
        return method(t);                                                     \
    }

#endif
