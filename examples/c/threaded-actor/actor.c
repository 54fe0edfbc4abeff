/*
 * Ray's `ThreadedActor` in C: the exports of the Rust `threaded-actor`
 * example, with the sync imports only (`wactor-examples:guests/
 * threaded-actor`). Each instance of the pool has its own memory, so the
 * methods keep no state.
 *
 *     @ray.remote
 *     class ThreadedActor:
 *         def task_1(self): print("I'm running in a thread!")
 *         def task_2(self): print("I'm running in another thread!")
 */
#include "threaded_actor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef threaded_actor_string_t string_t;
typedef wactor_runtime_types_error_t error_t;
typedef wactor_runtime_types_own_object_ref_t ref_t;
typedef wactor_runtime_types_own_actor_t actor_t;

/* One write per line: `puts` wrote the text and its newline apart, so two
 * replicas writing at once could interleave within a line. */
static void say(const char *line) {
    char buf[128];
    int n = snprintf(buf, sizeof buf, "%s\n", line);
    if (n > (int)sizeof buf - 1) n = (int)sizeof buf - 1;
    fwrite(buf, 1, (size_t)n, stdout);
    fflush(stdout);
}

static void sleep_ms(uint64_t millis) { usleep((useconds_t)(millis * 1000)); }

/* `s` as a new, owned string (the bindings free what an export returns). */
static void set_string(string_t *out, const char *s) { threaded_actor_string_dup(out, s); }

/* The text of a host error, as the Rust SDK's `Display` writes it; frees
 * `e`. */
static void error_text(error_t *e, string_t *out) {
    const char *prefix = "";
    string_t *payload = NULL;
    switch (e->tag) {
    case WACTOR_RUNTIME_TYPES_ERROR_METHOD_FAILED: prefix = "the method failed: "; payload = &e->val.method_failed; break;
    case WACTOR_RUNTIME_TYPES_ERROR_ACTOR_DIED: payload = &e->val.actor_died; break;
    case WACTOR_RUNTIME_TYPES_ERROR_TIMEOUT: prefix = "timed out"; break;
    case WACTOR_RUNTIME_TYPES_ERROR_CANCELLED: prefix = "the call was cancelled"; break;
    case WACTOR_RUNTIME_TYPES_ERROR_INVALID: prefix = "invalid request: "; payload = &e->val.invalid; break;
    case WACTOR_RUNTIME_TYPES_ERROR_WOULD_BLOCK: payload = &e->val.would_block; break;
    case WACTOR_RUNTIME_TYPES_ERROR_OVERLOADED: payload = &e->val.overloaded; break;
    case WACTOR_RUNTIME_TYPES_ERROR_UNAVAILABLE: payload = &e->val.unavailable; break;
    }
    size_t head = strlen(prefix), tail = payload ? payload->len : 0;
    out->ptr = malloc(head + tail + 1);
    out->len = head + tail;
    memcpy(out->ptr, prefix, head);
    if (payload) memcpy(out->ptr + head, payload->ptr, tail);
    wactor_runtime_types_error_free(e);
}

/* Calls `method` with the JSON `args` (and `refs`, consumed) on `actor`. */
static bool call(actor_t actor, const char *method, const char *args, ref_t *refs,
                 size_t nrefs, ref_t *ret, string_t *err) {
    string_t m, a;
    threaded_actor_string_set(&m, method);
    threaded_actor_string_set(&a, args);
    wactor_runtime_types_list_own_object_ref_t list = {refs, nrefs};
    error_t e;
    if (wactor_runtime_types_method_actor_call(wactor_runtime_types_borrow_actor(actor), &m, &a,
                                               &list, ret, &e))
        return true;
    error_text(&e, err);
    return false;
}

/* Blocks on `r` (consumed) and reads its value as a u32. */
static bool get_u32(ref_t r, uint32_t *ret, string_t *err) {
    wactor_runtime_types_json_t json;
    error_t e;
    bool ok = wactor_runtime_types_method_object_ref_get_blocking(
        wactor_runtime_types_borrow_object_ref(r), NULL, &json, &e);
    wactor_runtime_types_object_ref_drop_own(r);
    if (!ok) {
        error_text(&e, err);
        return false;
    }
    char text[32] = {0};
    memcpy(text, json.ptr, json.len < sizeof text - 1 ? json.len : sizeof text - 1);
    wactor_runtime_types_json_free(&json);
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (end == text || *end) {
        set_string(err, "the result is not a u32");
        return false;
    }
    *ret = (uint32_t)v;
    return true;
}

static bool spawn_self(uint32_t max_concurrency, actor_t *ret, string_t *err) {
    wactor_runtime_types_actor_options_t options = {0};
    if (max_concurrency) {
        options.max_concurrency.is_some = true;
        options.max_concurrency.val = max_concurrency;
    }
    error_t e;
    if (wactor_runtime_actors_spawn(NULL, &options, ret, &e)) return true;
    error_text(&e, err);
    return false;
}

void exports_threaded_actor_task_1(uint64_t millis) {
    say("I'm running in a thread!");
    sleep_ms(millis);
}

void exports_threaded_actor_task_2(uint64_t millis) {
    say("I'm running in another thread!");
    sleep_ms(millis);
}

uint32_t exports_threaded_actor_work(uint32_t id, uint64_t millis) {
    char line[32];
    snprintf(line, sizeof line, "started %u", id);
    say(line);
    sleep_ms(millis);
    snprintf(line, sizeof line, "finished %u", id);
    say(line);
    return id;
}

void exports_threaded_actor_crash(void) {
    fputs("crash: crashing on purpose\n", stderr);
    abort();
}

void exports_threaded_actor_crash_once(string_t *marker, string_t *ret) {
    char path[256] = {0};
    memcpy(path, marker->ptr, marker->len < sizeof path - 1 ? marker->len : sizeof path - 1);
    threaded_actor_string_free(marker);
    if (access(path, F_OK) == 0) {
        set_string(ret, "survived");
        return;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        perror("crash-once: write the marker");
        abort();
    }
    fputs("crashed once", f);
    fclose(f);
    fputs("crash-once: crashing the first time\n", stderr);
    abort();
}

bool exports_threaded_actor_work_via_self(uint32_t id, uint32_t *ret, string_t *err) {
    char args[32];
    snprintf(args, sizeof args, "[%u,0]", id);
    actor_t me = wactor_runtime_actors_current();
    ref_t r;
    bool ok = call(me, "work", args, NULL, 0, &r, err) && get_u32(r, ret, err);
    wactor_runtime_types_actor_drop_own(me);
    return ok;
}

bool exports_threaded_actor_wait_some(threaded_actor_list_u64_t *delays, uint32_t num_returns,
                                      uint64_t *timeout_ms, threaded_actor_list_u32_t *ret,
                                      string_t *err) {
    size_t n = delays->len;
    actor_t pool;
    bool ok = spawn_self((uint32_t)n, &pool, err);
    ref_t *refs = calloc(n ? n : 1, sizeof *refs);
    size_t made = 0;
    for (; ok && made < n; made++) {
        char args[48];
        snprintf(args, sizeof args, "[%zu,%llu]", made, (unsigned long long)delays->ptr[made]);
        if (!call(pool, "work", args, NULL, 0, &refs[made], err)) ok = false;
    }
    if (!ok && made) made--; /* the last one failed and holds no ref */
    if (ok) {
        wactor_runtime_actors_borrow_object_ref_t *borrows = calloc(n ? n : 1, sizeof *borrows);
        for (size_t i = 0; i < n; i++) borrows[i] = wactor_runtime_types_borrow_object_ref(refs[i]);
        wactor_runtime_actors_list_borrow_object_ref_t list = {borrows, n};
        error_t e;
        if (!wactor_runtime_actors_wait_blocking(&list, num_returns, timeout_ms, ret, &e)) {
            error_text(&e, err);
            ok = false;
        }
        free(borrows);
    }
    for (size_t i = 0; i < made; i++) wactor_runtime_types_object_ref_drop_own(refs[i]);
    free(refs);
    threaded_actor_list_u64_free(delays);
    return ok;
}

bool exports_threaded_actor_wait_for(threaded_actor_own_object_ref_t r, uint32_t *ret,
                                     string_t *err) {
    return get_u32(r, ret, err);
}

bool exports_threaded_actor_tangle(uint32_t *ret, string_t *err) {
    actor_t me = wactor_runtime_actors_current();
    ref_t looped, via;
    actor_t other;
    bool ok = call(me, "work", "[7,0]", NULL, 0, &looped, err);
    wactor_runtime_types_actor_drop_own(me);
    if (!ok) return false;
    if (!spawn_self(0, &other, err)) {
        wactor_runtime_types_object_ref_drop_own(looped);
        return false;
    }
    /* `looped` moves into the call: the other actor waits on it. */
    ok = call(other, "wait-for", "[{\"$ref\":0}]", &looped, 1, &via, err) &&
         get_u32(via, ret, err);
    wactor_runtime_types_actor_drop_own(other);
    return ok;
}
