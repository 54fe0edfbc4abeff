// Ray's `ThreadedActor` in JavaScript: the exports of the Rust
// `threaded-actor` example (world `wactor-examples:guests/threaded-actor`).
//
// A threaded actor is a pool of instances, each running one call at a time,
// so the methods may block: they sleep on WASI's monotonic clock and wait
// for results with `get-blocking` and `wait-blocking`.

import { current, spawn, waitBlocking } from 'wactor:runtime/actors@0.4.0';
import { subscribeDuration } from 'wasi:clocks/monotonic-clock@0.2.0';
import { getDirectories } from 'wasi:filesystem/preopens@0.2.0';
import { getStdout } from 'wasi:cli/stdout@0.2.0';

const dispose = Symbol.dispose || Symbol.for('dispose');

// Drops a resource handle now rather than when it is garbage-collected,
// as the Rust guest does: the host keeps a result, and counts it against
// the program's quota, until the last handle to its ref is dropped.
function drop(resource) {
  resource[dispose]();
}

const encoder = new TextEncoder();
let stdout; // this instance's stdout stream, got on first use (not at build time)

// Writes `line` and a newline to stdout in one write, and flushes it.
// (`console.log` writes the newline separately: the lines of two instances
// printing at once could mix.)
function println(line) {
  stdout ??= getStdout();
  const bytes = encoder.encode(`${line}\n`);
  // blocking-write-and-flush takes at most 4096 bytes a call.
  for (let at = 0; at < bytes.length; at += 4096) {
    stdout.blockingWriteAndFlush(bytes.subarray(at, at + 4096));
  }
}

// Blocks the instance for `millis` (a BigInt) milliseconds.
function sleep(millis) {
  const max = (1n << 64n) - 1n;
  const nanos = millis * 1_000_000n;
  const pollable = subscribeDuration(nanos > max ? max : nanos);
  pollable.block();
  drop(pollable);
}

// The text of a host error (the `error` variant), as the Rust guest SDK
// writes it.
function errorText(error) {
  switch (error.tag) {
    case 'method-failed':
      return `the method failed: ${error.val}`;
    case 'timeout':
      return 'timed out';
    case 'cancelled':
      return 'the call was cancelled';
    case 'invalid':
      return `invalid request: ${error.val}`;
    default: // actor-died, would-block, overloaded, unavailable
      return error.val;
  }
}

// An error of this guest's own, for the `err` of a `result<_, string>`.
class Failure {
  constructor(text) {
    this.text = text;
  }
}

// Runs `body`; a host error it throws (a `ComponentError` whose `payload`
// is the `error` variant) or a `Failure` becomes the `err` of a
// `result<_, string>`. Any other exception propagates and traps.
function attempt(body) {
  try {
    return { tag: 'ok', val: body() };
  } catch (e) {
    if (e instanceof Failure) {
      return { tag: 'err', val: e.text };
    }
    if (e && Object.hasOwn(e, 'payload')) {
      return { tag: 'err', val: errorText(e.payload) };
    }
    throw e;
  }
}

// Blocks on `ref` and decodes its value, a u32.
function getU32(ref) {
  const json = ref.getBlocking(undefined);
  let value;
  try {
    value = JSON.parse(json);
  } catch {}
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new Failure(`cannot decode the value as a u32: ${json}`);
  }
  return value;
}

// The preopened directory holding `path` (an absolute guest path), and
// `path` relative to it. The caller drops the directory.
function resolve(path) {
  let best;
  for (const [dir, name] of getDirectories()) {
    const prefix = name.endsWith('/') ? name : `${name}/`;
    if (path.startsWith(prefix) && (!best || prefix.length > best.prefix.length)) {
      if (best) drop(best.dir);
      best = { dir, prefix };
    } else {
      drop(dir);
    }
  }
  if (!best) {
    throw new Error(`${path}: not in a preopened directory`);
  }
  return [best.dir, path.slice(best.prefix.length)];
}

export function task1(millis) {
  println("I'm running in a thread!");
  sleep(millis);
}

export function task2(millis) {
  println("I'm running in another thread!");
  sleep(millis);
}

export function work(id, millis) {
  println(`started ${id}`);
  sleep(millis);
  println(`finished ${id}`);
  return id;
}

// An uncaught exception traps: the call fails with `actor-died` and the
// instance is retired.
export function crash() {
  throw new Error('crash: crashing on purpose');
}

export function crashOnce(marker) {
  const [dir, path] = resolve(marker);
  try {
    drop(dir.openAt({}, path, {}, { read: true }));
    drop(dir);
    return 'survived';
  } catch (e) {
    if (e?.payload !== 'no-entry') {
      throw e; // an error-code other than no-entry: trap
    }
  }
  const file = dir.openAt({}, path, { create: true, truncate: true }, { write: true });
  file.write(encoder.encode('crashed once'), 0n);
  drop(file);
  drop(dir);
  // An uncaught exception traps the call (the engine aborts), which
  // retires this instance.
  throw new Error('crash-once: crashing the first time');
}

export function workViaSelf(id) {
  return attempt(() => {
    const me = current();
    try {
      const ref = me.call('work', JSON.stringify([id, 0]), []);
      try {
        return getU32(ref);
      } finally {
        drop(ref);
      }
    } finally {
      drop(me);
    }
  });
}

export function waitSome(delays, numReturns, timeoutMs) {
  return attempt(() => {
    const pool = spawn(undefined, { maxConcurrency: delays.length, concurrencyGroups: [] });
    const refs = [];
    try {
      // BigInts have no JSON form: the u64 delays are written by hand.
      delays.forEach((millis, i) => refs.push(pool.call('work', `[${i},${millis}]`, [])));
      return waitBlocking(refs, numReturns, timeoutMs);
    } finally {
      refs.forEach(drop);
      drop(pool);
    }
  });
}

export function waitFor(ref) {
  return attempt(() => {
    try {
      return getU32(ref);
    } finally {
      drop(ref);
    }
  });
}

export function tangle() {
  return attempt(() => {
    const me = current();
    let looped;
    try {
      looped = me.call('work', '[7,0]', []);
    } finally {
      drop(me);
    }
    const other = spawn(undefined, { concurrencyGroups: [] });
    try {
      // `looped` moves to the host with the call.
      const via = other.call('wait-for', '[{"$ref":0}]', [looped]);
      try {
        return getU32(via);
      } finally {
        drop(via);
      }
    } finally {
      drop(other);
    }
  });
}
